package configs

import (
	"strings"
	"testing"
)

func TestValidateWorkflowActions(t *testing.T) {
	c := &Config{
		Staff: []Staff{{ID: "anna", Teams: []string{"sales"}}, {ID: "rasa"}},
		Teams: []Team{{Name: "service", Head: "rasa"}},
	}
	var ok Problems
	c.validateWorkflowActions(&ok, "workflow", WorkflowActions{
		ResolutionKinds: []ResolutionKind{{Name: "refund", Amount: true}, {Name: "voucher", Bonus: true}},
		Bonuses:         []string{"coffee voucher", "free delivery"},
		Handoffs: []Handoff{{Stage: "corrective_action", FromTeam: "sales", Team: "service"},
			{Stage: "resolved", Owner: "rasa"}},
	})
	if len(ok) != 0 {
		t.Fatalf("a good section: %v", ok)
	}
	var p Problems
	c.validateWorkflowActions(&p, "workflow", WorkflowActions{
		ResolutionKinds: []ResolutionKind{{Name: "refund"}, {Name: "refund"}, {Name: "odd", Amount: true, Bonus: true}},
		Bonuses:         []string{"mug", "mug"},
		Handoffs:        []Handoff{{Stage: "closed", Team: "nowhere", FromTeam: "ghosts"}, {Stage: "analysis"}, {Stage: "analysis", Owner: "ghost"}},
	})
	text := p.Error()
	for _, want := range []string{
		`workflow.resolution_kinds[1].name: "refund" is empty or listed twice`,
		"workflow.resolution_kinds[2]: odd carries an amount or a bonus, not both",
		`workflow.bonuses[1]: "mug"`,
		`workflow.handoffs[0].stage: "closed"`,
		`workflow.handoffs[0].team: "nowhere" is not a team`,
		`workflow.handoffs[0].from_team: "ghosts" is not a team`,
		"workflow.handoffs[1]: names neither a team nor an owner",
		`workflow.handoffs[2].owner: "ghost" is not a staff id`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("problems lack %q:\n%s", want, text)
		}
	}
	if len(p) != 8 {
		t.Errorf("%d problems, want 8:\n%s", len(p), text)
	}
}
