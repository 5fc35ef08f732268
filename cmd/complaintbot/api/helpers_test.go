package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"complaintbot/store"
)

const testToken = "s3cret-token-for-tests-only"

var t0 = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func openStore(t *testing.T) *store.Bolt { return openStoreTB(t) }

func openStoreTB(t testing.TB) *store.Bolt {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "cb.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// hostileSubject is what a customer could put in a subject to break a CSV
// file or plant a spreadsheet formula.
const hostileSubject = "=HYPERLINK(\"http://evil.example\",\"click, here\")\nsecond line"

// fixture is what seed stored.
type fixture struct {
	numbers  []string // complaint numbers, oldest first
	raw      []byte   // raw bytes of the quarantined message
	messages int      // messages on complaints
	events   int
}

// seed stores three complaints (two of alice's, one of bob's), their
// messages, events and acks, and the noise that belongs to no complaint: an
// ignored auto-reply, a quarantined message and a notification.
func seed(t *testing.T, st store.Store) fixture {
	t.Helper()
	fx := fixture{raw: []byte("From: x\r\n\r\n\xff\xfe broken \x00 bytes")}
	err := st.Update(context.Background(), func(tx store.Tx) error {
		alice := &store.Customer{Name: `Alice "Ali" O'Neil, Jr.`, Emails: []string{"alice@example.com"}, Lang: "en"}
		bob := &store.Customer{Name: "Бобров Борис", Emails: []string{"bob@example.ru"}, Lang: "ru"}
		for _, c := range []*store.Customer{alice, bob} {
			if err := tx.PutCustomer(c); err != nil {
				return err
			}
		}
		specs := []struct {
			cust    *store.Customer
			subject string
			stage   string
			msgs    int
		}{
			{alice, "Broken kettle", store.StageRegistered, 2},
			{bob, "Не работает чайник", store.StageAnalysis, 1},
			{alice, hostileSubject, store.StageRegistered, 1},
		}
		for i, s := range specs {
			c := &store.Complaint{CustomerID: s.cust.ID, Channel: store.ChannelEmail, Subject: s.subject,
				Lang: s.cust.Lang, Stage: s.stage, CreatedAt: t0.Add(time.Duration(i) * time.Hour),
				DueAt: t0.Add(time.Duration(i)*time.Hour + 24*time.Hour), Category: "-1 product"}
			if err := tx.PutComplaint(c); err != nil {
				return err
			}
			fx.numbers = append(fx.numbers, c.Number)
			if err := seedThread(tx, c, s.cust, s.msgs); err != nil {
				return err
			}
			fx.messages += s.msgs
			fx.events += 2
		}
		return seedNoise(tx, fx.raw)
	})
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

func seedThread(tx store.Tx, c *store.Complaint, cust *store.Customer, n int) error {
	for j := range n {
		m := &store.Message{ComplaintID: c.ID, CustomerID: cust.ID, Direction: store.DirectionIn,
			Channel: store.ChannelEmail, MessageID: c.Number + "." + string(rune('a'+j)) + "@example.com",
			From: store.Address{Name: cust.Name, Email: cust.Emails[0]}, Subject: c.Subject,
			Text: "text", FullText: "text\n> quoted", Status: store.StatusRecorded, ReceivedAt: c.CreatedAt,
			Attachments: []store.Attachment{{Name: "photo.jpg", ContentType: "image/jpeg", Size: 4, Kept: true, Data: []byte("JPEG")}}}
		if err := tx.PutMessage(m); err != nil {
			return err
		}
	}
	for _, kind := range []string{"registered", "ack_queued"} {
		if err := tx.AppendEvent(&store.Event{ComplaintID: c.ID, Actor: "system", Kind: kind, At: c.CreatedAt}); err != nil {
			return err
		}
	}
	return tx.PutNotification(&store.Notification{ComplaintID: c.ID, CustomerID: cust.ID, Kind: "ack",
		Channel: store.ChannelEmail, To: store.Address{Email: cust.Emails[0]}, Subject: "Re: " + c.Subject})
}

func seedNoise(tx store.Tx, raw []byte) error {
	noise := []*store.Message{
		{Direction: store.DirectionIn, Channel: store.ChannelEmail, MessageID: "ooo@example.com",
			From: store.Address{Email: "away@example.com"}, Subject: "Out of office",
			Status: store.StatusIgnored, Reason: "auto-reply: Auto-Submitted: auto-replied", ReceivedAt: t0},
		{Direction: store.DirectionIn, Channel: store.ChannelEmail, Status: store.StatusQuarantined,
			Reason: "unparseable header", Raw: raw, Size: int64(len(raw)), ReceivedAt: t0},
	}
	for _, m := range noise {
		if err := tx.PutMessage(m); err != nil {
			return err
		}
	}
	return tx.PutNotification(&store.Notification{Kind: "digest", Channel: store.ChannelEmail,
		To: store.Address{Email: "staff@example.com"}})
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testServer struct {
	*httptest.Server
	log *syncBuffer
}

func newServer(t *testing.T, o Options) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.Gatherer == nil {
		o.Gatherer = prometheus.NewRegistry()
	}
	o.Now = func() time.Time { return t0 }
	srv := httptest.NewServer(New(o))
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, log: logs}
}

// get requests path with the given Authorization header ("" for none).
func (s *testServer) get(t *testing.T, path, auth string) (*http.Response, []byte) {
	t.Helper()
	return s.do(t, http.MethodGet, path, auth)
}

func (s *testServer) do(t *testing.T, method, path, auth string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

const bearer = "Bearer " + testToken
