package notify

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"complaintbot/internal/tgfake"
	"complaintbot/store"
)

// tgRow is an acknowledgement for a Telegram chat, as the router will make it.
func tgRow(lang, name string, chat int64) *store.Notification {
	r := ackRow(lang, name, "", "The lid is broken")
	r.Channel, r.TelegramChatID = store.ChannelTelegram, chat
	r.InReplyTo, r.References, r.Subject, r.MessageID = "", nil, "-", "-"
	return r
}

// tgOptions are testOptions with Telegram sent to fake.
func tgOptions(st store.Store, smtpAddr string, fake *tgfake.Server, tg TelegramOptions) Options {
	o := testOptions(st, smtpAddr)
	tg.Token, tg.APIEndpoint = fake.Token(), fake.APIEndpoint()
	o.Telegram = &tg
	return o
}

func startFake(t testing.TB, o tgfake.Options) *tgfake.Server {
	fake := tgfake.New(o)
	t.Cleanup(fake.Close)
	return fake
}

func TestTelegramAckSentAndEscaped(t *testing.T) {
	fake := startFake(t, tgfake.Options{})
	fake.AddChat(500)
	st := openStore(t)
	row := tgRow("ru", `Иван <b>"Ви" & Co`, 500)
	row.Data["subject"] = `Крышка <script>alert(1)</script> & "ещё"`
	row.Data["buttons"] = `[[{"text":"Мои обращения","data":"status"}]]`
	row = seed(t, st, row)
	n := newNotifier(t, tgOptions(st, freeAddr(t), fake, TelegramOptions{}))
	run(t, n)
	eventually(t, "the ack sent", func() bool { return statusOf(t, st, row.ID) == store.NotifySent })

	sent := fake.Sent(500)
	if len(sent) != 1 {
		t.Fatalf("%d messages sent", len(sent))
	}
	m := sent[0]
	for _, want := range []string{`Здравствуйте, Иван <b>"Ви" & Co!`, row.Data["number"], `«Крышка <script>alert(1)</script> & "ещё"»`,
		"29.11.2026 16:00 (Europe/Vilnius)", "/new", "Acme"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("shown text lacks %q:\n%s", want, m.Text)
		}
	}
	if m.ParseMode != "HTML" || strings.Contains(m.Raw, "<script>") || !strings.Contains(m.Raw, "<b>"+row.Data["number"]+"</b>") {
		t.Errorf("sent as %s:\n%s", m.ParseMode, m.Raw)
	}
	if len(m.Keyboard) != 1 || m.Keyboard[0][0] != (tgfake.Button{Text: "Мои обращения", Data: "status"}) {
		t.Errorf("keyboard %+v", m.Keyboard)
	}

	msgs := messagesOf(t, st, row.ComplaintID)
	if len(msgs) != 1 {
		t.Fatalf("%d messages recorded", len(msgs))
	}
	out := msgs[0]
	if out.Channel != store.ChannelTelegram || out.Direction != store.DirectionOut || out.TelegramChatID != 500 ||
		out.MessageID != fmt.Sprintf("tg-500-%d", m.MessageID) || out.Text != m.Text || out.Status != store.StatusSent {
		t.Errorf("recorded %+v", out)
	}
	evs := eventsOf(t, st, row.ComplaintID)
	if last := evs[len(evs)-1]; last.Kind != "ack_sent" || last.Fields["telegram_chat_id"] != "500" || last.Fields["message_id"] != out.MessageID {
		t.Errorf("event %+v", last)
	}
}

