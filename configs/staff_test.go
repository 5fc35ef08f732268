package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// base is the minimal valid rest of a config the staff tests add to.
const base = "inboxes: [{name: a, host: h, user: u, password_env: PW}]\nsmtp: {host: h, from: a@b.c}\nthreading: {secret_env: TS}\n"

var baseEnv = map[string]string{"PW": "p", "TS": "0123456789abcdef"}

func TestStaffParsedWithDefaults(t *testing.T) {
	c, err := parseWith(t, base+`
staff:
  - {id: anna, email: anna@example.com, teams: [logistics], languages: [RU, en], manager: rasa}
  - {id: rasa, name: Rasa, email: rasa@example.com, teams: [logistics], languages: [lt], role: head, available: false}
  - {id: dina, email: dina@example.com, languages: [en], telegram_id: 42}
teams: [{name: logistics, head: rasa}]
routing: {categories: {delivery: logistics}, default_owner: dina, tiers: {rates: {USD: 0.92}}}
`, baseEnv)
	if err != nil {
		t.Fatal(err)
	}
	anna, ok := c.StaffByID("anna")
	if !ok || anna.Role != RoleFrontline || anna.Name != "anna" || !anna.IsAvailable() || anna.Languages[0] != "ru" {
		t.Errorf("anna = %+v", anna)
	}
	if rasa, _ := c.StaffByID("rasa"); rasa.IsAvailable() || rasa.Role != RoleHead {
		t.Errorf("rasa = %+v", rasa)
	}
	tiers := c.Routing.Tiers
	if tiers.FrontlineMax != "100" || tiers.HeadMax != "1000" || tiers.Currency != "EUR" || tiers.Rates["USD"] != "0.92" {
		t.Errorf("tiers = %+v", tiers)
	}
	ex := c.Classify.Extremism
	if ex.RepeatComplaints != 3 || ex.RepeatWindow.D() != 30*24*time.Hour {
		t.Errorf("extremism defaults = %+v", ex)
	}
	if _, ok := c.StaffByID("nobody"); ok {
		t.Error("StaffByID found an unknown id")
	}
}

func TestNoStaffIsValid(t *testing.T) {
	c, err := parseWith(t, base, baseEnv)
	if err != nil || len(c.Staff) != 0 {
		t.Fatalf("config without staff: %v", err)
	}
}

func TestStaffProblemsAllAtOnce(t *testing.T) {
	text := base + `
staff:
  - {id: anna, email: "Anna <anna@example.com>", teams: [logistics, nosuch], languages: [], manager: ghost}
  - {id: anna, email: anna2@example.com, languages: [russian], role: boss}
  - {id: "bad id", email: x@example.com, languages: [en], telegram_id: -5}
  - {id: ben, email: ben@example.com, teams: [logistics], languages: [en], manager: ben}
  - {id: cy1, email: c1@example.com, languages: [en], manager: cy2}
  - {id: cy2, email: c2@example.com, languages: [en], manager: cy3}
  - {id: cy3, email: c3@example.com, languages: [en], manager: cy1, available: false}
teams:
  - {name: logistics, head: ben}
  - {name: logistics, head: nobody}
  - {name: empty, head: cy1}
  - {name: ""}
routing:
  categories: {delivery: logistics, quality: nosuchteam, billing: empty}
  default_owner: cy3
  tiers: {frontline_max: 500, head_max: 100, currency: euro, rates: {usd: 1, RUB: 0, GBP: 1e3}}
classify:
  rules_file: /nonexistent/rules.yaml
  extremism: {repeat_complaints: -1, repeat_window: -1h}
`
	_, err := parseWith(t, text, baseEnv)
	p, ok := err.(Problems)
	if !ok {
		t.Fatalf("want Problems, got %T %v", err, err)
	}
	want := []string{
		`staff[0].email`, `staff[0].teams[1]: "nosuch"`, `staff[0].languages: list`, `staff[0].manager: "ghost"`,
		`staff[1].id: "anna" is used twice`, `staff[1].languages[0]`, `staff[1].role`,
		`staff[2].id`, `staff[2].telegram_id`,
		`staff[3].manager: "ben" is their own`,
		`managers form a cycle through "cy1"`,
		`teams[0].head: "ben" has role frontline`, `teams[1].name: "logistics" is used twice`,
		`teams[1].head: "nobody"`, `teams[3].name: required`, `teams[3].head: required`,
		`routing.categories.quality: "nosuchteam"`, `routing.categories.billing: team "empty" has no members`,
		`routing.default_owner: "cy3" is not available`,
		`routing.tiers.head_max: 100 is below frontline_max 500`, `routing.tiers.currency`,
		`routing.tiers.rates: "usd"`, `routing.tiers.rates.RUB`, `routing.tiers.rates.GBP`,
		`classify.rules_file`, `classify.extremism.repeat_complaints`, `classify.extremism.repeat_window`,
	}
	all := p.Error()
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("problems do not say %s", w)
		}
	}
	if n := strings.Count(all, "cycle"); n != 1 {
		t.Errorf("the manager cycle is reported %d times, want once:\n%s", n, all)
	}
	if t.Failed() {
		t.Log(all)
	}
}

func TestDefaultOwnerRequiredWithStaff(t *testing.T) {
	_, err := parseWith(t, base+"staff: [{id: a, email: a@example.com, languages: [en]}]\n", baseEnv)
	if err == nil || !strings.Contains(err.Error(), "routing.default_owner: required") {
		t.Fatalf("err = %v", err)
	}
	_, err = parseWith(t, base+"routing: {default_owner: a}\n", baseEnv)
	if err == nil || !strings.Contains(err.Error(), "staff: required") {
		t.Fatalf("routing without staff: err = %v", err)
	}
}

func TestRulesFileReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte("# rules\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parseWith(t, base+"classify: {rules_file: "+path+"}\n", baseEnv)
	if err != nil || c.Classify.RulesFile != path {
		t.Fatalf("rules_file: %v", err)
	}
}

func TestDecimal(t *testing.T) {
	tests := []struct {
		a, b  Decimal
		valid bool
		cmp   int
	}{
		{"100", "100.00", true, 0},
		{"100.01", "100", true, 1},
		{"0.011", "0.0110", true, 0},
		{"99.999", "100", true, -1},
		{"1e3", "0", false, 0},
		{"-1", "0", false, 0},
		{"1/3", "0", false, 0},
	}
	for _, tt := range tests {
		if tt.a.Valid() != tt.valid {
			t.Errorf("%q.Valid() = %v", tt.a, !tt.valid)
		}
		if tt.valid {
			if got := compareDecimal(tt.a, tt.b); got != tt.cmp {
				t.Errorf("compare(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.cmp)
			}
		}
	}
}
