package classify

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed default_rules.yaml
var defaultRulesYAML []byte

// Terms are rule terms per language code ("ru", "lt", "en", ...); the key
// "any" applies to every language. A term is one or more words: a word
// ending in "*" is a stem and matches any word it begins ("достав*" matches
// "доставили"), "_" skips up to two words, and a trailing " ^2.5" sets the
// term's weight (default 1). Matching ignores case, ё/е and Lithuanian
// diacritics.
type Terms map[string][]string

// Rules is the whole configurable taxonomy and every word list. It is read
// from YAML (see default_rules.yaml for the documented default); unknown
// keys are an error so a typo does not silently disable a rule.
type Rules struct {
	// Threshold is the complaint score a message needs to be a complaint.
	Threshold float64 `yaml:"threshold"`
	// Complaint terms are signs of dissatisfaction; their weights add up.
	Complaint Terms `yaml:"complaint"`
	// NotComplaint kinds (thanks, question, ...) win when their score is at
	// least the complaint score or the complaint score is under Threshold.
	NotComplaint []KindRule `yaml:"not_complaint"`
	// Categories: the highest-scoring category wins, ties go to the first
	// listed; FallbackCategory when none scores.
	Categories       []CategoryRule `yaml:"categories"`
	FallbackCategory string         `yaml:"fallback_category"`
	// Subjective and Objective are cause cues; without any, the category's
	// default cause is used.
	Subjective Terms `yaml:"subjective"`
	Objective  Terms `yaml:"objective"`
	// Wants: every want whose terms occur is reported.
	Wants []KindRule `yaml:"wants"`
	// Extremism holds the consumer-extremism cues.
	Extremism ExtremismRules `yaml:"extremism"`
	// ClaimCues are stems that, within ClaimCueWindow bytes before a money
	// amount, make it the claim amount when a message has several amounts.
	ClaimCues []string `yaml:"claim_cues"`
	// Currencies maps the ways currencies are written to ISO 4217 codes.
	Currencies []CurrencyRule `yaml:"currencies"`
	// Thousands are words meaning "times 1000" after a number ("тыс*", "k").
	Thousands []string `yaml:"thousands"`
	// Languages are the profiles of the language detector.
	Languages []LangProfile `yaml:"languages"`
}

// KindRule is a named list of terms: a not-complaint kind or a want.
type KindRule struct {
	Name  string `yaml:"name"`
	Terms Terms  `yaml:"terms"`
}

// CategoryRule is one category of the taxonomy with its default cause.
type CategoryRule struct {
	Name  string `yaml:"name"`
	Cause string `yaml:"cause"` // objective | subjective
	Terms Terms  `yaml:"terms"`
}

// ExtremismRules flag a possible consumer-extremism case for a human: a
// penalty demand after long use, or a penalty demand with a threat, or a
// demanded amount AmountRatio times the other amount named.
type ExtremismRules struct {
	Penalty     Terms   `yaml:"penalty"`
	LongUse     Terms   `yaml:"long_use"`
	Threat      Terms   `yaml:"threat"`
	AmountRatio float64 `yaml:"amount_ratio"`
	// HistoryCount claims within HistoryWindow from one customer are a hint too.
	HistoryCount  int           `yaml:"history_count"`
	HistoryWindow time.Duration `yaml:"history_window"`
}

// CurrencyRule lists how a currency is written: Symbols stand before or
// after the number ("€120", "120 €"), Words after it ("120 eurų"), a word
// ending in "*" being a stem.
type CurrencyRule struct {
	Code    string   `yaml:"code"`
	Symbols []string `yaml:"symbols"`
	Words   []string `yaml:"words"`
}

// LangProfile describes a language for the detector: its script, the
// letters only it uses among the profiles, and frequent short words.
type LangProfile struct {
	Code      string   `yaml:"code"`
	Script    string   `yaml:"script"` // latin | cyrillic
	Letters   string   `yaml:"letters"`
	Stopwords []string `yaml:"stopwords"`
}

// DefaultRules returns the rules shipped in default_rules.yaml.
func DefaultRules() *Rules {
	r, err := ParseRules(defaultRulesYAML)
	if err != nil {
		panic("classify: embedded default_rules.yaml: " + err.Error())
	}
	return r
}

// LoadRules reads rules from a YAML file.
func LoadRules(path string) (*Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("classify rules: %w", err)
	}
	r, err := ParseRules(b)
	if err != nil {
		return nil, fmt.Errorf("classify rules %s: %w", path, err)
	}
	return r, nil
}

