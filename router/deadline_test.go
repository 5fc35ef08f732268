package router

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"complaintbot/router/bizhours"
	"complaintbot/store"
)

// fakeTimers is Deadlines.After on the test clock: a wait fires when the
// clock is moved past it.
type fakeTimers struct {
	mu    sync.Mutex
	clk   *clock
	waits []fakeWait
}

type fakeWait struct {
	at time.Time
	ch chan time.Time
}

func (ft *fakeTimers) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ft.mu.Lock()
	ft.waits = append(ft.waits, fakeWait{ft.clk.Now().Add(d), ch})
	ft.mu.Unlock()
	ft.fire()
	return ch
}

func (ft *fakeTimers) Advance(d time.Duration) {
	ft.clk.Add(d)
	ft.fire()
}

func (ft *fakeTimers) fire() {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	now := ft.clk.Now()
	kept := ft.waits[:0]
	for _, w := range ft.waits {
		if w.at.After(now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- now
	}
	ft.waits = kept
}

func vilnius(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Vilnius")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// officeCalendar is Vilnius, Mon-Fri 09:00-18:00.
func officeCalendar(t testing.TB) *bizhours.Calendar {
	var o bizhours.Options
	o.Location = vilnius(t)
	for wd := time.Monday; wd <= time.Friday; wd++ {
		o.Week[wd] = []bizhours.Span{{Start: 9 * time.Hour, End: 18 * time.Hour}}
	}
	c, err := bizhours.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dlEnv is a store file, a clock and fake timers that outlive the
// routers opened on them, so a test can restart the "daemon".
type dlEnv struct {
	t      *testing.T
	path   string
	clk    *clock
	timers *fakeTimers
	edit   func(*Options)
}

// newDeadlineEnv starts the clock on Friday 2026-03-27 14:00 in Vilnius
// (12:00 UTC), two days before the spring DST change.
func newDeadlineEnv(t *testing.T, edit func(*Options)) *dlEnv {
	clk := &clock{t: time.Date(2026, 3, 27, 14, 0, 0, 0, vilnius(t))}
	return &dlEnv{t: t, path: filepath.Join(t.TempDir(), "db"), clk: clk, timers: &fakeTimers{clk: clk}, edit: edit}
}

// deadlinePolicy: first answer in 4 business hours, analysis 16, action
// 40; high priority (top tier) answers in 2; reminders at 50% and 90%.
func (e *dlEnv) deadlinePolicy() *Deadlines {
	return &Deadlines{
		Calendar: officeCalendar(e.t),
		Stages: map[string]time.Duration{store.StageRegistered: 4 * time.Hour, store.StageAnalysis: 16 * time.Hour,
			store.StageAction: 40 * time.Hour},
		Rules: []DeadlineRule{
			{Priority: PriorityHigh, Stages: map[string]time.Duration{store.StageRegistered: 2 * time.Hour}},
			{Category: "quality", Stages: map[string]time.Duration{store.StageRegistered: 8 * time.Hour}},
		},
		HighTiers:        []string{TierTop},
		Reminders:        []float64{0.9, 0.5},
		EscalateOnBreach: true,
		After:            e.timers.After,
	}
}

// open opens the store file and a Router on it (a daemon start); stop
// closes the store.
func (e *dlEnv) open() (f *fixture, stop func()) {
	e.t.Helper()
	st, err := store.OpenBolt(e.path, store.BoltOptions{Now: e.clk.Now, NoSync: true})
	if err != nil {
		e.t.Fatalf("OpenBolt: %v", err)
	}
	f = &fixture{t: e.t, st: st, clock: e.clk, reg: prometheus.NewRegistry()}
	a := testAssignment()
	a.Staff[1].Manager = "rasa" // anna's manager
	o := Options{
		Store: st, Secret: testSecret, Now: e.clk.Now, Registerer: f.reg, AckPerHour: 100,
		OnNotify:   func() { f.notified.Add(1) },
		Classifier: scripted{"Late parcel": complaintOf("ru", "delivery"), "Broken kettle": bigClaim},
		Assignment: a,
		Deadlines:  e.deadlinePolicy(),
	}
	if e.edit != nil {
		e.edit(&o)
	}
	if f.r, err = New(o); err != nil {
		e.t.Fatalf("New: %v", err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { st.Close() }) }
	e.t.Cleanup(stop)
	return f, stop
}

func (f *fixture) jobs(complaintID uint64) []*store.Job {
	var out []*store.Job
	f.view(func(tx store.Tx) (err error) { out, err = tx.JobsOf(complaintID); return err })
	return out
}

func (f *fixture) runDue() int {
	f.t.Helper()
	n, err := f.r.RunDueJobs(context.Background())
	if err != nil {
		f.t.Fatalf("RunDueJobs: %v", err)
	}
	return n
}

// pendingJobs is jobSummary of the complaint's pending jobs.
func (f *fixture) pendingJobs(complaintID uint64, loc *time.Location) []string {
	var pending []*store.Job
	for _, j := range f.jobs(complaintID) {
		if j.Status == store.JobPending {
			pending = append(pending, j)
		}
	}
	return jobSummary(pending, loc)
}

func jobSummary(js []*store.Job, loc *time.Location) []string {
	var out []string
	for _, j := range js {
		s := j.Kind + "@" + j.DueAt.In(loc).Format("Mon 15:04") + " " + j.Status
		if j.Reason != "" {
			s += " (" + j.Reason + ")"
		}
		out = append(out, s)
	}
	return out
}

// bigClaim is a quality complaint over the head tier's maximum: top tier,
// so high priority.
var bigClaim = Classification{IsComplaint: true, Lang: "en", Category: "quality", Amount: "5000", Currency: "EUR", Why: []string{"scripted"}}

func sameTime(rfc3339 string, want time.Time) bool {
	t, err := time.Parse(time.RFC3339, rfc3339)
	return err == nil && t.Equal(want)
}

func lateParcel() *store.Message {
	return mail("Ivan", "ivan@example.ru", "late-1@example.ru", "Late parcel", "Посылка опаздывает на неделю.")
}

func TestDeadlineSetAtRegistration(t *testing.T) {
	e := newDeadlineEnv(t, nil)
	f, _ := e.open()
	loc := vilnius(t)
	f.deliver(lateParcel())
	c := f.onlyComplaint()
	due := time.Date(2026, 3, 27, 18, 0, 0, 0, loc) // Friday 14:00 + 4 business hours
	if !c.DueAt.Equal(due) || c.OwnerID != "anna" {
		t.Fatalf("DueAt %s owner %s, want %s anna", c.DueAt.In(loc), c.OwnerID, due)
	}
	ack := f.notificationsOf(KindAck)
	owner := f.notificationsOf(KindAssigned)
	if len(ack) != 1 || len(owner) != 1 || !sameTime(ack[0].Data["due"], due) || !sameTime(owner[0].Data["due"], due) {
		t.Fatalf("ack and owner mail do not promise the stage deadline: %v / %v", ack, owner)
	}
	// One job at a time: the 50% reminder, carrying the stage clock the
	// next step is counted from.
	want := []string{"reminder@Fri 16:00 pending"}
	jobs := f.jobs(c.ID)
	if got := jobSummary(jobs, loc); !slices.Equal(got, want) {
		t.Fatalf("jobs = %q, want %q", got, want)
	}
	wantData := map[string]string{jobDataDue: "2026-03-27T16:00:00Z", jobDataFraction: "0.5",
		jobDataFrom: "2026-03-27T12:00:00Z", jobDataTotal: "4h0m0s"}
	if !maps.Equal(jobs[0].Data, wantData) {
		t.Errorf("reminder data = %v, want %v", jobs[0].Data, wantData)
	}
	ev := f.eventOf(c.ID, EventDeadlineSet)
	if ev == nil || ev.Fields["stage"] != store.StageRegistered || ev.Fields["business_time"] != "4h0m0s" || ev.Fields["priority"] != PriorityNormal {
		t.Errorf("deadline_set event = %+v", ev)
	}
	if kinds := f.eventKinds(c.ID); !slices.Equal(kinds, []string{"registered", "classified", EventDeadlineSet, "assigned", "ack_queued"}) {
		t.Errorf("events = %v", kinds)
	}
}

// TestRemindersEscalationAndDelay walks the fake clock through one
// complaint's first-answer deadline: reminders at 50% and 90% to the
// owner, then at the deadline an escalation to her manager and a delay
// notice to the customer in Russian, threaded, with a new date counted in
// business hours across the weekend and the DST change.
func TestRemindersEscalationAndDelay(t *testing.T) {
	e := newDeadlineEnv(t, nil)
	f, _ := e.open()
	loc := vilnius(t)
	f.deliver(lateParcel())
	c := f.onlyComplaint()
	if n := f.runDue(); n != 0 {
		t.Fatalf("%d jobs ran at registration", n)
	}

	e.clk.Add(2 * time.Hour) // Fri 16:00: 50%
	if n := f.runDue(); n != 1 {
		t.Fatalf("at 50%%: %d jobs ran", n)
	}
	rem := f.notificationsOf(KindReminder)
	if len(rem) != 1 || rem[0].To.Email != "anna@acme.test" || rem[0].Lang != "ru" || rem[0].Data["left_minutes"] != "120" ||
		rem[0].Data["stage"] != store.StageRegistered || rem[0].InReplyTo != "" || rem[0].CustomerID != 0 {
		t.Fatalf("first reminder = %+v", rem)
	}
	if n := f.runDue(); n != 0 || len(f.notificationsOf(KindReminder)) != 1 {
		t.Fatal("a second run sent the reminder again")
	}
	if got, want := f.pendingJobs(c.ID, loc), []string{"reminder@Fri 17:36 pending"}; !slices.Equal(got, want) {
		t.Fatalf("pending after the 50%% reminder = %q, want %q", got, want)
	}

	e.clk.Add(96 * time.Minute) // Fri 17:36: 90%
	f.runDue()
	if rem = f.notificationsOf(KindReminder); len(rem) != 2 || rem[1].Data["left_minutes"] != "24" || rem[1].Data["fraction"] != "0.9" {
		t.Fatalf("second reminder = %+v", rem)
	}
	if got, want := f.pendingJobs(c.ID, loc), []string{"breach@Fri 18:00 pending"}; !slices.Equal(got, want) {
		t.Fatalf("pending after the 90%% reminder = %q, want %q", got, want)
	}

	e.clk.Add(24 * time.Minute) // Fri 18:00: the deadline
	f.runDue()
	esc := f.notificationsOf(KindEscalation)
	if len(esc) != 1 || esc[0].To.Email != "rasa@acme.test" || esc[0].Lang != "lt" || esc[0].Data["owner"] != "Anna" {
		t.Fatalf("escalation = %+v", esc)
	}
	delay := f.notificationsOf(KindDelay)
	newDue := time.Date(2026, 3, 30, 13, 0, 0, 0, loc) // Monday, after DST: 4 business hours from Friday 18:00
	if len(delay) != 1 {
		t.Fatalf("delay notices = %+v", delay)
	}
	d := delay[0]
	if d.To.Email != "ivan@example.ru" || d.Lang != "ru" || d.Channel != store.ChannelEmail || d.InReplyTo != "late-1@example.ru" ||
		d.Data["due"] != newDue.UTC().Format(time.RFC3339) || d.Data["old_due"] != "2026-03-27T16:00:00Z" || !strings.Contains(d.Subject, c.Number) {
		t.Errorf("delay notice = %+v", d)
	}
	if got := f.onlyComplaint().ThreadMessageIDs; !slices.Contains(got, d.MessageID) {
		t.Errorf("delay notice not in the thread: %v", got)
	}
	br := f.eventOf(c.ID, EventDeadlineBreached)
	told := f.eventOf(c.ID, EventCustomerToldDelay)
	if br == nil || br.Fields["escalated_to"] != "rasa" || br.Fields["escalation_reason"] != "manager of anna" || told == nil || told.Fields["new_due"] != d.Data["due"] {
		t.Errorf("events: breached %+v told %+v", br, told)
	}
	want := []string{"reminder@Fri 16:00 done (reminded anna)", "reminder@Fri 17:36 done (reminded anna)",
		"breach@Fri 18:00 done (breach round 1 handled)", "breach@Mon 13:00 pending"}
	if got := jobSummary(f.jobs(c.ID), loc); !slices.Equal(got, want) {
		t.Errorf("jobs = %q\nwant %q", got, want)
	}
	if f.notified.Load() == 0 {
		t.Error("the notifier was never kicked")
	}
}

// TestBreachRoundsAreBounded: a complaint nobody touches is escalated and
// the customer told at most maxBreachRounds times.
func TestBreachRoundsAreBounded(t *testing.T) {
	e := newDeadlineEnv(t, nil)
	f, _ := e.open()
	f.deliver(lateParcel())
	for range 10 {
		e.clk.Add(24 * time.Hour)
		f.runDue()
	}
	if esc, delay := len(f.notificationsOf(KindEscalation)), len(f.notificationsOf(KindDelay)); esc != maxBreachRounds || delay != maxBreachRounds {
		t.Errorf("escalations %d, delay notices %d, want %d each", esc, delay, maxBreachRounds)
	}
	var pending int
	for _, j := range f.jobs(f.onlyComplaint().ID) {
		if j.Status == store.JobPending {
			pending++
		}
	}
	if pending != 0 {
		t.Errorf("%d jobs still pending", pending)
	}
}

// TestLateStartSkipsStaleReminders: after the daemon was down past the
// deadline, no reminder is sent (their moment is gone): the pending 50%
// one is cancelled, the 90% one is never written, and the breach it
// chains to, already due, is handled once in the same run.
func TestLateStartSkipsStaleReminders(t *testing.T) {
	e := newDeadlineEnv(t, nil)
	f, _ := e.open()
	f.deliver(lateParcel())
	e.clk.Add(3 * 24 * time.Hour) // Monday 14:00
	f.runDue()
	if n := len(f.notificationsOf(KindReminder)); n != 0 {
		t.Errorf("%d stale reminders sent", n)
	}
	if n := len(f.notificationsOf(KindEscalation)); n != 1 {
		t.Errorf("%d escalations", n)
	}
	want := []string{"reminder@Fri 16:00 cancelled (deadline passed before the reminder ran)",
		"breach@Fri 18:00 done (breach round 1 handled)", "breach@Tue 10:00 pending"}
	if got := jobSummary(f.jobs(f.onlyComplaint().ID), vilnius(t)); !slices.Equal(got, want) {
		t.Errorf("jobs = %q\nwant %q", got, want)
	}
}

// TestSchedulerAcrossRestart: the daemon stops after the first reminder
// and starts again (new store handle, new Router) twice; every job runs
// once, none is lost or repeated.
func TestSchedulerAcrossRestart(t *testing.T) {
	e := newDeadlineEnv(t, nil)
	f, stop := e.open()
	f.deliver(lateParcel())
	e.clk.Add(2 * time.Hour)
	f.runDue()
	stop()

	f, stop = e.open() // restart, still Friday 16:00: nothing is due again
	if n := f.runDue(); n != 0 {
		t.Fatalf("after restart %d jobs ran again", n)
	}
	e.clk.Add(2 * time.Hour) // Friday 18:00, both the 90% reminder and the breach
	stop()                   // down over the moment they fell due

	f, _ = e.open()
	f.runDue()
	f.runDue()
	counts := map[string]int{}
	for _, n := range f.notifications() {
		counts[n.Kind]++
	}
	want := map[string]int{KindAck: 1, KindAssigned: 1, KindReminder: 1, KindEscalation: 1, KindDelay: 1}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s: %d rows, want %d (all: %v)", k, counts[k], v, counts)
		}
	}
}

// TestScheduleStageCancelsPrevious: entering a new stage cancels the old
// stage's pending job (kept, with the reason; its chain ends there) and
// schedules the first of the new one's; a stage without a deadline leaves
// nothing pending.
func TestScheduleStageCancelsPrevious(t *testing.T) {
	e := newDeadlineEnv(t, nil)
	f, _ := e.open()
	loc := vilnius(t)
	f.deliver(lateParcel())
	c := f.onlyComplaint()
	e.clk.Add(2 * time.Hour) // Friday 16:00
	f.runDue()
	move := func(stage string) {
		t.Helper()
		err := f.st.Update(context.Background(), func(tx store.Tx) error {
			c, err := tx.Complaint(c.ID)
			if err != nil {
				return err
			}
			c.Stage = stage
			return f.r.ScheduleStage(tx, c, stage, e.clk.Now())
		})
		if err != nil {
			t.Fatalf("ScheduleStage(%s): %v", stage, err)
		}
	}
	move(store.StageAnalysis)
	c = f.onlyComplaint()
	if want := time.Date(2026, 3, 31, 14, 0, 0, 0, loc); !c.DueAt.Equal(want) { // 2h Fri + 9h Mon + 5h Tue
		t.Errorf("analysis due %s, want %s", c.DueAt.In(loc), want)
	}
	want := []string{
		"reminder@Fri 16:00 done (reminded anna)",
		"reminder@Fri 17:36 cancelled (complaint entered analysis)",
		"reminder@Mon 15:00 pending",
	}
	if got := jobSummary(f.jobs(c.ID), loc); !slices.Equal(got, want) {
		t.Errorf("jobs = %q\nwant %q", got, want)
	}
	e.clk.Add(2 * time.Hour) // the old deadline passes: nothing happens
	f.runDue()
	if n := len(f.notificationsOf(KindEscalation)) + len(f.notificationsOf(KindDelay)); n != 0 {
		t.Errorf("the old stage's breach still fired: %d rows", n)
	}
	move(store.StageResolved)
	c = f.onlyComplaint()
	if !c.DueAt.IsZero() {
		t.Errorf("resolved complaint has DueAt %s", c.DueAt)
	}
	for _, j := range f.jobs(c.ID) {
		if j.Status == store.JobPending {
			t.Errorf("job pending after resolution: %+v", j)
		}
	}
}

// TestStaleJobIsCancelledNotRun: a job whose complaint left its stage
// without ScheduleStage (a missed hook) is cancelled when due, not run.
func TestStaleJobIsCancelledNotRun(t *testing.T) {
	e := newDeadlineEnv(t, nil)
	f, _ := e.open()
	f.deliver(lateParcel())
	c := f.onlyComplaint()
	err := f.st.Update(context.Background(), func(tx store.Tx) error {
		c.Stage = store.StageAnalysis
		return tx.PutComplaint(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Add(5 * time.Hour)
	f.runDue()
	if n := len(f.notifications()); n != 2 { // ack and owner mail only
		t.Errorf("%d notifications, want 2", n)
	}
	// The stale reminder is cancelled and does not chain: no breach
	// follows it (the new stage would have scheduled its own).
	want := []string{"reminder@Fri 16:00 cancelled (complaint moved to analysis)"}
	if got := jobSummary(f.jobs(c.ID), vilnius(t)); !slices.Equal(got, want) {
		t.Errorf("jobs = %q, want %q", got, want)
	}
}

// TestDeadlineRules: the first rule naming a stage wins; priority is high
// for the top tier only (never for the extremism hint).
func TestDeadlineRules(t *testing.T) {
	e := newDeadlineEnv(t, nil)
	f, _ := e.open()
	d := f.r.dl
	for _, tc := range []struct {
		name  string
		c     store.Complaint
		stage string
		want  time.Duration
		prio  string
	}{
		{"default", store.Complaint{Category: "delivery", Tier: TierFrontline}, store.StageRegistered, 4 * time.Hour, PriorityNormal},
		{"top tier is high", store.Complaint{Category: "delivery", Tier: TierTop}, store.StageRegistered, 2 * time.Hour, PriorityHigh},
		{"high before category", store.Complaint{Category: "quality", Tier: TierTop}, store.StageRegistered, 2 * time.Hour, PriorityHigh},
		{"category rule", store.Complaint{Category: "quality", Tier: TierHead}, store.StageRegistered, 8 * time.Hour, PriorityNormal},
		{"rule without the stage falls through", store.Complaint{Category: "quality"}, store.StageAnalysis, 16 * time.Hour, PriorityNormal},
		{"extremism hint is not priority", store.Complaint{Category: "delivery", ExtremismHint: true}, store.StageRegistered, 4 * time.Hour, PriorityNormal},
		{"no deadline after resolution", store.Complaint{}, store.StageResolved, 0, PriorityNormal},
	} {
		got, _ := d.stageTime(&tc.c, tc.stage)
		if got != tc.want || f.r.Priority(&tc.c) != tc.prio {
			t.Errorf("%s: %s %s, want %s %s", tc.name, got, f.r.Priority(&tc.c), tc.want, tc.prio)
		}
	}
}

func TestEscalationTarget(t *testing.T) {
	a := testAssignment()
	a.Staff[1].Manager = "olga"  // anna -> olga
	a.Staff[2].Manager = "jonas" // olga -> jonas
	a.Staff[2].Away = true       // olga away: the chain goes on to jonas
	a.Staff[3].Manager = "vera"  // jonas -> vera, who is away and has no manager
	d, err := newDirectory(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		owner, team, want, why string
	}{
		{"anna", "logistics", "jonas", "manager of anna"},
		{"jonas", "quality", "tomas", "head of team quality"},
		{"rasa", "logistics", "dina", "default owner"},
		{"", "", "dina", "default owner"},
		{"dina", "", "", "nobody available above dina"},
	} {
		s, why := d.escalationTarget(&store.Complaint{OwnerID: tc.owner, Team: tc.team})
		got := ""
		if s != nil {
			got = s.ID
		}
		if got != tc.want || why != tc.why {
			t.Errorf("owner %q: %q (%s), want %q (%s)", tc.owner, got, why, tc.want, tc.why)
		}
	}
}

// TestRunSchedulerWithFakeTimer: the worker sleeps until the earliest job
// on the injected timer, runs it when the clock gets there, and a kick
// after a new complaint wakes it for that complaint's earlier jobs.
func TestRunSchedulerWithFakeTimer(t *testing.T) {
	e := newDeadlineEnv(t, nil)
	f, _ := e.open()
	f.r.dl.maxSleep = 30 * 24 * time.Hour // the timer is the earliest job's alone
	f.deliver(lateParcel())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.r.RunScheduler(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunScheduler: %v", err)
		}
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	timerAt := func(at time.Time) func() bool {
		return func() bool {
			e.timers.mu.Lock()
			defer e.timers.mu.Unlock()
			return slices.ContainsFunc(e.timers.waits, func(w fakeWait) bool { return w.at.Equal(at) })
		}
	}
	loc := vilnius(t)
	waitFor("the timer set for the 50% reminder", timerAt(time.Date(2026, 3, 27, 16, 0, 0, 0, loc)))
	if n := len(f.notificationsOf(KindReminder)); n != 0 {
		t.Fatalf("%d reminders before their time", n)
	}
	e.timers.Advance(2 * time.Hour)
	waitFor("the 50% reminder", func() bool { return len(f.notificationsOf(KindReminder)) == 1 })

	// A top-tier complaint (2 business hours) at 16:00: its 50% reminder
	// at 17:00 comes before the first complaint's 17:36.
	waitFor("the timer set for the 90% reminder", timerAt(time.Date(2026, 3, 27, 17, 36, 0, 0, loc)))
	m := mail("Eve", "eve@example.com", "kettle-1@example.com", "Broken kettle", "Refund of 5000 EUR, please.")
	f.deliver(m) // kicks the scheduler
	waitFor("the timer moved to the new complaint's reminder", timerAt(time.Date(2026, 3, 27, 17, 0, 0, 0, loc)))
	e.timers.Advance(time.Hour)
	waitFor("the new complaint's reminder", func() bool { return len(f.notificationsOf(KindReminder)) == 2 })
	if got := f.notificationsOf(KindReminder)[1]; got.To.Email != "jonas@acme.test" {
		t.Errorf("second reminder to %s", got.To.Email)
	}

	// A transition through ScheduleStage alone, nobody kicking after the
	// commit: the first complaint enters analysis, which cancels its 90%
	// reminder at 17:36; the timer moves to the next job, the second
	// complaint's 90% reminder at 17:48, read once the transaction commits.
	err := f.st.Update(context.Background(), func(tx store.Tx) error {
		c, err := tx.Complaint(1)
		if err != nil {
			return err
		}
		c.Stage = store.StageAnalysis
		if err := f.r.ScheduleStage(tx, c, c.Stage, e.clk.Now()); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond) // the scheduler, kicked, waits for this commit
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor("the timer moved past the cancelled reminder", timerAt(time.Date(2026, 3, 27, 17, 48, 0, 0, loc)))
}

// TestJobFailureIsRetried: a job whose transaction fails is retried after
// a backoff, then runs exactly once.
func TestJobFailureIsRetried(t *testing.T) {
	var failing sync.Mutex
	fail := false
	e := newDeadlineEnv(t, nil)
	f, _ := e.open()
	f.deliver(lateParcel())
	// Wrap the store so the next Update fails once, as a full disk would.
	f.r.store = &flakyStore{Store: f.st, fail: func() bool {
		failing.Lock()
		defer failing.Unlock()
		was := fail
		fail = false
		return was
	}}
	e.clk.Add(2 * time.Hour)
	failing.Lock()
	fail = true
	failing.Unlock()
	f.runDue()
	j := f.jobs(f.onlyComplaint().ID)[0]
	if j.Status != store.JobPending || j.Attempts != 1 || !j.NextAttempt.Equal(e.clk.Now().Add(time.Minute)) || !strings.Contains(j.LastError, "disk full") {
		t.Fatalf("after a failed run: %+v", j)
	}
	if n := len(f.notificationsOf(KindReminder)); n != 0 {
		t.Fatalf("%d reminders from a failed run", n)
	}
	e.clk.Add(time.Minute)
	f.runDue()
	f.runDue()
	if n := len(f.notificationsOf(KindReminder)); n != 1 {
		t.Errorf("%d reminders after the retry, want 1", n)
	}
}

// flakyStore fails an Update (without committing) when fail says so.
type flakyStore struct {
	store.Store
	fail func() bool
}

func (s *flakyStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	if s.fail() {
		return s.Store.Update(ctx, func(tx store.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			return errors.New("disk full")
		})
	}
	return s.Store.Update(ctx, fn)
}

// TestNoDeadlinesKeepsPlainReactionTime: without Options.Deadlines the
// acknowledgement promises arrival + ReactionTime and nothing is scheduled.
func TestNoDeadlinesKeepsPlainReactionTime(t *testing.T) {
	e := newDeadlineEnv(t, func(o *Options) { o.Deadlines = nil; o.ReactionTime = 4 * time.Hour })
	f, _ := e.open()
	f.deliver(lateParcel())
	c := f.onlyComplaint()
	if !c.DueAt.Equal(e.clk.Now().Add(4*time.Hour)) || len(f.jobs(c.ID)) != 0 {
		t.Errorf("DueAt %s, jobs %v", c.DueAt, f.jobs(c.ID))
	}
	if _, err := f.r.RunDueJobs(context.Background()); err == nil {
		t.Error("RunDueJobs without deadlines did not say so")
	}
}

func TestDeadlinesValidated(t *testing.T) {
	for _, d := range []*Deadlines{
		{Reminders: []float64{1.5}},
		{Reminders: []float64{0}},
		{Rules: []DeadlineRule{{Priority: "urgent"}}},
	} {
		if _, err := New(Options{Store: &flakyStore{}, Secret: testSecret, Deadlines: d}); err == nil {
			t.Errorf("accepted %+v", d)
		}
	}
}

// TestStaffActionsMoveDeadlines: the workflow's transitions (Act) run the
// deadline hook: advancing replaces the first-answer job by the first of
// the analysis ones, dropping cancels everything and clears DueAt, and
// reopening schedules analysis again.
func TestStaffActionsMoveDeadlines(t *testing.T) {
	e := newDeadlineEnv(t, nil)
	f, _ := e.open()
	loc := vilnius(t)
	f.deliver(lateParcel())
	c := f.onlyComplaint()
	act := func(a Action) {
		t.Helper()
		a.Number, a.Actor = c.Number, "anna"
		if _, err := f.r.Act(context.Background(), a); err != nil {
			t.Fatalf("Act(%s): %v", a.Kind, err)
		}
	}
	e.clk.Add(time.Hour) // Friday 15:00
	act(Action{Kind: ActionAdvance})
	c = f.onlyComplaint()
	if want := time.Date(2026, 3, 31, 13, 0, 0, 0, loc); c.Stage != store.StageAnalysis || !c.DueAt.Equal(want) {
		t.Fatalf("after advance: %s due %s, want analysis due %s", c.Stage, c.DueAt.In(loc), want)
	}
	pending := func() []string {
		var out []string
		for _, j := range f.jobs(c.ID) {
			if j.Status == store.JobPending {
				out = append(out, j.Kind+"/"+j.Stage)
			}
		}
		return out
	}
	if got := pending(); !slices.Equal(got, []string{"reminder/analysis"}) {
		t.Errorf("pending after advance: %v", got)
	}
	act(Action{Kind: ActionDrop, To: store.DropClarified, Text: "explained by phone"})
	if c = f.onlyComplaint(); !c.DueAt.IsZero() || len(pending()) != 0 {
		t.Errorf("after drop: DueAt %s, pending %v", c.DueAt, pending())
	}
	act(Action{Kind: ActionReopen, Text: "customer wrote again"})
	if got := pending(); !slices.Equal(got, []string{"reminder/analysis"}) || f.onlyComplaint().DueAt.IsZero() {
		t.Errorf("after reopen: pending %v", got)
	}
	e.clk.Add(3 * 24 * time.Hour)
	f.runDue()
	if n := len(f.notificationsOf(KindEscalation)); n != 0 {
		t.Errorf("%d escalations before the reopened analysis is due", n)
	}
}

// TestRemindersAndEscalationInTelegram: staff with a Telegram account get
// the reminder and the escalation in their chat too, in their language,
// with the card's buttons to act on the complaint; the email rows stay.
func TestRemindersAndEscalationInTelegram(t *testing.T) {
	e := newDeadlineEnv(t, func(o *Options) {
		o.Assignment.Staff[0].TelegramID = 7001 // rasa, the manager
		o.Assignment.Staff[1].TelegramID = 7002 // anna, the owner
	})
	f, _ := e.open()
	f.deliver(lateParcel())
	c := f.onlyComplaint()
	e.clk.Add(2 * time.Hour) // 50%: a reminder
	f.runDue()
	e.clk.Add(2 * time.Hour) // past the deadline: the escalation
	f.runDue()
	byChannel := func(kind, channel string) []*store.Notification {
		var out []*store.Notification
		for _, n := range f.notificationsOf(kind) {
			if n.Channel == channel {
				out = append(out, n)
			}
		}
		return out
	}
	for _, tc := range []struct {
		kind string
		chat int64
		lang string
	}{{KindReminder, 7002, "ru"}, {KindEscalation, 7001, "lt"}} {
		email, tg := byChannel(tc.kind, store.ChannelEmail), byChannel(tc.kind, store.ChannelTelegram)
		if len(email) == 0 || len(tg) != len(email) {
			t.Errorf("%s: %d email rows, %d Telegram rows; want one in Telegram for each mail", tc.kind, len(email), len(tg))
			continue
		}
		n := tg[0]
		if n.TelegramChatID != tc.chat || n.Lang != tc.lang || n.ComplaintID != c.ID ||
			!strings.Contains(n.Data["buttons"], callbackPrefix+verbTake+":"+c.Number) || n.Data["number"] != c.Number {
			t.Errorf("%s in Telegram = %+v", tc.kind, n)
		}
	}
}

// TestDownThroughReminders: the daemon is down from 40% to 95% of the
// stage. On start the 50% reminder, still before the deadline, runs late
// and tells the real time left; the 90% one, whose moment passed while
// the daemon was down, is skipped (never written) rather than sent right
// after it; the breach job waits at the deadline.
func TestDownThroughReminders(t *testing.T) {
	e := newDeadlineEnv(t, nil)
	f, stop := e.open()
	loc := vilnius(t)
	f.deliver(lateParcel())
	c := f.onlyComplaint()
	e.clk.Add(96 * time.Minute) // Fri 15:36: 40%
	if n := f.runDue(); n != 0 {
		t.Fatalf("%d jobs ran at 40%%", n)
	}
	stop()
	e.clk.Add(132 * time.Minute) // Fri 17:48: 95%

	f, _ = e.open()
	if n := f.runDue(); n != 1 {
		t.Fatalf("on start %d jobs ran, want the 50%% reminder only", n)
	}
	rem := f.notificationsOf(KindReminder)
	if len(rem) != 1 || rem[0].Data["fraction"] != "0.5" || rem[0].Data["left_minutes"] != "12" {
		t.Fatalf("reminders on start = %+v", rem)
	}
	want := []string{"reminder@Fri 16:00 done (reminded anna)", "breach@Fri 18:00 pending"}
	if got := jobSummary(f.jobs(c.ID), loc); !slices.Equal(got, want) {
		t.Fatalf("jobs = %q\nwant %q", got, want)
	}
	e.clk.Add(12 * time.Minute) // Fri 18:00: the deadline
	f.runDue()
	if rem, esc := len(f.notificationsOf(KindReminder)), len(f.notificationsOf(KindEscalation)); rem != 1 || esc != 1 {
		t.Errorf("after the deadline: %d reminders, %d escalations; want 1 and 1", rem, esc)
	}
}

// TestOldFormatReminders: reminder jobs written before chains (no stage
// clock in their data) still end in exactly one breach: a lone one is
// followed by the breach job, and a stage's full old set (both reminders
// and the breach, written up front) gets no second breach.
func TestOldFormatReminders(t *testing.T) {
	oldReminder := func(f float64, at string) *store.Job {
		return &store.Job{Kind: JobReminder, DueAt: mustTime(t, at),
			Data: map[string]string{jobDataDue: "2026-03-27T16:00:00Z", jobDataFraction: strconv.FormatFloat(f, 'f', -1, 64)}}
	}
	oldBreach := &store.Job{Kind: JobBreach, DueAt: mustTime(t, "2026-03-27T16:00:00Z"),
		Data: map[string]string{jobDataDue: "2026-03-27T16:00:00Z", jobDataRound: "1"}}
	for _, tc := range []struct {
		name string
		old  []*store.Job
		want []string
	}{
		{"lone reminder chains to the breach", []*store.Job{oldReminder(0.5, "2026-03-27T14:00:00Z")}, []string{
			"reminder@Fri 16:00 done (reminded anna)", "breach@Fri 18:00 done (breach round 1 handled)", "breach@Mon 13:00 pending"}},
		{"full old set keeps its own breach", []*store.Job{oldReminder(0.5, "2026-03-27T14:00:00Z"),
			oldReminder(0.9, "2026-03-27T15:36:00Z"), oldBreach}, []string{
			"reminder@Fri 16:00 done (reminded anna)", "reminder@Fri 17:36 done (reminded anna)",
			"breach@Fri 18:00 done (breach round 1 handled)", "breach@Mon 13:00 pending"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDeadlineEnv(t, nil)
			f, _ := e.open()
			f.deliver(lateParcel())
			c := f.onlyComplaint()
			replaceJobs(t, f, c, tc.old)
			for _, step := range []time.Duration{2 * time.Hour, 96 * time.Minute, 24 * time.Minute} { // 50%, 90%, due
				e.clk.Add(step)
				f.runDue()
			}
			if got := jobSummary(f.jobs(c.ID)[1:], vilnius(t)); !slices.Equal(got, tc.want) {
				t.Errorf("jobs = %q\nwant %q", got, tc.want)
			}
			if esc := len(f.notificationsOf(KindEscalation)); esc != 1 {
				t.Errorf("%d escalations, want 1", esc)
			}
		})
	}
}

// replaceJobs cancels c's chain and writes jobs, as the code before
// chains did, in its place (deep copies: the cases share them).
func replaceJobs(t *testing.T, f *fixture, c *store.Complaint, jobs []*store.Job) {
	t.Helper()
	err := f.st.Update(context.Background(), func(tx store.Tx) error {
		if err := cancelPendingJobs(tx, c.ID, f.clock.Now(), "replaced by old-format jobs"); err != nil {
			return err
		}
		for _, j := range jobs {
			old := *j
			old.ComplaintID, old.Stage, old.Data = c.ID, store.StageRegistered, maps.Clone(j.Data)
			if err := tx.PutJob(&old); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustTime(t *testing.T, rfc3339 string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestFailedReminderChains: a reminder whose run fails maxJobAttempts
// times is marked failed, sends nothing, and still passes the chain on:
// the 50% one to the 90% one, the 90% one to the breach, which then
// escalates at the deadline.
func TestFailedReminderChains(t *testing.T) {
	e := newDeadlineEnv(t, nil)
	f, _ := e.open()
	loc := vilnius(t)
	f.deliver(lateParcel())
	c := f.onlyComplaint()
	var fail atomic.Bool
	f.r.store = &flakyStore{Store: f.st, fail: func() bool { return fail.Swap(false) }}
	// giveUp fails the due reminder maxJobAttempts times, each retry as
	// soon as its delay (1, 2, 4, 8 min) allows: 15 minutes in all.
	giveUp := func() {
		t.Helper()
		for attempt := range maxJobAttempts {
			if attempt > 0 {
				e.clk.Add(time.Minute << (attempt - 1))
			}
			fail.Store(true)
			if n := f.runDue(); n != 1 {
				t.Fatalf("attempt %d: %d jobs ran", attempt+1, n)
			}
		}
	}
	e.clk.Add(2 * time.Hour) // Fri 16:00: 50%
	giveUp()                 // given up at 16:15
	if got, want := f.pendingJobs(c.ID, loc), []string{"reminder@Fri 17:36 pending"}; !slices.Equal(got, want) {
		t.Fatalf("pending after the 50%% reminder failed = %q, want %q", got, want)
	}
	e.clk.Add(81 * time.Minute) // Fri 17:36: 90%
	giveUp()                    // given up at 17:51
	failed := jobSummary(f.jobs(c.ID)[:2], loc)
	if want := []string{"reminder@Fri 16:00 failed (gave up after 5 attempts)",
		"reminder@Fri 17:36 failed (gave up after 5 attempts)"}; !slices.Equal(failed, want) {
		t.Errorf("failed reminders = %q, want %q", failed, want)
	}
	if n := len(f.notificationsOf(KindReminder)); n != 0 {
		t.Errorf("%d reminders from failed runs", n)
	}
	if got := f.pendingJobs(c.ID, loc); len(got) != 1 || !strings.HasPrefix(got[0], "breach@Fri 18:00") {
		t.Fatalf("pending after the 90%% reminder failed = %q, want the breach at 18:00", got)
	}
	e.clk.Add(9 * time.Minute) // Fri 18:00: the deadline
	f.runDue()
	if esc := len(f.notificationsOf(KindEscalation)); esc != 1 {
		t.Errorf("%d escalations, want 1", esc)
	}
}
