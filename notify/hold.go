package notify

import (
	"log/slog"
	"time"
)

// hold follows Options.Hold for the Run goroutine (not safe for
// concurrent use): held while Hold says so, but never longer than max in a
// row; after that it ignores Hold until Hold has let go once, so a stuck
// catch-up cannot starve the outbox.
type hold struct {
	fn      func() bool
	max     time.Duration
	log     *slog.Logger
	since   time.Time // when the current hold began; zero when not held
	expired bool      // held for max: sending until Hold lets go
}

// held reports whether to hand out no new rows at now.
func (h *hold) held(now time.Time) bool {
	if h.fn == nil {
		return false
	}
	if !h.fn() {
		if !h.since.IsZero() {
			h.log.Info("sending resumed", "held", now.Sub(h.since).Round(time.Millisecond))
		}
		h.since, h.expired = time.Time{}, false
		return false
	}
	switch {
	case h.expired:
		return false
	case h.since.IsZero():
		h.since = now
		h.log.Info("sending held while an inbox catches up", "at_most", h.max)
	case now.Sub(h.since) >= h.max:
		h.expired = true
		h.log.Warn("hold expired; sending while the catch-up goes on", "held", now.Sub(h.since).Round(time.Millisecond))
		return false
	}
	return true
}
