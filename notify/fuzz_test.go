package notify

import (
	"strings"
	"testing"
)

// FuzzCompose feeds customer-controlled strings (display name, subject,
// In-Reply-To, a reference, the language) through Render and Compose and
// checks that the message never grows a header, keeps exactly one
// recipient, and has lines within the RFC 5322 limit.
func FuzzCompose(f *testing.F) {
	f.Add("Ivan", "Broken kettle", "orig@customer.test", "root@customer.test", "ru")
	f.Add("Eve\r\nBcc: victim@x", "Hi\r\nBcc: victim@x", "a@b>\r\nBcc: c@d", "<e@f>", "en")
	f.Add("=?utf-8?q?a=0D=0ABcc:_x?=", "=?utf-8?b?QQ0KQmNjOiB4QHg=?=", "", "", "lt")
	f.Add("<script>alert(1)</script>", "\"><img src=x>", "x@y", "x@y", "xx")
	f.Add(strings.Repeat("Ж", 300), strings.Repeat("a", 2000), "\x00@\x00", "\u2028@x", "RU-ru")
	f.Fuzz(func(t *testing.T, name, subject, inReplyTo, ref, lang string) {
		const to = "customer@customer.test"
		n := ackRow(lang, name, to, subject)
		n.Data["number"] = "C-2026-000001"
		n.Subject = "Re: " + subject + " [C-2026-000001]"
		n.InReplyTo = inReplyTo
		n.References = []string{ref, "root@customer.test"}
		r, err := RenderWith(n, RenderOptions{Location: vilnius})
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if strings.Contains(r.HTML, "<script") || strings.Contains(r.HTML, "<img") {
			t.Fatalf("unescaped markup in the HTML part")
		}
		raw, err := Compose(n, r, testFrom, composeDate)
		if err != nil {
			t.Fatalf("Compose: %v", err)
		}
		p := parseMessage(t, raw)
		assertNoInjection(t, p, to)
		assertLineLengths(t, raw)
	})
}
