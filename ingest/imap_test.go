package ingest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/mail"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/prometheus/client_golang/prometheus"

	"complaintbot/store"
)

// capsFull is what a modern server offers; capsNoMove makes the client fall
// back to COPY+STORE+EXPUNGE. (imapserver always offers IDLE to IMAP4rev1
// clients, so polling is tested with DisableIdle.)
var (
	capsFull   = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}}
	capsNoMove = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}
)

// testIMAPServer is an in-memory IMAP server on loopback that can be
// stopped and started again on the same port.
type testIMAPServer struct {
	t    testing.TB
	mem  *imapmemserver.Server
	user *imapmemserver.User
	opts imapserver.Options
	// listen wraps the listener (TLS tests).
	listen func(net.Listener) net.Listener
	addr   string
	srv    *imapserver.Server
	ln     net.Listener
}

func newTestIMAPServer(t testing.TB, caps imap.CapSet, setup ...func(*testIMAPServer)) *testIMAPServer {
	t.Helper()
	ts := &testIMAPServer{t: t, mem: imapmemserver.New(), user: imapmemserver.NewUser("user", "password")}
	ts.mem.AddUser(ts.user)
	if err := ts.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	ts.opts = imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return ts.mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	}
	ts.addr = "127.0.0.1:0"
	for _, f := range setup {
		f(ts)
	}
	ts.start()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testIMAPServer) start() {
	ts.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the old port may take a moment to be free again
		if ln, err = net.Listen("tcp", ts.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	if ts.listen != nil {
		ln = ts.listen(ln)
	}
	srv := imapserver.New(&ts.opts)
	ts.srv, ts.ln = srv, ln
	go srv.Serve(ln) // not ts.srv.Serve: the goroutine would read ts.srv, which stop sets to nil
}

func (ts *testIMAPServer) stop() {
	if ts.srv != nil {
		ts.ln.Close() // Close alone misses a listener Serve has not registered yet
		ts.srv.Close()
		ts.srv = nil
	}
}

type literal struct{ *bytes.Reader }

// appendMail adds raw to mailbox with INTERNALDATE at.
func (ts *testIMAPServer) appendMail(mailbox string, raw []byte, at time.Time) imap.UID {
	ts.t.Helper()
	d, err := ts.user.Append(mailbox, literal{bytes.NewReader(raw)}, &imap.AppendOptions{Time: at})
	if err != nil {
		ts.t.Fatal(err)
	}
	return d.UID
}

// appendTestMails adds testMail(from) .. testMail(to) to INBOX.
func (ts *testIMAPServer) appendTestMails(from, to int) {
	ts.t.Helper()
	for i := from; i <= to; i++ {
		ts.appendMail("INBOX", testMail(i), time.Time{})
	}
}

func (ts *testIMAPServer) status(mailbox string) (messages, unseen uint32) {
	ts.t.Helper()
	d, err := ts.user.Status(mailbox, &imap.StatusOptions{NumMessages: true, NumUnseen: true})
	if err != nil {
		ts.t.Fatal(err)
	}
	return *d.NumMessages, *d.NumUnseen
}

func testMail(i int) []byte {
	return fmt.Appendf(nil, "From: Customer %d <c%d@example.org>\r\nTo: support@example.com\r\n"+
		"Subject: Complaint %d\r\nMessage-ID: <m%d@example.org>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\n"+
		"My order %d arrived broken. Please help.\r\n%s\r\n", i, i, i, i, i, strings.Repeat("Lorem ipsum dolor sit amet. ", 40))
}

// testNormalize records the Message-ID so tests can tell messages apart.
func testNormalize(raw []byte) *store.Message {
	m := &store.Message{Direction: store.DirectionIn, Channel: store.ChannelEmail,
		Status: store.StatusRecorded, Size: int64(len(raw))}
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.MessageID = strings.Trim(msg.Header.Get("Message-Id"), "<>")
	}
	return m
}

// recordingSink commits the cursor to a real store, like router does, and
// keeps every committed batch.
type recordingSink struct {
	st      store.Store
	mu      sync.Mutex
	batches []store.Batch
	// When block is set, Deliver signals entered and waits for block.
	block, entered chan struct{}
}

func (s *recordingSink) Deliver(ctx context.Context, b store.Batch) error {
	if s.block != nil {
		s.entered <- struct{}{}
		<-s.block
	}
	if err := s.st.Update(ctx, func(tx store.Tx) error { return tx.PutCursor(b.Cursor) }); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, b)
	return nil
}

func (s *recordingSink) snapshot() []store.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]store.Batch(nil), s.batches...)
}

