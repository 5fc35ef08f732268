package router

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"complaintbot/store"
)

// testAssignment is two teams and a default owner:
//
//	logistics (head rasa): rasa lt,en (head), anna ru,en, olga ru
//	quality   (head tomas): jonas lt,en, vera ru (away), tomas lt (top)
//	dina en: default owner, in no team
func testAssignment() *Assignment {
	return &Assignment{
		Staff: []Staff{
			{ID: "rasa", Name: "Rasa", Email: "rasa@acme.test", Teams: []string{"logistics"}, Languages: []string{"lt", "en"}, Role: RoleHead},
			{ID: "anna", Name: "Anna", Email: "anna@acme.test", Teams: []string{"logistics"}, Languages: []string{"ru", "en"}},
			{ID: "olga", Name: "Olga", Email: "olga@acme.test", Teams: []string{"logistics"}, Languages: []string{"ru"}},
			{ID: "jonas", Name: "Jonas", Email: "jonas@acme.test", Teams: []string{"quality"}, Languages: []string{"lt", "en"}},
			{ID: "vera", Name: "Vera", Email: "vera@acme.test", Teams: []string{"quality"}, Languages: []string{"ru"}, Away: true},
			{ID: "tomas", Name: "Tomas", Email: "tomas@acme.test", Teams: []string{"quality"}, Languages: []string{"lt"}, Role: RoleTop},
			{ID: "dina", Name: "Dina", Email: "dina@acme.test", Languages: []string{"en"}},
		},
		Teams:        []Team{{Name: "logistics", Head: "rasa"}, {Name: "quality", Head: "tomas"}},
		Categories:   map[string]string{"delivery": "logistics", "quality": "quality"},
		DefaultOwner: "dina",
		Tiers:        Tiers{FrontlineMax: "100", HeadMax: "1000", Currency: "EUR", Rates: map[string]string{"RUB": "0.01"}},
	}
}

// scripted is a Classifier that answers by subject, so a test says what
// each message "is" without depending on the real classifier's rules.
type scripted map[string]Classification

func (s scripted) Classify(subject, _ string) Classification {
	if c, ok := s[subject]; ok {
		return c
	}
	return Classification{IsComplaint: true, Lang: "en", Category: "other", Why: []string{"scripted default"}}
}

func complaintOf(lang, category string) Classification {
	return Classification{IsComplaint: true, Lang: lang, Category: category, Cause: "objective",
		Why: []string{"term " + category, "lang " + lang}}
}

func newAssignFixture(t *testing.T, cls Classifier, edit func(*Options)) *fixture {
	return newFixture(t, func(o *Options) {
		o.Classifier = cls
		o.Assignment = testAssignment()
		o.AckPerHour = 100
		if edit != nil {
			edit(o)
		}
	})
}

func (f *fixture) complaintByMessage(id string) *store.Complaint {
	f.t.Helper()
	m := f.messageByID(id)
	if m == nil {
		f.t.Fatalf("no message %s", id)
	}
	for _, c := range f.complaints() {
		if c.ID == m.ComplaintID {
			return c
		}
	}
	f.t.Fatalf("message %s has no complaint", id)
	return nil
}

func (f *fixture) eventOf(complaintID uint64, kind string) *store.Event {
	for _, e := range f.events(complaintID) {
		if e.Kind == kind {
			return e
		}
	}
	return nil
}

func (f *fixture) load(owner string) int {
	var n int
	f.view(func(tx store.Tx) (err error) { n, err = tx.OpenComplaintsByOwner(owner); return err })
	return n
}

