package configs

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWorkflowDeadlinesParsed(t *testing.T) {
	c, err := parseWith(t, base+`
company: {timezone: Europe/Vilnius}
workflow:
  bonuses: [voucher]
  business_hours:
    mon: "09:00-18:00"
    tue: "09:00-13:00, 14:00-18:00"
    fri: closed
  holidays: [2026-02-16, 2026-12-24]
  deadlines:
    registered: 2h
    analysis: 24h
    rules:
      - {priority: high, registered: 1h}
      - {category: delivery, analysis: 8h}
  priority: {high_tiers: [head, top], high_categories: [safety]}
  reminders: [0.75]
  escalate_on_breach: false
`, baseEnv)
	if err != nil {
		t.Fatal(err)
	}
	w := c.Workflow
	if w.Bonuses[0] != "voucher" {
		t.Errorf("staff-action keys not read inline: %+v", w.WorkflowActions)
	}
	st := w.Deadlines.Stages()
	if st["registered"] != 2*time.Hour || st["analysis"] != 24*time.Hour || st["corrective_action"] != DefaultActionTime {
		t.Errorf("stage times = %v", st)
	}
	if r := w.Deadlines.Rules; len(r) != 2 || r[0].Stages()["registered"] != time.Hour || len(r[0].Stages()) != 1 || r[1].Stages()["analysis"] != 8*time.Hour {
		t.Errorf("rules = %+v", r)
	}
	if !slices.Equal(w.Priority.HighTiers, []string{"head", "top"}) || !slices.Equal(w.Reminders, []float64{0.75}) || w.EscalatesOnBreach() {
		t.Errorf("priority %+v reminders %v escalate %v", w.Priority, w.Reminders, w.EscalatesOnBreach())
	}
	// Monday 2026-03-09 17:00 in Vilnius + 2 business hours: 1h Monday,
	// then Tuesday 09:00-10:00.
	loc := c.Location
	got := w.Calendar.Add(time.Date(2026, 3, 9, 17, 0, 0, 0, loc), 2*time.Hour)
	if want := time.Date(2026, 3, 10, 10, 0, 0, 0, loc); !got.Equal(want) {
		t.Errorf("calendar: %s, want %s", got, want)
	}
	// Friday is closed, the weekend has no hours: Tuesday 17:00 + 3h on
	// the Tuesday of a holiday-free week ends Monday 11:00 (Wednesday and
	// Thursday have no hours either).
	got = w.Calendar.Add(time.Date(2026, 3, 10, 17, 0, 0, 0, loc), 3*time.Hour)
	if want := time.Date(2026, 3, 16, 11, 0, 0, 0, loc); !got.Equal(want) {
		t.Errorf("closed days: %s, want %s", got, want)
	}
}

// TestWorkflowDefaults: without a workflow section the first answer is
// due ack.reaction_time later in plain time, with reminders at 50% and
// 90% and escalation on.
func TestWorkflowDefaults(t *testing.T) {
	c, err := parseWith(t, base+"ack: {reaction_time: 3h}\n", baseEnv)
	if err != nil {
		t.Fatal(err)
	}
	w := c.Workflow
	st := w.Deadlines.Stages()
	if st["registered"] != 3*time.Hour || st["analysis"] != DefaultAnalysisTime || st["corrective_action"] != DefaultActionTime {
		t.Errorf("stage times = %v", st)
	}
	if !slices.Equal(w.Reminders, []float64{0.5, 0.9}) || !w.EscalatesOnBreach() || !slices.Equal(w.Priority.HighTiers, []string{"top"}) {
		t.Errorf("defaults: %+v", w)
	}
	start := time.Date(2026, 3, 7, 23, 0, 0, 0, time.UTC) // a Saturday night
	if got := w.Calendar.Add(start, 3*time.Hour); !got.Equal(start.Add(3 * time.Hour)) {
		t.Errorf("default calendar is not round the clock: %s", got)
	}
	c, err = parseWith(t, base+"workflow: {reminders: []}\n", baseEnv)
	if err != nil || len(c.Workflow.Reminders) != 0 {
		t.Errorf("reminders: [] means none: %v %v", c.Workflow.Reminders, err)
	}
}

func TestWorkflowProblemsAllAtOnce(t *testing.T) {
	_, err := parseWith(t, base+`
workflow:
  business_hours: {mon: "18:00-09:00", tue: "9-17", sun: "10:00-12:00, 11:00-13:00"}
  holidays: [2026-02-30, 24.12.2026]
  deadlines:
    registered: -1h
    analysis: 3000h
    rules:
      - {priority: urgent, registered: 1h}
      - {category: delivery}
  priority: {high_tiers: [vip]}
  reminders: [0.5, 1.5, 0.5, 0]
  handoffs: [{stage: closed, team: nosuch}]
`, baseEnv)
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"workflow.business_hours.mon:", "workflow.business_hours.tue:", "workflow.business_hours.sun:",
		`workflow.holidays[0]: "2026-02-30"`, `workflow.holidays[1]: "24.12.2026"`,
		"workflow.deadlines.registered:", "workflow.deadlines.analysis:",
		`workflow.deadlines.rules[0].priority: "urgent"`, "workflow.deadlines.rules[1]: names no stage time",
		`workflow.priority.high_tiers[0]: "vip"`,
		"workflow.reminders[1]:", "workflow.reminders[2]:", "workflow.reminders[3]:",
		"workflow.handoffs[0].stage:",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "workflow.reminders[0]") {
		t.Errorf("a valid reminder reported:\n%s", msg)
	}
}

func TestWorkflowUnknownKey(t *testing.T) {
	_, err := parseWith(t, base+"workflow: {business_hours: {monday: \"09:00-18:00\"}}\n", baseEnv)
	if err == nil || !strings.Contains(err.Error(), "monday") {
		t.Errorf("unknown weekday key: %v", err)
	}
}
