// Package backoff computes capped exponential retry delays, the one shape
// every retry in complaintbot uses: an IMAP or Telegram reconnect, an
// outbox row the relay refused for now, a scheduled job that failed.
//
// Invariants: Ceiling never overflows and never exceeds its cap; the
// jittered delays stay within [0, Ceiling] (Full) or [Ceiling/2, Ceiling]
// (Equal), so a caller's cap is a promise.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Ceiling is lo·2ⁿ capped at hi (n < 0 counts as 0), computed without
// overflow.
func Ceiling(n int, lo, hi time.Duration) time.Duration {
	c := lo
	for i := 0; i < n && c < hi; i++ {
		if c > hi/2 {
			return hi // doubling would pass the cap (or overflow)
		}
		c *= 2
	}
	return min(c, hi)
}

// Full is a delay with full jitter, uniform in [0, Ceiling(n, lo, hi)):
// it spreads the retries of many clients of one server that just came
// back, instead of having them retry in lock step. random returns a value
// in [0, 1); nil means rand.Float64.
func Full(n int, lo, hi time.Duration, random func() float64) time.Duration {
	if random == nil {
		random = rand.Float64
	}
	return time.Duration(random() * float64(Ceiling(n, lo, hi)))
}

// Equal is a delay with equal jitter, uniform in [c/2, c] for
// c = Ceiling(n, lo, hi): never much sooner than the ceiling, for retries
// whose pace matters more than their spread.
func Equal(n int, lo, hi time.Duration) time.Duration {
	c := Ceiling(n, lo, hi)
	half := c / 2
	return half + rand.N(c-half+1)
}
