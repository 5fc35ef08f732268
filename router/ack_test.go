package router

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestAckSubject(t *testing.T) {
	const num = "C-2026-000123"
	tests := []struct{ in, want string }{
		{"Broken kettle", "Re: Broken kettle [C-2026-000123]"},
		{"Re: Broken kettle", "Re: Broken kettle [C-2026-000123]"},
		{"RE: re: Fwd: Broken kettle", "Re: Broken kettle [C-2026-000123]"},
		{"AW: WG: Kaputt", "Re: Kaputt [C-2026-000123]"},
		{"Ответ: Re: Не работает", "Re: Не работает [C-2026-000123]"},
		{"ОТВЕТ: Не работает", "Re: Не работает [C-2026-000123]"},
		{"Re[2]: Re(3): thing", "Re: thing [C-2026-000123]"},
		{"Re: thing [C-2026-000123]", "Re: thing [C-2026-000123]"},
		{"Regarding my order", "Re: Regarding my order [C-2026-000123]"},
		{"Return: broken", "Re: Return: broken [C-2026-000123]"},
		{"", "Re: [C-2026-000123]"},
		{"Re:", "Re: [C-2026-000123]"},
		{"  Spaced \t out  ", "Re: Spaced out [C-2026-000123]"},
		{"Line\r\nBcc: x@y", "Re: Line Bcc: x@y [C-2026-000123]"},
		{"Null\x00byte", "Re: Null byte [C-2026-000123]"},
		{"Re: about [C-2026-000007] again", "Re: about again [C-2026-000123]"},
		{"[C-2026-000007] [C-2026-000123] x", "Re: [C-2026-000123] x"},
	}
	for _, tt := range tests {
		if got := AckSubject(tt.in, num); got != tt.want {
			t.Errorf("AckSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := AckSubject(strings.Repeat("жалоба ", 1000), num)
	if n := utf8.RuneCountInString(long); n > maxSubjectRunes+30 {
		t.Errorf("long subject kept %d runes", n)
	}
}

// FuzzAckSubject: whatever the subject, the reply subject is one header
// line with our tag and a single leading "Re: ".
func FuzzAckSubject(f *testing.F) {
	for _, s := range []string{"Re: x", "Ответ:\r\nBcc: y", "\u2028", "Re: Re: [C-2026-000001]", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		got := AckSubject(subject, "C-2026-000001")
		if strings.ContainsFunc(got, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }) {
			t.Fatalf("AckSubject(%q) = %q has a control character", subject, got)
		}
		if !strings.HasPrefix(got, "Re: ") || strings.HasPrefix(strings.ToLower(got[4:]), "re:") {
			t.Fatalf("AckSubject(%q) = %q: want one leading Re:", subject, got)
		}
		if !strings.Contains(got, "[C-2026-000001]") {
			t.Fatalf("AckSubject(%q) = %q lacks the tag", subject, got)
		}
	})
}

func TestDetectLang(t *testing.T) {
	tests := []struct{ text, want string }{
		{"Здравствуйте! Мой заказ не пришёл, прошу вернуть деньги.", LangRussian},
		{"Re: order 123\nДобрый день, где посылка?", LangRussian},
		{"Laba diena, gavau sugedusią prekę. Prašau grąžinti pinigus.", LangLithuanian},
		{"Laba diena, negavau uzsakymo, prasau atsakyti", LangLithuanian},
		{"Ačiū", LangLithuanian},
		{"Hello, my order did not arrive. Please refund.", LangEnglish},
		{"", LangEnglish},
		{"12345 !!!", LangEnglish},
		{"Dobrý den, objednávka nepřišla", LangEnglish}, // Czech: one shared letter is not enough
		{"Zürich café", LangEnglish},
		{"OK д", LangEnglish},
	}
	for _, tt := range tests {
		if got := DetectLang(tt.text); got != tt.want {
			t.Errorf("DetectLang(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestCleanHeader(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\nb":          "a b",
		"\tx\x00y\x7f z ": "x y z",
		"Ona Petraitė":    "Ona Petraitė",
		"a\u2028b\u0085c": "a b c",
	} {
		if got := cleanHeader(in); got != want {
			t.Errorf("cleanHeader(%q) = %q, want %q", in, got, want)
		}
	}
}
