package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalize: whatever bytes arrive, Normalize returns a message that
// satisfies the invariants, and its recover never fires (a "panic:" reason
// fails the fuzzer just as a panic would). Crashers found are kept under
// testdata/fuzz/FuzzNormalize.
func FuzzNormalize(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	malformed, _ := filepath.Glob(filepath.Join(corpora, "stalwart-mail-parser", "resources", "eml", "malformed", "*.eml"))
	for _, p := range append(seeds, malformed...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("From: a@b.c\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: multipart/alternative; boundary=y\r\n\r\n--y\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := Normalize(raw, NormalizeOptions{MaxAttachmentBytes: 1 << 10, MaxTotalBytes: 4 << 10, MaxTextBytes: 8 << 10})
		checkInvariants(t, "fuzz input", raw, m)
	})
}

// FuzzTrim: TrimReply keeps valid UTF-8 valid, never returns more than the
// input holds, and never empties a text that has something in it.
func FuzzTrim(f *testing.F) {
	for _, dir := range []string{
		filepath.Join(corpora, "discourse-email-reply-trimmer", "test", "emails"),
		filepath.Join(corpora, "github-email-reply-parser", "test", "emails"),
	} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(string(b))
			}
		}
	}
	f.Add("Жалоба\n\n5 марта 2024 г., Магазин <s@x.ru> написал(а):\n> текст")
	f.Add("On 1\n\n<\n> wrote:\n")
	f.Fuzz(func(t *testing.T, text string) {
		out := TrimReply(text)
		norm := strings.ReplaceAll(text, "\r\n", "\n")
		if utf8.ValidString(text) && !utf8.ValidString(out) {
			t.Errorf("invalid UTF-8 out of valid input")
		}
		if !strings.Contains(norm, out) {
			t.Errorf("output %q is not part of the input", out)
		}
		if strings.TrimSpace(text) != "" && out == "" {
			t.Errorf("non-empty input trimmed to nothing")
		}
	})
}