func (s *recordingSink) messageIDs() []string {
	var ids []string
	for _, b := range s.snapshot() {
		for _, m := range b.Messages {
			ids = append(ids, m.MessageID)
		}
	}
	return ids
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (s *recordingSink) waitMessages(t testing.TB, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d messages", n), 10*time.Second, func() bool { return len(s.messageIDs()) >= n })
}

func openTestStore(t testing.TB, o store.BoltOptions) *store.Bolt {
	t.Helper()
	o.NoSync = true
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "test.db"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func storedCursor(t testing.TB, st store.Store, name string) store.Cursor {
	t.Helper()
	var c store.Cursor
	err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		c, err = tx.Cursor(name)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// runningSource is a source whose Run goroutine the test owns.
type runningSource struct {
	*IMAPSource
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// stop cancels Run and checks it returned nil within a second.
func (r *runningSource) stop(t testing.TB) time.Duration {
	t.Helper()
	var took time.Duration
	r.once.Do(func() {
		start := time.Now()
		r.cancel()
		select {
		case err := <-r.done:
			took = time.Since(start)
			if err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		case <-time.After(time.Second):
			t.Fatal("Run did not return within 1s of cancel")
		}
	})
	return took
}

// startSource fills the test defaults into o and runs the source.
func startSource(t testing.TB, ts *testIMAPServer, o IMAPOptions) *runningSource {
	t.Helper()
	o.Name = cmpOr(o.Name, "support")
	if ts != nil {
		o.Addr = cmpOr(o.Addr, ts.addr)
	}
	o.TLS = cmpOr(o.TLS, TLSNone)
	o.Username = cmpOr(o.Username, "user")
	o.Password = cmpOr(o.Password, "password")
	o.BackoffMin = cmpOr(o.BackoffMin, 10*time.Millisecond)
	o.BackoffMax = cmpOr(o.BackoffMax, 100*time.Millisecond)
	if o.Normalize == nil {
		o.Normalize = testNormalize
	}
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	src, err := NewIMAPSource(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningSource{IMAPSource: src, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- src.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// waitSynced waits until the source has finished a catch-up after since.
func (r *runningSource) waitSynced(t testing.TB, since time.Time) {
	t.Helper()
	waitFor(t, "a completed catch-up", 10*time.Second, func() bool {
		h := r.Health()
		return h.OK && h.LastSuccess.After(since)
	})
}

func TestIMAPBacklogDeliveredOnceInBatches(t *testing.T) {
	ts := newTestIMAPServer(t, capsFull)
	const n = 1234
	base := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		ts.appendMail("INBOX", testMail(i), base.Add(time.Duration(i)*time.Second))
	}
	st := openTestStore(t, store.BoltOptions{})
	sink := &recordingSink{st: st}
	reg := prometheus.NewRegistry()
	src := startSource(t, ts, IMAPOptions{Store: st, Sink: sink, BatchSize: 100, Registerer: reg})
	sink.waitMessages(t, n)
	src.waitSynced(t, time.Time{})
	for name, want := range map[string]float64{
		"complaintbot_ingest_imap_messages_delivered_total": n,
		"complaintbot_ingest_imap_batches_delivered_total":  14,
		"complaintbot_ingest_imap_backlog_messages":         0,
		"complaintbot_ingest_imap_errors_total":             0,
	} {
		if got := metricValue(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}

	batches := sink.snapshot()
	if len(batches) != 14 {
		t.Errorf("got %d batches, want 14 (1234: a first batch of 25, then batches of 100)", len(batches))
	}
	validity := batches[0].Cursor.UIDValidity
	next := 1
	for bi, b := range batches {
		if len(b.Messages) > 100 || b.Source != "support" || b.Cursor.Source != "support" {
			t.Fatalf("batch %d: %d messages, source %q, cursor source %q", bi, len(b.Messages), b.Source, b.Cursor.Source)
		}
		for _, m := range b.Messages {
			if want := fmt.Sprintf("m%d@example.org", next); m.MessageID != want {
				t.Fatalf("message %d is %q, want %q (each exactly once, in UID order)", next, m.MessageID, want)
			}
			if want := fmt.Sprintf("%d/%d", validity, next); m.SourceRef != want || m.Source != "support" {
				t.Errorf("message %d: Source %q SourceRef %q, want support %q", next, m.Source, m.SourceRef, want)
			}
			if want := base.Add(time.Duration(next) * time.Second); !m.ReceivedAt.Equal(want) {
				t.Errorf("message %d: ReceivedAt %v, want INTERNALDATE %v", next, m.ReceivedAt, want)
			}
			next++
		}
		if b.Cursor.LastUID != uint32(next-1) || b.Cursor.UIDValidity != validity {
			t.Errorf("batch %d cursor %+v, want last UID %d", bi, b.Cursor, next-1)
		}
	}
	if next != n+1 {
		t.Errorf("delivered %d messages, want %d", next-1, n)
	}
	if c := storedCursor(t, st, "support"); c.LastUID != n || c.UIDValidity != validity {
		t.Errorf("stored cursor %+v, want %d/%d", c, validity, n)
	}
	if _, unseen := ts.status("INBOX"); unseen != n {
		t.Errorf("%d unseen after reading with After=leave, want %d (BODY.PEEK must not set \\Seen)", unseen, n)
	}
}

// metricValue reads a counter or gauge of the source "support".
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "source" && l.GetValue() == "support" {
					if c := m.GetCounter(); c != nil {
						return c.GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("metric %s{source=support} not registered", name)
	return 0
}

func TestIMAPResumesFromCursor(t *testing.T) {
	ts := newTestIMAPServer(t, capsFull)
	ts.appendTestMails(1, 5)
	st := openTestStore(t, store.BoltOptions{})
	first := &recordingSink{st: st}
	src := startSource(t, ts, IMAPOptions{Store: st, Sink: first})
	first.waitMessages(t, 5)
	src.waitSynced(t, time.Time{})
	src.stop(t)

	// Restart with nothing new: "UID 6:*" still returns message 5, which
	// must not be delivered again.
	second := &recordingSink{st: st}
	started := time.Now()
	src = startSource(t, ts, IMAPOptions{Store: st, Sink: second})
	src.waitSynced(t, started)
	if got := second.messageIDs(); len(got) != 0 {
		t.Fatalf("restart with no new mail delivered %v", got)
	}
	src.stop(t)

	ts.appendTestMails(6, 8)
	third := &recordingSink{st: st}
	src = startSource(t, ts, IMAPOptions{Store: st, Sink: third})
	third.waitMessages(t, 3)
	src.waitSynced(t, started)
	want := "m6@example.org m7@example.org m8@example.org"
	if got := strings.Join(third.messageIDs(), " "); got != want {
		t.Errorf("after restart delivered %q, want %q", got, want)
	}
}

func TestIMAPSeesNewMail(t *testing.T) {
	cases := []struct {
		name     string
		caps     imap.CapSet
		opts     IMAPOptions
		wantMode string
	}{
		// PollInterval is the safety re-check under IDLE; imapmemserver
		// (not Dovecot) can miss an EXISTS that races with the start of IDLE.
		{"idle", capsFull, IMAPOptions{PollInterval: 2 * time.Second}, "idle"},
		{"poll when IDLE disabled", capsFull, IMAPOptions{DisableIdle: true, PollInterval: 50 * time.Millisecond}, "poll"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestIMAPServer(t, tc.caps)
			st := openTestStore(t, store.BoltOptions{})
			sink := &recordingSink{st: st}
			o := tc.opts
			o.Store, o.Sink = st, sink
			src := startSource(t, ts, o)
			src.waitSynced(t, time.Time{})
			if mode := src.Health().Mode; mode != tc.wantMode {
				t.Errorf("mode %q, want %q", mode, tc.wantMode)
			}
			var took []time.Duration
			for i := 1; i <= 5; i++ {
				time.Sleep(20 * time.Millisecond) // let it go back to waiting
				start := time.Now()
				ts.appendMail("INBOX", testMail(i), time.Time{})
				sink.waitMessages(t, i)
				took = append(took, time.Since(start))
			}
			t.Logf("%s: APPEND to delivery: %v", tc.name, took)
			if worst := slices.Max(took); worst > 5*time.Second {
				t.Errorf("new mail took %v", worst)
			}
		})
	}
}

func TestIMAPStoreFailureDoesNotAdvanceCursor(t *testing.T) {
	ts := newTestIMAPServer(t, capsFull)
	ts.appendTestMails(1, 10)
	var failures atomic.Int32
	failures.Store(3)
	st := openTestStore(t, store.BoltOptions{FailUpdate: func() error {
		if failures.Add(-1) >= 0 {
			return errors.New("disk full")
		}
		return nil
	}})
	sink := &recordingSink{st: st}
	src := startSource(t, ts, IMAPOptions{Store: st, Sink: sink, BatchSize: 4})
	sink.waitMessages(t, 10)
	src.waitSynced(t, time.Time{})

	var ids []string
	for i := 1; i <= 10; i++ {
		ids = append(ids, fmt.Sprintf("m%d@example.org", i))
	}
	if got := strings.Join(sink.messageIDs(), " "); got != strings.Join(ids, " ") {
		t.Errorf("committed %q, want each of 1..10 exactly once in order", got)
	}
	if c := storedCursor(t, st, "support"); c.LastUID != 10 {
		t.Errorf("stored cursor %+v, want last UID 10", c)
	}
	if h := src.Health(); !h.OK || h.ConsecutiveFailures != 0 {
		t.Errorf("health after recovery %+v, want OK", h)
	}
}

func TestIMAPReconnectsAfterServerRestart(t *testing.T) {
	ts := newTestIMAPServer(t, capsFull)
	ts.appendMail("INBOX", testMail(1), time.Time{})
	st := openTestStore(t, store.BoltOptions{})
	sink := &recordingSink{st: st}
	src := startSource(t, ts, IMAPOptions{Store: st, Sink: sink, BackoffMax: 50 * time.Millisecond})
	sink.waitMessages(t, 1)
	src.waitSynced(t, time.Time{})

	ts.stop()
	waitFor(t, "health to go not OK", 5*time.Second, func() bool { return !src.Health().OK })
	h := src.Health()
	if h.LastError == "" || h.FailingSince.IsZero() || h.ConsecutiveFailures < 1 {
		t.Errorf("failing health %+v lacks the error, since or count", h)
	}
	time.Sleep(200 * time.Millisecond) // several failed reconnects
	if n := src.Health().ConsecutiveFailures; n < 2 {
		t.Errorf("%d consecutive failures while down, want it to keep retrying", n)
	}
	ts.appendMail("INBOX", testMail(2), time.Time{})
	restarted := time.Now()
	ts.start()
	sink.waitMessages(t, 2)
	src.waitSynced(t, restarted)
	if got := strings.Join(sink.messageIDs(), " "); got != "m1@example.org m2@example.org" {
		t.Errorf("delivered %q", got)
	}
	if h := src.Health(); h.ConsecutiveFailures != 0 || h.LastError != "" || !h.FailingSince.IsZero() {
		t.Errorf("health after reconnect %+v", h)
	}
}

func TestIMAPUIDValidityChangeRereads(t *testing.T) {
	ts := newTestIMAPServer(t, capsFull)
	ts.appendTestMails(1, 3)
	st := openTestStore(t, store.BoltOptions{})
	sink := &recordingSink{st: st}
	src := startSource(t, ts, IMAPOptions{Store: st, Sink: sink})
	sink.waitMessages(t, 3)
	src.waitSynced(t, time.Time{})
	src.stop(t)
	old := storedCursor(t, st, "support")

	// The mailbox is recreated: same mail plus one, new UIDVALIDITY.
	if err := ts.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := ts.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	ts.appendTestMails(1, 4)
	again := &recordingSink{st: st}
	src = startSource(t, ts, IMAPOptions{Store: st, Sink: again})
	again.waitMessages(t, 4)
	c := storedCursor(t, st, "support")
	if c.UIDValidity == old.UIDValidity || c.LastUID != 4 {
		t.Errorf("cursor %+v after UIDVALIDITY change (old %+v), want new validity, last UID 4", c, old)
	}
	if got := len(again.messageIDs()); got != 4 {
		t.Errorf("re-read %d messages, want all 4 (router deduplicates)", got)
	}
	if ref := again.snapshot()[0].Messages[0].SourceRef; ref != fmt.Sprintf("%d/1", c.UIDValidity) {
		t.Errorf("SourceRef %q does not carry the new UIDVALIDITY %d", ref, c.UIDValidity)
	}
}

func TestIMAPAfterProcessing(t *testing.T) {
	cases := []struct {
		name       string
		caps       imap.CapSet
		after      string
		wantInbox  uint32
		wantUnseen uint32
		wantMoved  uint32
	}{
		{"leave", capsFull, AfterLeave, 6, 6, 0},
		{"seen", capsFull, AfterSeen, 6, 0, 0},
		{"move", capsFull, AfterMove, 0, 0, 6},
		{"move without MOVE", capsNoMove, AfterMove, 0, 0, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestIMAPServer(t, tc.caps)
			ts.appendTestMails(1, 4)
			st := openTestStore(t, store.BoltOptions{})
			sink := &recordingSink{st: st}
			// PollInterval is the safety re-check under IDLE: imapmemserver does
			// not report mail appended between the last command and IDLE.
			src := startSource(t, ts, IMAPOptions{Store: st, Sink: sink, After: tc.after, MoveTo: "Processed",
				BatchSize: 3, PollInterval: 200 * time.Millisecond})
			sink.waitMessages(t, 4)
			ts.appendTestMails(5, 6) // and mail arriving while it runs
			sink.waitMessages(t, 6)
			waitFor(t, "after-processing", 5*time.Second, func() bool {
				inbox, unseen := ts.status("INBOX")
				return inbox == tc.wantInbox && unseen == tc.wantUnseen
			})
			src.stop(t)
			if tc.after == AfterMove {
				if moved, _ := ts.status("Processed"); moved != tc.wantMoved {
					t.Errorf("%d messages in Processed, want %d", moved, tc.wantMoved)
				}
			}
			if got := len(sink.messageIDs()); got != 6 {
				t.Errorf("delivered %d, want 6", got)
			}
		})
	}
}

// A move that was lost (connection dropped after the commit) is done on the
// next connection: committed mail does not stay in the inbox.
func TestIMAPReappliesMoveAfterReconnect(t *testing.T) {
	ts := newTestIMAPServer(t, capsFull)
	ts.appendTestMails(1, 3)
	st := openTestStore(t, store.BoltOptions{})
	// The cursor says 1..2 were committed, as if the daemon died before MOVE.
	validity := func() uint32 {
		d, err := ts.user.Status("INBOX", &imap.StatusOptions{UIDValidity: true})
		if err != nil {
			t.Fatal(err)
		}
		return d.UIDValidity
	}()
	if err := st.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutCursor(store.Cursor{Source: "support", UIDValidity: validity, LastUID: 2})
	}); err != nil {
		t.Fatal(err)
	}
	sink := &recordingSink{st: st}
	startSource(t, ts, IMAPOptions{Store: st, Sink: sink, After: AfterMove, MoveTo: "Processed"})
	sink.waitMessages(t, 1)
	waitFor(t, "all three moved", 5*time.Second, func() bool {
		moved, _ := ts.status("Processed")
		inbox, _ := ts.status("INBOX")
		return moved == 3 && inbox == 0
	})
	if got := sink.messageIDs(); len(got) != 1 || got[0] != "m3@example.org" {
		t.Errorf("delivered %v, want only m3", got)
	}
}

func TestIMAPRunReturnsPromptlyOnCancel(t *testing.T) {
	t.Run("while idle", func(t *testing.T) {
		ts := newTestIMAPServer(t, capsFull)
		st := openTestStore(t, store.BoltOptions{})
		src := startSource(t, ts, IMAPOptions{Store: st, Sink: &recordingSink{st: st}})
		src.waitSynced(t, time.Time{})
		time.Sleep(20 * time.Millisecond)
		t.Logf("returned %v after cancel", src.stop(t))
	})
	t.Run("while backing off", func(t *testing.T) {
		ts := newTestIMAPServer(t, capsFull)
		ts.stop()
		st := openTestStore(t, store.BoltOptions{})
		src := startSource(t, ts, IMAPOptions{Store: st, Sink: &recordingSink{st: st},
			BackoffMin: time.Hour, BackoffMax: time.Hour})
		waitFor(t, "first failure", 5*time.Second, func() bool { return !src.Health().OK })
		t.Logf("returned %v after cancel", src.stop(t))
	})
	t.Run("while a server never answers", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() { // accept and say nothing
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		st := openTestStore(t, store.BoltOptions{})
		src := startSource(t, nil, IMAPOptions{Addr: ln.Addr().String(), Store: st, Sink: &recordingSink{st: st}})
		time.Sleep(100 * time.Millisecond)
		t.Logf("returned %v after cancel", src.stop(t))
	})
	t.Run("while the sink is committing", func(t *testing.T) {
		ts := newTestIMAPServer(t, capsFull)
		ts.appendMail("INBOX", testMail(1), time.Time{})
		st := openTestStore(t, store.BoltOptions{})
		sink := &recordingSink{st: st, block: make(chan struct{}), entered: make(chan struct{}, 1)}
		src := startSource(t, ts, IMAPOptions{Store: st, Sink: sink})
		<-sink.entered
		src.cancel()
		close(sink.block)
		src.stop(t)
		// The batch in flight was committed, not abandoned.
		if got := len(sink.messageIDs()); got != 1 {
			t.Errorf("in-flight batch: %d messages committed, want 1", got)
		}
	})
}

func TestIMAPNormalizerPanicQuarantines(t *testing.T) {
	ts := newTestIMAPServer(t, capsFull)
	ts.appendTestMails(1, 3)
	st := openTestStore(t, store.BoltOptions{})
	sink := &recordingSink{st: st}
	startSource(t, ts, IMAPOptions{Store: st, Sink: sink, Normalize: func(raw []byte) *store.Message {
		switch {
		case bytes.Contains(raw, []byte("<m2@")):
			panic("hostile input")
		case bytes.Contains(raw, []byte("<m3@")):
			return nil
		}
		return testNormalize(raw)
	}})
	sink.waitMessages(t, 3)
	msgs := sink.snapshot()[0].Messages
	if msgs[0].Status != store.StatusRecorded {
		t.Errorf("message 1 status %q", msgs[0].Status)
	}
	for _, m := range msgs[1:] {
		if m.Status != store.StatusQuarantined || m.Reason == "" || len(m.Raw) == 0 || m.ContentHash == "" || m.SourceRef == "" {
			t.Errorf("broken message not quarantined with reason, raw, hash and ref: %+v", m)
		}
	}
}

// warnCounter counts Warn records with a given message.
type warnCounter struct {
	slog.Handler
	msg string
	n   *atomic.Int32
}

func (h warnCounter) WithAttrs(as []slog.Attr) slog.Handler {
	return warnCounter{h.Handler.WithAttrs(as), h.msg, h.n}
}

func (h warnCounter) WithGroup(name string) slog.Handler {
	return warnCounter{h.Handler.WithGroup(name), h.msg, h.n}
}

func (h warnCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn && r.Message == h.msg {
		h.n.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func TestIMAPBadLoginFailsHealthAndWarnsOnce(t *testing.T) {
	ts := newTestIMAPServer(t, capsFull)
	st := openTestStore(t, store.BoltOptions{})
	var warned atomic.Int32
	logger := slog.New(warnCounter{slog.NewTextHandler(t.Output(), nil), "imap inbox failing", &warned})
	src := startSource(t, ts, IMAPOptions{Store: st, Sink: &recordingSink{st: st}, Password: "wrong",
		Logger: logger, FailingAfter: 50 * time.Millisecond, BackoffMax: 20 * time.Millisecond})
	waitFor(t, "a sustained failure", 5*time.Second, func() bool {
		h := src.Health()
		return h.ConsecutiveFailures >= 3 && time.Since(h.FailingSince) > 100*time.Millisecond
	})
	h := src.Health()
	if h.OK || !strings.Contains(h.LastError, "login") || strings.Contains(h.LastError, "wrong") {
		t.Errorf("health %+v: want not OK, a login error, no password", h)
	}
	if n := warned.Load(); n != 1 {
		t.Errorf("logged the sustained failure at Warn %d times, want once", n)
	}
}

func TestIMAPTLSModes(t *testing.T) {
	// httptest makes a certificate valid for 127.0.0.1.
	web := httptest.NewTLSServer(nil)
	defer web.Close()
	roots := x509.NewCertPool()
	roots.AddCert(web.Certificate())
	serverTLS := &tls.Config{Certificates: web.TLS.Certificates}
	cases := []struct {
		mode  string
		setup func(*testIMAPServer)
	}{
		{TLSImplicit, func(ts *testIMAPServer) {
			ts.listen = func(ln net.Listener) net.Listener { return tls.NewListener(ln, serverTLS) }
		}},
		{TLSStartTLS, func(ts *testIMAPServer) { ts.opts.TLSConfig = serverTLS }},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			ts := newTestIMAPServer(t, capsFull, func(ts *testIMAPServer) {
				ts.opts.InsecureAuth = false // login must happen over TLS
				tc.setup(ts)
			})
			ts.appendMail("INBOX", testMail(1), time.Time{})
			st := openTestStore(t, store.BoltOptions{})
			sink := &recordingSink{st: st}
			startSource(t, ts, IMAPOptions{Store: st, Sink: sink, TLS: tc.mode, TLSConfig: &tls.Config{RootCAs: roots}})
			sink.waitMessages(t, 1)
		})
	}
}

func TestPlanBatches(t *testing.T) {
	l := []pending{{1, 10}, {2, 10}, {3, 100}, {4, 10}, {5, 10}, {7, 10}, {8, 10}, {9, 10}, {10, 10}, {11, 10}}
	got := planBatches(l, 8, 25)
	var s []string
	for _, b := range got {
		var uids []string
		for _, p := range b {
			uids = append(uids, fmt.Sprint(p.uid))
		}
		s = append(s, strings.Join(uids, ","))
	}
	// The first batch is a quarter of 8; 3 is alone (over the byte cap on
	// its own); the rest are cut by the byte cap before the count.
	if want := "1,2 3 4,5 7,8 9,10 11"; strings.Join(s, " ") != want {
		t.Errorf("batches %q, want %q", strings.Join(s, " "), want)
	}
}

func TestBackoff(t *testing.T) {
	b := newBackoff(time.Second, 10*time.Second)
	b.rand = func() float64 { return 0.999999 }
	var got []time.Duration
	for range 6 {
		got = append(got, b.next().Round(time.Second))
	}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("ceilings %v, want %v s", got, want)
		}
	}
	b.reset()
	b.rand = func() float64 { return 0.5 }
	if d := b.next(); d != 500*time.Millisecond {
		t.Errorf("after reset, half-way jitter gave %v, want 500ms", d)
	}
	b.rand = func() float64 { return 0 }
	if d := b.next(); d != 0 {
		t.Errorf("zero jitter gave %v (full jitter starts at 0)", d)
	}
}

func TestNewIMAPSourceValidates(t *testing.T) {
	_, err := NewIMAPSource(IMAPOptions{TLS: "ssl", After: "delete"})
	if err == nil {
		t.Fatal("no error for empty options")
	}
	for _, want := range []string{"addr", "username", `tls "ssl"`, `after "delete"`, "store", "sink"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	_, err = NewIMAPSource(IMAPOptions{Addr: "h:1", Username: "u", After: AfterMove, Store: openTestStore(t, store.BoltOptions{}), Sink: &recordingSink{}})
	if err == nil || !strings.Contains(err.Error(), "move_to") {
		t.Errorf("after=move without move_to: %v", err)
	}
}

// BenchmarkIMAPBacklog reads a 2,000-mail backlog from the in-memory server
// (on the same CPUs) into a sink that only counts, and reports mails/s: with
// the real normaliser, and with a trivial one to show the IMAP side alone.
func BenchmarkIMAPBacklog(b *testing.B) {
	const n = 2000
	ts := newTestIMAPServer(b, capsFull)
	ts.appendTestMails(1, n)
	cases := []struct {
		name      string
		normalize func([]byte) *store.Message
	}{
		{"normalize=default", nil},
		{"normalize=trivial", func(raw []byte) *store.Message { return &store.Message{Size: int64(len(raw))} }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				readBacklog(b, ts, n, tc.normalize)
			}
			b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "mails/s")
		})
	}
}

