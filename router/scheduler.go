package router

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	retry "complaintbot/internal/backoff"
	"complaintbot/store"
)

// Scheduler settings.
const (
	// jobBatch is how many due jobs one look at the store takes.
	jobBatch = 100
	// maxJobAttempts: a job that fails this often is marked failed.
	maxJobAttempts = 5
	// maxSchedulerSleep bounds the timer, so a kick lost to a crash
	// between a commit and its kick delays a job by at most this.
	maxSchedulerSleep = 10 * time.Minute
)

// errReadPass rolls back the scheduler's look at the next job.
var errReadPass = errors.New("router: read only")

// KickScheduler wakes the scheduler to look at the earliest job again.
// ScheduleStage calls it; it never blocks.
func (r *Router) KickScheduler() {
	if r.dl == nil {
		return
	}
	select {
	case r.dl.kick <- struct{}{}:
	default:
	}
}

// RunScheduler runs jobs as they fall due until ctx ends: one timer, set
// from the earliest pending job, woken early by KickScheduler. Each job
// runs in one transaction that records what it did (outbox rows, events)
// and marks it done, so after a restart nothing is forgotten and nothing
// is done twice. Without Options.Deadlines it waits for ctx.
func (r *Router) RunScheduler(ctx context.Context) error {
	if r.dl == nil {
		<-ctx.Done()
		return nil
	}
	failures := 0
	for {
		wait, err := r.schedulerPass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			wait = retry.Ceiling(failures-1, time.Second, time.Minute)
			r.log.Error("scheduler pass failed", "err", err, "retry_in", wait)
		} else {
			failures = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.dl.kick:
		case <-r.dl.After(wait):
		}
	}
}

// schedulerPass runs what is due and returns how long to sleep.
func (r *Router) schedulerPass(ctx context.Context) (time.Duration, error) {
	if _, err := r.RunDueJobs(ctx); err != nil {
		return 0, err
	}
	var next time.Time
	var ok bool
	// A write transaction that never commits: it waits for the one in
	// flight, so a kick sent from inside ScheduleStage is answered with
	// that transaction's jobs (or without them, had it failed).
	err := r.store.Update(ctx, func(tx store.Tx) (err error) {
		if next, ok, err = tx.NextJobDue(); err != nil {
			return err
		}
		return errReadPass
	})
	if errors.Is(err, errReadPass) {
		err = nil
	}
	if err != nil || !ok {
		return r.dl.maxSleep, err
	}
	return min(max(next.Sub(r.now()), 0), r.dl.maxSleep), nil
}

// RunDueJobs runs every job due now and returns how many it ran
// (including those it found no longer applying). A job that fails is
// retried later with backoff and failed for good after maxJobAttempts.
// A job a run puts that is due already (the breach after a reminder that
// ran too late) runs in the same call: it looks again until nothing is
// due. That ends: every run finishes its job or pushes its next attempt
// past now, and the only job a run can put at or before now is a stage's
// first breach, which is followed by jobs after now alone.
func (r *Router) RunDueJobs(ctx context.Context) (int, error) {
	if r.dl == nil {
		return 0, errNoDeadlines
	}
	ran := 0
	for {
		now := r.now()
		var due []*store.Job
		err := r.store.View(ctx, func(tx store.Tx) (err error) {
			due, err = tx.DueJobs(now, jobBatch)
			return err
		})
		if err != nil {
			return ran, fmt.Errorf("router: due jobs: %w", err)
		}
		for _, j := range due {
			if err := r.runJob(ctx, j.ID, now); err != nil {
				return ran, err
			}
			ran++
		}
		if len(due) == 0 {
			return ran, nil
		}
	}
}

