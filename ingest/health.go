package ingest

import (
	"sync"
	"time"
)

// healthState is a source's Health, safe for concurrent use, and the rule
// for when a failing spell deserves a warning: once, after it has lasted
// failingAfter. The IMAP and Telegram sources share it.
type healthState struct {
	mu     sync.Mutex
	health Health
	warned bool // the current failing spell was logged at Warn
}

func newHealthState(source string) *healthState {
	return &healthState{health: Health{Source: source, OK: true}} // OK until the first failure
}

func (h *healthState) get() Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.health
}

// spell is what failed reports about the failing spell so far.
type spell struct {
	failures  int
	since     time.Time
	sustained bool // true exactly once per spell: it has now lasted failingAfter
}

// failed records err at now.
func (h *healthState) failed(err error, now time.Time, failingAfter time.Duration) spell {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &h.health
	s.OK = false
	s.ConsecutiveFailures++
	if s.FailingSince.IsZero() {
		s.FailingSince = now
	}
	s.LastError = err.Error()
	sustained := !h.warned && now.Sub(s.FailingSince) >= failingAfter
	h.warned = h.warned || sustained
	return spell{failures: s.ConsecutiveFailures, since: s.FailingSince, sustained: sustained}
}

// succeeded resets to OK and says whether the source had been failing and
// whether that spell had been warned about.
func (h *healthState) succeeded(now time.Time, mode string) (wasFailing, wasWarned bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	wasFailing, wasWarned = !h.health.OK, h.warned
	h.warned = false
	h.health = Health{Source: h.health.Source, OK: true, LastSuccess: now, Mode: mode}
	return wasFailing, wasWarned
}