// ParseRules decodes YAML rules, rejecting unknown keys, and checks them
// (every problem at once).
func ParseRules(b []byte) (*Rules, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var r Rules
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if _, err := compile(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Validate lists every problem of the rules.
func (r *Rules) Validate() error {
	var errs []error
	if r.Threshold <= 0 {
		errs = append(errs, errors.New("threshold must be > 0"))
	}
	if len(r.Categories) == 0 {
		errs = append(errs, errors.New("no categories"))
	}
	if r.FallbackCategory == "" {
		errs = append(errs, errors.New("fallback_category is empty"))
	}
	for _, c := range r.Categories {
		if c.Cause != CauseObjective && c.Cause != CauseSubjective {
			errs = append(errs, fmt.Errorf("category %q: cause %q is not objective or subjective", c.Name, c.Cause))
		}
	}
	for _, c := range r.Currencies {
		if len(c.Code) != 3 {
			errs = append(errs, fmt.Errorf("currency %q: code must be 3 letters (ISO 4217)", c.Code))
		}
	}
	if len(r.Languages) > maxProfiles {
		errs = append(errs, fmt.Errorf("languages: %d profiles, at most %d", len(r.Languages), maxProfiles))
	}
	for _, l := range r.Languages {
		if l.Script != scriptLatin && l.Script != scriptCyrillic {
			errs = append(errs, fmt.Errorf("language %q: script %q is not latin or cyrillic", l.Code, l.Script))
		}
	}
	return errors.Join(errs...)
}

// Causes.
const (
	CauseObjective  = "objective"
	CauseSubjective = "subjective"
)

// languages returns every language code the term lists name, sorted.
func (r *Rules) languages() []string {
	set := map[string]bool{}
	add := func(t Terms) {
		for l := range t {
			if l != anyLang {
				set[l] = true
			}
		}
	}
	add(r.Complaint)
	add(r.Subjective)
	add(r.Objective)
	add(r.Extremism.Penalty)
	add(r.Extremism.LongUse)
	add(r.Extremism.Threat)
	for _, k := range r.NotComplaint {
		add(k.Terms)
	}
	for _, k := range r.Wants {
		add(k.Terms)
	}
	for _, c := range r.Categories {
		add(c.Terms)
	}
	out := make([]string, 0, len(set))
	for l := range set {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

const anyLang = "any"

// compiled is what a Classifier uses: one matcher per language, plus one
// over all languages for text in a language the rules do not know.
type compiled struct {
	byLang map[string]*matcher
	all    *matcher
}

// compile builds the matchers, reporting every bad term at once.
func compile(r *Rules) (*compiled, error) {
	errs := []error{r.Validate()}
	c := &compiled{byLang: map[string]*matcher{}, all: newMatcher()}
	langs := r.languages()
	for _, l := range langs {
		c.byLang[l] = newMatcher()
	}
	addTerms := func(t Terms, tg target) {
		for lang, terms := range t {
			for _, term := range terms {
				text, w, err := splitWeight(term)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				tw := tg
				tw.weight = w
				dst := []*matcher{c.all}
				if lang == anyLang {
					for _, l := range langs {
						dst = append(dst, c.byLang[l])
					}
				} else {
					dst = append(dst, c.byLang[lang])
				}
				for _, m := range dst {
					if err := m.add(text, tw); err != nil {
						errs = append(errs, fmt.Errorf("%s: %w", lang, err))
						break
					}
				}
			}
		}
	}
	addTerms(r.Complaint, target{kind: tComplaint})
	addTerms(r.Subjective, target{kind: tSubjective})
	addTerms(r.Objective, target{kind: tObjective})
	addTerms(r.Extremism.Penalty, target{kind: tPenalty})
	addTerms(r.Extremism.LongUse, target{kind: tLongUse})
	addTerms(r.Extremism.Threat, target{kind: tThreat})
	for i, k := range r.NotComplaint {
		addTerms(k.Terms, target{kind: tNotComplaint, idx: i})
	}
	for i, k := range r.Wants {
		addTerms(k.Terms, target{kind: tWant, idx: i})
	}
	for i, k := range r.Categories {
		addTerms(k.Terms, target{kind: tCategory, idx: i})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// splitWeight splits "term ^2" into the term and its weight.
func splitWeight(term string) (string, float64, error) {
	i := strings.LastIndex(term, "^")
	if i < 0 {
		return term, 1, nil
	}
	w, err := strconv.ParseFloat(strings.TrimSpace(term[i+1:]), 64)
	if err != nil || w <= 0 {
		return "", 0, fmt.Errorf("term %q: bad weight", term)
	}
	return strings.TrimSpace(term[:i]), w, nil
}

// has reports whether list holds s.
func has(list []string, s string) bool { return slices.Contains(list, s) }