func (f *fixture) notificationsOf(kind string) []*store.Notification {
	var out []*store.Notification
	for _, n := range f.notifications() {
		if n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

func TestClassificationRecorded(t *testing.T) {
	cls := Classification{IsComplaint: true, Lang: "ru", Category: "delivery", Cause: "subjective",
		Amount: "15000", Currency: "RUB", Wants: []string{"refund", "apology"}, Why: []string{`delivery: "опоздал*"`, "amount 15000 RUB"}}
	f := newAssignFixture(t, scripted{"Late": cls}, nil)
	f.deliver(mail("Иван", "ivan@example.ru", "i1@example.ru", "Late", "Hello, my order is late"))
	c := f.onlyComplaint()
	if c.IsComplaint == nil || !*c.IsComplaint || c.Category != "delivery" || c.Cause != "subjective" || c.Amount != "15000" ||
		c.Currency != "RUB" || !slices.Equal(c.Wants, []string{"refund", "apology"}) || c.Stage != store.StageRegistered {
		t.Errorf("complaint = %+v", c)
	}
	if c.Lang != "ru" || f.customer("ivan@example.ru").Lang != "ru" {
		t.Errorf("the classifier's language (ru) is not on complaint (%s) and customer", c.Lang)
	}
	if got := f.eventKinds(c.ID); !slices.Equal(got, []string{"registered", "classified", "assigned", "ack_queued"}) {
		t.Errorf("events = %v", got)
	}
	e := f.eventOf(c.ID, EventClassified)
	if e.Text != `delivery: "опоздал*"; amount 15000 RUB` || e.Fields["category"] != "delivery" || e.Fields["amount"] != "15000" ||
		e.Fields["currency"] != "RUB" || e.Fields["wants"] != "refund,apology" || e.Fields["is_complaint"] != "true" {
		t.Errorf("classified event = %+v", e)
	}
	// 15000 RUB at 0.01 = 150 EUR: above frontline, within head.
	if c.Tier != TierHead {
		t.Errorf("tier = %q, want head", c.Tier)
	}
	a := f.eventOf(c.ID, EventAssigned)
	if a.Fields["tier"] != TierHead || !strings.Contains(a.Fields["tier_reason"], "150.00 EUR <= 1000.00") {
		t.Errorf("assigned event = %+v", a)
	}
	if f.counter("complaintbot_classified_total", map[string]string{"kind": "complaint"}) != 1 {
		t.Error("classified metric not counted")
	}
}

// TestAssignmentRules delivers complaints one after another; each line
// says who must get the next one and why, given the loads before it.
func TestAssignmentRules(t *testing.T) {
	steps := []struct {
		lang, category string
		owner, team    string
		rule           string
		reason         string // in the assigned event's text
	}{
		{"ru", "delivery", "anna", "logistics", ruleTeam, "fewest open complaints (0) of 2 candidate(s) speaking ru"},
		{"ru", "delivery", "olga", "logistics", ruleTeam, "fewest open complaints (0)"},                                                    // anna has 1
		{"ru", "delivery", "anna", "logistics", ruleTeam, "fewest open complaints (1)"},                                                    // tie: configuration order
		{"lt", "delivery", "rasa", "logistics", ruleTeam, "speaking lt"},                                                                   // only the head speaks lt
		{"de", "delivery", "olga", "logistics", ruleTeamAnyLang, `language did not match: nobody available in team logistics speaks "de"`}, // frontline first, least loaded
		{"ru", "quality", "jonas", "quality", ruleTeamAnyLang, "language did not match"},                                                   // vera speaks ru but is away
		{"lt", "quality", "jonas", "quality", ruleTeam, "speaking lt"},                                                                     // frontline before tomas (top)
		{"en", "billing", "dina", "", ruleDefaultOwner, `no rule matched: category "billing" has no team -> default owner`},
		{"en", "", "dina", "", ruleDefaultOwner, "no rule matched"},
	}
	cls := scripted{}
	for i, st := range steps {
		cls[fmt.Sprintf("s%d", i)] = complaintOf(st.lang, st.category)
	}
	f := newAssignFixture(t, cls, nil)
	for i, st := range steps {
		id := fmt.Sprintf("m%d@example.com", i)
		f.deliver(mail("", fmt.Sprintf("c%d@example.com", i), id, fmt.Sprintf("s%d", i), "text"))
		c := f.complaintByMessage(id)
		e := f.eventOf(c.ID, EventAssigned)
		if c.OwnerID != st.owner || c.Team != st.team || e == nil || e.Fields["owner"] != st.owner ||
			e.Fields["rule"] != st.rule || !strings.Contains(e.Text, st.reason) || e.Fields["reason"] != e.Text {
			t.Errorf("step %d (%s/%s): owner %q team %q, event %+v; want %s in %q by %s, reason containing %q",
				i, st.lang, st.category, c.OwnerID, c.Team, e, st.owner, st.team, st.rule, st.reason)
		}
	}
	want := map[string]int{"anna": 2, "olga": 2, "rasa": 1, "jonas": 2, "dina": 2, "vera": 0, "tomas": 0}
	for owner, n := range want {
		if got := f.load(owner); got != n {
			t.Errorf("load of %s = %d, want %d", owner, got, n)
		}
	}
	if got := f.counter("complaintbot_assignments_total", map[string]string{"rule": ruleTeamAnyLang}); got != 2 {
		t.Errorf("language fallbacks counted %v, want 2", got)
	}
}

func TestTeamWithNobodyAvailableGoesToDefaultOwner(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Classifier = scripted{"q": complaintOf("lt", "quality")}
		a := testAssignment()
		for i := range a.Staff {
			if slices.Contains(a.Staff[i].Teams, "quality") {
				a.Staff[i].Away = true
			}
		}
		o.Assignment = a
	})
	f.deliver(mail("", "x@example.com", "x1@example.com", "q", "text"))
	c := f.onlyComplaint()
	e := f.eventOf(c.ID, EventAssigned)
	if c.OwnerID != "dina" || !strings.Contains(e.Text, "nobody in team quality is available") {
		t.Errorf("owner %q, event %+v", c.OwnerID, e)
	}
}

