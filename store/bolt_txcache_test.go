package store

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"testing"
	"time"
)

// The encoder (goccy/go-json) must write what encoding/json writes without
// HTML escaping, so files stay readable by either.
func TestEncoderMatchesEncodingJSON(t *testing.T) {
	records := []any{
		benchMessage(4),
		&Complaint{ID: 7, Number: "C-2026-000007", CustomerID: 3, Subject: "<b>Сломано</b> & \u2028 \"x\"", Stage: StageRegistered,
			CreatedAt: time.Date(2026, 3, 14, 9, 0, 0, 123, time.FixedZone("EET", 2*3600))},
		&Customer{ID: 3, Emails: []string{"a@example.com"}, Lang: "lt", AckMinutes: []MinuteCount{{Minute: 29_000_000, N: 2}}},
		&Event{ComplaintID: 7, Kind: "registered", Fields: map[string]string{"z": "1", "a": "<>&", "m": "\x01"}},
	}
	var e encoder
	for _, r := range records {
		got, err := e.encode(r)
		if err != nil {
			t.Fatalf("encode %T: %v", r, err)
		}
		var want bytes.Buffer
		enc := stdjson.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if w := bytes.TrimSuffix(want.Bytes(), []byte("\n")); !bytes.Equal(got, w) {
			t.Errorf("%T:\n got %s\nwant %s", r, got, w)
		}
	}
}

// A record put twice in one transaction, its keys changed in between, is
// indexed by its last keys only: the cached old keys are the ones written.
func TestPutTwiceInOneTxReindexes(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	update(t, s, func(tx Tx) error {
		cu := &Customer{Emails: []string{"old@example.com"}}
		if err := tx.PutCustomer(cu); err != nil {
			return err
		}
		cu.Emails = []string{"new@example.com"}
		if err := tx.PutCustomer(cu); err != nil {
			return err
		}
		c := &Complaint{CustomerID: cu.ID, OwnerID: "ann"}
		if err := tx.PutComplaint(c); err != nil {
			return err
		}
		c.Number, c.OwnerID = "", "bob" // "" keeps the number
		return tx.PutComplaint(c)
	})
	view(t, s, func(tx Tx) error {
		if _, err := tx.CustomerByEmail("old@example.com"); !errors.Is(err, ErrNotFound) {
			t.Errorf("old address still indexed: %v", err)
		}
		if _, err := tx.CustomerByEmail("new@example.com"); err != nil {
			t.Errorf("new address: %v", err)
		}
		c, err := tx.ComplaintByNumber("C-2026-000001")
		if err != nil {
			t.Fatalf("by number: %v", err)
		}
		ann, _ := tx.OpenComplaintsByOwner("ann")
		bob, _ := tx.OpenComplaintsByOwner("bob")
		if c.OwnerID != "bob" || ann != 0 || bob != 1 {
			t.Errorf("owner %q, loads ann %d bob %d; want bob, 0, 1", c.OwnerID, ann, bob)
		}
		return nil
	})
}

// A failed put leaves no cached keys behind: the next put of the record
// reads the stored version.
func TestPutAfterConflictUsesStoredKeys(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	update(t, s, func(tx Tx) error {
		a := &Customer{Emails: []string{"a@example.com"}}
		b := &Customer{Emails: []string{"b@example.com"}}
		if err := tx.PutCustomer(a); err != nil {
			return err
		}
		if err := tx.PutCustomer(b); err != nil {
			return err
		}
		b.Emails = []string{"a@example.com"}
		if err := tx.PutCustomer(b); !errors.Is(err, ErrConflict) {
			t.Errorf("taking a's address: %v, want ErrConflict", err)
		}
		b.Emails = []string{"c@example.com"}
		return tx.PutCustomer(b)
	})
	view(t, s, func(tx Tx) error {
		for addr, want := range map[string]uint64{"a@example.com": 1, "b@example.com": 0, "c@example.com": 2} {
			c, err := tx.CustomerByEmail(addr)
			switch {
			case want == 0 && !errors.Is(err, ErrNotFound):
				t.Errorf("%s: %v, want not found", addr, err)
			case want != 0 && (err != nil || c.ID != want):
				t.Errorf("%s: %v %v, want customer %d", addr, c, err, want)
			}
		}
		return nil
	})
}

// An outbox row read and put back several times in one transaction (as the
// notifier records outcomes) is in the due index by its last state only.
func TestNotificationPutTwiceInOneTxReindexes(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	var id uint64
	update(t, s, func(tx Tx) error {
		n := &Notification{Kind: "ack", To: Address{Email: "a@example.com"}, NextAttempt: t0}
		err := tx.PutNotification(n)
		id = n.ID
		return err
	})
	update(t, s, func(tx Tx) error {
		n, err := tx.Notification(id)
		if err != nil {
			return err
		}
		n.NextAttempt = t0.Add(time.Hour) // a retry later
		if err := tx.PutNotification(n); err != nil {
			return err
		}
		n.NextAttempt = t0.Add(2 * time.Hour) // and later again
		if err := tx.PutNotification(n); err != nil {
			return err
		}
		again, err := tx.Notification(id)
		if err != nil {
			return err
		}
		again.Status = NotifySent
		return tx.PutNotification(again)
	})
	view(t, s, func(tx Tx) error {
		if n, err := tx.PendingNotifications(); err != nil || n != 0 {
			t.Errorf("PendingNotifications = %d, %v; want 0 (the sent row left the due index)", n, err)
		}
		if due, err := tx.DueNotifications(t0.Add(3*time.Hour), 0); err != nil || len(due) != 0 {
			t.Errorf("DueNotifications = %d rows, %v; want none", len(due), err)
		}
		return nil
	})
}
