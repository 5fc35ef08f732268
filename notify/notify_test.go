package notify

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"complaintbot/store"
)

func TestNewValidates(t *testing.T) {
	st := openStore(t)
	good := testOptions(st, "127.0.0.1:25")
	tests := []struct {
		name   string
		mutate func(*Options)
		want   string
	}{
		{"no store", func(o *Options) { o.Store = nil }, "Store"},
		{"no relay", func(o *Options) { o.SMTP.Addr = "" }, "SMTP.Addr"},
		{"bad tls mode", func(o *Options) { o.SMTP.TLS = "ssl" }, "SMTP.TLS"},
		{"bad from", func(o *Options) { o.From.Email = "care at acme" }, "From"},
		{"backoff bounds", func(o *Options) { o.MinBackoff = time.Hour }, "MinBackoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			o.Registerer = nil
			tt.mutate(&o)
			_, err := New(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: err = %v, want one naming %s", err, tt.want)
			}
		})
	}
	if _, err := New(good); err != nil {
		t.Errorf("New(valid): %v", err)
	}
}

func TestSendAck(t *testing.T) {
	rec := &relay{}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	o := testOptions(st, addr)
	reg := o.Registerer.(*prometheus.Registry)
	row := seed(t, st, ackRow("lt", "Ona Jonaitė", "ona@customer.test", "Sugedęs virdulys"))
	n := newNotifier(t, o)
	run(t, n)

	eventually(t, "the row marked sent", func() bool { return statusOf(t, st, row.ID) == store.NotifySent })
	msgs := rec.messages()
	if len(msgs) != 1 {
		t.Fatalf("relay got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != testFrom.Email || m.To != "ona@customer.test" {
		t.Errorf("envelope %s -> %s", m.From, m.To)
	}
	p := parseMessage(t, m.Data)
	if got := p.header.Get("Message-Id"); got != "<"+row.MessageID+">" {
		t.Errorf("Message-ID = %q, want <%s>", got, row.MessageID)
	}
	if got := p.header.Get("In-Reply-To"); got != "<orig-1@customer.test>" {
		t.Errorf("In-Reply-To = %q", got)
	}
	if p.header.Get("Auto-Submitted") != "auto-replied" {
		t.Error("Auto-Submitted missing")
	}
	if !strings.Contains(p.text, row.Data["number"]) || !strings.Contains(p.text, "2026-11-29 16:00 (Europe/Vilnius)") {
		t.Errorf("text lacks number or due:\n%s", p.text)
	}

	got := notification(t, st, row.ID)
	if got.Attempts != 1 || got.SentAt.IsZero() || got.LastError != "" {
		t.Errorf("sent row: attempts %d, sent at %v, last error %q", got.Attempts, got.SentAt, got.LastError)
	}
	out := messagesOf(t, st, row.ComplaintID)
	if len(out) != 1 {
		t.Fatalf("%d messages on the complaint, want the outbound one", len(out))
	}
	o1 := out[0]
	if o1.Direction != store.DirectionOut || o1.Channel != store.ChannelEmail || o1.Status != store.StatusSent ||
		o1.MessageID != row.MessageID || o1.Subject != row.Subject || o1.From != testFrom ||
		len(o1.To) != 1 || o1.To[0].Email != "ona@customer.test" ||
		fmt.Sprint(o1.InReplyTo) != "[orig-1@customer.test]" ||
		fmt.Sprint(o1.References) != "[root@customer.test orig-1@customer.test]" ||
		!strings.Contains(o1.Text, row.Data["number"]) || o1.Size != int64(len(m.Data)) {
		t.Errorf("outbound message recorded as %+v", o1)
	}
	evs := eventsOf(t, st, row.ComplaintID)
	if len(evs) != 1 || evs[0].Kind != "ack_sent" || evs[0].Actor != "notify" ||
		evs[0].Fields["message_id"] != row.MessageID || evs[0].Fields["to"] != "ona@customer.test" {
		t.Errorf("events %+v, want one ack_sent", evs)
	}
	// The metrics are counted once the commit has returned, a moment after
	// the row reads as sent.
	eventually(t, "sent_total 1 and outbox_pending 0", func() bool {
		return metricValue(t, reg, "complaintbot_notifications_sent_total", "channel", "email", "kind", "ack") == 1 &&
			metricValue(t, reg, "complaintbot_outbox_pending") == 0
	})
	if h := n.Health(); !h.OK || h.LastSuccess.IsZero() {
		t.Errorf("Health = %+v", h)
	}
}

func TestTemporaryFailureRetriedThenSentOnce(t *testing.T) {
	rec := &relay{onRcpt: func(_ string, n int) error {
		if n <= 2 {
			return reply(451, smtp.EnhancedCode{4, 3, 0}, "try again later")
		}
		return nil
	}}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	o := testOptions(st, addr)
	o.MinBackoff, o.MaxBackoff = 60*time.Millisecond, 200*time.Millisecond
	row := seed(t, st, ackRow("en", "Ann", "ann@customer.test", "Late parcel"))
	start := time.Now()
	run(t, newNotifier(t, o))

	eventually(t, "a temporary failure recorded", func() bool { return notification(t, st, row.ID).Attempts >= 1 })
	first := notification(t, st, row.ID)
	if first.Status == store.NotifyPending && (!strings.Contains(first.LastError, "451") || !first.NextAttempt.After(start)) {
		t.Errorf("after a 451: %+v", first)
	}
	eventually(t, "the row marked sent", func() bool { return statusOf(t, st, row.ID) == store.NotifySent })
	time.Sleep(100 * time.Millisecond)
	if c := rec.count(); c != 1 {
		t.Errorf("relay accepted %d messages, want 1", c)
	}
	got := notification(t, st, row.ID)
	if got.Attempts != 3 || rec.rcptCount("ann@customer.test") != 3 {
		t.Errorf("attempts = %d, RCPTs = %d, want 3 and 3", got.Attempts, rec.rcptCount("ann@customer.test"))
	}
	// Two waits of at least half of 60ms and 120ms each.
	if el := rec.messages()[0].At.Sub(start); el < 90*time.Millisecond {
		t.Errorf("sent %v after start; backoff not applied", el)
	}
	if v := metricValue(t, o.Registerer, "complaintbot_notifications_failed_total", "kind_of_failure", "temporary"); v != 2 {
		t.Errorf("temporary failures counted %v, want 2", v)
	}
	if evs := eventsOf(t, st, row.ComplaintID); len(evs) != 1 || evs[0].Kind != "ack_sent" {
		t.Errorf("events %+v, want only ack_sent", evs)
	}
}

func TestPermanentFailureNotRetried(t *testing.T) {
	rec := &relay{onRcpt: func(string, int) error {
		return reply(550, smtp.EnhancedCode{5, 1, 1}, "mailbox unavailable")
	}}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	row := seed(t, st, ackRow("en", "Bob", "nobody@customer.test", "Refund"))
	o := testOptions(st, addr)
	run(t, newNotifier(t, o))

	eventually(t, "the row failed", func() bool { return statusOf(t, st, row.ID) == store.NotifyFailed })
	time.Sleep(200 * time.Millisecond) // several backoff periods
	if c := rec.rcptCount("nobody@customer.test"); c != 1 {
		t.Errorf("RCPT tried %d times, want 1", c)
	}
	if rec.count() != 0 {
		t.Error("a rejected message was delivered")
	}
	got := notification(t, st, row.ID)
	if got.Attempts != 1 || !strings.Contains(got.LastError, "550 5.1.1 mailbox unavailable") {
		t.Errorf("failed row: %+v", got)
	}
	evs := eventsOf(t, st, row.ComplaintID)
	if len(evs) != 1 || evs[0].Kind != "ack_failed" || !strings.Contains(evs[0].Text, "550 5.1.1 mailbox unavailable") ||
		evs[0].Fields["message_id"] != row.MessageID {
		t.Errorf("events %+v, want one ack_failed with the reply", evs)
	}
	if len(messagesOf(t, st, row.ComplaintID)) != 0 {
		t.Error("an outbound message was recorded for a failed row")
	}
	if v := metricValue(t, o.Registerer, "complaintbot_notifications_failed_total", "kind_of_failure", "permanent"); v != 1 {
		t.Errorf("permanent failures counted %v", v)
	}
}

func TestGiveUpAfterMaxAttempts(t *testing.T) {
	rec := &relay{onRcpt: func(string, int) error { return reply(452, smtp.EnhancedCode{4, 2, 2}, "mailbox full") }}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	o := testOptions(st, addr)
	o.MinBackoff, o.MaxBackoff, o.MaxAttempts = 5*time.Millisecond, 10*time.Millisecond, 3
	row := seed(t, st, ackRow("en", "Cy", "full@customer.test", "s"))
	run(t, newNotifier(t, o))

	eventually(t, "the row failed", func() bool { return statusOf(t, st, row.ID) == store.NotifyFailed })
	got := notification(t, st, row.ID)
	if got.Attempts != 3 || !strings.Contains(got.LastError, "gave up after 3 attempts: 452") {
		t.Errorf("row %+v", got)
	}
	if evs := eventsOf(t, st, row.ComplaintID); len(evs) != 1 || evs[0].Kind != "ack_failed" {
		t.Errorf("events %+v", evs)
	}
}

func TestInvalidRecipientFailsWithoutContactingRelay(t *testing.T) {
	rec := &relay{}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	bad := seed(t, st, ackRow("en", "X", "not an address", "s"))
	noTemplate := ackRow("en", "Y", "y@customer.test", "s")
	noTemplate.Kind = "survey"
	noTemplate = seed(t, st, noTemplate)
	run(t, newNotifier(t, testOptions(st, addr)))

	for _, row := range []*store.Notification{bad, noTemplate} {
		eventually(t, "the row failed", func() bool { return statusOf(t, st, row.ID) == store.NotifyFailed })
		evs := eventsOf(t, st, row.ComplaintID)
		if len(evs) != 1 || evs[0].Kind != row.Kind+"_failed" {
			t.Errorf("events of %s row: %+v", row.Kind, evs)
		}
	}
	if s, _ := rec.stats(); s != 0 || rec.count() != 0 {
		t.Errorf("relay contacted (%d sessions) for rows that cannot be sent", s)
	}
}

func TestRelayDownThenUp(t *testing.T) {
	st := openStore(t)
	addr := freeAddr(t) // nothing listens here yet
	o := testOptions(st, addr)
	o.SMTP.Timeout = time.Second
	var rows []*store.Notification
	for i := range 5 {
		rows = append(rows, seed(t, st, ackRow("en", "C", fmt.Sprintf("c%d@customer.test", i), "s")))
	}
	n := newNotifier(t, o)
	run(t, n)

	eventually(t, "every row to fail a first attempt", func() bool {
		for _, r := range rows {
			if notification(t, st, r.ID).Attempts < 1 {
				return false
			}
		}
		return true
	})
	if h := n.Health(); h.OK || h.LastError == "" || h.FailingSince.IsZero() {
		t.Errorf("Health while the relay is down: %+v", h)
	}
	for _, r := range rows {
		if got := notification(t, st, r.ID); got.Status != store.NotifyPending || got.LastError == "" {
			t.Errorf("row while relay down: %+v", got)
		}
	}

	rec := &relay{}
	serveRelay(t, addr, rec)
	eventuallyAllSent(t, st, rows)
	time.Sleep(100 * time.Millisecond)
	assertEachOnce(t, rec, rows)
	if h := n.Health(); !h.OK {
		t.Errorf("Health after recovery: %+v", h)
	}
}

// assertEachOnce checks that the relay got exactly one message per row.
func assertEachOnce(t *testing.T, rec *relay, rows []*store.Notification) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range rec.messages() {
		p := parseMessage(t, m.Data)
		seen[p.header.Get("Message-Id")]++
	}
	for _, r := range rows {
		if c := seen["<"+r.MessageID+">"]; c != 1 {
			t.Errorf("row %d delivered %d times", r.ID, c)
		}
	}
	if len(seen) != len(rows) {
		t.Errorf("relay got %d distinct messages, want %d", len(seen), len(rows))
	}
}

