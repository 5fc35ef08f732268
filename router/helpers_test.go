package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"complaintbot/store"
)

var testSecret = []byte("0123456789abcdef-test-secret")

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a Router over a real bbolt store in a temporary directory.
type fixture struct {
	t        testing.TB
	st       *store.Bolt
	r        *Router
	clock    *clock
	reg      *prometheus.Registry
	notified atomic.Int32
}

func newFixture(t testing.TB, edit func(*Options)) *fixture {
	t.Helper()
	return newFixtureSync(t, true, edit)
}

// newFixtureSync is newFixture with a choice of fsync on commit (off only
// to measure the router's own cost).
func newFixtureSync(t testing.TB, sync bool, edit func(*Options)) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)}
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "db"), store.BoltOptions{Now: clk.Now, NoSync: !sync})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, st: st, clock: clk, reg: prometheus.NewRegistry()}
	o := Options{
		Store:      st,
		Secret:     testSecret,
		Now:        clk.Now,
		OnNotify:   func() { f.notified.Add(1) },
		Registerer: f.reg,
	}
	if edit != nil {
		edit(&o)
	}
	r, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.r = r
	return f
}

// deliver hands msgs over as one batch and fails the test on error.
func (f *fixture) deliver(msgs ...*store.Message) {
	f.t.Helper()
	b := store.Batch{Source: "inbox", Messages: msgs, Cursor: store.Cursor{Source: "inbox", UIDValidity: 7, LastUID: uint32(len(msgs))}}
	if err := f.r.Deliver(context.Background(), b); err != nil {
		f.t.Fatalf("Deliver: %v", err)
	}
}

func (f *fixture) view(fn func(tx store.Tx) error) {
	f.t.Helper()
	if err := f.st.View(context.Background(), fn); err != nil {
		f.t.Fatalf("View: %v", err)
	}
}

func (f *fixture) messages() []*store.Message {
	var out []*store.Message
	f.view(func(tx store.Tx) error {
		return tx.ForEachMessage(func(m *store.Message) error { out = append(out, m); return nil })
	})
	return out
}

func (f *fixture) complaints() []*store.Complaint {
	var out []*store.Complaint
	f.view(func(tx store.Tx) error {
		return tx.ForEachComplaint(func(c *store.Complaint) error { out = append(out, c); return nil })
	})
	return out
}

func (f *fixture) notifications() []*store.Notification {
	var out []*store.Notification
	f.view(func(tx store.Tx) error {
		return tx.ForEachNotification(func(n *store.Notification) error { out = append(out, n); return nil })
	})
	return out
}

func (f *fixture) events(complaintID uint64) []*store.Event {
	var out []*store.Event
	f.view(func(tx store.Tx) (err error) { out, err = tx.Events(complaintID); return err })
	return out
}

func (f *fixture) eventKinds(complaintID uint64) []string {
	var kinds []string
	for _, e := range f.events(complaintID) {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

func (f *fixture) customer(email string) *store.Customer {
	f.t.Helper()
	var c *store.Customer
	f.view(func(tx store.Tx) (err error) { c, err = tx.CustomerByEmail(email); return err })
	return c
}

// messageByID returns the stored message with the given Message-ID (the
// first recorded), or nil.
func (f *fixture) messageByID(id string) *store.Message {
	for _, m := range f.messages() {
		if m.MessageID == id {
			return m
		}
	}
	return nil
}

// onlyComplaint returns the single complaint, failing when there are others.
func (f *fixture) onlyComplaint() *store.Complaint {
	f.t.Helper()
	cs := f.complaints()
	if len(cs) != 1 {
		f.t.Fatalf("got %d complaints, want 1: %+v", len(cs), cs)
	}
	return cs[0]
}

// counter reads a counter (or one series of a counter vector) from the
// fixture's registry; 0 when absent.
func (f *fixture) counter(name string, labels map[string]string) float64 {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m, labels) {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok && v == lp.GetValue() {
			n++
		}
	}
	return n == len(want)
}

// mail builds a normalised inbound message the way ingest hands it over.
func mail(fromName, fromEmail, messageID, subject, text string) *store.Message {
	h := sha256.Sum256([]byte(fromEmail + "\x00" + messageID + "\x00" + subject + "\x00" + text))
	return &store.Message{
		Direction:   store.DirectionIn,
		Channel:     store.ChannelEmail,
		MessageID:   messageID,
		From:        store.Address{Name: fromName, Email: fromEmail},
		Subject:     subject,
		Text:        text,
		Status:      store.StatusRecorded,
		Size:        int64(len(text)),
		ContentHash: hex.EncodeToString(h[:]),
		ReceivedAt:  time.Date(2026, 3, 14, 9, 29, 58, 0, time.UTC),
	}
}

// replyTo makes m a reply to parent: In-Reply-To the parent, References
// the parent's references plus the parent.
func replyTo(m *store.Message, parentID string, parentRefs ...string) *store.Message {
	m.InReplyTo = []string{parentID}
	m.References = append(append([]string(nil), parentRefs...), parentID)
	return m
}

// withHash sets a fresh content hash, as for different raw bytes.
func withHash(m *store.Message, salt string) *store.Message {
	h := sha256.Sum256([]byte(m.ContentHash + salt))
	m.ContentHash = hex.EncodeToString(h[:])
	return m
}
