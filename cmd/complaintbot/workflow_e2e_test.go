package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"complaintbot/cmd/complaintbot/api"
	"complaintbot/configs"
	"complaintbot/internal/fakemail"
	"complaintbot/store"
)

// workflowClock is the daemon's injected clock: it stands still until the
// test moves it, so business hours, reminders and deadlines are exact.
type workflowClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *workflowClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *workflowClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

const workflowToken = "workflow-e2e-token-0123456789"

// workflowConfig is the demo mail world with one frontline owner in the
// logistics team, its head, office hours 09:00-17:00 on weekdays in
// Vilnius, a 4h reaction time, reminders at 50% and 90%, escalation on
// breach.
func workflowConfig(e *demoEnv, dbPath string) (*configs.Config, error) {
	return worldConfig(e, dbPath, workflowStaff, map[string]string{"TOKEN": workflowToken})
}

const workflowStaff = `
staff:
  - {id: anna, name: "Anna Frontline", email: anna@staff.demo.example, teams: [logistics], languages: [en], manager: boris}
  - {id: boris, name: "Boris Head", email: boris@staff.demo.example, languages: [en], role: head, manager: jurgis}
  - {id: jurgis, name: "Jurgis Top", email: jurgis@staff.demo.example, languages: [en], role: top}
teams:
  - {name: logistics, head: boris}
routing:
  categories: {delivery: logistics, service: logistics, quality: logistics, billing: logistics, misinformation: logistics}
  default_owner: anna
  tiers: {frontline_max: 100, head_max: 1000, currency: EUR}
workflow:
  business_hours: {mon: "09:00-17:00", tue: "09:00-17:00", wed: "09:00-17:00", thu: "09:00-17:00", fri: "09:00-17:00"}
  holidays: [2026-04-06]
  deadlines: {registered: 4h, analysis: 16h, corrective_action: 40h}
  reminders: [0.5, 0.9]
  escalate_on_breach: true
`

const workflowMail = "From: Jane Miller <jane.miller@example.com>\r\n" +
	"To: support@demo.example\r\n" +
	"Subject: Parcel late and the vase smashed\r\n" +
	"Date: Tue, 31 Mar 2026 06:00:00 +0000\r\n" +
	"Message-ID: <wf-1@example.com>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
	"Hello,\r\n\r\nmy order 4711 arrived two weeks late and the vase inside was smashed.\r\n" +
	"I paid 250 EUR for it and I want a refund of 250 EUR.\r\n\r\nJane\r\n"

// workflowWorld is the running daemon with its clock, mail and API.
type workflowWorld struct {
	env   *demoEnv
	d     *daemon
	clock *workflowClock
	base  string // http://127.0.0.1:port
}

