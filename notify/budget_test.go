package notify

import (
	"testing"
	"time"
)

// TestBudget: places are shared up to the size, a take waits for a give,
// and after giveUp no take succeeds, not even one already waiting.
func TestBudget(t *testing.T) {
	b := newBudget(2)
	if !b.take() || !b.take() {
		t.Fatal("the first two takes of a budget of 2 failed")
	}
	got := make(chan bool)
	go func() { got <- b.take() }()
	select {
	case <-got:
		t.Fatal("a third take did not wait for a place")
	case <-time.After(50 * time.Millisecond):
	}
	b.give()
	if !<-got {
		t.Fatal("a waiting take failed once a place was given back")
	}

	go func() { got <- b.take() }() // waits: both places are held
	time.Sleep(20 * time.Millisecond)
	b.giveUp()
	b.give() // the waiting take gets the place, sees the loss, returns it
	if <-got {
		t.Error("a take succeeded after giveUp")
	}
	if b.take() {
		t.Error("a new take succeeded after giveUp")
	}
	b.give() // the last held place comes back; none is left taken
	if n := len(b.places); n != 0 {
		t.Errorf("%d places still taken", n)
	}
}
