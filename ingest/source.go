// Package ingest fetches customer messages from their channels (IMAP inboxes,
// Telegram bots) and normalises each into a store.Message.
//
// Invariants:
//   - A source never advances its cursor past a message that was not
//     committed: the messages and the cursor that moves past them are handed
//     to the Sink together, and the Sink commits them in one transaction.
//   - Nothing a stranger sends stops a worker: a message that cannot be parsed
//     becomes a quarantined store.Message with the reason and its raw bytes.
//   - ingest decides what a message is (text, attachments, noise); it never
//     decides which complaint it belongs to (that is router's job).
package ingest

import (
	"context"
	"time"

	"complaintbot/store"
)

// Sink commits a batch of normalised messages together with the cursor that
// moves past them, atomically. router.Router implements it.
type Sink interface {
	Deliver(ctx context.Context, b store.Batch) error
}

// CallbackAnswerer is an optional side of a Sink: after a batch is
// committed, the Telegram source asks it what to show each user who pressed
// a button in that batch (a short text; alert makes it a dialog to
// dismiss) and answers the press with it; "" answers without a text.
// router.Router implements it.
type CallbackAnswerer interface {
	CallbackAnswer(callbackID string) (text string, alert bool)
}

// Source is one channel worker (an IMAP inbox, a Telegram bot).
type Source interface {
	Name() string
	// Run works until ctx ends, reconnecting after errors; it returns nil
	// when ctx is cancelled.
	Run(ctx context.Context) error
	Health() Health
}

// Health is a source's state as shown by /healthz.
type Health struct {
	Source              string    `json:"source"`
	OK                  bool      `json:"ok"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	FailingSince        time.Time `json:"failing_since,omitempty"`
	LastError           string    `json:"last_error,omitempty"`
	LastSuccess         time.Time `json:"last_success,omitempty"`
	Mode                string    `json:"mode,omitempty"` // "idle" or "poll"
}
