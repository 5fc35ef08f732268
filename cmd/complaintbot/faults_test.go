package main

// Fault tests of issue 3 against the real Dovecot and Postfix of
// scripts/mailstack.sh. Each runs the built daemon binary (the product as
// deployed, not slowed by the race detector) and inspects its store once
// it has stopped. This file holds what they share; each fault has its own
// faults_*_test.go.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"complaintbot/internal/mailstack"
	"complaintbot/store"
)

const faultToken = "fault-token"

// faultConfig is what a fault test varies in the daemon's config.
type faultConfig struct {
	support    string // the support mailbox the daemon reads
	ackPerHour int    // ack.max_per_customer_per_hour
	batch      int    // inboxes[0].batch_size
	maxBackoff string // inboxes[0].max_backoff, "" for the default
	after      string // inboxes[0].after, "" for seen
}

// faultDaemon is one daemon binary working on one store and config; it can
// be stopped and started again on the same store.
type faultDaemon struct {
	t       *testing.T
	bin     string
	cfgPath string
	db      string
	http    string
	env     []string
	cmd     *exec.Cmd
	runs    int
}

// newFaultDaemon builds the binary and writes the config; Start runs it.
func newFaultDaemon(t *testing.T, st *mailstack.Stack, supportPassword string, fc faultConfig) *faultDaemon {
	t.Helper()
	dir := t.TempDir()
	d := &faultDaemon{t: t, bin: buildBinary(t, dir), db: filepath.Join(dir, "cb.db"), http: freeAddr(t),
		env: append(os.Environ(), "CB_PW="+supportPassword, "CB_TS=fault-secret-0123456789abc", "CB_TOK="+faultToken)}
	d.cfgPath = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(d.cfgPath, []byte(faultConfigText(st, d, fc)), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

func faultConfigText(st *mailstack.Stack, d *faultDaemon, fc faultConfig) string {
	ih, ip, _ := net.SplitHostPort(st.IMAPAddr)
	sh, sp, _ := net.SplitHostPort(st.SMTPAddr)
	after := cmp.Or(fc.after, "seen")
	backoff := ""
	if fc.maxBackoff != "" {
		backoff = ", max_backoff: " + fc.maxBackoff
	}
	return fmt.Sprintf(`
company: {name: "Fault Ltd", timezone: UTC}
store: {path: %q}
ack: {reaction_time: 1h, max_per_customer_per_hour: %d}
inboxes:
  - {name: support, host: %s, port: %s, tls: none, user: %q, password_env: CB_PW, after: %s, poll_interval: 5s, batch_size: %d%s}
smtp: {host: %s, port: %s, tls: none, from: "Fault Care <%s>", connections: 1}
threading: {secret_env: CB_TS, domain: fault.test}
http: {listen: %q, token_env: CB_TOK}
`, d.db, fc.ackPerHour, ih, ip, fc.support, after, fc.batch, backoff, sh, sp, fc.support, d.http)
}

// Start runs the daemon and waits until its HTTP listener answers.
func (d *faultDaemon) Start() {
	d.t.Helper()
	d.runs++
	logPath := fmt.Sprintf("%s.log-%d", d.db, d.runs)
	d.cmd = startBinary(d.t, d.bin, d.cfgPath, d.env, logPath)
	d.t.Cleanup(func() { logTailOnFailure(d.t, logPath) })
	waitFor(d.t, 20*time.Second, "the daemon's HTTP listener", func() bool {
		code, _ := d.health()
		return code != 0
	})
}

// logTailOnFailure shows the end of a daemon log when the test failed (the
// temporary dir goes away with the test).
func logTailOnFailure(t *testing.T, path string) {
	if !t.Failed() {
		return
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	t.Logf("last lines of %s:\n%s", filepath.Base(path), strings.Join(lines[max(0, len(lines)-40):], "\n"))
}

// Stop ends the daemon with SIGTERM (a clean shutdown) and waits for it.
func (d *faultDaemon) Stop() {
	d.t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			d.t.Errorf("daemon exit after SIGTERM: %v (log %s.log-%d)", err, d.db, d.runs)
		}
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		d.t.Fatalf("daemon did not stop within 30s of SIGTERM")
	}
}

// Complaints is the complaint total the running daemon reports (-1: no answer).
func (d *faultDaemon) Complaints() int { return apiTotal(d.http, faultToken) }

// health returns the /healthz status code (0: no answer) and its checks by name.
func (d *faultDaemon) health() (int, map[string]bool) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + d.http + "/healthz")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var body struct {
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	checks := map[string]bool{}
	for _, c := range body.Checks {
		checks[c.Name] = c.OK
	}
	return resp.StatusCode, checks
}

// failing reports whether /healthz answers 503 with check name not OK.
func (d *faultDaemon) failing(name string) bool {
	code, checks := d.health()
	ok, found := checks[name]
	return code == http.StatusServiceUnavailable && found && !ok
}

