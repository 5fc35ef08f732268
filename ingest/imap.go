package ingest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"complaintbot/store"
)

// TLS modes of IMAPOptions.TLS.
const (
	TLSImplicit = "tls"      // TLS from the first byte (port 993)
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (RFC 9051 §6.2.1)
	TLSNone     = "none"     // no encryption: loopback and tests only
)

// What IMAPOptions.After does with a message once it is committed.
const (
	AfterLeave = "leave" // touch nothing (we fetch with BODY.PEEK, so \Seen is not set)
	AfterSeen  = "seen"  // add \Seen
	AfterMove  = "move"  // move to IMAPOptions.MoveTo
)

// IMAPOptions configure an IMAPSource. Zero fields mean the defaults named.
type IMAPOptions struct {
	// Name is the source name: the cursor key and store.Message.Source.
	// Default "imap:<username>@<addr>/<mailbox>".
	Name      string
	Addr      string      // "host:port", required
	TLS       string      // TLSImplicit (default), TLSStartTLS or TLSNone
	TLSConfig *tls.Config // default: system roots, ServerName from Addr
	Username  string      // required
	Password  string
	Mailbox   string // default "INBOX"
	After     string // AfterLeave (default), AfterSeen or AfterMove
	MoveTo    string // required with AfterMove; created when missing

	// PollInterval is how often the mailbox is checked without IDLE, and
	// the safety re-check with IDLE (a missed EXISTS costs at most this).
	// Default 60s.
	PollInterval time.Duration
	// DisableIdle forces polling. By default IDLE (RFC 2177) is used when
	// the server advertises it.
	DisableIdle bool
	// IdleRestart re-issues IDLE this often, since servers may drop an IDLE
	// after 30 minutes (RFC 2177). Default 25 min.
	IdleRestart time.Duration

	BatchSize     int   // messages per UID FETCH and per Deliver; default 500
	MaxBatchBytes int64 // RFC822.SIZE sum per batch (a batch has at least one message); default 16 MiB
	// MaxReadBytes is the most of one mail that is read: a larger one (by
	// its RFC822.SIZE) is fetched only up to this many bytes (its header and
	// text come first), recorded with a warning, and its attachments past
	// the cut are noted as too large; the whole mail stays on the server.
	// One huge mail can then neither exhaust the daemon's memory nor, by
	// crashing it again after every restart, stop the inbox. Default 64 MiB.
	MaxReadBytes int64

	Store store.Store // required: the starting cursor is read from it
	Sink  Sink        // required: commits each batch with its cursor
	// Normalize turns raw bytes into a message; it must be safe for
	// concurrent use. Default: Normalize with default options.
	Normalize func(raw []byte) *store.Message

	Logger      *slog.Logger     // default slog.Default()
	Now         func() time.Time // default time.Now
	DialTimeout time.Duration    // default 30s

	BackoffMin time.Duration // first reconnect delay ceiling; default 1s
	BackoffMax time.Duration // cap; default 2 min
	// FailingAfter is how long failures must last before they are logged
	// at Warn as a failing inbox. Health is not OK from the first failure.
	// Default 1 min.
	FailingAfter time.Duration

	// Registerer, when set, receives the source's metrics (labelled with
	// source=Name).
	Registerer prometheus.Registerer
}

