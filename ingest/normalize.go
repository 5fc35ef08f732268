package ingest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // koi8-r, windows-1251/1257, iso-8859-13, ... for go-message
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"complaintbot/store"
)

// WarningHeader is the key in store.Message.Headers under which Normalize
// notes what it had to guess (unknown charset, broken address, truncated
// text), "; "-separated. Such a message is still recorded: a best-effort text
// is worth more to the customer than a quarantine.
const WarningHeader = "X-Complaintbot-Warning"

// NormalizeOptions are the limits of Normalize; zero fields mean defaults.
type NormalizeOptions struct {
	MaxAttachmentBytes int64            // per attachment kept; default 10 MiB
	MaxTotalBytes      int64            // all attachments of one message kept; default 25 MiB
	MaxTextBytes       int64            // decoded text kept per message; default 1 MiB
	MaxParts           int              // MIME parts looked at; default 2000
	MaxHeaderBytes     int64            // header block; default 1 MiB
	Now                func() time.Time // default time.Now
}

func (o NormalizeOptions) withDefaults() NormalizeOptions {
	if o.MaxAttachmentBytes <= 0 {
		o.MaxAttachmentBytes = 10 << 20
	}
	if o.MaxTotalBytes <= 0 {
		o.MaxTotalBytes = 25 << 20
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = 1 << 20
	}
	if o.MaxParts <= 0 {
		o.MaxParts = 2000
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 1 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Normalize turns raw RFC 5322 bytes into an inbound email store.Message.
// It never fails and never panics: a message whose header block cannot be
// read, or that names no sender, becomes a quarantined message carrying Raw
// and the Reason; a panic inside is recovered into a quarantine with reason
// "panic: …". Automatic mail (see Noise) is Status ignored with the reason.
// Everything else is Status recorded, with what had to be guessed noted
// under Headers[WarningHeader].
func Normalize(raw []byte, o NormalizeOptions) *store.Message {
	return normalizeWith(raw, o, normalize)
}

// normalizeWith is Normalize with the parsing step passed in, so that tests
// can prove a panic in it is contained.
func normalizeWith(raw []byte, o NormalizeOptions, parse func(*store.Message, []byte, NormalizeOptions)) (m *store.Message) {
	o = o.withDefaults()
	sum := sha256.Sum256(raw)
	m = &store.Message{
		Direction:   store.DirectionIn,
		Channel:     store.ChannelEmail,
		Size:        int64(len(raw)),
		ContentHash: hex.EncodeToString(sum[:]),
		ReceivedAt:  o.Now(),
	}
	defer func() {
		if r := recover(); r != nil {
			quarantine(m, raw, fmt.Sprintf("panic: %v", r))
		}
	}()
	parse(m, raw, o)
	return m
}

func quarantine(m *store.Message, raw []byte, reason string) {
	m.Status = store.StatusQuarantined
	m.Reason = reason
	m.Raw = raw
	m.Attachments = nil
}

func normalize(m *store.Message, raw []byte, o NormalizeOptions) {
	var notes notes
	br := readers.Get().(*bufio.Reader)
	defer readers.Put(br) // the entity is read to the end (or dropped) before normalize returns
	e, err := readMessage(br, raw, o.MaxHeaderBytes, &notes)
	if e == nil {
		quarantine(m, raw, "unparseable header: "+err.Error())
		return
	}
	h := mail.Header{Header: e.Header}
	w := walker{o: o, notes: &notes}
	body := w.top(e, err)
	m.HTMLOnly = body.fromHTML
	m.Text = TrimReply(body.text)
	if m.Text != body.text {
		m.FullText = body.text // kept only when it differs: see store.Message.Whole
	}
	m.Attachments = w.atts

	d := headerDecoder{fallback: w.charset, notes: &notes}
	fillHeaders(m, h, d)
	if len(notes) > 0 {
		m.Headers[WarningHeader] = notes.String()
	}
	classify(m, raw, h)
}

// classify sets Status and Reason: noise is ignored, a message with no
// sender cannot be answered or attributed and is quarantined.
func classify(m *store.Message, raw []byte, h mail.Header) {
	if reason := Noise(h); reason != "" {
		m.Status, m.Reason = store.StatusIgnored, reason
		return
	}
	if m.From.Email == "" {
		quarantine(m, raw, "no sender address")
		return
	}
	m.Status = store.StatusRecorded
}

// readMessage parses the header block. A block with broken lines (no colon,
// bad key bytes, an mbox "From " line) is read again without them, noting
// how many were dropped; only when that fails too is there no message.
// The returned error may accompany an entity: an unknown charset or
// transfer encoding of the top-level body.
func readMessage(br *bufio.Reader, raw []byte, maxHeader int64, n *notes) (*message.Entity, error) {
	opts := &message.ReadOptions{MaxHeaderBytes: maxHeader}
	br.Reset(bytes.NewReader(raw))
	e, err := readEntity(br, int64(len(raw)), opts)
	if e != nil || !isHeaderError(err) {
		return e, err
	}
	fixed, dropped := repairHeader(raw)
	if dropped == 0 {
		return nil, err
	}
	e, err2 := message.ReadWithOptions(fixed, opts)
	if e == nil {
		return nil, fmt.Errorf("%w (after repair: %v)", err, err2)
	}
	n.add(fmt.Sprintf("dropped %d malformed header line(s)", dropped))
	return e, err2
}

// readers are the buffered readers messages are parsed through, reused.
var readers = sync.Pool{New: func() any { return bufio.NewReader(nil) }}

// readEntity is message.ReadWithOptions without its own bufio.Reader (4 KB
// per mail, and every byte copied twice): a mail no larger than the header
// limit cannot exceed it, so its header is read straight from br and
// message.New decodes the rest as ReadWithOptions would. A larger mail goes
// through ReadWithOptions, which enforces the limit.
func readEntity(br *bufio.Reader, size int64, opts *message.ReadOptions) (*message.Entity, error) {
	if opts.MaxHeaderBytes > 0 && size > opts.MaxHeaderBytes {
		return message.ReadWithOptions(br, opts)
	}
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return nil, err
	}
	return message.New(message.Header{Header: h}, br)
}

func isHeaderError(err error) bool {
	return err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)
}

// notes collects the warnings of one message, each once.
type notes []string

const maxNotes = 20

func (n *notes) add(s string) {
	for _, have := range *n {
		if have == s {
			return
		}
	}
	if len(*n) < maxNotes {
		*n = append(*n, s)
	}
}

func (n notes) String() string { return strings.Join(n, "; ") }
