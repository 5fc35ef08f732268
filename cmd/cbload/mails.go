package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// customer is one customer mailbox of the run.
type customer struct {
	Name     string
	Email    string
	Password string
	Lang     string // ru, lt, en: the language the customer writes in
}

// outMail is one generated complaint mail.
type outMail struct {
	ID       string // Message-ID without <>
	Customer int    // index into the run's customers
	Raw      []byte
}

// language is the material complaints in one language are made of.
type language struct {
	names     []string
	subjects  []string // may hold one %d (an order number)
	greetings []string
	sentences []string // may hold %d verbs, filled by fill
	closings  []string
	items     []string
	legacy    []legacyCharset // 8-bit charsets mail clients of this language still use
}

type legacyCharset struct {
	name string
	enc  encoding.Encoding
}

var languages = map[string]language{
	"ru": {
		names:     []string{"Иван Петров", "Ольга Смирнова", "Дмитрий Кузнецов", "Анна Волкова", "Сергей Морозов"},
		subjects:  []string{"Брак товара, заказ №%d", "Не пришла посылка по заказу %d", "Списали деньги дважды", "Жалоба на работу курьера", "Возврат средств за заказ %d"},
		greetings: []string{"Здравствуйте!", "Добрый день.", "Здравствуйте, служба поддержки."},
		sentences: []string{
			"Я купил у вас %s %d дней назад, и он уже не работает.",
			"Заказ №%d до сих пор не доставлен, хотя обещали доставить за три дня.",
			"С карты списали %d,%02d руб. два раза.",
			"Курьер был груб и оставил коробку у подъезда.",
			"Прошу вернуть деньги или заменить товар.",
			"Я уже звонил на горячую линию, но никто не ответил.",
			"Упаковка была повреждена, внутри не хватало деталей.",
		},
		closings: []string{"Жду ответа в ближайшее время.\r\n\r\nС уважением,", "Жду решения.\r\n\r\n--", "Надеюсь на быстрое решение."},
		items:    []string{"чайник", "пылесос", "телефон", "утюг", "холодильник"},
		legacy:   []legacyCharset{{"windows-1251", charmap.Windows1251}, {"koi8-r", charmap.KOI8R}},
	},
	"lt": {
		names:     []string{"Jonas Kazlauskas", "Rūta Petraitienė", "Tomas Žukauskas", "Eglė Jankauskaitė", "Šarūnas Vaitkus"},
		subjects:  []string{"Sugedusi prekė, užsakymas Nr. %d", "Negavau siuntinio %d", "Pinigai nuskaičiuoti du kartus", "Skundas dėl kurjerio", "Prašau grąžinti pinigus už užsakymą %d"},
		greetings: []string{"Laba diena,", "Sveiki,", "Gerbiamieji,"},
		sentences: []string{
			"Prieš %[2]d dienas pirkau %[1]s, ir jis jau neveikia.",
			"Užsakymas Nr. %d vis dar nepristatytas, nors žadėjote per tris dienas.",
			"Iš mano kortelės du kartus nuskaičiuota %d,%02d EUR.",
			"Kurjeris buvo nemandagus ir paliko dėžę prie laiptinės.",
			"Prašau grąžinti pinigus arba pakeisti prekę.",
			"Skambinau į klientų aptarnavimo liniją, bet niekas neatsiliepė.",
			"Pakuotė buvo pažeista, trūko dalių.",
		},
		closings: []string{"Laukiu atsakymo.\r\n\r\nPagarbiai,", "Laukiu sprendimo.\r\n\r\n--", "Tikiuosi greito sprendimo."},
		items:    []string{"virdulį", "dulkių siurblį", "telefoną", "lygintuvą", "šaldytuvą"},
		legacy:   []legacyCharset{{"windows-1257", charmap.Windows1257}, {"iso-8859-13", charmap.ISO8859_13}},
	},
	"en": {
		names:     []string{"John Smith", "Emily Clark", "Michael Brown", "Sarah Wilson", "David O'Neill"},
		subjects:  []string{"Broken product, order #%d", "Parcel %d never arrived", "Charged twice", "Complaint about your courier", "Refund request for order %d"},
		greetings: []string{"Hello,", "Hi,", "Dear support team,"},
		sentences: []string{
			"I bought a %s from you %d days ago and it already stopped working.",
			"Order #%d has still not been delivered although you promised three days.",
			"My card was charged %d.%02d EUR twice.",
			"The courier was rude and left the box outside.",
			"Please refund me or replace the item.",
			"I called your hotline but nobody answered.",
			"The packaging was damaged and parts were missing.",
		},
		closings: []string{"I am waiting for your answer.\r\n\r\nKind regards,", "Waiting for a solution.\r\n\r\n--", "Hoping for a quick fix."},
		items:    []string{"kettle", "vacuum cleaner", "phone", "iron", "fridge"},
	},
}

