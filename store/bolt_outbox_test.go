package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestEvents(t *testing.T) {
	clock := newClock()
	s, _ := openTest(t, BoltOptions{Now: clock.Now})
	update(t, s, func(tx Tx) error {
		for _, e := range []*Event{
			{ComplaintID: 2, Kind: "registered"},
			{ComplaintID: 1, Kind: "registered"},
			{ComplaintID: 2, Kind: "ack_queued", Seq: 99}, // Seq is assigned, not taken
			{ComplaintID: 3, Kind: "registered"},
		} {
			must(t, tx.AppendEvent(e))
		}
		return nil
	})
	clock.Advance(time.Hour)
	custom := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	update(t, s, func(tx Tx) error {
		must(t, tx.AppendEvent(&Event{ComplaintID: 2, Kind: "ack_sent"}))
		return tx.AppendEvent(&Event{ComplaintID: 1, Kind: "note", At: custom})
	})
	view(t, s, func(tx Tx) error {
		for cid, want := range map[uint64][]string{1: {"registered", "note"}, 2: {"registered", "ack_queued", "ack_sent"}, 3: {"registered"}, 4: nil} {
			evs, err := tx.Events(cid)
			if err != nil {
				return err
			}
			var kinds []string
			for i, e := range evs {
				kinds = append(kinds, e.Kind)
				if e.Seq != uint64(i+1) || e.ComplaintID != cid {
					t.Errorf("complaint %d event %d: seq %d complaint %d", cid, i, e.Seq, e.ComplaintID)
				}
			}
			if !slices.Equal(kinds, want) {
				t.Errorf("complaint %d: %v, want %v", cid, kinds, want)
			}
		}
		evs, _ := tx.Events(2)
		if !evs[2].At.Equal(clock.Now()) || !evs[0].At.Equal(clock.Now().Add(-time.Hour)) {
			t.Errorf("event times %v %v", evs[0].At, evs[2].At)
		}
		if evs, _ := tx.Events(1); !evs[1].At.Equal(custom) {
			t.Errorf("caller's At replaced: %v", evs[1].At)
		}
		return nil
	})
}

func TestCursors(t *testing.T) {
	clock := newClock()
	s, _ := openTest(t, BoltOptions{Now: clock.Now})
	update(t, s, func(tx Tx) error {
		must(t, tx.PutCursor(Cursor{Source: "support", UIDValidity: 1, LastUID: 10}))
		must(t, tx.PutCursor(Cursor{Source: "telegram:bot", Offset: 555}))
		return tx.PutCursor(Cursor{Source: "support", UIDValidity: 2, LastUID: 3})
	})
	view(t, s, func(tx Tx) error {
		want := map[string]Cursor{
			"support":      {Source: "support", UIDValidity: 2, LastUID: 3},
			"telegram:bot": {Source: "telegram:bot", Offset: 555},
		}
		for src, w := range want {
			got, err := tx.Cursor(src)
			if err != nil {
				return err
			}
			if !got.UpdatedAt.Equal(clock.Now()) {
				t.Errorf("%s UpdatedAt = %v", src, got.UpdatedAt)
			}
			got.UpdatedAt = time.Time{}
			if got != w {
				t.Errorf("Cursor(%s) = %+v, want %+v", src, got, w)
			}
		}
		return nil
	})
}

func notificationIDs(ns []*Notification) []uint64 {
	var ids []uint64
	for _, n := range ns {
		ids = append(ids, n.ID)
	}
	return ids
}

func TestNotificationDefaults(t *testing.T) {
	clock := newClock()
	s, _ := openTest(t, BoltOptions{Now: clock.Now})
	n := Notification{ComplaintID: 1, Kind: "ack"}
	update(t, s, func(tx Tx) error { return tx.PutNotification(&n) })
	if n.ID != 1 || n.Status != NotifyPending || !n.CreatedAt.Equal(clock.Now()) || !n.NextAttempt.Equal(n.CreatedAt) {
		t.Errorf("created = %+v", n)
	}
}

