package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-message"

	"complaintbot/store"
)

var fixedNow = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

func normalizeFile(t *testing.T, path string) *store.Message {
	t.Helper()
	return Normalize([]byte(readFile(t, path)), NormalizeOptions{Now: func() time.Time { return fixedNow }})
}

// TestNormalizeFixtures checks our own realistic complaints (Russian,
// Lithuanian, English) and the noise and broken mail next to them.
func TestNormalizeFixtures(t *testing.T) {
	cases := []struct {
		file       string
		status     string
		reason     string // prefix
		from       store.Address
		subject    string
		text       string // exact Text
		fullHas    string // substring of FullText
		messageID  string
		inReplyTo  []string
		references []string
		htmlOnly   bool
		warning    string // substring of the warning header
		check      func(t *testing.T, m *store.Message)
	}{
		{
			file: "ru_complaint_cp1251.eml", status: store.StatusRecorded,
			from:       store.Address{Name: "Иван Петров", Email: "ivan.petrov@mail.example.ru"},
			subject:    "Жалоба: повреждённый холодильник, заказ № 458812",
			text:       "Здравствуйте!\n\n3 марта я заказал холодильник «Атлант» (заказ № 458812), оплатил 45 990 руб.\nДоставку перенесли уже дважды, а сегодня курьер привёз холодильник с вмятиной\nна дверце. Прошу заменить товар или вернуть деньги в течение 10 дней.\n\nФото повреждения прилагаю по запросу.\n\nС уважением,\nИван Петров\n+7 916 555-12-34",
			fullHas:    "> Ваш заказ № 458812 передан в доставку.",
			messageID:  "1741243277.458812@mail.example.ru",
			inReplyTo:  []string{"order-458812-shipped@shop.example"},
			references: []string{"order-458812@shop.example", "order-458812-shipped@shop.example"},
			check: func(t *testing.T, m *store.Message) {
				if m.To[0].Name != "Служба поддержки" || m.Headers["Content-Language"] != "ru" {
					t.Errorf("To %+v, headers %v", m.To, m.Headers)
				}
				if want := time.Date(2026, 3, 6, 6, 41, 17, 0, time.UTC); !m.Date.Equal(want) {
					t.Errorf("Date %v, want %v", m.Date, want)
				}
			},
		},
		{
			file: "lt_complaint_cp1257.eml", status: store.StatusRecorded,
			from:    store.Address{Name: "Rūta Žemaitienė", Email: "ruta.zemaitiene@pastas.example.lt"},
			subject: "Skundas dėl nepristatytos prekės",
			text:    "Laba diena,\n\nvasario 27 d. užsakiau skalbimo mašiną (užsakymo nr. LT-20931), bet ji iki šiol\nnepristatyta, nors žadėjote per 3 darbo dienas. Jūsų klientų aptarnavimo\ntelefonu niekas neatsiliepia.\n\nPrašau grąžinti sumokėtus 529,00 € arba nedelsiant pristatyti prekę.\n\nPagarbiai\nRūta Žemaitienė",
			fullHas: "-----Original Message-----\nFrom: Parduotuvė <info@shop.example>",
		},
		{
			file: "lt_complaint_iso885913.eml", status: store.StatusRecorded,
			from:    store.Address{Name: "Jonas Kazlauskas", Email: "jonas.kazlauskas@example.lt"},
			subject: "Sugadintas televizorius",
			text:    "Sveiki,\n\ngavau sugadintą televizorių - ekranas įskilęs. Pridedu sąskaitą faktūrą.\nPrašau pakeisti prekę nauja.\n\nAčiū,\nJonas Kazlauskas",
			fullHas: "rašė:\n> Jūsų užsakymas išsiųstas.",
			check: func(t *testing.T, m *store.Message) {
				if len(m.Attachments) != 1 {
					t.Fatalf("attachments %+v", m.Attachments)
				}
				a := m.Attachments[0]
				if a.Name != "sąskaita faktūra.pdf" || a.ContentType != "application/pdf" || !a.Kept ||
					a.Size != int64(len(a.Data)) || !bytes.HasPrefix(a.Data, []byte("%PDF-1.4")) || a.SHA256 != sha256Hex(a.Data) {
					t.Errorf("attachment %+v", a)
				}
			},
		},
		{
			file: "en_complaint_alternative.eml", status: store.StatusRecorded,
			from:      store.Address{Name: "Emily Carter", Email: "emily.carter@example.com"},
			subject:   "Re: Your order #A-77120 has shipped",
			text:      "Hello,\n\nI ordered a pair of running shoes (order #A-77120) two weeks ago. The tracking\npage has said \"in transit\" for ten days and nobody answers the phone.\n\nPlease tell me where my parcel is, or refund the $129.99.\n\nThanks,\nEmily Carter",
			fullHas:   "> Your order #A-77120 has shipped.",
			messageID: "CAJ8nQ_0x9w+K@mail.example.com",
			inReplyTo: []string{"shipped-A-77120@shop.example"},
			check: func(t *testing.T, m *store.Message) {
				if m.ReplyTo == nil || m.ReplyTo.Email != "emily.c@example.org" {
					t.Errorf("ReplyTo %+v", m.ReplyTo)
				}
				if len(m.To) != 2 || m.To[1].Email != "orders@shop.example" || m.Headers["Cc"] != "Tom Carter <tom@example.com>" {
					t.Errorf("To %+v Cc %q", m.To, m.Headers["Cc"])
				}
			},
		},
		{
			file: "en_html_only.eml", status: store.StatusRecorded, htmlOnly: true,
			from:    store.Address{Name: "Mark O'Neil", Email: "mark.oneil@example.net"},
			subject: "Broken blender",
			text:    "Dear support,\n\nThe blender I bought on March 2 stopped working after one day. Problems:\n\n- the motor smells of burning\n- the lid is cracked\n\nSee my photos here. I want a refund & a collection.\n\nRegards,\nMark O'Neil",
		},
		{
			file: "en_outlook_suppress.eml", status: store.StatusRecorded,
			from:    store.Address{Name: "Anna Berg", Email: "anna.berg@corp.example.com"},
			subject: "Invoice 2026-114 charged twice",
			text:    "Hi, my card was charged twice for invoice 2026-114. Please refund one charge.",
			fullHas: "Sent: Wednesday, March 18, 2026 9:00 AM",
		},
		{
			file: "ru_followup.eml", status: store.StatusRecorded,
			from:       store.Address{Name: "Иван Петров", Email: "ivan.petrov@mail.example.ru"},
			subject:    "Re: Жалоба: повреждённый холодильник, заказ № 458812 [C-2026-000001]",
			text:       "Добавлю: курьер отказался подписать акт о повреждении.",
			inReplyTo:  []string{"1741243277.458812@mail.example.ru"},
			references: []string{"order-458812@shop.example", "1741243277.458812@mail.example.ru"},
		},
		{file: "auto_reply_ru.eml", status: store.StatusIgnored, reason: "auto-reply: Auto-Submitted: auto-replied",
			subject: "Автоответ: Ваш заказ № 458812"},
		{file: "auto_reply_lt_subject.eml", status: store.StatusIgnored, reason: "auto-reply: out-of-office subject"},
		{file: "bounce_dsn.eml", status: store.StatusIgnored, reason: "bounce: multipart/report; report-type=delivery-status",
			check: func(t *testing.T, m *store.Message) {
				if len(m.Attachments) != 1 || m.Attachments[0].ContentType != "message/delivery-status" {
					t.Errorf("attachments %+v", m.Attachments)
				}
			}},
		{
			file: "malformed_unknown_charset.eml", status: store.StatusRecorded,
			from:      store.Address{Name: "Sergei", Email: "sergei@example.ru"},
			subject:   "Жалоба на доставку",
			text:      "Привет! Заказ не пришёл, прошу вернуть деньги.",
			messageID: "broken-id-without-brackets@example.ru",
			warning:   `unknown charset "x-unknown-8bit" decoded as windows-1251`,
			check: func(t *testing.T, m *store.Message) {
				w := m.Headers[WarningHeader]
				for _, s := range []string{"dropped 1 malformed header line", "unparseable Date", "raw 8-bit header"} {
					if !strings.Contains(w, s) {
						t.Errorf("warning %q lacks %q", w, s)
					}
				}
				if !m.Date.IsZero() || len(m.Attachments) != 1 || m.Attachments[0].Kept {
					t.Errorf("date %v attachments %+v", m.Date, m.Attachments)
				}
			},
		},
		{file: "no_sender.eml", status: store.StatusQuarantined, reason: "no sender address"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			m := normalizeFile(t, filepath.Join("testdata", c.file))
			if m.Status != c.status || !strings.HasPrefix(m.Reason, c.reason) {
				t.Fatalf("status %q reason %q, want %q %q", m.Status, m.Reason, c.status, c.reason)
			}
			checkInvariants(t, c.file, []byte(readFile(t, filepath.Join("testdata", c.file))), m)
			if !m.ReceivedAt.Equal(fixedNow) {
				t.Errorf("ReceivedAt %v", m.ReceivedAt)
			}
			if c.from.Email != "" && m.From != c.from {
				t.Errorf("From %+v, want %+v", m.From, c.from)
			}
			if c.subject != "" && m.Subject != c.subject {
				t.Errorf("Subject %q, want %q", m.Subject, c.subject)
			}
			if c.text != "" && m.Text != c.text {
				t.Errorf("Text\n got %q\nwant %q", m.Text, c.text)
			}
			if !strings.Contains(m.Whole(), c.fullHas) {
				t.Errorf("whole text %q lacks %q", m.Whole(), c.fullHas)
			}
			// The whole text is stored only when it is not Text already.
			if m.FullText == m.Text && m.Text != "" {
				t.Errorf("FullText repeats Text %q", clip(m.Text))
			}
			if c.fullHas != "" && !strings.Contains(m.Text, c.fullHas) && !strings.Contains(m.FullText, c.fullHas) {
				t.Errorf("the trimmed history %q is not in FullText %q", c.fullHas, clip(m.FullText))
			}
			if c.messageID != "" && m.MessageID != c.messageID {
				t.Errorf("MessageID %q, want %q", m.MessageID, c.messageID)
			}
			if c.inReplyTo != nil && fmt.Sprint(m.InReplyTo) != fmt.Sprint(c.inReplyTo) {
				t.Errorf("InReplyTo %q, want %q", m.InReplyTo, c.inReplyTo)
			}
			if c.references != nil && fmt.Sprint(m.References) != fmt.Sprint(c.references) {
				t.Errorf("References %q, want %q", m.References, c.references)
			}
			if m.HTMLOnly != c.htmlOnly {
				t.Errorf("HTMLOnly %v", m.HTMLOnly)
			}
			if !strings.Contains(m.Headers[WarningHeader], c.warning) {
				t.Errorf("warning %q lacks %q", m.Headers[WarningHeader], c.warning)
			}
			if c.warning == "" && c.status == store.StatusRecorded && m.Headers[WarningHeader] != "" {
				t.Errorf("unexpected warning %q", m.Headers[WarningHeader])
			}
			if c.check != nil {
				c.check(t, m)
			}
		})
	}
}

