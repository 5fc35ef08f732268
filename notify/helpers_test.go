package notify

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"complaintbot/store"
)

// received is one message the test relay accepted.
type received struct {
	From string
	To   string
	Data []byte
	At   time.Time
}

// relay is a recording go-smtp backend. Hooks decide the reply to RCPT
// and DATA; by default everything is accepted.
type relay struct {
	mu       sync.Mutex
	msgs     []received
	rcpts    map[string]int // RCPT attempts per recipient
	sessions int
	logouts  int
	// onRcpt is called with the recipient and how many times it has been
	// seen (1 the first time); a non-nil error is the reply.
	onRcpt func(to string, n int) error
	// onData, when set, is called with each message's body once its final
	// dot is in, before the message is recorded and the 250 goes out.
	onData func()
	// user and pass, when set, make AUTH PLAIN required.
	user, pass string
}

func (r *relay) NewSession(*smtp.Conn) (smtp.Session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions++
	return &session{r: r}, nil
}

func (r *relay) messages() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.msgs...)
}

func (r *relay) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *relay) stats() (sessions, logouts int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sessions, r.logouts
}

func (r *relay) rcptCount(to string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rcpts[to]
}

type session struct {
	r        *relay
	authed   bool
	from, to string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.r.user || pass != s.r.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.r.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.r.mu.Lock()
	if s.r.rcpts == nil {
		s.r.rcpts = map[string]int{}
	}
	s.r.rcpts[to]++
	n, hook := s.r.rcpts[to], s.r.onRcpt
	s.r.mu.Unlock()
	if hook != nil {
		if err := hook(to, n); err != nil {
			return err
		}
	}
	s.to = to
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.r.onData != nil {
		s.r.onData()
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.msgs = append(s.r.msgs, received{From: s.from, To: s.to, Data: b, At: time.Now()})
	return nil
}

func (s *session) Reset() { s.from, s.to = "", "" }

func (s *session) Logout() error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.logouts++
	return nil
}

// serveRelay runs an SMTP server for rec on addr ("127.0.0.1:0" for any
// port) until the test ends and returns its address.
func serveRelay(t testing.TB, addr string, rec *relay) string {
	t.Helper()
	return serveRelayConfigured(t, addr, rec, nil)
}

// serveRelayConfigured is serveRelay with a chance to adjust the server.
func serveRelayConfigured(t testing.TB, addr string, rec *relay, configure func(*smtp.Server)) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	return serveRelayOn(t, ln, rec, configure)
}

// serveRelayOn serves rec on ln until the test ends.
func serveRelayOn(t testing.TB, ln net.Listener, rec *relay, configure func(*smtp.Server)) string {
	t.Helper()
	srv := smtp.NewServer(rec)
	srv.Domain = "relay.test"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if configure != nil {
		configure(srv)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln.Addr().String()
}

// freeAddr returns a loopback address nothing listens on (for now).
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func openStore(t testing.TB) *store.Bolt {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "complaintbot.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var vilnius = mustLoad("Europe/Vilnius")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

var testFrom = store.Address{Name: "Acme Customer Care", Email: "care@acme.test"}

// testOptions are fast settings for tests: short backoff, no TLS.
func testOptions(st store.Store, addr string) Options {
	return Options{
		Store:       st,
		SMTP:        SMTPOptions{Addr: addr, TLS: "none", HeloName: "bot.acme.test", Timeout: 5 * time.Second},
		From:        testFrom,
		CompanyName: "Acme",
		Location:    vilnius,
		Logger:      slog.New(slog.DiscardHandler),
		Registerer:  prometheus.NewRegistry(),
		MinBackoff:  20 * time.Millisecond,
		MaxBackoff:  80 * time.Millisecond,
	}
}

func newNotifier(t testing.TB, o Options) *Notifier {
	t.Helper()
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// run runs n until the returned stop is called (or the test ends); stop
// fails the test if Run did not return nil promptly.
func run(t testing.TB, n *Notifier) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- n.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// eventuallyAllSent waits until every row is marked sent in st.
func eventuallyAllSent(t testing.TB, st store.Store, rows []*store.Notification) {
	t.Helper()
	eventually(t, "every row marked sent", func() bool {
		for _, r := range rows {
			if statusOf(t, st, r.ID) != store.NotifySent {
				return false
			}
		}
		return true
	})
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ackRow is a realistic acknowledgement row as the router makes it.
func ackRow(lang, name, email, subject string) *store.Notification {
	return &store.Notification{
		Kind:       "ack",
		Channel:    store.ChannelEmail,
		Lang:       lang,
		To:         store.Address{Name: name, Email: email},
		InReplyTo:  "orig-1@customer.test",
		References: []string{"root@customer.test", "orig-1@customer.test"},
		Data: map[string]string{
			"due":           "2026-11-29T14:00:00Z",
			"customer_name": name,
			"subject":       subject,
		},
	}
}

// seed stores a customer, a complaint and the ack row n for it (filling in
// the complaint's number, the subject tag and a Message-ID) and returns
// the stored row.
func seed(t testing.TB, st store.Store, n *store.Notification) *store.Notification {
	t.Helper()
	err := st.Update(context.Background(), func(tx store.Tx) error {
		cu := &store.Customer{Name: n.To.Name, Lang: n.Lang}
		if err := tx.PutCustomer(cu); err != nil {
			return err
		}
		c := &store.Complaint{CustomerID: cu.ID, Channel: store.ChannelEmail, Subject: n.Data["subject"],
			Lang: n.Lang, Stage: store.StageRegistered}
		if err := tx.PutComplaint(c); err != nil {
			return err
		}
		n.ComplaintID, n.CustomerID = c.ID, cu.ID
		if n.Data == nil {
			n.Data = map[string]string{}
		}
		if _, ok := n.Data["number"]; !ok {
			n.Data["number"] = c.Number
		}
		if n.Subject == "" {
			n.Subject = fmt.Sprintf("Re: %s [%s]", n.Data["subject"], c.Number)
		}
		if n.MessageID == "" {
			n.MessageID = fmt.Sprintf("c%d.n0nce.mac@acme.test", c.ID)
		}
		return tx.PutNotification(n)
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return n
}

func notification(t testing.TB, st store.Store, id uint64) *store.Notification {
	t.Helper()
	var n *store.Notification
	err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		n, err = tx.Notification(id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func statusOf(t testing.TB, st store.Store, id uint64) string {
	t.Helper()
	return notification(t, st, id).Status
}

func eventsOf(t testing.TB, st store.Store, complaintID uint64) []*store.Event {
	t.Helper()
	var evs []*store.Event
	err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		evs, err = tx.Events(complaintID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func messagesOf(t testing.TB, st store.Store, complaintID uint64) []*store.Message {
	t.Helper()
	var ms []*store.Message
	err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		ms, err = tx.MessagesOf(complaintID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func reply(code int, enhanced smtp.EnhancedCode, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: msg}
}

// metricValue sums the samples of the metric name whose labels include
// the given name/value pairs.
func metricValue(t testing.TB, reg prometheus.Registerer, name string, labels ...string) float64 {
	t.Helper()
	var sum float64
	for _, m := range series(t, reg, name, labels...) {
		sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return sum
}

// series returns the series of the metric name whose labels include the
// given name/value pairs.
func series(t testing.TB, reg prometheus.Registerer, name string, labels ...string) []*dto.Metric {
	t.Helper()
	mfs, err := reg.(prometheus.Gatherer).Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []*dto.Metric
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			out = append(out, m)
		}
	}
	return out
}