func (o *IMAPOptions) setDefaults() {
	o.TLS = cmpOr(o.TLS, TLSImplicit)
	o.Mailbox = cmpOr(o.Mailbox, "INBOX")
	o.After = cmpOr(o.After, AfterLeave)
	o.Name = cmpOr(o.Name, "imap:"+o.Username+"@"+o.Addr+"/"+o.Mailbox)
	o.PollInterval = cmpOr(o.PollInterval, 60*time.Second)
	o.IdleRestart = cmpOr(o.IdleRestart, 25*time.Minute)
	o.BatchSize = cmpOr(o.BatchSize, 500)
	o.MaxBatchBytes = cmpOr(o.MaxBatchBytes, 16<<20)
	o.MaxReadBytes = cmpOr(o.MaxReadBytes, 64<<20)
	o.DialTimeout = cmpOr(o.DialTimeout, 30*time.Second)
	o.BackoffMin = cmpOr(o.BackoffMin, time.Second)
	o.BackoffMax = cmpOr(o.BackoffMax, 2*time.Minute)
	o.FailingAfter = cmpOr(o.FailingAfter, time.Minute)
	if o.Normalize == nil {
		o.Normalize = func(raw []byte) *store.Message { return Normalize(raw, NormalizeOptions{}) }
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// cmpOr is cmp.Or for the option types (kept local for its name).
func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (o *IMAPOptions) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Addr == "" {
		add("imap %s: addr is required", o.Name)
	} else if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		add("imap %s: addr %q: %w", o.Name, o.Addr, err)
	}
	if o.Username == "" {
		add("imap %s: username is required", o.Name)
	}
	if !slices.Contains([]string{TLSImplicit, TLSStartTLS, TLSNone}, o.TLS) {
		add("imap %s: tls %q: want tls, starttls or none", o.Name, o.TLS)
	}
	if !slices.Contains([]string{AfterLeave, AfterSeen, AfterMove}, o.After) {
		add("imap %s: after %q: want leave, seen or move", o.Name, o.After)
	}
	if o.After == AfterMove && o.MoveTo == "" {
		add("imap %s: after=move needs move_to", o.Name)
	}
	if o.After == AfterMove && o.MoveTo == o.Mailbox {
		add("imap %s: move_to is the mailbox read", o.Name)
	}
	if o.BatchSize < 0 || o.MaxBatchBytes < 0 || o.MaxReadBytes < 0 || o.BackoffMin < 0 || o.BackoffMax < o.BackoffMin {
		add("imap %s: batch sizes must be positive and backoff min <= max", o.Name)
	}
	if o.Store == nil {
		add("imap %s: a store is required", o.Name)
	}
	if o.Sink == nil {
		add("imap %s: a sink is required", o.Name)
	}
	return errors.Join(errs...)
}

// IMAPSource is the worker of one IMAP mailbox. It implements Source.
//
// Run keeps one connection: it reads the cursor from the store, fetches
// every message above it in batches (each handed to the Sink with the cursor
// that moves past it), then waits for new mail with IDLE or by polling. Any
// error closes the connection; Run reconnects after a capped, jittered
// exponential delay and resumes from the cursor the store holds, so a batch
// the Sink did not commit is fetched again and none is skipped.
type IMAPSource struct {
	o       IMAPOptions
	log     *slog.Logger
	metrics imapMetrics
	running atomic.Bool
	backlog atomic.Int64 // listed in the current catch-up, not yet committed

	health *healthState
}

var _ Source = (*IMAPSource)(nil)

// Backlog is how many messages the current catch-up has listed above the
// cursor and not yet committed (0 between catch-ups). Safe for concurrent
// use.
func (s *IMAPSource) Backlog() int { return int(s.backlog.Load()) }

// NewIMAPSource checks o and makes the worker; it does not connect.
func NewIMAPSource(o IMAPOptions) (*IMAPSource, error) {
	o.setDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	s := &IMAPSource{o: o, log: o.Logger.With("source", o.Name), health: newHealthState(o.Name)}
	m, err := newIMAPMetrics(o.Registerer, o.Name, func() float64 { return float64(s.Backlog()) })
	if err != nil {
		return nil, fmt.Errorf("imap %s: metrics: %w", o.Name, err)
	}
	s.metrics = m
	return s, nil
}

// Name returns the source name (the cursor key).
func (s *IMAPSource) Name() string { return s.o.Name }

// Health returns the current state; safe for concurrent use.
func (s *IMAPSource) Health() Health { return s.health.get() }

// Run works until ctx ends and then returns nil. It returns an error only
// when it is already running.
func (s *IMAPSource) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return fmt.Errorf("imap %s: already running", s.o.Name)
	}
	defer s.running.Store(false)
	runWorker(ctx, newBackoff(s.o.BackoffMin, s.o.BackoffMax), worker{
		session: s.session,
		delay:   func(_ error, bo *backoff) time.Duration { return bo.next() },
		failed:  s.fail,
		retried: s.metrics.reconnects.Inc,
	})
	return nil
}

// session runs one connection until it fails or ctx ends; it always
// returns an error. synced is called after each completed catch-up.
func (s *IMAPSource) session(ctx context.Context, synced func()) error {
	ss, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer ss.close()
	if err := ss.open(ctx); err != nil {
		return err
	}
	for {
		drain(ss.wake)
		if err := ss.catchUp(ctx); err != nil {
			return err
		}
		if err := ss.writable(ctx); err != nil {
			return err
		}
		s.succeed(ss.mode())
		synced()
		if err := ss.wait(ctx); err != nil {
			return err
		}
	}
}