func TestRestartDoesNotResend(t *testing.T) {
	rec := &relay{}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	var rows []*store.Notification
	for i := range 5 {
		rows = append(rows, seed(t, st, ackRow("ru", "Д", fmt.Sprintf("d%d@customer.test", i), "s")))
	}
	stop := run(t, newNotifier(t, testOptions(st, addr)))
	eventually(t, "first rows sent", func() bool { return rec.count() == 5 })
	eventually(t, "first rows marked", func() bool { return statusOf(t, st, rows[4].ID) == store.NotifySent })
	stop()

	rows = append(rows, seed(t, st, ackRow("ru", "Е", "e@customer.test", "s")))
	o := testOptions(st, addr)
	run(t, newNotifier(t, o))
	eventually(t, "the new row sent", func() bool { return statusOf(t, st, rows[5].ID) == store.NotifySent })
	time.Sleep(100 * time.Millisecond)
	assertEachOnce(t, rec, rows)
}

func TestKickWakesPromptly(t *testing.T) {
	rec := &relay{}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	n := newNotifier(t, testOptions(st, addr))
	run(t, n)
	time.Sleep(50 * time.Millisecond) // let it go to sleep on an empty outbox (up to a minute)

	seed(t, st, ackRow("en", "K", "k@customer.test", "s"))
	kicked := time.Now()
	n.Kick()
	eventually(t, "the kicked row delivered", func() bool { return rec.count() == 1 })
	if d := time.Since(kicked); d > 2*time.Second { // typically a few ms; slack for a loaded CI machine
		t.Errorf("delivered %v after Kick", d)
	}

	// Without a Kick, the timer set from NextDue wakes it.
	later := ackRow("en", "L", "l@customer.test", "s")
	later.NextAttempt = time.Now().Add(400 * time.Millisecond)
	seed(t, st, later)
	n.Kick() // the worker learns of the row, and must wait for it
	time.Sleep(150 * time.Millisecond)
	if rec.count() != 1 {
		t.Fatal("row sent before it was due")
	}
	eventually(t, "the scheduled row delivered", func() bool { return rec.count() == 2 })
	if d := rec.messages()[1].At.Sub(later.NextAttempt); d > time.Second {
		t.Errorf("scheduled row sent %v late", d)
	}
}

