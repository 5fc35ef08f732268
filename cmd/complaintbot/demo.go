package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"complaintbot/configs"
	"complaintbot/internal/fakemail"
	"complaintbot/store"
)

//go:embed demomail/*.eml
var demoMail embed.FS

const demoInbox = "support@demo.example"

// cmdDemo runs the real pipeline (IMAP IDLE ingest, router, outbox, SMTP)
// against an in-process IMAP server and a recording SMTP server on loopback,
// then prints what was recorded and what was sent.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo")
	keep := fs.String("store", "", "keep the demo database at this path (default: a temporary file)")
	verbose := fs.Bool("v", false, "show the daemon's log")
	if err := fs.Parse(args); err != nil {
		return err
	}
	env, err := startDemoEnv()
	if err != nil {
		return err
	}
	defer env.close()
	dbPath := *keep
	if dbPath == "" {
		dbPath = filepath.Join(env.dir, "complaintbot.db")
	}
	cfg, err := demoConfig(env, dbPath)
	if err != nil {
		return err
	}
	logw := io.Discard
	if *verbose {
		logw = stderr
	}
	d, err := newDaemon(cfg, daemonDeps{Logger: newLogger(logw, "debug", "text"), NoSync: true})
	if err != nil {
		return err
	}
	if err := runDemoScript(ctx, d, env, stdout); err != nil {
		return err
	}
	return printDemoRecords(ctx, dbPath, cfg.Location, env.smtp.Messages(), stdout)
}

// demoEnv is the in-process mail world of the demo.
type demoEnv struct {
	dir  string
	imap *fakemail.IMAP
	smtp *fakemail.SMTP
}

func startDemoEnv() (*demoEnv, error) {
	dir, err := mkTempDir()
	if err != nil {
		return nil, err
	}
	e := &demoEnv{dir: dir}
	if e.imap, err = fakemail.StartIMAP(); err != nil {
		return nil, err
	}
	if err := e.imap.AddUser(demoInbox, "demo-password"); err != nil {
		return nil, err
	}
	if e.smtp, err = fakemail.StartSMTP(); err != nil {
		e.imap.Close()
		return nil, err
	}
	return e, nil
}

func (e *demoEnv) close() {
	e.imap.Close()
	e.smtp.Close()
	removeAll(e.dir)
}

func demoConfig(e *demoEnv, dbPath string) (*configs.Config, error) {
	return worldConfig(e, dbPath, demoStaff, nil)
}

// worldConfig is the config of a daemon in the demo world (its in-process
// IMAP inbox and SMTP relay) with extra YAML appended. The secrets PW,
// SECRET and TOKEN are made up unless secrets names them; secrets may add
// more for extra's *_env keys.
func worldConfig(e *demoEnv, dbPath, extra string, secrets map[string]string) (*configs.Config, error) {
	ih, ip, _ := net.SplitHostPort(e.imap.Addr)
	sh, sp, _ := net.SplitHostPort(e.smtp.Addr)
	text := fmt.Sprintf(`
company: {name: "Demo Ltd", timezone: Europe/Vilnius}
store: {path: %q}
ack: {reaction_time: 4h, max_per_customer_per_hour: 3}
inboxes:
  - {name: support, host: %s, port: %s, tls: none, user: %s, password_env: PW, after: seen, poll_interval: 1s}
smtp: {host: %s, port: %s, tls: none, from: "Demo Ltd Customer Care <%s>"}
threading: {secret_env: SECRET, domain: complaints.demo.example}
http: {listen: "127.0.0.1:0", token_env: TOKEN}
`+extra, dbPath, ih, ip, demoInbox, sh, sp, demoInbox)
	env := map[string]string{"PW": "demo-password", "SECRET": randomHex(16), "TOKEN": randomHex(16)}
	for k, v := range secrets {
		env[k] = v
	}
	return configs.ParseWith([]byte(text), func(k string) string { return env[k] })
}

// demoStaff is two teams whose members speak Russian, Lithuanian and
// English, so the demo shows assignment by category, language and load.
const demoStaff = `
staff:
  - {id: laura, name: "Laura Jankauskienė", email: laura@staff.demo.example, teams: [logistics], languages: [lt, en], role: head, manager: jurgis}
  - {id: dmitri, name: "Dmitri Orlov", email: dmitri@staff.demo.example, teams: [logistics], languages: [ru, en], manager: laura}
  - {id: egle, name: "Eglė Balčiūnė", email: egle@staff.demo.example, teams: [logistics], languages: [lt], manager: laura}
  - {id: peter, name: "Peter Hughes", email: peter@staff.demo.example, teams: [quality], languages: [en, ru], manager: natalia}
  - {id: natalia, name: "Natalia Sokolova", email: natalia@staff.demo.example, teams: [quality], languages: [ru, lt, en], role: head, manager: jurgis}
  - {id: jurgis, name: "Jurgis Adomaitis", email: jurgis@staff.demo.example, languages: [lt, en, ru], role: top}
teams:
  - {name: logistics, head: laura}
  - {name: quality, head: natalia}
routing:
  categories: {delivery: logistics, service: logistics, quality: quality, billing: quality, misinformation: quality}
  default_owner: natalia
  tiers: {frontline_max: 100, head_max: 1000, currency: EUR, rates: {RUB: 0.011, USD: 0.92}}
`

