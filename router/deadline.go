package router

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"complaintbot/router/bizhours"
	"complaintbot/store"
)

// Calendar counts working time; *bizhours.Calendar implements it.
type Calendar interface {
	// Add is the time when d of working time has passed after start.
	Add(start time.Time, d time.Duration) time.Time
	// Between is the working time from a to b (negative when b < a).
	Between(a, b time.Time) time.Duration
}

// Complaint priorities: they pick deadline rules.
const (
	PriorityNormal = "normal"
	PriorityHigh   = "high"
)

// Deadlines configures the deadline of each stage, the reminders before
// it and what happens when it passes. Times are business time, counted by
// Calendar.
type Deadlines struct {
	// Calendar counts business time; nil means plain elapsed time.
	Calendar Calendar
	// Stages is the business time each stage gets (registered: the
	// reaction time promised in the acknowledgement, Options.ReactionTime
	// when absent). A stage without a time has no deadline and no jobs.
	Stages map[string]time.Duration
	// Rules override Stages: for each stage, the first rule that matches
	// the complaint and names that stage gives its time.
	Rules []DeadlineRule
	// A complaint is high priority when its amount tier is in HighTiers or
	// its category in HighCategories; otherwise normal. The extremism hint
	// never changes the priority: it must not change what the customer is
	// promised.
	HighTiers      []string
	HighCategories []string
	// Reminders are the fractions of a stage's time (0 < f < 1) at which
	// the owner is reminded, e.g. 0.5 and 0.9.
	Reminders []float64
	// EscalateOnBreach mails the owner's manager (else the team head,
	// else the default owner) when a deadline passes.
	EscalateOnBreach bool
	// After is the scheduler's timer; nil means time.After. Tests pass a
	// fake that fires when their clock moves.
	After func(time.Duration) <-chan time.Time
}

// DeadlineRule overrides stage times for complaints of a category and/or
// priority ("" matches any).
type DeadlineRule struct {
	Category string
	Priority string
	Stages   map[string]time.Duration
}

// Job kinds the scheduler runs.
const (
	JobReminder = "reminder" // remind the owner before the deadline
	JobBreach   = "breach"   // the deadline passed: escalate, tell the customer
)

// Outbox kinds of the deadline notifications: reminder and escalation go
// to staff, delay to the customer in their thread.
const (
	KindReminder   = "reminder"
	KindEscalation = "escalation"
	KindDelay      = "delay"
)

// Event kinds of deadlines.
const (
	EventDeadlineSet       = "deadline_set"
	EventReminderQueued    = "reminder_queued"
	EventDeadlineBreached  = "deadline_breached"
	EventCustomerToldDelay = "customer_told_delay"
)

// customerStages are the stages whose deadline is a date the customer
// waits for: the first answer (promised in the acknowledgement) and the
// outcome of the analysis. When one passes, the customer is told.
var customerStages = []string{store.StageRegistered, store.StageAnalysis}

// maxBreachRounds bounds how often one stage's breach is escalated and
// the customer told of a new date: the first breach and two more if the
// new dates slip too. After that the complaint stays listed as overdue.
const maxBreachRounds = 3

// Job data keys.
const (
	jobDataDue      = "due"      // the stage deadline the job was made for (RFC 3339)
	jobDataFraction = "fraction" // a reminder's share of the stage time
	jobDataRound    = "round"    // a breach job's round, from 1
	jobDataPromised = "promised" // the date the customer was last promised
	jobDataFrom     = "from"     // a reminder's stage start (RFC 3339, to the nanosecond)
	jobDataTotal    = "total"    // a reminder's stage business time (time.Duration text)
)

// deadlines is Options.Deadlines checked, with the scheduler's wake-up.
type deadlines struct {
	Deadlines
	kick     chan struct{}
	maxSleep time.Duration // maxSchedulerSleep; tests lengthen it
}

