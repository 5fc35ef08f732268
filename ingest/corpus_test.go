package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"complaintbot/store"
)

// corpusMail is one message of the shared corpora.
type corpusMail struct {
	name string // corpus-relative path, "#n" for the n-th message of an mbox
	raw  []byte
	// props are the MANIFEST.tsv columns of the message (nil if unlisted).
	props map[string]string
}

// loadCorpus returns every mail of the shared corpora: the messages each
// MANIFEST.tsv lists (mbox files split at "From " lines after a blank line) and any other .eml/.msg/.raw file.
// Expectation files (.json, .xml, .out, trimmed texts) are not mail and are
// not listed.
func loadCorpus(t testing.TB) []corpusMail {
	t.Helper()
	manifests, err := filepath.Glob(filepath.Join(corpora, "*", "MANIFEST.tsv"))
	if err != nil || len(manifests) == 0 {
		t.Fatalf("no corpora under %s (%v)", corpora, err)
	}
	seen := map[string]bool{}
	var out []corpusMail
	for _, mf := range manifests {
		dir := filepath.Dir(mf)
		for _, row := range readManifest(t, mf) {
			file, part, isMbox := strings.Cut(row["file"], "#")
			path := filepath.Join(dir, file)
			switch {
			case seen[path]:
			case isMbox && part == "0":
				for i, raw := range splitMbox([]byte(readFile(t, path))) {
					out = append(out, corpusMail{name: fmt.Sprintf("%s#%d", rel(path), i), raw: raw})
				}
			case !isMbox:
				out = append(out, corpusMail{name: rel(path), raw: []byte(readFile(t, path)), props: row})
			}
			seen[path] = true
		}
	}
	err = filepath.WalkDir(corpora, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || seen[path] {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".eml", ".msg", ".raw":
			out = append(out, corpusMail{name: rel(path), raw: []byte(readFile(t, path))})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func rel(path string) string {
	r, err := filepath.Rel(corpora, path)
	if err != nil {
		return path
	}
	return r
}

func readManifest(t testing.TB, path string) []map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(readFile(t, path), "\n"), "\n")
	cols := strings.Split(lines[0], "\t")
	var rows []map[string]string
	for _, l := range lines[1:] {
		vals := strings.Split(l, "\t")
		row := map[string]string{}
		for i, c := range cols {
			if i < len(vals) {
				row[c] = vals[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// splitMbox splits an mbox at its "From " separator lines, dropping them.
func splitMbox(b []byte) [][]byte {
	var msgs [][]byte
	var cur *bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	prevBlank := true
	for sc.Scan() {
		line := sc.Bytes()
		separator := prevBlank && bytes.HasPrefix(line, []byte("From "))
		prevBlank = len(bytes.TrimSpace(line)) == 0
		if separator {
			cur = &bytes.Buffer{}
			msgs = append(msgs, nil)
			continue
		}
		if cur == nil {
			cur = &bytes.Buffer{}
			msgs = append(msgs, nil)
		}
		cur.Write(line)
		cur.WriteByte('\n')
		msgs[len(msgs)-1] = cur.Bytes()
	}
	return msgs
}

// TestNormalizeEveryCorpusMail runs every mail of the shared corpora through
// Normalize: none may panic, each is recorded, ignored with a reason or
// quarantined with a reason, and the text is valid UTF-8.
func TestNormalizeEveryCorpusMail(t *testing.T) {
	mails := loadCorpus(t)
	if len(mails) < 1000 {
		t.Fatalf("only %d corpus mails found", len(mails))
	}
	counts := map[string]int{}
	reasons := map[string]int{}
	for _, cm := range mails {
		m := Normalize(cm.raw, NormalizeOptions{})
		counts[m.Status]++
		checkInvariants(t, cm.name, cm.raw, m)
		if m.Status != store.StatusRecorded {
			kind, _, _ := strings.Cut(m.Reason, ":")
			reasons[m.Status+" "+kind]++
		}
		if m.Status == store.StatusQuarantined && m.Reason != "no sender address" {
			t.Logf("quarantined %s: %s", cm.name, m.Reason)
		}
		if m.Reason == "no sender address" && headerHasAddress(cm.raw) {
			t.Errorf("%s: quarantined for no sender, but its header names one", cm.name)
		}
	}
	t.Logf("%d mails: %d recorded, %d ignored, %d quarantined", len(mails),
		counts[store.StatusRecorded], counts[store.StatusIgnored], counts[store.StatusQuarantined])
	for _, k := range sortedKeys(reasons) {
		t.Logf("  %-30s %d", k, reasons[k])
	}
	if q := counts[store.StatusQuarantined] - reasons["quarantined no sender address"]; q*100 > len(mails) {
		t.Errorf("%d of %d quarantined for a reason other than no sender; more than 1%% means the normaliser gives up too easily", q, len(mails))
	}
}

// headerHasAddress: a From, Sender or Reply-To line of the header block
// holds an "@".
func headerHasAddress(raw []byte) bool {
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			return false
		}
		k, v, _ := strings.Cut(line, ":")
		switch strings.ToLower(k) {
		case "from", "sender", "reply-to":
			if strings.Contains(v, "@") {
				return true
			}
		}
	}
	return false
}

// checkInvariants asserts what every Normalize result must satisfy.
func checkInvariants(t *testing.T, name string, raw []byte, m *store.Message) {
	t.Helper()
	switch m.Status {
	case store.StatusRecorded:
		if m.From.Email == "" {
			t.Errorf("%s: recorded without a sender", name)
		}
	case store.StatusIgnored:
		if m.Reason == "" {
			t.Errorf("%s: ignored without a reason", name)
		}
	case store.StatusQuarantined:
		if m.Reason == "" || !bytes.Equal(m.Raw, raw) {
			t.Errorf("%s: quarantined without reason or raw bytes", name)
		}
	default:
		t.Errorf("%s: status %q", name, m.Status)
	}
	if strings.HasPrefix(m.Reason, "panic:") {
		t.Errorf("%s: %s", name, m.Reason)
	}
	if m.Direction != store.DirectionIn || m.Channel != store.ChannelEmail || m.Size != int64(len(raw)) || len(m.ContentHash) != 64 {
		t.Errorf("%s: bad envelope fields %+v", name, m)
	}
	for field, s := range map[string]string{"Text": m.Text, "FullText": m.FullText, "Subject": m.Subject, "From.Name": m.From.Name} {
		if !utf8.ValidString(s) {
			t.Errorf("%s: %s is not valid UTF-8", name, field)
		}
	}
	if strings.ContainsAny(m.Subject, "\r\n") || strings.ContainsAny(m.From.Name, "\r\n") {
		t.Errorf("%s: CR/LF in subject or name", name)
	}
	if len(m.FullText) > 0 && len(m.Text) == 0 {
		t.Errorf("%s: trimming left nothing of a non-empty text", name)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