// demoStaffDomain is where the demo's staff notifications go.
const demoStaffDomain = "@staff.demo.example"

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// runDemoScript plays the customers: the sample mails first, then a reply by
// one customer to the acknowledgement she got, and a stranger who forges
// another customer's complaint tag.
func runDemoScript(ctx context.Context, d *daemon, env *demoEnv, stdout io.Writer) error {
	if _, err := d.Listen(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	err := playCustomers(ctx, d.st, env, stdout)
	stop()
	if rerr := <-done; rerr != nil && err == nil {
		err = rerr
	}
	return err
}

func playCustomers(ctx context.Context, st store.Store, env *demoEnv, stdout io.Writer) error {
	names, err := fs.Glob(demoMail, "demomail/*.eml")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, n := range names {
		raw, _ := demoMail.ReadFile(n)
		if err := env.imap.Append(demoInbox, "INBOX", raw); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "delivered %d sample mails to the in-process IMAP inbox; waiting for the pipeline...\n", len(names))
	acks, err := waitCustomerMail(ctx, env.smtp, 5)
	if err != nil {
		return fmt.Errorf("waiting for acknowledgements: %w", err)
	}
	ack := findAck(acks, "jane.miller@example.com")
	if ack == nil {
		return errors.New("no acknowledgement reached jane.miller@example.com")
	}
	for _, raw := range followUps(ack) {
		if err := env.imap.Append(demoInbox, "INBOX", raw); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "delivered Jane's reply to her acknowledgement and a stranger's mail with a forged tag; waiting...")
	if _, err := waitCustomerMail(ctx, env.smtp, 6); err != nil {
		return fmt.Errorf("waiting for the stranger's acknowledgement: %w", err)
	}
	if err := waitInbound(ctx, st, len(names)+2); err != nil {
		return err
	}
	return waitOutboxDrained(ctx, st)
}

// isStaffMail tells the owner notifications from the customers' mail.
func isStaffMail(r fakemail.Received) bool {
	return len(r.To) == 1 && strings.HasSuffix(r.To[0], demoStaffDomain)
}

// splitMail separates what customers received from what staff did.
func splitMail(all []fakemail.Received) (customers, staff []fakemail.Received) {
	for _, r := range all {
		if isStaffMail(r) {
			staff = append(staff, r)
		} else {
			customers = append(customers, r)
		}
	}
	return customers, staff
}

// waitCustomerMail waits until n mails have reached customers (staff
// notifications arrive in between) and returns them.
func waitCustomerMail(ctx context.Context, s *fakemail.SMTP, n int) ([]fakemail.Received, error) {
	for {
		all := s.Messages()
		if customers, _ := splitMail(all); len(customers) >= n {
			return customers, nil
		}
		if _, err := s.Wait(ctx, len(all)+1); err != nil {
			return nil, err
		}
	}
}

// waitOutboxDrained waits until no notification is pending, so the demo
// shows every mail that was sent.
func waitOutboxDrained(ctx context.Context, st store.Store) error {
	for {
		pending := false
		err := st.View(ctx, func(tx store.Tx) error {
			_, ok, err := tx.NextDue()
			pending = ok
			return err
		})
		if err != nil || !pending {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("notifications still pending: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func findAck(acks []fakemail.Received, to string) *ackView {
	for _, a := range acks {
		v := parseAck(a.Data)
		if len(a.To) == 1 && a.To[0] == to {
			return &v
		}
	}
	return nil
}

// followUps are Jane's reply to her acknowledgement (threads by our signed
// Message-ID) and a stranger's mail carrying Jane's tag (must not attach).
func followUps(ack *ackView) [][]byte {
	reply := fmt.Sprintf("From: Jane Miller <jane.miller@example.com>\r\nTo: support@demo.example\r\nSubject: %s\r\n"+
		"Date: %s\r\nMessage-ID: <en-2@example.com>\r\nIn-Reply-To: <%s>\r\nReferences: <en-1@example.com> <%s>\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\nThe router model is XR-500, serial 8812. I can be reached after 5 pm.\r\n\r\n"+
		"On Sun, 29 Nov 2026, Demo Ltd wrote:\r\n> Thank you for writing to us.\r\n", ack.Subject, time.Now().Format(time.RFC1123Z), ack.MessageID, ack.MessageID)
	forged := fmt.Sprintf("From: Mallory <mallory@example.org>\r\nTo: support@demo.example\r\nSubject: Re: please add this %s\r\n"+
		"Date: %s\r\nMessage-ID: <forged-1@example.org>\r\nContent-Type: text/plain\r\n\r\nPlease send me the details of this complaint.\r\n",
		ack.Tag, time.Now().Format(time.RFC1123Z))
	return [][]byte{[]byte(reply), []byte(forged)}
}

func waitInbound(ctx context.Context, st store.Store, n int) error {
	for {
		var got int
		err := st.View(ctx, func(tx store.Tx) error {
			return tx.ForEachMessage(func(m *store.Message) error {
				if m.Direction == store.DirectionIn {
					got++
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d inbound mails recorded: %w", got, n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ackView is what the demo shows of a sent acknowledgement.
type ackView struct {
	To, Subject, MessageID, InReplyTo, AutoSubmitted, Tag, Text string
}

func parseAck(raw []byte) ackView {
	var v ackView
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		v.Text = "(unreadable: " + err.Error() + ")"
		return v
	}
	v.To = r.Header.Get("To")
	v.Subject, _ = r.Header.Subject()
	v.MessageID, _ = r.Header.MessageID()
	v.AutoSubmitted = r.Header.Get("Auto-Submitted")
	if ids, _ := r.Header.MsgIDList("In-Reply-To"); len(ids) > 0 {
		v.InReplyTo = ids[0]
	}
	if i := strings.LastIndex(v.Subject, "[C-"); i >= 0 {
		v.Tag = v.Subject[i:]
	}
	for {
		p, err := r.NextPart()
		if err != nil {
			break
		}
		if ct, _, _ := p.Header.(*mail.InlineHeader).ContentType(); ct == "text/plain" && v.Text == "" {
			b, _ := io.ReadAll(p.Body)
			v.Text = string(b)
		}
	}
	return v
}
