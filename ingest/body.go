package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"

	"complaintbot/store"
)

// maxDepth bounds multipart nesting; deeper parts are not looked at.
const maxDepth = 30

// walker reads the MIME tree of one message once, streaming: text parts are
// decoded into strings within MaxTextBytes, attachments are hashed and kept
// within the caps, and nothing beyond a cap is held in memory.
type walker struct {
	o     NormalizeOptions
	notes *notes
	atts  []store.Attachment
	// parts counts the entities seen, kept the attachment bytes kept,
	// textBytes the decoded text bytes read.
	parts     int
	kept      int64
	textBytes int64
	// charset is the first known non-UTF-8 charset a text part declared:
	// the best guess for raw 8-bit bytes in the header.
	charset string
}

// content is the readable text of an entity.
type content struct {
	text     string
	fromHTML bool
}

// top reads the whole message; err is what reading its header reported
// (an unknown charset or transfer encoding of the top-level body).
func (w *walker) top(e *message.Entity, err error) content {
	return w.entity(e, err, 0, false)
}

// entity reads one entity. haveText says a plain-text alternative of it
// has been read already, so an HTML rendering need not be.
func (w *walker) entity(e *message.Entity, err error, depth int, haveText bool) content {
	w.parts++
	mediaType, params, repaired := contentType(e.Header, w.notes)
	if repaired && strings.HasPrefix(mediaType, "multipart/") {
		// go-message saw no boundary; hand it the repaired one. A multipart
		// body is not transfer-decoded, so reading it again is safe.
		e.Header.SetContentType(mediaType, params)
		e, _ = message.New(e.Header, e.Body)
	}
	if strings.HasPrefix(mediaType, "multipart/") && params["boundary"] != "" {
		// go-message compares the media type case-sensitively and may
		// not offer a reader where we see a multipart.
		if mr := e.MultipartReader(); mr != nil {
			if depth >= maxDepth {
				w.notes.add(fmt.Sprintf("multipart nested deeper than %d; inner parts skipped", maxDepth))
				return content{}
			}
			return w.multipart(mr, mediaType, depth, haveText)
		}
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		w.notes.add("unreadable multipart (no boundary) read as text")
		mediaType = "text/plain"
	}
	if isAttachment(e.Header, mediaType) {
		w.attachment(e, mediaType)
		return content{}
	}
	if mediaType == "text/html" && haveText {
		return content{}
	}
	text := w.text(e, params, err, !repaired)
	if mediaType == "text/html" {
		return content{text: HTMLText(strings.NewReader(text)), fromHTML: true}
	}
	return content{text: strings.TrimSpace(text)}
}

// multipart reads the children of a multipart entity. Of alternatives the
// plain text is preferred (it is what the sender typed; HTML is a rendering
// of it); other multiparts join the texts of their children in order.
func (w *walker) multipart(mr message.MultipartReader, mediaType string, depth int, haveText bool) content {
	alternative := mediaType == "multipart/alternative"
	var children []content
	for {
		if w.parts >= w.o.MaxParts {
			w.notes.add(fmt.Sprintf("more than %d MIME parts; the rest skipped", w.o.MaxParts))
			break
		}
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if part == nil {
			w.notes.add(fmt.Sprintf("%s: %v", mediaType, err))
			break
		}
		c := w.entity(part, err, depth+1, haveText)
		if c.text != "" {
			children = append(children, c)
			haveText = haveText || alternative && !c.fromHTML
		}
	}
	if alternative {
		return pickAlternative(children)
	}
	return joinContents(children)
}

func pickAlternative(cs []content) content {
	for _, c := range cs {
		if !c.fromHTML {
			return c
		}
	}
	if len(cs) > 0 {
		return cs[len(cs)-1]
	}
	return content{}
}

func joinContents(cs []content) content {
	if len(cs) == 1 {
		return cs[0]
	}
	out := content{fromHTML: len(cs) > 0}
	texts := make([]string, len(cs))
	for i, c := range cs {
		texts[i] = c.text
		out.fromHTML = out.fromHTML && c.fromHTML
	}
	out.text = strings.Join(texts, "\n\n")
	return out
}

