package store

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestOpenComplaintsByOwner follows one owner's load through the changes
// that move it: new complaints, a handover, resolution, not-a-complaint,
// and a transaction that fails (its index changes must not stay).
func TestOpenComplaintsByOwner(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	// load reads the counter and checks it against the index it summarises.
	load := func(owner string) int {
		t.Helper()
		var n, indexed int
		view(t, s, func(tx Tx) (err error) {
			indexed = len(tx.(*boltTx).idsWithPrefix(bucketComplaintsOwner, strKey(owner), 0))
			n, err = tx.OpenComplaintsByOwner(owner)
			return err
		})
		if owner != "" && n != indexed {
			t.Errorf("load of %q = %d, but the index holds %d", owner, n, indexed)
		}
		return n
	}
	put := func(c *Complaint) {
		t.Helper()
		update(t, s, func(tx Tx) error { return tx.PutComplaint(c) })
	}
	a1 := &Complaint{OwnerID: "anna"}
	a2 := &Complaint{OwnerID: "anna"}
	b1 := &Complaint{OwnerID: "ben"}
	nobody := &Complaint{}
	for _, c := range []*Complaint{a1, a2, b1, nobody} {
		put(c)
	}
	// "an" is a prefix of "anna": the length-prefixed key keeps them apart.
	steps := []struct {
		name       string
		change     func()
		anna, ben  int
		an, absent int
	}{
		{"created", func() {}, 2, 1, 0, 0},
		{"handed over to ben", func() { a2.OwnerID = "ben"; put(a2) }, 1, 2, 0, 0},
		{"resolved", func() { b1.Stage = StageResolved; put(b1) }, 1, 1, 0, 0},
		{"reopened", func() { b1.Stage = StageAnalysis; put(b1) }, 1, 2, 0, 0},
		{"not a complaint", func() { a1.Stage = StageNotComplaint; put(a1) }, 0, 2, 0, 0},
		{"closed", func() { a2.Stage = StageClosed; put(a2) }, 0, 1, 0, 0},
		{"owner named an", func() { nobody.OwnerID = "an"; put(nobody) }, 0, 1, 1, 0},
	}
	for _, st := range steps {
		st.change()
		got := []int{load("anna"), load("ben"), load("an"), load("absent")}
		want := []int{st.anna, st.ben, st.an, st.absent}
		if got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
			t.Errorf("%s: load anna/ben/an/absent = %v, want %v", st.name, got, want)
		}
	}
	if n := load(""); n != 0 {
		t.Errorf("load of no owner = %d", n)
	}
	// A failed transaction leaves the index as it was.
	err := s.Update(t.Context(), func(tx Tx) error {
		c := &Complaint{OwnerID: "anna"}
		if err := tx.PutComplaint(c); err != nil {
			return err
		}
		n, _ := tx.OpenComplaintsByOwner("anna")
		if n != 1 {
			t.Errorf("inside the transaction anna's load = %d, want 1", n)
		}
		return errTestRollback
	})
	if err != errTestRollback {
		t.Fatalf("Update = %v", err)
	}
	if n := load("anna"); n != 0 {
		t.Errorf("after rollback anna's load = %d, want 0", n)
	}
}

type testError string

func (e testError) Error() string { return string(e) }

const errTestRollback = testError("roll back")

// TestReadOnlyOpenOfFileWithoutOwnerIndex: a file written before the owner
// index and counter existed still opens read-only and reads every load as zero.
func TestReadOnlyOpenOfFileWithoutOwnerIndex(t *testing.T) {
	old := filepath.Join(t.TempDir(), "old.db")
	b, err := OpenBolt(old, BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	db, err := bolt.Open(old, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketComplaintsOwner); err != nil {
			return err
		}
		return tx.DeleteBucket(bucketOwnerLoad)
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := OpenBolt(old, BoltOptions{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of an older file: %v", err)
	}
	defer ro.Close()
	view(t, ro, func(tx Tx) error {
		if n, err := tx.OpenComplaintsByOwner("anna"); n != 0 || err != nil {
			t.Errorf("load = %d, %v", n, err)
		}
		return nil
	})
}
