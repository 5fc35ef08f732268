package router

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"complaintbot/store"
)

// stageHook runs inside the transaction that moved complaint c from stage
// from into c.Stage (after any handoff). Deadline scheduling adds itself to
// Router.stageHooks in New.
type stageHook func(tx store.Tx, c *store.Complaint, from string, now time.Time) error

// transition refuses a move of x's complaint to stage to that the
// workflow does not allow for x's action.
func (x *acting) transition(to string) error {
	if err := CheckTransition(x.a.Kind, x.c.Stage, to); err != nil {
		var te *TransitionError
		if errors.As(err, &te) {
			te.Number = x.c.Number
		}
		return err
	}
	return nil
}

func (r *Router) advance(x *acting) error {
	to := x.a.To
	if to == "" {
		to = nextStage(x.c.Stage)
	}
	if to == "" { // nothing follows: closed, dropped, not_complaint
		return &TransitionError{Number: x.c.Number, From: x.c.Stage, To: "(next)", Reason: refusalReason(x.c.Stage, store.StageAnalysis)}
	}
	if err := x.transition(to); err != nil {
		return err
	}
	if err := x.mayManage(); err != nil {
		return err
	}
	return r.move(x, to, EventAdvanced, map[string]string{})
}

func (r *Router) drop(x *acting) error {
	if err := x.transition(store.StageDropped); err != nil {
		return err
	}
	if err := x.mayManage(); err != nil {
		return err
	}
	reason := strings.ToLower(x.a.To)
	if !slices.Contains(dropReasons, reason) {
		return refuse(ErrInvalidAction, x.a.Kind, "to", "drop reason %q is not one of %s", x.a.To, strings.Join(dropReasons, ", "))
	}
	var target *store.Complaint
	if reason == store.DropDuplicate {
		var err error
		if target, err = x.duplicateTarget(); err != nil {
			return err
		}
	}
	x.c.DropReason, x.c.DroppedFrom, x.c.DuplicateOf = reason, x.c.Stage, x.a.DuplicateOf
	fields := map[string]string{"reason": reason}
	if target != nil {
		fields["duplicate_of"] = target.Number
	}
	if err := r.move(x, store.StageDropped, EventDropped, fields); err != nil {
		return err
	}
	if target == nil {
		return nil
	}
	return appendEventText(x.tx, target.ID, x.now, x.actor(), EventDuplicateMerged, x.a.Text,
		map[string]string{"duplicate": x.c.Number})
}

// duplicateTarget loads the complaint a duplicate is merged into: another
// complaint that is not itself a merged duplicate.
func (x *acting) duplicateTarget() (*store.Complaint, error) {
	n := x.a.DuplicateOf
	if n == "" {
		return nil, refuse(ErrInvalidAction, x.a.Kind, "duplicate_of", "a duplicate names the complaint it duplicates")
	}
	if n == x.c.Number {
		return nil, refuse(ErrInvalidAction, x.a.Kind, "duplicate_of", "%s cannot duplicate itself", n)
	}
	t, err := x.tx.ComplaintByNumber(n)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(ErrInvalidAction, x.a.Kind, "duplicate_of", "no complaint %s", n)
	}
	if err != nil {
		return nil, fmt.Errorf("load complaint %s: %w", n, err)
	}
	if t.DropReason == store.DropDuplicate {
		return nil, refuse(ErrInvalidAction, x.a.Kind, "duplicate_of", "%s is itself a duplicate of %s; merge into that one", n, t.DuplicateOf)
	}
	return t, nil
}

func (r *Router) reopen(x *acting) error {
	if err := x.transition(store.StageAnalysis); err != nil {
		return err
	}
	if _, err := x.requireText("the reason for reopening"); err != nil {
		return err
	}
	fields := map[string]string{}
	if x.c.DropReason != "" {
		fields["drop_reason"] = x.c.DropReason
	}
	x.c.DropReason, x.c.DroppedFrom, x.c.DuplicateOf = "", "", ""
	x.c.ResolvedAt, x.c.ClosedAt = time.Time{}, time.Time{}
	return r.move(x, store.StageAnalysis, EventReopened, fields)
}

// move puts x's complaint into stage to (already checked), records event
// with from/to and the action's text as the why, then hands it off and
// runs the stage hooks.
func (r *Router) move(x *acting, to, event string, fields map[string]string) error {
	from := x.c.Stage
	x.c.Stage = to
	switch to {
	case store.StageResolved:
		x.c.ResolvedAt = x.now
	case store.StageClosed:
		x.c.ClosedAt = x.now
	}
	if err := x.putComplaint(); err != nil {
		return err
	}
	fields["from"], fields["to"] = from, to
	if err := appendEventText(x.tx, x.c.ID, x.now, x.actor(), event, x.a.Text, fields); err != nil {
		return err
	}
	return r.enteredStage(x.tx, x.c, from, x.now, x.out)
}

// enteredStage follows a complaint into its new stage: the configured
// handoff, then the stage hooks.
func (r *Router) enteredStage(tx store.Tx, c *store.Complaint, from string, now time.Time, out *outcome) error {
	if err := r.handOff(tx, c, now, out); err != nil {
		return err
	}
	c, err := tx.Complaint(c.ID)
	if err != nil {
		return fmt.Errorf("reload complaint %s: %w", c.Number, err)
	}
	for _, hook := range r.stageHooks {
		if err := hook(tx, c, from, now); err != nil {
			return err
		}
	}
	return nil
}

// handOff passes c on by the first handoff rule of its new stage: an
// event "handed_off" and the "assigned" mail to the new owner (the
// reassignment path), or "handoff_skipped" when nobody is available.
func (r *Router) handOff(tx store.Tx, c *store.Complaint, now time.Time, out *outcome) error {
	h, ok := r.wf.handoff(c.Stage, c.Team)
	if !ok {
		return nil
	}
	owner, why, err := r.handoffOwner(tx, h, c.Lang)
	if err != nil {
		return err
	}
	if owner == nil {
		return appendEventText(tx, c.ID, now, "system", EventHandoffSkipped, why, map[string]string{"stage": c.Stage})
	}
	if h.Team != "" && c.Team != h.Team {
		c.Team = h.Team
		if err := tx.PutComplaint(c); err != nil {
			return fmt.Errorf("put complaint %s: %w", c.Number, err)
		}
	}
	return r.reassignTx(tx, c.Number, owner, "system", why, EventHandedOff, out)
}

// handoffOwner picks who a handoff goes to: the named owner when
// available, else the team's available member (speaking lang when one
// does, frontline first, least loaded). nil when nobody is available.
func (r *Router) handoffOwner(tx store.Tx, h Handoff, lang string) (*Staff, string, error) {
	prefix := "handoff on entering " + h.Stage
	if s := r.dir.staff[h.Owner]; s != nil && !s.Away {
		return s, prefix + " -> " + s.ID, nil
	}
	members := r.dir.available(h.Team)
	if len(members) == 0 {
		return nil, prefix + ": nobody available (owner " + cmpOr(h.Owner, "-") + ", team " + cmpOr(h.Team, "-") + "); it stays with its owner", nil
	}
	pool := speakers(members, lang)
	if len(pool) == 0 {
		pool = members
	}
	best, load, err := leastLoaded(tx, frontlineFirst(pool))
	if err != nil {
		return nil, "", err
	}
	return best, fmt.Sprintf("%s -> team %s; fewest open complaints (%d)", prefix, h.Team, load), nil
}
