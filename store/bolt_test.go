package store

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOpenBoltCreatesFileWithMode0600(t *testing.T) {
	_, path := openTest(t, BoltOptions{})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("file mode = %o, want 600", got)
	}
}

func TestOpenBoltSecondOpenerTimesOut(t *testing.T) {
	_, path := openTest(t, BoltOptions{})
	start := time.Now()
	b, err := OpenBolt(path, BoltOptions{Timeout: 100 * time.Millisecond})
	if err == nil {
		b.Close()
		t.Fatal("second OpenBolt of a locked file succeeded")
	}
	if !strings.Contains(err.Error(), "locked") {
		t.Errorf("error %q does not say the file is locked", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second OpenBolt took %s", d)
	}
}

func TestOpenBoltRejectsGarbageFile(t *testing.T) {
	path := t.TempDir() + "/garbage.db"
	if err := os.WriteFile(path, []byte(strings.Repeat("not a bolt file ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := OpenBolt(path, BoltOptions{}); err == nil {
		b.Close()
		t.Fatal("OpenBolt accepted a garbage file")
	}
}

func TestUpdateAndViewCheckContext(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	fn := func(Tx) error { ran = true; return nil }
	if err := s.Update(ctx, fn); !errors.Is(err, context.Canceled) {
		t.Errorf("Update with cancelled ctx = %v, want context.Canceled", err)
	}
	if err := s.View(ctx, fn); !errors.Is(err, context.Canceled) {
		t.Errorf("View with cancelled ctx = %v, want context.Canceled", err)
	}
	if ran {
		t.Error("fn ran despite the cancelled context")
	}
}

// TestReopenKeepsEverything writes one of each record, closes, reopens and
// reads them all back, indexes and sequences included.
func TestReopenKeepsEverything(t *testing.T) {
	s, path := openTest(t, BoltOptions{})
	var c Customer
	var cp Complaint
	var m Message
	var n Notification
	update(t, s, func(tx Tx) error {
		c = Customer{Name: "Ona", Emails: []string{"ona@example.lt"}, TelegramIDs: []int64{42}}
		must(t, tx.PutCustomer(&c))
		cp = Complaint{CustomerID: c.ID, Subject: "broken"}
		must(t, tx.PutComplaint(&cp))
		m = Message{ComplaintID: cp.ID, MessageID: "m1@x", ContentHash: "h1",
			Attachments: []Attachment{{Name: "a.pdf", Data: []byte("%PDF")}}}
		must(t, tx.PutMessage(&m))
		must(t, tx.AppendEvent(&Event{ComplaintID: cp.ID, Kind: "registered"}))
		must(t, tx.PutCursor(Cursor{Source: "support", UIDValidity: 7, LastUID: 99}))
		n = Notification{ComplaintID: cp.ID, Kind: "ack"}
		return tx.PutNotification(&n)
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenBolt(path, BoltOptions{NoSync: true, Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	view(t, s2, func(tx Tx) error {
		if got, err := tx.CustomerByTelegram(42); err != nil || got.ID != c.ID {
			t.Errorf("CustomerByTelegram = %v, %v", got, err)
		}
		if got, err := tx.ComplaintByNumber(cp.Number); err != nil || got.ID != cp.ID {
			t.Errorf("ComplaintByNumber = %v, %v", got, err)
		}
		got, err := tx.MessageByMessageID("m1@x")
		if err != nil {
			t.Fatalf("MessageByMessageID: %v", err)
		}
		if b, err := tx.Blob(got.Attachments[0].BlobKey); err != nil || string(b) != "%PDF" {
			t.Errorf("Blob = %q, %v", b, err)
		}
		if evs, _ := tx.Events(cp.ID); len(evs) != 1 || evs[0].Kind != "registered" {
			t.Errorf("Events = %v", evs)
		}
		if cur, _ := tx.Cursor("support"); cur.LastUID != 99 || cur.UIDValidity != 7 {
			t.Errorf("Cursor = %+v", cur)
		}
		if _, ok, _ := tx.NextDue(); !ok {
			t.Error("NextDue found nothing after reopen")
		}
		return nil
	})
	// Sequences survive: the next records get new IDs and numbers.
	update(t, s2, func(tx Tx) error {
		c2 := Complaint{CustomerID: c.ID}
		must(t, tx.PutComplaint(&c2))
		if c2.ID == cp.ID || c2.Number == cp.Number {
			t.Errorf("after reopen got ID %d number %s again", c2.ID, c2.Number)
		}
		return nil
	})
}

// must fails the test at once on err (for setup steps inside transactions).
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentUpdates: Updates from many goroutines are serialised, so
// none is lost and no number is handed out twice; Views run alongside.
func TestConcurrentUpdates(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	const workers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for w := range workers {
		wg.Go(func() {
			for range each {
				err := s.Update(context.Background(), func(tx Tx) error {
					c := &Complaint{CustomerID: uint64(w + 1)}
					if err := tx.PutComplaint(c); err != nil {
						return err
					}
					return tx.AppendEvent(&Event{ComplaintID: c.ID, Kind: "registered"})
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() {
			for range each {
				if err := s.View(context.Background(), func(tx Tx) error {
					_, err := tx.ComplaintsOfCustomer(uint64(w + 1))
					return err
				}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	numbers := map[string]bool{}
	view(t, s, func(tx Tx) error {
		return tx.ForEachComplaint(func(c *Complaint) error {
			numbers[c.Number] = true
			return nil
		})
	})
	if len(numbers) != workers*each {
		t.Errorf("%d distinct numbers, want %d", len(numbers), workers*each)
	}
}

// TestOpenReadOnly: a read-only opener reads a closed store, refuses
// writes, and cannot get in while a writer holds the file.
func TestOpenReadOnly(t *testing.T) {
	s, path := openTest(t, BoltOptions{})
	update(t, s, func(tx Tx) error { return tx.PutCursor(Cursor{Source: "inbox", LastUID: 3}) })
	if ro, err := OpenBolt(path, BoltOptions{ReadOnly: true, Timeout: 100 * time.Millisecond}); err == nil {
		ro.Close()
		t.Fatal("read-only open succeeded while the writer holds the file")
	}
	must(t, s.Close())
	ro, err := OpenBolt(path, BoltOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	view(t, ro, func(tx Tx) error {
		if cur, _ := tx.Cursor("inbox"); cur.LastUID != 3 {
			t.Errorf("cursor = %+v", cur)
		}
		return nil
	})
	if err := ro.Update(context.Background(), func(Tx) error { return nil }); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Update on read-only store = %v, want ErrReadOnly", err)
	}
	if b, err := OpenBolt(t.TempDir()+"/missing.db", BoltOptions{ReadOnly: true}); err == nil {
		b.Close()
		t.Error("read-only open of a missing file succeeded")
	}
}