// fail records a failed session in Health and the log.
func (s *IMAPSource) fail(err error, retryIn time.Duration) {
	sp := s.health.failed(err, s.o.Now(), s.o.FailingAfter)
	s.metrics.errors.Inc()
	if sp.sustained {
		s.log.Warn("imap inbox failing", "since", sp.since, "failures", sp.failures, "err", err)
		return
	}
	s.log.Info("imap session failed; reconnecting", "retry_in", retryIn, "failures", sp.failures, "err", err)
}

// succeed records a completed catch-up.
func (s *IMAPSource) succeed(mode string) {
	if _, warned := s.health.succeeded(s.o.Now(), mode); warned {
		s.log.Info("imap inbox recovered")
	}
}

// normalize runs the normaliser, turning a panic or a nil result into a
// quarantined message so that no input can stop the worker.
func (s *IMAPSource) normalize(raw []byte) (m *store.Message) {
	defer func() {
		if r := recover(); r != nil {
			s.metrics.panics.Inc()
			s.log.Error("normaliser panicked; message quarantined", "panic", r, "stack", string(debug.Stack()))
			m = quarantined(raw, fmt.Sprintf("normaliser panic: %v", r))
		}
	}()
	if m = s.o.Normalize(raw); m == nil {
		m = quarantined(raw, "normaliser returned nothing")
	}
	return m
}

func quarantined(raw []byte, reason string) *store.Message {
	sum := sha256.Sum256(raw)
	return &store.Message{
		Direction: store.DirectionIn, Channel: store.ChannelEmail,
		Status: store.StatusQuarantined, Reason: reason, Raw: raw,
		Size: int64(len(raw)), ContentHash: hex.EncodeToString(sum[:]),
	}
}

// imapSession is one connection, selected on the mailbox.
type imapSession struct {
	src      *IMAPSource
	c        *imapclient.Client
	wake     chan struct{} // EXISTS seen: there may be new mail
	guard    *connGuard
	unwatch  func() bool // stops closing the connection when ctx ends
	validity uint32
	last     imap.UID // highest committed UID under validity
	idle     bool
	// readOnly: the mailbox is open with EXAMINE, so After waits until it
	// is selected read-write (writable).
	readOnly bool
}

// connect dials, sets up TLS as configured and makes the client. The
// connection is closed when ctx ends, which unblocks any command.
func (s *IMAPSource) connect(ctx context.Context) (*imapSession, error) {
	d := &net.Dialer{Timeout: s.o.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", s.o.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	ss := &imapSession{src: s, wake: make(chan struct{}, 1), guard: &connGuard{close: func() { conn.Close() }}}
	ss.unwatch = context.AfterFunc(ctx, ss.guard.shutdown)
	opts := &imapclient.Options{
		TLSConfig: s.tlsConfig(),
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					notify(ss.wake)
				}
			},
		},
	}
	switch s.o.TLS {
	case TLSImplicit:
		ss.c = imapclient.New(tls.Client(conn, opts.TLSConfig), opts)
	case TLSStartTLS:
		ss.c, err = imapclient.NewStartTLS(conn, opts)
	default:
		ss.c = imapclient.New(conn, opts)
	}
	if err != nil {
		ss.unwatch()
		conn.Close()
		return nil, fmt.Errorf("starttls: %w", err)
	}
	return ss, nil
}

func (ss *imapSession) close() {
	ss.unwatch()
	ss.c.Close()
}

func (s *IMAPSource) tlsConfig() *tls.Config {
	cfg := &tls.Config{}
	if s.o.TLSConfig != nil {
		cfg = s.o.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(s.o.Addr)
	}
	if cfg.NextProtos == nil && s.o.TLS == TLSImplicit {
		cfg.NextProtos = []string{"imap"}
	}
	return cfg
}

