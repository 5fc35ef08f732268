package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

func (t *boltTx) Notification(id uint64) (*Notification, error) {
	n, err := load[Notification](t, bucketNotifications, "notification", id)
	if err == nil && t.writable {
		remember(&t.keys.notifications, id, notificationIndex(n))
	}
	return n, err
}

func (t *boltTx) PutNotification(n *Notification) error {
	const op = "put notification"
	if err := t.checkWrite(op); err != nil {
		return err
	}
	var oldIdx []indexEntry
	if n.ID != 0 {
		idx, ok := t.keys.notifications[n.ID]
		if !ok {
			old, err := t.Notification(n.ID)
			if err != nil {
				return fmt.Errorf("store: %s: %w", op, err)
			}
			idx = notificationIndex(old)
		}
		oldIdx = idx
	} else if err := t.assignNotification(n); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	delete(t.keys.notifications, n.ID) // until the new version is fully written
	newIdx := notificationIndex(n)
	if err := t.reindex(oldIdx, newIdx, n.ID); err != nil {
		return fmt.Errorf("store: %s %d: %w", op, n.ID, err)
	}
	if err := t.putJSON(t.bucket(bucketNotifications), u64(n.ID), n); err != nil {
		return fmt.Errorf("store: %s %d: %w", op, n.ID, err)
	}
	remember(&t.keys.notifications, n.ID, newIdx)
	return nil
}

// assignNotification fills in what the store assigns to a new row, to be
// taken back if the transaction does not commit.
func (t *boltTx) assignNotification(n *Notification) error {
	id, err := t.bucket(bucketNotifications).NextSequence()
	if err != nil {
		return err
	}
	prev := *n
	t.onRollback(func() {
		n.ID, n.CreatedAt, n.Status, n.NextAttempt = 0, prev.CreatedAt, prev.Status, prev.NextAttempt
	})
	n.ID = id
	if n.CreatedAt.IsZero() {
		n.CreatedAt = t.now()
	}
	if n.Status == "" {
		n.Status = NotifyPending
	}
	if n.NextAttempt.IsZero() {
		n.NextAttempt = n.CreatedAt
	}
	return nil
}

// notificationIndex: only pending rows are in the due index, keyed by the
// time they are due, so the earliest is the first key.
func notificationIndex(n *Notification) []indexEntry {
	out := []indexEntry{compositeEntry(bucketNotificationsOf, pair(n.ComplaintID, n.ID))}
	if n.Status == NotifyPending {
		out = append(out, compositeEntry(bucketNotificationsDue, dueKey(n.NextAttempt, n.ID)))
	}
	return out
}

func dueKey(at time.Time, id uint64) []byte { return append(timeKey(at), u64(id)...) }

const dueKeyLen = 12 + 8

// DueNotifications: limit <= 0 means no limit.
func (t *boltTx) DueNotifications(now time.Time, limit int) ([]*Notification, error) {
	ids := dueIDs(t.bucket(bucketNotificationsDue), now, limit)
	return loadAll[Notification](t, bucketNotifications, "notification", ids)
}

func (t *boltTx) NextDue() (time.Time, bool, error) {
	return firstDue(t.bucket(bucketNotificationsDue), "next due")
}

func (t *boltTx) PendingNotifications() (int, error) {
	n := 0
	c := t.bucket(bucketNotificationsDue).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n, nil
}

// dueIDs lists the ids of a due index (keys dueKey) due at or before now,
// earliest first; limit <= 0 means no limit. A nil bucket has none.
func dueIDs(b *bolt.Bucket, now time.Time, limit int) []uint64 {
	if b == nil {
		return nil
	}
	var ids []uint64
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) != dueKeyLen || parseTimeKey(k).After(now) {
			break
		}
		ids = append(ids, getU64(k[12:]))
		if limit > 0 && len(ids) == limit {
			break
		}
	}
	return ids
}

// firstDue is the earliest time in a due index, false when it is empty.
func firstDue(b *bolt.Bucket, op string) (time.Time, bool, error) {
	if b == nil {
		return time.Time{}, false, nil
	}
	k, _ := b.Cursor().First()
	if k == nil {
		return time.Time{}, false, nil
	}
	if len(k) != dueKeyLen {
		return time.Time{}, false, fmt.Errorf("store: %s: malformed key %x", op, k)
	}
	return parseTimeKey(k), true, nil
}

func (t *boltTx) NotificationsOf(complaintID uint64) ([]*Notification, error) {
	ids := t.idsWithPrefix(bucketNotificationsOf, u64(complaintID), 0)
	return loadAll[Notification](t, bucketNotifications, "notification", ids)
}

func (t *boltTx) ForEachNotification(fn func(*Notification) error) error {
	return walk(t, bucketNotifications, "notifications", fn)
}
