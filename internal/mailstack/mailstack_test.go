package mailstack

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

func testMail(from, to, subject string) (msgID string, raw []byte) {
	msgID = fmt.Sprintf("%s@mailstack.test", randomHex(8))
	raw = fmt.Appendf(nil, "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s>\r\n"+
		"Date: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody of %s\r\n",
		from, to, subject, msgID, time.Now().Format(time.RFC1123Z), subject)
	return msgID, raw
}

func hasMessageID(id string) func([]byte) bool {
	return func(raw []byte) bool { return bytes.Contains(raw, []byte("<"+id+">")) }
}

func customerDomain(s *Stack) string {
	return s.Domains[len(s.Domains)-1]
}

func TestSendThroughPostfixReadThroughDovecot(t *testing.T) {
	t.Parallel()
	s := FromEnv(t)
	alice, _ := s.NewUserAt(t, "Alice Sender", customerDomain(s))
	bob, bobPass := s.NewUser(t, "bob")
	id, raw := testMail(alice, bob, "Postfix to Dovecot")

	start := time.Now()
	if err := s.Send(alice, []string{bob}, raw); err != nil {
		t.Fatal(err)
	}
	got := s.WaitForMail(t, bob, bobPass, 10*time.Second, hasMessageID(id))
	t.Logf("SMTP submission to IMAP visibility: %v", time.Since(start))

	for _, want := range []string{"Subject: Postfix to Dovecot", "body of Postfix to Dovecot", "by mailstack." + s.Domain} {
		if !bytes.Contains(got.Raw, []byte(want)) {
			t.Errorf("delivered mail lacks %q:\n%s", want, got.Raw)
		}
	}
	if all := s.Messages(t, bob, bobPass); len(all) != 1 {
		t.Errorf("bob's INBOX holds %d mails, want 1", len(all))
	}
}

func TestUnknownRecipientIsRejected(t *testing.T) {
	t.Parallel()
	s := FromEnv(t)
	nobody := "nobody-" + randomHex(4) + "@" + s.Domain
	_, raw := testMail("a@"+s.Domain, nobody, "lost")
	if err := s.Deliver("a@"+s.Domain, []string{nobody}, raw); err == nil {
		t.Fatalf("LMTP accepted mail for %s, who has no passwd line", nobody)
	}
}

func TestNewUserIsFreshAndCanLogIn(t *testing.T) {
	t.Parallel()
	s := FromEnv(t)
	a, aPass := s.NewUser(t, "same")
	b, _ := s.NewUser(t, "same")
	if a == b {
		t.Fatalf("two NewUser calls returned %s", a)
	}
	if !strings.HasPrefix(a, "same-") || !strings.HasSuffix(a, "@"+s.Domain) {
		t.Errorf("address %q does not have the form same-XXXX@%s", a, s.Domain)
	}
	if n := len(s.Messages(t, a, aPass)); n != 0 {
		t.Errorf("fresh mailbox holds %d mails", n)
	}
	c, err := imapclient.DialInsecure(s.IMAPAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(a, "wrong-password").Wait(); err == nil {
		t.Errorf("login with a wrong password succeeded")
	}
}

// TestIdleLatency measures how long after delivery an IDLE client hears of new mail, for
// LMTP delivery (Dovecot alone) and SMTP submission (Postfix, then Dovecot).
func TestIdleLatency(t *testing.T) {
	t.Parallel()
	s := FromEnv(t)
	user, pass := s.NewUser(t, "idle")
	exists := make(chan uint32, 16)
	c := s.Login(t, user, pass, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		idle.Close()
		idle.Wait()
	}()

	const rounds = 4
	var want uint32
	for _, via := range []struct {
		name string
		send func(from string, to []string, raw []byte) error
	}{{"lmtp", s.Deliver}, {"smtp", s.Send}} {
		var lat []time.Duration
		for range rounds {
			_, raw := testMail("idle@"+s.Domain, user, via.name)
			start := time.Now()
			if err := via.send("idle@"+s.Domain, []string{user}, raw); err != nil {
				t.Fatal(err)
			}
			want++
			waitExists(t, exists, want)
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		t.Logf("IDLE notification after %s delivery: min %v, median %v, max %v (n=%d)",
			via.name, lat[0].Round(time.Millisecond), lat[len(lat)/2].Round(time.Millisecond),
			lat[len(lat)-1].Round(time.Millisecond), len(lat))
		if lat[len(lat)-1] > 3*time.Second {
			t.Errorf("IDLE notification took %v after %s delivery, want well under 3s", lat[len(lat)-1], via.name)
		}
	}
}

func waitExists(t *testing.T, exists <-chan uint32, want uint32) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case n := <-exists:
			if n >= want {
				return
			}
		case <-timeout:
			t.Fatalf("no EXISTS %d during IDLE within 10s", want)
		}
	}
}