// contentType is the media type, lower-cased, with its parameters. RFC 2045
// §5.2: a missing or unparseable Content-Type means text/plain. Parameters
// that do not parse (an unquoted boundary holding "=", as Outlook Express
// wrote them) are read leniently, and repaired says so: go-message then
// applied neither the boundary nor the charset.
func contentType(h message.Header, n *notes) (mediaType string, params map[string]string, repaired bool) {
	if !h.Has("Content-Type") {
		return "text/plain", map[string]string{}, false
	}
	t, params, err := h.ContentType()
	if err == nil && t != "" {
		return strings.ToLower(t), params, false
	}
	raw := h.Get("Content-Type")
	t, rest, _ := strings.Cut(raw, ";")
	t = strings.ToLower(strings.TrimSpace(t))
	if !strings.Contains(t, "/") || strings.ContainsAny(t, " \t\"") {
		n.add("unparseable Content-Type read as text/plain")
		return "text/plain", map[string]string{}, false
	}
	n.add("malformed Content-Type parameters read leniently")
	return t, lenientParams(rest), true
}

// lenientParams reads "; key=value" pairs, values quoted or not, keeping
// the first of each key.
func lenientParams(s string) map[string]string {
	params := map[string]string{}
	for _, p := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(p, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" || params[k] != "" {
			continue
		}
		params[k] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return params
}

// isAttachment: anything but an inline, unnamed text/plain or text/html part
// is a file of the message.
func isAttachment(h message.Header, mediaType string) bool {
	if mediaType != "text/plain" && mediaType != "text/html" {
		return true
	}
	disp, params, _ := h.ContentDisposition()
	if strings.EqualFold(disp, "attachment") {
		return true
	}
	return params["filename"] != ""
}

// text reads a text part within the per-message text budget and turns it
// into valid UTF-8. go-message has already decoded a known charset (unless
// converted is false); bytes of an unknown or undeclared one are guessed
// (see decodeGuess) and noted.
func (w *walker) text(e *message.Entity, params map[string]string, partErr error, converted bool) string {
	budget := w.o.MaxTextBytes - w.textBytes
	if budget <= 0 {
		w.notes.add(fmt.Sprintf("text over %d bytes truncated", w.o.MaxTextBytes))
		return ""
	}
	b, err := io.ReadAll(io.LimitReader(e.Body, budget+1))
	if err != nil {
		w.notes.add(fmt.Sprintf("text part: %v", err))
	}
	if !converted {
		b = convertCharset(b, params["charset"])
	}
	s := strings.ReplaceAll(w.decodeText(b, params["charset"], partErr), "\r\n", "\n")
	if int64(len(s)) > budget {
		s = truncateUTF8(s, int(budget))
		w.notes.add(fmt.Sprintf("text over %d bytes truncated", w.o.MaxTextBytes))
	}
	w.textBytes += int64(len(s))
	return s
}

// convertCharset decodes b from a known charset; unknown ones are left to
// decodeText's guess.
func convertCharset(b []byte, name string) []byte {
	if name == "" || isValidUTF8(b) {
		return b
	}
	r, err := charset.Reader(name, bytes.NewReader(b))
	if err != nil {
		return b
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return b
	}
	return out
}

func (w *walker) decodeText(b []byte, declared string, partErr error) string {
	declared = strings.ToLower(strings.TrimSpace(declared))
	switch {
	case message.IsUnknownCharset(partErr):
		s, guess := decodeGuess(b)
		w.notes.add(fmt.Sprintf("unknown charset %q decoded as %s", declared, guess))
		return s
	case message.IsUnknownEncoding(partErr):
		w.notes.add(fmt.Sprintf("text part: %v", partErr))
	case declared != "" && declared != "utf-8" && declared != "us-ascii":
		if w.charset == "" && knownCharset(declared) {
			w.charset = declared
		}
	}
	if isValidUTF8(b) {
		return string(b)
	}
	s, guess := decodeGuess(b)
	if declared == "" || declared == "us-ascii" {
		w.notes.add("undeclared 8-bit text decoded as " + guess)
	} else {
		w.notes.add(fmt.Sprintf("invalid %s text decoded as %s", declared, guess))
	}
	return s
}

func knownCharset(name string) bool {
	_, err := charset.Reader(name, strings.NewReader(""))
	return err == nil
}

