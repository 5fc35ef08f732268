package router

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"complaintbot/store"
)

// newWorkflowFixture is the assignment fixture with a bonus list; its one
// complaint (Russian, delivery) is owned by anna of logistics (head rasa).
func newWorkflowFixture(t *testing.T, edit func(*Options)) (*fixture, *store.Complaint) {
	t.Helper()
	f := newAssignFixture(t, scripted{"late": complaintOf("ru", "delivery")}, func(o *Options) {
		o.Workflow = &Workflow{Bonuses: []string{"coffee voucher", "free delivery"}}
		if edit != nil {
			edit(o)
		}
	})
	f.deliver(mail("Ivan", "ivan@example.com", "i1@example.com", "late", "Where is my parcel?"))
	c := f.onlyComplaint()
	if c.OwnerID != "anna" || c.Team != "logistics" {
		t.Fatalf("fixture complaint owned by %s/%s", c.OwnerID, c.Team)
	}
	return f, c
}

func (f *fixture) act(a Action) (*store.Complaint, error) {
	f.clock.Add(time.Minute)
	return f.r.Act(context.Background(), a)
}

func (f *fixture) mustAct(a Action) *store.Complaint {
	f.t.Helper()
	c, err := f.act(a)
	if err != nil {
		f.t.Fatalf("%s by %s: %v", a.Kind, a.Actor, err)
	}
	return c
}

func (f *fixture) lastEvent(id uint64) *store.Event {
	es := f.events(id)
	return es[len(es)-1]
}

func refund(amount string) *store.Resolution {
	return &store.Resolution{Kind: ResolutionRefund, Amount: amount, Currency: "EUR",
		RootCause: "courier lost the parcel", Prevention: "track parcels daily"}
}

