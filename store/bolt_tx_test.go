package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestUpdateErrorRollsBackEverything: a failing fn keeps nothing — records,
// indexes, sequences, blobs, events, the cursor — and gives the caller's
// records back the fields the store had assigned, so a retry works.
func TestUpdateErrorRollsBackEverything(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		opts func(fail *bool) BoltOptions
		fn   func(Tx) error // last step of the transaction
	}{
		{"fn returns error", func(*bool) BoltOptions { return BoltOptions{} },
			func(Tx) error { return boom }},
		{"injected commit failure", func(fail *bool) BoltOptions {
			return BoltOptions{FailUpdate: func() error {
				if *fail {
					return boom
				}
				return nil
			}}
		}, func(Tx) error { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fail := false
			s, _ := openTest(t, tt.opts(&fail))
			update(t, s, func(tx Tx) error {
				return tx.PutCursor(Cursor{Source: "inbox", LastUID: 10})
			})
			fail = true
			c := &Customer{Emails: []string{"a@x"}}
			cp := &Complaint{}
			m := &Message{MessageID: "m@x", ContentHash: "h", InReplyTo: []string{"p@x"},
				Attachments: []Attachment{{Name: "f", Data: []byte("bytes")}}}
			n := &Notification{Kind: "ack"}
			e := &Event{Kind: "registered"}
			batch := func(last func(Tx) error) func(Tx) error {
				return func(tx Tx) error {
					must(t, tx.PutCustomer(c))
					cp.CustomerID = c.ID
					must(t, tx.PutComplaint(cp))
					m.ComplaintID, e.ComplaintID, n.ComplaintID = cp.ID, cp.ID, cp.ID
					must(t, tx.PutMessage(m))
					must(t, tx.AppendEvent(e))
					must(t, tx.PutNotification(n))
					must(t, tx.PutCursor(Cursor{Source: "inbox", LastUID: 20}))
					return last(tx)
				}
			}
			if err := s.Update(context.Background(), batch(tt.fn)); !errors.Is(err, boom) {
				t.Fatalf("Update = %v, want boom", err)
			}
			assertEmptyButCursor(t, s, 10)
			if c.ID != 0 || !c.CreatedAt.IsZero() || cp.ID != 0 || cp.Number != "" || cp.Stage != "" ||
				m.ID != 0 || m.Attachments[0].BlobKey != "" || string(m.Attachments[0].Data) != "bytes" ||
				n.ID != 0 || n.Status != "" || !n.NextAttempt.IsZero() || e.Seq != 0 || !e.At.IsZero() {
				t.Errorf("caller records not restored: %+v %+v %+v %+v %+v", c, cp, m, n, e)
			}
			// The same records go in on retry, with the first IDs and number.
			fail = false
			update(t, s, batch(func(Tx) error { return nil }))
			if c.ID != 1 || cp.ID != 1 || cp.Number != "C-2026-000001" || m.ID != 1 || n.ID != 1 || e.Seq != 1 {
				t.Errorf("retry assigned %d %d %s %d %d %d", c.ID, cp.ID, cp.Number, m.ID, n.ID, e.Seq)
			}
			view(t, s, func(tx Tx) error {
				got, err := tx.MessageByMessageID("m@x")
				if err != nil {
					return err
				}
				if b, err := tx.Blob(got.Attachments[0].BlobKey); err != nil || string(b) != "bytes" {
					t.Errorf("blob after retry = %q, %v", b, err)
				}
				return nil
			})
		})
	}
}

