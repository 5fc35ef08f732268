package mailstack

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

const dialTimeout = 5 * time.Second

// Send submits raw through Postfix (SMTP, no TLS, no auth: loopback is in mynetworks).
// Postfix queues it and delivers it to Dovecot over LMTP a few milliseconds later.
func (s *Stack) Send(from string, to []string, raw []byte) error {
	return s.transfer(s.SMTPAddr, smtp.NewClient, from, to, raw)
}

// Deliver puts raw straight into the mailboxes of to over Dovecot's LMTP, bypassing
// Postfix: the fast way to fill a mailbox with a backlog.
func (s *Stack) Deliver(from string, to []string, raw []byte) error {
	return s.transfer(s.LMTPAddr, smtp.NewClientLMTP, from, to, raw)
}

func (s *Stack) transfer(addr string, newClient func(net.Conn) *smtp.Client, from string, to []string, raw []byte) error {
	conn, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return fmt.Errorf("mailstack: %w", err)
	}
	c := newClient(conn)
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("mailstack: hello %s: %w", addr, err)
	}
	if err := c.SendMail(from, to, bytes.NewReader(raw)); err != nil {
		return fmt.Errorf("mailstack: send to %s via %s: %w", to, addr, err)
	}
	return c.Quit()
}

// Login opens an IMAP session for the user (o may be nil) and closes it at test cleanup.
func (s *Stack) Login(t testing.TB, email, password string, o *imapclient.Options) *imapclient.Client {
	t.Helper()
	c, err := s.dial(email, password, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (s *Stack) dial(email, password string, o *imapclient.Options) (*imapclient.Client, error) {
	if o == nil {
		o = &imapclient.Options{}
	}
	if o.Dialer == nil {
		o.Dialer = &net.Dialer{Timeout: dialTimeout}
	}
	c, err := imapclient.DialInsecure(s.IMAPAddr, o)
	if err != nil {
		return nil, fmt.Errorf("mailstack: dial IMAP: %w", err)
	}
	if err := c.Login(email, password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("mailstack: IMAP login %s: %w", email, err)
	}
	return c, nil
}

// examine logs in and opens the user's INBOX read-only, for a helper's own short session.
func (s *Stack) examine(t testing.TB, email, password string) *imapclient.Client {
	t.Helper()
	c, err := s.dial(email, password, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		c.Close()
		t.Fatalf("mailstack: EXAMINE INBOX: %v", err)
	}
	return c
}

// Mail is one message of a mailbox.
type Mail struct {
	UID imap.UID
	Raw []byte
}

// Messages returns every message in the user's INBOX, oldest first.
func (s *Stack) Messages(t testing.TB, email, password string) []Mail {
	t.Helper()
	c := s.examine(t, email, password)
	defer c.Close()
	return fetchAfter(t, c, 0)
}

// WaitForMail waits until the user's INBOX holds a message for which match returns true
// (match nil: any message) and returns it; it fails the test after timeout.
func (s *Stack) WaitForMail(t testing.TB, email, password string, timeout time.Duration, match func(raw []byte) bool) Mail {
	t.Helper()
	mails := s.WaitForMails(t, email, password, timeout, 1, match)
	return mails[0]
}

// WaitForMails waits until at least n messages of the user's INBOX satisfy match (nil:
// all do) and returns those, oldest first; it fails the test after timeout.
func (s *Stack) WaitForMails(t testing.TB, email, password string, timeout time.Duration, n int, match func(raw []byte) bool) []Mail {
	t.Helper()
	c := s.examine(t, email, password)
	defer c.Close()
	deadline := time.Now().Add(timeout)
	var found []Mail
	var last imap.UID
	for {
		for _, m := range fetchAfter(t, c, last) {
			last = m.UID
			if match == nil || match(m.Raw) {
				found = append(found, m)
			}
		}
		if len(found) >= n {
			return found
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailstack: %s has %d of %d wanted mails after %v", email, len(found), n, timeout)
		}
		time.Sleep(50 * time.Millisecond)
		if err := c.Noop().Wait(); err != nil { // lets Dovecot report new mail
			t.Fatalf("mailstack: IMAP NOOP: %v", err)
		}
	}
}

// fetchAfter fetches the messages whose UID is above last, without setting \Seen.
func fetchAfter(t testing.TB, c *imapclient.Client, last imap.UID) []Mail {
	t.Helper()
	body := &imap.FetchItemBodySection{Peek: true}
	uids := imap.UIDSet{imap.UIDRange{Start: last + 1, Stop: 0}} // last+1:*
	bufs, err := c.Fetch(uids, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		t.Fatalf("mailstack: IMAP FETCH: %v", err)
	}
	var mails []Mail
	for _, b := range bufs {
		// "n:*" also names the highest message when it is below n (RFC 9051 6.4.8).
		if b.UID > last {
			mails = append(mails, Mail{UID: b.UID, Raw: b.FindBodySection(body)})
		}
	}
	return mails
}