// TestNormalizeCorpusCharsets decodes the Thunderbird koi8-r and
// windows-1251 samples (RFC 2047 subjects, base64 bodies).
func TestNormalizeCorpusCharsets(t *testing.T) {
	for _, name := range []string{"sample04.eml", "sample05.eml"} {
		t.Run(name, func(t *testing.T) {
			m := normalizeFile(t, filepath.Join(corpora, "thunderbird-xpcshell-samples", name))
			if m.Status != store.StatusRecorded || m.Subject != "Алфавит" {
				t.Fatalf("status %q subject %q", m.Status, m.Subject)
			}
			if m.Text != "Вопрос" || m.From.Name != "Bug Reporter" {
				t.Errorf("text %q from %+v", m.Text, m.From)
			}
			if w := m.Headers[WarningHeader]; w != "" {
				t.Errorf("warning %q", w)
			}
		})
	}
}

// TestNormalizeCorpusManifest checks the properties the corpora manifests
// record: HTML-only mail yields text without markup, and Cyrillic text in a
// Cyrillic charset decodes to Cyrillic letters.
func TestNormalizeCorpusManifest(t *testing.T) {
	var htmlOnly, htmlOK, cyr, cyrOK int
	for _, cm := range loadCorpus(t) {
		if cm.props == nil {
			continue
		}
		m := Normalize(cm.raw, NormalizeOptions{})
		if cm.props["html_only"] == "1" && m.Status == store.StatusRecorded {
			htmlOnly++
			if markup.MatchString(m.Whole()) {
				t.Errorf("html-only %s: markup in text %q", cm.name, clip(m.Whole()))
			}
			if m.HTMLOnly {
				htmlOK++
			} else {
				t.Logf("html-only %s: HTMLOnly=false text %q", cm.name, clip(m.Text))
			}
		}
		if cm.props["cyrillic_charset"] == "1" && cm.props["cyrillic_text"] == "1" {
			cyr++
			if strings.ContainsFunc(m.Whole()+m.Subject+m.From.Name, isCyrillic) {
				cyrOK++
			} else {
				t.Logf("cyrillic %s: subject %q text %q", cm.name, m.Subject, clip(m.Whole()))
			}
		}
	}
	t.Logf("html-only: %d/%d made from HTML (no markup in any); cyrillic: %d/%d decoded", htmlOK, htmlOnly, cyrOK, cyr)
	if htmlOnly < 10 || htmlOK*10 < htmlOnly*9 {
		t.Errorf("html-only rendered %d/%d, want at least 90%% of at least 10", htmlOK, htmlOnly)
	}
	if cyr < 3 || cyrOK != cyr {
		t.Errorf("cyrillic decoded %d/%d", cyrOK, cyr)
	}
}

