package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"complaintbot/ingest"
	"complaintbot/router"
	"complaintbot/store"
)

// sharedCorpora holds mail gathered from public repositories (see its
// README): bounces, auto-replies, broken MIME, old charsets.
const sharedCorpora = "../../../shared/corpora"

// corpusFile is one mail of the corpora: a file, or one message of an mbox.
type corpusFile struct {
	name string
	raw  []byte
}

// TestCorpusThroughPipeline hands every mail of the shared corpora to the
// whole pipeline that follows IMAP (ingest.Normalize, then router.Deliver
// into a real bbolt store, in batches as the IMAP source makes them). None
// may panic; afterwards each is accounted for: recorded in a complaint,
// ignored with a reason, quarantined with a reason, or a byte-for-byte
// duplicate of one before it (not stored again).
func TestCorpusThroughPipeline(t *testing.T) {
	mails := loadCorpusFiles(t)
	if len(mails) < 1000 {
		t.Fatalf("only %d corpus mails found under %s", len(mails), sharedCorpora)
	}
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "corpus.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := router.New(router.Options{Store: st, Secret: []byte("corpus-test-secret-0123456789")})
	if err != nil {
		t.Fatal(err)
	}
	hashes := deliverCorpus(t, r, mails)
	counts := accountFor(t, st, mails, hashes)
	t.Logf("%d corpus mails: %d recorded, %d ignored, %d quarantined, %d duplicates",
		len(mails), counts[store.StatusRecorded], counts[store.StatusIgnored], counts[store.StatusQuarantined], counts[store.StatusDuplicate])
	sum := counts[store.StatusRecorded] + counts[store.StatusIgnored] + counts[store.StatusQuarantined] + counts[store.StatusDuplicate]
	if sum != len(mails) {
		t.Errorf("accounted for %d of %d mails: %v", sum, len(mails), counts)
	}
	if counts[store.StatusRecorded] < len(mails)/4 {
		t.Errorf("only %d of %d recorded: the pipeline drops too much", counts[store.StatusRecorded], len(mails))
	}
}

// deliverCorpus normalises and delivers the mails in batches of 100 and
// returns the content hash of each.
func deliverCorpus(t *testing.T, r *router.Router, mails []corpusFile) []string {
	t.Helper()
	const batch = 100
	hashes := make([]string, len(mails))
	for start := 0; start < len(mails); start += batch {
		end := min(start+batch, len(mails))
		b := store.Batch{Source: "corpus", Cursor: store.Cursor{Source: "corpus", UIDValidity: 1, LastUID: uint32(end)}}
		for i := start; i < end; i++ {
			m := ingest.Normalize(mails[i].raw, ingest.NormalizeOptions{})
			m.Source, m.SourceRef = "corpus", mails[i].name
			hashes[i] = m.ContentHash
			b.Messages = append(b.Messages, m)
		}
		if err := deliverNoPanic(r, b); err != nil {
			t.Fatalf("mails %d..%d (%s .. %s): %v", start, end-1, mails[start].name, mails[end-1].name, err)
		}
	}
	return hashes
}

func deliverNoPanic(r *router.Router, b store.Batch) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("router panicked: %v", p)
		}
	}()
	return r.Deliver(context.Background(), b)
}

// accountFor finds what became of each mail and checks the record says
// why, returning the count per status (StatusDuplicate for mails not stored
// again).
func accountFor(t *testing.T, st store.Store, mails []corpusFile, hashes []string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	reasons := map[string]int{}
	seen := map[string]string{}
	err := st.View(context.Background(), func(tx store.Tx) error {
		for i, cf := range mails {
			if _, ok := seen[hashes[i]]; ok {
				counts[store.StatusDuplicate]++
				continue
			}
			seen[hashes[i]] = cf.name
			m, err := tx.MessageByHash(hashes[i])
			if err != nil {
				t.Errorf("%s: lost (%v)", cf.name, err)
				continue
			}
			counts[m.Status]++
			if why := checkOutcome(tx, m); why != "" {
				t.Errorf("%s: %s", cf.name, why)
			}
			if m.Status != store.StatusRecorded {
				kind, _, _ := strings.Cut(m.Reason, ":")
				reasons[m.Status+": "+kind]++
			}
		}
		return countStored(t, tx, len(seen))
	})
	if err != nil {
		t.Fatal(err)
	}
	logReasons(t, reasons)
	return counts
}

