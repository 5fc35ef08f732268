package configs

import (
	"fmt"
	"slices"
	"time"

	"complaintbot/router/bizhours"
)

// Workflow is the workflow section: what staff do with a complaint
// (actions.go) and the deadlines of its stages, counted in business hours.
type Workflow struct {
	WorkflowActions `yaml:",inline"`

	// BusinessHours are the opening hours per weekday; a day left out is
	// closed. Without any, business time is plain time (open round the clock).
	BusinessHours BusinessHours `yaml:"business_hours"`
	// Holidays are closed days, YYYY-MM-DD.
	Holidays []string `yaml:"holidays"`
	// Deadlines is the business time each stage gets, with overrides.
	Deadlines Deadlines `yaml:"deadlines"`
	// Priority says which complaints are high priority (for deadline rules).
	Priority Priority `yaml:"priority"`
	// Reminders are the fractions of a stage's time at which its owner is
	// reminded; default [0.5, 0.9]; [] for none.
	Reminders []float64 `yaml:"reminders"`
	// EscalateOnBreach mails the owner's manager (else the team head, else
	// the default owner) when a deadline passes; default true.
	EscalateOnBreach *bool `yaml:"escalate_on_breach"`

	// Calendar is BusinessHours, Holidays and company.timezone checked by
	// Validate.
	Calendar *bizhours.Calendar `yaml:"-"`
}

// BusinessHours holds a day's opening hours as "09:00-18:00", or with a
// break "09:00-13:00, 14:00-18:00"; "" or "closed" for none.
type BusinessHours struct {
	Mon string `yaml:"mon"`
	Tue string `yaml:"tue"`
	Wed string `yaml:"wed"`
	Thu string `yaml:"thu"`
	Fri string `yaml:"fri"`
	Sat string `yaml:"sat"`
	Sun string `yaml:"sun"`
}

// days lists the week by time.Weekday with each day's key.
func (b BusinessHours) days() [7]struct{ key, hours string } {
	return [7]struct{ key, hours string }{
		{"sun", b.Sun}, {"mon", b.Mon}, {"tue", b.Tue}, {"wed", b.Wed}, {"thu", b.Thu}, {"fri", b.Fri}, {"sat", b.Sat},
	}
}

// Deadlines is the business time of each stage. Registered is the
// reaction time promised to the customer in the acknowledgement (default
// ack.reaction_time).
type Deadlines struct {
	Registered       Duration `yaml:"registered"`
	Analysis         Duration `yaml:"analysis"`
	CorrectiveAction Duration `yaml:"corrective_action"`
	// Rules override the times above: for each stage the first rule that
	// matches the complaint and names that stage wins.
	Rules []DeadlineRule `yaml:"rules"`
}

// DeadlineRule overrides stage times for a category and/or priority (empty
// matches any); a stage it leaves out (or 0) is not overridden.
type DeadlineRule struct {
	Category         string   `yaml:"category"`
	Priority         string   `yaml:"priority"` // normal | high
	Registered       Duration `yaml:"registered"`
	Analysis         Duration `yaml:"analysis"`
	CorrectiveAction Duration `yaml:"corrective_action"`
}

// Stages maps the stage names (as the store writes them) to the times set.
func (d Deadlines) Stages() map[string]time.Duration {
	return stageTimes(d.Registered, d.Analysis, d.CorrectiveAction)
}

// Stages maps the stage names to the times the rule sets.
func (r DeadlineRule) Stages() map[string]time.Duration {
	return stageTimes(r.Registered, r.Analysis, r.CorrectiveAction)
}

func stageTimes(registered, analysis, action Duration) map[string]time.Duration {
	m := map[string]time.Duration{}
	for stage, d := range map[string]Duration{"registered": registered, "analysis": analysis, "corrective_action": action} {
		if d > 0 {
			m[stage] = d.D()
		}
	}
	return m
}

// Priority makes a complaint high priority when its amount tier or its
// category is listed. The extremism hint is deliberately not a reason: it
// must not change what the customer is promised.
type Priority struct {
	HighTiers      []string `yaml:"high_tiers"` // default [top]
	HighCategories []string `yaml:"high_categories"`
}

