package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"complaintbot/store"
)

// Action kinds: what a staff member can do to a complaint.
const (
	ActionTake     = "take"     // the actor becomes the owner
	ActionNote     = "note"     // an internal note (Text)
	ActionAdvance  = "advance"  // to the next stage, or To when that move is allowed
	ActionResolve  = "resolve"  // with Resolution, and any approval its amount needs
	ActionApprove  = "approve"  // consent to settle up to Resolution.Amount (or the claimed amount)
	ActionReassign = "reassign" // to the staff member To
	ActionDrop     = "drop"     // out of the workflow, reason To; DuplicateOf for a duplicate
	ActionReopen   = "reopen"   // back to analysis, reason Text
	ActionReply    = "reply"    // Text to the customer, through the complaint's channel
)

// ActionKinds lists every action kind.
var ActionKinds = []string{ActionTake, ActionNote, ActionAdvance, ActionResolve, ActionApprove, ActionReassign, ActionDrop, ActionReopen, ActionReply}

// Event kinds written by staff actions (besides EventReassigned).
const (
	EventTaken           = "taken"
	EventNote            = "note"
	EventAdvanced        = "advanced"
	EventResolved        = "resolved"
	EventApproved        = "approved"
	EventDropped         = "dropped"
	EventReopened        = "reopened"
	EventReplyQueued     = "reply_queued"
	EventHandedOff       = "handed_off"
	EventHandoffSkipped  = "handoff_skipped"
	EventDuplicateMerged = "duplicate_merged" // on the complaint a duplicate was merged into
)

// Action is one staff action on a complaint. Every channel (HTTP API, CLI,
// Telegram buttons, email replies) builds one and calls Act, so the same
// action gives the same events whichever way it came.
type Action struct {
	Number string `json:"number"`
	// Actor is a configured staff id ("anna"; "staff:anna" is accepted too).
	Actor string `json:"actor"`
	Kind  string `json:"kind"` // one of ActionKinds
	// Text is the note, the reply, or the why of any other action
	// (required for reopen).
	Text string `json:"text,omitempty"`
	// To is the stage for advance, the new owner for reassign, the reason
	// (unfounded, clarified, duplicate) for drop.
	To          string            `json:"to,omitempty"`
	Resolution  *store.Resolution `json:"resolution,omitempty"`
	DuplicateOf string            `json:"duplicate_of,omitempty"`
}

// ActionError is a refused action. Err is its class: ErrUnknownActor,
// ErrForbidden, ErrInvalidAction, ErrNeedsApproval or ErrConflict. Field
// names the missing or wrong field(s) when one is to blame.
type ActionError struct {
	Kind   string
	Field  string
	Reason string
	Err    error
}

func (e *ActionError) Error() string {
	s := "router: " + e.Kind + " refused: "
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Reason
}

func (e *ActionError) Unwrap() error { return e.Err }

func refuse(class error, kind, field, format string, args ...any) error {
	return &ActionError{Kind: kind, Field: field, Reason: fmt.Sprintf(format, args...), Err: class}
}

// IsRefusal reports whether err is a refused action (as opposed to a store
// failure or an unknown complaint).
func IsRefusal(err error) bool {
	var ae *ActionError
	var te *TransitionError
	return errors.As(err, &ae) || errors.As(err, &te)
}

// maxActionText bounds a note, reply or reason, in runes.
const maxActionText = 10_000

// Act performs a staff action in one transaction and returns the
// complaint as it is afterwards. Refusals are *ActionError or
// *TransitionError (see IsRefusal); an unknown complaint wraps
// store.ErrNotFound. Every refusal is logged.
func (r *Router) Act(ctx context.Context, a Action) (*store.Complaint, error) {
	a = normalizeAction(a)
	s, err := r.checkAction(a)
	if err != nil {
		r.logRefusal(a, err)
		return nil, err
	}
	var c *store.Complaint
	var out outcome
	err = r.store.Update(ctx, func(tx store.Tx) error {
		out = outcome{}
		var err error
		c, err = r.actTx(tx, s, a, &out)
		return err
	})
	if IsRefusal(err) {
		r.logRefusal(a, err)
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("router: %s %s: %w", a.Kind, a.Number, err)
	}
	r.log.Info("staff action", "kind", a.Kind, "complaint", a.Number, "actor", s.ID, "stage", c.Stage)
	if out.notifications > 0 && r.onNotify != nil {
		r.onNotify()
	}
	return c, nil
}

func (r *Router) logRefusal(a Action, err error) {
	r.log.Warn("staff action refused", "kind", a.Kind, "complaint", a.Number, "actor", a.Actor, "err", err)
}

func normalizeAction(a Action) Action {
	a.Number = strings.ToUpper(strings.TrimSpace(a.Number))
	a.Actor = strings.TrimPrefix(strings.TrimSpace(a.Actor), "staff:")
	a.Kind = strings.ToLower(strings.TrimSpace(a.Kind))
	a.To = strings.TrimSpace(a.To)
	a.DuplicateOf = strings.ToUpper(strings.TrimSpace(a.DuplicateOf))
	a.Text = cleanText(a.Text)
	return a
}

