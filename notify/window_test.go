package notify

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"complaintbot/store"
)

// limitListener passes at most limit connections at a time to the SMTP
// server (0: any number); one more is greeted with a 421, as Postfix's
// smtpd_client_connection_count_limit does, and closed. It keeps the
// largest number of connections it ever passed at once.
type limitListener struct {
	net.Listener
	limit int

	mu       sync.Mutex
	open     int
	peak     int
	rejected int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.limit > 0 && l.open >= l.limit {
			l.rejected++
			l.mu.Unlock()
			fmt.Fprintf(c, "421 4.7.0 relay.test Error: too many connections from 127.0.0.1\r\n")
			c.Close()
			continue
		}
		l.open++
		l.peak = max(l.peak, l.open)
		l.mu.Unlock()
		return &countedConn{Conn: c, l: l}, nil
	}
}

func (l *limitListener) stats() (peak, rejected int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peak, l.rejected
}

type countedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// serveLimitedRelay serves rec behind a limitListener; every message takes
// the relay perDot to accept, so that sending needs parallel connections.
func serveLimitedRelay(t *testing.T, rec *relay, limit int, perDot time.Duration) (string, *limitListener) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ll := &limitListener{Listener: inner, limit: limit}
	rec.onData = func() { time.Sleep(perDot) }
	return serveRelayOn(t, ll, rec, nil), ll
}

// sendAll seeds count ack rows, runs a notifier with senders connections
// against addr until every row is marked sent, and returns the rows and
// the notifier's metrics.
func sendAll(t *testing.T, addr string, senders, count int) ([]*store.Notification, *store.Bolt, *prometheus.Registry, *Notifier) {
	t.Helper()
	st := openStore(t)
	var rows []*store.Notification
	for i := range count {
		rows = append(rows, seed(t, st, ackRow("en", "W", fmt.Sprintf("w%d@customer.test", i), "s")))
	}
	o := testOptions(st, addr)
	reg := prometheus.NewRegistry()
	o.Registerer, o.Senders = reg, senders
	n := newNotifier(t, o)
	run(t, n)
	eventuallyAllSent(t, st, rows)
	return rows, st, reg, n
}

// TestWindowGrowsToSenders: a backlog against a relay with no limit is
// sent over every allowed connection, not just the initial ones.
func TestWindowGrowsToSenders(t *testing.T) {
	rec := &relay{}
	addr, ll := serveLimitedRelay(t, rec, 0, 20*time.Millisecond)
	rows, _, reg, _ := sendAll(t, addr, 8, 80)
	assertEachOnce(t, rec, rows)
	if peak, _ := ll.stats(); peak != 8 {
		t.Errorf("at most %d connections were open at once; want all 8 senders (initial window %d)", peak, initialWindow)
	}
	if got := metricValue(t, reg, "complaintbot_smtp_connections_allowed"); got != 8 {
		t.Errorf("connections allowed = %v, want 8", got)
	}
}

// TestRelayConnectionLimitLearnt: a relay that takes 3 connections from
// us gets 3; the rows a refused connection would have carried are sent
// over the others, with no attempt or failure recorded on them.
func TestRelayConnectionLimitLearnt(t *testing.T) {
	rec := &relay{}
	addr, ll := serveLimitedRelay(t, rec, 3, 20*time.Millisecond)
	rows, st, reg, n := sendAll(t, addr, 8, 80)
	assertEachOnce(t, rec, rows)
	peak, rejected := ll.stats()
	if peak > 3 {
		t.Errorf("%d connections passed at once through a limit of 3", peak)
	}
	if rejected == 0 {
		t.Fatal("the relay never refused a connection; the test did not exercise the limit")
	}
	for _, r := range rows {
		if got := notification(t, st, r.ID); got.Attempts != 1 || got.LastError != "" {
			t.Errorf("row %d: %d attempts, last error %q; a refused extra connection is not the row's failure",
				r.ID, got.Attempts, got.LastError)
		}
	}
	if got := metricValue(t, reg, "complaintbot_smtp_connections_allowed"); got != 3 {
		t.Errorf("connections allowed = %v, want the relay's 3", got)
	}
	if got := metricValue(t, reg, "complaintbot_smtp_connections_refused_total"); got < 1 || got > float64(rejected) {
		t.Errorf("refused connections counted %v; the relay refused %d", got, rejected)
	}
	if got := metricValue(t, reg, "complaintbot_notifications_failed_total"); got != 0 {
		t.Errorf("%v failed attempts counted; want none", got)
	}
	if h := n.Health(); !h.OK {
		t.Errorf("Health: %+v; a relay that limits connections is up", h)
	}
}

func TestWindowUnit(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	w := newWindow(8, prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"}))
	if w.size() != initialWindow {
		t.Fatalf("starts at %d, want %d", w.size(), initialWindow)
	}
	if ok, _ := w.admit(initialWindow); ok {
		t.Errorf("sender %d admitted outside the initial window", initialWindow)
	}
	if w.refused(0, t0) {
		t.Error("a refusal with no connection open counted as a limit; it is the relay being down")
	}
	if w.size() != initialWindow {
		t.Errorf("a relay that is down changed the window to %d", w.size())
	}
	_, changed := w.admit(5)
	for range 10 {
		w.accepted(t0)
	}
	if w.size() != 8 {
		t.Errorf("after 10 accepted messages the window is %d, want the max 8", w.size())
	}
	select {
	case <-changed:
	default:
		t.Error("growing the window woke no waiting sender")
	}
	for i := range 5 {
		w.setOpen(i, true)
	}
	if !w.refused(5, t0) || w.size() != 5 {
		t.Fatalf("refused with 5 others open: window %d, want 5", w.size())
	}
	if ok, _ := w.admit(5); ok {
		t.Error("the refused sender is still admitted")
	}
	w.setOpen(4, false) // closed by us, but the relay has not seen it yet
	if !w.refused(6, t0.Add(windowSettle/2)) || w.size() != 5 {
		t.Errorf("a refusal while the relay still counts what we closed shrank the window to %d", w.size())
	}
	w.setOpen(4, true)
	w.accepted(t0.Add(windowHold - time.Second))
	if w.size() != 5 {
		t.Errorf("the window grew to %d during the hold", w.size())
	}
	w.accepted(t0.Add(windowHold))
	if w.size() != 6 {
		t.Errorf("after the hold the window is %d, want it growing again (6)", w.size())
	}
	if !w.refused(6, t0.Add(windowHold)) || w.size() != 5 {
		t.Fatalf("second refusal: window %d, want 5", w.size())
	}
	for i := range 5 {
		w.setOpen(i, false)
	}
	if w.refused(0, t0.Add(windowHold)) {
		t.Error("a refusal with none open counted as a limit")
	}
	w.accepted(t0.Add(windowHold))
	if w.size() != 6 {
		t.Errorf("the relay was down, not limiting: the hold should end, but the window stayed at %d", w.size())
	}
	small := newWindow(2, prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"}))
	if small.size() != 2 {
		t.Errorf("with 2 senders the window starts at %d", small.size())
	}
}