// langOrder assigns languages to customers: Russian and Lithuanian customers
// write most of the mail, as they do for the company this is built for.
var langOrder = []string{"ru", "lt", "en", "ru", "lt"}

// mailGen makes realistic complaint mails. Every mail opens a new complaint:
// it has a fresh Message-ID and no In-Reply-To or References, nothing in it
// looks like an automatic reply, and the default classifier rules take it
// for a complaint (no closing "Thanks.": a complaint ending in "Спасибо."
// is classified as thanks and gets no acknowledgement).
type mailGen struct {
	rng     *rand.Rand
	run     string // run id, part of every Message-ID
	domain  string // right-hand side of the Message-IDs
	support string
	custs   []customer
	now     func() time.Time
	seq     int
}

func (g *mailGen) next(cust int) outMail {
	g.seq++
	c := g.custs[cust]
	l := languages[c.Lang]
	id := fmt.Sprintf("cbload.%s.%d@%s", g.run, g.seq, g.domain)
	subject := g.subject(l)
	text := g.text(l, c.Name)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\nMIME-Version: 1.0\r\n",
		encodeWord(c.Name), c.Email, g.support, encodeWord(subject), id, g.now().Format(time.RFC1123Z))
	if g.rng.IntN(4) == 0 {
		b.WriteString("User-Agent: Mozilla Thunderbird 128.3\r\n")
	}
	switch r := g.rng.IntN(10); {
	case r < 4:
		writeText(&b, text)
	case r < 5 && len(l.legacy) > 0:
		writeLegacy(&b, text, l.legacy[g.rng.IntN(len(l.legacy))])
	case r < 7:
		g.writeAlternative(&b, text)
	case r < 8:
		writeHTMLOnly(&b, text)
	default:
		g.writeWithAttachment(&b, text)
	}
	return outMail{ID: id, Customer: cust, Raw: b.Bytes()}
}

func (g *mailGen) subject(l language) string {
	s := l.subjects[g.rng.IntN(len(l.subjects))]
	if strings.Contains(s, "%d") {
		s = fmt.Sprintf(s, g.order())
	}
	return s
}

func (g *mailGen) order() int { return 100000 + g.rng.IntN(900000) }

// text is a complaint of 2-5 sentences with a greeting and a signature.
func (g *mailGen) text(l language, name string) string {
	var b strings.Builder
	b.WriteString(l.greetings[g.rng.IntN(len(l.greetings))])
	b.WriteString("\r\n\r\n")
	for i, n := 0, 2+g.rng.IntN(4); i < n; i++ {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(g.fill(l, l.sentences[g.rng.IntN(len(l.sentences))]))
	}
	fmt.Fprintf(&b, "\r\n\r\n%s\r\n%s\r\n", l.closings[g.rng.IntN(len(l.closings))], name)
	return b.String()
}