// checkAction refuses what needs no transaction to refuse: an unknown
// actor, an unknown kind, no complaint number.
func (r *Router) checkAction(a Action) (*Staff, error) {
	var s *Staff
	if r.dir != nil {
		s = r.dir.staff[a.Actor]
	}
	switch {
	case s == nil:
		return nil, refuse(ErrUnknownActor, a.Kind, "actor", "%q is not a configured staff member", a.Actor)
	case !slices.Contains(ActionKinds, a.Kind):
		return nil, refuse(ErrInvalidAction, a.Kind, "kind", "unknown action %q (one of %s)", a.Kind, strings.Join(ActionKinds, ", "))
	case a.Number == "":
		return nil, refuse(ErrInvalidAction, a.Kind, "number", "no complaint number")
	}
	return s, nil
}

// actIn is Act inside a transaction the caller holds (Deliver's batch:
// the email and Telegram staff paths). Refusals are returned (and logged)
// and leave tx untouched.
func (r *Router) actIn(tx store.Tx, a Action, out *outcome) (*store.Complaint, error) {
	a = normalizeAction(a)
	s, err := r.checkAction(a)
	if err == nil {
		var c *store.Complaint
		if c, err = r.actTx(tx, s, a, out); err == nil {
			return c, nil
		}
	}
	if IsRefusal(err) {
		r.logRefusal(a, err)
	}
	return nil, err
}

// acting is one action under way inside its transaction.
type acting struct {
	tx  store.Tx
	s   *Staff
	a   Action
	c   *store.Complaint
	now time.Time
	out *outcome
}

func (x *acting) actor() string { return "staff:" + x.s.ID }

// actTx performs a (already checked by checkAction) inside tx. Each kind
// checks everything before it writes, so a refusal leaves tx untouched
// (Deliver relies on that: a refused email action must not undo the batch).
func (r *Router) actTx(tx store.Tx, s *Staff, a Action, out *outcome) (*store.Complaint, error) {
	c, err := tx.ComplaintByNumber(a.Number)
	if err != nil {
		return nil, fmt.Errorf("complaint %q: %w", a.Number, err)
	}
	x := &acting{tx: tx, s: s, a: a, c: c, now: r.now(), out: out}
	do := map[string]func(*acting) error{
		ActionTake: r.take, ActionNote: r.note, ActionAdvance: r.advance, ActionResolve: r.resolve, ActionApprove: r.approve,
		ActionReassign: r.reassign, ActionDrop: r.drop, ActionReopen: r.reopen, ActionReply: r.replyToCustomer,
	}[a.Kind]
	if err := do(x); err != nil {
		return nil, err
	}
	return tx.Complaint(c.ID)
}

// mayManage allows the owner, heads and top managers to change a
// complaint's stage or owner; anyone else takes it first.
func (x *acting) mayManage() error {
	if x.c.OwnerID == x.s.ID || x.s.Role == RoleHead || x.s.Role == RoleTop {
		return nil
	}
	return refuse(ErrForbidden, x.a.Kind, "actor", "%s is not the owner of %s (%s is) nor a head or top manager; take it first",
		x.s.ID, x.c.Number, cmpOr(x.c.OwnerID, "nobody"))
}

// requireText returns the action's text, refusing an empty one.
func (x *acting) requireText(what string) (string, error) {
	if x.a.Text == "" {
		return "", refuse(ErrInvalidAction, x.a.Kind, "text", "%s is required", what)
	}
	return x.a.Text, nil
}

func (x *acting) putComplaint() error {
	x.c.UpdatedAt = x.now
	if err := x.tx.PutComplaint(x.c); err != nil {
		return fmt.Errorf("put complaint %s: %w", x.c.Number, err)
	}
	return nil
}

func (r *Router) take(x *acting) error {
	return r.reassignTx(x.tx, x.c.Number, x.s, x.actor(), x.a.Text, EventTaken, x.out)
}

func (r *Router) note(x *acting) error {
	text, err := x.requireText("the note")
	if err != nil {
		return err
	}
	if err := x.putComplaint(); err != nil {
		return err
	}
	return appendEventText(x.tx, x.c.ID, x.now, x.actor(), EventNote, text, nil)
}

func (r *Router) reassign(x *acting) error {
	if err := x.mayManage(); err != nil {
		return err
	}
	owner := r.dir.staff[x.a.To]
	if owner == nil || owner.Away {
		return refuse(ErrInvalidAction, x.a.Kind, "to", "%q is not a staff member available for complaints", x.a.To)
	}
	return r.reassignTx(x.tx, x.c.Number, owner, x.actor(), x.a.Text, EventReassigned, x.out)
}

// cleanText makes a staff member's text fit to store and send: valid
// UTF-8, line breaks as LF, no other control characters, trimmed, at most
// maxActionText runes.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	s = strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	return truncateRunes(strings.TrimSpace(s), maxActionText)
}
