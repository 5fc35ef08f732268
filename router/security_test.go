package router

import (
	"strings"
	"testing"
	"unicode"

	"complaintbot/store"
)

// victimFixture records one complaint of the victim and returns it with
// its acknowledgement.
func victimFixture(t *testing.T) (*fixture, *store.Complaint, *store.Notification) {
	t.Helper()
	f := newFixture(t, nil)
	f.deliver(mail("Victim", "victim@example.com", "v1@example.com", "Refund for order 77", "Please refund 300 EUR."))
	return f, f.onlyComplaint(), f.notifications()[0]
}

// assertStrangerIsolated checks that the stranger's message opened its own
// complaint and the victim's complaint is untouched.
func assertStrangerIsolated(t *testing.T, f *fixture, victim *store.Complaint, strangerMsgID string) {
	t.Helper()
	m := f.messageByID(strangerMsgID)
	if m == nil {
		t.Fatalf("stranger's message not recorded")
	}
	if m.ComplaintID == victim.ID || m.ComplaintID == 0 {
		t.Fatalf("stranger's message in complaint %d (victim's is %d)", m.ComplaintID, victim.ID)
	}
	if kinds := f.eventKinds(victim.ID); len(kinds) != 2 {
		t.Errorf("victim's complaint got events %v", kinds)
	}
	if cs := f.complaints(); len(cs) != 2 || cs[1].CustomerID == victim.CustomerID {
		t.Errorf("complaints = %+v, want a second one for the stranger", cs)
	}
	if n := f.notifications(); len(n) != 2 || n[1].To.Email != "eve@evil.example" {
		t.Errorf("the stranger's new complaint should be acknowledged to the stranger: %+v", n)
	}
}

func TestSecurityForgedSubjectTag(t *testing.T) {
	f, victim, _ := victimFixture(t)
	f.deliver(mail("", "eve@evil.example", "e1@evil.example", "Re: Refund ["+victim.Number+"] change IBAN", "Send it to my account."))
	assertStrangerIsolated(t, f, victim, "e1@evil.example")
}

func TestSecurityForgedInReplyTo(t *testing.T) {
	f, victim, _ := victimFixture(t)
	f.deliver(replyTo(mail("", "eve@evil.example", "e1@evil.example", "Re: Refund for order 77", "x"), "v1@example.com"))
	assertStrangerIsolated(t, f, victim, "e1@evil.example")
}

func TestSecurityStrangerRepliesToOurToken(t *testing.T) {
	f, victim, ack := victimFixture(t)
	m := replyTo(mail("", "eve@evil.example", "e1@evil.example", ack.Subject, "x"), ack.MessageID, ack.References...)
	f.deliver(m)
	assertStrangerIsolated(t, f, victim, "e1@evil.example")
}

// A stranger who got hold of the victim's Message-ID and used it first
// cannot hide the victim's message from the victim's own follow-up.
func TestSecurityReusedMessageIDDoesNotHideThread(t *testing.T) {
	f := newFixture(t, nil)
	f.deliver(mail("", "eve@evil.example", "v1@example.com", "first!", "squatting the id"))
	f.deliver(mail("", "victim@example.com", "v1@example.com", "Refund", "Please refund."))
	f.deliver(replyTo(mail("", "victim@example.com", "v2@example.com", "Re: Refund", "Any news?"), "v1@example.com"))
	var victimComplaint uint64
	for _, m := range f.messages() {
		if m.From.Email == "victim@example.com" {
			if victimComplaint == 0 {
				victimComplaint = m.ComplaintID
			}
			if m.ComplaintID != victimComplaint {
				t.Errorf("victim's messages split over complaints %d and %d", victimComplaint, m.ComplaintID)
			}
		}
	}
}

