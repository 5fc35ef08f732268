package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpora is the shared real-world mail corpus (/work/shared/corpora), seen
// from this package's directory.
const corpora = "../../shared/corpora"

func TestTrimReplyCases(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"plain", "Hello\nworld", "Hello\nworld"},
		{"gmail attribution", "Hello\n\nOn Mon, Apr 2, 2012 at 6:26 PM, Megan <m@x.com> wrote:\n\n> Hi\n", "Hello"},
		{"wrapped attribution", "Yes.\n\nOn Thu, Jun 20, 2013 at 4:18 PM, matt via Meta <\ninfo@x.org> wrote:\n\n> old\n", "Yes."},
		{"russian attribution", "Где мой заказ?\n\n5 марта 2024 г., в 10:12, Магазин <shop@x.ru> написал(а):\n> Ваш заказ отправлен\n", "Где мой заказ?"},
		{"russian пишет", "Спасибо.\n\nПонедельник, 4 марта 2024, 10:00 +03:00 от Иван <i@x.ru>:\nИван пишет:\n> текст", "Спасибо."},
		{"lithuanian attribution", "Prekė vis dar neatėjo.\n\n2024-03-05, 10:12, Parduotuvė <info@x.lt> rašė:\n> Jūsų užsakymas išsiųstas\n", "Prekė vis dar neatėjo."},
		{"outlook original message", "Please refund.\n\n-----Original Message-----\nFrom: Shop\nSent: Monday\nSubject: order\n\nold text", "Please refund."},
		{"outlook russian", "Верните деньги.\n\n-----Исходное сообщение-----\nОт: Магазин\nОтправлено: 5 марта\nТема: заказ\n\nстарый текст", "Верните деньги."},
		{"outlook from block", "Reply here.\n\n________________________________\nFrom: Shop <s@x.com>\nSent: Friday, 23 March 2012 5:08 p.m.\nTo: John\nSubject: order\n\nold", "Reply here."},
		{"lithuanian from block", "Ačiū.\n\nNuo: Parduotuvė <info@x.lt>\nIšsiųsta: 2024 m. kovo 5 d. 10:12\nKam: Jonas\nTema: užsakymas\n\nsenas tekstas", "Ačiū."},
		{"trip is not a header", "My flight\nFrom: Vilnius\nTo: London\nwas cancelled.", "My flight\nFrom: Vilnius\nTo: London\nwas cancelled."},
		{"signature", "The parcel is broken.\n\n-- \nJohn Smith\nACME", "The parcel is broken."},
		{"dash in text", "Fix -- not a signature.\nbye", "Fix -- not a signature.\nbye"},
		{"mobile signature", "Here is another email\n\nSent from my iPhone", "Here is another email"},
		{"russian mobile signature", "Жалоба\n\nОтправлено с iPhone", "Жалоба"},
		{"interleaved reply kept", "Hi,\nOn Tue, 2011-03-01, Abhishek wrote:\n> question?\n\nAnswer here.\n", "Hi,\nOn Tue, 2011-03-01, Abhishek wrote:\n> question?\n\nAnswer here."},
		{"quote only keeps all", "> only a quote\n", "> only a quote"},
		{"leading quote kept", "> This is a quote.\n\nAnd this is some text.", "> This is a quote.\n\nAnd this is some text."},
		{"crlf", "Hello\r\n\r\nOn Mon, 2 Apr 2012, Bob wrote:\r\n> x\r\n", "Hello"},
		{"empty", "", ""},
		{"only signature", "-- \nJohn", "-- \nJohn"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := TrimReply(c.in); got != c.want {
				t.Errorf("TrimReply(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
		})
	}
}

// TestTrimReplyDiscourse compares with discourse/email_reply_trimmer's
// expected outputs (test/emails -> test/trimmed) and asserts an agreement
// floor; each disagreement is logged.
func TestTrimReplyDiscourse(t *testing.T) {
	dir := filepath.Join(corpora, "discourse-email-reply-trimmer", "test")
	files, err := filepath.Glob(filepath.Join(dir, "emails", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no discourse corpus under %s: %v", dir, err)
	}
	agree := 0
	for _, f := range files {
		in := readFile(t, f)
		want := strings.TrimSpace(strings.ReplaceAll(readFile(t, filepath.Join(dir, "trimmed", filepath.Base(f))), "\r\n", "\n"))
		got := TrimReply(in)
		if got == want {
			agree++
			continue
		}
		t.Logf("disagree %s:\n got %q\nwant %q", filepath.Base(f), clip(got), clip(want))
	}
	rate := float64(agree) / float64(len(files))
	t.Logf("discourse agreement: %d/%d (%.0f%%)", agree, len(files), 100*rate)
	if rate < 0.88 {
		t.Errorf("discourse agreement %.2f below floor 0.88", rate)
	}
}

// TestTrimReplyTalon runs talon's standard replies: each text/plain body
// must trim to "Hello" or to its *_reply_text file. talon keeps signatures
// and we drop them, so the expected text loses its signature the same way.
func TestTrimReplyTalon(t *testing.T) {
	dir := filepath.Join(corpora, "talon", "tests", "fixtures", "standard_replies")
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no talon corpus under %s: %v", dir, err)
	}
	agree := 0
	for _, f := range files {
		m := Normalize([]byte(readFile(t, f)), NormalizeOptions{})
		want := "Hello"
		if b, err := os.ReadFile(strings.TrimSuffix(f, ".eml") + "_reply_text"); err == nil {
			want = TrimReply(string(b))
		}
		if m.Text == want {
			agree++
			continue
		}
		t.Logf("disagree %s:\n got %q\nwant %q\nfull %q", filepath.Base(f), clip(m.Text), want, clip(m.Whole()))
	}
	t.Logf("talon agreement: %d/%d", agree, len(files))
	if agree < len(files)*3/4 {
		t.Errorf("talon agreement %d/%d below floor 3/4", agree, len(files))
	}
}

// TestTrimReplyGitHub checks github/email_reply_parser fixtures whose
// visible reply is unambiguous (the expectations are ours: the corpus ships
// the inputs only).
func TestTrimReplyGitHub(t *testing.T) {
	dir := filepath.Join(corpora, "github-email-reply-parser", "test", "emails")
	cases := map[string]string{
		"email_2_1.txt":        "Outlook with a reply",
		"email_2_2.txt":        "Outlook with a reply directly above line",
		"email_BlackBerry.txt": "Here is another email",
		"email_iPhone.txt":     "Here is another email",
		"email_multi_word_sent_from_my_mobile_device.txt": "Here is another email",
		"correct_sig.txt": "this is an email with a correct -- signature.",
		"greedy_on.txt":   "On your remote host you can run:\n\n     telnet 127.0.0.1 52698\n\nThis should connect to TextMate (on your Mac, via the tunnel). If that\nfails, the tunnel is not working.",
		"email_sig_delimiter_in_middle_of_line.txt": "Hi there!\n\nStuff happened.\n\nAnd here is a fix -- this is not a signature.\n\nkthxbai",
		"email_sent_from_my_not_signature.txt":      "Here is another email\n\nSent from my desk, is much easier then my mobile phone.",
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			got := TrimReply(readFile(t, filepath.Join(dir, name)))
			if got != want {
				t.Errorf("got %q\nwant %q", got, want)
			}
		})
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