func TestTiers(t *testing.T) {
	tr, err := newTierRules(Tiers{FrontlineMax: "100", HeadMax: "1000", Currency: "EUR", Rates: map[string]string{"RUB": "0.01", "usd": "0.9"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		amount, currency, tier, why string
	}{
		{"", "", TierFrontline, "no amount claimed"},
		{"0", "EUR", TierFrontline, "0.00 EUR <= 100.00"},
		{"100", "EUR", TierFrontline, "100.00 EUR <= 100.00"},
		{"100.00", "eur", TierFrontline, "<= 100.00"},
		{"100.01", "EUR", TierHead, "100.01 EUR <= 1000.00"},
		{"1000", "EUR", TierHead, "<= 1000.00"},
		{"1000.01", "EUR", TierTop, "1000.01 EUR > 1000.00"},
		{"100", "", TierFrontline, "100.00 EUR"}, // no currency: the company's
		{"10000", "RUB", TierFrontline, "100.00 EUR <= 100.00"},
		{"10001", "RUB", TierHead, "100.01 EUR"},
		{"100000", "RUB", TierHead, "1000.00 EUR <= 1000.00"},
		{"100001", "RUB", TierTop, "1000.01 EUR > 1000.00"},
		{"45.99", "USD", TierFrontline, "41.39 EUR"},
		{"5", "XYZ", TierHead, "no rate to EUR"},
		{"1e9", "EUR", TierHead, "unreadable"},
	}
	for _, tt := range tests {
		tier, why := tr.tier(tt.amount, tt.currency)
		if tier != tt.tier || !strings.Contains(why, tt.why) {
			t.Errorf("tier(%q, %q) = %s (%s), want %s (%s)", tt.amount, tt.currency, tier, why, tt.tier, tt.why)
		}
	}
}

func TestOwnerNotification(t *testing.T) {
	cls := complaintOf("lt", "quality")
	cls.Amount, cls.Currency, cls.Wants = "1500", "EUR", []string{"refund"}
	f := newAssignFixture(t, scripted{"Sugedo": cls}, nil)
	text := "Laba diena, virdulys sugedo.\n" + strings.Repeat("ilgas tekstas ", 400)
	m := mail("Ona", "ona@example.lt", "o1@example.lt", "Sugedo", text)
	m.References = []string{"root@example.lt"}
	f.deliver(m)
	c := f.onlyComplaint()
	ns := f.notificationsOf(KindAssigned)
	if len(ns) != 1 {
		t.Fatalf("%d owner notifications, want 1", len(ns))
	}
	n := ns[0]
	if n.To != (store.Address{Name: "Jonas", Email: "jonas@acme.test"}) || n.Lang != "lt" || n.Channel != store.ChannelEmail ||
		n.ComplaintID != c.ID || n.CustomerID != 0 || n.Status != store.NotifyPending {
		t.Errorf("owner notification = %+v", n)
	}
	if n.InReplyTo != "" || len(n.References) != 0 || slices.Contains(c.ThreadMessageIDs, n.MessageID) {
		t.Errorf("owner notification joins the customer's thread: %+v, thread %v", n, c.ThreadMessageIDs)
	}
	if id, ok := f.r.TokenComplaint(n.MessageID); !ok || id != c.ID {
		t.Errorf("owner notification Message-ID %q is not ours", n.MessageID)
	}
	d := n.Data
	wantData := map[string]string{"number": c.Number, "tier": TierTop, "approver": "Tomas", "category": "quality",
		"amount": "1500", "currency": "EUR", "customer_email": "ona@example.lt", "customer_name": "Ona",
		"customer_lang": "lt", "wants": "refund", "due": c.DueAt.Format(time.RFC3339), "subject": "Sugedo"}
	for k, v := range wantData {
		if d[k] != v {
			t.Errorf("Data[%s] = %q, want %q", k, d[k], v)
		}
	}
	if !strings.Contains(d["reason"], "category quality -> team quality") || !strings.HasPrefix(d["text"], "Laba diena") ||
		len([]rune(d["text"])) > maxOwnerText {
		t.Errorf("reason %q, text of %d runes", d["reason"], len([]rune(d["text"])))
	}
	if _, ok := d["flag"]; ok {
		t.Error("an unflagged complaint carries a flag")
	}
	if len(f.notificationsOf(KindAck)) != 1 || f.notified.Load() != 1 {
		t.Errorf("acks %d, OnNotify %d", len(f.notificationsOf(KindAck)), f.notified.Load())
	}
}

func TestNotAComplaint(t *testing.T) {
	kinds := []string{"thanks", "question", "quote_request", "job_application", "spam"}
	cls := scripted{}
	for _, k := range kinds {
		cls[k] = Classification{IsComplaint: false, NotComplaint: k, Lang: "en", Why: []string{"not a complaint: " + k}}
	}
	f := newAssignFixture(t, cls, nil)
	for i, k := range kinds {
		f.deliver(mail("", fmt.Sprintf("n%d@example.com", i), fmt.Sprintf("n%d@example.com", i), k, "some text"))
	}
	cs := f.complaints()
	if len(cs) != len(kinds) {
		t.Fatalf("%d records, want %d (nothing is lost)", len(cs), len(kinds))
	}
	for i, c := range cs {
		if c.IsComplaint == nil || *c.IsComplaint || c.Stage != store.StageNotComplaint || c.NotComplaint != kinds[i] ||
			c.OwnerID != "dina" || c.Tier != "" || c.Category != "" {
			t.Errorf("record %d = %+v", i, c)
		}
		if got := f.eventKinds(c.ID); !slices.Equal(got, []string{"registered", "classified", "assigned", EventAckSkipped}) {
			t.Errorf("%s: events %v", kinds[i], got)
		}
		if e := f.eventOf(c.ID, EventClassified); e.Text != "not a complaint: "+kinds[i] || e.Fields["not_complaint"] != kinds[i] {
			t.Errorf("classified event %+v", e)
		}
	}
	if ns := f.notifications(); len(ns) != 0 {
		t.Errorf("%d notifications queued for messages that are not complaints: %+v", len(ns), ns[0])
	}
	if f.load("dina") != 0 || f.notified.Load() != 0 {
		t.Errorf("dina's load %d (not-complaints are not open work), OnNotify %d", f.load("dina"), f.notified.Load())
	}
	if got := f.counter("complaintbot_classified_total", map[string]string{"kind": "spam"}); got != 1 {
		t.Errorf("spam counted %v", got)
	}
}

// TestExtremismHistoryKeepsAckIdentical: the third complaint within the
// window is flagged for a human, and the customer's acknowledgement is the
// same as in a run where nothing is flagged.
func TestExtremismHistoryKeepsAckIdentical(t *testing.T) {
	run := func(repeat int) (*fixture, *store.Complaint) {
		cls := scripted{}
		for i := range 3 {
			cls[fmt.Sprintf("claim %d", i)] = complaintOf("en", "delivery")
		}
		f := newAssignFixture(t, cls, func(o *Options) { o.RepeatComplaints = repeat; o.RepeatWindow = 48 * time.Hour })
		for i := range 3 {
			f.deliver(mail("Max", "max@example.com", fmt.Sprintf("x%d@example.com", i), fmt.Sprintf("claim %d", i), "I want compensation"))
			f.clock.Add(20 * time.Hour)
		}
		return f, f.complaintByMessage("x2@example.com")
	}
	flagged, c := run(3)
	if !c.ExtremismHint || c.Labels[LabelExtremismHint] != "history" {
		t.Errorf("third complaint in 48h not flagged: %+v", c)
	}
	e := flagged.eventOf(c.ID, EventExtremismHint)
	if e == nil || e.Text != "3 complaints from this customer within 2 days" {
		t.Errorf("extremism event = %+v", e)
	}
	if first := flagged.complaintByMessage("x0@example.com"); first.ExtremismHint {
		t.Error("the first complaint is flagged")
	}
	owner := flagged.notificationsOf(KindAssigned)
	if got := owner[len(owner)-1].Data["flag"]; got != e.Text {
		t.Errorf("owner's flag = %q", got)
	}
	plain, pc := run(100)
	if pc.ExtremismHint || len(pc.Labels) != 0 || plain.eventOf(pc.ID, EventExtremismHint) != nil {
		t.Errorf("unflagged run flagged: %+v", pc)
	}
	a, b := flagged.notificationsOf(KindAck), plain.notificationsOf(KindAck)
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("acks %d and %d, want 3 each", len(a), len(b))
	}
	x, y := *a[2], *b[2]
	x.MessageID, y.MessageID = "", "" // a random nonce each
	if !reflect.DeepEqual(x, y) {
		t.Errorf("flagged complaint's ack differs:\n%+v\n%+v", x, y)
	}
	// Older complaints fall out of the window.
	f, _ := run(3)
	f.clock.Add(72 * time.Hour)
	f.deliver(mail("Max", "max@example.com", "x9@example.com", "claim 0", "again"))
	if c := f.complaintByMessage("x9@example.com"); c.ExtremismHint {
		t.Error("a complaint after a quiet window is flagged")
	}
}

// TestReplyToNotComplaintJudgedAlone: a customer who first asked a
// question and then complains in the same thread gets a complaint, not a
// follow-up buried in the question's record.
func TestReplyToNotComplaintJudgedAlone(t *testing.T) {
	cls := scripted{
		"Opening hours":     {IsComplaint: false, NotComplaint: "question", Lang: "en", Why: []string{"question"}},
		"Re: Opening hours": complaintOf("en", "quality"),
	}
	f := newAssignFixture(t, cls, nil)
	f.deliver(mail("", "q@example.com", "q1@example.com", "Opening hours", "When are you open?"))
	f.deliver(replyTo(mail("", "q@example.com", "q2@example.com", "Re: Opening hours", "And the kettle I bought is broken."), "q1@example.com"))
	cs := f.complaints()
	if len(cs) != 2 || cs[0].Stage != store.StageNotComplaint || cs[1].Stage != store.StageRegistered || cs[1].OwnerID != "jonas" {
		t.Fatalf("records = %+v", cs)
	}
	if len(f.notificationsOf(KindAck)) != 1 {
		t.Error("the complaint in the reply was not acknowledged")
	}
}

func TestUnclearTakenAsComplaint(t *testing.T) {
	f := newAssignFixture(t, scripted{"vase": {IsComplaint: false, Lang: "ru", Why: []string{"not a complaint: score 0.0"}}}, nil)
	f.deliver(mail("", "olga@example.ru", "v1@example.ru", "vase", "Курьер привёз вазу разбитой. Хочу замену."))
	c := f.onlyComplaint()
	if c.IsComplaint == nil || !*c.IsComplaint || c.Stage != store.StageRegistered || c.NotComplaint != "" || c.OwnerID != "dina" {
		t.Errorf("unclear message: %+v", c)
	}
	if e := f.eventOf(c.ID, EventClassified); !strings.HasSuffix(e.Text, ReasonUnclear) || e.Fields["is_complaint"] != "true" {
		t.Errorf("classified event %+v", e)
	}
	if len(f.notificationsOf(KindAck)) != 1 {
		t.Error("an unclear message was not acknowledged")
	}
}

func TestClassifierExtremismHint(t *testing.T) {
	cls := complaintOf("en", "quality")
	cls.ExtremismHint = true
	cls.Why = append(cls.Why, "extremism hint: penalty demand with long use or threat")
	f := newAssignFixture(t, scripted{"Penalty": cls}, nil)
	f.deliver(mail("", "p@example.com", "p1@example.com", "Penalty", "text"))
	c := f.onlyComplaint()
	if c.Labels[LabelExtremismHint] != "classifier" || !c.ExtremismHint {
		t.Errorf("labels %v", c.Labels)
	}
	if d := f.notificationsOf(KindAssigned)[0].Data["flag"]; d != "extremism hint: penalty demand with long use or threat" {
		t.Errorf("owner's flag %q", d)
	}
	if n := f.notificationsOf(KindAck); len(n) != 1 {
		t.Errorf("acks %d, want 1: a flag never stops the acknowledgement", len(n))
	}
}

func TestReassignKeepsHistory(t *testing.T) {
	f := newAssignFixture(t, scripted{"late": complaintOf("ru", "delivery")}, nil)
	f.deliver(mail("", "r@example.com", "r1@example.com", "late", "Where is it?"))
	c := f.onlyComplaint()
	if c.OwnerID != "anna" {
		t.Fatalf("owner %q", c.OwnerID)
	}
	ctx := context.Background()
	f.clock.Add(time.Hour)
	if err := f.r.Reassign(ctx, c.Number, "jonas", "staff:rasa", "Anna is on vacation"); err != nil {
		t.Fatal(err)
	}
	c = f.onlyComplaint()
	if c.OwnerID != "jonas" || c.Team != "quality" || !c.UpdatedAt.Equal(f.clock.Now()) {
		t.Errorf("after reassign: %+v", c)
	}
	if got := f.eventKinds(c.ID); !slices.Equal(got, []string{"registered", "classified", "assigned", "ack_queued", EventReassigned}) {
		t.Errorf("events = %v", got)
	}
	e := f.eventOf(c.ID, EventReassigned)
	if e.Actor != "staff:rasa" || e.Fields["from"] != "anna" || e.Fields["to"] != "jonas" || e.Text != "Anna is on vacation" {
		t.Errorf("reassigned event %+v", e)
	}
	if f.eventOf(c.ID, EventAssigned).Fields["owner"] != "anna" {
		t.Error("the first assignment is no longer in the history")
	}
	if f.load("anna") != 0 || f.load("jonas") != 1 {
		t.Errorf("loads anna %d jonas %d", f.load("anna"), f.load("jonas"))
	}
	ns := f.notificationsOf(KindAssigned)
	if len(ns) != 2 || ns[1].To.Email != "jonas@acme.test" || !strings.Contains(ns[1].Data["reason"], "reassigned from anna by staff:rasa: Anna is on vacation") ||
		ns[1].Data["text"] != "Where is it?" {
		t.Errorf("new owner's notification %+v", ns[len(ns)-1])
	}
	// To the same owner: nothing changes.
	if err := f.r.Reassign(ctx, c.Number, "jonas", "staff:rasa", "again"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.events(c.ID)); n != 5 {
		t.Errorf("a no-op reassignment added events: %d", n)
	}
	for _, tt := range []struct{ number, owner string }{{c.Number, "vera"}, {c.Number, "ghost"}} {
		if err := f.r.Reassign(ctx, tt.number, tt.owner, "x", ""); !errors.Is(err, ErrUnknownStaff) {
			t.Errorf("Reassign to %s: %v, want ErrUnknownStaff", tt.owner, err)
		}
	}
	if err := f.r.Reassign(ctx, "C-2026-999999", "anna", "x", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Reassign of an unknown complaint: %v", err)
	}
	if f.onlyComplaint().OwnerID != "jonas" {
		t.Error("a failed reassignment changed the owner")
	}
}

func TestClassifierPanicTakenAsComplaint(t *testing.T) {
	f := newAssignFixture(t, ClassifierFunc(func(string, string) Classification { panic("boom") }), nil)
	f.deliver(mail("", "z@example.com", "z1@example.com", "anything", "text"))
	c := f.onlyComplaint()
	if c.IsComplaint == nil || !*c.IsComplaint || c.Stage != store.StageRegistered || c.OwnerID != "dina" {
		t.Errorf("complaint after a classifier panic: %+v", c)
	}
	if e := f.eventOf(c.ID, EventClassified); e == nil || !strings.Contains(e.Text, "classifier failed") {
		t.Errorf("classified event %+v", e)
	}
	if len(f.notificationsOf(KindAck)) != 1 {
		t.Error("no acknowledgement after a classifier panic")
	}
	if f.counter("complaintbot_classifier_panics_total", nil) != 1 {
		t.Error("panic not counted")
	}
}

func TestNewValidatesAssignment(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name string
		edit func(*Assignment)
		want string
	}{
		{"default owner away", func(a *Assignment) { a.Staff[6].Away = true }, "default owner"},
		{"unknown default owner", func(a *Assignment) { a.DefaultOwner = "ghost" }, "default owner"},
		{"duplicate id", func(a *Assignment) { a.Staff[1].ID = "rasa" }, "used twice"},
		{"bad email", func(a *Assignment) { a.Staff[0].Email = "rasa at acme" }, "not usable"},
		{"no language", func(a *Assignment) { a.Staff[0].Languages = nil }, "no language"},
		{"unknown team", func(a *Assignment) { a.Categories["x"] = "nosuch" }, "unknown"},
		{"bad tier", func(a *Assignment) { a.Tiers.HeadMax = "50" }, "head max"},
		{"bad rate", func(a *Assignment) { a.Tiers.Rates["USD"] = "0" }, "rate of USD"},
	}
	for _, tt := range tests {
		a := testAssignment()
		tt.edit(a)
		_, err := New(Options{Store: f.st, Secret: testSecret, Assignment: a})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := New(Options{Store: f.st, Secret: testSecret, Assignment: &Assignment{}}); err != nil {
		t.Errorf("an Assignment without staff: %v", err)
	}
}