// runJob runs job id in its own transaction; a failure is recorded on the
// job in another.
func (r *Router) runJob(ctx context.Context, id uint64, now time.Time) error {
	var out outcome
	err := r.store.Update(ctx, func(tx store.Tx) error {
		out = outcome{}
		return r.runJobTx(tx, id, now, &out)
	})
	if err == nil {
		if out.notifications > 0 && r.onNotify != nil {
			r.onNotify()
		}
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.log.Warn("scheduled job failed", "job", id, "err", err)
	if ferr := r.store.Update(ctx, func(tx store.Tx) error { return r.jobFailed(tx, id, now, err) }); ferr != nil {
		return fmt.Errorf("router: record failure of job %d: %w", id, ferr)
	}
	return nil
}

// jobFailed counts a failed run: retried after a doubling delay (1 min up
// to 1 h), failed for good after maxJobAttempts. A reminder failed for
// good still passes its stage's chain on, so the breach is not lost.
func (r *Router) jobFailed(tx store.Tx, id uint64, now time.Time, cause error) error {
	j, err := tx.Job(id)
	if err != nil {
		return err
	}
	j.Attempts++
	j.LastError = cause.Error()
	if j.Attempts < maxJobAttempts {
		j.NextAttempt = now.Add(retry.Ceiling(j.Attempts-1, time.Minute, time.Hour))
		return tx.PutJob(j)
	}
	if err := finishJob(tx, j, store.JobFailed, "gave up after "+strconv.Itoa(j.Attempts)+" attempts", now); err != nil {
		return err
	}
	if j.Kind != JobReminder {
		return nil
	}
	return r.chainAfterFailed(tx, j, now)
}

// chainAfterFailed puts the job after reminder j, which failed for good,
// unless j no longer applies (then its complaint's new stage has its own
// chain).
func (r *Router) chainAfterFailed(tx store.Tx, j *store.Job, now time.Time) error {
	c, err := tx.Complaint(j.ComplaintID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load complaint %d: %w", j.ComplaintID, err)
	}
	if jobStale(j, c) != "" {
		return nil
	}
	return r.dl.chainAfter(tx, j, c, now)
}

// runJobTx does job id if it is still pending and still applies.
func (r *Router) runJobTx(tx store.Tx, id uint64, now time.Time, out *outcome) error {
	j, err := tx.Job(id)
	if err != nil {
		return err
	}
	if j.Status != store.JobPending {
		return nil // done by an earlier run
	}
	c, err := tx.Complaint(j.ComplaintID)
	if errors.Is(err, store.ErrNotFound) {
		return finishJob(tx, j, store.JobCancelled, "no such complaint", now)
	}
	if err != nil {
		return fmt.Errorf("load complaint %d: %w", j.ComplaintID, err)
	}
	if why := jobStale(j, c); why != "" {
		return finishJob(tx, j, store.JobCancelled, why, now)
	}
	switch j.Kind {
	case JobReminder:
		return r.remind(tx, j, c, now, out)
	case JobBreach:
		return r.breach(tx, j, c, now, out)
	}
	return finishJob(tx, j, store.JobFailed, "unknown job kind "+strconv.Quote(j.Kind), now)
}

// remind queues a reminder to c's owner (number, stage, deadline and the
// business time left), or finishes j without one when it is too late or
// nobody owns c, and puts the next job of the stage's chain.
func (r *Router) remind(tx store.Tx, j *store.Job, c *store.Complaint, now time.Time, out *outcome) error {
	status, reason, err := r.sendReminder(tx, j, c, now, out)
	if err != nil {
		return err
	}
	if err := finishJob(tx, j, status, reason, now); err != nil {
		return err
	}
	return r.dl.chainAfter(tx, j, c, now)
}

// sendReminder queues reminder j to c's owner and says how j ends.
func (r *Router) sendReminder(tx store.Tx, j *store.Job, c *store.Complaint, now time.Time, out *outcome) (status, reason string, err error) {
	if !now.Before(c.DueAt) {
		return store.JobCancelled, "deadline passed before the reminder ran", nil
	}
	owner := r.staffMember(c.OwnerID)
	if owner == nil {
		return store.JobDone, "no owner to remind", nil
	}
	data := r.deadlineData(tx, c)
	data["left_minutes"] = minutes(r.dl.Calendar.Between(now, c.DueAt))
	data["fraction"] = j.Data[jobDataFraction]
	n, err := r.queueStaff(tx, c, owner, KindReminder, data, now, out)
	if err != nil {
		return "", "", err
	}
	fields := map[string]string{"to": owner.ID, "stage": c.Stage, "due": formatTime(c.DueAt),
		"fraction": j.Data[jobDataFraction], "notification_id": strconv.FormatUint(n.ID, 10)}
	if err := appendEvent(tx, c.ID, now, "system", EventReminderQueued, fields); err != nil {
		return "", "", err
	}
	return store.JobDone, "reminded " + owner.ID, nil
}

// breach records that c's stage deadline passed, escalates it, tells the
// customer of a new date when the stage is one they wait for, and
// schedules the next round (if the new date slips too).
func (r *Router) breach(tx store.Tx, j *store.Job, c *store.Complaint, now time.Time, out *outcome) error {
	round, _ := strconv.Atoi(j.Data[jobDataRound])
	round = max(round, 1)
	fields := map[string]string{"stage": c.Stage, "due": formatTime(c.DueAt), "owner": c.OwnerID,
		"round": strconv.Itoa(round), "overdue_minutes": minutes(r.dl.Calendar.Between(c.DueAt, now))}
	if err := r.escalate(tx, c, fields, now, out); err != nil {
		return err
	}
	if err := appendEvent(tx, c.ID, now, "system", EventDeadlineBreached, fields); err != nil {
		return err
	}
	if !containsString(customerStages, c.Stage) {
		return r.nextRound(tx, j, c, round, time.Time{}, now)
	}
	promised, err := r.tellDelay(tx, j, c, now, out)
	if err != nil {
		return err
	}
	return r.nextRound(tx, j, c, round, promised, now)
}

// escalate queues the escalation mail and notes in fields who got it.
func (r *Router) escalate(tx store.Tx, c *store.Complaint, fields map[string]string, now time.Time, out *outcome) error {
	if !r.dl.EscalateOnBreach || r.dir == nil {
		return nil
	}
	to, why := r.dir.escalationTarget(c)
	fields["escalation_reason"] = why
	if to == nil {
		return nil
	}
	data := r.deadlineData(tx, c)
	data["overdue_minutes"] = fields["overdue_minutes"]
	data["owner"] = c.OwnerID
	if o := r.staffMember(c.OwnerID); o != nil {
		data["owner"] = o.Name
	}
	data["round"] = fields["round"]
	n, err := r.queueStaff(tx, c, to, KindEscalation, data, now, out)
	if err != nil {
		return err
	}
	fields["escalated_to"] = to.ID
	fields["notification_id"] = strconv.FormatUint(n.ID, 10)
	return nil
}

// nextRound finishes breach job j and, unless the rounds are used up,
// schedules the next at the date the customer was now promised (or one
// stage time later when there is none).
func (r *Router) nextRound(tx store.Tx, j *store.Job, c *store.Complaint, round int, promised, now time.Time) error {
	if err := finishJob(tx, j, store.JobDone, "breach round "+strconv.Itoa(round)+" handled", now); err != nil {
		return err
	}
	if round >= maxBreachRounds {
		return nil
	}
	if promised.IsZero() {
		d, _ := r.dl.stageTime(c, c.Stage)
		promised = r.dl.Calendar.Add(now, d)
	}
	if !promised.After(now) {
		return nil
	}
	data := map[string]string{jobDataDue: j.Data[jobDataDue], jobDataRound: strconv.Itoa(round + 1), jobDataPromised: formatTime(promised)}
	return putJob(tx, JobBreach, c.ID, c.Stage, promised, now, data)
}

// tellDelay queues the delay notice to the customer in their language and
// thread, with the new date: the stage's own business time counted again
// from now. It returns the new date (zero when the customer cannot be
// reached: no inbound message to answer).
func (r *Router) tellDelay(tx store.Tx, j *store.Job, c *store.Complaint, now time.Time, out *outcome) (time.Time, error) {
	cust, last, err := lastCustomerMessage(tx, c)
	if err != nil || last == nil {
		return time.Time{}, err
	}
	d, _ := r.dl.stageTime(c, c.Stage)
	promised := r.dl.Calendar.Add(now, d)
	old := j.Data[jobDataPromised]
	if old == "" {
		old = formatTime(c.DueAt)
	}
	data := map[string]string{"number": c.Number, "due": formatTime(promised), "old_due": old,
		"customer_name": cust.Name, "subject": c.Subject, "stage": c.Stage}
	n := r.reply(cust, c, last, KindDelay, data, now)
	if err := tx.PutNotification(n); err != nil {
		return time.Time{}, fmt.Errorf("queue delay notice of %s: %w", c.Number, err)
	}
	out.notifications++
	c.ThreadMessageIDs = appendThreadID(c.ThreadMessageIDs, n.MessageID)
	if err := putComplaint(tx, c); err != nil {
		return time.Time{}, err
	}
	fields := map[string]string{"old_due": old, "new_due": formatTime(promised), "stage": c.Stage,
		"notification_id": strconv.FormatUint(n.ID, 10), "to": n.To.Email, "channel": n.Channel}
	return promised, appendEvent(tx, c.ID, now, "system", EventCustomerToldDelay, fields)
}

// deadlineData is the Data common to reminder and escalation mail.
func (r *Router) deadlineData(tx store.Tx, c *store.Complaint) map[string]string {
	d := map[string]string{"number": c.Number, "due": formatTime(c.DueAt), "stage": c.Stage,
		"subject": c.Subject, "category": c.Category, "tier": c.Tier, "priority": r.dl.priority(c)}
	if cust, err := tx.Customer(c.CustomerID); err == nil {
		d["customer_name"] = cust.Name
		if len(cust.Emails) > 0 {
			d["customer_email"] = cust.Emails[0]
		}
	}
	return d
}

// queueStaff queues a staff notification of kind about c to s: their
// address, their first language, outside the customer's thread; and, when
// they have Telegram, the same in their chat with the card's buttons
// (staffTelegram). It returns the email row.
func (r *Router) queueStaff(tx store.Tx, c *store.Complaint, s *Staff, kind string, data map[string]string, now time.Time, out *outcome) (*store.Notification, error) {
	for k, v := range data {
		if v == "" {
			delete(data, k)
		}
	}
	n := &store.Notification{
		ComplaintID: c.ID,
		Kind:        kind,
		Channel:     store.ChannelEmail,
		Lang:        s.Languages[0],
		To:          store.Address{Name: cleanHeader(s.Name), Email: usableEmail(s.Email)},
		MessageID:   r.NewMessageID(c.ID),
		Data:        data,
		Status:      store.NotifyPending,
		NextAttempt: now,
		CreatedAt:   now,
	}
	if err := tx.PutNotification(n); err != nil {
		return nil, fmt.Errorf("queue %s of %s: %w", kind, c.Number, err)
	}
	out.notifications++
	return n, r.staffTelegram(tx, c, n, s, now, out)
}

// staffMember is the configured staff member id, or nil.
func (r *Router) staffMember(id string) *Staff {
	if r.dir == nil {
		return nil
	}
	return r.dir.staff[id]
}