func TestActUnknownActorRefusedAndLogged(t *testing.T) {
	var logs bytes.Buffer
	f, c := newWorkflowFixture(t, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	before := len(f.events(c.ID))
	for _, actor := range []string{"ghost", "", "customer:1"} {
		_, err := f.act(Action{Number: c.Number, Actor: actor, Kind: ActionNote, Text: "hi"})
		var ae *ActionError
		if !errors.Is(err, ErrUnknownActor) || !errors.As(err, &ae) || ae.Field != "actor" || !strings.Contains(err.Error(), "not a configured staff member") {
			t.Errorf("actor %q: %v", actor, err)
		}
	}
	if len(f.events(c.ID)) != before {
		t.Error("a refused action left an event")
	}
	if !strings.Contains(logs.String(), "staff action refused") || !strings.Contains(logs.String(), "ghost") {
		t.Errorf("refusal not logged: %s", logs.String())
	}
	if _, err := f.act(Action{Number: c.Number, Actor: "anna", Kind: "explode"}); !errors.Is(err, ErrInvalidAction) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := f.act(Action{Number: "C-2026-999999", Actor: "anna", Kind: ActionNote, Text: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown complaint: %v", err)
	}
}

func TestActTakeNoteAdvance(t *testing.T) {
	f, c := newWorkflowFixture(t, nil)
	assignedBefore := len(f.notificationsOf(KindAssigned))
	got := f.mustAct(Action{Number: strings.ToLower(c.Number), Actor: "staff:jonas", Kind: ActionTake, Text: "I know this courier"})
	if got.OwnerID != "jonas" || got.Team != "quality" {
		t.Errorf("after take: owner %s team %s", got.OwnerID, got.Team)
	}
	e := f.lastEvent(c.ID)
	if e.Kind != EventTaken || e.Actor != "staff:jonas" || e.Fields["from"] != "anna" || e.Fields["to"] != "jonas" || e.Text != "I know this courier" {
		t.Errorf("taken event %+v", e)
	}
	if len(f.notificationsOf(KindAssigned)) != assignedBefore {
		t.Error("taking a complaint mailed the taker")
	}
	// Anyone may note; only the owner (or a head/top) moves it on.
	f.mustAct(Action{Number: c.Number, Actor: "olga", Kind: ActionNote, Text: "  called the courier\r\nno answer \x00"})
	if e := f.lastEvent(c.ID); e.Kind != EventNote || e.Actor != "staff:olga" || e.Text != "called the courier\nno answer" {
		t.Errorf("note event %+v", e)
	}
	if _, err := f.act(Action{Number: c.Number, Actor: "olga", Kind: ActionNote}); !errors.Is(err, ErrInvalidAction) {
		t.Errorf("empty note: %v", err)
	}
	if _, err := f.act(Action{Number: c.Number, Actor: "olga", Kind: ActionAdvance}); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "take it first") {
		t.Errorf("advance by a non-owner: %v", err)
	}
	got = f.mustAct(Action{Number: c.Number, Actor: "jonas", Kind: ActionAdvance, Text: "looking into it"})
	if got.Stage != store.StageAnalysis {
		t.Errorf("stage %s", got.Stage)
	}
	e = f.lastEvent(c.ID)
	if e.Kind != EventAdvanced || e.Fields["from"] != store.StageRegistered || e.Fields["to"] != store.StageAnalysis || e.Text != "looking into it" || !e.At.Equal(f.clock.Now()) {
		t.Errorf("advanced event %+v", e)
	}
	f.mustAct(Action{Number: c.Number, Actor: "rasa", Kind: ActionAdvance, To: store.StageAction}) // a head may
	var te *TransitionError
	_, err := f.act(Action{Number: c.Number, Actor: "jonas", Kind: ActionAdvance})
	if !errors.As(err, &te) || te.Number != c.Number || !strings.Contains(err.Error(), `made by "resolve"`) {
		t.Errorf("advance past corrective_action: %v", err)
	}
	_, err = f.act(Action{Number: c.Number, Actor: "jonas", Kind: ActionAdvance, To: store.StageAnalysis})
	if !errors.As(err, &te) || !strings.Contains(te.Reason, "does not step back") {
		t.Errorf("advance backwards: %v", err)
	}
}

func TestActResolveRequiresFields(t *testing.T) {
	f, c := newWorkflowFixture(t, nil)
	for _, tt := range []struct {
		res   *store.Resolution
		field string
	}{
		{nil, "resolution"},
		{&store.Resolution{}, "resolution.kind, resolution.root_cause, resolution.prevention"},
		{&store.Resolution{Kind: "refund", RootCause: "x", Prevention: "y"}, "resolution.amount"},
		{&store.Resolution{Kind: "refund", Amount: "20", Prevention: "y"}, "resolution.root_cause"},
		{&store.Resolution{Kind: "repair", RootCause: "x", Prevention: " "}, "resolution.prevention"},
		{&store.Resolution{Kind: "consolation_bonus", RootCause: "x", Prevention: "y"}, "resolution.bonus"},
		{&store.Resolution{Kind: "hug", RootCause: "x", Prevention: "y"}, "resolution.kind"},
		{&store.Resolution{Kind: "consolation_bonus", Bonus: "a yacht", RootCause: "x", Prevention: "y"}, "resolution.bonus"},
		{&store.Resolution{Kind: "refund", Amount: "1e3", RootCause: "x", Prevention: "y"}, "resolution.amount"},
		{&store.Resolution{Kind: "refund", Amount: "10", Currency: "euro", RootCause: "x", Prevention: "y"}, "resolution.currency"},
	} {
		_, err := f.act(Action{Number: c.Number, Actor: "anna", Kind: ActionResolve, Resolution: tt.res})
		var ae *ActionError
		if !errors.As(err, &ae) || !errors.Is(err, ErrInvalidAction) || ae.Field != tt.field || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%+v: %v, want field %q", tt.res, err, tt.field)
		}
	}
	if f.onlyComplaint().Stage != store.StageRegistered {
		t.Fatal("a refused resolve changed the stage")
	}
	got := f.mustAct(Action{Number: c.Number, Actor: "anna", Kind: ActionResolve, Text: "settled",
		Resolution: &store.Resolution{Kind: "consolation_bonus", Bonus: "coffee voucher", RootCause: "late courier", Prevention: "switch courier"}})
	if got.Stage != store.StageResolved || got.Resolution.By != "anna" || got.Resolution.Bonus != "coffee voucher" || !got.ResolvedAt.Equal(f.clock.Now()) || got.Open() {
		t.Errorf("resolved: %+v %+v", got, got.Resolution)
	}
	e := f.lastEvent(c.ID)
	want := map[string]string{"from": "registered", "to": "resolved", "kind": "consolation_bonus", "bonus": "coffee voucher",
		"root_cause": "late courier", "prevention": "switch courier"}
	if e.Kind != EventResolved || e.Actor != "staff:anna" || !reflect.DeepEqual(e.Fields, want) || e.Text != "settled" {
		t.Errorf("resolved event %+v", e)
	}
	if f.load("anna") != 0 {
		t.Error("a resolved complaint still counts as open load")
	}
	got = f.mustAct(Action{Number: c.Number, Actor: "anna", Kind: ActionAdvance})
	if got.Stage != store.StageClosed || got.ClosedAt.IsZero() {
		t.Errorf("close: %+v", got)
	}
}