// fill puts an item, order number or amount into a sentence template.
func (g *mailGen) fill(l language, s string) string {
	switch strings.Count(s, "%") {
	case 0:
		return s
	case 1:
		return fmt.Sprintf(s, g.order())
	}
	if strings.Contains(s, "%s") || strings.Contains(s, "%[1]s") {
		return fmt.Sprintf(s, l.items[g.rng.IntN(len(l.items))], 2+g.rng.IntN(30))
	}
	return fmt.Sprintf(s, 10+g.rng.IntN(500), g.rng.IntN(100))
}

func encodeWord(s string) string { return mime.BEncoding.Encode("utf-8", s) }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// writeText is a text/plain UTF-8 body: 7bit when it is ASCII, else
// quoted-printable.
func writeText(b *bytes.Buffer, text string) {
	if isASCII(text) {
		b.WriteString("Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
		b.WriteString(text)
		return
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	writeQP(b, text)
}

// writeLegacy is text/plain in an 8-bit charset, base64 encoded.
func writeLegacy(b *bytes.Buffer, text string, cs legacyCharset) {
	enc, err := cs.enc.NewEncoder().String(text)
	if err != nil { // every pool text is representable; fall back to UTF-8 anyway
		writeText(b, text)
		return
	}
	fmt.Fprintf(b, "Content-Type: text/plain; charset=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n", cs.name)
	writeBase64(b, []byte(enc))
}

func (g *mailGen) writeAlternative(b *bytes.Buffer, text string) {
	bound := g.boundary()
	fmt.Fprintf(b, "Content-Type: multipart/alternative; boundary=%q\r\n\r\n", bound)
	fmt.Fprintf(b, "--%s\r\n", bound)
	writeText(b, text)
	fmt.Fprintf(b, "\r\n--%s\r\n", bound)
	writeHTMLPart(b, text)
	fmt.Fprintf(b, "\r\n--%s--\r\n", bound)
}

func writeHTMLOnly(b *bytes.Buffer, text string) { writeHTMLPart(b, text) }

func writeHTMLPart(b *bytes.Buffer, text string) {
	b.WriteString("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	var h strings.Builder
	h.WriteString("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>p{margin:0 0 1em}</style></head><body>")
	for _, para := range strings.Split(text, "\r\n\r\n") {
		h.WriteString("<p>")
		h.WriteString(strings.ReplaceAll(htmlEscape(para), "\r\n", "<br>"))
		h.WriteString("</p>")
	}
	h.WriteString("</body></html>\r\n")
	writeQP(b, h.String())
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

func htmlEscape(s string) string { return htmlEscaper.Replace(s) }

// writeWithAttachment is the text plus a small photo or PDF (1-12 KB).
func (g *mailGen) writeWithAttachment(b *bytes.Buffer, text string) {
	bound := g.boundary()
	fmt.Fprintf(b, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", bound)
	fmt.Fprintf(b, "--%s\r\n", bound)
	writeText(b, text)
	name, ctype, magic := "photo.jpg", "image/jpeg", []byte{0xff, 0xd8, 0xff, 0xe0}
	if g.rng.IntN(2) == 0 {
		name, ctype, magic = "receipt.pdf", "application/pdf", []byte("%PDF-1.7\n")
	}
	data := make([]byte, 1024+g.rng.IntN(11*1024))
	copy(data, magic)
	for i := len(magic); i < len(data); i++ {
		data[i] = byte(g.rng.Uint32())
	}
	fmt.Fprintf(b, "\r\n--%s\r\nContent-Type: %s; name=%q\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n",
		bound, ctype, name, name)
	writeBase64(b, data)
	fmt.Fprintf(b, "--%s--\r\n", bound)
}

func (g *mailGen) boundary() string { return fmt.Sprintf("=_cbload_%016x", g.rng.Uint64()) }

func writeQP(b *bytes.Buffer, s string) {
	w := quotedprintable.NewWriter(b)
	w.Write([]byte(s)) // a bytes.Buffer does not fail
	w.Close()
	b.WriteString("\r\n")
}

// writeBase64 writes data in lines of 76 characters (RFC 2045 §6.8).
func writeBase64(b *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
}