// readBacklog runs a fresh source (no cursor) until it delivered n mails.
func readBacklog(b *testing.B, ts *testIMAPServer, n int, normalize func([]byte) *store.Message) {
	sink := &countingSink{want: n, done: make(chan struct{})}
	src, err := NewIMAPSource(IMAPOptions{Addr: ts.addr, TLS: TLSNone, Username: "user", Password: "password",
		Store: cursorOnlyStore{}, Sink: sink, Normalize: normalize, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- src.Run(ctx) }()
	<-sink.done
	cancel()
	<-done
}

type countingSink struct {
	want int
	n    atomic.Int64
	done chan struct{}
}

func (s *countingSink) Deliver(_ context.Context, b store.Batch) error {
	if s.n.Add(int64(len(b.Messages))) == int64(s.want) {
		close(s.done)
	}
	return nil
}

// cursorOnlyStore is a Store that has no cursor: enough for a source that
// reads from the start.
type cursorOnlyStore struct{ store.Store }

func (cursorOnlyStore) View(_ context.Context, fn func(store.Tx) error) error {
	return fn(cursorOnlyTx{})
}

type cursorOnlyTx struct{ store.Tx }

func (cursorOnlyTx) Cursor(source string) (store.Cursor, error) {
	return store.Cursor{Source: source}, nil
}

// TestCoalesceAfterSets: the After stage merges the committed batches that
// are already waiting into one command, and stops at the first empty read.
func TestCoalesceAfterSets(t *testing.T) {
	ch := make(chan imap.UIDSet, 3)
	ch <- imap.UIDSetNum(4, 5)
	ch <- imap.UIDSetNum(6)
	got := coalesce(imap.UIDSetNum(1, 2, 3), ch)
	for _, uid := range []imap.UID{1, 2, 3, 4, 5, 6} {
		if !got.Contains(uid) {
			t.Errorf("coalesced set %s lacks %d", got, uid)
		}
	}
	if len(ch) != 0 {
		t.Errorf("%d sets left waiting", len(ch))
	}
	close(ch)
	if got := coalesce(imap.UIDSetNum(9), ch); got.String() != "9" {
		t.Errorf("after close: %s, want 9", got)
	}
}

// TestIMAPBacklogCountsDown: Backlog says how much of a catch-up is not
// committed yet (the daemon holds sending while it is large), and is 0
// once the catch-up is done.
func TestIMAPBacklogCountsDown(t *testing.T) {
	ts := newTestIMAPServer(t, capsFull)
	ts.appendTestMails(1, 10)
	st := openTestStore(t, store.BoltOptions{})
	sink := &recordingSink{st: st, block: make(chan struct{}), entered: make(chan struct{}, 1)}
	src := startSource(t, ts, IMAPOptions{Store: st, Sink: sink, BatchSize: 4})
	want := []int{10, 9, 5, 1} // before each batch commits: 1, 4, 4, 1
	for i, w := range want {
		<-sink.entered
		if got := src.Backlog(); got != w {
			t.Errorf("batch %d: Backlog = %d, want %d", i, got, w)
		}
		sink.block <- struct{}{}
	}
	waitFor(t, "the catch-up to end", 5*time.Second, func() bool { return src.Backlog() == 0 && len(sink.snapshot()) == 4 })
}

// TestIMAPReadsOnlyTheStartOfAHugeMail: a mail over MaxReadBytes is
// fetched only up to it (a partial FETCH), still recorded, with its text,
// its true size, a warning, and its file noted as too large; mail under the
// limit in the same batch is read whole.
func TestIMAPReadsOnlyTheStartOfAHugeMail(t *testing.T) {
	ts := newTestIMAPServer(t, capsFull)
	file := make([]byte, 300<<10)
	for i := range file {
		file[i] = byte(i * 7)
	}
	huge := "From: Big Sender <big@example.org>\r\nTo: support@example.com\r\nSubject: Photos of the damage\r\n" +
		"Message-ID: <huge@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe kettle leaks; photos attached.\r\n" +
		"--b1\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=damage.jpg\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64Lines(file) + "--b1--\r\n"
	ts.appendMail("INBOX", testMail(1), time.Time{})
	ts.appendMail("INBOX", []byte(huge), time.Time{})
	st := openTestStore(t, store.BoltOptions{})
	sink := &recordingSink{st: st}
	reg := prometheus.NewRegistry()
	const limit = 64 << 10
	startSource(t, ts, IMAPOptions{Store: st, Sink: sink, MaxReadBytes: limit, Registerer: reg,
		Normalize: func(raw []byte) *store.Message {
			if len(raw) > limit {
				t.Errorf("normaliser got %d bytes, over the %d-byte read limit", len(raw), limit)
			}
			return Normalize(raw, NormalizeOptions{})
		}})
	sink.waitMessages(t, 2)
	var big, small *store.Message
	for _, b := range sink.snapshot() {
		for _, m := range b.Messages {
			if m.MessageID == "huge@example.org" {
				big = m
			} else {
				small = m
			}
		}
	}
	if big == nil || small == nil {
		t.Fatalf("messages: big %v, small %v", big, small)
	}
	if big.Size != int64(len(huge)) || !strings.Contains(big.Text, "kettle leaks") || big.Status != store.StatusRecorded {
		t.Errorf("huge mail: size %d (want %d), status %s, text %q", big.Size, len(huge), big.Status, big.Text)
	}
	if w := big.Headers[WarningHeader]; !strings.Contains(w, "read limit") {
		t.Errorf("warning %q lacks the read limit", w)
	}
	if len(big.Attachments) != 1 || big.Attachments[0].Kept || !strings.HasPrefix(big.Attachments[0].NotKeptWhy, "over the read limit") {
		t.Errorf("attachments %+v, want damage.jpg not kept, over the read limit", big.Attachments)
	}
	if strings.Contains(small.Headers[WarningHeader], "read limit") || small.Size != int64(len(testMail(1))) {
		t.Errorf("small mail marked as cut: %+v", small)
	}
	if got := metricValue(t, reg, "complaintbot_ingest_imap_messages_cut_total"); got != 1 {
		t.Errorf("messages_cut_total = %v, want 1", got)
	}
}

// base64Lines is b in base64, 76 characters to a CRLF-ended line.
func base64Lines(b []byte) string {
	enc := base64.StdEncoding.EncodeToString(b)
	var sb strings.Builder
	for len(enc) > 76 {
		sb.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	sb.WriteString(enc + "\r\n")
	return sb.String()
}

// commandLog records the commands clients send to a test server, by their
// name (the word after the tag) and, for UID commands, the word after UID.
type commandLog struct {
	mu   sync.Mutex
	cmds []string
}

func (l *commandLog) add(line string) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return
	}
	name := strings.ToUpper(f[1])
	if name == "UID" && len(f) > 2 {
		name += " " + strings.ToUpper(f[2])
	}
	l.mu.Lock()
	l.cmds = append(l.cmds, name)
	l.mu.Unlock()
}