// open logs in, opens the mailbox read-only (EXAMINE) and positions the
// session after the committed cursor.
//
// The first catch-up reads the mailbox read-only: fetching needs no more,
// and a read-write SELECT of a maildir full of new mail costs Dovecot a
// rename of every file from new/ to cur/ (0.18 s for 10,000 mails) before
// the first one can be read. writable selects it read-write once that
// catch-up is recorded; with After "leave" it is never needed, so the
// mailbox is left exactly as it was.
func (ss *imapSession) open(ctx context.Context) error {
	o := &ss.src.o
	if err := ss.c.Login(o.Username, o.Password).Wait(); err != nil {
		return fmt.Errorf("login as %s: %w", o.Username, err)
	}
	sel, err := ss.c.Select(o.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return fmt.Errorf("examine %s: %w", o.Mailbox, err)
	}
	ss.readOnly = true
	cur, err := readCursor(ctx, ss.src.o.Store, ss.src.o.Name)
	if err != nil {
		return err
	}
	ss.position(cur, sel.UIDValidity)
	ss.idle = !o.DisableIdle && ss.c.Caps().Has(imap.CapIdle)
	if o.After == AfterMove {
		ss.ensureMoveTo()
	}
	return nil
}

// writable selects the mailbox read-write when After needs it and it is
// still open read-only, then applies After to the committed mail still
// there: the catch-up just recorded, and any a lost connection left. A
// UIDVALIDITY that changed in between ends the session: the next one
// starts over from the cursor.
func (ss *imapSession) writable(ctx context.Context) error {
	o := &ss.src.o
	if !ss.readOnly || o.After == AfterLeave {
		return nil
	}
	sel, err := ss.c.Select(o.Mailbox, nil).Wait()
	if err != nil {
		return fmt.Errorf("select %s: %w", o.Mailbox, err)
	}
	if sel.UIDValidity != ss.validity {
		return fmt.Errorf("select %s: UIDVALIDITY changed from %d to %d since EXAMINE", o.Mailbox, ss.validity, sel.UIDValidity)
	}
	ss.readOnly = false
	ss.reapplyAfter(ctx)
	return nil
}

// position starts after the cursor, or from UID 1 when UIDVALIDITY differs
// from the cursor's: the old UIDs then name nothing (RFC 9051 §2.3.1.1) and
// the router recognises mail it already has by Message-ID and content hash.
func (ss *imapSession) position(cur store.Cursor, validity uint32) {
	ss.validity = validity
	switch {
	case cur.UIDValidity == validity:
		ss.last = imap.UID(cur.LastUID)
	case cur.UIDValidity == 0:
		ss.src.log.Info("no cursor yet; reading the mailbox from the start", "uidvalidity", validity)
	default:
		ss.src.log.Warn("UIDVALIDITY changed; re-reading the mailbox from the start",
			"old_uidvalidity", cur.UIDValidity, "old_last_uid", cur.LastUID, "uidvalidity", validity)
	}
}

func (ss *imapSession) mode() string {
	if ss.idle {
		return "idle"
	}
	return "poll"
}

// ensureMoveTo creates the MoveTo mailbox when it is missing. A failure is
// logged; moves will then fail and be logged too, with the mail kept.
func (ss *imapSession) ensureMoveTo() {
	err := ss.c.Create(ss.src.o.MoveTo, nil).Wait()
	var imapErr *imap.Error
	if err == nil || errors.As(err, &imapErr) && imapErr.Code == imap.ResponseCodeAlreadyExists {
		return
	}
	ss.src.log.Warn("cannot create move_to mailbox", "mailbox", ss.src.o.MoveTo, "err", err)
}

// reapplyAfter applies After to every committed UID still in the mailbox:
// a connection lost between a commit and its STORE/MOVE left them there.
func (ss *imapSession) reapplyAfter(ctx context.Context) {
	if ss.last == 0 || ss.src.o.After == AfterLeave {
		return
	}
	ss.applyAfter(ctx, imap.UIDSet{{Start: 1, Stop: ss.last}})
}

// applyAfter flags or moves committed messages. Failures are logged: the
// messages are already recorded.
func (ss *imapSession) applyAfter(ctx context.Context, uids imap.UIDSet) {
	var err error
	switch ss.src.o.After {
	case AfterSeen:
		err = ss.c.Store(uids, &imap.StoreFlags{
			Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen},
		}, nil).Close()
	case AfterMove:
		// Falls back to COPY + STORE \Deleted + (UID) EXPUNGE without MOVE.
		_, err = ss.c.Move(uids, ss.src.o.MoveTo).Wait()
	}
	if err != nil && ctx.Err() == nil {
		ss.src.log.Warn("cannot apply after-processing action", "after", ss.src.o.After, "uids", uids.String(), "err", err)
	}
}

