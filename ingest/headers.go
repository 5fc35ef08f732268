package ingest

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"

	"complaintbot/store"
)

// keptHeaders are the header fields copied into store.Message.Headers: what
// noise detection, language detection and a human reading the record need.
var keptHeaders = []string{
	"Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond",
	"X-Auto-Response-Suppress", "Return-Path", "List-Id", "List-Unsubscribe",
	"Content-Type", "Content-Language", "Accept-Language", "X-Mailer",
	"User-Agent", "Sender", "Cc", "X-Failed-Recipients", "Importance",
	"X-Priority", "Thread-Topic", "Organization",
}

const (
	maxHeaderValue = 1000 // bytes kept of one header value
	maxMsgIDs      = 100  // ids kept of In-Reply-To / References
	maxAddresses   = 100  // addresses kept of To
)

// fillHeaders sets the header-derived fields of m. Each field is parsed on
// its own: a broken one is read best-effort and noted, never fatal.
func fillHeaders(m *store.Message, h mail.Header, d headerDecoder) {
	m.MessageID = first(msgIDs(h.Get("Message-Id")))
	m.InReplyTo = msgIDs(h.Get("In-Reply-To"))
	m.References = msgIDs(h.Get("References"))
	m.Subject = d.text(h.Get("Subject"))
	m.Date = d.date(h.Get("Date"))
	m.From = d.sender(h)
	if rt := d.addresses("Reply-To", h.Get("Reply-To")); len(rt) > 0 {
		m.ReplyTo = &rt[0]
	}
	m.To = d.addresses("To", h.Get("To"))
	if len(m.To) > maxAddresses {
		m.To = m.To[:maxAddresses]
	}
	m.Headers = make(map[string]string)
	for _, k := range keptHeaders {
		if v := h.Get(k); v != "" {
			m.Headers[k] = truncateUTF8(d.text(v), maxHeaderValue)
		}
	}
}

// headerDecoder decodes header values: RFC 2047 encoded words in any charset
// go-message knows, unknown charsets and raw 8-bit bytes guessed (first with
// the charset the body declared), control characters replaced by spaces so
// no CR/LF survives into a value that may be written into a reply.
type headerDecoder struct {
	fallback string
	notes    *notes
}

func (d headerDecoder) text(raw string) string {
	s := d.raw8bit(raw)
	if strings.Contains(s, "=?") {
		dec := mime.WordDecoder{CharsetReader: d.charsetReader}
		if out, err := dec.DecodeHeader(s); err == nil {
			s = out
		}
	}
	return clean(s)
}

// raw8bit makes a header value valid UTF-8: RFC 6532 allows UTF-8; other
// 8-bit bytes are decoded with the body's charset or guessed.
func (d headerDecoder) raw8bit(s string) string {
	if isValidUTF8([]byte(s)) {
		return s
	}
	if d.fallback != "" {
		return decodeAs([]byte(s), d.fallback)
	}
	out, guess := decodeGuess([]byte(s))
	d.notes.add("raw 8-bit header decoded as " + guess)
	return out
}

func (d headerDecoder) charsetReader(name string, r io.Reader) (io.Reader, error) {
	if cr, err := charset.Reader(name, r); err == nil {
		return cr, nil
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	out, guess := decodeGuess(b)
	d.notes.add(fmt.Sprintf("unknown charset %q in header decoded as %s", name, guess))
	return strings.NewReader(out), nil
}

// clean replaces control characters (CR, LF, TAB, NUL, bidi overrides, ...)
// with spaces and trims the result.
func clean(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, s))
}

// sender is From, or Sender, or Reply-To when From is missing or has no
// usable address.
func (d headerDecoder) sender(h mail.Header) store.Address {
	for _, k := range []string{"From", "Sender", "Reply-To"} {
		if as := d.addresses(k, h.Get(k)); len(as) > 0 {
			return as[0]
		}
	}
	return store.Address{}
}

// addresses parses an address list with net/mail (RFC 2047 names decoded);
// a list it rejects is read leniently, piece by piece, and noted.
func (d headerDecoder) addresses(key, raw string) []store.Address {
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	s := d.raw8bit(raw)
	p := netmail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: d.charsetReader}}
	list, err := p.ParseList(s)
	if err == nil {
		out := make([]store.Address, 0, len(list))
		for _, a := range list {
			// Encoded words inside quotes are against RFC 2047 §5 and common.
			out = append(out, store.Address{Name: d.text(a.Name), Email: clean(a.Address)})
		}
		return out
	}
	out := d.lenientAddresses(s)
	d.notes.add(fmt.Sprintf("%s: %v; read leniently (%d address(es))", key, err, len(out)))
	return out
}

