package store

import (
	"fmt"
	json "github.com/goccy/go-json"
)

// AppendEvent always assigns Seq, whatever e.Seq held: events are only
// ever appended after the complaint's last one.
func (t *boltTx) AppendEvent(e *Event) error {
	const op = "append event"
	if err := t.checkWrite(op); err != nil {
		return err
	}
	prevSeq, prevAt := e.Seq, e.At
	e.Seq = t.lastEventSeq(e.ComplaintID) + 1
	if e.At.IsZero() {
		e.At = t.now()
	}
	t.onRollback(func() { e.Seq, e.At = prevSeq, prevAt })
	if err := t.putJSON(t.bucket(bucketEvents), pair(e.ComplaintID, e.Seq), e); err != nil {
		return fmt.Errorf("store: %s to complaint %d: %w", op, e.ComplaintID, err)
	}
	return nil
}

// lastEventSeq finds the complaint's last event by seeking just past its
// key range, O(log n).
func (t *boltTx) lastEventSeq(complaintID uint64) uint64 {
	c := t.bucket(bucketEvents).Cursor()
	var k []byte
	if complaintID == ^uint64(0) {
		k, _ = c.Last()
	} else if k, _ = c.Seek(u64(complaintID + 1)); k != nil {
		k, _ = c.Prev()
	} else {
		k, _ = c.Last()
	}
	if len(k) != 16 || getU64(k[:8]) != complaintID {
		return 0
	}
	return getU64(k[8:])
}

func (t *boltTx) Events(complaintID uint64) ([]*Event, error) {
	var out []*Event
	prefix := u64(complaintID)
	c := t.bucket(bucketEvents).Cursor()
	for k, v := c.Seek(prefix); k != nil && len(k) == 16 && getU64(k[:8]) == complaintID; k, v = c.Next() {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("store: events of complaint %d: seq %d: decode: %w", complaintID, getU64(k[8:]), err)
		}
		out = append(out, &e)
	}
	return out, nil
}

func (t *boltTx) Cursor(source string) (Cursor, error) {
	v := t.bucket(bucketCursors).Get(strKey(source))
	if v == nil {
		return Cursor{Source: source}, nil
	}
	var c Cursor
	if err := json.Unmarshal(v, &c); err != nil {
		return Cursor{}, fmt.Errorf("store: cursor %q: decode: %w", source, err)
	}
	return c, nil
}

// PutCursor stores c with UpdatedAt set to now.
func (t *boltTx) PutCursor(c Cursor) error {
	const op = "put cursor"
	if err := t.checkWrite(op); err != nil {
		return err
	}
	c.UpdatedAt = t.now()
	if err := t.putJSON(t.bucket(bucketCursors), strKey(c.Source), c); err != nil {
		return fmt.Errorf("store: %s %q: %w", op, c.Source, err)
	}
	return nil
}
