// Package notify drains the outbox: it renders each due notification (an
// acknowledgement in the customer's language, for now), sends it through the
// SMTP relay and records what happened on the complaint.
//
// Invariants:
//   - The outbox in the store is the only queue. Nothing to send lives only in
//     memory: the worker reads due rows, and one timer set from the earliest
//     NextAttempt (or Kick) wakes it.
//   - A row is marked sent only after the relay accepted the message (250 to
//     the final dot), in the same transaction as the outbound Message and the
//     "<kind>_sent" event. A crash between the relay's 250 and that commit
//     sends the message again after restart, with the same Message-ID, so the
//     receiver can deduplicate. Each sender connection sends the final dot
//     of a message only once the mark of its previous message has committed
//     (MAIL, RCPT, DATA and the body go out meanwhile: the relay accepts
//     nothing before the dot), so one crash duplicates at most one message
//     per open sender connection: at most Senders (default 16), at most one
//     with Senders = 1.
//   - At most window-size senders hold a relay connection (see window): it
//     grows with accepted messages up to Senders and shrinks to what the
//     relay takes when it refuses one more connection with a 4xx greeting.
//     A row whose connection was refused that way is handed out again as
//     if never tried: no attempt, no failure, no event.
//   - Temporary failures (4xx replies, network errors, timeouts, a relay that
//     is down) are retried with capped exponential backoff and jitter, up to
//     MaxAttempts; permanent ones (5xx replies, an invalid address, a kind
//     without templates) mark the row failed with a "<kind>_failed" event
//     carrying the server's reply. A failed row is never sent again.
//   - Rows of Channel telegram go out through the Bot API when
//     Options.Telegram is set (else they fail as a channel nobody serves):
//     sends to one chat never overlap and are spaced PerChat apart, all of
//     them PerSecond; a 429 puts the row back until retry_after without
//     counting an attempt; a 403 (the user blocked the bot) fails it and, in
//     the same transaction, queues it by email when the customer has an
//     address. Customer text reaches Telegram's HTML parse mode escaped.
//   - Nothing a customer wrote reaches a header unclean: control characters
//     are removed and anything not plain ASCII, or looking like an
//     encoded-word, is RFC 2047 encoded; the HTML part is escaped by
//     html/template.
package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"complaintbot/store"
)

// Options configure a Notifier. Zero values mean the defaults given.
type Options struct {
	Store store.Store // required
	SMTP  SMTPOptions // Addr required
	// From is our sender address (From header and MAIL FROM); required.
	From store.Address
	// CompanyName signs the messages.
	CompanyName string
	// Location shows due times; default UTC.
	Location *time.Location
	Now      func() time.Time // default time.Now
	Logger   *slog.Logger     // default slog.Default()
	// Registerer receives the metrics; nil leaves them unregistered.
	Registerer prometheus.Registerer
	// BatchSize is how many due rows are read at once; default 50.
	BatchSize int
	// Senders is the most SMTP connections that send in parallel; default
	// 16. The senders start with 4 connections and use more as the relay
	// accepts messages, fewer when it refuses a connection (see window).
	// Outcomes are committed in groups, so more connections mean fewer
	// fsyncs per message (higher throughput) but also bound the duplicates
	// one crash can cause (at most one per open connection, sent again
	// with the same Message-ID).
	Senders int
	// MinBackoff and MaxBackoff bound the delay before a retry; defaults
	// 10s and 30min.
	MinBackoff, MaxBackoff time.Duration
	// MaxAttempts is how many temporary failures a row may have before it
	// is failed for good; default 20.
	MaxAttempts int
	// IdleTimeout closes a connection that has sent nothing for this long;
	// default 30s (well under Postfix's smtpd_timeout of 300s).
	IdleTimeout time.Duration
	// Telegram sends the rows of Channel telegram; nil fails them
	// permanently, as a channel nobody serves.
	Telegram *TelegramOptions
	// Hold, when set, says whether sending should wait for now: the daemon
	// holds while an inbox catches up a large backlog, so that recording
	// it gets the CPU first. While held the notifier hands out no new rows
	// (those already handed to a sender finish) and looks again every
	// HoldPoll; it never holds longer than MaxHold in a row, and then
	// sends until Hold has let go once.
	Hold func() bool
	// HoldPoll and MaxHold: defaults 50ms and 30s.
	HoldPoll, MaxHold time.Duration
}

