package notify

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRenderAckLanguages(t *testing.T) {
	tests := []struct {
		name, lang, wantLang string
		want                 []string // in the text part, in this order
		wantSubject          string
	}{
		{
			name: "russian", lang: "ru", wantLang: "ru",
			want: []string{"Здравствуйте, Иван Петров!", "Спасибо, что написали нам",
				"под номером C-2026-000123", "Мы ответим вам до 29.11.2026 16:00 (Europe/Vilnius).",
				"просто ответьте на это письмо", "сохраните номер C-2026-000123", "служба поддержки Acme"},
		},
		{
			name: "lithuanian", lang: "lt", wantLang: "lt",
			want: []string{"Laba diena!", "Dėkojame, kad parašėte mums", "numeriu C-2026-000123",
				"Atsakysime Jums iki 2026-11-29 16:00 (Europe/Vilnius).", "tiesiog atsakykite į šį laišką",
				"palikti numerį C-2026-000123", "Acme klientų aptarnavimo komanda"},
		},
		{
			name: "english", lang: "en", wantLang: "en",
			want: []string{"Dear Иван Петров,", "Thank you for writing to us", "as complaint C-2026-000123",
				"We will get back to you by 29 November 2026, 16:00 (Europe/Vilnius).",
				"simply reply to this email", "keep the number C-2026-000123", "Acme customer care"},
		},
		{name: "region subtag", lang: "ru-RU", wantLang: "ru", want: []string{"Спасибо, что написали нам"}},
		{name: "unknown language falls back to english", lang: "de", wantLang: "en", want: []string{"Thank you for writing to us"}},
		{name: "no language", lang: "", wantLang: "en", want: []string{"Thank you for writing to us"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := ackRow(tt.lang, "Иван Петров", "ivan@customer.test", "Сломанный чайник")
			n.Data["number"] = "C-2026-000123"
			n.Subject = "Re: Сломанный чайник [C-2026-000123]"
			r, err := RenderWith(n, RenderOptions{Location: vilnius, CompanyName: "Acme"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Lang != tt.wantLang {
				t.Errorf("Lang = %q, want %q", r.Lang, tt.wantLang)
			}
			assertInOrder(t, "text", r.Text, tt.want)
			if r.Subject != n.Subject {
				t.Errorf("Subject = %q, want the row's %q", r.Subject, n.Subject)
			}
			for _, part := range []string{r.Text, r.HTML} {
				if !strings.Contains(part, "C-2026-000123") {
					t.Errorf("number missing from a part:\n%s", part)
				}
				if strings.Contains(strings.ToLower(part), "policy") || strings.Contains(part, "{{") {
					t.Errorf("unwanted text in a part:\n%s", part)
				}
			}
			if !strings.Contains(r.HTML, `lang="`+tt.wantLang+`"`) {
				t.Errorf("HTML part is not marked lang=%q", tt.wantLang)
			}
		})
	}
}

func assertInOrder(t *testing.T, what, s string, want []string) {
	t.Helper()
	rest := s
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("%s lacks %q (or it is out of order):\n%s", what, w, s)
		}
		rest = rest[i+len(w):]
	}
}

func TestRenderDefaults(t *testing.T) {
	n := ackRow("en", "", "x@customer.test", "")
	n.Data["number"] = "C-2026-000007"
	n.Data["due"] = "not a time"
	r, err := Render(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertInOrder(t, "text", r.Text, []string{"Hello,", "as complaint C-2026-000007.",
		"We will get back to you as soon as we can.", "Customer care"})
	if r.Subject != "We have received your message [C-2026-000007]" {
		t.Errorf("default subject = %q", r.Subject)
	}

	n.Data["due"] = "2026-07-01T09:30:00Z"
	r, err = Render(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "1 July 2026, 09:30 (UTC)") {
		t.Errorf("nil location should show UTC:\n%s", r.Text)
	}
}

func TestRenderErrors(t *testing.T) {
	n := ackRow("en", "A", "a@customer.test", "s")
	if _, err := Render(n, time.UTC); err == nil {
		t.Error("ack without a number rendered")
	}
	n.Data["number"] = "C-2026-000001"
	n.Kind = "survey"
	if _, err := Render(n, time.UTC); !errors.Is(err, ErrNoTemplate) {
		t.Errorf("kind without templates: err = %v, want ErrNoTemplate", err)
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	n := ackRow("en", `<script>alert(1)</script>`, "x@customer.test", `"><img src=x onerror=alert(2)>`)
	n.Data["number"] = "C-2026-000001"
	r, err := Render(n, vilnius)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<img"} {
		if strings.Contains(r.HTML, bad) {
			t.Errorf("HTML part contains %q unescaped:\n%s", bad, r.HTML)
		}
	}
	for _, good := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;"} {
		if !strings.Contains(r.HTML, good) {
			t.Errorf("HTML part lacks the escaped %q:\n%s", good, r.HTML)
		}
	}
	// The text part shows the name as written: it is plain text.
	if !strings.Contains(r.Text, "Dear <script>alert(1)</script>,") {
		t.Errorf("text part altered the name:\n%s", r.Text)
	}
}

func TestRenderCleansControlCharacters(t *testing.T) {
	n := ackRow("en", "Eve\r\nBcc: victim@x", "x@customer.test", "a\x00b\u2028c")
	n.Data["number"] = "C-2026-000001"
	n.Subject = "Re: hi\r\nBcc: victim@x"
	r, err := Render(n, vilnius)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Re: hi Bcc: victim@x" {
		t.Errorf("Subject = %q", r.Subject)
	}
	if !strings.Contains(r.Text, "Dear Eve Bcc: victim@x,") || !strings.Contains(r.Text, `"a b c"`) {
		t.Errorf("control characters not cleaned:\n%s", r.Text)
	}
}

func TestTemplatesComplete(t *testing.T) {
	for _, lang := range []string{"en", "ru", "lt"} {
		set, ok := templates["ack."+lang]
		if !ok {
			t.Fatalf("no ack template for %s", lang)
		}
		for _, name := range []string{"subject", "text"} {
			if set.text.Lookup(name) == nil {
				t.Errorf("ack.%s.txt does not define %q", lang, name)
			}
		}
		if set.html.Lookup("html") == nil {
			t.Errorf("ack.%s.html does not define \"html\"", lang)
		}
	}
}