// TestDovecotOutageQueuesMail stops Dovecot, submits through Postfix, starts Dovecot and
// finds the mail delivered: what fault tests build on.
func TestDovecotOutageQueuesMail(t *testing.T) {
	s := Exclusive(t)
	from, _ := s.NewUserAt(t, "outage-from", customerDomain(s))
	to, toPass := s.NewUser(t, "outage-to")
	id, raw := testMail(from, to, "during outage")

	s.StopDovecot(t)
	if answers(s.IMAPAddr) {
		t.Fatal("IMAP still answers after StopDovecot")
	}
	if err := s.Send(from, []string{to}, raw); err != nil {
		t.Fatalf("Postfix refused mail while Dovecot was down: %v", err)
	}
	s.StartDovecot(t)
	s.FlushQueue(t)
	s.WaitForMail(t, to, toPass, 20*time.Second, hasMessageID(id))
}

func TestServerControlNeedsExclusive(t *testing.T) {
	s := &Stack{}
	r := runFake(t, func(tb testing.TB) { s.StopDovecot(tb) })
	if !r.fatal {
		t.Fatal("StopDovecot on a shared stack did not fail the test")
	}
}

func TestMissingStackSkipsOrFails(t *testing.T) {
	for _, tc := range []struct {
		name             string
		ci, require      string
		wantFatal, wantS bool
	}{
		{name: "developer", wantS: true},
		{name: "CI", ci: "true", wantFatal: true},
		{name: "required", require: "1", wantFatal: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvPresent, "")
			t.Setenv("CI", tc.ci)
			t.Setenv(EnvRequire, tc.require)
			r := runFake(t, func(tb testing.TB) { FromEnv(tb) })
			if r.fatal != tc.wantFatal || r.skip != tc.wantS {
				t.Errorf("fatal=%v skip=%v, want fatal=%v skip=%v", r.fatal, r.skip, tc.wantFatal, tc.wantS)
			}
		})
	}
}

func TestLoadReportsMissingVariables(t *testing.T) {
	t.Setenv(EnvPresent, "1")
	t.Setenv(EnvIMAP, "127.0.0.1:1")
	t.Setenv(EnvSMTP, "")
	_, err := Load()
	if err == nil || !strings.Contains(err.Error(), EnvSMTP) {
		t.Fatalf("Load() error = %v, want one naming %s", err, EnvSMTP)
	}
}

// TestExclusiveWaitsAndBlocksNewShares checks the locking between test binaries on a
// private lock dir: an Exclusive waits for a held share, and a share asked for while the
// Exclusive waits comes after it.
func TestExclusiveWaitsAndBlocksNewShares(t *testing.T) {
	s := &Stack{Dir: t.TempDir()}
	held := s.acquire(t, "stack.lock", syscall.LOCK_SH)
	order := make(chan string, 2)
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		runFake(t, func(tb testing.TB) { s.lock(tb, true); order <- "exclusive" })
	}()
	waitHeld(t, filepath.Join(s.Dir, "gate.lock")) // the exclusive waiter holds the gate
	go func() {
		defer func() { done <- struct{}{} }()
		runFake(t, func(tb testing.TB) { s.lock(tb, false); order <- "shared" })
	}()
	time.Sleep(100 * time.Millisecond)
	if len(order) != 0 {
		t.Fatalf("%s got the lock while a share was held", <-order)
	}
	held.Close()
	<-done
	<-done
	if first, second := <-order, <-order; first != "exclusive" || second != "shared" {
		t.Errorf("lock order %s, %s; want exclusive, shared", first, second)
	}
}

