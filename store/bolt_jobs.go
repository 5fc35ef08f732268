package store

import (
	"fmt"
	"time"
)

func (t *boltTx) Job(id uint64) (*Job, error) {
	if t.bucket(bucketJobs) == nil { // a read-only older file (see laterBuckets)
		return nil, fmt.Errorf("store: job %d: %w", id, ErrNotFound)
	}
	return load[Job](t, bucketJobs, "job", id)
}

func (t *boltTx) PutJob(j *Job) error {
	const op = "put job"
	if err := t.checkWrite(op); err != nil {
		return err
	}
	var oldIdx []indexEntry
	if j.ID != 0 {
		old, err := t.Job(j.ID)
		if err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		oldIdx = jobIndex(old)
	} else if err := t.assignJob(j); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if err := t.reindex(oldIdx, jobIndex(j), j.ID); err != nil {
		return fmt.Errorf("store: %s %d: %w", op, j.ID, err)
	}
	if err := t.putJSON(t.bucket(bucketJobs), u64(j.ID), j); err != nil {
		return fmt.Errorf("store: %s %d: %w", op, j.ID, err)
	}
	return nil
}

// assignJob fills in what the store assigns to a new job, to be taken
// back if the transaction does not commit.
func (t *boltTx) assignJob(j *Job) error {
	id, err := t.bucket(bucketJobs).NextSequence()
	if err != nil {
		return err
	}
	prev := *j
	t.onRollback(func() { j.ID, j.CreatedAt, j.Status = 0, prev.CreatedAt, prev.Status })
	j.ID = id
	if j.CreatedAt.IsZero() {
		j.CreatedAt = t.now()
	}
	if j.Status == "" {
		j.Status = JobPending
	}
	return nil
}

// jobIndex: only pending jobs are in the due index, keyed by when they
// are to run, so the earliest is the first key.
func jobIndex(j *Job) []indexEntry {
	out := []indexEntry{compositeEntry(bucketJobsOf, pair(j.ComplaintID, j.ID))}
	if j.Status == JobPending {
		out = append(out, compositeEntry(bucketJobsDue, dueKey(j.RunAt(), j.ID)))
	}
	return out
}

// DueJobs: limit <= 0 means no limit.
func (t *boltTx) DueJobs(now time.Time, limit int) ([]*Job, error) {
	return loadAll[Job](t, bucketJobs, "job", dueIDs(t.bucket(bucketJobsDue), now, limit))
}

func (t *boltTx) NextJobDue() (time.Time, bool, error) {
	return firstDue(t.bucket(bucketJobsDue), "next job due")
}

func (t *boltTx) JobsOf(complaintID uint64) ([]*Job, error) {
	if t.bucket(bucketJobsOf) == nil {
		return nil, nil
	}
	ids := t.idsWithPrefix(bucketJobsOf, u64(complaintID), 0)
	return loadAll[Job](t, bucketJobs, "job", ids)
}
