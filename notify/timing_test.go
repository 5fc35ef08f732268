package notify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"complaintbot/store"
)

// slowCommits is a store whose write transactions take at least delay.
type slowCommits struct {
	store.Store
	delay time.Duration
}

func (s slowCommits) Update(ctx context.Context, fn func(store.Tx) error) error {
	time.Sleep(s.delay)
	return s.Store.Update(ctx, fn)
}

// histogram returns the sample count and sum of the histogram name's
// series with label step.
func histogram(t *testing.T, reg *prometheus.Registry, name, step string) (n uint64, sum float64) {
	t.Helper()
	for _, m := range series(t, reg, name, "step", step) {
		n, sum = n+m.GetHistogram().GetSampleCount(), sum+m.GetHistogram().GetSampleSum()
	}
	return n, sum
}

// TestRelayAndStoreTimesAreMeasured: the time a relay takes to answer
// the envelope and the final dot, and the time dots are held for our own
// commit, show in /metrics, each where it belongs: an operator must be
// able to tell a slow relay from a slow store.
func TestRelayAndStoreTimesAreMeasured(t *testing.T) {
	const (
		rows      = 3
		rcptDelay = 30 * time.Millisecond
		dotDelay  = 50 * time.Millisecond
		commit    = 400 * time.Millisecond
	)
	rec := &relay{
		onRcpt: func(string, int) error { time.Sleep(rcptDelay); return nil },
		onData: func() { time.Sleep(dotDelay) },
	}
	addr := serveRelay(t, freeAddr(t), rec)
	bolt := openStore(t)
	var seeded []*store.Notification
	for i := range rows {
		seeded = append(seeded, seed(t, bolt, ackRow("en", "T", fmt.Sprintf("t%d@customer.test", i), "s")))
	}
	o := testOptions(slowCommits{Store: bolt, delay: commit}, addr)
	reg := prometheus.NewRegistry()
	o.Registerer, o.Senders = reg, 1 // one connection: each dot waits for the commit before
	run(t, newNotifier(t, o))
	eventuallyAllSent(t, bolt, seeded)

	n, sum := histogram(t, reg, "complaintbot_smtp_reply_seconds", stepEnvelope)
	if n != rows || sum < rows*rcptDelay.Seconds() {
		t.Errorf("envelope: %d samples summing %.3f s; want %d of at least %v each", n, sum, rows, rcptDelay)
	}
	n, sum = histogram(t, reg, "complaintbot_smtp_reply_seconds", stepDot)
	if n != rows || sum < rows*dotDelay.Seconds() {
		t.Errorf("dot: %d samples summing %.3f s; want %d of at least %v each", n, sum, rows, dotDelay)
	}
	if sum > float64(rows)*(commit.Seconds()/2) {
		t.Errorf("dot: %.3f s over %d messages; the wait for our own commit was counted as the relay's", sum, rows)
	}
	// Every dot but the first waits for the commit of the message before,
	// which takes 400 ms and started before its envelope went out (30 ms).
	held := metricValue(t, reg, "complaintbot_smtp_dot_held_seconds_total")
	if want := (rows - 1) * (commit - 4*rcptDelay); held < want.Seconds() {
		t.Errorf("dots held for our commits %.3f s; want at least %v", held, want)
	}
}

// TestFailedStepsAreTimedToo: a relay that refuses the recipient still
// took its time, and the envelope step shows it.
func TestFailedStepsAreTimedToo(t *testing.T) {
	rec := &relay{onRcpt: func(string, int) error {
		time.Sleep(20 * time.Millisecond)
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}}
	addr := serveRelay(t, freeAddr(t), rec)
	st := openStore(t)
	row := seed(t, st, ackRow("en", "T", "gone@customer.test", "s"))
	o := testOptions(st, addr)
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	run(t, newNotifier(t, o))
	eventually(t, "the row failed permanently", func() bool { return statusOf(t, st, row.ID) == store.NotifyFailed })
	if n, sum := histogram(t, reg, "complaintbot_smtp_reply_seconds", stepEnvelope); n != 1 || sum < 0.02 {
		t.Errorf("envelope: %d samples summing %.3f s; want the refused one, at least 20 ms", n, sum)
	}
	if n, _ := histogram(t, reg, "complaintbot_smtp_reply_seconds", stepDot); n != 0 {
		t.Errorf("dot: %d samples; no dot was sent", n)
	}
}
