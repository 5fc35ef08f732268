package configs

import (
	"fmt"
	"math/big"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Staff is one employee who can own complaints.
type Staff struct {
	ID         string   `yaml:"id"`
	Name       string   `yaml:"name"`
	Email      string   `yaml:"email"`
	TelegramID int64    `yaml:"telegram_id"`
	Teams      []string `yaml:"teams"`
	// Languages the person can answer customers in, best first; the first
	// is the language of their own notifications.
	Languages []string `yaml:"languages"`
	Manager   string   `yaml:"manager"` // a staff id
	// Available is false while the person is away (vacation, sick leave):
	// they get no new complaints. Default true.
	Available *bool  `yaml:"available"`
	Role      string `yaml:"role"` // frontline | head | top
}

// IsAvailable is Available with its default.
func (s Staff) IsAvailable() bool { return s.Available == nil || *s.Available }

// Staff roles: who may settle a claim of which amount tier.
const (
	RoleFrontline = "frontline"
	RoleHead      = "head"
	RoleTop       = "top"
)

// Team is a group of staff that handles some categories of complaints.
type Team struct {
	Name string `yaml:"name"`
	Head string `yaml:"head"` // staff id of the head of department (approves the head tier)
}

// Routing says who gets which complaint.
type Routing struct {
	// Categories maps a complaint category (quality, delivery, ...) to
	// the team that handles it.
	Categories map[string]string `yaml:"categories"`
	// DefaultOwner gets what no rule places, and messages that are not
	// complaints. Required when staff are configured.
	DefaultOwner string `yaml:"default_owner"`
	Tiers        Tiers  `yaml:"tiers"`
}

// Tiers are the claim amounts that decide who may settle a complaint: up to
// FrontlineMax its owner settles it at once, up to HeadMax the head of the
// department approves, above that top management. Amounts in another
// currency are converted with Rates (units of Currency per unit of the
// other), rough rates being enough to pick a tier.
type Tiers struct {
	FrontlineMax Decimal            `yaml:"frontline_max"`
	HeadMax      Decimal            `yaml:"head_max"`
	Currency     string             `yaml:"currency"` // ISO 4217
	Rates        map[string]Decimal `yaml:"rates"`
}

// Classify configures the classifier and the hints drawn from history.
type Classify struct {
	// RulesFile is a YAML file of rules and word lists replacing the
	// built-in defaults; empty uses the defaults.
	RulesFile string    `yaml:"rules_file"`
	Extremism Extremism `yaml:"extremism"`
}

// Extremism sets when a customer's history alone flags a new complaint for
// a human to look at: RepeatComplaints or more complaints (this one
// included) within RepeatWindow.
type Extremism struct {
	RepeatComplaints int      `yaml:"repeat_complaints"`
	RepeatWindow     Duration `yaml:"repeat_window"`
}

// Defaults of the assignment settings.
const (
	DefaultFrontlineMax     = "100"
	DefaultHeadMax          = "1000"
	DefaultTierCurrency     = "EUR"
	DefaultRepeatComplaints = 3
	DefaultRepeatWindow     = 30 * 24 * time.Hour
)

// Decimal is a non-negative decimal number kept as written ("100",
// "0.011"), so amounts compare exactly.
type Decimal string

// UnmarshalYAML takes a plain scalar (100, 0.011, "1500.50").
func (d *Decimal) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a number", n.Line)
	}
	*d = Decimal(strings.TrimSpace(n.Value))
	return nil
}

var decimalRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// Valid reports whether d is a non-negative decimal without exponent.
func (d Decimal) Valid() bool { return decimalRE.MatchString(string(d)) }

// Rat is d as an exact number; zero when d is not Valid.
func (d Decimal) Rat() *big.Rat {
	r, ok := new(big.Rat).SetString(string(d))
	if !ok || !d.Valid() {
		return new(big.Rat)
	}
	return r
}

func (c *Config) applyStaffDefaults() {
	for i := range c.Staff {
		s := &c.Staff[i]
		if s.Role == "" {
			s.Role = RoleFrontline
		}
		for j, l := range s.Languages {
			s.Languages[j] = strings.ToLower(strings.TrimSpace(l))
		}
		if s.Name == "" {
			s.Name = s.ID
		}
	}
	t := &c.Routing.Tiers
	if t.FrontlineMax == "" {
		t.FrontlineMax = DefaultFrontlineMax
	}
	if t.HeadMax == "" {
		t.HeadMax = DefaultHeadMax
	}
	if t.Currency == "" {
		t.Currency = DefaultTierCurrency
	}
	if c.Classify.Extremism.RepeatComplaints == 0 {
		c.Classify.Extremism.RepeatComplaints = DefaultRepeatComplaints
	}
	if c.Classify.Extremism.RepeatWindow == 0 {
		c.Classify.Extremism.RepeatWindow = Duration(DefaultRepeatWindow)
	}
}

