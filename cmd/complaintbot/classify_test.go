package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClassifyCommand runs `classify` and `eval` on a small labelled file:
// one output line per input line, in order, under the label names.
func TestClassifyCommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "m.jsonl")
	lines := `{"id":"a","channel":"email","subject":"","text":"Чайник сломался, стоил 2 500 руб. Верните деньги.","is_complaint":true,"lang":"ru","category":"quality","amount":"2500","currency":"RUB"}
{"id":"b","channel":"telegram","subject":"","text":"Labai ačiū už greitą pristatymą!","extra":1,"is_complaint":false,"lang":"lt","category":""}
`
	if err := os.WriteFile(data, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := runMain([]string{"classify", "-data", data}, &out, &errOut); code != 0 {
		t.Fatalf("classify exit %d: %s", code, errOut.String())
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(got) != 2 {
		t.Fatalf("want 2 lines, got %q", out.String())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(got[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["id"] != "a" || first["is_complaint"] != true || first["amount"] != "2500" || first["currency"] != "RUB" || first["lang"] != "ru" {
		t.Errorf("first line %v", first)
	}
	out.Reset()
	if code := runMain([]string{"eval", "-data", data}, &out, &errOut); code != 0 {
		t.Fatalf("eval exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "language accuracy:               1.000 (2/2)") {
		t.Errorf("eval output:\n%s", out.String())
	}
	if code := runMain([]string{"classify"}, &out, &errOut); code == 0 {
		t.Error("classify without -data succeeded")
	}
}
