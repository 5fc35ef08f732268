package main

import (
	"fmt"
	"slices"
	"strings"

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
			Languages: s.Languages, Away: !s.IsAvailable(), Role: s.Role, Manager: s.Manager, TelegramID: s.TelegramID})
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
	if err := checkRoutedCategories(cfg.Routing.Categories, c.Categories()); err != nil {
		return nil, err
	}
	if err := checkDeadlineCategories(cfg.Workflow, c.Categories()); err != nil {
		return nil, err
	}
	return classifierAdapter{c}, nil
}

// checkRoutedCategories refuses a routing rule for a category the
// classifier never gives (a typo would silently send everything of that
// kind to the default owner).
func checkRoutedCategories(routed map[string]string, known []string) error {
	var unknown []string
	for cat := range routed {
		if !slices.Contains(known, cat) {
			unknown = append(unknown, cat)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("routing.categories: %s not among the classifier's categories (%s)",
		strings.Join(unknown, ", "), strings.Join(known, ", "))
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