// pending is a message known by UID and size, not yet fetched.
type pending struct {
	uid  imap.UID
	size int64
}

// listNew lists the messages above the cursor, in UID order.
func (ss *imapSession) listNew() ([]pending, error) {
	set := imap.UIDSet{{Start: ss.last + 1, Stop: 0}}
	bufs, err := ss.c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("list UIDs above %d: %w", ss.last, err)
	}
	var l []pending
	for _, b := range bufs {
		// "n:*" includes the last message even when its UID is below n
		// (RFC 9051 §6.4.8), so the cursor's own message comes back.
		if b.UID > ss.last {
			l = append(l, pending{uid: b.UID, size: b.RFC822Size})
		}
	}
	slices.SortFunc(l, func(a, b pending) int { return cmp.Compare(a.uid, b.uid) })
	return l, nil
}

// planBatches cuts l into batches of at most n messages and at most maxBytes
// (a batch always holds at least one message). The first batch is a
// quarter of n, so that the pipeline's later stages start working sooner
// on a large backlog.
func planBatches(l []pending, n int, maxBytes int64) [][]pending {
	var out [][]pending
	limit := max(1, n/4)
	for len(l) > 0 {
		i, bytes := 0, int64(0)
		for i < len(l) && i < limit && (i == 0 || bytes+l[i].size <= maxBytes) {
			bytes += l[i].size
			i++
		}
		out = append(out, l[:i])
		l = l[i:]
		limit = n
	}
	return out
}

// catchUp fetches, normalises and delivers everything above the cursor.
func (ss *imapSession) catchUp(ctx context.Context) error {
	l, err := ss.listNew()
	if err != nil {
		return err
	}
	if len(l) == 0 {
		return nil
	}
	ss.src.backlog.Store(int64(len(l)))
	defer ss.src.backlog.Store(0)
	return ss.pipeline(ctx, planBatches(l, ss.src.o.BatchSize, ss.src.o.MaxBatchBytes))
}

// fetched is one batch on its way through the pipeline.
type fetched struct {
	uids  []imap.UID
	raws  [][]byte
	dates []time.Time
	cut   []int64          // the full RFC822.SIZE of a mail read only in part, else 0
	msgs  []*store.Message // set by the normalise stage
}

// pipeline overlaps the stages of a backlog: while batch k is delivered,
// k+1 is normalised and k+2 fetched, and the After action (flag or move)
// of the batches already committed runs on its own, off the path of the
// next commit. Batches stay in UID order and each is delivered only after
// the one before it was committed, so the cursor only ever moves over
// committed mail. A failing stage cancels the others between batches; the
// caller then drops the connection.
func (ss *imapSession) pipeline(ctx context.Context, batches [][]pending) error {
	g, gctx := errgroup.WithContext(ctx)
	toNormalize := make(chan *fetched)
	toDeliver := make(chan *fetched)
	toAfter := make(chan imap.UIDSet, len(batches))
	stage := g.Go
	stage(func() error {
		defer close(toNormalize)
		for _, b := range batches {
			if err := gctx.Err(); err != nil {
				return err
			}
			f, err := ss.fetch(b)
			if err != nil {
				return err
			}
			if !send(gctx, toNormalize, f) {
				return gctx.Err()
			}
		}
		return nil
	})
	stage(func() error {
		defer close(toDeliver)
		for f := range toNormalize {
			ss.normalizeBatch(f)
			if !send(gctx, toDeliver, f) {
				return gctx.Err()
			}
		}
		return nil
	})
	stage(func() error {
		defer close(toAfter)
		for f := range toDeliver {
			if err := ss.deliver(ctx, f); err != nil {
				return err
			}
			if ss.src.o.After != AfterLeave && !ss.readOnly && len(f.uids) > 0 {
				toAfter <- imap.UIDSetNum(f.uids...) // buffered for every batch: never blocks
			}
		}
		return nil
	})
	stage(func() error {
		for uids := range toAfter {
			ss.applyAfter(ctx, coalesce(uids, toAfter))
		}
		return nil
	})
	return g.Wait()
}

