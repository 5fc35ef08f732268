package main

import (
	"bytes"
	"context"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"complaintbot/configs"
	"complaintbot/ingest"
	"complaintbot/internal/mailstack"
	"complaintbot/router/classify"
	"complaintbot/store"
)

// TestSmallLoadAgainstRealStack runs the whole load command against the real
// Postfix and Dovecot: every mail must be recorded exactly once, acknowledged
// exactly once, the acknowledgement must arrive in the sender's mailbox, and
// the daemon must stop cleanly.
func TestSmallLoadAgainstRealStack(t *testing.T) {
	s := mailstack.FromEnv(t)
	o := defaultOptions()
	o.N, o.Latency, o.Customers, o.Rate, o.Timeout = 200, 20, 10, 20, 30*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rep, err := run(ctx, s, o, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if rep != nil {
		var b bytes.Buffer
		rep.writeText(&b)
		t.Logf("report:\n%s", b.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	v, want := rep.Verdict, o.N+o.Latency
	if !v.OK || v.RecordedOnce != want || v.AckedOnce != want || v.AckArrivedOnce != want || v.Complaints != want {
		t.Errorf("verdict %+v, want all %d recorded, acked and arrived once", v, want)
	}
	if rep.Latency.Visible.N != o.Latency || rep.Latency.ToRegistered.N != o.Latency {
		t.Errorf("latency measured for %d (breakdown %d) of %d mails", rep.Latency.Visible.N, rep.Latency.ToRegistered.N, o.Latency)
	}
	if rep.Latency.Visible.P50 <= 0 || rep.Backlog.RecordedSeconds <= 0 || rep.Backlog.AckedSeconds < rep.Backlog.FirstAckSeconds {
		t.Errorf("implausible timings: %+v %+v", rep.Latency.Visible, rep.Backlog)
	}
	if rep.Daemon.ExitCode != 0 || rep.Daemon.PeakRSSMB <= 0 || rep.Backlog.CPU.UserSeconds <= 0 {
		t.Errorf("daemon: %+v, backlog CPU %+v", rep.Daemon, rep.Backlog.CPU)
	}
	// 200 accepted acks grow the senders' window from 4 to every allowed
	// connection; Postfix on loopback limits nothing.
	if b := rep.Backlog; b.SMTPAllowed != float64(o.SMTPConns) || b.SMTPRefused != 0 || b.NotificationsFailed != 0 {
		t.Errorf("SMTP connections allowed %v of %d, refused %v, failed sends %v; want all, none, none",
			b.SMTPAllowed, o.SMTPConns, b.SMTPRefused, b.NotificationsFailed)
	}
	// Postfix answers each step in well under a second, and never in no
	// time: a zero would mean the daemon's metrics were not read.
	for name, ms := range map[string]float64{"envelope": rep.Backlog.Senders.EnvelopeMillis, "dot": rep.Backlog.Senders.DotMillis} {
		if ms <= 0 || ms > 1000 {
			t.Errorf("relay time per %s %.3f ms; want the daemon's measure, above 0 and below 1 s", name, ms)
		}
	}
}

// TestGeneratedMailsAreComplaints checks the generator: every mail parses,
// is a person's mail (not noise), is a complaint to the daemon's default
// classifier (else it gets no ack), has its own Message-ID and no thread
// headers, and the mix has every shape the load promises.
func TestGeneratedMailsAreComplaints(t *testing.T) {
	cls, err := classify.New(classify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	custs := benchCustomers(6, "customer.test")
	g := &mailGen{rng: mrand.New(mrand.NewPCG(3, 4)), run: "t", domain: "customer.test", support: "support@test.local", custs: custs, now: time.Now}
	ids := map[string]bool{}
	shapes := map[string]int{}
	for i := range 3000 {
		m := g.next(i % len(custs))
		msg := ingest.Normalize(m.Raw, ingest.NormalizeOptions{})
		if msg.Status != store.StatusRecorded {
			t.Fatalf("mail %d is %s (%s):\n%s", i, msg.Status, msg.Reason, m.Raw)
		}
		if r := cls.Classify(msg.Subject, msg.Text); !r.IsComplaint && r.NotComplaint != "" {
			t.Fatalf("mail %d classified as %q, not a complaint (%q):\n%s\n%s", i, r.NotComplaint, r.Why, msg.Subject, msg.Text)
		}
		if msg.MessageID != m.ID || ids[m.ID] {
			t.Fatalf("mail %d: Message-ID %q, generated %q, seen before %v", i, msg.MessageID, m.ID, ids[m.ID])
		}
		ids[m.ID] = true
		if len(msg.InReplyTo) > 0 || len(msg.References) > 0 || !strings.EqualFold(msg.From.Email, custs[m.Customer].Email) {
			t.Fatalf("mail %d: in-reply-to %v, references %v, from %q", i, msg.InReplyTo, msg.References, msg.From.Email)
		}
		if strings.TrimSpace(msg.Text) == "" || msg.Subject == "" || strings.Contains(msg.Subject, "=?") {
			t.Fatalf("mail %d: subject %q, text %q", i, msg.Subject, msg.Text)
		}
		switch {
		case len(msg.Attachments) > 0:
			shapes["attachment"]++
		case msg.HTMLOnly:
			shapes["html-only"]++
		case bytes.Contains(m.Raw, []byte("multipart/alternative")):
			shapes["alternative"]++
		case bytes.Contains(m.Raw, []byte("charset=windows-125")) || bytes.Contains(m.Raw, []byte("charset=koi8-r")) || bytes.Contains(m.Raw, []byte("charset=iso-8859-13")):
			shapes["legacy charset"]++
		default:
			shapes["plain"]++
		}
		shapes["lang "+custs[m.Customer].Lang]++
	}
	for _, s := range []string{"attachment", "html-only", "alternative", "legacy charset", "plain", "lang ru", "lang lt", "lang en"} {
		if shapes[s] == 0 {
			t.Errorf("no %s mail among 3000: %v", s, shapes)
		}
	}
}

func TestLegacyCharsetTextSurvives(t *testing.T) {
	custs := []customer{{Name: "Rūta", Lang: "lt", Email: "r@customer.test"}, {Name: "Оля", Lang: "ru", Email: "o@customer.test"}}
	g := &mailGen{rng: mrand.New(mrand.NewPCG(5, 6)), run: "t", domain: "customer.test", support: "s@test.local", custs: custs, now: time.Now}
	found := 0
	for i := 0; i < 400 && found < 10; i++ {
		m := g.next(i % 2)
		if !bytes.Contains(m.Raw, []byte("Content-Transfer-Encoding: base64\r\n\r\n")) || bytes.Contains(m.Raw, []byte("multipart")) {
			continue
		}
		found++
		msg := ingest.Normalize(m.Raw, ingest.NormalizeOptions{})
		letters := map[string]string{"lt": "ąčęėįšųūž", "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"}[custs[m.Customer].Lang]
		if strings.ContainsRune(msg.Text, '\uFFFD') || !strings.ContainsAny(msg.Text, letters) {
			t.Errorf("%s text not decoded to its own letters:\n%s", custs[m.Customer].Lang, msg.Text)
		}
	}
	if found == 0 {
		t.Fatal("no legacy-charset mail generated")
	}
}

func TestVerifyFindsEveryKindOfProblem(t *testing.T) {
	sent := []outMail{{ID: "a", Customer: 0}, {ID: "b", Customer: 1}, {ID: "c", Customer: 0}, {ID: "d", Customer: 1}}
	ok := func() *recordFacts {
		return &recordFacts{copies: 1, status: store.StatusRecorded, complaint: "C-1", acks: 1}
	}
	facts := map[string]*recordFacts{"a": ok(), "b": ok(), "c": ok(), "d": ok()}
	acks := map[string][]int{"a": {0}, "b": {1}, "c": {0}, "d": {1}}
	if v := verify(sent, facts, 4, acks); !v.OK || v.RecordedOnce != 4 || v.AckArrivedOnce != 4 {
		t.Fatalf("clean run judged %+v", v)
	}

	facts["a"].copies = 2 // recorded twice
	delete(facts, "b")    // lost
	facts["c"].acks = 0   // never acknowledged
	facts["x"] = ok()     // a stranger's mail
	acks["d"] = []int{0}  // ack in the wrong mailbox
	acks["y"] = []int{1}  // ack of nothing we sent
	v := verify(sent, facts, 4, acks)
	if v.OK || v.RecordedOnce != 2 || v.AckedOnce != 1 || v.AckArrivedOnce != 3 || v.OtherMessages != 1 || v.UnexpectedAcks != 1 {
		t.Fatalf("verdict %+v", v)
	}
	for _, want := range []string{"a was recorded 2 times", "b was not recorded", "0 ack_sent events", "arrived in mailboxes [0], want once in 1", "1 unexpected messages"} {
		if !strings.Contains(strings.Join(v.Problems, "\n"), want) {
			t.Errorf("problems lack %q: %q", want, v.Problems)
		}
	}
}

func TestParseMetricsSumsLabels(t *testing.T) {
	in := `# HELP complaintbot_messages_ingested_total x
# TYPE complaintbot_messages_ingested_total counter
complaintbot_messages_ingested_total{source="a"} 10
complaintbot_messages_ingested_total{source="b"} 5
complaintbot_notifications_sent_total{channel="email",kind="ack"} 1.5e+03
complaintbot_notifications_sent_total{channel="email",kind="assigned"} 7
complaintbot_smtp_reply_seconds_sum{step="envelope"} 3
complaintbot_smtp_reply_seconds_count{step="envelope"} 1000
complaintbot_smtp_reply_seconds_sum{step="dot"} 2
complaintbot_smtp_reply_seconds_count{step="dot"} 1000
complaintbot_smtp_dot_held_seconds_total 0.5
process_resident_memory_bytes 2.5e+07
`
	m, err := parseMetrics(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if m[metricIngested] != 15 || m[metricSent] != 1500 || m["complaintbot_notifications_sent_total"] != 1507 || m["process_resident_memory_bytes"] != 2.5e7 {
		t.Errorf("parsed %v", m)
	}
	if m[`complaintbot_notifications_sent_total{channel="email",kind="assigned"}`] != 7 {
		t.Errorf("the series with labels is not kept as written: %v", m)
	}
	if st := senderTime(m); st != (SenderTime{EnvelopeMillis: 3, DotMillis: 2, HeldMillis: 0.5}) {
		t.Errorf("sender time %+v, want envelope 3 ms, dot 2 ms, held 0.5 ms per message", st)
	}
}

func TestPercentilesNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p := percentiles(ds)
	if p.N != 100 || p.P50 != 50 || p.P90 != 90 || p.P99 != 99 || p.Max != 100 {
		t.Errorf("percentiles %+v", p)
	}
	if (percentiles(nil) != Percentiles{}) {
		t.Error("percentiles of nothing are not zero")
	}
}

func TestHeaderMessageID(t *testing.T) {
	for in, want := range map[string]string{
		"In-Reply-To: <a.1@x>\r\n\r\n":              "a.1@x",
		"In-Reply-To:\r\n <folded@x> (comment)\r\n": "folded@x",
		"In-Reply-To: bare@x\r\n":                   "bare@x",
		"":                                          "",
	} {
		if got := headerMessageID([]byte(in)); got != want {
			t.Errorf("headerMessageID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigIsValidYAMLForTheDaemon(t *testing.T) {
	path := t.TempDir() + "/c.yaml"
	for _, after := range []string{"seen", "move"} {
		err := writeConfig(path, daemonConfig{StorePath: "/tmp/x \"quoted\".db", IMAPHost: "127.0.0.1", IMAPPort: 143, SupportUser: "s@test.local",
			After: after, BatchSize: 500, SMTPHost: "127.0.0.1", SMTPPort: 25, HTTPListen: "127.0.0.1:1", PasswordEnv: "P",
			Secret: "S", TokenEnv: "T", LogLevel: "info", AckPerCustomerPerHour: 1000})
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"P": "pw", "S": "0123456789abcdef0", "T": "tok"}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := configs.ParseWith(data, func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("after=%s: %v\n%s", after, err, data)
		}
		in := cfg.Inboxes[0]
		if in.After != after || (after == "move") != (in.MoveTo != "") || in.Password.Value() != "pw" ||
			cfg.Store.Path != "/tmp/x \"quoted\".db" || cfg.Ack.MaxPerHour != 1000 || cfg.SMTP.FromAddr.Address != "s@test.local" {
			t.Errorf("after=%s: parsed %+v", after, cfg)
		}
	}
}