func (l *commandLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.cmds)
}

type loggingListener struct {
	net.Listener
	log *commandLog
}

func (ll loggingListener) Accept() (net.Conn, error) {
	c, err := ll.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &loggingConn{Conn: c, log: ll.log}, nil
}

// loggingConn splits what the client writes into lines; literals are
// short in these tests, so a line that is message data is logged too but
// names no command the assertions look for.
type loggingConn struct {
	net.Conn
	log  *commandLog
	part []byte
}

func (c *loggingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.part = append(c.part, p[:n]...)
	for {
		i := bytes.IndexByte(c.part, '\n')
		if i < 0 {
			break
		}
		c.log.add(string(c.part[:i]))
		c.part = c.part[i+1:]
	}
	return n, err
}

// The backlog is read with the mailbox open read-only (EXAMINE): a
// read-write SELECT of a maildir makes Dovecot rename every new mail
// first. It is selected read-write only once the backlog is recorded,
// and then the committed mail is moved; with After "leave" never.
func TestIMAPReadsTheBacklogReadOnly(t *testing.T) {
	for _, after := range []string{AfterMove, AfterSeen, AfterLeave} {
		t.Run(after, func(t *testing.T) {
			log := &commandLog{}
			ts := newTestIMAPServer(t, capsFull, func(ts *testIMAPServer) {
				ts.listen = func(ln net.Listener) net.Listener { return loggingListener{Listener: ln, log: log} }
			})
			ts.appendTestMails(1, 7)
			st := openTestStore(t, store.BoltOptions{})
			sink := &recordingSink{st: st}
			src := startSource(t, ts, IMAPOptions{Store: st, Sink: sink, After: after, MoveTo: "Processed", BatchSize: 3})
			sink.waitMessages(t, 7)
			want := map[string][2]uint32{AfterMove: {0, 0}, AfterSeen: {7, 0}, AfterLeave: {7, 7}}[after] // in INBOX, unseen
			waitFor(t, "after-processing", 5*time.Second, func() bool {
				inbox, unseen := ts.status("INBOX")
				return inbox == want[0] && unseen == want[1]
			})
			src.stop(t)
			cmds := log.list()
			examine, sel := slices.Index(cmds, "EXAMINE"), slices.Index(cmds, "SELECT")
			lastFetch := -1
			for i, c := range cmds {
				if c == "UID FETCH" {
					lastFetch = i
				}
			}
			if examine < 0 || lastFetch < examine {
				t.Fatalf("commands %v: the backlog was not fetched after EXAMINE", cmds)
			}
			if after == AfterLeave {
				if sel >= 0 {
					t.Errorf("commands %v: SELECT with After leave", cmds)
				}
				return
			}
			action := map[string]string{AfterMove: "UID MOVE", AfterSeen: "UID STORE"}[after]
			first := slices.Index(cmds, action)
			if sel < lastFetch || first < sel {
				t.Errorf("commands %v: want EXAMINE, the fetches, then SELECT, then %s", cmds, action)
			}
			if n := len(slices.DeleteFunc(slices.Clone(cmds), func(c string) bool { return c != action })); n != 1 {
				t.Errorf("commands %v: %d %s commands for one backlog, want one", cmds, n, action)
			}
		})
	}
}