// coalesce adds to uids the sets already waiting in ch, so that a lagging
// After stage catches up with one command instead of one per batch.
func coalesce(uids imap.UIDSet, ch <-chan imap.UIDSet) imap.UIDSet {
	for {
		select {
		case more, ok := <-ch:
			if !ok {
				return uids
			}
			uids = append(uids, more...)
		default:
			return uids
		}
	}
}

// fetch gets the bytes and INTERNALDATE of one batch. BODY.PEEK[] leaves
// \Seen alone (RFC 9051 §6.4.5).
//
// imapclient races with itself when the connection closes while a literal
// is being read (the reader goroutine goes on while the literal is
// discarded), so the connection is not closed under a fetch (connGuard),
// and a panic out of that race becomes an error.
func (ss *imapSession) fetch(b []pending) (f *fetched, err error) {
	if !ss.guard.enter() {
		return nil, errConnClosed
	}
	defer ss.guard.leave()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("fetch: imapclient panicked: %v", r)
		}
	}()
	var whole imap.UIDSet
	var cut map[imap.UID]int64 // over MaxReadBytes: UID -> full size (rare; nil reads as 0)
	for _, p := range b {
		if p.size > ss.src.o.MaxReadBytes {
			if cut == nil {
				cut = map[imap.UID]int64{}
			}
			cut[p.uid] = p.size
		} else {
			whole.AddNum(p.uid)
		}
	}
	var got []fetchedOne
	if len(whole) > 0 {
		if got, err = ss.fetchSet(whole, nil); err != nil {
			return nil, err
		}
	}
	for uid := range cut {
		one, err := ss.fetchSet(imap.UIDSetNum(uid), &imap.SectionPartial{Size: ss.src.o.MaxReadBytes})
		if err != nil {
			return nil, err
		}
		got = append(got, one...)
	}
	slices.SortFunc(got, func(a, b fetchedOne) int { return cmp.Compare(a.uid, b.uid) })
	f = &fetched{}
	for _, m := range got {
		f.uids = append(f.uids, m.uid)
		f.raws = append(f.raws, m.raw)
		f.dates = append(f.dates, m.date)
		f.cut = append(f.cut, cut[m.uid])
	}
	return f, nil
}

// fetchSet fetches the bytes (the first partial.Size of them when partial
// is set) and INTERNALDATE of set.
func (ss *imapSession) fetchSet(set imap.UIDSet, partial *imap.SectionPartial) ([]fetchedOne, error) {
	cmd := ss.c.Fetch(set, &imap.FetchOptions{
		UID: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{{Peek: true, Partial: partial}},
	})
	var got []fetchedOne
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		one, err := readFetched(msg)
		if err != nil {
			cmd.Close()
			return nil, fmt.Errorf("fetch UIDs %s: %w", set, err)
		}
		got = append(got, one)
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("fetch UIDs %s: %w", set, err)
	}
	return got, nil
}

// fetchedOne is one message of a FETCH response.
type fetchedOne struct {
	uid  imap.UID
	raw  []byte
	date time.Time
}

// readFetched reads one message of a FETCH response. The body is read into
// a buffer of the literal's announced size: io.ReadAll (what imapclient's
// Collect uses) grows its buffer step by step and leaves several times a
// large mail's size behind for the collector, which is what set the peak
// memory of a 50 MB mail.
func readFetched(msg *imapclient.FetchMessageData) (fetchedOne, error) {
	var one fetchedOne
	for item := msg.Next(); item != nil; item = msg.Next() {
		switch item := item.(type) {
		case imapclient.FetchItemDataUID:
			one.uid = item.UID
		case imapclient.FetchItemDataInternalDate:
			one.date = item.Time
		case imapclient.FetchItemDataBodySection:
			if item.Literal == nil {
				continue
			}
			raw, err := readLiteral(item.Literal)
			if err != nil {
				return one, err
			}
			one.raw = raw
		}
	}
	return one, nil
}

