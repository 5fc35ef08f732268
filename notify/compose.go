package notify

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"

	"complaintbot/store"
)

const (
	// maxHeaderRunes caps a customer-provided header value (name, subject):
	// enough for any real subject, short of the 998-octet line limit
	// (RFC 5322 section 2.1.1) even after encoding.
	maxHeaderRunes = 200
	// maxReferences caps the References we copy from the customer's mail;
	// the newest are kept (RFC 5322 section 3.6.4 lets us trim the middle).
	maxReferences = 20
)

// Compose builds the RFC 5322 message for n with the text r, sent by from
// at date: multipart/alternative text/plain + text/html in UTF-8 and
// quoted-printable, threaded to the customer's mail and marked as an
// automatic reply (RFC 3834 section 5). Every header value that can come
// from a customer is cleaned of control characters before it is set, so
// nothing can add a header line. An invalid recipient address is a
// permanent error.
func Compose(n *store.Notification, r Rendered, from store.Address, date time.Time) ([]byte, error) {
	to, err := parseMailbox(n.To.Email)
	if err != nil {
		return nil, permanentf("recipient: %w", err)
	}
	sender, err := parseMailbox(from.Email)
	if err != nil {
		return nil, permanentf("sender: %w", err)
	}
	h := composeHeader(n, r, formatMailbox(from.Name, sender), formatMailbox(n.To.Name, to), messageID(n, sender), date)
	var buf bytes.Buffer
	buf.Grow(len(r.Text) + len(r.HTML) + 2048)
	if err := writeBody(&buf, h, r); err != nil {
		return nil, fmt.Errorf("notify: compose: %w", err)
	}
	return buf.Bytes(), nil
}

func composeHeader(n *store.Notification, r Rendered, from, to, msgID string, date time.Time) mail.Header {
	fields := [][2]string{
		{"From", from},
		{"To", to},
		{"Subject", encodeHeaderText(cleanHeaderText(r.Subject))},
		{"Date", date.Format(time.RFC1123Z)},
		{"Message-ID", "<" + msgID + ">"},
	}
	if !staffKinds[n.Kind] { // staff mail never joins the customer's thread
		fields = appendThreading(fields, n)
	}
	// RFC 3834 section 5: mark the message automatic (auto-replied for a
	// reply to the customer, auto-generated for staff notifications); and
	// ask Exchange not to answer it with its own auto-replies. No
	// Precedence header: RFC 3834 section 3.1.8 discourages it.
	fields = append(fields, [2]string{"Auto-Submitted", autoSubmitted(n.Kind)}, [2]string{"X-Auto-Response-Suppress", "All"})
	if r.Lang != "" {
		fields = append(fields, [2]string{"Content-Language", r.Lang})
	}
	// go-message writes fields last-added first; add them backwards so
	// the message reads in the usual order.
	var h mail.Header
	for i := len(fields) - 1; i >= 0; i-- {
		h.Add(fields[i][0], fields[i][1])
	}
	return h
}

func appendThreading(fields [][2]string, n *store.Notification) [][2]string {
	if id := cleanMsgID(n.InReplyTo); id != "" {
		fields = append(fields, [2]string{"In-Reply-To", "<" + id + ">"})
	}
	if refs := cleanMsgIDs(n.References); len(refs) > 0 {
		fields = append(fields, [2]string{"References", "<" + strings.Join(refs, "> <") + ">"})
	}
	return fields
}

func writeBody(w io.Writer, h mail.Header, r Rendered) error {
	mw, err := mail.CreateInlineWriter(w, h)
	if err != nil {
		return err
	}
	if err := writePart(mw, "text/plain", r.Text); err != nil {
		return err
	}
	if err := writePart(mw, "text/html", r.HTML); err != nil {
		return err
	}
	return mw.Close()
}

func writePart(mw *mail.InlineWriter, contentType, body string) error {
	var ph mail.InlineHeader
	ph.SetContentType(contentType, map[string]string{"charset": "utf-8"})
	pw, err := mw.CreatePart(ph)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(pw, body); err != nil {
		return err
	}
	return pw.Close()
}

