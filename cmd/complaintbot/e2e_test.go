package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"complaintbot/configs"
	"complaintbot/internal/fakemail"
	"complaintbot/store"
)

// TestPipelineEndToEnd runs the demo world (in-process IMAP with IDLE and a
// recording SMTP server) through the real daemon and checks the records.
func TestPipelineEndToEnd(t *testing.T) {
	env, dbPath, d := demoDaemon(t, daemonDeps{Logger: newLogger(testWriter{t}, "debug", "text")}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := runDemoScript(ctx, d, env, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	acks, staff := splitMail(env.smtp.Messages())
	if len(acks) != 6 {
		t.Errorf("acknowledgements sent = %d, want 6 (5 customers + the stranger)", len(acks))
	}
	if len(staff) != 6 {
		t.Errorf("owner notifications sent = %d, want 6 (one per complaint)", len(staff))
	}
	st, err := store.OpenBolt(dbPath, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.View(ctx, func(tx store.Tx) error {
		checkComplaints(t, tx)
		checkAssignments(t, tx, d.cfg)
		checkNoise(t, tx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkAcks(t, acks)
	checkOwnerMail(t, staff)
}

// checkAssignments: every complaint is classified and owned, by someone
// who speaks the customer's language unless the event says it did not
// match, and the Russian claim of 15 000 rubles needs the head's approval.
func checkAssignments(t *testing.T, tx store.Tx, cfg *configs.Config) {
	t.Helper()
	err := tx.ForEachComplaint(func(c *store.Complaint) error {
		evs, err := tx.Events(c.ID)
		if err != nil {
			return err
		}
		var classified, assigned *store.Event
		for _, e := range evs {
			switch e.Kind {
			case "classified":
				classified = e
			case "assigned":
				assigned = e
			}
		}
		owner, ok := cfg.StaffByID(c.OwnerID)
		if classified == nil || assigned == nil || !ok || c.IsComplaint == nil || !*c.IsComplaint {
			t.Errorf("%s: owner %q, classified %+v, assigned %+v", c.Number, c.OwnerID, classified, assigned)
			return nil
		}
		if !slices.Contains(owner.Languages, c.Lang) && !strings.Contains(assigned.Text, "language did not match") &&
			!strings.Contains(assigned.Text, "default owner") {
			t.Errorf("%s in %s owned by %s (%v): %s", c.Number, c.Lang, owner.ID, owner.Languages, assigned.Text)
		}
		if c.Amount == "15000" && c.Currency == "RUB" && c.Tier != "head" {
			t.Errorf("%s: 15000 RUB (about 165 EUR) has tier %q, want head", c.Number, c.Tier)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkOwnerMail: owner notifications are automatic, outside the
// customers' threads, and name the complaint.
func checkOwnerMail(t *testing.T, staff []fakemail.Received) {
	t.Helper()
	for _, m := range staff {
		v := parseAck(m.Data)
		if v.AutoSubmitted != "auto-generated" || v.InReplyTo != "" || !strings.Contains(v.Subject, "C-") ||
			!strings.Contains(v.Text, "C-") || strings.HasPrefix(v.Subject, "Re:") {
			t.Errorf("owner mail to %v: subject %q auto-submitted %q in-reply-to %q", m.To, v.Subject, v.AutoSubmitted, v.InReplyTo)
		}
	}
}

func checkComplaints(t *testing.T, tx store.Tx) {
	t.Helper()
	var all []*store.Complaint
	if err := tx.ForEachComplaint(func(c *store.Complaint) error { all = append(all, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("complaints = %d, want 6", len(all))
	}
	byEmail := map[string]*store.Complaint{}
	for _, c := range all {
		cu, err := tx.Customer(c.CustomerID)
		if err != nil {
			t.Fatal(err)
		}
		byEmail[cu.Emails[0]] = c
		if !strings.HasPrefix(c.Number, "C-") || c.DueAt.IsZero() {
			t.Errorf("complaint %+v lacks number or due time", c)
		}
	}
	wantLang := map[string]string{"ivan.petrov@example.ru": "ru", "ruta.k@example.lt": "lt", "jane.miller@example.com": "en", "olga@example.ru": "ru"}
	for email, lang := range wantLang {
		if c := byEmail[email]; c == nil || c.Lang != lang {
			t.Errorf("%s: complaint %+v, want lang %s", email, c, lang)
		}
	}
	jane := byEmail["jane.miller@example.com"]
	msgs, _ := tx.MessagesOf(jane.ID)
	var in, out int
	for _, m := range msgs {
		if m.Direction == store.DirectionIn {
			in++
		} else {
			out++
		}
	}
	if in != 2 || out != 1 {
		t.Errorf("Jane's complaint: %d in, %d out; want her mail + her reply in, one ack out", in, out)
	}
	if byEmail["mallory@example.org"] == nil || byEmail["mallory@example.org"].ID == jane.ID {
		t.Error("the stranger's forged tag must open a complaint of its own")
	}
	olga, _ := tx.MessagesOf(byEmail["olga@example.ru"].ID)
	if len(olga) == 0 || len(olga[0].Attachments) != 1 || !olga[0].Attachments[0].Kept {
		t.Fatalf("Olga's photo not kept: %+v", olga)
	}
	if b, err := tx.Blob(olga[0].Attachments[0].BlobKey); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("attachment bytes: %v %q", err, b)
	}
	tom, _ := tx.MessagesOf(byEmail["tom@example.net"].ID)
	if txt := tom[0].Text; strings.Contains(txt, "<p>") || strings.Contains(txt, "alert") || !strings.Contains(txt, "45.99") {
		t.Errorf("HTML-only mail text = %q", txt)
	}
	ivan, _ := tx.MessagesOf(byEmail["ivan.petrov@example.ru"].ID)
	if !strings.Contains(ivan[0].Text, "стиральную машину") || ivan[0].From.Name != "Иван Петров" {
		t.Errorf("windows-1251 mail decoded as %q from %q", ivan[0].Text, ivan[0].From.Name)
	}
}

func checkNoise(t *testing.T, tx store.Tx) {
	t.Helper()
	reasons := map[string]string{}
	err := tx.ForEachMessage(func(m *store.Message) error {
		if m.ComplaintID == 0 {
			reasons[m.MessageID] = m.Status + ": " + m.Reason
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := reasons["ooo-1@example.org"]; !strings.HasPrefix(r, "ignored") || !strings.Contains(strings.ToLower(r), "auto") {
		t.Errorf("auto-reply recorded as %q", r)
	}
	if r := reasons["bounce-1@mx.example.com"]; !strings.HasPrefix(r, "ignored") || !strings.Contains(strings.ToLower(r), "bounce") {
		t.Errorf("bounce recorded as %q", r)
	}
}

func checkAcks(t *testing.T, acks []fakemail.Received) {
	t.Helper()
	origin := map[string]string{"ivan.petrov@example.ru": "ru-1@mail.example.ru", "ruta.k@example.lt": "lt-1@pastas.example.lt", "jane.miller@example.com": "en-1@example.com"}
	for _, a := range acks {
		v := parseAck(a.Data)
		if v.AutoSubmitted != "auto-replied" || v.Tag == "" || !strings.HasPrefix(v.Subject, "Re: ") {
			t.Errorf("ack to %v: subject %q auto-submitted %q", a.To, v.Subject, v.AutoSubmitted)
		}
		if want, ok := origin[a.To[0]]; ok && v.InReplyTo != want {
			t.Errorf("ack to %v: In-Reply-To %q, want %q", a.To, v.InReplyTo, want)
		}
		if a.To[0] == "ivan.petrov@example.ru" && !hasCyrillic(v.Text) {
			t.Errorf("Russian customer got: %q", v.Text)
		}
		if a.To[0] == "ruta.k@example.lt" && !strings.ContainsAny(v.Text, "ąčęėįšųūž") {
			t.Errorf("Lithuanian customer got: %q", v.Text)
		}
		if !strings.Contains(v.Text, strings.Trim(v.Tag, "[]")) {
			t.Errorf("ack text lacks the number %s: %q", v.Tag, v.Text)
		}
	}
}

func hasCyrillic(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Cyrillic, r) {
			return true
		}
	}
	return false
}

func TestCheckConfigListsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	bad := "company: {timezone: Nowhere/City}\ninboxes: [{name: x, host: h, user: u, password_env: CB_TEST_UNSET_PW, tls: ssl}]\nsmtp: {host: h, from: nope}\n"
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	code := runMain([]string{"check-config", "-config", path}, &out, &errw)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, key := range []string{"company.timezone", "inboxes[0].tls", "inboxes[0].password_env", "smtp.from", "threading.secret"} {
		if !strings.Contains(errw.String(), key) {
			t.Errorf("check-config output does not name %s:\n%s", key, errw.String())
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
