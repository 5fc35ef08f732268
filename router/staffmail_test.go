package router

import (
	"reflect"
	"strings"
	"testing"

	"complaintbot/store"
)

// staffReply is a staff member's mail answering our "assigned" mail.
func staffReply(f *fixture, fromEmail, messageID, text string) *store.Message {
	f.t.Helper()
	ns := f.notificationsOf(KindAssigned)
	if len(ns) == 0 {
		f.t.Fatal("no assigned mail to answer")
	}
	return replyTo(mail("", fromEmail, messageID, "Re: Complaint is yours", text), ns[len(ns)-1].MessageID)
}

func TestStaffMailBecomesNote(t *testing.T) {
	f, c := newWorkflowFixture(t, nil)
	m := staffReply(f, "Anna@ACME.test", "a1@acme.test", "Called him, the parcel is at the depot.\n\n-- \nAnna")
	f.deliver(m)
	f.deliver(m) // re-read: a duplicate, not a second note
	if len(f.complaints()) != 1 {
		t.Fatalf("staff mail opened a complaint: %d complaints", len(f.complaints()))
	}
	var notes []*store.Event
	for _, e := range f.events(c.ID) {
		if e.Kind == EventNote {
			notes = append(notes, e)
		}
	}
	if len(notes) != 1 || notes[0].Actor != "staff:anna" || !strings.HasPrefix(notes[0].Text, "Called him, the parcel is at the depot.") {
		t.Fatalf("notes %+v", notes)
	}
	stored := f.messageByID("a1@acme.test")
	if stored == nil || stored.ComplaintID != 0 || stored.Status != store.StatusIgnored || stored.Reason != "staff action: note on "+c.Number {
		t.Errorf("staff mail stored as %+v", stored)
	}
	if _, err := (func() (*store.Customer, error) {
		var cu *store.Customer
		var err error
		f.view(func(tx store.Tx) error { cu, err = tx.CustomerByEmail("anna@acme.test"); return nil })
		return cu, err
	})(); err == nil {
		t.Error("the staff member was recorded as a customer")
	}
}

func TestStaffMailHashReplyAnswersCustomer(t *testing.T) {
	f, c := newWorkflowFixture(t, nil)
	f.deliver(staffReply(f, "anna@acme.test", "a2@acme.test", "#reply Dear Ivan,\nyour parcel is found."))
	ns := f.notificationsOf(KindReply)
	if len(ns) != 1 || ns[0].Data["text"] != "Dear Ivan,\nyour parcel is found." || ns[0].To.Email != "ivan@example.com" || ns[0].ComplaintID != c.ID {
		t.Fatalf("reply rows %+v", ns)
	}
	f.deliver(staffReply(f, "anna@acme.test", "a3@acme.test", "/REPLY\nSecond line only"))
	if ns := f.notificationsOf(KindReply); len(ns) != 2 || ns[1].Data["text"] != "Second line only" {
		t.Errorf("/reply rows %+v", ns)
	}
}

func TestStaffMailRefusedIsKeptNotFatal(t *testing.T) {
	f, c := newWorkflowFixture(t, nil)
	f.deliver(staffReply(f, "anna@acme.test", "a4@acme.test", "#reply"))
	m := f.messageByID("a4@acme.test")
	if m == nil || !strings.HasPrefix(m.Reason, "staff action refused") || !strings.Contains(m.Reason, "reply is required") {
		t.Errorf("refused staff mail stored as %+v", m)
	}
	if len(f.notificationsOf(KindReply)) != 0 || f.lastEvent(c.ID).Kind == EventReplyQueued {
		t.Error("an empty reply was queued")
	}
}

func TestStrangerReplyToStaffMailIsNoAction(t *testing.T) {
	f, c := newWorkflowFixture(t, nil)
	before := len(f.events(c.ID))
	f.deliver(staffReply(f, "mallory@evil.test", "x1@evil.test", "#reply you are fired"))
	if len(f.notificationsOf(KindReply)) != 0 || len(f.events(c.ID)) != before {
		t.Error("a stranger's reply to a staff mail acted on the complaint")
	}
	if got := f.complaintByMessage("x1@evil.test"); got.ID == c.ID {
		t.Error("a stranger's mail joined someone else's complaint")
	}
	// A forged staff From without our token is an ordinary message.
	f.deliver(mail("", "anna@acme.test", "x2@evil.test", "late", "#reply forged"))
	if len(f.notificationsOf(KindReply)) != 0 {
		t.Error("a mail without our token acted as staff")
	}
}

// TestSameActionSameEvent: a note by email and the same note through Act
// give the same event (who, what, text, fields).
func TestSameActionSameEvent(t *testing.T) {
	f, c := newWorkflowFixture(t, nil)
	f.deliver(staffReply(f, "anna@acme.test", "a5@acme.test", "parcel found"))
	byMail := f.lastEvent(c.ID)
	f.mustAct(Action{Number: c.Number, Actor: "anna", Kind: ActionNote, Text: "parcel found"})
	byAPI := f.lastEvent(c.ID)
	if byMail.Kind != EventNote || byMail.Actor != byAPI.Actor || byMail.Kind != byAPI.Kind || byMail.Text != byAPI.Text ||
		!reflect.DeepEqual(byMail.Fields, byAPI.Fields) || byMail.Seq+1 != byAPI.Seq {
		t.Errorf("by mail %+v, by API %+v", byMail, byAPI)
	}
}
