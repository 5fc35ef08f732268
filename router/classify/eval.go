package classify

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// Message is one input line of `complaintbot classify`: JSON Lines with
// these fields, others ignored.
type Message struct {
	ID      string `json:"id"`
	Channel string `json:"channel"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// Prediction is one output line of `complaintbot classify`, under the same
// names as the labels.
type Prediction struct {
	ID            string   `json:"id"`
	IsComplaint   bool     `json:"is_complaint"`
	Lang          string   `json:"lang"`
	Category      string   `json:"category"`
	Cause         string   `json:"cause"`
	Amount        string   `json:"amount"`
	Currency      string   `json:"currency"`
	Wants         []string `json:"wants"`
	ExtremismHint bool     `json:"extremism_hint"`
}

// NewPrediction keeps the labelled fields of r.
func NewPrediction(id string, r Result) Prediction {
	return Prediction{ID: id, IsComplaint: r.IsComplaint, Lang: r.Lang, Category: r.Category,
		Cause: r.Cause, Amount: r.Amount, Currency: r.Currency, Wants: r.Wants, ExtremismHint: r.ExtremismHint}
}

// Example is a labelled message. A nil label was not labelled and is not
// scored (corpus texts have no claim amounts labelled, for instance).
type Example struct {
	Message
	IsComplaint   *bool     `json:"is_complaint"`
	Lang          *string   `json:"lang"`
	Category      *string   `json:"category"`
	Cause         *string   `json:"cause"`
	Amount        *string   `json:"amount"`
	Currency      *string   `json:"currency"`
	Wants         *[]string `json:"wants"`
	ExtremismHint *bool     `json:"extremism_hint"`
	Source        string    `json:"source"`
}

// ReadJSONL decodes one JSON value per non-empty line into T.
func ReadJSONL[T any](r io.Reader) ([]T, error) {
	var out []T
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return out, nil
}

// PRF is precision, recall and F1 of one label with its counts.
type PRF struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
}

func newPRF(tp, fp, fn int) PRF {
	p := PRF{TP: tp, FP: fp, FN: fn}
	if tp+fp > 0 {
		p.Precision = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		p.Recall = float64(tp) / float64(tp+fn)
	}
	if p.Precision+p.Recall > 0 {
		p.F1 = 2 * p.Precision * p.Recall / (p.Precision + p.Recall)
	}
	return p
}

// Accuracy is a share of correct answers.
type Accuracy struct {
	Correct int     `json:"correct"`
	Total   int     `json:"total"`
	Value   float64 `json:"value"`
}

func (a *Accuracy) add(ok bool) {
	a.Total++
	if ok {
		a.Correct++
	}
	a.Value = float64(a.Correct) / float64(a.Total)
}

// Report is the evaluation of a classifier on labelled examples.
type Report struct {
	Examples  int `json:"examples"`
	Complaint PRF `json:"complaint"`
	// Category is scored on examples labelled as complaints that the
	// classifier also called complaints (a missed complaint is counted once,
	// under Complaint).
	Category      map[string]PRF `json:"category"`
	CategoryMacro float64        `json:"category_macro_f1"`
	Lang          map[string]PRF `json:"lang"`
	LangAccuracy  Accuracy       `json:"lang_accuracy"`
	// AmountEither is exact match (amount and currency) over examples where
	// the label or the prediction has an amount; AmountAll over every
	// example with an amount label.
	AmountEither Accuracy `json:"amount_exact_either"`
	AmountAll    Accuracy `json:"amount_exact_all"`
	Cause        Accuracy `json:"cause_accuracy"` // labelled complaints predicted as complaints
	Wants        PRF      `json:"wants"`          // micro over want labels, same examples
	Extremism    PRF      `json:"extremism"`
	// Errors lists ids of wrongly classified examples per field, for tuning.
	Errors map[string][]string `json:"errors,omitempty"`
}

type counts struct{ tp, fp, fn map[string]int }

func newCounts() counts { return counts{map[string]int{}, map[string]int{}, map[string]int{}} }

func (c counts) add(label, pred string) {
	if label == pred {
		c.tp[label]++
		return
	}
	c.fn[label]++
	c.fp[pred]++
}

func (c counts) prf(labels []string) map[string]PRF {
	out := map[string]PRF{}
	for _, l := range labels {
		out[l] = newPRF(c.tp[l], c.fp[l], c.fn[l])
	}
	return out
}

// Evaluate classifies every example and scores the labelled fields.
func Evaluate(c *Classifier, examples []Example) Report {
	rep := Report{Examples: len(examples), Errors: map[string][]string{}}
	var ctp, cfp, cfn, wtp, wfp, wfn, xtp, xfp, xfn int
	cats, langs := newCounts(), newCounts()
	langSet := map[string]bool{}
	miss := func(field, id string) { rep.Errors[field] = append(rep.Errors[field], id) }
	for _, e := range examples {
		r := c.Classify(e.Subject, e.Text)
		if e.IsComplaint != nil {
			tally(*e.IsComplaint, r.IsComplaint, &ctp, &cfp, &cfn)
			if *e.IsComplaint != r.IsComplaint {
				miss("complaint", e.ID)
			}
		}
		if e.Lang != nil {
			langs.add(*e.Lang, r.Lang)
			langSet[*e.Lang], langSet[r.Lang] = true, true
			rep.LangAccuracy.add(*e.Lang == r.Lang)
			if *e.Lang != r.Lang {
				miss("lang", e.ID)
			}
		}
		bothComplaint := e.IsComplaint != nil && *e.IsComplaint && r.IsComplaint
		if bothComplaint && e.Category != nil {
			cats.add(*e.Category, r.Category)
			if *e.Category != r.Category {
				miss("category", e.ID)
			}
		}
		if bothComplaint && e.Cause != nil && *e.Cause != "" {
			rep.Cause.add(*e.Cause == r.Cause)
			if *e.Cause != r.Cause {
				miss("cause", e.ID)
			}
		}
		if bothComplaint && e.Wants != nil {
			tp, fp, fn := setDiff(*e.Wants, r.Wants)
			wtp, wfp, wfn = wtp+tp, wfp+fp, wfn+fn
			if fp+fn > 0 {
				miss("wants", e.ID)
			}
		}
		if e.Amount != nil {
			scoreAmount(&rep, e, r, miss)
		}
		if e.ExtremismHint != nil {
			tally(*e.ExtremismHint, r.ExtremismHint, &xtp, &xfp, &xfn)
		}
	}
	rep.Complaint = newPRF(ctp, cfp, cfn)
	rep.Wants = newPRF(wtp, wfp, wfn)
	rep.Extremism = newPRF(xtp, xfp, xfn)
	rep.Category = cats.prf(c.Categories())
	rep.CategoryMacro = macroF1(rep.Category)
	rep.Lang = langs.prf(sortedKeys(langSet))
	return rep
}

func scoreAmount(rep *Report, e Example, r Result, miss func(string, string)) {
	label, cur := *e.Amount, ""
	if e.Currency != nil {
		cur = *e.Currency
	}
	ok := label == r.Amount && (label == "" || cur == r.Currency)
	rep.AmountAll.add(ok)
	if label != "" || r.Amount != "" {
		rep.AmountEither.add(ok)
	}
	if !ok {
		miss("amount", e.ID)
	}
}

func tally(label, pred bool, tp, fp, fn *int) {
	switch {
	case label && pred:
		*tp++
	case pred:
		*fp++
	case label:
		*fn++
	}
}

func setDiff(label, pred []string) (tp, fp, fn int) {
	for _, l := range label {
		if slices.Contains(pred, l) {
			tp++
		} else {
			fn++
		}
	}
	for _, p := range pred {
		if !slices.Contains(label, p) {
			fp++
		}
	}
	return tp, fp, fn
}

// macroF1 averages F1 over the classes that occur in labels or predictions.
func macroF1(m map[string]PRF) float64 {
	sum, n := 0.0, 0
	for _, p := range m {
		if p.TP+p.FP+p.FN == 0 {
			continue
		}
		sum += p.F1
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// WriteText prints the report as a table for people.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "examples: %d\n\n", r.Examples)
	fmt.Fprintf(&b, "%-22s %9s %9s %9s %6s %6s %6s\n", "label", "precision", "recall", "f1", "tp", "fp", "fn")
	row := func(name string, p PRF) {
		fmt.Fprintf(&b, "%-22s %9.3f %9.3f %9.3f %6d %6d %6d\n", name, p.Precision, p.Recall, p.F1, p.TP, p.FP, p.FN)
	}
	row("complaint", r.Complaint)
	for _, k := range sortedPRFKeys(r.Category) {
		row("category "+k, r.Category[k])
	}
	for _, k := range sortedPRFKeys(r.Lang) {
		row("lang "+k, r.Lang[k])
	}
	row("wants (micro)", r.Wants)
	row("extremism hint", r.Extremism)
	fmt.Fprintf(&b, "\ncategory macro-F1:               %.3f\n", r.CategoryMacro)
	acc := func(name string, a Accuracy) {
		fmt.Fprintf(&b, "%-32s %.3f (%d/%d)\n", name+":", a.Value, a.Correct, a.Total)
	}
	acc("language accuracy", r.LangAccuracy)
	acc("amount exact (either has one)", r.AmountEither)
	acc("amount exact (all labelled)", r.AmountAll)
	acc("cause accuracy", r.Cause)
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedPRFKeys(m map[string]PRF) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
