package router

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"

	"complaintbot/store"
)

// Staff roles: who may settle a claim of which amount tier.
const (
	RoleFrontline = "frontline"
	RoleHead      = "head"
	RoleTop       = "top"
)

// Amount tiers: who may settle the claim.
const (
	TierFrontline = "frontline" // the owner, at once
	TierHead      = "head"      // needs the head of department's approval
	TierTop       = "top"       // needs top management's approval
)

// Event kinds and the outbox kind of assignment.
const (
	EventAssigned   = "assigned"
	EventReassigned = "reassigned"
	KindAssigned    = "assigned"
)

// Assignment is who works here and which complaint goes to whom.
type Assignment struct {
	Staff []Staff
	Teams []Team
	// Categories maps a complaint category to the name of its team.
	Categories map[string]string
	// DefaultOwner (a staff id) gets what no rule places and the messages
	// that are not complaints. Required; must not be Away.
	DefaultOwner string
	Tiers        Tiers
}

// Staff is one employee who can own complaints.
type Staff struct {
	ID    string
	Name  string
	Email string
	Teams []string
	// Languages spoken, best first; the first is the language of their
	// notifications.
	Languages []string
	// Away is true during vacation or sick leave: no new complaints.
	Away bool
	Role string // RoleFrontline (when empty), RoleHead, RoleTop
	// Manager is the staff id of who hears when this person misses a
	// deadline ("": the team head, then the default owner).
	Manager string
	// TelegramID is their Telegram user id (0: none): they get their
	// complaints' cards there and may press staff buttons.
	TelegramID int64
}

// Team is a department that handles some categories.
type Team struct {
	Name string
	Head string // staff id; approves the head tier
}

// Tiers are the claim amounts that decide who may settle a complaint.
// Amounts are decimal strings; Rates convert other currencies into
// Currency (units of Currency per unit of the other). Zero fields mean
// DefaultFrontlineMax, DefaultHeadMax, DefaultTierCurrency.
type Tiers struct {
	FrontlineMax string
	HeadMax      string
	Currency     string
	Rates        map[string]string
}

// Tier defaults.
const (
	DefaultFrontlineMax = "100"
	DefaultHeadMax      = "1000"
	DefaultTierCurrency = "EUR"
)

// ErrUnknownStaff is returned by Reassign for an id that is not a staff
// member who can take complaints.
var ErrUnknownStaff = errors.New("router: no such staff member available")

// directory is an Assignment checked and indexed for lookups.
type directory struct {
	staff        map[string]*Staff
	members      map[string][]*Staff // team -> members, in configuration order
	teams        map[string]Team
	categories   map[string]string
	defaultOwner *Staff
	top          []*Staff // role top, in configuration order
	tiers        tierRules
}

type tierRules struct {
	frontlineMax, headMax *big.Rat
	currency              string
	rates                 map[string]*big.Rat
}

func newDirectory(a *Assignment) (*directory, error) {
	if a == nil || len(a.Staff) == 0 {
		return nil, nil
	}
	d := &directory{staff: map[string]*Staff{}, members: map[string][]*Staff{}, teams: map[string]Team{},
		categories: map[string]string{}}
	if err := d.addStaff(a.Staff); err != nil {
		return nil, err
	}
	if err := d.addTeams(a.Teams, a.Categories); err != nil {
		return nil, err
	}
	owner := d.staff[a.DefaultOwner]
	if owner == nil || owner.Away {
		return nil, fmt.Errorf("router: default owner %q is not an available staff member", a.DefaultOwner)
	}
	d.defaultOwner = owner
	tiers, err := newTierRules(a.Tiers)
	if err != nil {
		return nil, err
	}
	d.tiers = tiers
	return d, nil
}

func (d *directory) addStaff(staff []Staff) error {
	for i := range staff {
		s := staff[i] // a copy: the caller's slice may change later
		s.Teams, s.Languages = slices.Clone(s.Teams), slices.Clone(s.Languages)
		if s.Role == "" {
			s.Role = RoleFrontline
		}
		switch {
		case s.ID == "" || d.staff[s.ID] != nil:
			return fmt.Errorf("router: staff id %q is empty or used twice", s.ID)
		case usableEmail(s.Email) == "":
			return fmt.Errorf("router: staff %q: email %q is not usable", s.ID, s.Email)
		case len(s.Languages) == 0:
			return fmt.Errorf("router: staff %q speaks no language", s.ID)
		case !slices.Contains([]string{RoleFrontline, RoleHead, RoleTop}, s.Role):
			return fmt.Errorf("router: staff %q: role %q", s.ID, s.Role)
		}
		d.staff[s.ID] = &s
		for _, t := range s.Teams {
			d.members[t] = append(d.members[t], &s)
		}
		if s.Role == RoleTop {
			d.top = append(d.top, &s)
		}
	}
	return nil
}

func (d *directory) addTeams(teams []Team, categories map[string]string) error {
	for _, t := range teams {
		if t.Head != "" && d.staff[t.Head] == nil {
			return fmt.Errorf("router: team %q: head %q is not a staff member", t.Name, t.Head)
		}
		d.teams[t.Name] = t
	}
	for cat, team := range categories {
		if _, ok := d.teams[team]; !ok && len(d.members[team]) == 0 {
			return fmt.Errorf("router: category %q: team %q is unknown", cat, team)
		}
		d.categories[cat] = team
	}
	return nil
}

var decimalRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// parseDecimal reads a non-negative decimal ("15000", "45.99") exactly.
func parseDecimal(s string) (*big.Rat, bool) {
	s = strings.TrimSpace(s)
	if !decimalRE.MatchString(s) {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}

func newTierRules(t Tiers) (tierRules, error) {
	tr := tierRules{currency: strings.ToUpper(cmpOr(t.Currency, DefaultTierCurrency)), rates: map[string]*big.Rat{}}
	var ok bool
	if tr.frontlineMax, ok = parseDecimal(cmpOr(t.FrontlineMax, DefaultFrontlineMax)); !ok {
		return tr, fmt.Errorf("router: tier frontline max %q is not a decimal", t.FrontlineMax)
	}
	if tr.headMax, ok = parseDecimal(cmpOr(t.HeadMax, DefaultHeadMax)); !ok || tr.headMax.Cmp(tr.frontlineMax) < 0 {
		return tr, fmt.Errorf("router: tier head max %q is not a decimal at least the frontline max", t.HeadMax)
	}
	for cur, rate := range t.Rates {
		r, ok := parseDecimal(rate)
		if !ok || r.Sign() == 0 {
			return tr, fmt.Errorf("router: rate of %s %q is not a positive decimal", cur, rate)
		}
		tr.rates[strings.ToUpper(cur)] = r
	}
	return tr, nil
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// tier says who may settle a claim of amount in currency, and why. No
// amount is the frontline tier; an amount that cannot be converted goes to
// the head tier so that a person with authority looks at it.
func (t tierRules) tier(amount, currency string) (tier, why string) {
	if strings.TrimSpace(amount) == "" {
		return TierFrontline, "no amount claimed"
	}
	v, ok := parseDecimal(amount)
	if !ok {
		return TierHead, fmt.Sprintf("amount %q unreadable", amount)
	}
	currency = strings.ToUpper(strings.TrimSpace(currency))
	if currency != "" && currency != t.currency {
		rate, ok := t.rates[currency]
		if !ok {
			return TierHead, fmt.Sprintf("%s %s: no rate to %s configured", amount, currency, t.currency)
		}
		v.Mul(v, rate)
	}
	in := v.FloatString(2) + " " + t.currency
	switch {
	case v.Cmp(t.frontlineMax) <= 0:
		return TierFrontline, in + " <= " + t.frontlineMax.FloatString(2)
	case v.Cmp(t.headMax) <= 0:
		return TierHead, in + " <= " + t.headMax.FloatString(2)
	}
	return TierTop, in + " > " + t.headMax.FloatString(2)
}

// choice is an owner and the reason they were chosen.
type choice struct {
	owner  *Staff
	team   string
	rule   string // metric label
	reason string
}

// choose picks the owner of a new complaint of category from a customer
// writing in lang: the category's team, within it the available members
// who speak lang (any available member when none does, recorded), frontline
// staff before heads, the fewest open complaints first (configuration order
// breaks ties); the default owner when no rule matches.
func (d *directory) choose(tx store.Tx, category, lang string) (choice, error) {
	team, ok := d.categories[category]
	if !ok {
		return d.fallback(fmt.Sprintf("no rule matched: category %q has no team", category)), nil
	}
	members := d.available(team)
	if len(members) == 0 {
		return d.fallback(fmt.Sprintf("no rule matched: nobody in team %s is available", team)), nil
	}
	rule, note := ruleTeam, ""
	pool := speakers(members, lang)
	if len(pool) == 0 {
		rule, note = ruleTeamAnyLang, fmt.Sprintf("language did not match: nobody available in team %s speaks %q; ", team, lang)
		pool = members
	}
	pool = frontlineFirst(pool)
	best, load, err := leastLoaded(tx, pool)
	if err != nil {
		return choice{}, err
	}
	reason := fmt.Sprintf("category %s -> team %s; %sfewest open complaints (%d) of %d candidate(s)", category, team, note, load, len(pool))
	if rule == ruleTeam {
		reason += " speaking " + lang
	}
	return choice{owner: best, team: team, rule: rule, reason: reason}, nil
}

func (d *directory) fallback(reason string) choice {
	return choice{owner: d.defaultOwner, rule: ruleDefaultOwner, reason: reason + " -> default owner"}
}

func (d *directory) available(team string) []*Staff {
	var out []*Staff
	for _, s := range d.members[team] {
		if !s.Away {
			out = append(out, s)
		}
	}
	return out
}

func speakers(staff []*Staff, lang string) []*Staff {
	var out []*Staff
	for _, s := range staff {
		if slices.Contains(s.Languages, lang) {
			out = append(out, s)
		}
	}
	return out
}

// frontlineFirst keeps the frontline staff of pool when there are any:
// heads and top managers take complaints only when nobody else can.
func frontlineFirst(pool []*Staff) []*Staff {
	var front []*Staff
	for _, s := range pool {
		if s.Role == RoleFrontline {
			front = append(front, s)
		}
	}
	if len(front) == 0 {
		return pool
	}
	return front
}

func leastLoaded(tx store.Tx, pool []*Staff) (*Staff, int, error) {
	var best *Staff
	bestLoad := 0
	for _, s := range pool {
		n, err := tx.OpenComplaintsByOwner(s.ID)
		if err != nil {
			return nil, 0, fmt.Errorf("load of %s: %w", s.ID, err)
		}
		if best == nil || n < bestLoad {
			best, bestLoad = s, n
		}
	}
	return best, bestLoad, nil
}

// approver names who approves a claim of tier on a complaint of team.
func (d *directory) approver(tier, team string) string {
	switch tier {
	case TierHead:
		if h := d.staff[d.teams[team].Head]; h != nil {
			return h.Name
		}
	case TierTop:
		for _, s := range d.top {
			if !s.Away {
				return s.Name
			}
		}
	}
	return ""
}

// defaultTierRules are the tiers used without an Assignment.
var defaultTierRules = func() tierRules {
	t, err := newTierRules(Tiers{})
	if err != nil {
		panic(err) // the defaults are constants
	}
	return t
}()
