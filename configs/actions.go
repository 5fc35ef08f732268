package configs

import (
	"fmt"
	"slices"
)

// WorkflowActions configures what staff do with a complaint (router's
// staff actions); its keys sit in the workflow section.
type WorkflowActions struct {
	// ResolutionKinds are the ways a complaint can be settled; empty means
	// refund, replacement, repair, explanation, discount, compensation and
	// consolation_bonus.
	ResolutionKinds []ResolutionKind `yaml:"resolution_kinds"`
	// Bonuses is the agreed list of consolation bonuses; without it the
	// consolation_bonus kind cannot be used.
	Bonuses []string `yaml:"bonuses"`
	// Handoffs pass a complaint on automatically when it enters a stage.
	Handoffs []Handoff `yaml:"handoffs"`
}

// ResolutionKind is one way of settling a complaint: with an amount
// (refund) or not (repair), or naming a consolation bonus.
type ResolutionKind struct {
	Name   string `yaml:"name"`
	Amount bool   `yaml:"amount"`
	Bonus  bool   `yaml:"bonus"`
}

// Handoff passes a complaint to Owner (a staff id) or the least loaded
// available member of Team when it enters Stage (analysis,
// corrective_action or resolved); with FromTeam, only a complaint of that
// team, which makes chains such as sales -> service -> accounting.
type Handoff struct {
	Stage    string `yaml:"stage"`
	FromTeam string `yaml:"from_team"`
	Team     string `yaml:"team"`
	Owner    string `yaml:"owner"`
}

var handoffStages = []string{"analysis", "corrective_action", "resolved"}

// validateWorkflowActions checks a under key ("workflow") against the
// staff ids and team names.
func (c *Config) validateWorkflowActions(p *Problems, key string, a WorkflowActions) {
	names := map[string]bool{}
	for i, k := range a.ResolutionKinds {
		switch {
		case k.Name == "" || names[k.Name]:
			p.addf("%s.resolution_kinds[%d].name: %q is empty or listed twice", key, i, k.Name)
		case k.Amount && k.Bonus:
			p.addf("%s.resolution_kinds[%d]: %s carries an amount or a bonus, not both", key, i, k.Name)
		}
		names[k.Name] = true
	}
	for i, b := range a.Bonuses {
		if b == "" || slices.Contains(a.Bonuses[:i], b) {
			p.addf("%s.bonuses[%d]: %q is empty or listed twice", key, i, b)
		}
	}
	for i, h := range a.Handoffs {
		c.validateHandoff(p, fmt.Sprintf("%s.handoffs[%d]", key, i), h)
	}
}

func (c *Config) validateHandoff(p *Problems, key string, h Handoff) {
	if !slices.Contains(handoffStages, h.Stage) {
		p.addf("%s.stage: %q is not one of analysis, corrective_action, resolved", key, h.Stage)
	}
	if h.Team == "" && h.Owner == "" {
		p.addf("%s: names neither a team nor an owner", key)
	}
	if _, ok := c.StaffByID(h.Owner); h.Owner != "" && !ok {
		p.addf("%s.owner: %q is not a staff id", key, h.Owner)
	}
	for _, t := range []struct{ field, name string }{{"team", h.Team}, {"from_team", h.FromTeam}} {
		if t.name != "" && !c.hasTeam(t.name) {
			p.addf("%s.%s: %q is not a team", key, t.field, t.name)
		}
	}
}

// hasTeam reports whether name is a configured team or a team some staff
// member is in.
func (c *Config) hasTeam(name string) bool {
	for _, t := range c.Teams {
		if t.Name == name {
			return true
		}
	}
	for _, s := range c.Staff {
		if slices.Contains(s.Teams, name) {
			return true
		}
	}
	return false
}
