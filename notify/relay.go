package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTPOptions say how to reach the relay that sends our mail.
type SMTPOptions struct {
	Addr string // host:port
	// TLS is "tls" (implicit, port 465), "starttls" or "none"; empty means
	// "starttls".
	TLS       string
	TLSConfig *tls.Config // nil: verify the relay's certificate for its host name
	Username  string      // AUTH PLAIN when set
	Password  string
	HeloName  string        // default: the machine's host name
	Timeout   time.Duration // per dial and per command; default 30s
}

// dialError wraps a failure to connect, greet or authenticate. It is always
// temporary: a relay that is down or refuses our password says nothing
// about the message, even when it answers with a 5xx code.
type dialError struct{ err error }

func (e *dialError) Error() string { return "smtp relay: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// errStale marks a reused connection that turned out to be dead before a
// transaction started (the relay timed it out while idle).
var errStale = errors.New("smtp connection closed by the relay")

// relayConn is one SMTP connection, kept open from message to message so
// the relay sees one session per sender, not one per acknowledgement.
// It is used by one goroutine at a time.
type relayConn struct {
	o        SMTPOptions
	c        *smtpClient
	lastUsed time.Time
	// track, when set, is told when a connection starts being opened
	// (true) and when it is gone or could not be opened (false).
	track func(open bool)
	// timed, when set, is told how long each step of a transaction took
	// on the wire (stepEnvelope, stepDot), failed steps included.
	timed func(step string, d time.Duration)
}

func (r *relayConn) took(step string, since time.Time) {
	if r.timed != nil {
		r.timed(step, time.Since(since))
	}
}

func (r *relayConn) tracked(open bool) {
	if r.track != nil {
		r.track(open)
	}
}

// envelope is the SMTP envelope of one message (RFC 5321 section 2.3.1).
type envelope struct {
	from, to string
}

// send hands msg to the relay: begin, then finish.
func (r *relayConn) send(ctx context.Context, env envelope, msg []byte) error {
	if err := r.begin(ctx, env, msg); err != nil {
		return err
	}
	return r.finish()
}

// begin runs MAIL, RCPT and DATA and writes msg, all but the final dot:
// the relay has accepted nothing when it returns. It dials when there is
// no open connection; when a reused connection proves dead before MAIL was
// accepted it dials once more (nothing can be duplicated at that point).
func (r *relayConn) begin(ctx context.Context, env envelope, msg []byte) error {
	reused := r.c != nil
	if !reused {
		if err := r.dial(ctx); err != nil {
			return err
		}
	}
	err := r.open(env, msg)
	if err != nil && reused && errors.Is(err, errStale) {
		r.discard()
		if err := r.dial(ctx); err != nil {
			return err
		}
		err = r.open(env, msg)
	}
	if err != nil {
		r.recover(err)
	}
	return err
}

// finish sends the final dot of a message begun with begin. The message
// is accepted when the reply is 250; an error while waiting for that
// reply may leave it queued at the relay all the same.
func (r *relayConn) finish() error {
	start := time.Now()
	err := r.c.finish()
	r.took(stepDot, start)
	if err != nil {
		r.recover(err)
		return err
	}
	r.lastUsed = time.Now()
	return nil
}

// abandon drops a message begun with begin without sending its final dot,
// so the relay accepts nothing: closing the connection mid-DATA makes the
// relay discard the transaction.
func (r *relayConn) abandon() { r.discard() }

// open runs MAIL, RCPT and DATA (pipelined when the relay offers it) and
// writes msg; every error here leaves nothing queued at the relay.
func (r *relayConn) open(env envelope, msg []byte) error {
	utf8 := !isASCII(env.from) || !isASCII(env.to)
	if ok, _ := r.c.extension("SMTPUTF8"); utf8 && !ok {
		return permanentf("relay does not support SMTPUTF8, needed for %q", env.to)
	}
	start := time.Now()
	defer r.took(stepEnvelope, start)
	if err := r.c.begin(env.from, env.to, utf8); err != nil {
		return markStale(err)
	}
	return r.c.write(msg)
}

// markStale tags a failure before the message that means the connection
// is gone: a network error, or 421 (RFC 5321 section 3.8: the server is
// closing it).
func markStale(err error) error {
	var se *smtp.SMTPError
	var pe *permanentError
	if (errors.As(err, &se) && se.Code != 421) || errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("%w: %w", errStale, err)
}

// recover leaves the connection ready for the next message after a failed
// one: RSET after a reply the server chose to give, otherwise close it.
func (r *relayConn) recover(err error) {
	var pe *permanentError
	if r.c == nil || errors.As(err, &pe) {
		return // nothing was sent on the connection
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code != 421 && r.c.reset() == nil {
		return
	}
	r.discard()
}

// dial connects, greets, secures and authenticates within Timeout; ctx
// ending aborts it.
func (r *relayConn) dial(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	r.tracked(true)
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", r.o.Addr)
	if err != nil {
		r.tracked(false)
		return &dialError{err}
	}
	// go-smtp's greeting and STARTTLS take no context; closing the socket
	// is what interrupts them.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	c, err := r.handshake(nc)
	if !stop() {
		err = errors.Join(ctx.Err(), err)
	}
	if err != nil {
		nc.Close()
		r.tracked(false)
		return &dialError{err}
	}
	r.c = c
	r.lastUsed = time.Now()
	return nil
}

func (r *relayConn) handshake(nc net.Conn) (*smtpClient, error) {
	if r.o.TLS == "tls" {
		tc := tls.Client(nc, r.tlsConfig())
		if err := tc.Handshake(); err != nil {
			return nil, err
		}
		nc = tc
	}
	c, err := newSMTPClient(nc, r.o.Timeout)
	if err != nil {
		return nil, err
	}
	if err := c.hello(r.o.HeloName); err != nil {
		return nil, err
	}
	if r.o.TLS != "tls" && r.o.TLS != "none" {
		if err := c.startTLS(r.tlsConfig()); err != nil {
			return nil, err
		}
	}
	if r.o.Username == "" {
		return c, nil
	}
	if err := c.auth(r.o.Username, r.o.Password); err != nil {
		return nil, err
	}
	return c, nil
}

func (r *relayConn) tlsConfig() *tls.Config {
	cfg := &tls.Config{}
	if r.o.TLSConfig != nil {
		cfg = r.o.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(r.o.Addr)
	}
	return cfg
}

// close ends the session politely (QUIT), as an idle connection should be.
func (r *relayConn) close() {
	if r.c == nil {
		return
	}
	if r.c.quit() != nil {
		r.c.close()
	}
	r.c = nil
	r.tracked(false)
}

// discard drops a connection that cannot be trusted any more.
func (r *relayConn) discard() {
	if r.c != nil {
		r.c.close()
		r.c = nil
		r.tracked(false)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