func TestLocalPart(t *testing.T) {
	for in, want := range map[string]string{
		"bob": "bob", "Alice Sender": "alice-sender", "": "user", "..": "user",
		"a.b@c": "a-b-c", "Юра": "user", "x_1": "x-1",
	} {
		if got := localPart(in); got != want {
			t.Errorf("localPart(%q) = %q, want %q", in, got, want)
		}
	}
}

// fakeTB records Fatal and Skip, which end the calling goroutine like the real ones.
type fakeTB struct {
	testing.TB
	fatal, skip bool
	cleanups    []func()
}

func (f *fakeTB) Helper()                     {}
func (f *fakeTB) Logf(string, ...any)         {}
func (f *fakeTB) Cleanup(fn func())           { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Fatalf(string, ...any)       { f.fatal = true; runtime.Goexit() }
func (f *fakeTB) Skipf(string, ...any)        { f.skip = true; runtime.Goexit() }
func (f *fakeTB) Deadline() (time.Time, bool) { return time.Now().Add(10 * time.Second), true }

// runFake runs fn with a fakeTB on its own goroutine, then runs its cleanups.
func runFake(t *testing.T, fn func(testing.TB)) *fakeTB {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	for _, c := range slices.Backward(f.cleanups) {
		c()
	}
	return f
}

// waitHeld waits until another file description holds an exclusive flock on path.
func waitHeld(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		f.Close()
		if err != nil {
			return
		}
	}
	t.Fatalf("nobody took %s", path)
}

// TestSieveVacationAnswers proves the auto-responder a mail-loop test needs: a user with a
// vacation rule answers a mail through Postfix, marked as an automatic reply.
func TestSieveVacationAnswers(t *testing.T) {
	t.Parallel()
	s := FromEnv(t)
	sender, senderPass := s.NewUser(t, "writes")
	away, _ := s.NewUserAt(t, "away", customerDomain(s))
	s.SetSieve(t, away, `require ["vacation", "vacation-seconds"];
vacation :seconds 1 :subject "Away" "I am away.";
`)
	id, raw := testMail(sender, away, "are you there")
	if err := s.Send(sender, []string{away}, raw); err != nil {
		t.Fatal(err)
	}
	reply := s.WaitForMail(t, sender, senderPass, 15*time.Second, nil)
	for _, want := range []string{"Subject: Away", "Auto-Submitted: auto-replied", "In-Reply-To: <" + id + ">"} {
		if !bytes.Contains(reply.Raw, []byte(want)) {
			t.Errorf("vacation reply lacks %q:\n%s", want, reply.Raw)
		}
	}
}

// BenchmarkSendThroughPostfix measures how fast Postfix accepts mail from parallel
// clients (one connection per mail, as Send does) and how fast it lands in Dovecot.
func BenchmarkSendThroughPostfix(b *testing.B) {
	s := FromEnv(b)
	from, _ := s.NewUserAt(b, "bench-from", customerDomain(s))
	to, toPass := s.NewUser(b, "bench-to")
	_, raw := testMail(from, to, "benchmark")
	b.SetParallelism(4)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Send(from, []string{to}, raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
	accepted := time.Since(start)
	s.WaitForMails(b, to, toPass, time.Minute, b.N, nil)
	delivered := time.Since(start)
	b.ReportMetric(float64(b.N)/accepted.Seconds(), "accepted/s")
	b.ReportMetric(float64(b.N)/delivered.Seconds(), "delivered/s")
}