func TestActApprovals(t *testing.T) {
	f, c := newWorkflowFixture(t, nil)
	resolve := func(amount string) error {
		_, err := f.act(Action{Number: c.Number, Actor: "anna", Kind: ActionResolve, Resolution: refund(amount)})
		return err
	}
	approve := func(actor, amount, currency string) error {
		_, err := f.act(Action{Number: c.Number, Actor: actor, Kind: ActionApprove, Resolution: &store.Resolution{Amount: amount, Currency: currency}})
		return err
	}
	if err := resolve("500"); !errors.Is(err, ErrNeedsApproval) || !strings.Contains(err.Error(), "head of logistics (rasa)") || !strings.Contains(err.Error(), "tomas") {
		t.Fatalf("500 EUR by frontline: %v", err)
	}
	for _, tt := range []struct{ actor, amount string }{{"olga", "500"}, {"anna", "500"}, {"rasa", "5000"}} {
		if err := approve(tt.actor, tt.amount, "EUR"); !errors.Is(err, ErrForbidden) {
			t.Errorf("approval of %s by %s: %v, want ErrForbidden", tt.amount, tt.actor, err)
		}
	}
	if err := approve("rasa", "", ""); !errors.Is(err, ErrInvalidAction) {
		t.Errorf("approval without an amount: %v", err)
	}
	if err := approve("rasa", "200", "EUR"); err != nil {
		t.Fatal(err)
	}
	if err := resolve("500"); !errors.Is(err, ErrNeedsApproval) {
		t.Errorf("an approval of 200 covered 500: %v", err)
	}
	if err := approve("rasa", "50000", "RUB"); err != nil { // 500 EUR at 0.01
		t.Fatal(err)
	}
	e := f.lastEvent(c.ID)
	if e.Kind != EventApproved || e.Actor != "staff:rasa" || e.Fields["role"] != RoleHead || e.Fields["tier"] != TierHead || e.Fields["amount"] != "50000" {
		t.Errorf("approved event %+v", e)
	}
	if err := resolve("2000"); !errors.Is(err, ErrNeedsApproval) || !strings.Contains(err.Error(), "top management (tomas)") {
		t.Errorf("2000 EUR with a head's approval: %v", err)
	}
	if err := resolve("500"); err != nil {
		t.Fatalf("500 EUR approved by the head: %v", err)
	}
	got := f.onlyComplaint()
	if len(got.Approvals) != 2 || got.Approvals[1].By != "rasa" || got.Resolution.Amount != "500" {
		t.Errorf("approvals %+v resolution %+v", got.Approvals, got.Resolution)
	}
	if err := approve("tomas", "10", "EUR"); !errors.Is(err, ErrConflict) {
		t.Errorf("approval on a resolved complaint: %v", err)
	}
}