// readLiteral reads a literal of known size in one allocation. A literal
// that ends early is an error, never a shorter mail: the batch is fetched
// again rather than a truncated message recorded.
func readLiteral(l imap.LiteralReader) ([]byte, error) {
	size := l.Size()
	if size < 0 || size > maxLiteralPrealloc {
		return io.ReadAll(l)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(l, b); err != nil {
		return nil, fmt.Errorf("read %d-byte literal: %w", size, err)
	}
	return b, nil
}

// maxLiteralPrealloc bounds what a server's announced literal size can make
// us allocate up front; a larger literal is read as it comes.
const maxLiteralPrealloc = 1 << 30

// normalizeBatch normalises a batch on all CPUs but one and stamps what
// only the source knows: where the message came from and when the server
// got it. The CPU left over is the commit stage's: it is the one stage
// that cannot run in parallel, so with every CPU normalising it waits for
// a turn and the whole pipeline slows down to its pace.
func (ss *imapSession) normalizeBatch(f *fetched) {
	f.msgs = make([]*store.Message, len(f.raws))
	workers := min(max(runtime.GOMAXPROCS(0)-1, 1), len(f.raws))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(f.raws); i += workers {
				f.msgs[i] = ss.message(f.uids[i], f.raws[i], f.dates[i])
				if f.cut[i] > 0 {
					ss.src.markCut(f.msgs[i], f.cut[i])
				}
			}
		})
	}
	wg.Wait()
	// The raw bytes are not needed past here (a quarantined message keeps
	// its own reference); letting them go before the commit lowers the peak.
	f.raws = nil
}

// markCut notes on m, normalised from only the first MaxReadBytes of a
// mail of size bytes, that the rest was not read: a warning, the true size,
// and its attachments that the cut left unreadable counted as too large
// (so the customer is asked for them another way).
func (s *IMAPSource) markCut(m *store.Message, size int64) {
	note := fmt.Sprintf("mail of %d bytes is over the %d-byte read limit: only its beginning was read; the whole mail stays on the server", size, s.o.MaxReadBytes)
	if m.Headers == nil {
		m.Headers = map[string]string{}
	}
	if w := m.Headers[WarningHeader]; w != "" {
		note = w + "; " + note
	}
	m.Headers[WarningHeader] = note
	m.Size = size
	for i := range m.Attachments {
		if a := &m.Attachments[i]; !a.Kept && !strings.HasPrefix(a.NotKeptWhy, "over ") {
			a.NotKeptWhy = fmt.Sprintf("over the read limit of %d bytes for one mail", s.o.MaxReadBytes)
		}
	}
	s.metrics.cut.Inc()
}

func (ss *imapSession) message(uid imap.UID, raw []byte, date time.Time) *store.Message {
	var m *store.Message
	if raw == nil {
		// The server answered without the body; keep a record of the UID
		// rather than block the mailbox on it forever.
		m = quarantined(nil, "server returned no body for this UID")
	} else {
		m = ss.src.normalize(raw)
	}
	m.Source = ss.src.o.Name
	m.SourceRef = strconv.FormatUint(uint64(ss.validity), 10) + "/" + strconv.FormatUint(uint64(uid), 10)
	if date.IsZero() {
		date = ss.src.o.Now()
	}
	m.ReceivedAt = date
	return m
}

// deliver hands one batch and the cursor past it to the Sink (the pipeline
// then applies After). A batch that has started is committed even if ctx ends meanwhile
// (the Sink's transaction is short), so a shutdown finishes its work.
func (ss *imapSession) deliver(ctx context.Context, f *fetched) error {
	if len(f.uids) == 0 {
		return nil // all expunged since they were listed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	src := ss.src
	top := f.uids[len(f.uids)-1]
	b := store.Batch{Source: src.o.Name, Messages: f.msgs, Cursor: store.Cursor{
		Source: src.o.Name, UIDValidity: ss.validity, LastUID: uint32(top), UpdatedAt: src.o.Now(),
	}}
	if err := src.o.Sink.Deliver(context.WithoutCancel(ctx), b); err != nil {
		return fmt.Errorf("deliver UIDs %d..%d: %w", f.uids[0], top, err)
	}
	ss.last = top
	src.backlog.Add(-int64(len(f.uids)))
	src.metrics.delivered(len(f.uids), src.o.Now().Sub(f.dates[len(f.dates)-1]))
	return nil
}

// wait returns when there may be new mail: the server reported EXISTS, or
// the IDLE restart or poll interval passed.
func (ss *imapSession) wait(ctx context.Context) error {
	if ss.idle {
		return ss.idleWait(ctx)
	}
	return ss.pollWait(ctx)
}

// idleWait IDLEs until EXISTS, the restart interval or the safety re-check
// (PollInterval: a server can miss telling us; go-imap's imapserver does not
// report mail that arrived between the last command and IDLE).
func (ss *imapSession) idleWait(ctx context.Context) error {
	// A NOOP makes the server report what arrived during the catch-up
	// (RFC 9051 §6.1.2), so that mail is not left waiting for the next one.
	if err := ss.c.Noop().Wait(); err != nil {
		return fmt.Errorf("noop: %w", err)
	}
	select {
	case <-ss.wake:
		return nil
	default:
	}
	idle, err := ss.c.Idle()
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	restart := time.NewTimer(min(ss.src.o.IdleRestart, ss.src.o.PollInterval))
	defer restart.Stop()
	select {
	case <-ss.wake:
	case <-restart.C:
	case <-ctx.Done():
		return ctx.Err()
	case <-ss.c.Closed():
		return errConnClosed
	}
	if err := idle.Close(); err != nil {
		return fmt.Errorf("end idle: %w", err)
	}
	if err := idle.Wait(); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	return nil
}

// pollWait waits for the poll interval. The catch-up that follows lists new
// UIDs itself, which also proves the connection alive.
func (ss *imapSession) pollWait(ctx context.Context) error {
	t := time.NewTimer(ss.src.o.PollInterval)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ss.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-ss.c.Closed():
		return errConnClosed
	}
}

