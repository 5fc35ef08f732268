package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// defaultTrimInterval is how often, at most, Update trims the resident
// pages of the file mapping when BoltOptions.TrimInterval is zero.
const defaultTrimInterval = 100 * time.Millisecond

// maybeTrim trims the mapping's resident pages when the last trim is at
// least TrimInterval old. btx is the write transaction just begun: while
// it is open bbolt cannot remap the file (it remaps only inside a write
// transaction's commit, and at Open), so the mapping trimMapping reads
// stays valid. lastTrim is guarded by bbolt's writer lock, which btx holds.
func (b *Bolt) maybeTrim(btx *bolt.Tx) {
	if b.opts.TrimInterval < 0 {
		return
	}
	now := time.Now()
	if !b.lastTrim.IsZero() && now.Sub(b.lastTrim) < b.opts.TrimInterval {
		return
	}
	b.lastTrim = now
	if err := trimMapping(b.db, btx); err != nil {
		// Only memory is at stake; the transaction goes on, and the next
		// interval tries again.
		b.opts.Logger.Warn("store: cannot trim the file mapping", "err", err)
	}
}

// TrimResident drops this process's resident pages of the file mapping
// now (see BoltOptions.TrimInterval for what that means and costs). It
// takes the writer lock for the moment it runs, and writes nothing.
// Off Linux it does nothing.
func (b *Bolt) TrimResident() error {
	if b.opts.ReadOnly {
		return fmt.Errorf("store: trim resident: store opened read-only: %w", ErrReadOnly)
	}
	btx, err := b.db.Begin(true)
	if err != nil {
		return fmt.Errorf("store: trim resident: begin: %w", err)
	}
	defer btx.Rollback() // a rollback writes nothing
	b.lastTrim = time.Now()
	if err := trimMapping(b.db, btx); err != nil {
		return fmt.Errorf("store: trim resident: %w", err)
	}
	return nil
}