// Metric sums the series of the metric name on /metrics whose labels
// include each of labels (e.g. `reason="duplicate"`; none: all series);
// -1 when there is none.
func (d *faultDaemon) Metric(name string, labels ...string) float64 {
	resp, err := http.Get("http://" + d.http + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	sum, found := 0.0, false
	for _, line := range strings.Split(buf.String(), "\n") {
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") || !containsAll(line, labels) {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			sum, found = sum+v, true
		}
	}
	if !found {
		return -1
	}
	return sum
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// View opens the store of the stopped daemon read-only for fn.
func (d *faultDaemon) View(fn func(store.Tx) error) {
	d.t.Helper()
	viewStoreFile(d.t, d.db, fn)
}

// viewStoreFile opens the store file of a stopped daemon read-only and runs
// fn in a read transaction; an error from either fails the test.
func viewStoreFile(t testing.TB, path string, fn func(store.Tx) error) {
	t.Helper()
	s, err := store.OpenBolt(path, store.BoltOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// onceFigures is what recordedOnce found.
type onceFigures struct {
	distinct   int // Message-IDs recorded
	duplicates int // extra records of a Message-ID already recorded
	complaints int // complaints those mails opened or joined
}

// recordedOnce counts the inbound mails of the stopped daemon's store whose
// Message-ID starts with prefix, and fails the test unless exactly n
// distinct ones are there, each once, each with a complaint.
func (d *faultDaemon) recordedOnce(prefix string, n int) onceFigures {
	d.t.Helper()
	count := map[string]int{}
	complaints := map[uint64]bool{}
	d.View(func(tx store.Tx) error {
		return tx.ForEachMessage(func(m *store.Message) error {
			if m.Direction == store.DirectionIn && strings.HasPrefix(m.MessageID, prefix) {
				count[m.MessageID]++
				complaints[m.ComplaintID] = true
			}
			return nil
		})
	})
	f := onceFigures{distinct: len(count), complaints: len(complaints)}
	for id, c := range count {
		if c != 1 {
			f.duplicates += c - 1
			d.t.Errorf("%s recorded %d times", id, c)
		}
	}
	if f.distinct != n {
		d.t.Errorf("%d distinct mails recorded, want %d (lost mail)", f.distinct, n)
	}
	if complaints[0] {
		d.t.Errorf("a mail with prefix %s was recorded without a complaint", prefix)
	}
	return f
}

// kick ends user's IMAP sessions (doveadm kick): Dovecot tells the client
// BYE and closes the connection.
func kick(t *testing.T, st *mailstack.Stack, user string) {
	t.Helper()
	out, err := exec.Command("doveadm", "-c", st.DovecotConf, "kick", user).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "no users kicked") { // exit 68: none connected
		t.Fatalf("doveadm kick %s: %v\n%s", user, err, out)
	}
}

// complaintMail is a plain complaint with Message-ID <id>.
func complaintMail(from, to, id, subject string) []byte {
	return fmt.Appendf(nil, "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"The parcel for %s arrived broken. I want a replacement or my money back.\r\n",
		from, to, subject, id, time.Now().Format(time.RFC1123Z), subject)
}

// deliverAll puts the mails into to's mailbox over Dovecot's LMTP, from
// several connections in parallel, each kept open for many mails (one
// connection per mail, as mailstack.Deliver does, tops out near 100/s).
func deliverAll(t *testing.T, st *mailstack.Stack, from, to string, raws [][]byte) {
	t.Helper()
	pushAll(t, st.LMTPAddr, smtp.NewClientLMTP, from, to, raws)
}

// sendAll submits the mails through Postfix the same way.
func sendAll(t *testing.T, st *mailstack.Stack, from, to string, raws [][]byte) {
	t.Helper()
	pushAll(t, st.SMTPAddr, smtp.NewClient, from, to, raws)
}

const pushWorkers = 8

func pushAll(t *testing.T, addr string, newClient func(net.Conn) *smtp.Client, from, to string, raws [][]byte) {
	t.Helper()
	next := make(chan []byte)
	errs := make(chan error, pushWorkers)
	var wg sync.WaitGroup
	for range pushWorkers {
		wg.Go(func() { errs <- pushWorker(addr, newClient, from, to, next) })
	}
	for _, raw := range raws {
		next <- raw
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// pushWorker transfers what comes on next over one session; after an error
// it drains next so that the feeder never blocks.
func pushWorker(addr string, newClient func(net.Conn) *smtp.Client, from, to string, next <-chan []byte) error {
	defer func() {
		for range next {
		}
	}()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	c := newClient(conn)
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	for raw := range next {
		if err := c.SendMail(from, []string{to}, bytes.NewReader(raw)); err != nil {
			return fmt.Errorf("mail to %s via %s: %w", to, addr, err)
		}
	}
	return c.Quit()
}
