// Package router decides what each ingested message is and commits the
// decision: it drops exact duplicates, records noise, finds or creates the
// customer, threads the message into a complaint or opens a new one,
// classifies and assigns the new one, and queues the acknowledgement and
// the owner's notification in the outbox.
//
// Invariants:
//   - One batch, one transaction: every message of a store.Batch, the records
//     it causes (customer, complaint, events, outbox rows) and the source
//     cursor are committed by a single store.Update, or nothing is. Messages
//     earlier in a batch are visible to later ones.
//   - A message joins an existing complaint only when its sender is that
//     complaint's customer, whatever token, reference or subject tag it
//     carries; otherwise it opens a new complaint. A reply token is trusted
//     only when its HMAC checks (compared in constant time).
//   - The grouping does not depend on arrival order: a message whose reply
//     was recorded first joins the reply's complaint.
//   - A follow-up is never acknowledged, and a customer gets at most
//     AckPerHour acknowledgements in any hour, so an auto-responder on the
//     other side cannot start a mail loop.
//   - Every header value the router produces for outgoing mail (subject,
//     recipient, message IDs) is free of control characters.
//   - Deliver never changes the caller's messages, so a failed batch can be
//     handed over again as it was.
//   - A new record is classified and, with staff configured, owned by
//     somebody in the same transaction that creates it: never by nobody.
//     The reason for both is in its events ("classified", "assigned").
//   - Staff change a complaint only through Act (any channel builds an
//     Action): stages move only as the workflow allows (workflow.go), every
//     change is an event naming the staff member, and a refused action
//     changes nothing. A staff member's mail answering our signed
//     Message-ID is an action, never a customer message of the complaint.
//   - A message the classifier judges not to be a complaint is kept as a
//     record in stage not_complaint and never acknowledged; a reply to such
//     a record opens a record of its own, so it is judged on its own. The extremism
//     hint only labels a complaint for a human: the acknowledgement is the
//     same with or without it.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"complaintbot/store"
)

// Defaults for zero Options fields.
const (
	DefaultDomain       = "complaintbot.invalid"
	DefaultReactionTime = 4 * time.Hour
	DefaultAckPerHour   = 3
	// MinSecretLen is the shortest accepted token secret, in bytes.
	MinSecretLen = 16
)

// Options configures a Router. Zero fields mean the defaults.
type Options struct {
	// Store is where decisions are committed. Required.
	Store store.Store
	// Secret signs the reply tokens in our Message-IDs. Required, at least
	// MinSecretLen bytes.
	Secret []byte
	// Domain is the right-hand side of our Message-IDs.
	Domain string
	// ReactionTime is the reaction time promised in the acknowledgement
	// (DueAt = arrival + ReactionTime).
	ReactionTime time.Duration
	// AckPerHour caps the acknowledgements one customer gets per hour. Zero
	// means DefaultAckPerHour; a negative value means no cap (load tests
	// only: without a cap an auto-responder can start a loop).
	AckPerHour int
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives decisions at debug level. Nil discards.
	Logger *slog.Logger
	// OnNotify is called after a commit that added outbox rows (to kick
	// the notifier). Nil means nobody is told.
	OnNotify func()
	// Registerer receives the router's metrics. Nil means they are not
	// registered anywhere (they are still counted).
	Registerer prometheus.Registerer

	// Classifier classifies every message that opens a new record. Nil
	// means no classification: every new message is a complaint.
	Classifier Classifier
	// Assignment gives every new record an owner. Nil (or no staff) means
	// records get no owner.
	Assignment *Assignment
	// RepeatComplaints genuine complaints from one customer within
	// RepeatWindow (the new one included) flag the new one for a human
	// (with a Classifier only). Zero means DefaultRepeatComplaints and
	// DefaultRepeatWindow.
	RepeatComplaints int
	RepeatWindow     time.Duration
	// Deadlines sets stage deadlines in business hours, reminders and
	// escalation (deadline.go); the registered stage's deadline is then
	// the reaction time the acknowledgement promises. Nil means DueAt is
	// arrival + ReactionTime in plain time and nothing is scheduled.
	Deadlines *Deadlines
	// Workflow configures staff actions (resolution kinds, consolation
	// bonuses, handoffs). Nil means the defaults.
	Workflow *Workflow
}

