package notify

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpClient is the client side of one SMTP session with the relay:
// greeting, EHLO, STARTTLS, AUTH PLAIN and mail transactions. It exists
// for one thing go-smtp's client does not do: PIPELINING (RFC 2920). With
// it, MAIL, RCPT and DATA go out in one write and their replies are read
// together, so a transaction costs two round trips instead of four. On a
// loaded machine each round trip waits for the relay's process to be
// scheduled, and the acknowledgement rate is bound by those waits: the
// notifier holds each connection's final dot until the previous message's
// outcome is recorded (see sender).
//
// Replies other than the expected ones are *smtp.SMTPError, as go-smtp's
// are, so isPermanent and replyText read them the same way. Addresses and
// the HELO name are checked for CR and LF: nothing a customer wrote can
// become an SMTP command. Not safe for concurrent use.
type smtpClient struct {
	conn    net.Conn
	text    *textproto.Conn
	ext     map[string]string // EHLO keywords (upper case) -> parameters
	timeout time.Duration     // per command, and for the reply to the final dot
	helo    string
	data    io.WriteCloser // the open DATA, between begin and finish
}

// newSMTPClient reads the relay's greeting on conn.
func newSMTPClient(conn net.Conn, timeout time.Duration) (*smtpClient, error) {
	c := &smtpClient{conn: conn, text: textproto.NewConn(conn), timeout: timeout}
	c.deadline()
	if _, _, err := c.read(220); err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return c, nil
}

// deadline gives the next command and its reply timeout to finish.
func (c *smtpClient) deadline() { c.conn.SetDeadline(time.Now().Add(c.timeout)) }

// read reads one reply, turning an unexpected code into *smtp.SMTPError.
func (c *smtpClient) read(want int) (int, string, error) {
	code, msg, err := c.text.ReadResponse(want)
	var pe *textproto.Error
	if errors.As(err, &pe) {
		err = replyError(pe)
	}
	return code, msg, err
}

// cmd sends one command and reads its reply.
func (c *smtpClient) cmd(want int, line string) (string, error) {
	c.deadline()
	if err := c.text.PrintfLine("%s", line); err != nil {
		return "", err
	}
	_, msg, err := c.read(want)
	return msg, err
}

// hello sends EHLO, or HELO when the relay does not know EHLO, and keeps
// the extensions offered.
func (c *smtpClient) hello(name string) error {
	if err := checkLine("HELO name", name); err != nil {
		return err
	}
	c.helo = name
	msg, err := c.cmd(250, "EHLO "+name)
	var se *smtp.SMTPError
	if errors.As(err, &se) && (se.Code == 500 || se.Code == 502) {
		c.ext = map[string]string{}
		_, err = c.cmd(250, "HELO "+name)
		return err
	}
	if err != nil {
		return err
	}
	c.ext = parseEHLO(msg)
	return nil
}

// parseEHLO reads the keywords of an EHLO reply; its first line is the
// relay's name.
func parseEHLO(msg string) map[string]string {
	ext := map[string]string{}
	lines := strings.Split(msg, "\n")
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
		if k != "" {
			ext[strings.ToUpper(k)] = v
		}
	}
	return ext
}

// extension reports whether the relay offers ext, and its parameters.
func (c *smtpClient) extension(ext string) (bool, string) {
	v, ok := c.ext[strings.ToUpper(ext)]
	return ok, v
}

// startTLS upgrades the session (RFC 3207) and says EHLO again on it; what
// the relay said before is forgotten (section 4.2).
func (c *smtpClient) startTLS(cfg *tls.Config) error {
	if ok, _ := c.extension("STARTTLS"); !ok {
		return errors.New("relay does not offer STARTTLS")
	}
	if _, err := c.cmd(220, "STARTTLS"); err != nil {
		return fmt.Errorf("starttls: %w", err)
	}
	tc := tls.Client(c.conn, cfg)
	c.deadline()
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("starttls: %w", err)
	}
	c.conn, c.text = tc, textproto.NewConn(tc)
	return c.hello(c.helo)
}

// auth logs in with AUTH PLAIN (RFC 4616) and its initial response.
func (c *smtpClient) auth(user, password string) error {
	_, mechs := c.extension("AUTH")
	if !slices.ContainsFunc(strings.Fields(mechs), func(m string) bool { return strings.EqualFold(m, sasl.Plain) }) {
		return errors.New("relay does not offer AUTH PLAIN")
	}
	mech, ir, err := sasl.NewPlainClient("", user, password).Start()
	if err != nil {
		return err
	}
	if _, err := c.cmd(235, "AUTH "+mech+" "+base64.StdEncoding.EncodeToString(ir)); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}

// begin starts a transaction for one recipient and opens its DATA: MAIL,
// RCPT and DATA in one write when the relay offers PIPELINING, else one
// at a time. The message is written with write and ended with finish;
// until finish the relay has accepted nothing. A MAIL that fails is
// returned as is (markStale looks at it), the others wrapped.
func (c *smtpClient) begin(from, to string, utf8 bool) error {
	if err := checkLine("sender", from); err != nil {
		return err
	}
	if err := checkLine("recipient", to); err != nil {
		return err
	}
	mail := "MAIL FROM:<" + from + ">"
	if ok, _ := c.extension("8BITMIME"); ok {
		mail += " BODY=8BITMIME"
	}
	if utf8 {
		mail += " SMTPUTF8"
	}
	cmds := []string{mail, "RCPT TO:<" + to + ">", "DATA"}
	if ok, _ := c.extension("PIPELINING"); !ok {
		return c.sequential(cmds)
	}
	c.deadline()
	for _, l := range cmds {
		if _, err := fmt.Fprintf(c.text.W, "%s\r\n", l); err != nil {
			return err
		}
	}
	if err := c.text.W.Flush(); err != nil {
		return err
	}
	return c.pipelinedReplies()
}