var markup = regexp.MustCompile(`(?i)<(div|p|br|html|body|table|span|a)[ >/]`)

func isCyrillic(r rune) bool { return r >= 'А' && r <= 'я' }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// mailWithAttachments builds a multipart/mixed message with a text part and
// one base64 attachment of each given size.
func mailWithAttachments(sizes ...int) []byte {
	var b bytes.Buffer
	b.WriteString("From: A <a@example.com>\r\nTo: s@shop.example\r\nSubject: files\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee files\r\n")
	for i, n := range sizes {
		fmt.Fprintf(&b, "--XX\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\"../../etc/p%d.jpg\"\r\n"+
			"Content-Transfer-Encoding: base64\r\n\r\n", i)
		enc := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{byte(i)}, n))
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	b.WriteString("--XX--\r\n")
	return b.Bytes()
}

func TestNormalizeAttachmentCaps(t *testing.T) {
	raw := mailWithAttachments(100, 3000, 900, 900)
	m := Normalize(raw, NormalizeOptions{MaxAttachmentBytes: 1000, MaxTotalBytes: 1500})
	if m.Status != store.StatusRecorded || m.Text != "see files" || len(m.Attachments) != 4 {
		t.Fatalf("status %q text %q attachments %d", m.Status, m.Text, len(m.Attachments))
	}
	want := []struct {
		size int64
		kept bool
		why  string
	}{
		{100, true, ""},
		{3000, false, "over the per-attachment cap of 1000 bytes"},
		{900, true, ""},
		{900, false, "over the per-message attachment cap of 1500 bytes"},
	}
	for i, a := range m.Attachments {
		w := want[i]
		if a.Size != w.size || a.Kept != w.kept || a.NotKeptWhy != w.why || a.Name != fmt.Sprintf("p%d.jpg", i) {
			t.Errorf("attachment %d: %+v, want %+v", i, a, w)
		}
		if a.SHA256 != sha256Hex(bytes.Repeat([]byte{byte(i)}, int(w.size))) {
			t.Errorf("attachment %d: sha256 of the whole content expected", i)
		}
		if a.Kept != (a.Data != nil) || (a.Kept && int64(len(a.Data)) != a.Size) {
			t.Errorf("attachment %d: Data %d bytes, kept %v", i, len(a.Data), a.Kept)
		}
	}
}