// Router implements ingest.Sink.
type Router struct {
	store        store.Store
	secret       []byte
	domain       string
	reactionTime time.Duration
	ackPerHour   int
	now          func() time.Time
	log          *slog.Logger
	onNotify     func()
	metrics      *metrics

	classifier       Classifier
	dir              *directory // nil: no staff, no assignment
	repeatComplaints int
	repeatWindow     time.Duration
	dl               *deadlines // nil: no deadlines scheduled
	wf               *workflow
	stageHooks       []stageHook // run when a complaint enters a stage (stage.go)
	answers          answers     // to button presses, until collected (callback.go)
}

// New checks o and returns a Router.
func New(o Options) (*Router, error) {
	if o.Store == nil {
		return nil, errors.New("router: Options.Store is required")
	}
	if len(o.Secret) < MinSecretLen {
		return nil, fmt.Errorf("router: token secret is %d bytes, need at least %d", len(o.Secret), MinSecretLen)
	}
	r := &Router{
		store:        o.Store,
		secret:       append([]byte(nil), o.Secret...),
		domain:       o.Domain,
		reactionTime: o.ReactionTime,
		ackPerHour:   o.AckPerHour,
		now:          o.Now,
		log:          o.Logger,
		onNotify:     o.OnNotify,

		classifier:       o.Classifier,
		repeatComplaints: o.RepeatComplaints,
		repeatWindow:     o.RepeatWindow,
	}
	r.applyDefaults()
	dir, err := newDirectory(o.Assignment)
	if err != nil {
		return nil, err
	}
	r.dir = dir
	if r.dl, err = newDeadlines(o.Deadlines, r.reactionTime); err != nil {
		return nil, err
	}
	if r.dl != nil {
		r.stageHooks = append(r.stageHooks, r.deadlineHook)
	}
	if r.wf, err = newWorkflow(o.Workflow, dir); err != nil {
		return nil, err
	}
	if err := r.checkDomain(); err != nil {
		return nil, err
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	r.metrics = m
	return r, nil
}

func (r *Router) applyDefaults() {
	if r.domain == "" {
		r.domain = DefaultDomain
	}
	if r.reactionTime <= 0 {
		r.reactionTime = DefaultReactionTime
	}
	if r.ackPerHour == 0 {
		r.ackPerHour = DefaultAckPerHour
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.repeatComplaints <= 0 {
		r.repeatComplaints = DefaultRepeatComplaints
	}
	if r.repeatWindow <= 0 {
		r.repeatWindow = DefaultRepeatWindow
	}
}

// checkDomain refuses a domain that would break our own Message-IDs.
func (r *Router) checkDomain() error {
	if !validIDPart(r.domain) {
		return fmt.Errorf("router: domain %q is not usable in a Message-ID", r.domain)
	}
	return nil
}

// Deliver commits the batch: all its messages, what they cause, and the
// cursor, in one transaction. It implements ingest.Sink.
func (r *Router) Deliver(ctx context.Context, b store.Batch) error {
	var out outcome
	pre := r.prepareBatch(b.Messages)
	err := r.store.Update(ctx, func(tx store.Tx) error {
		out = outcome{pre: pre} // a store may run fn again; count only the last run
		return r.deliverTx(tx, b, &out)
	})
	if err != nil {
		return fmt.Errorf("router: deliver %d messages from %q: %w", len(b.Messages), b.Source, err)
	}
	r.metrics.record(b.Source, &out, r.now())
	r.answers.add(out.answers)
	if out.notifications > 0 && r.onNotify != nil {
		r.onNotify()
	}
	if out.complaints > 0 {
		r.KickScheduler() // their deadlines' jobs
	}
	r.runStaffActions(ctx, out.staffActions)
	return nil
}

func (r *Router) deliverTx(tx store.Tx, b store.Batch, out *outcome) error {
	for i, in := range b.Messages {
		if in == nil {
			continue
		}
		m := cloneMessage(in, b.Source)
		out.cur = i
		if err := r.route(tx, m, out); err != nil {
			return fmt.Errorf("message %d (Message-ID %q): %w", i, in.MessageID, err)
		}
	}
	if b.Cursor.Source == "" {
		return nil
	}
	if err := tx.PutCursor(b.Cursor); err != nil {
		return fmt.Errorf("put cursor %q: %w", b.Cursor.Source, err)
	}
	return nil
}

// cloneMessage copies what the router or the store may change, so the
// caller's message stays as it was handed over.
func cloneMessage(in *store.Message, source string) *store.Message {
	m := *in
	m.Attachments = append([]store.Attachment(nil), in.Attachments...)
	if m.Source == "" {
		m.Source = source
	}
	if m.Channel == "" {
		m.Channel = store.ChannelEmail
	}
	m.Direction = store.DirectionIn
	return &m
}
