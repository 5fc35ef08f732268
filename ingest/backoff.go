package ingest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	retry "complaintbot/internal/backoff"
	"complaintbot/store"
)

// backoff yields capped exponential delays with full jitter: the n-th delay
// after a success is uniform in [0, min(max, min·2ⁿ)). Full jitter spreads
// the reconnects of many workers (or many daemons) hitting one server that
// just came back, instead of having them retry in lock step.
type backoff struct {
	min, max time.Duration
	attempt  int
	rand     func() float64 // in [0, 1); rand.Float64 unless a test sets it
}

func newBackoff(min, max time.Duration) *backoff {
	return &backoff{min: min, max: max, rand: rand.Float64}
}

// next returns the delay before the next attempt and counts the attempt.
func (b *backoff) next() time.Duration {
	d := retry.Full(b.attempt, b.min, b.max, b.rand)
	b.attempt++
	return d
}

// reset starts the sequence again after a success.
func (b *backoff) reset() { b.attempt = 0 }

// sleepCtx waits for d or until ctx ends; it reports whether the full delay
// passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// worker is what a source's Run loop needs from it.
type worker struct {
	session func(ctx context.Context, synced func()) error // one connection; always returns an error
	delay   func(err error, bo *backoff) time.Duration     // how long to wait after err
	failed  func(err error, retryIn time.Duration)         // health and log
	retried func()                                         // metrics
}

// runWorker is the outer loop of every source: run a session, and after it
// fails wait a capped, jittered delay and run the next one, until ctx ends.
// A session that completes a catch-up resets the backoff through synced.
func runWorker(ctx context.Context, bo *backoff, w worker) {
	for {
		err := w.session(ctx, bo.reset)
		if ctx.Err() != nil {
			return
		}
		delay := w.delay(err, bo)
		w.failed(err, delay)
		if !sleepCtx(ctx, delay) {
			return
		}
		w.retried()
	}
}

// readCursor reads a source's committed cursor from the store.
func readCursor(ctx context.Context, st store.Store, source string) (store.Cursor, error) {
	var c store.Cursor
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		c, err = tx.Cursor(source)
		return err
	})
	if err != nil {
		return c, fmt.Errorf("read cursor: %w", err)
	}
	return c, nil
}
