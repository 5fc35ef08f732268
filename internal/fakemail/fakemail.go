// Package fakemail runs real IMAP and SMTP servers in-process on loopback:
// go-imap v2's imapmemserver and a go-smtp server that records what it is
// given. The demo and the fast tests use them; nothing here is a stub of the
// protocol, only the storage behind it is in memory.
package fakemail

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// IMAP is an in-process IMAP server with IDLE.
type IMAP struct {
	Addr  string
	srv   *imapserver.Server
	mem   *imapmemserver.Server
	mu    sync.Mutex
	users map[string]*imapmemserver.User
}

// StartIMAP listens on 127.0.0.1 with a random port.
func StartIMAP() (*IMAP, error) {
	s := &IMAP{mem: imapmemserver.New(), users: map[string]*imapmemserver.User{}}
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return s.mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakemail imap: %w", err)
	}
	s.Addr = ln.Addr().String()
	go s.srv.Serve(ln) //nolint:errcheck // ends with Close
	return s, nil
}

// AddUser creates a user with an INBOX.
func (s *IMAP) AddUser(name, password string) error {
	u := imapmemserver.NewUser(name, password)
	if err := u.Create("INBOX", nil); err != nil {
		return err
	}
	s.mem.AddUser(u)
	s.mu.Lock()
	s.users[name] = u
	s.mu.Unlock()
	return nil
}

// Append delivers raw mail into a user's mailbox.
func (s *IMAP) Append(user, mailbox string, raw []byte) error {
	s.mu.Lock()
	u := s.users[user]
	s.mu.Unlock()
	if u == nil {
		return fmt.Errorf("fakemail: no user %q", user)
	}
	_, err := u.Append(mailbox, literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{Time: time.Now()})
	return err
}

// Close stops the server.
func (s *IMAP) Close() error { return s.srv.Close() }

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

// Received is one mail the SMTP server accepted.
type Received struct {
	From string
	To   []string
	Data []byte
}

// SMTP is an in-process SMTP server that records every accepted mail.
type SMTP struct {
	Addr string
	srv  *smtp.Server
	mu   sync.Mutex
	got  []Received
	cond chan struct{} // closed and replaced on every new mail
	// Reject, when set, is asked for each RCPT; a non-nil error is returned
	// to the client (use *smtp.SMTPError for 4xx/5xx codes).
	Reject func(rcpt string) error
	// auth is the one user/password accepted by AUTH PLAIN; nil means AUTH
	// is not offered and mail is accepted without it.
	auth *credentials
	// authFailures counts rejected AUTH attempts.
	authFailures int
}

type credentials struct{ user, password string }

// RequireAuth makes the server offer AUTH PLAIN, accept only user/password
// and refuse MAIL FROM before a successful AUTH (530). Calling it again
// changes the accepted password (the next login with the old one fails).
func (s *SMTP) RequireAuth(user, password string) {
	s.mu.Lock()
	s.auth = &credentials{user: user, password: password}
	s.mu.Unlock()
}

// AuthFailures is how many AUTH attempts were refused so far.
func (s *SMTP) AuthFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authFailures
}

func (s *SMTP) authRequired() *credentials {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auth
}

// checkAuth compares in constant time, as a real server would.
func (s *SMTP) checkAuth(user, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auth != nil && subtle.ConstantTimeCompare([]byte(user), []byte(s.auth.user)) == 1 &&
		subtle.ConstantTimeCompare([]byte(password), []byte(s.auth.password)) == 1 {
		return nil
	}
	s.authFailures++
	return errAuthFailed
}

var errAuthFailed = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

// StartSMTP listens on 127.0.0.1 with a random port.
func StartSMTP() (*SMTP, error) {
	s := &SMTP{cond: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = 64 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakemail smtp: %w", err)
	}
	s.Addr = ln.Addr().String()
	go s.srv.Serve(ln) //nolint:errcheck // ends with Close
	return s, nil
}

// Close stops the server.
func (s *SMTP) Close() error { return s.srv.Close() }

// Messages returns a copy of what was received so far.
func (s *SMTP) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.got...)
}

// Wait blocks until at least n mails were received or ctx ends.
func (s *SMTP) Wait(ctx context.Context, n int) ([]Received, error) {
	for {
		s.mu.Lock()
		got, ch := len(s.got), s.cond
		s.mu.Unlock()
		if got >= n {
			return s.Messages(), nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return s.Messages(), fmt.Errorf("fakemail: %d of %d mails: %w", got, n, ctx.Err())
		}
	}
}

func (s *SMTP) record(r Received) {
	s.mu.Lock()
	s.got = append(s.got, r)
	close(s.cond)
	s.cond = make(chan struct{})
	s.mu.Unlock()
}

type session struct {
	s      *SMTP
	from   string
	to     []string
	authed bool
}

func (c *session) Mail(from string, _ *smtp.MailOptions) error {
	if c.s.authRequired() != nil && !c.authed {
		return errAuthRequired
	}
	c.from = from
	return nil
}

func (c *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if c.s.Reject != nil {
		if err := c.s.Reject(to); err != nil {
			return err
		}
	}
	c.to = append(c.to, to)
	return nil
}

func (c *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(c.to) == 0 {
		return errors.New("no recipients")
	}
	c.s.record(Received{From: c.from, To: c.to, Data: b})
	return nil
}

func (c *session) Reset()        { c.from, c.to = "", nil }
func (c *session) Logout() error { return nil }

// AuthMechanisms offers PLAIN once RequireAuth was called.
func (c *session) AuthMechanisms() []string {
	if c.s.authRequired() == nil {
		return nil
	}
	return []string{sasl.Plain}
}

// Auth checks PLAIN credentials against RequireAuth's.
func (c *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || c.s.authRequired() == nil {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, user, password string) error {
		if err := c.s.checkAuth(user, password); err != nil {
			return err
		}
		c.authed = true
		return nil
	}), nil
}
