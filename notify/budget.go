package notify

import "sync/atomic"

// budget bounds the messages the relay (or Telegram) has accepted whose
// outcome is not yet recorded: what one crash would send twice. A sender
// takes a place before a message's final dot (before a Telegram send),
// and the commit that records the outcome gives the place back. The
// places are shared by all senders: a sender whose previous outcome is
// still being committed goes on while others have none in flight, so the
// commit's latency is not added to every message, and the bound is the
// same as one unrecorded message per connection.
//
// Once a commit has given up (the store failed at shutdown), no place is
// given any more: the marks already lost are all a restart sends again.
type budget struct {
	places chan struct{}
	lost   atomic.Bool
}

func newBudget(size int) *budget { return &budget{places: make(chan struct{}, size)} }

// take waits for a place and reports whether the sender holds one. It
// does not wait on a context: places come back with every commit, and a
// commit always ends, at shutdown too.
func (b *budget) take() bool {
	if b.lost.Load() {
		return false
	}
	b.places <- struct{}{}
	if b.lost.Load() {
		<-b.places
		return false
	}
	return true
}

// give returns a place taken with take.
func (b *budget) give() { <-b.places }

// giveUp refuses every later take; the caller still gives back its places.
func (b *budget) giveUp() { b.lost.Store(true) }
