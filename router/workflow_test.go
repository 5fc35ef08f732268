package router

import (
	"errors"
	"strings"
	"testing"

	"complaintbot/store"
)

// TestTransitionTable checks every pair of stages (and an unknown one)
// against a table written out by hand: the allowed moves with the action
// that makes them, and for every refused move the reason in the error.
func TestTransitionTable(t *testing.T) {
	const (
		already   = "in that stage already"
		unknown   = "unknown stage"
		verdict   = "classifier's verdict"
		starts    = "nothing goes back to it"
		back      = "does not step back"
		onlyRes   = "only a resolved complaint is closed"
		final     = "closed is final"
		dropFirst = "dropped complaint is reopened"
		notDrop   = "resolved complaint is not dropped"
		reopenTo  = "reopening goes back to analysis"
		becomes   = "becomes one by reopening"
	)
	stages := []string{store.StageRegistered, store.StageAnalysis, store.StageAction, store.StageResolved,
		store.StageClosed, store.StageDropped, store.StageNotComplaint, "limbo"}
	// want[from][to]: an action kind ("=advance") or a refusal reason.
	want := [][]string{
		{already, "=advance", "=advance", "=resolve", onlyRes, "=drop", verdict, unknown}, // registered
		{starts, already, "=advance", "=resolve", onlyRes, "=drop", verdict, unknown},     // analysis
		{starts, back, already, "=resolve", onlyRes, "=drop", verdict, unknown},           // corrective_action
		{starts, "=reopen", reopenTo, already, "=advance", notDrop, verdict, unknown},     // resolved
		{starts, "=reopen", final, final, already, final, verdict, unknown},               // closed
		{starts, "=reopen", dropFirst, dropFirst, dropFirst, already, verdict, unknown},   // dropped
		{starts, "=reopen", becomes, becomes, becomes, becomes, already, unknown},         // not_complaint
		{unknown, unknown, unknown, unknown, unknown, unknown, unknown, unknown},          // limbo
	}
	kinds := []string{ActionAdvance, ActionResolve, ActionDrop, ActionReopen}
	allowed := 0
	for i, from := range stages {
		for j, to := range stages {
			w := want[i][j]
			for _, kind := range kinds {
				err := CheckTransition(kind, from, to)
				var te *TransitionError
				switch {
				case w == "="+kind:
					allowed++
					if err != nil {
						t.Errorf("%s %s -> %s refused: %v", kind, from, to, err)
					}
				case !errors.As(err, &te):
					t.Errorf("%s %s -> %s: got %v, want a *TransitionError", kind, from, to, err)
				case te.From != from || te.To != to || !errors.Is(err, ErrConflict):
					t.Errorf("%s %s -> %s: error %+v", kind, from, to, te)
				case strings.HasPrefix(w, "="):
					if !strings.Contains(err.Error(), `made by "`+w[1:]+`", not "`+kind+`"`) {
						t.Errorf("%s %s -> %s: %q does not name the right action", kind, from, to, err)
					}
				case !strings.Contains(te.Reason, w):
					t.Errorf("%s %s -> %s: reason %q, want it to say %q", kind, from, to, te.Reason, w)
				}
			}
		}
	}
	if allowed != 14 {
		t.Errorf("%d allowed moves, want 14", allowed)
	}
}

func TestNextStage(t *testing.T) {
	for from, to := range map[string]string{
		store.StageRegistered: store.StageAnalysis, store.StageAnalysis: store.StageAction,
		store.StageAction: store.StageResolved, store.StageResolved: store.StageClosed,
		store.StageClosed: "", store.StageDropped: "", store.StageNotComplaint: "",
	} {
		if got := nextStage(from); got != to {
			t.Errorf("nextStage(%s) = %q, want %q", from, got, to)
		}
	}
}

func TestOpenStages(t *testing.T) {
	for stage, open := range map[string]bool{
		store.StageRegistered: true, store.StageAnalysis: true, store.StageAction: true,
		store.StageResolved: false, store.StageClosed: false, store.StageDropped: false, store.StageNotComplaint: false,
	} {
		if got := (&store.Complaint{Stage: stage}).Open(); got != open {
			t.Errorf("Open() in %s = %v", stage, got)
		}
	}
}

func TestNewValidatesWorkflow(t *testing.T) {
	for name, w := range map[string]*Workflow{
		"handoff stage":   {Handoffs: []Handoff{{Stage: store.StageClosed, Team: "quality"}}},
		"handoff team":    {Handoffs: []Handoff{{Stage: store.StageAction, Team: "nobody"}}},
		"handoff owner":   {Handoffs: []Handoff{{Stage: store.StageAction, Owner: "ghost"}}},
		"handoff nothing": {Handoffs: []Handoff{{Stage: store.StageAction}}},
		"kind twice":      {ResolutionKinds: []ResolutionKind{{Name: "refund"}, {Name: "refund"}}},
	} {
		f := newFixture(t, nil)
		_, err := New(Options{Store: f.st, Secret: testSecret, Assignment: testAssignment(), Workflow: w})
		if err == nil {
			t.Errorf("%s: New accepted %+v", name, w)
		}
	}
}