func (o *Options) setDefaults() {
	o.SMTP.setDefaults()
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	setDefault(&o.BatchSize, 50)
	setDefault(&o.Senders, 16)
	setDefault(&o.MaxAttempts, 20)
	setDefault(&o.MinBackoff, 10*time.Second)
	setDefault(&o.MaxBackoff, 30*time.Minute)
	setDefault(&o.IdleTimeout, 30*time.Second)
	setDefault(&o.HoldPoll, 50*time.Millisecond)
	setDefault(&o.MaxHold, 30*time.Second)
	if o.Telegram != nil {
		tg := *o.Telegram // the caller's struct is left as it was
		tg.setDefaults()
		o.Telegram = &tg
	}
}

func (o *SMTPOptions) setDefaults() {
	if o.TLS == "" {
		o.TLS = "starttls"
	}
	setDefault(&o.Timeout, 30*time.Second)
	if o.HeloName == "" {
		o.HeloName, _ = os.Hostname()
	}
	if o.HeloName == "" {
		o.HeloName = "localhost"
	}
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

func (o *Options) validate() error {
	var errs []error
	if o.Store == nil {
		errs = append(errs, errors.New("Store is required"))
	}
	if o.SMTP.Addr == "" {
		errs = append(errs, errors.New("SMTP.Addr is required"))
	}
	switch o.SMTP.TLS {
	case "tls", "starttls", "none":
	default:
		errs = append(errs, fmt.Errorf("SMTP.TLS %q is not tls, starttls or none", o.SMTP.TLS))
	}
	if _, err := parseMailbox(o.From.Email); err != nil {
		errs = append(errs, fmt.Errorf("From: %w", err))
	}
	if o.Telegram != nil {
		if err := o.Telegram.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if o.MinBackoff > o.MaxBackoff {
		errs = append(errs, fmt.Errorf("MinBackoff %s is above MaxBackoff %s", o.MinBackoff, o.MaxBackoff))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// Notifier is the outbox worker.
type Notifier struct {
	o       Options
	from    string // validated sender address
	log     *slog.Logger
	metrics *metrics
	kick    chan struct{}
	tg      *telegramSender // nil without Options.Telegram
	running atomic.Bool
	pending int // rows pending as last known; used by the Run goroutine only
	hold    hold
	win     *window

	mu     sync.Mutex // guards health
	health Health

	// beforeSend, when set (by tests, before Run), is called with each row
	// about to be sent.
	beforeSend func(*store.Notification)
}

// Health is the state of the relay as /healthz shows it: OK until a
// connection attempt fails, and again after one succeeds.
type Health struct {
	Relay               string    `json:"relay"`
	OK                  bool      `json:"ok"`
	ConsecutiveFailures int       `json:"consecutive_failures,omitempty"`
	FailingSince        time.Time `json:"failing_since,omitzero"`
	LastError           string    `json:"last_error,omitempty"`
	LastSuccess         time.Time `json:"last_success,omitzero"`
}

// New checks o and makes the worker; it does not connect.
func New(o Options) (*Notifier, error) {
	o.setDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("notify: metrics: %w", err)
	}
	from, _ := parseMailbox(o.From.Email)
	n := &Notifier{
		o:       o,
		from:    from,
		log:     o.Logger,
		metrics: m,
		kick:    make(chan struct{}, 1),
		health:  Health{Relay: o.SMTP.Addr, OK: true},
		hold:    hold{fn: o.Hold, max: o.MaxHold, log: o.Logger},
		win:     newWindow(o.Senders, m.window),
	}
	if o.Telegram != nil {
		n.tg = newTelegramSender(*o.Telegram)
	}
	return n, nil
}

// Kick wakes the worker to look for due rows now. It never blocks; the
// router calls it after committing new rows.
func (n *Notifier) Kick() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Health reports whether the relay was reachable at the last attempt;
// safe for concurrent use.
func (n *Notifier) Health() Health {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.health
}

// relayFailed records a failure to reach the relay.
func (n *Notifier) relayFailed(err error) {
	now := n.o.Now()
	n.mu.Lock()
	h := &n.health
	first := h.OK
	h.OK = false
	h.ConsecutiveFailures++
	if h.FailingSince.IsZero() {
		h.FailingSince = now
	}
	h.LastError = err.Error()
	n.mu.Unlock()
	if first {
		n.log.Warn("smtp relay unreachable", "relay", n.o.SMTP.Addr, "err", err)
	}
}

// relayReached records a successful session with the relay.
func (n *Notifier) relayReached() {
	now := n.o.Now()
	n.mu.Lock()
	recovered := !n.health.OK
	n.health = Health{Relay: n.o.SMTP.Addr, OK: true, LastSuccess: now}
	n.mu.Unlock()
	if recovered {
		n.log.Info("smtp relay reachable again", "relay", n.o.SMTP.Addr)
	}
}