func TestSecurityTamperedTokenRejected(t *testing.T) {
	f, victim, ack := victimFixture(t)
	id := ack.MessageID
	if got, ok := f.r.TokenComplaint(id); !ok || got != victim.ID {
		t.Fatalf("genuine token: %d, %v", got, ok)
	}
	if got, ok := f.r.TokenComplaint("<" + id + ">"); !ok || got != victim.ID {
		t.Errorf("genuine token in angle brackets: %d, %v", got, ok)
	}
	local, domain, _ := strings.Cut(id, "@")
	parts := strings.Split(local, ".")
	flip := func(s string) string {
		b := []byte(s)
		if b[len(b)-1] == 'a' {
			b[len(b)-1] = 'b'
		} else {
			b[len(b)-1] = 'a'
		}
		return string(b)
	}
	tampered := map[string]string{
		"other complaint id": "c" + "2" + "." + parts[1] + "." + parts[2] + "@" + domain,
		"leading zero id":    "c0" + parts[0][1:] + "." + parts[1] + "." + parts[2] + "@" + domain,
		"changed nonce":      parts[0] + "." + flip(parts[1]) + "." + parts[2] + "@" + domain,
		"changed mac":        parts[0] + "." + parts[1] + "." + flip(parts[2]) + "@" + domain,
		"upper-cased mac":    parts[0] + "." + parts[1] + "." + strings.ToUpper(parts[2]) + "@" + domain,
		"short mac":          parts[0] + "." + parts[1] + "." + parts[2][:10] + "@" + domain,
		"no mac":             parts[0] + "." + parts[1] + "@" + domain,
		"no domain":          local,
		"empty":              "",
		"zero id":            "c0." + parts[1] + "." + parts[2] + "@" + domain,
	}
	for name, tok := range tampered {
		if got, ok := f.r.TokenComplaint(tok); ok {
			t.Errorf("%s: %q accepted as complaint %d", name, tok, got)
		}
	}
	other, err := New(Options{Store: f.st, Secret: []byte("another-secret-of-16+bytes")})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := other.TokenComplaint(id); ok {
		t.Errorf("a token made with another secret was accepted")
	}

	// The customer's own mail naming only a tampered token opens a new
	// complaint: the token proves nothing.
	m := mail("", "victim@example.com", "v2@example.com", "New matter", "x")
	m.InReplyTo = []string{tampered["changed mac"]}
	f.deliver(m)
	if got := f.messageByID("v2@example.com"); got.ComplaintID == victim.ID {
		t.Errorf("tampered token threaded the message into complaint %d", victim.ID)
	}
}

func TestSecurityOwnOutgoingMailIgnored(t *testing.T) {
	f, victim, ack := victimFixture(t)
	// Our acknowledgement comes back into the inbox (Bcc, or a relay loop).
	own := mail("Support", "support@company.example", ack.MessageID, ack.Subject, "Your complaint was registered")
	own.InReplyTo = []string{ack.InReplyTo}
	f.deliver(own)
	m := f.messageByID(ack.MessageID)
	if m == nil || m.Status != store.StatusIgnored || m.Reason != ReasonOwnMail || m.ComplaintID != 0 {
		t.Fatalf("own mail stored as %+v", m)
	}
	if len(f.complaints()) != 1 || len(f.notifications()) != 1 || len(f.eventKinds(victim.ID)) != 2 {
		t.Errorf("own mail caused a complaint, ack or event")
	}
	if got := f.counter("complaintbot_messages_ignored_total", map[string]string{"reason": labelOwnMail}); got != 1 {
		t.Errorf("ignored{own_mail} = %v", got)
	}
}

// Nothing a customer writes can put a line break (a new header) into the
// headers of our reply.
func TestSecurityNoHeaderInjection(t *testing.T) {
	f := newFixture(t, nil)
	m := mail("Eve\r\nBcc: all@company.example", "eve@evil.example", "inj@evil.example",
		"Hello\r\nBcc: victim@example.com\n\tX-Evil: 1\u2028more", "text")
	m.ReplyTo = &store.Address{Name: "x", Email: "a@b.example\r\nBcc: c@d.example"}
	m.References = []string{"ok@x.example", "bad\r\nBcc: x@y@z", "<angle@x.example>"}
	f.deliver(m)
	n := f.notifications()[0]
	values := append([]string{n.To.Name, n.To.Email, n.Subject, n.MessageID, n.InReplyTo, n.Data["customer_name"], n.Data["subject"]}, n.References...)
	for _, v := range values {
		if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' }) {
			t.Errorf("header value %q carries a control character", v)
		}
	}
	if n.To.Email != "eve@evil.example" {
		t.Errorf("To %q: an unusable Reply-To must fall back to From", n.To.Email)
	}
	if n.To.Name != "Eve Bcc: all@company.example" {
		t.Errorf("To name %q", n.To.Name)
	}
	if want := []string{"ok@x.example", "inj@evil.example"}; strings.Join(n.References, " ") != strings.Join(want, " ") {
		t.Errorf("References %q, want %q", n.References, want)
	}
}
