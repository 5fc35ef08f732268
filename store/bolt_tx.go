package store

import (
	"bytes"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// boltTx implements Tx over one bbolt transaction.
type boltTx struct {
	tx       *bolt.Tx
	writable bool
	now      func() time.Time
	// undo restores, newest first, the fields the store assigned to the
	// caller's records, when the transaction does not commit.
	undo []func()
	enc  *encoder // the Bolt's; write transactions only
	keys keyCache // write transactions only
	// fill is packedFill in write transactions (see Bolt.fill).
	fill map[string]float64
}

var _ Tx = (*boltTx)(nil)

func (t *boltTx) bucket(name []byte) *bolt.Bucket {
	b := t.tx.Bucket(name)
	if f, ok := t.fill[string(name)]; ok && b != nil {
		b.FillPercent = f
	}
	return b
}

// packedFill is how full bbolt fills the pages it splits (FillPercent),
// for the buckets where its default of one half wastes space: those whose
// new keys are always, or nearly always, the largest. There the left page
// of a split gets no new keys, so the half bbolt leaves free would stay
// free for good. Not 1 but 0.9 where records grow in place later (a job
// done, a customer's recent lists) or keys of older complaints still
// arrive (their events and index entries): the tenth left free takes
// those without a split, where a full page would split into a full and a
// nearly empty one. Complaints grow by more than a tenth when resolved, so
// a tenth does not help them. Random-key indexes keep bbolt's default.
// TestPackedBucketsShrinkFile measures the effect.
var packedFill = map[string]float64{
	// Records, keyed by ID from the bucket's sequence.
	string(bucketComplaints):    1,
	string(bucketCustomers):     0.9,
	string(bucketMessages):      0.9,
	string(bucketNotifications): 0.9,
	string(bucketJobs):          0.9,
	// Complaint numbers grow within a year and from year to year.
	string(bucketComplaintNumber): 1,
	// Keyed by complaint ID first: a new complaint's keys are the largest.
	string(bucketEvents):            0.9,
	string(bucketMessagesComplaint): 0.9,
	string(bucketNotificationsOf):   0.9,
	string(bucketJobsOf):            0.9,
}

func (t *boltTx) checkWrite(op string) error {
	if !t.writable {
		return fmt.Errorf("store: %s: %w", op, ErrReadOnly)
	}
	return nil
}

func (t *boltTx) onRollback(f func()) { t.undo = append(t.undo, f) }

func (t *boltTx) rollbackCaller() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
	t.undo = nil
}

// load decodes the record stored under id in bucket.
func load[T any](t *boltTx, bucket []byte, what string, id uint64) (*T, error) {
	v := t.bucket(bucket).Get(u64(id))
	if v == nil {
		return nil, fmt.Errorf("store: %s %d: %w", what, id, ErrNotFound)
	}
	var r T
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("store: %s %d: decode: %w", what, id, err)
	}
	return &r, nil
}

// loadAll loads the records with the given ids, in that order.
func loadAll[T any](t *boltTx, bucket []byte, what string, ids []uint64) ([]*T, error) {
	out := make([]*T, 0, len(ids))
	for _, id := range ids {
		r, err := load[T](t, bucket, what, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (t *boltTx) putJSON(b *bolt.Bucket, key []byte, v any) error {
	if t.enc == nil {
		return ErrReadOnly
	}
	data, err := t.enc.encode(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return b.Put(key, data)
}

// walk decodes every value of bucket in key order and calls fn; ErrStop
// from fn ends the walk without error. The cursor is re-positioned after
// each call, so fn may write to the same bucket.
func walk[T any](t *boltTx, bucket []byte, what string, fn func(*T) error) error {
	c := t.bucket(bucket).Cursor()
	for k, v := c.First(); k != nil; {
		var r T
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("store: walk %s: key %x: decode: %w", what, k, err)
		}
		next := append(bytes.Clone(k), 0) // the smallest key after k
		if err := fn(&r); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
		k, v = c.Seek(next)
	}
	return nil
}

// idsWithPrefix returns the trailing 8-byte IDs of the composite index
// entries that start with prefix, in key (so ID) order. limit <= 0 is no limit.
func (t *boltTx) idsWithPrefix(bucket, prefix []byte, limit int) []uint64 {
	var ids []uint64
	c := t.bucket(bucket).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) != len(prefix)+8 {
			continue
		}
		ids = append(ids, getU64(k[len(prefix):]))
		if limit > 0 && len(ids) == limit {
			break
		}
	}
	return ids
}

// indexEntry is one key a record puts into an index bucket. A unique entry
// maps the key to the record's ID and may belong to one record only; a
// composite entry carries the ID in its key and an empty value.
type indexEntry struct {
	bucket []byte
	key    []byte
	unique bool
}

func uniqueEntry(bucket, key []byte) indexEntry {
	return indexEntry{bucket: bucket, key: key, unique: true}
}

func compositeEntry(bucket, key []byte) indexEntry {
	return indexEntry{bucket: bucket, key: key}
}

func (e indexEntry) id() string { return string(e.bucket) + "\x00" + string(e.key) }

var emptyValue = []byte{}

// checkUnique fails with ErrConflict when a unique entry of entries is
// held by a record other than id. It writes nothing, so a put can fail on a
// conflict before changing anything.
func (t *boltTx) checkUnique(entries []indexEntry, id uint64) error {
	for _, e := range entries {
		if !e.unique {
			continue
		}
		if v := t.bucket(e.bucket).Get(e.key); v != nil && getU64(v) != id {
			return fmt.Errorf("%s key held by record %d: %w", e.bucket, getU64(v), ErrConflict)
		}
	}
	return nil
}

// reindex replaces the index entries old of record id by entries new:
// entries only in old are removed, entries only in new are added.
func (t *boltTx) reindex(old, new []indexEntry, id uint64) error {
	if len(old) == 0 {
		return t.index(new, id)
	}
	keep := make(map[string]bool, len(new))
	for _, e := range new {
		keep[e.id()] = true
	}
	had := make(map[string]bool, len(old))
	for _, e := range old {
		had[e.id()] = true
		if keep[e.id()] {
			continue
		}
		if err := t.bucket(e.bucket).Delete(e.key); err != nil {
			return fmt.Errorf("unindex %s: %w", e.bucket, err)
		}
	}
	for _, e := range new {
		if had[e.id()] {
			continue
		}
		if err := t.putEntry(e, id); err != nil {
			return err
		}
	}
	return nil
}

func (t *boltTx) putEntry(e indexEntry, id uint64) error {
	v := emptyValue
	if e.unique {
		v = u64(id)
	}
	if err := t.bucket(e.bucket).Put(e.key, v); err != nil {
		return fmt.Errorf("index %s: %w", e.bucket, err)
	}
	return nil
}

// index adds the entries of a new record (no old version to compare).
func (t *boltTx) index(entries []indexEntry, id uint64) error {
	for _, e := range entries {
		if err := t.putEntry(e, id); err != nil {
			return err
		}
	}
	return nil
}