// attachment records one file. Its bytes stream through a capWriter: they
// are hashed and counted in full, but kept only while within both the
// per-attachment cap and what is left of the per-message cap.
func (w *walker) attachment(e *message.Entity, mediaType string) {
	limit := min(w.o.MaxAttachmentBytes, w.o.MaxTotalBytes-w.kept)
	cw := &capWriter{max: max(limit, 0), h: sha256.New()}
	_, err := io.Copy(cw, e.Body)
	a := store.Attachment{
		Name:        w.attachmentName(e.Header, mediaType),
		ContentType: mediaType,
		Size:        cw.n,
		SHA256:      hex.EncodeToString(cw.h.Sum(nil)),
	}
	switch {
	case err != nil:
		a.NotKeptWhy = "could not be decoded: " + err.Error()
	case cw.over && limit < w.o.MaxAttachmentBytes:
		a.NotKeptWhy = fmt.Sprintf("over the per-message attachment cap of %d bytes", w.o.MaxTotalBytes)
	case cw.over:
		a.NotKeptWhy = fmt.Sprintf("over the per-attachment cap of %d bytes", w.o.MaxAttachmentBytes)
	default:
		a.Kept, a.Data = true, cw.Bytes()
		w.kept += cw.n
	}
	w.atts = append(w.atts, a)
}

// attachmentName is the file name the sender gave (Content-Disposition
// filename, else Content-Type name; RFC 2231 and RFC 2047 decoded), reduced
// to its last path element, or a made-up one.
func (w *walker) attachmentName(h message.Header, mediaType string) string {
	_, dp, _ := h.ContentDisposition()
	_, tp, _ := h.ContentType()
	name := dp["filename"]
	if name == "" {
		name = tp["name"]
	}
	d := headerDecoder{fallback: w.charset, notes: w.notes}
	name = d.text(name)
	name = strings.ReplaceAll(name, `\`, "/")
	name = strings.TrimSpace(path.Base(name))
	if name == "." || name == "/" || name == "" {
		name = fmt.Sprintf("attachment-%d", len(w.atts)+1)
		if mediaType == "message/rfc822" {
			name += ".eml"
		}
	}
	return truncateUTF8(name, 255)
}

// capWriter hashes and counts everything written to it and keeps the bytes
// while they stay within max, in chunks that start small and double (so a
// small file costs little more than its size, and growing never copies);
// past max the chunks are released. A kept attachment costs its size twice
// at most (chunks, then Bytes), one over the cap at most max. ReadFrom
// reads straight into the chunks, so copying a body into it needs no
// buffer of its own.
type capWriter struct {
	max    int64
	n      int64
	h      hash.Hash
	chunks [][]byte
	over   bool
}

const (
	firstChunk = 4 << 10
	chunkSize  = 64 << 10 // the largest chunk
)

func (c *capWriter) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += int64(len(p))
	if !c.over && c.n > c.max {
		c.over, c.chunks = true, nil
	}
	if c.over {
		return len(p), nil
	}
	for rest := p; len(rest) > 0; {
		last := c.room()
		k := min(len(rest), cap(c.chunks[last])-len(c.chunks[last]))
		c.chunks[last] = append(c.chunks[last], rest[:k]...)
		rest = rest[k:]
	}
	return len(p), nil
}

// room returns the index of a chunk with free space, adding one (twice the
// size of the last, at most chunkSize and never much beyond max) if needed.
func (c *capWriter) room() int {
	last := len(c.chunks) - 1
	if last >= 0 && len(c.chunks[last]) < cap(c.chunks[last]) {
		return last
	}
	size := int64(firstChunk)
	if last >= 0 {
		size = min(2*int64(cap(c.chunks[last])), chunkSize)
	}
	size = max(min(size, c.max-c.n+1), 1) // one byte over max tells it is over
	c.chunks = append(c.chunks, make([]byte, 0, size))
	return last + 1
}

// ReadFrom reads r to its end into the chunks (io.Copy uses it).
func (c *capWriter) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	var scratch []byte // past max: only hashed and counted
	for {
		var buf []byte
		if c.over {
			if scratch == nil {
				scratch = make([]byte, 32<<10)
			}
			buf = scratch
		} else {
			last := c.room()
			ch := c.chunks[last]
			buf = ch[len(ch):cap(ch)]
		}
		k, err := r.Read(buf)
		if k > 0 {
			total += int64(k)
			c.account(buf[:k])
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// account takes in p, just read into the spare room of the last chunk (or
// the scratch buffer once over max).
func (c *capWriter) account(p []byte) {
	c.h.Write(p)
	c.n += int64(len(p))
	if c.over {
		return
	}
	if c.n > c.max {
		c.over, c.chunks = true, nil
		return
	}
	last := len(c.chunks) - 1
	c.chunks[last] = c.chunks[last][:len(c.chunks[last])+len(p)]
}

// Bytes is what was kept, in one slice (empty, not nil, for an empty file).
func (c *capWriter) Bytes() []byte {
	if len(c.chunks) == 1 {
		return c.chunks[0]
	}
	out := make([]byte, 0, c.n)
	for _, ch := range c.chunks {
		out = append(out, ch...)
	}
	return out
}