// StaffByID returns the staff member with that id.
func (c *Config) StaffByID(id string) (Staff, bool) {
	for _, s := range c.Staff {
		if s.ID == id {
			return s, true
		}
	}
	return Staff{}, false
}

var (
	staffIDRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	langRE     = regexp.MustCompile(`^[a-z]{2,3}$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// validateAssignment checks staff, teams, routing and classify, with their
// cross-references.
func (c *Config) validateAssignment(p *Problems, readFile func(string) ([]byte, error)) {
	ids := c.validateStaffRecords(p)
	teams := c.validateTeams(p, ids)
	c.validateStaffRefs(p, ids, teams)
	c.validateManagers(p, ids)
	c.validateRouting(p, ids, teams)
	c.validateTiers(p)
	c.validateClassify(p, readFile)
}

// validateStaffRecords checks each staff entry alone and returns the index
// of each id.
func (c *Config) validateStaffRecords(p *Problems) map[string]int {
	ids := make(map[string]int, len(c.Staff))
	for i, s := range c.Staff {
		key := fmt.Sprintf("staff[%d]", i)
		switch _, dup := ids[s.ID]; {
		case s.ID == "":
			p.addf("%s.id: required", key)
		case !staffIDRE.MatchString(s.ID):
			p.addf("%s.id: %q must be letters, digits, '.', '_' or '-' (at most 64)", key, s.ID)
		case dup:
			p.addf("%s.id: %q is used twice", key, s.ID)
		default:
			ids[s.ID] = i
		}
		if a, err := mail.ParseAddress(s.Email); err != nil || a.Name != "" || a.Address != s.Email {
			p.addf("%s.email: %q is not a bare address like anna@example.com", key, s.Email)
		}
		if s.TelegramID < 0 {
			p.addf("%s.telegram_id: must not be negative", key)
		}
		if len(s.Languages) == 0 {
			p.addf("%s.languages: list at least one language (ru, lt, en, ...)", key)
		}
		for j, l := range s.Languages {
			if !langRE.MatchString(l) {
				p.addf("%s.languages[%d]: %q is not a language code like ru, lt, en", key, j, l)
			}
		}
		if !oneOf(s.Role, RoleFrontline, RoleHead, RoleTop) {
			p.addf("%s.role: %q is not one of frontline, head, top", key, s.Role)
		}
	}
	return ids
}

// validateTeams checks the teams and returns their names with their
// number of members.
func (c *Config) validateTeams(p *Problems, ids map[string]int) map[string]int {
	teams := make(map[string]int, len(c.Teams))
	for i, t := range c.Teams {
		key := fmt.Sprintf("teams[%d]", i)
		switch _, dup := teams[t.Name]; {
		case t.Name == "":
			p.addf("%s.name: required", key)
		case dup:
			p.addf("%s.name: %q is used twice", key, t.Name)
		default:
			teams[t.Name] = 0
		}
		j, ok := ids[t.Head]
		switch {
		case t.Head == "":
			p.addf("%s.head: required (the staff id of the head of department)", key)
		case !ok:
			p.addf("%s.head: %q is not a staff id", key, t.Head)
		case c.Staff[j].Role == RoleFrontline:
			p.addf("%s.head: %q has role frontline; the head approves claims and needs role head or top", key, t.Head)
		}
	}
	for _, s := range c.Staff {
		for _, t := range s.Teams {
			if n, ok := teams[t]; ok {
				teams[t] = n + 1
			}
		}
	}
	return teams
}

func (c *Config) validateStaffRefs(p *Problems, ids, teams map[string]int) {
	for i, s := range c.Staff {
		key := fmt.Sprintf("staff[%d]", i)
		for j, t := range s.Teams {
			if _, ok := teams[t]; !ok {
				p.addf("%s.teams[%d]: %q is not a team (list it under teams:)", key, j, t)
			}
		}
		if s.Manager == "" {
			continue
		}
		if _, ok := ids[s.Manager]; !ok {
			p.addf("%s.manager: %q is not a staff id", key, s.Manager)
		} else if s.Manager == s.ID {
			p.addf("%s.manager: %q is their own manager", key, s.ID)
		}
	}
}

// validateManagers reports each chain of managers that loops back, once
// (a person who is their own manager is reported by validateStaffRefs).
func (c *Config) validateManagers(p *Problems, ids map[string]int) {
	inCycle := map[string]bool{}
	for _, s := range c.Staff {
		if s.Manager == s.ID || inCycle[s.ID] {
			continue
		}
		chain := []string{s.ID}
		for m := s.Manager; m != ""; m = c.Staff[ids[m]].Manager {
			if _, ok := ids[m]; !ok {
				break
			}
			if i := slices.Index(chain, m); i >= 0 {
				reportCycle(p, append(chain[i:], m), inCycle)
				break
			}
			chain = append(chain, m)
		}
	}
}

func reportCycle(p *Problems, cycle []string, inCycle map[string]bool) {
	if len(cycle) <= 2 { // x -> x: their own manager, reported already
		return
	}
	for _, id := range cycle {
		if inCycle[id] {
			return
		}
	}
	for _, id := range cycle {
		inCycle[id] = true
	}
	p.addf("staff: managers form a cycle through %q (%s)", cycle[0], strings.Join(cycle, " -> "))
}

func (c *Config) validateRouting(p *Problems, ids, teams map[string]int) {
	r := c.Routing
	if len(c.Staff) == 0 {
		if r.DefaultOwner != "" || len(r.Categories) > 0 || len(c.Teams) > 0 {
			p.addf("staff: required when teams or routing are set")
		}
		return
	}
	switch j, ok := ids[r.DefaultOwner]; {
	case r.DefaultOwner == "":
		p.addf("routing.default_owner: required when staff are configured (gets what no rule places)")
	case !ok:
		p.addf("routing.default_owner: %q is not a staff id", r.DefaultOwner)
	case !c.Staff[j].IsAvailable():
		p.addf("routing.default_owner: %q is not available; the default owner must always be", r.DefaultOwner)
	}
	for _, cat := range sortedKeys(r.Categories) {
		team := r.Categories[cat]
		n, ok := teams[team]
		switch {
		case strings.TrimSpace(cat) == "":
			p.addf("routing.categories: a category name is empty")
		case !ok:
			p.addf("routing.categories.%s: %q is not a team", cat, team)
		case n == 0:
			p.addf("routing.categories.%s: team %q has no members", cat, team)
		}
	}
}

func (c *Config) validateTiers(p *Problems) {
	t := c.Routing.Tiers
	fm, hm := t.FrontlineMax.Valid(), t.HeadMax.Valid()
	if !fm {
		p.addf("routing.tiers.frontline_max: %q is not a non-negative number", t.FrontlineMax)
	}
	if !hm {
		p.addf("routing.tiers.head_max: %q is not a non-negative number", t.HeadMax)
	}
	if fm && hm && compareDecimal(t.HeadMax, t.FrontlineMax) < 0 {
		p.addf("routing.tiers.head_max: %s is below frontline_max %s", t.HeadMax, t.FrontlineMax)
	}
	if !currencyRE.MatchString(t.Currency) {
		p.addf("routing.tiers.currency: %q is not an ISO 4217 code like EUR", t.Currency)
	}
	for _, cur := range sortedKeys(t.Rates) {
		if !currencyRE.MatchString(cur) {
			p.addf("routing.tiers.rates: %q is not an ISO 4217 code like USD", cur)
		}
		if r := t.Rates[cur]; !r.Valid() || compareDecimal(r, "0") == 0 {
			p.addf("routing.tiers.rates.%s: %q is not a positive number", cur, r)
		}
	}
}

func (c *Config) validateClassify(p *Problems, readFile func(string) ([]byte, error)) {
	cl := c.Classify
	if cl.RulesFile != "" {
		if _, err := readFile(cl.RulesFile); err != nil {
			p.addf("classify.rules_file: cannot read %s: %v", cl.RulesFile, err)
		}
	}
	if cl.Extremism.RepeatComplaints < 1 {
		p.addf("classify.extremism.repeat_complaints: must be at least 1")
	}
	if cl.Extremism.RepeatWindow.D() <= 0 {
		p.addf("classify.extremism.repeat_window: must be positive")
	}
}

// compareDecimal compares two valid Decimals: -1, 0 or +1.
func compareDecimal(a, b Decimal) int { return a.Rat().Cmp(b.Rat()) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