var errConnClosed = errors.New("connection closed")

// connGuard closes the connection when ctx ends, but not under a fetch in
// progress: that one is given closeGrace to finish first.
type connGuard struct {
	close   func()
	mu      sync.Mutex
	busy    bool
	closing bool
	once    sync.Once
}

const closeGrace = 2 * time.Second

func (g *connGuard) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy = !g.closing
	return g.busy
}

func (g *connGuard) leave() {
	g.mu.Lock()
	g.busy = false
	closing := g.closing
	g.mu.Unlock()
	if closing {
		g.once.Do(g.close)
	}
}

func (g *connGuard) shutdown() {
	g.mu.Lock()
	g.closing = true
	busy := g.busy
	g.mu.Unlock()
	if !busy {
		g.once.Do(g.close)
		return
	}
	time.AfterFunc(closeGrace, func() { g.once.Do(g.close) })
}

// notify sets a wake-up flag without blocking.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func drain(ch chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

func send[T any](ctx context.Context, ch chan<- T, v T) bool {
	select {
	case ch <- v:
		return true
	case <-ctx.Done():
		return false
	}
}

// imapMetrics are one source's series.
type imapMetrics struct {
	fetched    prometheus.Counter
	batches    prometheus.Counter
	reconnects prometheus.Counter
	errors     prometheus.Counter
	panics     prometheus.Counter
	cut        prometheus.Counter
	backlog    prometheus.GaugeFunc
	lag        prometheus.Gauge
}

func newIMAPMetrics(reg prometheus.Registerer, source string, backlog func() float64) (imapMetrics, error) {
	labels := prometheus.Labels{"source": source}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "complaintbot", Subsystem: "ingest_imap", Name: name, Help: help, ConstLabels: labels,
		})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "complaintbot", Subsystem: "ingest_imap", Name: name, Help: help, ConstLabels: labels,
		})
	}
	m := imapMetrics{
		fetched:    counter("messages_delivered_total", "Messages fetched and committed through the sink."),
		batches:    counter("batches_delivered_total", "Batches committed through the sink."),
		reconnects: counter("reconnects_total", "Reconnections after a failed session."),
		errors:     counter("errors_total", "Failed sessions (connection, protocol or sink errors)."),
		panics:     counter("normalizer_panics_total", "Messages quarantined because the normaliser panicked."),
		cut:        counter("messages_cut_total", "Mails over the read limit, read only in part."),
		backlog: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "complaintbot", Subsystem: "ingest_imap", Name: "backlog_messages", ConstLabels: labels,
			Help: "Messages the current catch-up listed above the cursor and has not committed yet (0 between catch-ups).",
		}, backlog),
		lag: gauge("lag_seconds", "Commit time minus INTERNALDATE of the newest committed message."),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.fetched, m.batches, m.reconnects, m.errors, m.panics, m.cut, m.backlog, m.lag} {
		if err := reg.Register(c); err != nil {
			return m, err
		}
	}
	return m, nil
}

func (m imapMetrics) delivered(n int, lag time.Duration) {
	m.fetched.Add(float64(n))
	m.batches.Inc()
	m.lag.Set(lag.Seconds())
}