func TestNormalizeManyAttachments(t *testing.T) {
	sizes := make([]int, 500)
	for i := range sizes {
		sizes[i] = 10
	}
	m := Normalize(mailWithAttachments(sizes...), NormalizeOptions{})
	if m.Status != store.StatusRecorded || len(m.Attachments) != 500 {
		t.Fatalf("status %q attachments %d", m.Status, len(m.Attachments))
	}
	m = Normalize(mailWithAttachments(sizes...), NormalizeOptions{MaxParts: 100})
	if len(m.Attachments) != 98 || !strings.Contains(m.Headers[WarningHeader], "more than 100 MIME parts") {
		t.Errorf("with MaxParts 100: %d attachments, warning %q", len(m.Attachments), m.Headers[WarningHeader])
	}
}

func TestNormalizeTextCap(t *testing.T) {
	raw := "From: a@example.com\r\nSubject: long\r\n\r\n" + strings.Repeat("жалоба ", 1000)
	m := Normalize([]byte(raw), NormalizeOptions{MaxTextBytes: 100})
	if len(m.Whole()) > 100 || !strings.Contains(m.Headers[WarningHeader], "truncated") || !strings.HasPrefix(m.Text, "жалоба") {
		t.Errorf("text %d bytes %q, warning %q", len(m.Whole()), m.Text, m.Headers[WarningHeader])
	}
}