func TestActTopTierNeedsTop(t *testing.T) {
	f, c := newWorkflowFixture(t, nil)
	f.mustAct(Action{Number: c.Number, Actor: "tomas", Kind: ActionApprove, Resolution: &store.Resolution{Amount: "5000"}})
	got := f.mustAct(Action{Number: c.Number, Actor: "anna", Kind: ActionResolve, Resolution: refund("4999.99")})
	if got.Stage != store.StageResolved {
		t.Errorf("stage %s", got.Stage)
	}
	// A head resolving within their own tier needs nobody.
	f2, c2 := newWorkflowFixture(t, nil)
	if _, err := f2.act(Action{Number: c2.Number, Actor: "rasa", Kind: ActionResolve, Resolution: refund("900")}); err != nil {
		t.Errorf("head resolving 900: %v", err)
	}
}

func TestActDropDuplicateAndReopen(t *testing.T) {
	f, first := newWorkflowFixture(t, nil)
	f.deliver(mail("Ivan", "ivan@example.com", "i2@example.com", "late", "Where is my parcel??"))
	second := f.complaintByMessage("i2@example.com")
	if second.OwnerID != "olga" {
		t.Fatalf("second complaint owned by %s", second.OwnerID)
	}
	for _, a := range []Action{
		{Kind: ActionDrop, To: "boring"},
		{Kind: ActionDrop, To: "duplicate"},
		{Kind: ActionDrop, To: "duplicate", DuplicateOf: second.Number},
		{Kind: ActionDrop, To: "duplicate", DuplicateOf: "C-2026-999999"},
	} {
		a.Number, a.Actor = second.Number, "olga"
		if _, err := f.act(a); !errors.Is(err, ErrInvalidAction) {
			t.Errorf("%+v: %v", a, err)
		}
	}
	got := f.mustAct(Action{Number: second.Number, Actor: "olga", Kind: ActionDrop, To: "Duplicate", DuplicateOf: strings.ToLower(first.Number), Text: "same parcel"})
	if got.Stage != store.StageDropped || got.DropReason != store.DropDuplicate || got.DuplicateOf != first.Number || got.DroppedFrom != store.StageRegistered {
		t.Errorf("dropped: %+v", got)
	}
	e := f.lastEvent(second.ID)
	if e.Kind != EventDropped || e.Fields["reason"] != "duplicate" || e.Fields["duplicate_of"] != first.Number || e.Text != "same parcel" {
		t.Errorf("dropped event %+v", e)
	}
	m := f.lastEvent(first.ID)
	if m.Kind != EventDuplicateMerged || m.Fields["duplicate"] != second.Number || m.Actor != "staff:olga" {
		t.Errorf("target's event %+v", m)
	}
	f.deliver(mail("Ivan", "ivan@example.com", "i3@example.com", "late", "third"))
	third := f.complaintByMessage("i3@example.com")
	if _, err := f.act(Action{Number: third.Number, Actor: "rasa", Kind: ActionDrop, To: "duplicate", DuplicateOf: second.Number}); !errors.Is(err, ErrInvalidAction) || !strings.Contains(err.Error(), first.Number) {
		t.Errorf("merging into a duplicate: %v", err)
	}
	if _, err := f.act(Action{Number: second.Number, Actor: "anna", Kind: ActionReopen}); !errors.Is(err, ErrInvalidAction) {
		t.Errorf("reopen without a reason: %v", err)
	}
	got = f.mustAct(Action{Number: second.Number, Actor: "olga", Kind: ActionReopen, Text: "a different parcel after all"})
	if got.Stage != store.StageAnalysis || got.DropReason != "" || got.DuplicateOf != "" || !got.Open() {
		t.Errorf("reopened: %+v", got)
	}
	if e := f.lastEvent(second.ID); e.Kind != EventReopened || e.Fields["drop_reason"] != "duplicate" || e.Fields["from"] != store.StageDropped {
		t.Errorf("reopened event %+v", e)
	}
}

