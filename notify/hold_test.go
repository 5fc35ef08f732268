package notify

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestHoldWaitsForCatchUp: while Hold says so nothing is sent; once it
// lets go, every row goes out.
func TestHoldWaitsForCatchUp(t *testing.T) {
	rec := &relay{}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	seedMany(t, st, 20)
	var holding atomic.Bool
	holding.Store(true)
	o := testOptions(st, addr)
	o.Hold, o.HoldPoll = holding.Load, 10*time.Millisecond
	stop := run(t, newNotifier(t, o))
	defer stop()
	time.Sleep(300 * time.Millisecond)
	if n := rec.count(); n != 0 {
		t.Fatalf("%d sent while held, want 0", n)
	}
	holding.Store(false)
	eventually(t, "all 20 sent after the hold", func() bool { return rec.count() == 20 })
	eventually(t, "every row marked sent", func() bool { return !pending(t, st) })
}

// TestHoldNeverStarves: a hold that never lets go is ignored after
// MaxHold, so the outbox still drains.
func TestHoldNeverStarves(t *testing.T) {
	rec := &relay{}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	seedMany(t, st, 10)
	o := testOptions(st, addr)
	o.Hold, o.HoldPoll, o.MaxHold = func() bool { return true }, 10*time.Millisecond, 200*time.Millisecond
	start := time.Now()
	stop := run(t, newNotifier(t, o))
	defer stop()
	eventually(t, "all 10 sent despite the hold", func() bool { return rec.count() == 10 })
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("sent after %v, before MaxHold (200ms) ran out", d)
	}
}
