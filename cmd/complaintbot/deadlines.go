package main

import (
	"fmt"
	"slices"
	"strings"

	"complaintbot/configs"
	"complaintbot/router"
)

// routerDeadlines turns the workflow section's deadline keys into the
// router's Deadlines: the calendar Validate built, stage times, rules,
// priority, reminders and escalation.
func routerDeadlines(w configs.Workflow) *router.Deadlines {
	d := &router.Deadlines{
		Calendar:         w.Calendar,
		Stages:           w.Deadlines.Stages(),
		HighTiers:        slices.Clone(w.Priority.HighTiers),
		HighCategories:   slices.Clone(w.Priority.HighCategories),
		Reminders:        slices.Clone(w.Reminders),
		EscalateOnBreach: w.EscalatesOnBreach(),
	}
	if w.Calendar == nil { // a Config not made by configs.Parse
		d.Calendar = nil
	}
	for _, r := range w.Deadlines.Rules {
		d.Rules = append(d.Rules, router.DeadlineRule{Category: r.Category, Priority: r.Priority, Stages: r.Stages()})
	}
	return d
}

// checkDeadlineCategories refuses a deadline rule or high-priority
// category the classifier never gives (a typo would silently never match).
func checkDeadlineCategories(w configs.Workflow, known []string) error {
	var unknown []string
	for _, r := range w.Deadlines.Rules {
		if r.Category != "" && !slices.Contains(known, r.Category) {
			unknown = append(unknown, r.Category)
		}
	}
	for _, c := range w.Priority.HighCategories {
		if !slices.Contains(known, c) {
			unknown = append(unknown, c)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("workflow: deadline categories %s not among the classifier's categories (%s)",
		strings.Join(slices.Compact(unknown), ", "), strings.Join(known, ", "))
}
