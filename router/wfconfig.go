package router

import (
	"fmt"
	"slices"
	"strings"

	"complaintbot/store"
)

// Resolution kinds (store.Resolution.Kind) of the default list.
const (
	ResolutionRefund       = "refund"
	ResolutionReplacement  = "replacement"
	ResolutionRepair       = "repair"
	ResolutionExplanation  = "explanation"
	ResolutionDiscount     = "discount"
	ResolutionCompensation = "compensation"
	ResolutionBonus        = "consolation_bonus"
)

// ResolutionKind is one way of settling a complaint. Amount says the kind
// carries an amount (a refund does, a repair does not); Bonus says it names
// an item of the consolation bonus list.
type ResolutionKind struct {
	Name   string
	Amount bool
	Bonus  bool
}

// DefaultResolutionKinds are used when Workflow.ResolutionKinds is empty.
var DefaultResolutionKinds = []ResolutionKind{
	{Name: ResolutionRefund, Amount: true},
	{Name: ResolutionReplacement},
	{Name: ResolutionRepair},
	{Name: ResolutionExplanation},
	{Name: ResolutionDiscount, Amount: true},
	{Name: ResolutionCompensation, Amount: true},
	{Name: ResolutionBonus, Bonus: true},
}

// Handoff passes a complaint on when it enters Stage: to the staff member
// Owner, or else to the least loaded available member of Team (speaking
// the customer's language when one does). With FromTeam set, only a
// complaint of that team is passed on, which makes chains such as
// sales -> service -> accounting.
type Handoff struct {
	Stage    string
	FromTeam string
	Team     string
	Owner    string
}

// Workflow configures staff actions. The zero value means
// DefaultResolutionKinds, no consolation bonuses and no handoffs.
type Workflow struct {
	ResolutionKinds []ResolutionKind
	// Bonuses is the agreed list of consolation bonuses (DOMAIN.md: "a
	// small consolation bonus from an agreed list"); empty means the bonus
	// kind cannot be used.
	Bonuses  []string
	Handoffs []Handoff
}

// workflow is a Workflow checked against the staff directory.
type workflow struct {
	kinds    map[string]ResolutionKind
	bonuses  []string
	handoffs []Handoff
}

func newWorkflow(w *Workflow, d *directory) (*workflow, error) {
	if w == nil {
		w = &Workflow{}
	}
	wf := &workflow{kinds: map[string]ResolutionKind{}, bonuses: slices.Clone(w.Bonuses)}
	kinds := w.ResolutionKinds
	if len(kinds) == 0 {
		kinds = DefaultResolutionKinds
	}
	for _, k := range kinds {
		if k.Name == "" || wf.kinds[k.Name].Name != "" {
			return nil, fmt.Errorf("router: resolution kind %q is empty or listed twice", k.Name)
		}
		wf.kinds[k.Name] = k
	}
	for i, h := range w.Handoffs {
		if err := checkHandoff(h, d); err != nil {
			return nil, fmt.Errorf("router: handoff %d: %w", i, err)
		}
		wf.handoffs = append(wf.handoffs, h)
	}
	return wf, nil
}

func checkHandoff(h Handoff, d *directory) error {
	switch {
	case !slices.Contains([]string{store.StageAnalysis, store.StageAction, store.StageResolved}, h.Stage):
		return fmt.Errorf("stage %q: handoffs happen on entering analysis, corrective_action or resolved", h.Stage)
	case d == nil:
		return fmt.Errorf("stage %s: no staff configured to hand off to", h.Stage)
	case h.Owner == "" && h.Team == "":
		return fmt.Errorf("stage %s: names neither a team nor an owner", h.Stage)
	case h.Owner != "" && d.staff[h.Owner] == nil:
		return fmt.Errorf("stage %s: owner %q is not a staff member", h.Stage, h.Owner)
	case h.Team != "" && len(d.members[h.Team]) == 0:
		return fmt.Errorf("stage %s: team %q has no members", h.Stage, h.Team)
	}
	return nil
}

// handoff returns the rule for a complaint of team entering stage.
func (wf *workflow) handoff(stage, team string) (Handoff, bool) {
	for _, h := range wf.handoffs {
		if h.Stage == stage && (h.FromTeam == "" || h.FromTeam == team) {
			return h, true
		}
	}
	return Handoff{}, false
}

// kindNames lists the configured resolution kinds for messages.
func (wf *workflow) kindNames() string {
	names := make([]string, 0, len(wf.kinds))
	for n := range wf.kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