// Workflow defaults.
const (
	DefaultAnalysisTime = 16 * time.Hour // two office days
	DefaultActionTime   = 40 * time.Hour // an office week
	// maxStageTime bounds a stage's business time (about a year of office hours).
	maxStageTime = 2000 * time.Hour
)

// DefaultReminders are the default reminder fractions.
var DefaultReminders = []float64{0.5, 0.9}

// EscalatesOnBreach is EscalateOnBreach with its default.
func (w Workflow) EscalatesOnBreach() bool { return w.EscalateOnBreach == nil || *w.EscalateOnBreach }

func (c *Config) applyWorkflowDefaults() {
	w := &c.Workflow
	if w.Deadlines.Registered == 0 {
		w.Deadlines.Registered = c.Ack.ReactionTime
	}
	if w.Deadlines.Analysis == 0 {
		w.Deadlines.Analysis = Duration(DefaultAnalysisTime)
	}
	if w.Deadlines.CorrectiveAction == 0 {
		w.Deadlines.CorrectiveAction = Duration(DefaultActionTime)
	}
	if w.Reminders == nil {
		w.Reminders = slices.Clone(DefaultReminders)
	}
	if w.Priority.HighTiers == nil {
		w.Priority.HighTiers = []string{RoleTop}
	}
}

// validateWorkflow checks the workflow section and builds its calendar in
// c.Location (loaded before).
func (c *Config) validateWorkflow(p *Problems) {
	w := &c.Workflow
	c.validateWorkflowActions(p, "workflow", w.WorkflowActions)
	c.validateCalendar(p)
	checkStageTimes(p, "workflow.deadlines", w.Deadlines.Registered, w.Deadlines.Analysis, w.Deadlines.CorrectiveAction)
	for i, r := range w.Deadlines.Rules {
		key := fmt.Sprintf("workflow.deadlines.rules[%d]", i)
		if !oneOf(r.Priority, "", "normal", "high") {
			p.addf("%s.priority: %q is not one of normal, high", key, r.Priority)
		}
		checkStageTimes(p, key, r.Registered, r.Analysis, r.CorrectiveAction)
		if len(r.Stages()) == 0 {
			p.addf("%s: names no stage time (registered, analysis, corrective_action)", key)
		}
	}
	for i, t := range w.Priority.HighTiers {
		if !oneOf(t, TierFrontline, TierHead, TierTop) {
			p.addf("workflow.priority.high_tiers[%d]: %q is not one of frontline, head, top", i, t)
		}
	}
	for i, f := range w.Reminders {
		if !(f > 0 && f < 1) || slices.Contains(w.Reminders[:i], f) {
			p.addf("workflow.reminders[%d]: %v must be a fraction between 0 and 1, listed once", i, f)
		}
	}
}

// Amount tiers (routing.tiers): who may settle a claim.
const (
	TierFrontline = "frontline"
	TierHead      = "head"
	TierTop       = "top"
)

func checkStageTimes(p *Problems, key string, registered, analysis, action Duration) {
	for _, s := range []struct {
		name string
		d    Duration
	}{{"registered", registered}, {"analysis", analysis}, {"corrective_action", action}} {
		if s.d < 0 || s.d.D() > maxStageTime {
			p.addf("%s.%s: %s must be positive and at most %s of business time", key, s.name, s.d.D(), maxStageTime)
		}
	}
}

// validateCalendar parses the opening hours and holidays into w.Calendar
// (open round the clock when no day has hours).
func (c *Config) validateCalendar(p *Problems) {
	w := &c.Workflow
	o := bizhours.Options{Location: c.Location}
	open := false
	for wd, day := range w.BusinessHours.days() {
		spans, err := bizhours.ParseSpans(day.hours)
		if err != nil {
			p.addf("workflow.business_hours.%s: %v", day.key, err)
		}
		o.Week[wd] = spans
		open = open || len(spans) > 0
	}
	for i, h := range w.Holidays {
		d, err := bizhours.ParseDate(h)
		if err != nil {
			p.addf("workflow.holidays[%d]: %q is not a date like 2026-12-24", i, h)
			continue
		}
		o.Holidays = append(o.Holidays, d)
	}
	if !open {
		w.Calendar = bizhours.AlwaysOpen(c.Location)
		return
	}
	cal, err := bizhours.New(o)
	if err != nil {
		p.addf("workflow.business_hours: %v", err)
		return
	}
	w.Calendar = cal
}