func assertEmptyButCursor(t *testing.T, s Store, lastUID uint32) {
	t.Helper()
	view(t, s, func(tx Tx) error {
		if _, err := tx.CustomerByEmail("a@x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("customer kept: %v", err)
		}
		if _, err := tx.Complaint(1); !errors.Is(err, ErrNotFound) {
			t.Errorf("complaint kept: %v", err)
		}
		if _, err := tx.MessageByMessageID("m@x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("message kept: %v", err)
		}
		if refs, _ := tx.MessagesReferencing("p@x"); len(refs) != 0 {
			t.Errorf("reference index kept: %v", refs)
		}
		if evs, _ := tx.Events(1); len(evs) != 0 {
			t.Errorf("events kept: %v", evs)
		}
		if _, ok, _ := tx.NextDue(); ok {
			t.Error("due index kept")
		}
		if cur, _ := tx.Cursor("inbox"); cur.LastUID != lastUID {
			t.Errorf("cursor LastUID = %d, want %d", cur.LastUID, lastUID)
		}
		return nil
	})
}

func TestUpdatePanicRollsBack(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic did not propagate")
			}
		}()
		s.Update(context.Background(), func(tx Tx) error {
			must(t, tx.PutCursor(Cursor{Source: "inbox", LastUID: 5}))
			panic("fn panics")
		})
	}()
	view(t, s, func(tx Tx) error {
		if cur, _ := tx.Cursor("inbox"); cur.LastUID != 0 {
			t.Errorf("cursor kept after panic: %+v", cur)
		}
		return nil
	})
	// The store is still usable: the write lock was released.
	update(t, s, func(tx Tx) error { return tx.PutCursor(Cursor{Source: "inbox", LastUID: 6}) })
}

