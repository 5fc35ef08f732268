package store

import "time"

// Job statuses. A job is never removed: it ends done (it ran), cancelled
// (it no longer applies; Reason says why) or failed (it kept failing).
const (
	JobPending   = "pending"
	JobDone      = "done"
	JobCancelled = "cancelled"
	JobFailed    = "failed"
)

// Job is a scheduled action: something to do about a complaint at DueAt
// (a deadline reminder, the breach of a stage's deadline, ...). Whoever
// runs it marks it done in the same transaction that records what it did,
// so after a crash it is neither lost nor run twice.
type Job struct {
	ID          uint64 `json:"id"`
	Kind        string `json:"kind"` // "reminder", "breach", ... (named by the scheduler)
	ComplaintID uint64 `json:"complaint_id"`
	// Stage is the complaint's stage the job was made for; a job whose
	// complaint has left that stage no longer applies.
	Stage string    `json:"stage,omitempty"`
	DueAt time.Time `json:"due_at"`
	// NextAttempt, when after DueAt, is when a job that failed to run is
	// tried again.
	NextAttempt time.Time         `json:"next_attempt,omitempty"`
	Status      string            `json:"status"`
	Attempts    int               `json:"attempts,omitempty"`
	LastError   string            `json:"last_error,omitempty"`
	Reason      string            `json:"reason,omitempty"` // why cancelled, or what the run did
	Data        map[string]string `json:"data,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	DoneAt      time.Time         `json:"done_at,omitempty"` // when it became done, cancelled or failed
}

// RunAt is when the job is due to run: DueAt, or NextAttempt after a failure.
func (j *Job) RunAt() time.Time {
	if j.NextAttempt.After(j.DueAt) {
		return j.NextAttempt
	}
	return j.DueAt
}