// Ten rows for one chat go out one per PerChat with no 429, although the
// fake allows no burst at all (12/s, a margin for the jitter between our
// clock and its) and four senders work in parallel.
func TestTelegramPacesPerChat(t *testing.T) {
	fake := startFake(t, tgfake.Options{PerChatRate: 12, PerChatBurst: 1, GlobalRate: 1000, GlobalBurst: 1000})
	fake.AddChat(600)
	fake.AddChat(601)
	st := openStore(t)
	var rows []*store.Notification
	for range 10 {
		rows = append(rows, seed(t, st, tgRow("en", "Ann", 600)))
	}
	other := seed(t, st, tgRow("en", "Bob", 601))
	n := newNotifier(t, tgOptions(st, freeAddr(t), fake, TelegramOptions{PerChat: 100 * time.Millisecond, MaxWait: 250 * time.Millisecond}))
	start := time.Now()
	run(t, n)
	sent := fake.WaitSent(600, 10, 10*time.Second)
	took := time.Since(start)
	if len(sent) != 10 {
		t.Fatalf("%d of 10 sent", len(sent))
	}
	if fake.RateLimited() != 0 {
		t.Errorf("%d sends refused with 429", fake.RateLimited())
	}
	minGap := time.Hour
	for i := 1; i < len(sent); i++ {
		minGap = min(minGap, sent[i].At.Sub(sent[i-1].At))
	}
	t.Logf("10 messages to one chat at 100ms spacing: %v in all, smallest gap %v", took, minGap)
	if minGap < 80*time.Millisecond {
		t.Errorf("smallest gap between messages to one chat %v, want about 100ms", minGap)
	}
	if got := fake.Sent(601); len(got) != 1 || got[0].At.Sub(start) > time.Second {
		t.Errorf("the other chat waited behind the busy one: %+v", got)
	}
	for _, r := range append(rows, other) {
		eventually(t, "all rows marked sent", func() bool { return statusOf(t, st, r.ID) == store.NotifySent })
		if a := notification(t, st, r.ID).Attempts; a != 1 {
			t.Errorf("row %d: %d attempts; pacing must not count as one", r.ID, a)
		}
	}
}

func TestTelegram429WaitsRetryAfter(t *testing.T) {
	fake := startFake(t, tgfake.Options{})
	fake.AddChat(700)
	fake.FailNext("sendMessage", 429, 1)
	st := openStore(t)
	o := tgOptions(st, freeAddr(t), fake, TelegramOptions{})
	o.MaxAttempts = 1 // a 429 counted as a failure would fail the row
	row := seed(t, st, tgRow("lt", "Ona", 700))
	n := newNotifier(t, o)
	start := time.Now()
	run(t, n)
	eventually(t, "the row put back", func() bool { return notification(t, st, row.ID).LastError != "" })
	got := notification(t, st, row.ID)
	if got.Status != store.NotifyPending || got.Attempts != 0 || !strings.Contains(got.LastError, "429") ||
		got.NextAttempt.Sub(start) < 900*time.Millisecond {
		t.Fatalf("after 429: %+v", got)
	}
	sent := fake.WaitSent(700, 1, 5*time.Second)
	if len(sent) != 1 || sent[0].At.Sub(start) < 950*time.Millisecond {
		t.Fatalf("sent %+v; want one, after retry_after", sent)
	}
	eventually(t, "sent", func() bool { return statusOf(t, st, row.ID) == store.NotifySent })
	if a := notification(t, st, row.ID).Attempts; a != 1 {
		t.Errorf("attempts %d", a)
	}
	if v := metricValue(t, o.Registerer, "complaintbot_notifications_failed_total", "kind_of_failure", "rate_limited"); v != 1 {
		t.Errorf("rate_limited counted %v times", v)
	}
}

