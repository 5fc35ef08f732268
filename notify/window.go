package notify

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	// initialWindow is how many connections the senders start with.
	initialWindow = 4
	// windowHold is how long the window stays at or under the size the
	// relay last allowed before it may grow again.
	windowHold = 5 * time.Minute
	// windowSettle is how long after shrinking the window another refusal
	// does not shrink it again: the relay still counts the connections
	// the shrink closed until it has read their end.
	windowSettle = time.Second
	// refusedPause is how long a sender whose connection was refused
	// waits before it takes another row.
	refusedPause = 100 * time.Millisecond
)

// window is how many senders may hold a relay connection at once: the
// relay's connection limit, learnt as Postfix learns a destination's
// concurrency. It starts at initialWindow (or Options.Senders, when that
// is smaller) and grows by one for each message the relay accepts, up to
// Options.Senders, so a backlog is sent over as many connections as the
// relay takes.
//
// A relay that refuses a new connection with a 4xx reply while some of
// ours are open (or being opened) has a per-client limit (Office 365 takes
// 3 at a time; Postfix's default smtpd_client_connection_count_limit is
// 50): the window shrinks to the connections open, the refused row goes
// back to the queue as if never tried (no attempt, no failure recorded),
// and the window does not grow past that size for windowHold. A refusal
// with none of ours open is the relay being down, which is a failure of
// the row as before, and ends the hold.
//
// Invariant: sender i takes rows only while i < limit; a sender outside
// the window closes its connection.
type window struct {
	mu        sync.Mutex
	max       int
	limit     int
	ceiling   int       // limit may not grow past this before heldUntil
	heldUntil time.Time // zero: no hold
	settled   time.Time // a refusal before this does not shrink the window
	open      []bool    // per sender: it holds a connection or is opening one
	changed   chan struct{}
	gauge     prometheus.Gauge // the limit
}

func newWindow(senders int, gauge prometheus.Gauge) *window {
	w := &window{max: senders, limit: min(initialWindow, senders), open: make([]bool, senders),
		changed: make(chan struct{}), gauge: gauge}
	gauge.Set(float64(w.limit))
	return w
}

// admit reports whether sender i may take a row now, and returns a
// channel closed at the next change of the limit.
func (w *window) admit(i int) (bool, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return i < w.limit, w.changed
}

// setOpen records whether sender i holds a connection or is opening one.
// One being opened counts: connections dialled together (the first rows)
// reach the relay's limit before any of them has finished its greeting.
func (w *window) setOpen(i int, open bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.open[i] = open
}

// accepted grows the window by one after the relay accepted a message.
func (w *window) accepted(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	top := w.max
	if now.Before(w.heldUntil) {
		top = w.ceiling
	}
	if w.limit < top {
		w.setLimit(w.limit + 1)
	}
}

// refused is called when sender i could not open a connection. It
// reports whether other connections of ours are open: then the relay is
// up and limits how many it takes, so the window shrinks to those open
// and holds there; the caller requeues the row.
func (w *window) refused(i int, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	others := 0
	for k, o := range w.open {
		if o && k != i {
			others++
		}
	}
	if others == 0 {
		// The relay refuses us altogether: it is down, and the refusals
		// before this one were not its limit either.
		w.heldUntil = time.Time{}
		return false
	}
	if now.Before(w.settled) {
		return true
	}
	w.ceiling, w.heldUntil, w.settled = others, now.Add(windowHold), now.Add(windowSettle)
	w.setLimit(min(w.limit, others))
	return true
}

// size is the current limit.
func (w *window) size() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.limit
}

// setLimit changes the limit and wakes the senders waiting for a change;
// w.mu is held.
func (w *window) setLimit(n int) {
	if n == w.limit {
		return
	}
	w.limit = n
	w.gauge.Set(float64(n))
	close(w.changed)
	w.changed = make(chan struct{})
}