// lenientAddresses splits on commas outside quotes and angle brackets and
// takes from each piece the part in <> or the word holding an "@".
func (d headerDecoder) lenientAddresses(s string) []store.Address {
	var out []store.Address
	for _, piece := range splitAddressList(s) {
		email, name := "", piece
		if i := strings.LastIndexByte(piece, '<'); i >= 0 {
			if j := strings.IndexByte(piece[i:], '>'); j > 0 {
				email = piece[i+1 : i+j]
				name = piece[:i]
			}
		}
		if email == "" {
			for _, f := range strings.Fields(piece) {
				if strings.Contains(f, "@") {
					email = strings.Trim(f, "<>()[]\"',;:")
					name = strings.Replace(piece, f, "", 1)
				}
			}
		}
		email = bareAddress(email)
		if !strings.Contains(email, "@") || strings.ContainsAny(email, " \t") {
			continue
		}
		name = strings.Trim(strings.TrimSpace(name), `"'`)
		out = append(out, store.Address{Name: d.text(name), Email: clean(email)})
	}
	return out
}

// bareAddress strips RFC 5322 comments and an obsolete source route
// ("@relay.test:user@host.test") from an address.
func bareAddress(s string) string {
	out := strings.TrimSpace(stripComments(s))
	if i := strings.LastIndexByte(out, ':'); i >= 0 && strings.HasPrefix(out, "@") {
		out = out[i+1:]
	}
	return out
}

// stripComments removes (possibly nested) RFC 5322 comments.
func stripComments(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func splitAddressList(s string) []string {
	var parts []string
	quoted, angle, start := false, 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case c == '<' && !quoted:
			angle++
		case c == '>' && !quoted && angle > 0:
			angle--
		case c == ',' && !quoted && angle == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// msgIDs reads a msg-id list (RFC 5322 §3.6.4) leniently: every <...> it
// holds, or, when there are no brackets, every word. Ids come without angle
// brackets or whitespace, each once; of a long list the first and the last
// ones are kept (RFC 5322 §3.6.4 advises the same when trimming References).
func msgIDs(raw string) []string {
	var ids []string
	seen := map[string]bool{}
	addID := func(id string) {
		id = strings.Join(strings.Fields(id), "")
		id = strings.Trim(id, "<>")
		if id != "" && len(id) <= 250 && isValidUTF8([]byte(id)) && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	rest := raw
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			addID(rest[i+1:])
			break
		}
		addID(rest[i+1 : i+j])
		rest = rest[i+j+1:]
	}
	if len(ids) == 0 {
		bare := stripComments(raw)
		for _, f := range strings.FieldsFunc(bare, func(r rune) bool { return unicode.IsSpace(r) || r == ',' }) {
			addID(f)
		}
	}
	if len(ids) > maxMsgIDs {
		ids = append(ids[:1], ids[len(ids)-maxMsgIDs+1:]...)
	}
	return ids
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// date parses the Date header; net/mail knows the RFC 5322 and obsolete
// forms, and a few more seen in the wild are tried. Unparseable: zero time,
// noted.
func (d headerDecoder) date(raw string) time.Time {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return time.Time{}
	}
	// The RFC 5322 §3.3 form nearly every client writes, tried first:
	// net/mail walks its list of layouts and allocates an error for each.
	if t, err := time.Parse("Mon, 2 Jan 2006 15:04:05 -0700", raw); err == nil {
		return t
	}
	if t, err := netmail.ParseDate(raw); err == nil {
		return t
	}
	s := strings.Join(strings.Fields(raw), " ")
	for _, layout := range extraDateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	d.notes.add("unparseable Date")
	return time.Time{}
}

var extraDateLayouts = []string{
	time.RFC3339,
	"Mon, 2 Jan 2006 15:04:05 -0700 (MST)",
	"Mon, 2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon, 2 Jan 2006 15:04:05",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
}

// repairHeader returns the message with the header lines that cannot be
// header fields dropped (a leading mbox "From " line, lines without a colon
// or with bytes not allowed in a field name) and the header ended before a
// "--boundary" line, and how many lines it changed (0: nothing to repair).
// The body is not copied.
func repairHeader(raw []byte) (io.Reader, int) {
	var kept bytes.Buffer
	dropped, prevKept := 0, false
	rest := raw
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			kept.WriteString("\r\n")
			return io.MultiReader(&kept, bytes.NewReader(rest)), dropped
		}
		if bytes.HasPrefix(trimmed, []byte("--")) {
			// A MIME boundary right under the header: the blank line that
			// ends the header is missing.
			kept.WriteString("\r\n")
			return io.MultiReader(&kept, bytes.NewReader(line), bytes.NewReader(rest)), dropped + 1
		}
		ok := isFieldLine(trimmed) || (prevKept && (trimmed[0] == ' ' || trimmed[0] == '\t'))
		if ok {
			kept.Write(trimmed)
			kept.WriteString("\r\n")
		} else {
			dropped++
		}
		prevKept = ok
	}
	kept.WriteString("\r\n")
	return &kept, dropped
}

func isFieldLine(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	for _, c := range bytes.TrimRight(line[:i], " \t") {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