func TestTelegramBlockedFallsBackToEmail(t *testing.T) {
	fake := startFake(t, tgfake.Options{})
	fake.AddChat(800)
	fake.AddChat(801)
	fake.Block(800)
	fake.Block(801)
	rec := &relay{}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	withEmailRow := tgRow("en", "Ann", 800)
	withEmailRow.Data["buttons"] = `[[{"text":"Status","data":"status"}]]`
	withEmail := seed(t, st, withEmailRow)
	noEmail := seed(t, st, tgRow("en", "Bob", 801))
	err := st.Update(context.Background(), func(tx store.Tx) error {
		c, err := tx.Customer(withEmail.CustomerID)
		if err != nil {
			return err
		}
		c.Emails = []string{"ann@customer.test"}
		return tx.PutCustomer(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	n := newNotifier(t, tgOptions(st, addr, fake, TelegramOptions{}))
	run(t, n)
	eventually(t, "the fallback email", func() bool { return rec.count() == 1 })
	eventually(t, "both rows failed", func() bool {
		return statusOf(t, st, withEmail.ID) == store.NotifyFailed && statusOf(t, st, noEmail.ID) == store.NotifyFailed
	})

	for _, r := range []*store.Notification{withEmail, noEmail} {
		got := notification(t, st, r.ID)
		var last *store.Event
		for _, e := range eventsOf(t, st, r.ComplaintID) {
			if e.Kind == "ack_failed" {
				last = e
			}
		}
		if last == nil {
			t.Fatalf("row %d: no ack_failed event", r.ID)
		}
		if got.LastError != "blocked by the user" || last.Kind != "ack_failed" || last.Text != "blocked by the user" {
			t.Errorf("row %d: %+v, event %+v", r.ID, got, last)
		}
		hasFallback := last.Fields["fallback"] == store.ChannelEmail
		if hasFallback != (r == withEmail) {
			t.Errorf("row %d: fallback fields %v", r.ID, last.Fields)
		}
	}
	var fallback *store.Notification
	st.View(context.Background(), func(tx store.Tx) error {
		rows, err := tx.NotificationsOf(withEmail.ComplaintID)
		for _, r := range rows {
			if r.Channel == store.ChannelEmail {
				fallback = r
			}
		}
		return err
	})
	if fallback == nil || fallback.To.Email != "ann@customer.test" || fallback.Kind != "ack" || fallback.Data["number"] != withEmail.Data["number"] || fallback.Data["buttons"] != "" {
		t.Fatalf("fallback row %+v", fallback)
	}
	eventually(t, "the fallback marked sent", func() bool { return statusOf(t, st, fallback.ID) == store.NotifySent })
	if msg := rec.messages()[0]; msg.To != "ann@customer.test" || !strings.Contains(string(msg.Data), withEmail.Data["number"]) {
		t.Errorf("fallback mail to %s:\n%s", msg.To, msg.Data)
	}
}

func TestTelegramFailures(t *testing.T) {
	tests := []struct {
		name     string
		prepare  func(fake *tgfake.Server, row *store.Notification)
		status   string
		attempts int
		lastErr  string
	}{
		{name: "bad request is permanent", prepare: func(f *tgfake.Server, _ *store.Notification) { f.FailNext("sendMessage", 400, 0) },
			status: store.NotifyFailed, attempts: 1, lastErr: "400"},
		{name: "unknown chat is permanent", prepare: func(_ *tgfake.Server, r *store.Notification) { r.TelegramChatID = 12345 },
			status: store.NotifyFailed, attempts: 1, lastErr: "chat not found"},
		{name: "5xx is retried", prepare: func(f *tgfake.Server, _ *store.Notification) { f.FailNext("sendMessage", 502, 0) },
			status: store.NotifySent, attempts: 2},
		{name: "401 is retried", prepare: func(f *tgfake.Server, _ *store.Notification) { f.FailNext("sendMessage", 401, 0) },
			status: store.NotifySent, attempts: 2},
		{name: "malformed buttons", prepare: func(_ *tgfake.Server, r *store.Notification) { r.Data["buttons"] = `[{"text":"x"}]` },
			status: store.NotifyFailed, attempts: 1, lastErr: "buttons"},
		{name: "button data too long", prepare: func(_ *tgfake.Server, r *store.Notification) {
			r.Data["buttons"] = `[[{"text":"x","data":"` + strings.Repeat("d", 65) + `"}]]`
		}, status: store.NotifyFailed, attempts: 1, lastErr: "data of 1 to 64 bytes"},
		{name: "no chat id", prepare: func(_ *tgfake.Server, r *store.Notification) { r.TelegramChatID = 0 },
			status: store.NotifyFailed, attempts: 1, lastErr: "no chat id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := startFake(t, tgfake.Options{})
			fake.AddChat(900)
			st := openStore(t)
			row := tgRow("en", "Ann", 900)
			tc.prepare(fake, row)
			row = seed(t, st, row)
			run(t, newNotifier(t, tgOptions(st, freeAddr(t), fake, TelegramOptions{})))
			eventually(t, "the row settled", func() bool { return statusOf(t, st, row.ID) == tc.status })
			got := notification(t, st, row.ID)
			if got.Attempts != tc.attempts || !strings.Contains(got.LastError, tc.lastErr) {
				t.Errorf("row %+v", got)
			}
			if strings.Contains(got.LastError, fake.Token()) {
				t.Errorf("the token shows in %q", got.LastError)
			}
		})
	}
}

func TestTelegramRowsFailWithoutTelegramOptions(t *testing.T) {
	st := openStore(t)
	row := seed(t, st, tgRow("en", "Ann", 900))
	run(t, newNotifier(t, testOptions(st, freeAddr(t))))
	eventually(t, "failed", func() bool { return statusOf(t, st, row.ID) == store.NotifyFailed })
	if e := notification(t, st, row.ID).LastError; !strings.Contains(e, "not served") {
		t.Errorf("last error %q", e)
	}
}

func TestRenderTelegram(t *testing.T) {
	hostile := `<i>x</i> & <a href="javascript:1">`
	tests := []struct {
		name      string
		row       *store.Notification
		wantPlain []string
	}{
		{name: "ack lt", row: &store.Notification{Kind: "ack", Lang: "lt-LT", Data: map[string]string{"number": "C-2026-000001", "customer_name": hostile}},
			wantPlain: []string{"Laba diena, " + hostile + "!", "numeriu C-2026-000001", "/status"}},
		{name: "ack falls back to English", row: &store.Notification{Kind: "ack", Lang: "de", Data: map[string]string{"number": "C-1"}},
			wantPlain: []string{"Hello,", "complaint C-1"}},
		{name: "greeting ru", row: &store.Notification{Kind: "greeting", Lang: "ru"},
			wantPlain: []string{"Здравствуйте!", "/new — новое обращение"}},
		{name: "free text", row: &store.Notification{Kind: "reply", Data: map[string]string{"text": hostile + "\nsecond line"}},
			wantPlain: []string{hostile + "\nsecond line"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := RenderTelegram(tc.row, RenderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.wantPlain {
				if !strings.Contains(r.Plain, want) {
					t.Errorf("plain text lacks %q:\n%s", want, r.Plain)
				}
			}
			for _, tag := range []string{"<i>", "<a "} {
				if strings.Contains(r.HTML, tag) {
					t.Errorf("HTML carries the customer's %q:\n%s", tag, r.HTML)
				}
			}
		})
	}
	if _, err := RenderTelegram(&store.Notification{Kind: "ack"}, RenderOptions{}); err == nil {
		t.Error("an ack without a number rendered")
	}
	if _, err := RenderTelegram(&store.Notification{Kind: "nothing"}, RenderOptions{}); err == nil {
		t.Error("a kind without templates or text rendered")
	}
	long := RenderTelegramMust(t, &store.Notification{Kind: "reply", Data: map[string]string{"text": strings.Repeat("😀", 3000)}})
	if n := len([]rune(long.Plain)); n > 2048 || !strings.HasSuffix(long.Plain, "…") {
		t.Errorf("long text cut to %d runes", n)
	}
}

func RenderTelegramMust(t *testing.T, n *store.Notification) TelegramText {
	t.Helper()
	r, err := RenderTelegram(n, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPacer(t *testing.T) {
	p := newPacer(time.Second, 100*time.Millisecond, 1500*time.Millisecond)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []struct {
		chat int64
		at   time.Duration
		ok   bool
	}{
		{1, 0, true},
		{2, 100 * time.Millisecond, true}, // the global spacing
		{1, time.Second, true},
		{1, 2 * time.Second, false}, // beyond MaxWait: not booked
		{1, 2 * time.Second, false},
		{3, 1100 * time.Millisecond, true},
	}
	for i, w := range want {
		at, ok := p.reserve(w.chat, t0)
		if at.Sub(t0) != w.at || ok != w.ok {
			t.Errorf("%d: chat %d at +%v %v, want +%v %v", i, w.chat, at.Sub(t0), ok, w.at, w.ok)
		}
	}
	p.holdUntil(2, t0.Add(5*time.Second))
	if at, ok := p.reserve(2, t0.Add(3*time.Second)); ok || at.Sub(t0) != 5*time.Second {
		t.Errorf("after a 429: +%v %v", at.Sub(t0), ok)
	}
}

func BenchmarkTelegramAcks(b *testing.B) {
	fake := tgfake.New(tgfake.Options{NoRateLimit: true})
	defer fake.Close()
	st := openStore(b)
	var last *store.Notification
	for i := range b.N {
		chat := int64(1 + i%5000)
		fake.AddChat(chat)
		last = seed(b, st, tgRow("en", "Ann", chat))
	}
	o := tgOptions(st, freeAddr(b), fake, TelegramOptions{PerChat: time.Nanosecond, PerSecond: 1e9})
	o.Senders = 8
	n := newNotifier(b, o)
	b.ResetTimer()
	stop := run(b, n)
	for statusOf(b, st, last.ID) != store.NotifySent || fake.SentCount() < b.N {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	stop()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "acks/s")
}