// parseMailbox checks that s is one bare address (no display name, no
// list) and returns it as parsed.
func parseMailbox(s string) (string, error) {
	if s == "" || strings.ContainsFunc(s, unicode.IsControl) {
		return "", fmt.Errorf("invalid address %q", s)
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("invalid address %q: %w", s, err)
	}
	if a.Name != "" || !strings.Contains(a.Address, "@") {
		return "", fmt.Errorf("invalid address %q", s)
	}
	return a.Address, nil
}

// formatMailbox renders "Name <addr>" with the name cleaned and, unless it is
// plain printable ASCII, RFC 2047 encoded.
func formatMailbox(name, addr string) string {
	name = cleanHeaderText(name)
	a := netmail.Address{Address: addr}
	if name == "" {
		return a.String()
	}
	if needsEncoding(name) {
		return encodeWords(name) + " " + a.String()
	}
	a.Name = name
	return a.String() // quotes the name as needed
}

// cleanHeaderText makes a customer-provided string safe and tidy for a
// header or a one-line template slot: control characters (CR, LF, NUL, C1,
// ...) and Unicode line separators become spaces, runs of spaces collapse,
// invalid UTF-8 is replaced, and the result is capped in length (keeping
// both ends).
func cleanHeaderText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxHeaderRunes {
		// Cut the middle: the end of a subject carries our [C-…] tag.
		const tail = 40
		r := []rune(s)
		s = string(r[:maxHeaderRunes-tail-1]) + "…" + string(r[len(r)-tail:])
	}
	return s
}

// encodeHeaderText encodes an unstructured header value (RFC 2047) when it
// is not plain ASCII.
func encodeHeaderText(s string) string {
	if needsEncoding(s) {
		return encodeWords(s)
	}
	return s
}

// needsEncoding reports whether s must go out as encoded-words: anything
// but printable ASCII, and also text that merely looks like an encoded-word
// ("=?utf-8?q?a=0D=0ABcc:_x?="), which a receiver would otherwise decode
// into whatever the customer hid in it.
func needsEncoding(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return true
		}
	}
	return strings.Contains(s, "=?")
}

// encodeWords encodes s as base64 UTF-8 encoded-words separated by spaces,
// each within the 75-character limit of RFC 2047 section 2, never splitting
// a character (section 5). Unlike mime.BEncoding it always encodes.
func encodeWords(s string) string {
	const maxChunk = 45 // 60 base64 characters + 12 for "=?utf-8?b??="
	var words []string
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > maxChunk {
				break
			}
			n += size
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// messageID is the row's Message-ID, chosen when the row was made, so a
// resend after a crash carries the same one. A row without a usable one
// gets an ID derived from the row itself, equally stable, in the domain of
// our sender address.
func messageID(n *store.Notification, sender string) string {
	if id := cleanMsgID(n.MessageID); id != "" {
		return id
	}
	domain := sender[strings.LastIndexByte(sender, '@')+1:]
	return fmt.Sprintf("notify.%d.%s@%s", n.ID, strconv.FormatUint(uint64(n.CreatedAt.UnixNano()), 36), domain)
}

// cleanMsgID returns id (without angle brackets) when it is a plausible
// msg-id (RFC 5322 section 3.6.4: printable ASCII, no spaces or brackets,
// one "@"), and "" otherwise. Message-IDs we echo come from customers.
func cleanMsgID(id string) string {
	id = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(id), "<"), ">")
	if id == "" || len(id) > 250 || strings.Count(id, "@") != 1 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c > '~' || c == '<' || c == '>' || c == '"' || c == '\\' {
			return ""
		}
	}
	return id
}

func cleanMsgIDs(ids []string) []string {
	var out []string
	for _, id := range ids {
		if id = cleanMsgID(id); id != "" {
			out = append(out, id)
		}
	}
	if len(out) > maxReferences {
		// Keep the first (thread root) and the newest, as RFC 5322 3.6.4 suggests.
		out = append(out[:1], out[len(out)-maxReferences+1:]...)
	}
	return out
}
