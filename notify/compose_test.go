package notify

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	netmail "net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"complaintbot/store"
)

var composeDate = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// parsed is a composed message read back with go-message.
type parsed struct {
	header   textproto.Header // raw fields, as a receiver sees them
	mh       mail.Header
	text     string
	html     string
	rawBytes []byte
}

func parseMessage(t testing.TB, raw []byte) parsed {
	t.Helper()
	p := parsed{rawBytes: raw}
	var err error
	p.header, err = textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("read header: %v\n%s", err, raw)
	}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	p.mh = mr.Header
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		body, _ := io.ReadAll(part.Body)
		ct, params, _ := part.Header.(*mail.InlineHeader).ContentType()
		if params["charset"] != "utf-8" {
			t.Errorf("%s part charset = %q", ct, params["charset"])
		}
		switch ct {
		case "text/plain":
			p.text = string(body)
		case "text/html":
			p.html = string(body)
		default:
			t.Errorf("unexpected part %s", ct)
		}
	}
	return p
}

func composeRow(t testing.TB, n *store.Notification) []byte {
	t.Helper()
	r, err := RenderWith(n, RenderOptions{Location: vilnius, CompanyName: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Compose(n, r, testFrom, composeDate)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestComposeHeaders(t *testing.T) {
	n := ackRow("ru", "Иван Петров", "ivan@customer.test", "Сломанный чайник")
	n.Data["number"] = "C-2026-000123"
	n.Subject = "Re: Сломанный чайник [C-2026-000123]"
	n.MessageID = "c1.n0nce.mac@acme.test"
	raw := composeRow(t, n)
	p := parseMessage(t, raw)

	exact := map[string]string{
		"Message-Id":               "<c1.n0nce.mac@acme.test>",
		"In-Reply-To":              "<orig-1@customer.test>",
		"References":               "<root@customer.test> <orig-1@customer.test>",
		"Auto-Submitted":           "auto-replied",
		"X-Auto-Response-Suppress": "All",
		"Content-Language":         "ru",
		"Date":                     "Fri, 27 Nov 2026 10:00:00 +0000",
		"Mime-Version":             "1.0",
	}
	for k, want := range exact {
		if got := p.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if p.header.Has("Precedence") {
		t.Error("Precedence set; RFC 3834 says not to")
	}
	if subj, _ := p.mh.Subject(); subj != n.Subject {
		t.Errorf("Subject decodes to %q, want %q", subj, n.Subject)
	}
	assertOneAddress(t, p, "To", "Иван Петров", "ivan@customer.test")
	assertOneAddress(t, p, "From", testFrom.Name, testFrom.Email)
	if ct, _, _ := p.mh.ContentType(); ct != "multipart/alternative" {
		t.Errorf("Content-Type = %q", ct)
	}
	if !strings.Contains(p.text, "29.11.2026 16:00 (Europe/Vilnius)") || !strings.Contains(p.html, "C-2026-000123") {
		t.Errorf("parts lack the due time or number:\n%s\n%s", p.text, p.html)
	}
	assertLineLengths(t, raw)
}

func assertOneAddress(t testing.TB, p parsed, key, name, email string) {
	t.Helper()
	if n := len(p.header.Values(key)); n != 1 {
		t.Fatalf("%d %s fields, want 1", n, key)
	}
	list, err := p.mh.AddressList(key)
	if err != nil || len(list) != 1 {
		t.Fatalf("%s = %q parses to %v (err %v), want one address", key, p.header.Get(key), list, err)
	}
	if list[0].Address != email || list[0].Name != name {
		t.Errorf("%s = %q <%s>, want %q <%s>", key, list[0].Name, list[0].Address, name, email)
	}
}

// assertLineLengths checks RFC 5322 section 2.1.1: lines of at most 998
// octets, CRLF only.
func assertLineLengths(t testing.TB, raw []byte) {
	t.Helper()
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 {
			t.Errorf("line %d is %d octets", i+1, len(line))
		}
		if bytes.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
	}
}

func TestComposeHeaderInjection(t *testing.T) {
	const customer = "victim@customer.test"
	tests := []struct {
		name, displayName, subject string
		refs                       []string
	}{
		{name: "CRLF in name and subject", displayName: "Eve\r\nBcc: victim@x", subject: "Hi\r\nBcc: victim@x"},
		{name: "bare LF", displayName: "Eve\nBcc: victim@x\nTo: other@x", subject: "Hi\nCc: victim@x"},
		{name: "encoded-word trick", displayName: "=?utf-8?q?a=0D=0ABcc:_x?=", subject: "=?utf-8?q?a=0D=0ABcc:_x@x?="},
		{name: "encoded-word with quotes", displayName: `"=?utf-8?b?QQ0KQmNjOiB4QHg=?=" <other@x>`, subject: "=?utf-8?b?QQ0KQmNjOiB4QHg=?="},
		{name: "NUL, ESC and DEL", displayName: "a\x00b\x1bc\x7fd", subject: "x\x00\x1b[31my"},
		{name: "unicode line separators", displayName: "a\u2028Bcc: x@x", subject: "b\u2029Bcc: x@x\u0085"},
		{name: "address list in name", displayName: "a@x, b@y", subject: "s"},
		{name: "very long", displayName: strings.Repeat("Ж", 5000), subject: strings.Repeat("long ", 3000)},
		{name: "injected references", displayName: "n", subject: "s",
			refs: []string{"<a@b>\r\nBcc: x@x", "c@d> <e@f", "ok@customer.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := ackRow("en", tt.displayName, customer, tt.subject)
			n.Data["number"] = "C-2026-000001"
			n.Subject = "Re: " + tt.subject + " [C-2026-000001]"
			n.InReplyTo = "x@y>\r\nBcc: z@z"
			if tt.refs != nil {
				n.References = tt.refs
			}
			raw := composeRow(t, n)
			p := parseMessage(t, raw)
			assertNoInjection(t, p, customer)
			if tt.refs != nil {
				if got := p.header.Get("References"); got != "<ok@customer.test>" {
					t.Errorf("References = %q, want only the valid id", got)
				}
			}
			if p.header.Has("In-Reply-To") {
				t.Errorf("invalid In-Reply-To kept: %q", p.header.Get("In-Reply-To"))
			}
			// A second, stricter parser must agree.
			m, err := netmail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("net/mail: %v", err)
			}
			if to, err := m.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != customer {
				t.Errorf("net/mail reads To = %v (err %v)", to, err)
			}
			assertLineLengths(t, raw)
		})
	}
}

func assertNoInjection(t testing.TB, p parsed, customer string) {
	t.Helper()
	allowed := map[string]int{"From": 1, "To": 1, "Subject": 1, "Date": 1, "Message-Id": 1, "In-Reply-To": 1,
		"References": 1, "Auto-Submitted": 1, "X-Auto-Response-Suppress": 1, "Content-Language": 1,
		"Mime-Version": 1, "Content-Type": 1}
	seen := map[string]int{}
	for f := p.header.Fields(); f.Next(); {
		seen[f.Key()]++
	}
	for k, c := range seen {
		if c > allowed[k] {
			// Also catches any header we never set (allowed 0).
			t.Errorf("header %s appears %d times (allowed %d)", k, c, allowed[k])
		}
	}
	assertOneAddress(t, p, "To", cleanHeaderText(mustName(t, p)), customer)
	subj, err := p.mh.Subject()
	if err != nil || strings.ContainsAny(subj, "\r\n\x00") {
		t.Errorf("Subject decodes to %q (err %v)", subj, err)
	}
	// Even a decoder that (against RFC 2047) decodes words inside quotes
	// must find no line break in the display name.
	dec := new(mime.WordDecoder)
	if name, _ := dec.DecodeHeader(p.header.Get("To")); strings.ContainsAny(name, "\r\n") {
		t.Errorf("To decodes to a value with a line break: %q", name)
	}
}

func mustName(t testing.TB, p parsed) string {
	t.Helper()
	list, err := p.mh.AddressList("To")
	if err != nil || len(list) == 0 {
		t.Fatalf("To = %q: %v", p.header.Get("To"), err)
	}
	return list[0].Name
}

func TestComposeEncodedWordIsNotDecoded(t *testing.T) {
	trick := "=?utf-8?q?a=0D=0ABcc:_x?="
	n := ackRow("en", trick, "v@customer.test", trick)
	n.Data["number"] = "C-2026-000001"
	n.Subject = trick
	p := parseMessage(t, composeRow(t, n))
	if subj, _ := p.mh.Subject(); subj != trick {
		t.Errorf("Subject decodes to %q, want the literal %q", subj, trick)
	}
	if name := mustName(t, p); name != trick {
		t.Errorf("To name decodes to %q, want the literal %q", name, trick)
	}
}

func TestComposeEscapesHTML(t *testing.T) {
	n := ackRow("lt", "<script>alert(1)</script>", "v@customer.test", "<b>bold</b> & co")
	n.Data["number"] = "C-2026-000001"
	p := parseMessage(t, composeRow(t, n))
	if strings.Contains(p.html, "<script>") || strings.Contains(p.html, "<b>bold") {
		t.Errorf("customer text unescaped in the HTML part:\n%s", p.html)
	}
	if !strings.Contains(p.html, "&lt;b&gt;bold&lt;/b&gt; &amp; co") {
		t.Errorf("escaped subject missing from the HTML part:\n%s", p.html)
	}
	if !strings.Contains(p.text, "„<b>bold</b> & co“") {
		t.Errorf("text part should carry the subject as written:\n%s", p.text)
	}
}

func TestComposeInvalidAddress(t *testing.T) {
	for _, addr := range []string{"", "not an address", "a@b\r\nRCPT TO:<x@y>", "Name <a@b>", "a@b, c@d", "@nodomain", "nolocal"} {
		n := ackRow("en", "n", addr, "s")
		n.Data["number"] = "C-2026-000001"
		r, err := Render(n, vilnius)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Compose(n, r, testFrom, composeDate)
		if err == nil || !isPermanent(err) {
			t.Errorf("Compose to %q: err = %v, want a permanent error", addr, err)
		}
	}
}

func TestMessageIDFallbackIsStable(t *testing.T) {
	n := &store.Notification{ID: 42, CreatedAt: composeDate}
	a, b := messageID(n, "care@acme.test"), messageID(n, "care@acme.test")
	if a != b || !strings.HasSuffix(a, "@acme.test") || cleanMsgID(a) != a {
		t.Errorf("fallback Message-IDs %q, %q", a, b)
	}
	n.MessageID = "bad id@x"
	if got := messageID(n, "care@acme.test"); got != a {
		t.Errorf("invalid stored id not replaced: %q", got)
	}
}

func TestLongSubjectKeepsTheTag(t *testing.T) {
	n := ackRow("en", "n", "v@customer.test", "s")
	n.Data["number"] = "C-2026-000001"
	n.Subject = "Re: " + strings.Repeat("very long subject ", 100) + "[C-2026-000001]"
	p := parseMessage(t, composeRow(t, n))
	subj, _ := p.mh.Subject()
	if !strings.HasPrefix(subj, "Re: very long") || !strings.HasSuffix(subj, " [C-2026-000001]") ||
		utf8.RuneCountInString(subj) > maxHeaderRunes {
		t.Errorf("Subject = %q", subj)
	}
}
