package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestComplaintNumbers(t *testing.T) {
	clock := newClock() // 2026-03-14
	s, _ := openTest(t, BoltOptions{Now: clock.Now})
	at := func(y int) time.Time { return time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name      string
		createdAt time.Time
		want      string
	}{
		{"first of 2026 (clock)", time.Time{}, "C-2026-000001"},
		{"second of 2026", at(2026), "C-2026-000002"},
		{"first of 2025", at(2025), "C-2025-000001"},
		{"third of 2026", at(2026), "C-2026-000003"},
		{"new year's eve, last second", time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), "C-2026-000004"},
		{"new year", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), "C-2027-000001"},
		// The year is CreatedAt's in its own location.
		{"new year in Vilnius, still 2026 in UTC", time.Date(2027, 1, 1, 0, 30, 0, 0, time.FixedZone("EET", 2*3600)), "C-2027-000002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Complaint{CreatedAt: tt.createdAt}
			update(t, s, func(tx Tx) error { return tx.PutComplaint(&c) })
			if c.Number != tt.want {
				t.Errorf("Number = %s, want %s", c.Number, tt.want)
			}
			view(t, s, func(tx Tx) error {
				got, err := tx.ComplaintByNumber(tt.want)
				if err != nil || got.ID != c.ID {
					t.Errorf("ComplaintByNumber(%s) = %v, %v", tt.want, got, err)
				}
				return nil
			})
		})
	}
}

func TestComplaintDefaultsAndUpdate(t *testing.T) {
	clock := newClock()
	s, _ := openTest(t, BoltOptions{Now: clock.Now})
	c := Complaint{CustomerID: 3, Subject: "late"}
	update(t, s, func(tx Tx) error { return tx.PutComplaint(&c) })
	if c.ID != 1 || c.Stage != StageRegistered || !c.CreatedAt.Equal(clock.Now()) || !c.UpdatedAt.Equal(c.CreatedAt) {
		t.Fatalf("created = %+v", c)
	}
	number := c.Number
	// An update keeps the number even when the caller leaves it empty, and
	// moves the complaint between customers' lists.
	update(t, s, func(tx Tx) error {
		c.Number = ""
		c.CustomerID = 4
		c.Stage = StageAnalysis
		return tx.PutComplaint(&c)
	})
	view(t, s, func(tx Tx) error {
		got, err := tx.ComplaintByNumber(number)
		if err != nil || got.Stage != StageAnalysis || got.Number != number {
			t.Errorf("after update = %+v, %v", got, err)
		}
		if old, _ := tx.ComplaintsOfCustomer(3); len(old) != 0 {
			t.Errorf("customer 3 still lists %v", old)
		}
		if cur, _ := tx.ComplaintsOfCustomer(4); len(cur) != 1 || cur[0].ID != c.ID {
			t.Errorf("customer 4 lists %v", cur)
		}
		return nil
	})
}

// TestComplaintNumbersUnique: many complaints in many transactions get
// distinct numbers; a number a caller chose is kept, never handed out
// again, and cannot be taken twice.
func TestComplaintNumbersUnique(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	update(t, s, func(tx Tx) error {
		return tx.PutComplaint(&Complaint{Number: "C-2026-000003"})
	})
	seen := map[string]bool{"C-2026-000003": true}
	for range 10 {
		update(t, s, func(tx Tx) error {
			for range 50 {
				c := Complaint{}
				must(t, tx.PutComplaint(&c))
				if seen[c.Number] {
					t.Fatalf("number %s handed out twice", c.Number)
				}
				seen[c.Number] = true
			}
			return nil
		})
	}
	if !seen["C-2026-000004"] || !seen["C-2026-000501"] {
		t.Errorf("sequence skipped too much or too little: have 4 %v, 501 %v", seen["C-2026-000004"], seen["C-2026-000501"])
	}
	err := s.Update(context.Background(), func(tx Tx) error {
		return tx.PutComplaint(&Complaint{Number: "C-2026-000010"})
	})
	if !errors.Is(err, ErrConflict) {
		t.Errorf("taking a used number = %v, want ErrConflict", err)
	}
}

func TestComplaintsOfCustomer(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	update(t, s, func(tx Tx) error {
		for i := range 9 {
			must(t, tx.PutComplaint(&Complaint{CustomerID: uint64(i%3 + 1)}))
		}
		return nil
	})
	view(t, s, func(tx Tx) error {
		for cust, want := range map[uint64][]uint64{1: {1, 4, 7}, 2: {2, 5, 8}, 3: {3, 6, 9}, 4: nil} {
			got, err := tx.ComplaintsOfCustomer(cust)
			if err != nil {
				return err
			}
			var ids []uint64
			for _, c := range got {
				ids = append(ids, c.ID)
			}
			if len(ids) != len(want) || (len(want) > 0 && (ids[0] != want[0] || ids[2] != want[2])) {
				t.Errorf("customer %d: %v, want %v", cust, ids, want)
			}
		}
		return nil
	})
}

// TestReserveComplaint: a reserved complaint has its ID and number at
// once, is not readable until put, is then written as new (indexes and the
// owner's load included), and a rolled-back reservation gives its ID and
// number back to the caller's struct (the next complaint gets that number,
// since it was never stored).
func TestReserveComplaint(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	c := Complaint{CustomerID: 7, Subject: "broken", OwnerID: "ona"}
	update(t, s, func(tx Tx) error {
		if err := tx.ReserveComplaint(&c); err != nil {
			return err
		}
		if c.ID == 0 || c.Number != "C-2026-000001" || c.Stage != StageRegistered {
			t.Errorf("reserved = %+v", c)
		}
		if _, err := tx.Complaint(c.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("reserved complaint readable before the put: %v", err)
		}
		if err := tx.ReserveComplaint(&c); err == nil {
			t.Errorf("reserving a complaint that has an ID succeeded")
		}
		return tx.PutComplaint(&c)
	})
	view(t, s, func(tx Tx) error {
		got, err := tx.ComplaintByNumber(c.Number)
		if err != nil || got.ID != c.ID || got.Subject != "broken" {
			t.Errorf("ComplaintByNumber = %+v, %v", got, err)
		}
		if cs, err := tx.ComplaintsOfCustomer(7); err != nil || len(cs) != 1 {
			t.Errorf("ComplaintsOfCustomer = %d, %v", len(cs), err)
		}
		if n, err := tx.OpenComplaintsByOwner("ona"); err != nil || n != 1 {
			t.Errorf("OpenComplaintsByOwner = %d, %v, want 1", n, err)
		}
		return nil
	})

	failed := errors.New("abandon")
	d := Complaint{CustomerID: 7}
	err := s.Update(context.Background(), func(tx Tx) error {
		if err := tx.ReserveComplaint(&d); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) || d.ID != 0 || d.Number != "" {
		t.Fatalf("after a rolled-back reservation: err %v, complaint %+v", err, d)
	}
	update(t, s, func(tx Tx) error { return tx.PutComplaint(&d) })
	if d.Number != "C-2026-000002" {
		t.Errorf("next number %s, want C-2026-000002 (the rolled-back one was never stored)", d.Number)
	}
}
