package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"golang.org/x/sync/errgroup"
)

func dialIMAP(addr, user, password string, o *imapclient.Options) (*imapclient.Client, error) {
	if o == nil {
		o = &imapclient.Options{}
	}
	o.Dialer = &net.Dialer{Timeout: 5 * time.Second}
	c, err := imapclient.DialInsecure(addr, o)
	if err != nil {
		return nil, fmt.Errorf("imap dial %s: %w", addr, err)
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imap login %s: %w", user, err)
	}
	return c, nil
}

// countMessages asks for the number of messages in a mailbox with STATUS,
// which does not select it (and so does not disturb the daemon's session).
func countMessages(c *imapclient.Client, mailbox string) (uint32, error) {
	d, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0, fmt.Errorf("imap STATUS %s: %w", mailbox, err)
	}
	return *d.NumMessages, nil
}

// sighting is when an acknowledgement was first seen in a customer's mailbox.
type sighting struct {
	At       time.Time
	Seq      uint32 // sequence number in the customer's INBOX
	Customer int
}

// inboxWatch is one customer's INBOX, opened read-only (EXAMINE) and asked
// for news with NOOP: Dovecot answers a NOOP from its current state of the
// maildir, without the fixed 0.5 s delay of its IDLE notifications, so a
// poll every `every` sees a new mail at most that long after it lands.
type inboxWatch struct {
	cust        int
	c           *imapclient.Client
	known       uint32 // messages already read by scan
	outstanding atomic.Int64
	kick        chan struct{}
}

func openInboxWatch(addr string, cust int, c customer) (*inboxWatch, error) {
	cl, err := dialIMAP(addr, c.Email, c.Password, nil)
	if err != nil {
		return nil, err
	}
	if _, err := cl.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		cl.Close()
		return nil, fmt.Errorf("imap EXAMINE INBOX of %s: %w", c.Email, err)
	}
	return &inboxWatch{cust: cust, c: cl, kick: make(chan struct{}, 1)}, nil
}

// count asks Dovecot for news and returns the number of messages now.
func (w *inboxWatch) count() (uint32, error) {
	if err := w.c.Noop().Wait(); err != nil {
		return 0, fmt.Errorf("imap NOOP: %w", err)
	}
	return w.c.Mailbox().NumMessages, nil
}

// expect tells the watcher that one more acknowledgement is on its way.
func (w *inboxWatch) expect() {
	w.outstanding.Add(1)
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// watch polls while acknowledgements are outstanding and reports each new
// message (its In-Reply-To) with the time of the poll that first saw it;
// seen says whether the message was one that expect announced.
func (w *inboxWatch) watch(ctx context.Context, every time.Duration, seen func(irt string, s sighting) bool) error {
	for {
		if w.outstanding.Load() <= 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-w.kick:
				continue
			}
		}
		n, err := w.count()
		if err != nil {
			return err
		}
		at := time.Now()
		if n > w.known {
			irts, err := w.inReplyTo(w.known+1, n)
			if err != nil {
				return err
			}
			for seq, irt := range irts {
				if seen(irt, sighting{At: at, Seq: seq, Customer: w.cust}) {
					w.outstanding.Add(-1)
				}
			}
			w.known = n
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// inReplyTo returns the In-Reply-To message id (without <>) of messages
// from..to by sequence number.
func (w *inboxWatch) inReplyTo(from, to uint32) (map[uint32]string, error) {
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"In-Reply-To"}, Peek: true}
	var set imap.SeqSet
	set.AddRange(from, to)
	msgs, err := w.c.Fetch(set, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return nil, fmt.Errorf("imap FETCH: %w", err)
	}
	out := make(map[uint32]string, len(msgs))
	for _, m := range msgs {
		out[m.SeqNum] = headerMessageID(m.FindBodySection(section))
	}
	return out, nil
}

// headerMessageID reads the first msg-id of the one header field in hdr.
func headerMessageID(hdr []byte) string {
	_, v, ok := bytes.Cut(hdr, []byte(":"))
	if !ok {
		return ""
	}
	s := strings.Join(strings.Fields(string(v)), "") // unfolds
	if i := strings.IndexByte(s, '<'); i >= 0 {
		s = s[i+1:]
		if j := strings.IndexByte(s, '>'); j >= 0 {
			return s[:j]
		}
	}
	return s
}

// watchers are the customers' inboxes.
type watchers []*inboxWatch

func openWatchers(ctx context.Context, addr string, custs []customer) (watchers, error) {
	ws := make(watchers, len(custs))
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, c := range custs {
		g.Go(func() error {
			w, err := openInboxWatch(addr, i, c)
			ws[i] = w
			return err
		})
	}
	err := g.Wait()
	if err != nil {
		ws.close()
		return nil, err
	}
	return ws, nil
}

func (ws watchers) close() {
	for _, w := range ws {
		if w != nil {
			w.c.Close()
		}
	}
}

// total is the number of messages in all the inboxes.
func (ws watchers) total() (int, error) {
	sum := 0
	for _, w := range ws {
		n, err := w.count()
		if err != nil {
			return 0, err
		}
		sum += int(n)
	}
	return sum, nil
}

// markKnown makes the messages there now old news for watch.
func (ws watchers) markKnown() error {
	for _, w := range ws {
		n, err := w.count()
		if err != nil {
			return err
		}
		w.known = n
	}
	return nil
}

// idleWatch is a customer's INBOX in IDLE, as a mail client keeps it: it
// records when Dovecot announced each message number.
type idleWatch struct {
	c    *imapclient.Client
	idle *imapclient.IdleCommand

	mu    sync.Mutex
	armed bool
	last  uint32
	at    map[uint32]time.Time
}

func openIdleWatch(addr string, c customer) (*idleWatch, error) {
	w := &idleWatch{at: map[uint32]time.Time{}}
	cl, err := dialIMAP(addr, c.Email, c.Password, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					w.announced(*d.NumMessages, time.Now())
				}
			},
		},
	})
	if err != nil {
		return nil, err
	}
	w.c = cl
	sel, err := cl.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("imap EXAMINE INBOX of %s: %w", c.Email, err)
	}
	w.mu.Lock()
	w.armed, w.last = true, sel.NumMessages
	w.mu.Unlock()
	if w.idle, err = cl.Idle(); err != nil {
		cl.Close()
		return nil, fmt.Errorf("imap IDLE: %w", err)
	}
	return w, nil
}

func (w *idleWatch) announced(n uint32, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.armed {
		return
	}
	for ; w.last < n; w.last++ {
		w.at[w.last+1] = at
	}
}

// seenAt is when message number seq was announced.
func (w *idleWatch) seenAt(seq uint32) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.at[seq]
	return t, ok
}

func (w *idleWatch) close() {
	if w.idle != nil {
		w.idle.Close()
		w.idle.Wait()
	}
	w.c.Close()
}