func TestActReassignNotifiesNewOwner(t *testing.T) {
	f, c := newWorkflowFixture(t, nil)
	if _, err := f.act(Action{Number: c.Number, Actor: "anna", Kind: ActionReassign, To: "vera"}); !errors.Is(err, ErrInvalidAction) {
		t.Errorf("reassign to someone away: %v", err)
	}
	got := f.mustAct(Action{Number: c.Number, Actor: "anna", Kind: ActionReassign, To: "jonas", Text: "he knows quality"})
	if got.OwnerID != "jonas" {
		t.Fatalf("owner %s", got.OwnerID)
	}
	if e := f.lastEvent(c.ID); e.Kind != EventReassigned || e.Actor != "staff:anna" || e.Text != "he knows quality" {
		t.Errorf("event %+v", e)
	}
	ns := f.notificationsOf(KindAssigned)
	if last := ns[len(ns)-1]; last.To.Email != "jonas@acme.test" || !strings.Contains(last.Data["reason"], "by staff:anna") {
		t.Errorf("assigned row %+v", last)
	}
}

func TestActReplyEmailThreaded(t *testing.T) {
	f, c := newWorkflowFixture(t, nil)
	notified := f.notified.Load()
	got := f.mustAct(Action{Number: c.Number, Actor: "anna", Kind: ActionReply, Text: "Your parcel is found.\nIt arrives <tomorrow>."})
	ns := f.notificationsOf(KindReply)
	if len(ns) != 1 {
		t.Fatalf("%d reply rows", len(ns))
	}
	n := ns[0]
	thread := c.ThreadMessageIDs
	if n.Channel != store.ChannelEmail || n.To.Email != "ivan@example.com" || n.Subject != "Re: late ["+c.Number+"]" ||
		n.InReplyTo != thread[len(thread)-1] || !slices.Equal(n.References, thread) || n.CustomerID != c.CustomerID {
		t.Errorf("reply row %+v (thread %v)", n, thread)
	}
	if id, ok := f.r.TokenComplaint(n.MessageID); !ok || id != c.ID {
		t.Errorf("reply Message-ID %q carries no token for the complaint", n.MessageID)
	}
	if n.Data["text"] != "Your parcel is found.\nIt arrives <tomorrow>." || n.Data["number"] != c.Number || n.Data["staff_name"] != "Anna" {
		t.Errorf("data %+v", n.Data)
	}
	if got.ThreadMessageIDs[len(got.ThreadMessageIDs)-1] != n.MessageID {
		t.Error("the reply is not in the thread")
	}
	e := f.lastEvent(c.ID)
	if e.Kind != EventReplyQueued || e.Actor != "staff:anna" || e.Fields["message_id"] != n.MessageID || e.Text != n.Data["text"] {
		t.Errorf("event %+v", e)
	}
	if f.notified.Load() == notified {
		t.Error("the notifier was not kicked")
	}
	// The customer's answer to the staff reply joins the complaint.
	f.deliver(replyTo(mail("Ivan", "ivan@example.com", "i9@example.com", "Re: late", "thanks!"), n.MessageID))
	if f.complaintByMessage("i9@example.com").ID != c.ID {
		t.Error("the customer's answer to the reply opened a new complaint")
	}
}

