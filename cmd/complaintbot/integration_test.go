package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"complaintbot/configs"
	"complaintbot/internal/mailstack"
	"complaintbot/store"
)

// stackConfig is a daemon config for the real Dovecot and Postfix.
func stackConfig(t *testing.T, st *mailstack.Stack, support, password, dbPath string, ackPerHour int) *configs.Config {
	t.Helper()
	ih, ip, _ := net.SplitHostPort(st.IMAPAddr)
	sh, sp, _ := net.SplitHostPort(st.SMTPAddr)
	text := fmt.Sprintf(`
company: {name: "Integration Ltd", timezone: Europe/Vilnius}
store: {path: %q}
ack: {reaction_time: 2h, max_per_customer_per_hour: %d}
inboxes:
  - {name: support, host: %s, port: %s, tls: none, user: %q, password_env: PW, after: seen, poll_interval: 5s}
smtp: {host: %s, port: %s, tls: none, from: "Integration Care <%s>"}
threading: {secret_env: TS, domain: complaints.integration.test}
http: {listen: "127.0.0.1:0", token_env: TOK}
`, dbPath, ackPerHour, ih, ip, support, sh, sp, support)
	secrets := map[string]string{"PW": password, "TS": "integration-secret-0123456789", "TOK": "integration-token"}
	cfg, err := configs.ParseWith([]byte(text), func(k string) string { return secrets[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startDaemon runs a daemon in-process until the test ends.
func startDaemon(t *testing.T, cfg *configs.Config) *daemon {
	t.Helper()
	d, err := newDaemon(cfg, daemonDeps{Logger: newLogger(testWriter{t}, "info", "text")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon stopped with %v", err)
		}
	})
	return d
}

func headerOf(t *testing.T, raw []byte) mail.Header {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("reading mail: %v", err)
	}
	return r.Header
}

// TestRealMailStack: a customer sends a complaint through Postfix to the
// support mailbox in Dovecot; the daemon records it and the acknowledgement
// arrives in the customer's own Dovecot mailbox, threaded to the original;
// the customer's reply to it joins the same complaint without a second ack.
func TestRealMailStack(t *testing.T) {
	st := mailstack.FromEnv(t)
	support, spw := st.NewUser(t, "support")
	customer, cpw := st.NewUserAt(t, "customer", st.Domains[len(st.Domains)-1])
	cfg := stackConfig(t, st, support, spw, filepath.Join(t.TempDir(), "cb.db"), 3)
	d := startDaemon(t, cfg)

	origID := fmt.Sprintf("orig-%d@%s", time.Now().UnixNano(), strings.SplitN(customer, "@", 2)[1])
	complaint := fmt.Sprintf("From: Ieva Petraitė <%s>\r\nTo: <%s>\r\nSubject: =?utf-8?q?Sugedo_=C5=A1aldytuvas?=\r\n"+
		"Date: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Laba diena, prieš savaitę pirktas šaldytuvas nebešaldo. Prašau jį pakeisti arba grąžinti pinigus.\r\n",
		customer, support, time.Now().Format(time.RFC1123Z), origID)
	sent := time.Now()
	if err := st.Send(customer, []string{support}, []byte(complaint)); err != nil {
		t.Fatal(err)
	}
	ack := st.WaitForMail(t, customer, cpw, 30*time.Second, func(raw []byte) bool { return bytes.Contains(raw, []byte(origID)) })
	t.Logf("acknowledgement visible in the customer's mailbox %v after submission", time.Since(sent).Round(time.Millisecond))
	h := headerOf(t, ack.Raw)
	irt, _ := h.MsgIDList("In-Reply-To")
	refs, _ := h.MsgIDList("References")
	subject, _ := h.Subject()
	ackID, _ := h.MessageID()
	if len(irt) != 1 || irt[0] != origID || len(refs) == 0 || refs[len(refs)-1] != origID {
		t.Errorf("ack not threaded: In-Reply-To %v References %v", irt, refs)
	}
	if h.Get("Auto-Submitted") != "auto-replied" || !strings.Contains(subject, "[C-") || !strings.HasPrefix(subject, "Re: Sugedo šaldytuvas") {
		t.Errorf("ack headers: Auto-Submitted %q Subject %q", h.Get("Auto-Submitted"), subject)
	}

	reply := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: Re: %s\r\nDate: %s\r\nMessage-ID: <reply-%s>\r\n"+
		"In-Reply-To: <%s>\r\nReferences: <%s> <%s>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nModelis RB-31, čekis pridėtas.\r\n",
		customer, support, subject, time.Now().Format(time.RFC1123Z), origID, ackID, origID, ackID)
	if err := st.Send(customer, []string{support}, []byte(reply)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the reply to join the complaint", func() bool {
		msgs := complaintMessages(t, d.st, origID)
		return len(msgs) == 3 // complaint, our ack, the reply
	})
	time.Sleep(500 * time.Millisecond) // a second ack, if any were wrongly sent, would be on its way
	if n := len(st.Messages(t, customer, cpw)); n != 1 {
		t.Errorf("customer has %d mails, want the one acknowledgement", n)
	}
}

// complaintMessages lists the messages of the complaint holding messageID.
func complaintMessages(t *testing.T, st store.Store, messageID string) []*store.Message {
	t.Helper()
	var out []*store.Message
	err := st.View(context.Background(), func(tx store.Tx) error {
		m, err := tx.MessageByMessageID(messageID)
		if err != nil {
			return nil
		}
		out, err = tx.MessagesOf(m.ComplaintID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
