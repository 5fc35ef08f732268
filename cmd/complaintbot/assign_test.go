package main

import (
	"strings"
	"testing"

	"complaintbot/configs"
)

func TestRoutedCategoriesMustExist(t *testing.T) {
	cfg := &configs.Config{Routing: configs.Routing{Categories: map[string]string{"delivery": "x", "delivry": "x", "qualty": "y"}}}
	_, err := newClassifier(cfg)
	if err == nil || !strings.HasPrefix(err.Error(), "routing.categories: delivry, qualty not among") {
		t.Fatalf("err = %v", err)
	}
	cfg.Routing.Categories = map[string]string{"delivery": "x", "other": "y"}
	if _, err := newClassifier(cfg); err != nil {
		t.Fatalf("known categories refused: %v", err)
	}
}

func TestRouterAssignmentFromConfig(t *testing.T) {
	off := false
	cfg := &configs.Config{
		Staff: []configs.Staff{{ID: "a", Name: "A", Email: "a@x.test", Teams: []string{"t"}, Languages: []string{"lt"}, Role: "head", Available: &off}},
		Teams: []configs.Team{{Name: "t", Head: "a"}},
		Routing: configs.Routing{Categories: map[string]string{"quality": "t"}, DefaultOwner: "a",
			Tiers: configs.Tiers{FrontlineMax: "50", HeadMax: "500", Currency: "EUR", Rates: map[string]configs.Decimal{"USD": "0.9"}}},
	}
	a := routerAssignment(cfg)
	if len(a.Staff) != 1 || !a.Staff[0].Away || a.Staff[0].Role != "head" || a.Teams[0].Head != "a" ||
		a.Tiers.FrontlineMax != "50" || a.Tiers.Rates["USD"] != "0.9" || a.DefaultOwner != "a" {
		t.Errorf("assignment = %+v", a)
	}
	if routerAssignment(&configs.Config{}) != nil {
		t.Error("no staff must mean no assignment")
	}
}