func TestKickNeverBlocks(t *testing.T) {
	n := newNotifier(t, testOptions(openStore(t), "127.0.0.1:25"))
	done := make(chan struct{})
	go func() {
		for range 1000 {
			n.Kick()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Kick blocked without a running worker")
	}
}

func TestConnectionsReused(t *testing.T) {
	rec := &relay{}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	o := testOptions(st, addr)
	o.Senders = 2
	o.IdleTimeout = 100 * time.Millisecond
	var rows []*store.Notification
	for i := range 40 {
		rows = append(rows, seed(t, st, ackRow("en", "R", fmt.Sprintf("r%d@customer.test", i), "s")))
	}
	run(t, newNotifier(t, o))
	eventually(t, "all delivered", func() bool { return rec.count() == 40 })
	if s, _ := rec.stats(); s > 2 {
		t.Errorf("%d SMTP sessions for 40 messages with 2 senders; connections not reused", s)
	}
	eventually(t, "idle connections closed with QUIT", func() bool { s, l := rec.stats(); return l == s })
	eventually(t, "rows marked", func() bool { return statusOf(t, st, rows[39].ID) == store.NotifySent })
	assertEachOnce(t, rec, rows)
}

func TestStaleConnectionIsRedialed(t *testing.T) {
	rec := &relay{}
	addr := serveRelayWithTimeout(t, "127.0.0.1:0", rec, 250*time.Millisecond)
	st := openStore(t)
	n := newNotifier(t, testOptions(st, addr)) // IdleTimeout 30s: the relay hangs up first
	run(t, n)
	first := seed(t, st, ackRow("en", "S", "s1@customer.test", "s"))
	n.Kick()
	eventually(t, "first sent", func() bool { return statusOf(t, st, first.ID) == store.NotifySent })
	time.Sleep(700 * time.Millisecond) // the relay times the session out
	second := seed(t, st, ackRow("en", "S", "s2@customer.test", "s"))
	n.Kick()
	eventually(t, "second sent", func() bool { return statusOf(t, st, second.ID) == store.NotifySent })
	if got := notification(t, st, second.ID); got.Attempts != 1 {
		t.Errorf("second row took %d attempts; a dead idle connection should be redialed at once", got.Attempts)
	}
	if s, _ := rec.stats(); s != 2 {
		t.Errorf("%d sessions, want 2 (the relay timed the first out)", s)
	}
}

func serveRelayWithTimeout(t *testing.T, addr string, rec *relay, timeout time.Duration) string {
	t.Helper()
	return serveRelayConfigured(t, addr, rec, func(s *smtp.Server) { s.ReadTimeout = timeout })
}

func TestAuthPlain(t *testing.T) {
	rec := &relay{user: "bot", pass: "s3cret"}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	o := testOptions(st, addr)
	o.SMTP.Username, o.SMTP.Password = "bot", "s3cret"
	row := seed(t, st, ackRow("en", "A", "a@customer.test", "s"))
	run(t, newNotifier(t, o))
	eventually(t, "sent with AUTH", func() bool { return statusOf(t, st, row.ID) == store.NotifySent })

	st2 := openStore(t)
	o2 := testOptions(st2, addr)
	o2.SMTP.Username, o2.SMTP.Password = "bot", "wrong"
	row2 := seed(t, st2, ackRow("en", "A", "a2@customer.test", "s"))
	n2 := newNotifier(t, o2)
	run(t, n2)
	eventually(t, "a failed attempt", func() bool { return notification(t, st2, row2.ID).Attempts >= 1 })
	got := notification(t, st2, row2.ID)
	if got.Status != store.NotifyPending || !strings.Contains(got.LastError, "535") {
		t.Errorf("bad password must keep the row pending (a relay problem, not the message's): %+v", got)
	}
	if h := n2.Health(); h.OK || strings.Contains(h.LastError, "wrong") {
		t.Errorf("Health = %+v (must fail, and never show the password)", h)
	}
}

func TestShutdownFinishesInFlight(t *testing.T) {
	var delivered atomic.Int32
	rec := &relay{onRcpt: func(string, int) error {
		time.Sleep(20 * time.Millisecond) // a slow relay
		delivered.Add(1)
		return nil
	}}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	var rows []*store.Notification
	for i := range 30 {
		rows = append(rows, seed(t, st, ackRow("en", "Z", fmt.Sprintf("z%d@customer.test", i), "s")))
	}
	stop := run(t, newNotifier(t, testOptions(st, addr)))
	eventually(t, "some sent", func() bool { return delivered.Load() >= 3 })
	stop()
	time.Sleep(50 * time.Millisecond)
	sent := 0
	for _, r := range rows {
		if statusOf(t, st, r.ID) == store.NotifySent {
			sent++
		}
	}
	if sent != rec.count() {
		t.Errorf("after shutdown %d rows marked sent but the relay accepted %d", sent, rec.count())
	}
	if sent == len(rows) {
		t.Log("all rows went out before the stop; the test did not interrupt anything")
	}
}

func TestRunTwiceRefused(t *testing.T) {
	n := newNotifier(t, testOptions(openStore(t), freeAddr(t)))
	run(t, n)
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := n.Run(ctx); err == nil {
		t.Error("a second Run was allowed")
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 10*time.Second, 30*time.Minute
	for attempt, want := range map[int]time.Duration{1: lo, 2: 2 * lo, 3: 4 * lo, 8: 1280 * time.Second, 9: hi, 50: hi} {
		for range 100 {
			d := backoff(attempt, lo, hi)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[backoff(5, lo, hi)] = true
	}
	if len(seen) < 2 {
		t.Error("backoff has no jitter")
	}
}

func TestPanicFailsTheRowAndKeepsRunning(t *testing.T) {
	rec := &relay{}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	o := testOptions(st, addr)
	bad := seed(t, st, ackRow("en", "P", "panic@customer.test", "s"))
	good := seed(t, st, ackRow("en", "G", "good@customer.test", "s"))
	n := newNotifier(t, o)
	n.beforeSend = func(row *store.Notification) {
		if row.ID == bad.ID {
			panic("boom")
		}
	}
	run(t, n)
	eventually(t, "the good row sent", func() bool { return statusOf(t, st, good.ID) == store.NotifySent })
	eventually(t, "the panicking row failed", func() bool { return statusOf(t, st, bad.ID) == store.NotifyFailed })
	if got := notification(t, st, bad.ID); !strings.Contains(got.LastError, "boom") {
		t.Errorf("failed row: %+v", got)
	}
	if v := metricValue(t, o.Registerer, "complaintbot_notify_panics_total"); v != 1 {
		t.Errorf("panics counted %v, want 1", v)
	}
}

func TestStoreWriteFailureDoesNotResend(t *testing.T) {
	rec := &relay{}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	var failures atomic.Int32
	st, err := store.OpenBolt(t.TempDir()+"/db", store.BoltOptions{NoSync: true, FailUpdate: func() error {
		if failures.Add(-1) >= 0 {
			return fmt.Errorf("injected: disk full")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	row := seed(t, st, ackRow("en", "W", "w@customer.test", "s"))
	failures.Store(2) // the next two commits fail
	run(t, newNotifier(t, testOptions(st, addr)))

	eventually(t, "the row marked sent", func() bool { return statusOf(t, st, row.ID) == store.NotifySent })
	if c := rec.count(); c != 1 {
		t.Errorf("relay got %d messages; a failed mark must be retried, not the send", c)
	}
	if got := notification(t, st, row.ID); got.Attempts != 1 {
		t.Errorf("attempts = %d, want 1", got.Attempts)
	}
	if evs := eventsOf(t, st, row.ComplaintID); len(evs) != 1 {
		t.Errorf("events %+v, want one ack_sent", evs)
	}
}

// TestLostMarkResendsSameMessageID shows the one duplicate the design
// allows: the relay accepted a message but the mark never reached the
// store (here a store failing until shutdown, in real life a crash). The
// next run sends it again with the same Message-ID, so the customer's mail
// system can tell it is the same message.
func TestLostMarkResendsSameMessageID(t *testing.T) {
	rec := &relay{}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	var broken atomic.Bool
	st, err := store.OpenBolt(t.TempDir()+"/db", store.BoltOptions{NoSync: true, FailUpdate: func() error {
		if broken.Load() {
			return fmt.Errorf("injected: disk gone")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	row := seed(t, st, ackRow("en", "D", "d@customer.test", "s"))
	broken.Store(true)
	o := testOptions(st, addr)
	o.Senders = 1
	stop := run(t, newNotifier(t, o))
	eventually(t, "the first copy accepted", func() bool { return rec.count() == 1 })
	stop()
	if statusOf(t, st, row.ID) != store.NotifyPending {
		t.Fatal("row marked although the store failed")
	}

	broken.Store(false)
	run(t, newNotifier(t, testOptions(st, addr)))
	eventually(t, "the row marked sent", func() bool { return statusOf(t, st, row.ID) == store.NotifySent })
	msgs := rec.messages()
	if len(msgs) != 2 {
		t.Fatalf("relay got %d copies, want 2 (one duplicate)", len(msgs))
	}
	a, b := parseMessage(t, msgs[0].Data), parseMessage(t, msgs[1].Data)
	if a.header.Get("Message-Id") != b.header.Get("Message-Id") || a.header.Get("Message-Id") != "<"+row.MessageID+">" {
		t.Errorf("duplicate carries Message-ID %q, first %q", b.header.Get("Message-Id"), a.header.Get("Message-Id"))
	}
}

// TestOneUnrecordedMessagePerConnection checks the crash bound while
// commits are slow and senders overlap their next message with them:
// whenever the relay takes in a final dot, the messages it accepted
// earlier that are not yet marked sent number fewer than Senders (each
// other connection may have one; this one none).
func TestOneUnrecordedMessagePerConnection(t *testing.T) {
	st, err := store.OpenBolt(t.TempDir()+"/db", store.BoltOptions{NoSync: true, FailUpdate: func() error {
		time.Sleep(15 * time.Millisecond) // a slow disk
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var rows []*store.Notification
	for i := range 30 {
		rows = append(rows, seed(t, st, ackRow("en", "U", fmt.Sprintf("u%d@customer.test", i), "s")))
	}
	const senders = 3
	rec := &relay{}
	var worst atomic.Int32
	rec.onData = func() {
		sent := 0
		for _, r := range rows {
			if statusOf(t, st, r.ID) == store.NotifySent {
				sent++
			}
		}
		unrecorded := int32(rec.count() - sent)
		for w := worst.Load(); unrecorded > w && !worst.CompareAndSwap(w, unrecorded); w = worst.Load() {
		}
	}
	o := testOptions(st, serveRelay(t, "127.0.0.1:0", rec))
	o.Senders = senders
	run(t, newNotifier(t, o))
	eventually(t, "all rows sent", func() bool { return rec.count() == len(rows) })
	if w := worst.Load(); w > senders-1 {
		t.Errorf("at a final dot %d accepted messages were unrecorded; at most %d allowed", w, senders-1)
	}
	if w := worst.Load(); w == 0 {
		t.Log("no overlap observed; the test did not exercise concurrent senders")
	}
}

// TestRefillSendsEachRowOnce reads the outbox in small batches while
// commits are slow, so refills see rows still in flight: none may be
// handed out twice.
func TestRefillSendsEachRowOnce(t *testing.T) {
	st, err := store.OpenBolt(t.TempDir()+"/db", store.BoltOptions{NoSync: true, FailUpdate: func() error {
		time.Sleep(10 * time.Millisecond)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var rows []*store.Notification
	for i := range 20 {
		rows = append(rows, seed(t, st, ackRow("en", "R", fmt.Sprintf("r%d@customer.test", i), "s")))
	}
	rec := &relay{}
	o := testOptions(st, serveRelay(t, "127.0.0.1:0", rec))
	o.Senders, o.BatchSize = 3, 2
	run(t, newNotifier(t, o))
	eventuallyAllSent(t, st, rows)
	for _, r := range rows {
		if c := rec.rcptCount(r.To.Email); c != 1 {
			t.Errorf("%s got %d messages, want 1", r.To.Email, c)
		}
	}
}
