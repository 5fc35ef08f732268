package main

import (
	"fmt"

	"complaintbot/configs"
	"complaintbot/router"
	"complaintbot/router/classify"
)

// routerAssignment turns the staff, teams and routing of the config into
// the router's Assignment; nil when no staff are configured.
func routerAssignment(cfg *configs.Config) *router.Assignment {
	if len(cfg.Staff) == 0 {
		return nil
	}
	a := &router.Assignment{
		Categories:   cfg.Routing.Categories,
		DefaultOwner: cfg.Routing.DefaultOwner,
		Tiers: router.Tiers{
			FrontlineMax: string(cfg.Routing.Tiers.FrontlineMax),
			HeadMax:      string(cfg.Routing.Tiers.HeadMax),
			Currency:     cfg.Routing.Tiers.Currency,
			Rates:        map[string]string{},
		},
	}
	for cur, rate := range cfg.Routing.Tiers.Rates {
		a.Tiers.Rates[cur] = string(rate)
	}
	for _, s := range cfg.Staff {
		a.Staff = append(a.Staff, router.Staff{ID: s.ID, Name: s.Name, Email: s.Email, Teams: s.Teams,
			Languages: s.Languages, Away: !s.IsAvailable(), Role: s.Role})
	}
	for _, t := range cfg.Teams {
		a.Teams = append(a.Teams, router.Team{Name: t.Name, Head: t.Head})
	}
	return a
}

// newClassifier builds the classifier from classify.rules_file (the
// built-in rules when empty) and adapts it to the router.
func newClassifier(cfg *configs.Config) (router.Classifier, error) {
	var o classify.Options
	if path := cfg.Classify.RulesFile; path != "" {
		r, err := classify.LoadRules(path)
		if err != nil {
			return nil, fmt.Errorf("classify.rules_file: %w", err)
		}
		o.Rules = r
	}
	c, err := classify.New(o)
	if err != nil {
		return nil, fmt.Errorf("classifier: %w", err)
	}
	return classifierAdapter{c}, nil
}

// classifierAdapter hands classify's Result to the router as its own
// Classification (router does not import its classifier).
type classifierAdapter struct{ c *classify.Classifier }

func (a classifierAdapter) Classify(subject, text string) router.Classification {
	r := a.c.Classify(subject, text)
	return router.Classification{
		IsComplaint: r.IsComplaint, NotComplaint: r.NotComplaint, Lang: r.Lang,
		Category: r.Category, Cause: r.Cause, Amount: r.Amount, Currency: r.Currency,
		Wants: r.Wants, ExtremismHint: r.ExtremismHint, Why: r.Why,
	}
}