func TestNormalizeRecoversPanic(t *testing.T) {
	raw := []byte("From: a@example.com\r\n\r\nhi")
	m := normalizeWith(raw, NormalizeOptions{}, func(*store.Message, []byte, NormalizeOptions) { panic("boom") })
	if m.Status != store.StatusQuarantined || m.Reason != "panic: boom" || !bytes.Equal(m.Raw, raw) || m.ContentHash != sha256Hex(raw) {
		t.Errorf("got %+v", m)
	}
}

func TestNormalizeUnparseableHeader(t *testing.T) {
	raw := []byte("From: a@example.com\r\nX-Long: " + strings.Repeat("X", 2<<20) + "\r\n\r\nbody")
	m := Normalize(raw, NormalizeOptions{})
	if m.Status != store.StatusQuarantined || !strings.HasPrefix(m.Reason, "unparseable header") || len(m.Raw) != len(raw) {
		t.Errorf("status %q reason %q", m.Status, m.Reason)
	}
}

func TestNormalizeHeaderFallbacks(t *testing.T) {
	cases := []struct {
		name, header string
		check        func(*store.Message) bool
	}{
		{"broken encoded word kept raw", "From: a@example.com\r\nSubject: =?utf-8?B?!!!?= x\r\n",
			func(m *store.Message) bool { return m.Subject == "=?utf-8?B?!!!?= x" }},
		{"unknown charset in encoded word", "From: a@example.com\r\nSubject: =?x-nonsense?Q?Pr=C3=A6kes?=\r\n",
			func(m *store.Message) bool {
				return m.Subject == "Prækes" && strings.Contains(m.Headers[WarningHeader], `unknown charset "x-nonsense" in header decoded as utf-8`)
			}},
		{"CRLF injection in encoded subject", "From: a@example.com\r\nSubject: =?utf-8?Q?a=0D=0ABcc:_x@evil.test?=\r\n",
			func(m *store.Message) bool { return m.Subject == "a  Bcc: x@evil.test" }},
		{"unparseable From read leniently", "From: Broken \"Name <b@example.com>, \r\n",
			func(m *store.Message) bool {
				return m.From.Email == "b@example.com" && strings.Contains(m.Headers[WarningHeader], "From:")
			}},
		{"sender fallback", "Sender: Only Sender <s@example.com>\r\n",
			func(m *store.Message) bool { return m.From.Email == "s@example.com" }},
		{"msg-id list with junk", "From: a@example.com\r\nReferences: <a@x> junk <b@y>\r\n\t<a@x> <c @z>\r\nIn-Reply-To: d@w (comment)\r\n",
			func(m *store.Message) bool {
				return fmt.Sprint(m.References) == "[a@x b@y c@z]" && fmt.Sprint(m.InReplyTo) == "[d@w]"
			}},
		{"8-bit UTF-8 subject (RFC 6532)", "From: a@example.com\r\nSubject: Užsakymas\r\n",
			func(m *store.Message) bool { return m.Subject == "Užsakymas" && m.Headers[WarningHeader] == "" }},
		{"obsolete date", "From: a@example.com\r\nDate: Thu, 13 Feb 69 23:32 -0330 (Newfoundland Time)\r\n",
			func(m *store.Message) bool { return m.Date.Year() == 1969 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := Normalize([]byte(c.header+"\r\nbody\r\n"), NormalizeOptions{})
			if !c.check(m) {
				t.Errorf("got from %+v subject %q refs %q irt %q date %v headers %v",
					m.From, m.Subject, m.References, m.InReplyTo, m.Date, m.Headers)
			}
		})
	}
}

func TestMsgIDsKeepsFirstAndLast(t *testing.T) {
	var b strings.Builder
	for i := range 150 {
		fmt.Fprintf(&b, "<id%d@x> ", i)
	}
	ids := msgIDs(b.String())
	if len(ids) != maxMsgIDs || ids[0] != "id0@x" || ids[1] != "id51@x" || ids[len(ids)-1] != "id149@x" {
		t.Errorf("got %d ids: %q … %q", len(ids), ids[:2], ids[len(ids)-1])
	}
}

