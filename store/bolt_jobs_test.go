package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func jobKinds(js []*Job) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.Kind)
	}
	return out
}

func TestJobDefaults(t *testing.T) {
	clock := newClock()
	s, _ := openTest(t, BoltOptions{Now: clock.Now})
	j := &Job{Kind: "reminder", ComplaintID: 7, Stage: StageRegistered, DueAt: clock.Now().Add(time.Hour),
		Data: map[string]string{"fraction": "0.5"}}
	update(t, s, func(tx Tx) error { return tx.PutJob(j) })
	if j.ID != 1 || j.Status != JobPending || !j.CreatedAt.Equal(clock.Now()) {
		t.Fatalf("assigned: %+v", j)
	}
	view(t, s, func(tx Tx) error {
		got, err := tx.Job(1)
		if err != nil {
			return err
		}
		if got.Kind != "reminder" || got.Data["fraction"] != "0.5" || !got.DueAt.Equal(j.DueAt) {
			t.Errorf("stored job = %+v", got)
		}
		if _, err := tx.Job(99); !errors.Is(err, ErrNotFound) {
			t.Errorf("Job(99) = %v, want ErrNotFound", err)
		}
		return nil
	})
}

// TestJobDueIndex: only pending jobs are due, earliest first, a retried
// job is due at NextAttempt, and done or cancelled jobs leave the index
// but stay in JobsOf.
func TestJobDueIndex(t *testing.T) {
	clock := newClock()
	s, _ := openTest(t, BoltOptions{Now: clock.Now})
	base := clock.Now()
	update(t, s, func(tx Tx) error {
		for _, j := range []*Job{
			{Kind: "b", ComplaintID: 1, DueAt: base.Add(2 * time.Hour)},
			{Kind: "a", ComplaintID: 1, DueAt: base.Add(time.Hour)},
			{Kind: "c", ComplaintID: 2, DueAt: base.Add(3 * time.Hour)},
			{Kind: "d", ComplaintID: 1, DueAt: base.Add(-time.Hour), Status: JobDone},
		} {
			must(t, tx.PutJob(j))
		}
		return nil
	})
	view(t, s, func(tx Tx) error {
		next, ok, err := tx.NextJobDue()
		if err != nil || !ok || !next.Equal(base.Add(time.Hour)) {
			t.Errorf("NextJobDue = %v %v %v", next, ok, err)
		}
		due, _ := tx.DueJobs(base.Add(2*time.Hour), 0)
		if got := jobKinds(due); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("due at +2h: %v", got)
		}
		due, _ = tx.DueJobs(base.Add(10*time.Hour), 1)
		if got := jobKinds(due); !slices.Equal(got, []string{"a"}) {
			t.Errorf("limit 1: %v", got)
		}
		of, _ := tx.JobsOf(1)
		if got := jobKinds(of); !slices.Equal(got, []string{"b", "a", "d"}) {
			t.Errorf("JobsOf(1) = %v", got)
		}
		return nil
	})
	update(t, s, func(tx Tx) error {
		a, _ := tx.Job(2)
		a.Status, a.Reason, a.DoneAt = JobCancelled, "stage changed", base
		must(t, tx.PutJob(a))
		b, _ := tx.Job(1)
		b.Attempts, b.NextAttempt = 1, base.Add(5*time.Hour) // failed once, retried later
		return tx.PutJob(b)
	})
	view(t, s, func(tx Tx) error {
		due, _ := tx.DueJobs(base.Add(4*time.Hour), 0)
		if got := jobKinds(due); !slices.Equal(got, []string{"c"}) {
			t.Errorf("due at +4h after cancel and retry: %v", got)
		}
		next, _, _ := tx.NextJobDue()
		if !next.Equal(base.Add(3 * time.Hour)) {
			t.Errorf("NextJobDue = %v", next)
		}
		of, _ := tx.JobsOf(1)
		if len(of) != 3 || of[1].Status != JobCancelled || of[1].Reason != "stage changed" {
			t.Errorf("cancelled job not kept: %+v", of)
		}
		return nil
	})
}

// TestJobRollback: a job put in a failed transaction is not kept and the
// caller's record gets its ID back to zero, so a retry makes it again.
func TestJobRollback(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	j := &Job{Kind: "breach", ComplaintID: 3, DueAt: time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)}
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx Tx) error {
		must(t, tx.PutJob(j))
		return boom
	})
	if !errors.Is(err, boom) || j.ID != 0 || j.Status != "" {
		t.Fatalf("after rollback: err %v, job %+v", err, j)
	}
	view(t, s, func(tx Tx) error {
		if _, ok, _ := tx.NextJobDue(); ok {
			t.Error("rolled back job is due")
		}
		return nil
	})
	if err := s.View(context.Background(), func(tx Tx) error { return tx.PutJob(&Job{}) }); !errors.Is(err, ErrReadOnly) {
		t.Errorf("PutJob in View: %v", err)
	}
}

// TestJobsSurviveReopen: pending jobs are still due after the file is
// closed and opened again (a daemon restart).
func TestJobsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	due := time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)
	b, err := OpenBolt(path, BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	update(t, b, func(tx Tx) error { return tx.PutJob(&Job{Kind: "reminder", ComplaintID: 1, DueAt: due}) })
	b.Close()
	b, err = OpenBolt(path, BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	view(t, b, func(tx Tx) error {
		js, err := tx.DueJobs(due, 0)
		if err != nil || len(js) != 1 || js[0].Kind != "reminder" {
			t.Errorf("after reopen: %v %v", js, err)
		}
		return nil
	})
}

// TestReadOnlyOpenOfFileWithoutJobs: a file written before jobs existed
// opens read-only and has no jobs.
func TestReadOnlyOpenOfFileWithoutJobs(t *testing.T) {
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
		for _, name := range [][]byte{bucketJobs, bucketJobsDue, bucketJobsOf} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	ro, err := OpenBolt(old, BoltOptions{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open: %v", err)
	}
	defer ro.Close()
	view(t, ro, func(tx Tx) error {
		if _, ok, err := tx.NextJobDue(); ok || err != nil {
			t.Errorf("NextJobDue = %v, %v", ok, err)
		}
		if js, err := tx.DueJobs(time.Now(), 0); len(js) != 0 || err != nil {
			t.Errorf("DueJobs = %v, %v", js, err)
		}
		if js, err := tx.JobsOf(1); len(js) != 0 || err != nil {
			t.Errorf("JobsOf = %v, %v", js, err)
		}
		if _, err := tx.Job(1); !errors.Is(err, ErrNotFound) {
			t.Errorf("Job = %v", err)
		}
		return nil
	})
}