// TestDueIndex: the due index follows every change of status and time, and
// lists rows earliest first with ties in ID order.
func TestDueIndex(t *testing.T) {
	clock := newClock()
	s, _ := openTest(t, BoltOptions{Now: clock.Now})
	t0 := clock.Now()
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	update(t, s, func(tx Tx) error {
		for _, min := range []int{5, 1, 3, 1, -60} { // IDs 1..5
			must(t, tx.PutNotification(&Notification{ComplaintID: 7, Kind: "ack", NextAttempt: at(min)}))
		}
		return tx.PutNotification(&Notification{Kind: "ack", Status: NotifySent, NextAttempt: at(-100)}) // ID 6, never due
	})
	steps := []struct {
		name    string
		change  func(tx Tx) error
		now     time.Time
		limit   int
		want    []uint64
		wantDue time.Time
	}{
		{"initial order", nil, at(10), 0, []uint64{5, 2, 4, 3, 1}, at(-60)},
		{"limit", nil, at(10), 2, []uint64{5, 2}, at(-60)},
		{"only what is due", nil, at(1), 0, []uint64{5, 2, 4}, at(-60)},
		{"due exactly now", nil, at(3), 0, []uint64{5, 2, 4, 3}, at(-60)},
		{"sent leaves the index", setNotification(5, func(n *Notification) { n.Status = NotifySent }), at(10), 0, []uint64{2, 4, 3, 1}, at(1)},
		{"retry later moves it", setNotification(2, func(n *Notification) { n.Attempts++; n.NextAttempt = at(20) }), at(10), 0, []uint64{4, 3, 1}, at(1)},
		{"failed leaves the index", setNotification(4, func(n *Notification) { n.Status = NotifyFailed }), at(30), 0, []uint64{3, 1, 2}, at(3)},
		{"pending again comes back", setNotification(6, func(n *Notification) { n.Status = NotifyPending }), at(30), 0, []uint64{6, 3, 1, 2}, at(-100)},
		{"update without change", setNotification(3, func(n *Notification) { n.LastError = "x" }), at(30), 0, []uint64{6, 3, 1, 2}, at(-100)},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.change != nil {
				update(t, s, st.change)
			}
			view(t, s, func(tx Tx) error {
				due, err := tx.DueNotifications(st.now, st.limit)
				if err != nil {
					return err
				}
				if ids := notificationIDs(due); !slices.Equal(ids, st.want) {
					t.Errorf("DueNotifications = %v, want %v", ids, st.want)
				}
				next, ok, err := tx.NextDue()
				if err != nil || !ok || !next.Equal(st.wantDue) {
					t.Errorf("NextDue = %v %v %v, want %v", next, ok, err, st.wantDue)
				}
				all, _ := tx.DueNotifications(at(1e6), 0)
				if n, err := tx.PendingNotifications(); err != nil || n != len(all) {
					t.Errorf("PendingNotifications = %d %v, want %d", n, err, len(all))
				}
				return nil
			})
		})
	}
	view(t, s, func(tx Tx) error {
		of, err := tx.NotificationsOf(7)
		if err != nil {
			return err
		}
		if ids := notificationIDs(of); !slices.Equal(ids, []uint64{1, 2, 3, 4, 5}) {
			t.Errorf("NotificationsOf(7) = %v", ids)
		}
		return nil
	})
}

func setNotification(id uint64, change func(*Notification)) func(Tx) error {
	return func(tx Tx) error {
		n, err := tx.Notification(id)
		if err != nil {
			return err
		}
		change(n)
		return tx.PutNotification(n)
	}
}

// TestDueIndexTimes: times before 1970 and far in the future order right.
func TestDueIndexTimes(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	times := []time.Time{
		time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 1, time.FixedZone("x", 3600)),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	update(t, s, func(tx Tx) error {
		for _, at := range times {
			must(t, tx.PutNotification(&Notification{NextAttempt: at}))
		}
		return nil
	})
	err := s.View(context.Background(), func(tx Tx) error {
		due, err := tx.DueNotifications(time.Date(4000, 1, 1, 0, 0, 0, 0, time.UTC), 0)
		if ids := notificationIDs(due); !slices.Equal(ids, []uint64{2, 3, 4, 1}) {
			t.Errorf("order %v, want [2 3 4 1]", ids)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