func TestActReplyTelegram(t *testing.T) {
	f := newAssignFixture(t, nil, nil)
	var c *store.Complaint
	err := f.st.Update(context.Background(), func(tx store.Tx) error {
		cust := &store.Customer{Name: "Petras", TelegramIDs: []int64{42}}
		if err := tx.PutCustomer(cust); err != nil {
			return err
		}
		c = &store.Complaint{CustomerID: cust.ID, Channel: store.ChannelTelegram, Stage: store.StageRegistered, OwnerID: "anna", Lang: "lt"}
		if err := tx.PutComplaint(c); err != nil {
			return err
		}
		return tx.PutMessage(&store.Message{ComplaintID: c.ID, CustomerID: cust.ID, Direction: store.DirectionIn,
			Channel: store.ChannelTelegram, TelegramChatID: 4242, TelegramUserID: 42, Text: "sugedo", Status: store.StatusRecorded})
	})
	if err != nil {
		t.Fatal(err)
	}
	f.mustAct(Action{Number: c.Number, Actor: "anna", Kind: ActionReply, Text: "Labas"})
	ns := f.notificationsOf(KindReply)
	if len(ns) != 1 || ns[0].Channel != store.ChannelTelegram || ns[0].TelegramChatID != 4242 || ns[0].Data["text"] != "Labas" || ns[0].To.Email != "" || ns[0].Lang != "lt" {
		t.Errorf("telegram reply rows %+v", ns)
	}
	if e := f.lastEvent(c.ID); e.Fields["telegram_chat_id"] != "4242" {
		t.Errorf("event %+v", e)
	}
}

func TestHandoffOnStageEntry(t *testing.T) {
	f, c := newWorkflowFixture(t, func(o *Options) {
		o.Workflow.Handoffs = []Handoff{
			{Stage: store.StageAnalysis, FromTeam: "quality", Owner: "tomas"}, // not this complaint's team
			{Stage: store.StageAction, FromTeam: "logistics", Team: "quality"},
		}
	})
	got := f.mustAct(Action{Number: c.Number, Actor: "anna", Kind: ActionAdvance})
	if got.OwnerID != "anna" {
		t.Fatalf("a handoff of another team's chain applied: owner %s", got.OwnerID)
	}
	got = f.mustAct(Action{Number: c.Number, Actor: "anna", Kind: ActionAdvance})
	if got.Stage != store.StageAction || got.OwnerID != "jonas" || got.Team != "quality" {
		t.Fatalf("after handoff: %s owned by %s/%s", got.Stage, got.OwnerID, got.Team)
	}
	kinds := f.eventKinds(c.ID)
	if !slices.Equal(kinds[len(kinds)-2:], []string{EventAdvanced, EventHandedOff}) {
		t.Errorf("events %v", kinds)
	}
	e := f.lastEvent(c.ID)
	if e.Actor != "system" || e.Fields["from"] != "anna" || e.Fields["to"] != "jonas" || !strings.Contains(e.Text, "corrective_action") {
		t.Errorf("handed_off event %+v", e)
	}
	ns := f.notificationsOf(KindAssigned)
	if last := ns[len(ns)-1]; last.To.Email != "jonas@acme.test" || !strings.Contains(last.Data["reason"], "handed off from anna") {
		t.Errorf("new owner's notification %+v", last)
	}
}

func TestHandoffNobodyAvailable(t *testing.T) {
	f, c := newAssignFixtureWithHandoff(t, Handoff{Stage: store.StageAnalysis, Owner: "vera"})
	got := f.mustAct(Action{Number: c.Number, Actor: "anna", Kind: ActionAdvance})
	if got.OwnerID != "anna" {
		t.Errorf("owner %s", got.OwnerID)
	}
	if e := f.lastEvent(c.ID); e.Kind != EventHandoffSkipped || !strings.Contains(e.Text, "nobody available") {
		t.Errorf("event %+v", e)
	}
}

func newAssignFixtureWithHandoff(t *testing.T, h Handoff) (*fixture, *store.Complaint) {
	return newWorkflowFixture(t, func(o *Options) { o.Workflow.Handoffs = []Handoff{h} })
}