// sequential runs MAIL, RCPT and DATA one reply at a time.
func (c *smtpClient) sequential(cmds []string) error {
	for i, want := range []int{250, 250, 354} {
		if _, err := c.cmd(want, cmds[i]); err != nil {
			return err
		}
	}
	c.data = &dataWriter{w: &c.text.Writer}
	return nil
}

// pipelinedReplies reads the replies to MAIL, RCPT and DATA, all three
// even after a failure, so the session stays in step. A relay that answers
// DATA with 354 after refusing MAIL or RCPT breaks RFC 2920 (section 3.1):
// its session is closed rather than fed a message it would reject.
func (c *smtpClient) pipelinedReplies() error {
	var first error
	for _, want := range []int{250, 250} {
		if _, _, err := c.read(want); err != nil && first == nil {
			first = err
		}
	}
	code, _, err := c.read(354)
	switch {
	case first != nil && code == 354:
		c.conn.Close()
		return fmt.Errorf("%w (and the relay went on to DATA)", first)
	case first != nil:
		return first
	case err != nil:
		return err
	}
	c.data = &dataWriter{w: &c.text.Writer}
	return nil
}

// write adds to the open DATA, dot-stuffed; nothing is flushed that would
// end it.
func (c *smtpClient) write(p []byte) error {
	if c.data == nil {
		return errors.New("smtp: no open DATA")
	}
	c.deadline()
	_, err := c.data.Write(p)
	return err
}

// finish sends the final dot and reads the relay's verdict: 250 means
// accepted. A failure while waiting for it may leave the message queued.
func (c *smtpClient) finish() error {
	if c.data == nil {
		return errors.New("smtp: no open DATA")
	}
	c.deadline()
	err := c.data.Close()
	c.data = nil
	if err != nil {
		return err
	}
	_, _, err = c.read(250)
	return err
}

// dataWriter is an open DATA: it dot-stuffs what is written (RFC 5321
// section 4.5.2), and Close sends the final dot. Whole lines in canonical
// form (CRLF line ends only, as Compose writes them) are stuffed in bulk,
// a line at a time; anything else goes through textproto's DotWriter,
// byte by byte, which also turns bare LFs into CRLF. Bulk writes end with
// a whole line, so the DotWriter, when it takes over, starts at a line's
// beginning, as it expects.
type dataWriter struct {
	w    *textproto.Writer
	bulk bool           // lines were written in bulk
	dot  io.WriteCloser // textproto's, once a write was not canonical
}

func (d *dataWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if d.dot == nil && canonicalLines(p) {
		d.bulk = true
		return len(p), stuffLines(d.w.W, p)
	}
	if d.dot == nil {
		d.dot = d.w.DotWriter()
	}
	return d.dot.Write(p)
}

func (d *dataWriter) Close() error {
	if d.dot == nil && !d.bulk {
		d.dot = d.w.DotWriter() // nothing written: its empty message
	}
	if d.dot != nil {
		return d.dot.Close()
	}
	if _, err := d.w.W.WriteString(".\r\n"); err != nil {
		return err
	}
	return d.w.W.Flush()
}

// canonicalLines reports whether p is whole lines that end in CRLF, with
// no CR or LF elsewhere.
func canonicalLines(p []byte) bool {
	crlf := bytes.Count(p, []byte("\r\n"))
	return bytes.HasSuffix(p, []byte("\r\n")) &&
		bytes.Count(p, []byte("\r")) == crlf && bytes.Count(p, []byte("\n")) == crlf
}

// stuffLines writes canonical lines to w, a dot before each that starts
// with one.
func stuffLines(w *bufio.Writer, p []byte) error {
	for len(p) > 0 {
		end := bytes.IndexByte(p, '\n') + 1
		if p[0] == '.' {
			w.WriteByte('.')
		}
		if _, err := w.Write(p[:end]); err != nil { // bufio's errors stick: this sees the WriteByte's too
			return err
		}
		p = p[end:]
	}
	return nil
}

// reset abandons the transaction in progress (RSET).
func (c *smtpClient) reset() error {
	_, err := c.cmd(250, "RSET")
	return err
}

// quit ends the session politely and closes the connection.
func (c *smtpClient) quit() error {
	_, err := c.cmd(221, "QUIT")
	return errors.Join(err, c.conn.Close())
}

func (c *smtpClient) close() error { return c.conn.Close() }

// replyError is a relay's reply as go-smtp reports it: the code, the
// enhanced status code (RFC 3463) when the text starts with one, the text.
func replyError(pe *textproto.Error) *smtp.SMTPError {
	se := &smtp.SMTPError{Code: pe.Code, Message: pe.Msg}
	first, rest, ok := strings.Cut(pe.Msg, " ")
	if !ok {
		return se
	}
	if code, ok := parseEnhanced(first); ok {
		se.EnhancedCode = code
		// RFC 2034: the code starts every line; keep it once.
		se.Message = strings.ReplaceAll(rest, "\n"+first+" ", "\n")
	}
	return se
}

func parseEnhanced(s string) (smtp.EnhancedCode, bool) {
	var code smtp.EnhancedCode
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return code, false
	}
	for i, p := range parts {
		n := 0
		if p == "" || len(p) > 3 {
			return code, false
		}
		for _, r := range p {
			if r < '0' || r > '9' {
				return code, false
			}
			n = n*10 + int(r-'0')
		}
		code[i] = n
	}
	return code, true
}

// checkLine refuses a value that would end or add an SMTP command line.
func checkLine(what, s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return permanentf("%s %q contains a line break", what, s)
	}
	return nil
}
