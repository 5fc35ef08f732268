package store

import (
	"fmt"
	"strings"
	"time"
)

func (t *boltTx) Customer(id uint64) (*Customer, error) {
	c, err := load[Customer](t, bucketCustomers, "customer", id)
	if err == nil && t.writable {
		remember(&t.keys.customers, id, customerIndex(c))
	}
	return c, err
}

// storedCustomerIndex returns the index keys of the stored customer id,
// decoding it only when this transaction has not seen it yet.
func (t *boltTx) storedCustomerIndex(id uint64) ([]indexEntry, error) {
	if idx, ok := t.keys.customers[id]; ok {
		return idx, nil
	}
	old, err := t.Customer(id)
	if err != nil {
		return nil, err
	}
	return customerIndex(old), nil
}

func (t *boltTx) CustomerByEmail(email string) (*Customer, error) {
	v := t.bucket(bucketCustomerEmail).Get(strKey(normEmail(email)))
	if v == nil {
		return nil, fmt.Errorf("store: customer by email: %w", ErrNotFound)
	}
	return t.Customer(getU64(v))
}

func (t *boltTx) CustomerByTelegram(userID int64) (*Customer, error) {
	v := t.bucket(bucketCustomerTelegram).Get(tgKey(userID))
	if v == nil {
		return nil, fmt.Errorf("store: customer by telegram user %d: %w", userID, ErrNotFound)
	}
	return t.Customer(getU64(v))
}

// normEmail is the form of an address in Customer.Emails and in the index.
func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func (t *boltTx) PutCustomer(c *Customer) error {
	const op = "put customer"
	if err := t.checkWrite(op); err != nil {
		return err
	}
	var oldIdx []indexEntry
	if c.ID != 0 {
		var err error
		if oldIdx, err = t.storedCustomerIndex(c.ID); err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
	}
	for i, e := range c.Emails {
		c.Emails[i] = normEmail(e)
	}
	restore, err := t.assignCustomer(c)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	newIdx := customerIndex(c)
	if err := t.checkUnique(newIdx, c.ID); err != nil {
		restore()
		return fmt.Errorf("store: %s %d: %w", op, c.ID, err)
	}
	t.onRollback(restore)
	delete(t.keys.customers, c.ID) // until the new version is fully written
	if err := t.reindex(oldIdx, newIdx, c.ID); err != nil {
		return fmt.Errorf("store: %s %d: %w", op, c.ID, err)
	}
	if err := t.putJSON(t.bucket(bucketCustomers), u64(c.ID), c); err != nil {
		return fmt.Errorf("store: %s %d: %w", op, c.ID, err)
	}
	remember(&t.keys.customers, c.ID, newIdx)
	return nil
}

// assignCustomer gives a new customer its ID and CreatedAt and returns the
// function that takes them back.
func (t *boltTx) assignCustomer(c *Customer) (restore func(), err error) {
	if c.ID != 0 {
		return func() {}, nil
	}
	id, err := t.bucket(bucketCustomers).NextSequence()
	if err != nil {
		return nil, err
	}
	setCreated := c.CreatedAt.IsZero()
	c.ID = id
	if setCreated {
		c.CreatedAt = t.now()
	}
	return func() {
		c.ID = 0
		if setCreated {
			c.CreatedAt = time.Time{}
		}
	}, nil
}

func customerIndex(c *Customer) []indexEntry {
	out := make([]indexEntry, 0, len(c.Emails)+len(c.TelegramIDs))
	for _, e := range c.Emails {
		if e != "" {
			out = append(out, uniqueEntry(bucketCustomerEmail, strKey(normEmail(e))))
		}
	}
	for _, id := range c.TelegramIDs {
		out = append(out, uniqueEntry(bucketCustomerTelegram, tgKey(id)))
	}
	return out
}