func TestHTMLText(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"entities and links", `<p>Fish &amp; chips &lt;3 <a href="http://x">see&nbsp;here</a></p>`, "Fish & chips <3 see here"},
		{"drops invisible", `<head><style>p{}</style><title>T</title></head><body><script>x()</script><p>Hi</p></body>`, "Hi"},
		{"unclosed head", `<html><head><title>T</title><body>Visible</body>`, "Visible"},
		{"br and lists", `a<br>b<ul><li>one</li><li> two </li></ul>c`, "a\nb\n- one\n- two\nc"},
		{"whitespace", "<div>  many \n\t spaces  </div><div>next</div>", "many spaces\nnext"},
		{"blockquote marks", `Yes<div>On Mon, 2 Mar 2026, A &lt;a@x&gt; wrote:<blockquote>old<br>text</blockquote></div>`, "Yes\nOn Mon, 2 Mar 2026, A <a@x> wrote:\n> old\n> text"},
		{"table cells", `<table><tr><td>Order</td><td>123</td></tr></table>`, "Order 123"},
		{"broken html", `<p>unclosed <b>bold <i>text`, "unclosed bold text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := HTMLText(strings.NewReader(c.in)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestNormalizePrefersPlainAlternative(t *testing.T) {
	raw := "From: a@example.com\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nplain version\r\n--b--\r\n"
	m := Normalize([]byte(raw), NormalizeOptions{})
	if m.Text != "plain version" || m.HTMLOnly {
		t.Errorf("text %q htmlOnly %v", m.Text, m.HTMLOnly)
	}
}

func TestDecodeGuess(t *testing.T) {
	cases := []struct {
		in      []byte
		want    string
		charset string
	}{
		{[]byte("\xcf\xf0\xe8\xe2\xe5\xf2 \xec\xe8\xf0"), "Привет мир", "windows-1251"},
		{[]byte("\xf0\xd2\xc9\xd7\xc5\xd4 \xcd\xc9\xd2"), "Привет мир", "koi8-r"},
		{[]byte("U\xfesakymas gautas"), "Užsakymas gautas", "windows-1257"},
		{[]byte("Жалоба \xff ok"), "Жалоба \uFFFD ok", "utf-8"},
	}
	for _, c := range cases {
		got, cs := decodeGuess(c.in)
		if got != c.want || cs != c.charset {
			t.Errorf("decodeGuess(%q) = %q, %s; want %q, %s", c.in, got, cs, c.want, c.charset)
		}
	}
}

// BenchmarkNormalize runs Normalize on a typical ~5 KB reply (Received and
// DKIM headers, text and HTML alternatives, a quoted history).
func BenchmarkNormalize(b *testing.B) {
	raw := []byte(readFile(b, filepath.Join("testdata", "bench_typical.eml")))
	m := Normalize(raw, NormalizeOptions{})
	if m.Status != store.StatusRecorded || !strings.HasSuffix(m.Text, "+1 555 0100 200") {
		b.Fatalf("benchmark mail normalised to %q %q", m.Status, m.Text)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		Normalize(raw, NormalizeOptions{})
	}
	// On a shared machine wall time measures the neighbours too; process
	// CPU time per message (GC included) is the figure to compare.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// cpuTime is the user+system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestNormalizeLargeAttachmentBoundedMemory: a 50 MB attachment is hashed
// and counted but not held: what Normalize allocates stays far below the
// attachment's size, and nothing of it is kept.
func TestNormalizeLargeAttachmentBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 67 MB message")
	}
	const size = 50 << 20
	raw := mailWithAttachments(size)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := Normalize(raw, NormalizeOptions{})
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("raw %d bytes, Normalize allocated %d bytes", len(raw), allocated)
	if len(m.Attachments) != 1 || m.Attachments[0].Size != size || m.Attachments[0].Kept || m.Attachments[0].Data != nil {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	if allocated > 16<<20 {
		t.Errorf("Normalize allocated %d bytes for a %d-byte attachment; want under 16 MiB (the 10 MiB cap plus buffers)", allocated, size)
	}
}

func TestNormalizeDeepNesting(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@example.com\r\n")
	for i := range 200 {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\ndeep\r\n")
	m := Normalize([]byte(b.String()), NormalizeOptions{})
	if m.Status != store.StatusRecorded || !strings.Contains(m.Headers[WarningHeader], "nested deeper than") {
		t.Errorf("status %q warning %q", m.Status, m.Headers[WarningHeader])
	}
}

// BenchmarkGoMessageWalk is the floor under BenchmarkNormalize: go-message
// alone reading the same mail, every part decoded to io.Discard.
func BenchmarkGoMessageWalk(b *testing.B) {
	raw := []byte(readFile(b, filepath.Join("testdata", "bench_typical.eml")))
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		e, err := message.Read(bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		err = e.Walk(func(_ []int, part *message.Entity, _ error) error {
			if part.MultipartReader() == nil {
				_, err := io.Copy(io.Discard, part.Body)
				return err
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