func newDeadlines(o *Deadlines, reactionTime time.Duration) (*deadlines, error) {
	if o == nil {
		return nil, nil
	}
	d := &deadlines{Deadlines: *o, kick: make(chan struct{}, 1), maxSleep: maxSchedulerSleep}
	if d.Calendar == nil {
		d.Calendar = bizhours.AlwaysOpen(time.UTC)
	}
	if d.After == nil {
		d.After = time.After
	}
	d.Stages = cloneTimes(o.Stages)
	if _, ok := d.Stages[store.StageRegistered]; !ok {
		d.Stages[store.StageRegistered] = reactionTime
	}
	d.Reminders = slices.Clone(o.Reminders)
	slices.Sort(d.Reminders)
	for _, f := range d.Reminders {
		if !(f > 0 && f < 1) {
			return nil, fmt.Errorf("router: reminder fraction %v is not between 0 and 1", f)
		}
	}
	for i, rule := range o.Rules {
		if rule.Priority != "" && rule.Priority != PriorityNormal && rule.Priority != PriorityHigh {
			return nil, fmt.Errorf("router: deadline rule %d: priority %q", i, rule.Priority)
		}
	}
	return d, nil
}

func cloneTimes(m map[string]time.Duration) map[string]time.Duration {
	out := make(map[string]time.Duration, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Priority is c's priority under the deadline rules (normal without them).
func (r *Router) Priority(c *store.Complaint) string {
	if r.dl == nil {
		return PriorityNormal
	}
	return r.dl.priority(c)
}

func (d *deadlines) priority(c *store.Complaint) string {
	if slices.Contains(d.HighTiers, c.Tier) || slices.Contains(d.HighCategories, c.Category) {
		return PriorityHigh
	}
	return PriorityNormal
}

// stageTime is the business time c gets in stage, and the rule that gave
// it ("default" or "rule N").
func (d *deadlines) stageTime(c *store.Complaint, stage string) (time.Duration, string) {
	prio := d.priority(c)
	for i, rule := range d.Rules {
		if (rule.Category != "" && rule.Category != c.Category) || (rule.Priority != "" && rule.Priority != prio) {
			continue
		}
		if v, ok := rule.Stages[stage]; ok {
			return v, "rule " + strconv.Itoa(i+1)
		}
	}
	return d.Stages[stage], "default"
}

// ScheduleStage sets the deadline of stage, which complaint c (already
// stored) has just entered at from: c.DueAt becomes from plus the stage's
// business time, c is put, the pending jobs of earlier stages are
// cancelled, and the first job of this stage's chain (its first reminder,
// else its breach job; see scheduleJobs) is created, with an event
// "deadline_set". A stage without a time (resolved, closed, ...) clears
// c.DueAt and leaves no pending job. Without
// Options.Deadlines it does nothing. It wakes the scheduler, whose look at
// the next job waits for tx to end, so callers need not.
func (r *Router) ScheduleStage(tx store.Tx, c *store.Complaint, stage string, from time.Time) error {
	if r.dl == nil {
		return nil
	}
	if err := cancelPendingJobs(tx, c.ID, from, "complaint entered "+stage); err != nil {
		return err
	}
	if err := r.setDeadline(tx, c, stage, from); err != nil {
		return err
	}
	return putComplaint(tx, c)
}

// setDeadline is ScheduleStage without its two steps a complaint being
// opened does not need: it has no jobs to cancel yet, and it is written
// once, complete, by its caller. Without Options.Deadlines it does nothing.
func (r *Router) setDeadline(tx store.Tx, c *store.Complaint, stage string, from time.Time) error {
	if r.dl == nil {
		return nil
	}
	d, why := r.dl.stageTime(c, stage)
	if d <= 0 || !c.Open() {
		c.DueAt = time.Time{}
		return nil
	}
	due := r.dl.Calendar.Add(from, d)
	c.DueAt = due
	if err := r.dl.scheduleJobs(tx, c, stage, from, d, due); err != nil {
		return err
	}
	r.KickScheduler()
	fields := map[string]string{
		"stage": stage, "due": formatTime(due), "business_time": d.String(),
		"priority": r.dl.priority(c), "rule": why,
	}
	return appendEvent(tx, c.ID, from, "system", EventDeadlineSet, fields)
}

// deadlineHook is the stage hook (stage.go) that gives every stage a
// complaint enters its deadline and jobs.
func (r *Router) deadlineHook(tx store.Tx, c *store.Complaint, _ string, now time.Time) error {
	return r.ScheduleStage(tx, c, c.Stage, now)
}

// Deadline jobs form a chain. A complaint in a stage with a deadline has
// exactly one pending deadline job (reminder or breach) until the breach
// rounds are used up or the stage is left: entering the stage puts the
// first job, and the transaction that finishes a reminder (run, skipped
// or failed for good) puts the next one, so no step lives only in
// memory. A job cancelled because it no longer applies (jobStale) ends
// its chain: the complaint's new stage has a chain of its own. A breach
// job that fails for good ends it too; it is listed as failed.

// stageClock is what a stage's deadline jobs are counted from: when the
// stage began, its business time and its deadline. Reminders carry it
// (jobDataFrom, jobDataTotal), so the next one is counted as the first
// was even if the config has changed since.
type stageClock struct {
	from  time.Time
	total time.Duration
	due   time.Time
}

// scheduleJobs puts the first job of stage's chain: its first reminder
// (strictly between from and due), else the breach job at due.
func (d *deadlines) scheduleJobs(tx store.Tx, c *store.Complaint, stage string, from time.Time, total time.Duration, due time.Time) error {
	return d.putNextJob(tx, c.ID, stage, stageClock{from: from, total: total, due: due}, 0, from)
}

// putNextJob puts the job of the chain after the reminder at fraction
// done: the next reminder whose time is still strictly after now and
// before the deadline, else the breach job at the deadline. Reminders
// whose time passed while nobody ran them (the daemon was down) are
// skipped and never written: the late one that did run told the owner
// the real time left, and a burst of stale reminders would say nothing
// more.
func (d *deadlines) putNextJob(tx store.Tx, complaintID uint64, stage string, sc stageClock, done float64, now time.Time) error {
	f, at, ok := d.nextReminder(sc, done, now)
	if !ok {
		return putBreach(tx, complaintID, stage, sc.due, now)
	}
	data := map[string]string{jobDataDue: formatTime(sc.due), jobDataFraction: strconv.FormatFloat(f, 'f', -1, 64),
		jobDataFrom: sc.from.UTC().Format(time.RFC3339Nano), jobDataTotal: sc.total.String()}
	return putJob(tx, JobReminder, complaintID, stage, at, now, data)
}

// nextReminder is the first reminder fraction above done whose time is
// strictly after notBefore and strictly before the deadline.
func (d *deadlines) nextReminder(sc stageClock, done float64, notBefore time.Time) (float64, time.Time, bool) {
	for _, f := range d.Reminders { // sorted by newDeadlines
		if f <= done {
			continue
		}
		at := d.Calendar.Add(sc.from, time.Duration(f*float64(sc.total)))
		if at.After(notBefore) && at.Before(sc.due) {
			return f, at, true
		}
	}
	return 0, time.Time{}, false
}

// putBreach puts the first breach job of stage, at its deadline.
func putBreach(tx store.Tx, complaintID uint64, stage string, due, now time.Time) error {
	data := map[string]string{jobDataDue: formatTime(due), jobDataRound: "1"}
	return putJob(tx, JobBreach, complaintID, stage, due, now, data)
}

// chainAfter puts the job that follows reminder j, which has just been
// finished, in the chain of c's stage (c is j's complaint, still in j's
// stage). A reminder written before chains existed carries no stage clock:
// the old code wrote all its stage's jobs up front, so it is followed by
// the breach job only when no job of the complaint is pending any more,
// which keeps the breach without doubling it.
func (d *deadlines) chainAfter(tx store.Tx, j *store.Job, c *store.Complaint, now time.Time) error {
	sc, ok := stageClockOf(j, c.DueAt)
	if ok {
		done, _ := strconv.ParseFloat(j.Data[jobDataFraction], 64)
		return d.putNextJob(tx, c.ID, j.Stage, sc, done, now)
	}
	pending, err := hasPendingJob(tx, c.ID)
	if err != nil || pending {
		return err
	}
	return putBreach(tx, c.ID, j.Stage, c.DueAt, now)
}

// stageClockOf reads the stage clock a reminder carries; false when it
// has none (or an unreadable one).
func stageClockOf(j *store.Job, due time.Time) (stageClock, bool) {
	from, ferr := time.Parse(time.RFC3339Nano, j.Data[jobDataFrom])
	total, terr := time.ParseDuration(j.Data[jobDataTotal])
	if ferr != nil || terr != nil || total <= 0 {
		return stageClock{}, false
	}
	return stageClock{from: from, total: total, due: due}, true
}

func hasPendingJob(tx store.Tx, complaintID uint64) (bool, error) {
	jobs, err := tx.JobsOf(complaintID)
	if err != nil {
		return false, fmt.Errorf("jobs of complaint %d: %w", complaintID, err)
	}
	return slices.ContainsFunc(jobs, func(j *store.Job) bool { return j.Status == store.JobPending }), nil
}

func putJob(tx store.Tx, kind string, complaintID uint64, stage string, at, now time.Time, data map[string]string) error {
	j := &store.Job{Kind: kind, ComplaintID: complaintID, Stage: stage, DueAt: at, Data: data, CreatedAt: now}
	if err := tx.PutJob(j); err != nil {
		return fmt.Errorf("schedule %s of complaint %d: %w", kind, complaintID, err)
	}
	return nil
}

// cancelPendingJobs marks the complaint's pending jobs cancelled with
// reason: the head of its stage's chain (all of a stage's jobs when they
// were written before chains).
func cancelPendingJobs(tx store.Tx, complaintID uint64, now time.Time, reason string) error {
	jobs, err := tx.JobsOf(complaintID)
	if err != nil {
		return fmt.Errorf("jobs of complaint %d: %w", complaintID, err)
	}
	for _, j := range jobs {
		if j.Status != store.JobPending {
			continue
		}
		if err := finishJob(tx, j, store.JobCancelled, reason, now); err != nil {
			return err
		}
	}
	return nil
}

func finishJob(tx store.Tx, j *store.Job, status, reason string, now time.Time) error {
	j.Status, j.Reason, j.DoneAt = status, reason, now
	if err := tx.PutJob(j); err != nil {
		return fmt.Errorf("finish job %d: %w", j.ID, err)
	}
	return nil
}

func putComplaint(tx store.Tx, c *store.Complaint) error {
	if err := tx.PutComplaint(c); err != nil {
		return fmt.Errorf("put complaint %s: %w", c.Number, err)
	}
	return nil
}

// formatTime is how deadlines are written into job data and events.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// jobStale says why job j no longer applies to complaint c ("" when it
// still does): c closed or moved on, or its deadline changed since.
func jobStale(j *store.Job, c *store.Complaint) string {
	switch {
	case !c.Open():
		return "complaint is " + c.Stage
	case c.Stage != j.Stage:
		return "complaint moved to " + c.Stage
	case j.Data[jobDataDue] != formatTime(c.DueAt):
		return "deadline changed to " + formatTime(c.DueAt)
	}
	return ""
}

// escalationTarget is who hears of a breach by c's owner: the owner's
// manager (up the chain past anyone away), else the head of c's team,
// else the default owner; never the owner themselves. nil when nobody
// else is available.
func (d *directory) escalationTarget(c *store.Complaint) (*Staff, string) {
	owner := d.staff[c.OwnerID]
	if owner != nil {
		seen := map[string]bool{owner.ID: true}
		for m := d.staff[owner.Manager]; m != nil && !seen[m.ID]; m = d.staff[m.Manager] {
			seen[m.ID] = true
			if !m.Away {
				return m, "manager of " + owner.ID
			}
		}
	}
	if h := d.staff[d.teams[c.Team].Head]; h != nil && !h.Away && h.ID != c.OwnerID {
		return h, "head of team " + c.Team
	}
	if d.defaultOwner.ID != c.OwnerID {
		return d.defaultOwner, "default owner"
	}
	return nil, "nobody available above " + cmpOr(c.OwnerID, "the owner")
}

// errNoDeadlines is returned by the scheduler's entry points when the
// router was built without Options.Deadlines.
var errNoDeadlines = errors.New("router: no deadlines configured")

// minutes is d in whole minutes, rounded up, as text.
func minutes(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Minute-1)/time.Minute), 10)
}