// TestViewRefusesWrites: every write method fails with ErrReadOnly in a
// View, without panicking and without changing the caller's record.
func TestViewRefusesWrites(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	writes := []struct {
		name string
		fn   func(Tx) error
	}{
		{"PutCustomer", func(tx Tx) error { return tx.PutCustomer(&Customer{}) }},
		{"PutComplaint", func(tx Tx) error { return tx.PutComplaint(&Complaint{}) }},
		{"PutMessage", func(tx Tx) error { return tx.PutMessage(&Message{}) }},
		{"AppendEvent", func(tx Tx) error { return tx.AppendEvent(&Event{ComplaintID: 1}) }},
		{"PutCursor", func(tx Tx) error { return tx.PutCursor(Cursor{Source: "x"}) }},
		{"PutNotification", func(tx Tx) error { return tx.PutNotification(&Notification{}) }},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			err := s.View(context.Background(), w.fn)
			if !errors.Is(err, ErrReadOnly) {
				t.Errorf("%s in View = %v, want ErrReadOnly", w.name, err)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	lookups := []struct {
		name string
		fn   func(Tx) error
	}{
		{"Customer", func(tx Tx) error { _, err := tx.Customer(1); return err }},
		{"CustomerByEmail", func(tx Tx) error { _, err := tx.CustomerByEmail("x@y"); return err }},
		{"CustomerByEmail empty", func(tx Tx) error { _, err := tx.CustomerByEmail(""); return err }},
		{"CustomerByTelegram", func(tx Tx) error { _, err := tx.CustomerByTelegram(5); return err }},
		{"Complaint", func(tx Tx) error { _, err := tx.Complaint(1); return err }},
		{"ComplaintByNumber", func(tx Tx) error { _, err := tx.ComplaintByNumber("C-2026-000001"); return err }},
		{"Message", func(tx Tx) error { _, err := tx.Message(1); return err }},
		{"MessageByMessageID", func(tx Tx) error { _, err := tx.MessageByMessageID("a@b"); return err }},
		{"MessageByMessageID empty", func(tx Tx) error { _, err := tx.MessageByMessageID(""); return err }},
		{"MessageByHash", func(tx Tx) error { _, err := tx.MessageByHash("00"); return err }},
		{"Blob", func(tx Tx) error { _, err := tx.Blob("00"); return err }},
		{"Blob empty", func(tx Tx) error { _, err := tx.Blob(""); return err }},
		{"Notification", func(tx Tx) error { _, err := tx.Notification(1); return err }},
		{"update unknown customer", func(tx Tx) error { return tx.PutCustomer(&Customer{ID: 9}) }},
		{"update unknown complaint", func(tx Tx) error { return tx.PutComplaint(&Complaint{ID: 9}) }},
		{"update unknown message", func(tx Tx) error { return tx.PutMessage(&Message{ID: 9}) }},
		{"update unknown notification", func(tx Tx) error { return tx.PutNotification(&Notification{ID: 9}) }},
	}
	for _, l := range lookups {
		t.Run(l.name, func(t *testing.T) {
			err := s.Update(context.Background(), l.fn)
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("got %v, want ErrNotFound", err)
			}
		})
	}
	// Empty results that are not errors.
	view(t, s, func(tx Tx) error {
		if cur, err := tx.Cursor("none"); err != nil || cur != (Cursor{Source: "none"}) {
			t.Errorf("Cursor(none) = %+v, %v", cur, err)
		}
		if at, ok, err := tx.NextDue(); ok || err != nil || !at.IsZero() {
			t.Errorf("NextDue on empty = %v %v %v", at, ok, err)
		}
		if due, err := tx.DueNotifications(time.Now(), 10); len(due) != 0 || err != nil {
			t.Errorf("DueNotifications on empty = %v %v", due, err)
		}
		return nil
	})
}

// TestForEachStops: ErrStop ends each walk without error; any other error
// is returned as is.
func TestForEachStops(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	update(t, s, func(tx Tx) error {
		for range 5 {
			must(t, tx.PutComplaint(&Complaint{}))
			must(t, tx.PutMessage(&Message{}))
			must(t, tx.PutNotification(&Notification{}))
		}
		return nil
	})
	other := errors.New("other")
	walks := []struct {
		name string
		walk func(tx Tx, fn func(id uint64) error) error
	}{
		{"complaints", func(tx Tx, fn func(uint64) error) error {
			return tx.ForEachComplaint(func(c *Complaint) error { return fn(c.ID) })
		}},
		{"messages", func(tx Tx, fn func(uint64) error) error {
			return tx.ForEachMessage(func(m *Message) error { return fn(m.ID) })
		}},
		{"notifications", func(tx Tx, fn func(uint64) error) error {
			return tx.ForEachNotification(func(n *Notification) error { return fn(n.ID) })
		}},
	}
	for _, w := range walks {
		t.Run(w.name, func(t *testing.T) {
			view(t, s, func(tx Tx) error {
				var all []uint64
				must(t, w.walk(tx, func(id uint64) error { all = append(all, id); return nil }))
				if len(all) != 5 || all[0] != 1 || all[4] != 5 {
					t.Errorf("walk saw %v, want 1..5 in order", all)
				}
				var seen []uint64
				err := w.walk(tx, func(id uint64) error {
					seen = append(seen, id)
					if id == 3 {
						return ErrStop
					}
					return nil
				})
				if err != nil || len(seen) != 3 {
					t.Errorf("ErrStop walk = %v after %v", err, seen)
				}
				if err := w.walk(tx, func(uint64) error { return other }); !errors.Is(err, other) {
					t.Errorf("walk error = %v, want other", err)
				}
				return nil
			})
		})
	}
}

// TestForEachMayWrite: a walk in an Update may update the records it visits.
func TestForEachMayWrite(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	update(t, s, func(tx Tx) error {
		for range 300 {
			must(t, tx.PutComplaint(&Complaint{}))
		}
		return nil
	})
	update(t, s, func(tx Tx) error {
		return tx.ForEachComplaint(func(c *Complaint) error {
			c.Stage = StageClosed
			c.Subject = string(make([]byte, 100)) // grows the record: pages split
			return tx.PutComplaint(c)
		})
	})
	view(t, s, func(tx Tx) error {
		n := 0
		must(t, tx.ForEachComplaint(func(c *Complaint) error {
			n++
			if c.Stage != StageClosed {
				t.Errorf("complaint %d stage %q", c.ID, c.Stage)
			}
			return nil
		}))
		if n != 300 {
			t.Errorf("walked %d complaints, want 300", n)
		}
		return nil
	})
}
