package classify

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	showEval   = flag.Bool("classify.show", false, "print the evaluation reports and misclassified examples")
	corporaDir = flag.String("classify.corpora", "../../../shared/corpora", "directory of the shared corpora (rusentitweet)")
)

const testdata = "../../testdata/classify"

// Quality floors: the figures the rules reached, rounded down a little, so
// a change that lowers quality fails here. "test" is the held-out set
// (test.jsonl plus the rusentitweet ids joined with the corpus text); the
// rules were written from "dev" only.
type floors struct{ complaintF1, langAccuracy, categoryMacro, amountEither, rusentiSpecificity float64 }

var minQuality = map[string]floors{
	"dev":  {complaintF1: 0.95, langAccuracy: 0.99, categoryMacro: 0.78, amountEither: 0.99, rusentiSpecificity: 0.99},
	"test": {complaintF1: 0.90, langAccuracy: 0.99, categoryMacro: 0.85, amountEither: 0.95, rusentiSpecificity: 0.98},
}

func loadExamples(t testing.TB, name string) []Example {
	t.Helper()
	fh, err := os.Open(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	exs, err := ReadJSONL[Example](fh)
	if err != nil {
		t.Fatal(err)
	}
	return exs
}

// loadRusentitweet joins the ids and labels kept in testdata with the tweet
// texts in the shared corpus (its texts are not copied into the project).
func loadRusentitweet(t testing.TB, split string) []Example {
	t.Helper()
	file := map[string]string{"dev": "rusentitweet_train.csv", "test": "rusentitweet_test.csv"}[split]
	fh, err := os.Open(filepath.Join(*corporaDir, "rusentitweet", file))
	if err != nil {
		t.Skipf("rusentitweet corpus not available: %v", err)
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	text := map[string]string{}
	for _, r := range rows[1:] {
		text["rst-"+r[len(r)-1]] = r[len(r)-3]
	}
	exs := loadExamples(t, "rusentitweet_"+split+".jsonl")
	for i := range exs {
		var ok bool
		if exs[i].Text, ok = text[exs[i].ID]; !ok {
			t.Fatalf("%s not in the corpus", exs[i].ID)
		}
	}
	return exs
}

func evaluate(t *testing.T, split string) (Report, Report) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	exs := loadExamples(t, split+".jsonl")
	rep := Evaluate(c, exs)
	var rst Report
	if _, err := os.Stat(filepath.Join(*corporaDir, "rusentitweet")); err == nil {
		rst = Evaluate(c, loadRusentitweet(t, split))
	}
	if *showEval {
		var b strings.Builder
		rep.WriteText(&b)
		b.WriteString("\nrusentitweet:\n")
		rst.WriteText(&b)
		t.Logf("%s:\n%s", split, b.String())
		showErrors(t, c, append(exs, rstExamples(t, split)...), rep, rst)
	}
	return rep, rst
}

func rstExamples(t *testing.T, split string) []Example {
	if _, err := os.Stat(filepath.Join(*corporaDir, "rusentitweet")); err != nil {
		return nil
	}
	return loadRusentitweet(t, split)
}

func showErrors(t *testing.T, c *Classifier, exs []Example, reps ...Report) {
	byID := map[string]Example{}
	for _, e := range exs {
		byID[e.ID] = e
	}
	for _, rep := range reps {
		for field, ids := range rep.Errors {
			for _, id := range ids {
				e := byID[id]
				r := c.Classify(e.Subject, e.Text)
				lab, _ := json.Marshal(struct {
					C *bool
					L *string
					K *string
					A *string
					W *[]string
					U *string
				}{e.IsComplaint, e.Lang, e.Category, e.Amount, e.Wants, e.Cause})
				t.Logf("%s %s label=%s got=%v/%s/%s/%s %s/%v %s\n   %.300q\n   why=%v", field, id, lab,
					r.IsComplaint, r.Lang, r.Category, r.Cause, r.Amount+r.Currency, r.Wants, r.NotComplaint, e.Text, r.Why)
			}
		}
	}
}

// TestEvalDev checks the figures on the set the rules were written from.
func TestEvalDev(t *testing.T) { checkSplit(t, "dev") }

// TestEvalHeldOut fails when quality on the held-out set drops below the
// figures the rules reached.
func TestEvalHeldOut(t *testing.T) { checkSplit(t, "test") }

func checkSplit(t *testing.T, split string) {
	f := minQuality[split]
	rep, rst := evaluate(t, split)
	if rep.Complaint.F1 < f.complaintF1 {
		t.Errorf("complaint F1 %.3f < %.3f", rep.Complaint.F1, f.complaintF1)
	}
	if rep.LangAccuracy.Value < f.langAccuracy {
		t.Errorf("language accuracy %.3f < %.3f", rep.LangAccuracy.Value, f.langAccuracy)
	}
	if rep.CategoryMacro < f.categoryMacro {
		t.Errorf("category macro-F1 %.3f < %.3f", rep.CategoryMacro, f.categoryMacro)
	}
	if rep.AmountEither.Value < f.amountEither {
		t.Errorf("amount exact match %.3f < %.3f", rep.AmountEither.Value, f.amountEither)
	}
	if rst.LangAccuracy.Total == 0 {
		return
	}
	if v := rst.LangAccuracy.Value; v < f.langAccuracy {
		t.Errorf("rusentitweet language accuracy %.3f < %.3f", v, f.langAccuracy)
	}
	spec := 1 - float64(rst.Complaint.FP)/float64(rst.LangAccuracy.Total)
	if spec < f.rusentiSpecificity {
		t.Errorf("rusentitweet: %.3f of non-complaints recognised < %.3f", spec, f.rusentiSpecificity)
	}
}
