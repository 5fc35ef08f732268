package store

import (
	"fmt"
	"time"
)

func (t *boltTx) Complaint(id uint64) (*Complaint, error) {
	c, err := load[Complaint](t, bucketComplaints, "complaint", id)
	if err == nil && t.writable {
		remember(&t.keys.complaints, id, keysOfComplaint(c))
	}
	return c, err
}

// storedComplaintKeys returns the index keys of the stored complaint id,
// decoding it only when this transaction has not seen it yet.
func (t *boltTx) storedComplaintKeys(id uint64) (complaintKeys, error) {
	if ck, ok := t.keys.complaints[id]; ok {
		return ck, nil
	}
	old, err := t.Complaint(id)
	if err != nil {
		return complaintKeys{}, err
	}
	return keysOfComplaint(old), nil
}

func (t *boltTx) ComplaintByNumber(number string) (*Complaint, error) {
	v := t.bucket(bucketComplaintNumber).Get(strKey(number))
	if v == nil {
		return nil, fmt.Errorf("store: complaint by number: %w", ErrNotFound)
	}
	return t.Complaint(getU64(v))
}

// PutComplaint also defaults, on create, UpdatedAt to CreatedAt and Stage
// to StageRegistered. A caller-chosen Number is kept if no other complaint
// has it. The number's year is CreatedAt.Year() in CreatedAt's location.
func (t *boltTx) PutComplaint(c *Complaint) error {
	const op = "put complaint"
	if err := t.checkWrite(op); err != nil {
		return err
	}
	var oldIdx []indexEntry
	oldOwner := ""
	if t.keys.reserved[c.ID] {
		delete(t.keys.reserved, c.ID) // written now: an update from here on
	} else if c.ID != 0 {
		old, err := t.storedComplaintKeys(c.ID)
		if err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		if c.Number == "" {
			c.Number = old.number
		}
		oldIdx, oldOwner = old.index, old.owner
	}
	restore, err := t.assignComplaint(c)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	newIdx := complaintIndex(c)
	if err := t.checkUnique(newIdx, c.ID); err != nil {
		restore()
		return fmt.Errorf("store: %s %d: number %q: %w", op, c.ID, c.Number, err)
	}
	t.onRollback(restore)
	delete(t.keys.complaints, c.ID) // until the new version is fully written
	if err := t.reindex(oldIdx, newIdx, c.ID); err != nil {
		return fmt.Errorf("store: %s %d: %w", op, c.ID, err)
	}
	if err := t.moveLoad(oldOwner, loadOwner(c)); err != nil {
		return fmt.Errorf("store: %s %d: %w", op, c.ID, err)
	}
	if err := t.putJSON(t.bucket(bucketComplaints), u64(c.ID), c); err != nil {
		return fmt.Errorf("store: %s %d: %w", op, c.ID, err)
	}
	remember(&t.keys.complaints, c.ID, complaintKeys{number: c.Number, index: newIdx, owner: loadOwner(c)})
	return nil
}

func (t *boltTx) ReserveComplaint(c *Complaint) error {
	const op = "reserve complaint"
	if err := t.checkWrite(op); err != nil {
		return err
	}
	if c.ID != 0 {
		return fmt.Errorf("store: %s: complaint %d already has an ID", op, c.ID)
	}
	restore, err := t.assignComplaint(c)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if err := t.checkUnique(complaintIndex(c), c.ID); err != nil {
		restore()
		return fmt.Errorf("store: %s: number %q: %w", op, c.Number, err)
	}
	t.onRollback(restore)
	remember(&t.keys.reserved, c.ID, true)
	return nil
}