// countStored checks that the store holds exactly one message per distinct
// mail: duplicates were not stored again, and nothing else was added.
func countStored(t *testing.T, tx store.Tx, distinct int) error {
	t.Helper()
	n := 0
	err := tx.ForEachMessage(func(m *store.Message) error {
		if m.Direction == store.DirectionIn {
			n++
		}
		return nil
	})
	if n != distinct {
		t.Errorf("%d inbound messages stored for %d distinct mails", n, distinct)
	}
	return err
}

// checkOutcome returns what is wrong with a stored corpus message, or "".
func checkOutcome(tx store.Tx, m *store.Message) string {
	switch {
	case strings.HasPrefix(m.Reason, "panic"):
		return "panicked: " + m.Reason
	case m.Status == store.StatusRecorded:
		if m.ComplaintID == 0 {
			return "recorded without a complaint"
		}
		if _, err := tx.Complaint(m.ComplaintID); err != nil {
			return fmt.Sprintf("complaint %d: %v", m.ComplaintID, err)
		}
	case m.Status == store.StatusIgnored, m.Status == store.StatusQuarantined:
		if strings.TrimSpace(m.Reason) == "" {
			return m.Status + " without a reason"
		}
		if m.ComplaintID != 0 {
			return m.Status + " but in a complaint"
		}
	default:
		return fmt.Sprintf("status %q", m.Status)
	}
	return ""
}

func logReasons(t *testing.T, reasons map[string]int) {
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("  %-40s %d", k, reasons[k])
	}
}

// loadCorpusFiles returns every mail of the corpora: the messages each
// MANIFEST.tsv lists (an mbox, listed as "file#n", is split into its
// messages) and every other .eml, .msg or .raw file. Expectation files
// (.json, .xml, trimmed .txt) are not mail.
func loadCorpusFiles(t *testing.T) []corpusFile {
	t.Helper()
	manifests, _ := filepath.Glob(filepath.Join(sharedCorpora, "*", "MANIFEST.tsv"))
	if len(manifests) == 0 {
		t.Skipf("no corpora under %s", sharedCorpora)
	}
	done := map[string]bool{}
	var out []corpusFile
	for _, mf := range manifests {
		for _, file := range manifestFiles(t, mf) {
			path, _, isMbox := strings.Cut(file, "#")
			path = filepath.Join(filepath.Dir(mf), path)
			if done[path] {
				continue
			}
			done[path] = true
			out = append(out, readCorpusFile(t, path, isMbox)...)
		}
	}
	err := filepath.WalkDir(sharedCorpora, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || done[path] {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".eml", ".msg", ".raw":
			out = append(out, readCorpusFile(t, path, false)...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// manifestFiles is the first column of a MANIFEST.tsv, header skipped.
func manifestFiles(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if file, _, _ := strings.Cut(line, "\t"); i > 0 && file != "" {
			files = append(files, file)
		}
	}
	return files
}

func readCorpusFile(t *testing.T, path string, isMbox bool) []corpusFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	name, _ := filepath.Rel(sharedCorpora, path)
	if !isMbox {
		return []corpusFile{{name: name, raw: raw}}
	}
	var out []corpusFile
	for i, m := range splitMboxMessages(raw) {
		out = append(out, corpusFile{name: fmt.Sprintf("%s#%d", name, i), raw: m})
	}
	return out
}

// splitMboxMessages cuts an mbox at its "From " lines (a "From " line
// starts a message when it follows a blank line or opens the file).
func splitMboxMessages(b []byte) [][]byte {
	var msgs [][]byte
	var cur []byte
	started, prevBlank := false, true
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line = b[:i+1]
		}
		b = b[len(line):]
		if prevBlank && bytes.HasPrefix(line, []byte("From ")) {
			if started {
				msgs = append(msgs, cur)
			}
			cur, started = nil, true
			prevBlank = false
			continue
		}
		started = true
		cur = append(cur, line...)
		prevBlank = len(bytes.TrimSpace(line)) == 0
	}
	if started {
		msgs = append(msgs, cur)
	}
	return msgs
}