// TestWorkflowEmailToResolved is issue 6's end-to-end path through the
// real daemon: an email complaint arrives over IMAP, is classified and
// assigned (the owner's mail reaches SMTP), the owner is reminded at 50%
// and 90% of the reaction time as the injected clock moves, a resolve
// without the required fields is refused naming them, the head approves
// the amount, the owner resolves through the CLI against the daemon's API,
// and the audit trail holds every step in order; after the resolution the
// old deadline's breach no longer fires.
func TestWorkflowEmailToResolved(t *testing.T) {
	w := startWorkflowWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	loc := w.d.cfg.Location
	if err := w.env.imap.Append(demoInbox, "INBOX", []byte(workflowMail)); err != nil {
		t.Fatal(err)
	}
	assigned := wfWaitMail(ctx, t, w.env.smtp, "assigned mail to anna", func(m fakemail.Received) bool {
		return slices.Equal(m.To, []string{"anna@staff.demo.example"})
	})
	number := complaintNumberIn(parseAck(assigned.Data).Subject)
	if number == "" {
		t.Fatalf("assigned mail subject %q names no complaint", parseAck(assigned.Data).Subject)
	}
	wfWaitMail(ctx, t, w.env.smtp, "acknowledgement to Jane", func(m fakemail.Received) bool {
		return slices.Equal(m.To, []string{"jane.miller@example.com"})
	})
	rec := w.record(t, number)
	c := rec.Complaint
	start := time.Date(2026, 3, 31, 9, 0, 0, 0, loc)
	if c.OwnerID != "anna" || c.Team != "logistics" || c.Stage != store.StageRegistered || c.Tier != "head" ||
		!c.DueAt.Equal(start.Add(4*time.Hour)) {
		t.Fatalf("complaint after intake: owner %q team %q stage %q tier %q amount %q %q due %s",
			c.OwnerID, c.Team, c.Stage, c.Tier, c.Amount, c.Currency, c.DueAt.In(loc))
	}

	if n := countMail(w.env.smtp.Messages(), isReminderTo("anna@staff.demo.example", number)); n != 0 {
		t.Errorf("%d reminders before the clock moved", n)
	}
	// 50% of 4h is 11:00, 90% is 12:36; the deadline is 13:00.
	for i, at := range []time.Time{start.Add(2*time.Hour + time.Minute), start.Add(3*time.Hour + 37*time.Minute)} {
		w.clock.Set(at)
		w.d.router.KickScheduler()
		n := i + 1
		wfWaitMailN(ctx, t, w.env.smtp, fmt.Sprintf("reminder %d to anna", n), n, isReminderTo("anna@staff.demo.example", number))
		// The relay has the mail; the notifier records it (event
		// reminder_sent) a moment later, in its own commit.
		w.waitEvents(t, number, "reminder_sent", n)
	}

	w.clock.Set(start.Add(3*time.Hour + 45*time.Minute))
	status, body := w.act(t, number, api.Action{Actor: "anna", Kind: "resolve", Resolution: &store.Resolution{Kind: "refund", Amount: "250"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "resolution.root_cause") || !strings.Contains(body, "resolution.prevention") {
		t.Errorf("resolve without root cause and prevention: %d %s", status, body)
	}
	full := &store.Resolution{Kind: "refund", Amount: "250", Currency: "EUR", RootCause: "the courier dropped the parcel; the box had no padding",
		Prevention: "pack glassware in double boxes with padding and mark it fragile"}
	status, body = w.act(t, number, api.Action{Actor: "anna", Kind: "resolve", Resolution: full})
	if status != http.StatusConflict || !strings.Contains(body, "approval") || !strings.Contains(body, "boris") {
		t.Errorf("resolve of 250 EUR by frontline staff before approval: %d %s", status, body)
	}
	status, body = w.act(t, number, api.Action{Actor: "boris", Kind: "approve", Text: "ok, refund it",
		Resolution: &store.Resolution{Amount: "250", Currency: "EUR"}})
	if status != http.StatusOK {
		t.Fatalf("approve by the head: %d %s", status, body)
	}
	out := w.cli(t, "resolve", number, "-as", "anna", "-kind", full.Kind, "-amount", full.Amount, "-currency", full.Currency,
		"-root-cause", full.RootCause, "-prevention", full.Prevention)
	if !strings.Contains(out, "resolved") {
		t.Errorf("complaint resolve printed %q", out)
	}

	// After the deadline: the resolved complaint is not escalated.
	w.clock.Set(start.Add(5 * time.Hour))
	w.d.router.KickScheduler()
	if _, err := w.d.router.RunDueJobs(ctx); err != nil {
		t.Fatal(err)
	}
	rec = w.record(t, number)
	checkWorkflowRecord(t, rec, full)
	checkWorkflowTrail(t, rec.Events)
	checkProposal(t, w.get(t, "/api/proposals"), number, full)
	for _, m := range w.env.smtp.Messages() {
		if slices.Equal(m.To, []string{"boris@staff.demo.example"}) {
			t.Errorf("boris got mail (an escalation?) although the complaint was resolved in time: %q", parseAck(m.Data).Subject)
		}
	}
}

func startWorkflowWorld(t *testing.T) *workflowWorld {
	t.Helper()
	env, err := startDemoEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.close)
	cfg, err := workflowConfig(env, filepath.Join(t.TempDir(), "cb.db"))
	if err != nil {
		t.Fatal(err)
	}
	clock := &workflowClock{now: time.Date(2026, 3, 31, 9, 0, 0, 0, cfg.Location)} // a Tuesday, opening time
	d, err := newDaemon(cfg, daemonDeps{Logger: newLogger(testWriter{t}, "debug", "text"), Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := d.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	return &workflowWorld{env: env, d: d, clock: clock, base: "http://" + addr}
}

// wfWaitMail waits for the first mail that ok accepts.
func wfWaitMail(ctx context.Context, t *testing.T, s *fakemail.SMTP, what string, ok func(fakemail.Received) bool) fakemail.Received {
	t.Helper()
	return wfWaitMailN(ctx, t, s, what, 1, ok)[0]
}

// wfWaitMailN waits until n mails that ok accepts have arrived.
func wfWaitMailN(ctx context.Context, t *testing.T, s *fakemail.SMTP, what string, n int, ok func(fakemail.Received) bool) []fakemail.Received {
	t.Helper()
	for {
		all := s.Messages()
		var got []fakemail.Received
		for _, m := range all {
			if ok(m) {
				got = append(got, m)
			}
		}
		if len(got) >= n {
			return got
		}
		if _, err := s.Wait(ctx, len(all)+1); err != nil {
			t.Fatalf("waiting for %s: %v (%d mails so far)", what, err, len(all))
		}
	}
}

// isReminderTo accepts a reminder about number to addr: a staff mail
// that is not the assignment (whose subject says assigned).
func isReminderTo(addr, number string) func(fakemail.Received) bool {
	return func(m fakemail.Received) bool {
		if !slices.Equal(m.To, []string{addr}) {
			return false
		}
		v := parseAck(m.Data)
		return strings.Contains(v.Subject, number) && strings.Contains(strings.ToLower(v.Subject+v.Text), "remind")
	}
}

func (w *workflowWorld) do(t *testing.T, method, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, w.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+workflowToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (w *workflowWorld) act(t *testing.T, number string, a api.Action) (int, string) {
	t.Helper()
	return w.do(t, http.MethodPost, "/api/complaints/"+number+"/actions", a)
}

func (w *workflowWorld) get(t *testing.T, path string) string {
	t.Helper()
	status, body := w.do(t, http.MethodGet, path, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	return body
}

// waitEvents waits until number's trail holds n events of kind.
func (w *workflowWorld) waitEvents(t *testing.T, number, kind string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := 0
		for _, e := range w.record(t, number).Events {
			if e.Kind == kind {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s events after 10s, want %d", got, kind, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (w *workflowWorld) record(t *testing.T, number string) *api.Record {
	t.Helper()
	var rec api.Record
	if err := json.Unmarshal([]byte(w.get(t, "/api/complaints/"+number)), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Complaint == nil {
		t.Fatalf("GET /api/complaints/%s: no complaint", number)
	}
	return &rec
}

// cli runs `complaintbot complaint ARGS` against the running daemon.
func (w *workflowWorld) cli(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	err := runComplaintCLI(context.Background(), args, &out, func(string) (*apiClient, error) {
		return newAPIClient(w.base, workflowToken), nil
	})
	if err != nil {
		t.Fatalf("complaint %v: %v", args, err)
	}
	return out.String()
}

func checkWorkflowRecord(t *testing.T, rec *api.Record, want *store.Resolution) {
	t.Helper()
	c := rec.Complaint
	res := c.Resolution
	if c.Stage != store.StageResolved || !c.DueAt.IsZero() || res == nil || res.By != "anna" || res.Kind != want.Kind ||
		res.Amount != want.Amount || res.Currency != want.Currency || res.RootCause != want.RootCause || res.Prevention != want.Prevention {
		t.Errorf("resolved complaint: stage %q due %s resolution %+v", c.Stage, c.DueAt, res)
	}
	if len(c.Approvals) != 1 || c.Approvals[0].By != "boris" || c.Approvals[0].Amount != "250" {
		t.Errorf("approvals = %+v", c.Approvals)
	}
}

// checkWorkflowTrail: every step is an event, in order; the refused
// attempts are not; staff steps carry the staff actor.
func checkWorkflowTrail(t *testing.T, evs []*store.Event) {
	t.Helper()
	var kinds []string
	byKind := map[string][]*store.Event{}
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
		byKind[e.Kind] = append(byKind[e.Kind], e)
	}
	want := []string{"registered", "classified", "deadline_set", "assigned", "ack_queued", "reminder_queued", "reminder_queued", "approved", "resolved"}
	if !isSubsequence(want, kinds) {
		t.Errorf("events %v do not hold %v in order", kinds, want)
	}
	for _, k := range []string{"ack_sent", "assigned_sent", "reminder_sent"} {
		if len(byKind[k]) == 0 {
			t.Errorf("no %s event in %v", k, kinds)
		}
	}
	if n := len(byKind["reminder_sent"]); n != 2 {
		t.Errorf("reminder_sent events = %d, want 2", n)
	}
	for _, k := range []string{"deadline_breached", "customer_told_delay", "escalation_sent"} {
		if len(byKind[k]) != 0 {
			t.Errorf("%s after the complaint was resolved in time: %v", k, kinds)
		}
	}
	for _, e := range evs {
		if strings.Contains(e.Kind, "refused") {
			t.Errorf("a refused action left event %+v", e)
		}
	}
	if n := len(byKind["resolved"]); n != 1 {
		t.Errorf("resolved events = %d, want 1 (refused attempts are no events): %v", n, kinds)
	}
	if ap := byKind["approved"]; len(ap) != 1 || ap[0].Actor != "staff:boris" || ap[0].Fields["amount"] != "250" {
		t.Errorf("approved events: %+v", ap)
	}
	if rs := byKind["resolved"]; len(rs) == 1 && (rs[0].Actor != "staff:anna" || rs[0].Fields["kind"] != "refund" ||
		rs[0].Fields["amount"] != "250" || rs[0].Fields["root_cause"] == "" || rs[0].Fields["prevention"] == "") {
		t.Errorf("resolved event: %+v", rs[0])
	}
	if rq := byKind["reminder_queued"]; len(rq) == 2 && (rq[0].Fields["fraction"] != "0.5" || rq[1].Fields["fraction"] != "0.9" || rq[0].Fields["to"] != "anna") {
		t.Errorf("reminder events: %+v %+v", rq[0].Fields, rq[1].Fields)
	}
}

func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func checkProposal(t *testing.T, body, number string, want *store.Resolution) {
	t.Helper()
	var list struct {
		Proposals []api.Proposal `json:"proposals"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Proposals) != 1 {
		t.Fatalf("proposals = %+v, want the one of %s", list.Proposals, number)
	}
	p := list.Proposals[0]
	if p.Number != number || p.Prevention != want.Prevention || p.RootCause != want.RootCause || p.Kind != "refund" || p.By != "anna" {
		t.Errorf("proposal = %+v", p)
	}
}

// complaintNumberIn is the first C-... number in s, or "".
func complaintNumberIn(s string) string {
	i := strings.Index(s, "C-")
	if i < 0 {
		return ""
	}
	end := i + 2
	for end < len(s) && (s[end] == '-' || (s[end] >= '0' && s[end] <= '9')) {
		end++
	}
	return s[i:end]
}

func countMail(all []fakemail.Received, ok func(fakemail.Received) bool) int {
	n := 0
	for _, m := range all {
		if ok(m) {
			n++
		}
	}
	return n
}
