package router

import (
	"errors"
	"fmt"
	"slices"

	"complaintbot/store"
)

// The workflow of a complaint (DOMAIN.md, Workflow):
//
//	registered -> analysis -> corrective_action -> resolved -> closed
//
// Forward steps are "advance" (registered may skip straight to
// corrective_action), reaching resolved is "resolve" (from any working
// stage: a small claim can be settled at once), leaving the workflow is
// "drop" (from any working stage, with a reason), and "reopen" takes a
// resolved, closed or dropped complaint (or a record set aside as not a
// complaint) back to analysis. Nothing else moves: there are no steps
// backwards between working stages and nothing returns to registered.

// Refusal classes of a staff action; every refusal wraps one of them.
var (
	// ErrUnknownActor: the actor is not a configured staff member.
	ErrUnknownActor = errors.New("router: actor is not a configured staff member")
	// ErrForbidden: the actor may not do this (not the owner, wrong role).
	ErrForbidden = errors.New("router: not allowed")
	// ErrInvalidAction: the action itself is incomplete or malformed.
	ErrInvalidAction = errors.New("router: invalid action")
	// ErrNeedsApproval: the resolution's amount needs an approval first.
	ErrNeedsApproval = errors.New("router: approval needed")
	// ErrConflict: the complaint's state does not allow the action
	// (every *TransitionError is one).
	ErrConflict = errors.New("router: conflicts with the complaint's state")
)

// TransitionError is a refused move between two stages, with the reason.
type TransitionError struct {
	Number   string // the complaint, when known
	From, To string
	Reason   string
}

func (e *TransitionError) Error() string {
	what := "complaint"
	if e.Number != "" {
		what = e.Number
	}
	return fmt.Sprintf("router: %s cannot move from %s to %s: %s", what, e.From, e.To, e.Reason)
}

// Unwrap makes every transition error an ErrConflict.
func (e *TransitionError) Unwrap() error { return ErrConflict }

// workingStages are the stages in which the owner works on a complaint,
// in order.
var workingStages = []string{store.StageRegistered, store.StageAnalysis, store.StageAction}

// knownStages are all stages a complaint can be in.
var knownStages = []string{store.StageRegistered, store.StageAnalysis, store.StageAction,
	store.StageResolved, store.StageClosed, store.StageDropped, store.StageNotComplaint}

// transitions lists every allowed move and the action that makes it.
var transitions = map[[2]string]string{
	{store.StageRegistered, store.StageAnalysis}: ActionAdvance,
	{store.StageRegistered, store.StageAction}:   ActionAdvance,
	{store.StageAnalysis, store.StageAction}:     ActionAdvance,
	{store.StageResolved, store.StageClosed}:     ActionAdvance,

	{store.StageRegistered, store.StageResolved}: ActionResolve,
	{store.StageAnalysis, store.StageResolved}:   ActionResolve,
	{store.StageAction, store.StageResolved}:     ActionResolve,

	{store.StageRegistered, store.StageDropped}: ActionDrop,
	{store.StageAnalysis, store.StageDropped}:   ActionDrop,
	{store.StageAction, store.StageDropped}:     ActionDrop,

	{store.StageResolved, store.StageAnalysis}:     ActionReopen,
	{store.StageClosed, store.StageAnalysis}:       ActionReopen,
	{store.StageDropped, store.StageAnalysis}:      ActionReopen,
	{store.StageNotComplaint, store.StageAnalysis}: ActionReopen,
}

// CheckTransition reports whether action kind may move a complaint from
// stage from to stage to: nil, or a *TransitionError saying why not.
func CheckTransition(kind, from, to string) error {
	want, ok := transitions[[2]string{from, to}]
	switch {
	case !ok:
		return &TransitionError{From: from, To: to, Reason: refusalReason(from, to)}
	case want != kind:
		return &TransitionError{From: from, To: to, Reason: fmt.Sprintf("this move is made by %q, not %q", want, kind)}
	}
	return nil
}

// refusalReason says why from -> to is not a move of the workflow; the
// first rule that applies wins.
func refusalReason(from, to string) string {
	switch {
	case !slices.Contains(knownStages, from):
		return fmt.Sprintf("unknown stage %q", from)
	case !slices.Contains(knownStages, to):
		return fmt.Sprintf("unknown stage %q", to)
	case from == to:
		return "it is in that stage already"
	case to == store.StageNotComplaint:
		return "not_complaint is the classifier's verdict, not a workflow stage"
	case to == store.StageRegistered:
		return "registered is where a complaint starts; nothing goes back to it"
	case from == store.StageNotComplaint:
		return "a record that is not a complaint becomes one by reopening it to analysis"
	case from == store.StageClosed:
		return "closed is final; reopen it to work on it again"
	case from == store.StageDropped:
		return "a dropped complaint is reopened to analysis before anything else"
	case from == store.StageResolved && to == store.StageDropped:
		return "a resolved complaint is not dropped; reopen it first"
	case from == store.StageResolved:
		return "reopening goes back to analysis"
	case to == store.StageClosed:
		return "only a resolved complaint is closed"
	}
	return "the workflow does not step back; note why and carry on, or resolve or drop it"
}

// nextStage is where "advance" without a named stage goes from stage; ""
// when nothing follows by advancing. From corrective_action it is resolved,
// so that the refusal names the resolve action.
func nextStage(stage string) string {
	switch stage {
	case store.StageRegistered:
		return store.StageAnalysis
	case store.StageAnalysis:
		return store.StageAction
	case store.StageAction:
		return store.StageResolved
	case store.StageResolved: // the satisfaction survey will sit between these
		return store.StageClosed
	}
	return ""
}

// dropReasons are the accepted reasons of "drop".
var dropReasons = []string{store.DropUnfounded, store.DropClarified, store.DropDuplicate}