// assignComplaint fills in what the store assigns to a new complaint and
// returns the function that takes it back.
func (t *boltTx) assignComplaint(c *Complaint) (restore func(), err error) {
	if c.ID != 0 {
		return func() {}, nil
	}
	prev := *c
	id, err := t.bucket(bucketComplaints).NextSequence()
	if err != nil {
		return nil, err
	}
	c.ID = id
	if c.CreatedAt.IsZero() {
		c.CreatedAt = t.now()
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	if c.Stage == "" {
		c.Stage = StageRegistered
	}
	if c.Number == "" {
		if c.Number, err = t.nextNumber(c.CreatedAt); err != nil {
			c.ID, c.CreatedAt, c.UpdatedAt, c.Stage = 0, prev.CreatedAt, prev.UpdatedAt, prev.Stage
			return nil, err
		}
	}
	return func() {
		c.ID, c.Number, c.CreatedAt, c.UpdatedAt, c.Stage = 0, prev.Number, prev.CreatedAt, prev.UpdatedAt, prev.Stage
	}, nil
}

// nextNumber allocates the next unused complaint number of at's year.
// Numbers are never reused: the sequence only grows, and one a caller took
// by hand is skipped.
func (t *boltTx) nextNumber(at time.Time) (string, error) {
	meta := t.bucket(bucketMeta)
	key := numberKey(at.Year())
	var seq uint64
	if v := meta.Get(key); v != nil {
		seq = getU64(v)
	}
	for {
		seq++
		number := fmt.Sprintf("C-%04d-%06d", at.Year(), seq)
		if t.bucket(bucketComplaintNumber).Get(strKey(number)) != nil {
			continue
		}
		if err := meta.Put(key, u64(seq)); err != nil {
			return "", fmt.Errorf("number sequence: %w", err)
		}
		return number, nil
	}
}

func (t *boltTx) ForEachComplaint(fn func(*Complaint) error) error {
	return walk(t, bucketComplaints, "complaints", fn)
}

func (t *boltTx) ComplaintsOfCustomer(customerID uint64) ([]*Complaint, error) {
	ids := t.idsWithPrefix(bucketComplaintsCustomer, u64(customerID), 0)
	return loadAll[Complaint](t, bucketComplaints, "complaint", ids)
}

// OpenComplaintsByOwner reads the owner's counter in owner_load, which
// PutComplaint keeps equal to the owner's entries in complaints_owner, so
// the load costs one lookup however many complaints the owner has.
func (t *boltTx) OpenComplaintsByOwner(ownerID string) (int, error) {
	b := t.bucket(bucketOwnerLoad)
	if ownerID == "" || b == nil { // nil: a read-only older file (see laterBuckets)
		return 0, nil
	}
	v := b.Get(strKey(ownerID))
	if v == nil {
		return 0, nil
	}
	return int(getU64(v)), nil
}

// loadOwner is the owner whose load c counts in, or "" when it counts in
// nobody's (no owner, or not open).
func loadOwner(c *Complaint) string {
	if c.OwnerID == "" || !c.Open() {
		return ""
	}
	return c.OwnerID
}

// moveLoad moves one unit of load from owner from to owner to.
func (t *boltTx) moveLoad(from, to string) error {
	if from == to {
		return nil
	}
	if err := t.addLoad(from, -1); err != nil {
		return err
	}
	return t.addLoad(to, 1)
}

func (t *boltTx) addLoad(owner string, delta int64) error {
	if owner == "" {
		return nil
	}
	b, key := t.bucket(bucketOwnerLoad), strKey(owner)
	var n uint64
	if v := b.Get(key); v != nil {
		n = getU64(v)
	}
	if delta < 0 && n == 0 {
		return fmt.Errorf("owner load of %q would drop below zero", owner)
	}
	n = uint64(int64(n) + delta)
	if n == 0 {
		return b.Delete(key)
	}
	if err := b.Put(key, u64(n)); err != nil {
		return fmt.Errorf("owner load of %q: %w", owner, err)
	}
	return nil
}

func complaintIndex(c *Complaint) []indexEntry {
	entries := []indexEntry{
		uniqueEntry(bucketComplaintNumber, strKey(c.Number)),
		compositeEntry(bucketComplaintsCustomer, pair(c.CustomerID, c.ID)),
	}
	if c.OwnerID != "" && c.Open() {
		entries = append(entries, compositeEntry(bucketComplaintsOwner, strIDKey(c.OwnerID, c.ID)))
	}
	return entries
}
