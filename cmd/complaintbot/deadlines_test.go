package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"complaintbot/configs"
	"complaintbot/router"
	"complaintbot/store"
)

// TestRouterDeadlinesFromExampleConfig: the example's workflow section
// reaches the router: a complaint on Friday afternoon in Vilnius is
// promised an answer in office hours after the weekend, and the first job
// of its deadline chain is scheduled.
func TestRouterDeadlinesFromExampleConfig(t *testing.T) {
	data, err := os.ReadFile("../../configs/complaintbot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.ParseWith(data, func(string) string { return "0123456789abcdef-secret" })
	if err != nil {
		t.Fatal(err)
	}
	d := routerDeadlines(cfg.Workflow)
	if d.Stages["registered"] != 4*time.Hour || len(d.Rules) != 2 || d.Rules[1].Category != "delivery" || !d.EscalateOnBreach || len(d.Reminders) != 2 {
		t.Fatalf("deadlines = %+v", d)
	}
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	loc := cfg.Location
	now := time.Date(2026, 3, 27, 16, 30, 0, 0, loc) // a Friday
	r, err := router.New(router.Options{Store: st, Secret: []byte("0123456789abcdef-secret"), Now: func() time.Time { return now },
		Assignment: routerAssignment(cfg), Deadlines: d})
	if err != nil {
		t.Fatal(err)
	}
	m := &store.Message{MessageID: "x1@example.com", From: store.Address{Email: "eve@example.com"}, Subject: "Broken", Text: "It broke.",
		Status: store.StatusRecorded, ContentHash: "h1", ReceivedAt: now}
	if err := r.Deliver(context.Background(), store.Batch{Source: "t", Messages: []*store.Message{m}}); err != nil {
		t.Fatal(err)
	}
	err = st.View(context.Background(), func(tx store.Tx) error {
		c, err := tx.Complaint(1)
		if err != nil {
			return err
		}
		// 16:30-17:00 Friday (closing at 17:00), then Monday 09:00-12:30.
		if want := time.Date(2026, 3, 30, 12, 30, 0, 0, loc); !c.DueAt.Equal(want) {
			t.Errorf("DueAt = %s, want %s", c.DueAt.In(loc), want)
		}
		// One job at a time: the 50% reminder (2 of the 4 business hours:
		// Monday 10:30); the 90% one and the breach follow it in turn.
		jobs, err := tx.JobsOf(c.ID)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("jobs = %v, %v; want the first reminder alone", jobs, err)
		}
		j := jobs[0]
		if want := time.Date(2026, 3, 30, 10, 30, 0, 0, loc); j.Kind != router.JobReminder || j.Status != store.JobPending ||
			!j.DueAt.Equal(want) || j.Data["fraction"] != "0.5" {
			t.Errorf("job = %+v, want the 50%% reminder pending at %s", j, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDeadlineCategoriesMustExist(t *testing.T) {
	w := configs.Workflow{Deadlines: configs.Deadlines{Rules: []configs.DeadlineRule{{Category: "delivry"}, {Category: "delivery"}}},
		Priority: configs.Priority{HighCategories: []string{"safty", "delivry"}}}
	err := checkDeadlineCategories(w, []string{"delivery", "quality"})
	if err == nil || !strings.Contains(err.Error(), "delivry, safty not among") {
		t.Errorf("err = %v", err)
	}
	w.Priority.HighCategories = nil
	w.Deadlines.Rules = w.Deadlines.Rules[1:]
	if err := checkDeadlineCategories(w, []string{"delivery"}); err != nil {
		t.Errorf("known category refused: %v", err)
	}
}
