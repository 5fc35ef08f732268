package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"complaintbot/internal/tgfake"
	"complaintbot/store"
)

// runningTelegram is a TelegramSource whose Run goroutine the test owns.
type runningTelegram struct {
	*TelegramSource
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// stop cancels Run and checks it returned nil within a second, even in
// the middle of a long poll.
func (r *runningTelegram) stop(t testing.TB) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		case <-time.After(time.Second):
			t.Fatal("Run did not return within 1s of cancel")
		}
	})
}

// startTelegram fills the test defaults into o and runs the source.
func startTelegram(t testing.TB, fake *tgfake.Server, o TelegramOptions) *runningTelegram {
	t.Helper()
	o.Token = cmpOr(o.Token, fake.Token())
	o.APIEndpoint = cmpOr(o.APIEndpoint, fake.APIEndpoint())
	o.PollTimeout = cmpOr(o.PollTimeout, 5*time.Second)
	o.BackoffMin = cmpOr(o.BackoffMin, 10*time.Millisecond)
	o.BackoffMax = cmpOr(o.BackoffMax, 100*time.Millisecond)
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	src, err := NewTelegramSource(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningTelegram{TelegramSource: src, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- src.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func newFake(t testing.TB, o tgfake.Options) *tgfake.Server {
	fake := tgfake.New(o)
	t.Cleanup(fake.Close)
	return fake
}

// updateIDs lists the update ids of the committed messages, in order.
func updateIDs(s *recordingSink) []string {
	var ids []string
	for _, b := range s.snapshot() {
		for _, m := range b.Messages {
			ids = append(ids, m.Headers[HeaderTelegramUpdateID])
		}
	}
	return ids
}

func wantOnce(t *testing.T, got []string, pushed []int64) {
	t.Helper()
	var want []string
	for _, id := range pushed {
		want = append(want, fmt.Sprint(id))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("committed updates %v, want each of %v once, in order", got, want)
	}
}

func TestTelegramDeliversOnceWithCursor(t *testing.T) {
	fake := newFake(t, tgfake.Options{})
	fake.SetUser(tgfake.User{ID: 1001, FirstName: "Ona", LastName: "Jonaitė", Username: "ona_j", LanguageCode: "lt"})
	var pushed []int64
	for i := range 250 {
		user := int64(1001 + i%5)
		pushed = append(pushed, fake.PushText(user, user, fmt.Sprintf("message %d", i), ""))
	}
	st := openTestStore(t, store.BoltOptions{})
	sink := &recordingSink{st: st}
	src := startTelegram(t, fake, TelegramOptions{Store: st, Sink: sink})
	sink.waitMessages(t, 250)
	src.stop(t)

	wantOnce(t, updateIDs(sink), pushed)
	batches := sink.snapshot()
	if len(batches) < 3 {
		t.Errorf("%d batches for 250 updates with limit 100", len(batches))
	}
	for i, b := range batches {
		last := b.Messages[len(b.Messages)-1].Headers[HeaderTelegramUpdateID]
		if fmt.Sprint(b.Cursor.Offset-1) != last || b.Cursor.Source != src.Name() {
			t.Errorf("batch %d: cursor %+v after update %s", i, b.Cursor, last)
		}
	}
	if c := storedCursor(t, st, src.Name()); c.Offset != pushed[len(pushed)-1]+1 {
		t.Errorf("stored offset %d, want %d", c.Offset, pushed[len(pushed)-1]+1)
	}

	m := batches[0].Messages[0]
	want := store.Message{
		Direction: store.DirectionIn, Channel: store.ChannelTelegram, Source: "telegram:123456789",
		TelegramChatID: 1001, TelegramUserID: 1001, Text: "message 0", Subject: "message 0",
		Status: store.StatusRecorded, From: store.Address{Name: "Ona Jonaitė"},
	}
	got := store.Message{
		Direction: m.Direction, Channel: m.Channel, Source: m.Source, TelegramChatID: m.TelegramChatID,
		TelegramUserID: m.TelegramUserID, Text: m.Text, Subject: m.Subject, Status: m.Status, From: m.From,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("message\n got %+v\nwant %+v", got, want)
	}
	if m.MessageID != "tg-1001-1" || m.Headers[HeaderTelegramLang] != "lt" || m.Headers[HeaderTelegramUsername] != "ona_j" ||
		len(m.ContentHash) != 64 || m.Date.IsZero() || m.SourceRef != "update/"+fmt.Sprint(pushed[0]) {
		t.Errorf("message %+v", m)
	}
	hashes := map[string]bool{}
	for _, b := range batches {
		for _, m := range b.Messages {
			hashes[m.ContentHash] = true
		}
	}
	if len(hashes) != 250 {
		t.Errorf("%d distinct content hashes for 250 updates", len(hashes))
	}
}

func TestTelegramResumesFromCursor(t *testing.T) {
	fake := newFake(t, tgfake.Options{})
	st := openTestStore(t, store.BoltOptions{})
	var pushed []int64
	for i := range 3 {
		pushed = append(pushed, fake.PushText(7, 7, fmt.Sprint("first ", i), ""))
	}
	sink := &recordingSink{st: st}
	src := startTelegram(t, fake, TelegramOptions{Store: st, Sink: sink})
	sink.waitMessages(t, 3)
	src.stop(t)

	for i := range 2 {
		pushed = append(pushed, fake.PushText(7, 7, fmt.Sprint("second ", i), ""))
	}
	sink2 := &recordingSink{st: st}
	src = startTelegram(t, fake, TelegramOptions{Store: st, Sink: sink2})
	sink2.waitMessages(t, 2)
	time.Sleep(50 * time.Millisecond) // room for a wrong redelivery
	src.stop(t)
	wantOnce(t, updateIDs(sink2), pushed[3:])
}

// A crash after the commit but before the next getUpdates leaves the
// updates unconfirmed at Telegram: the cursor alone must keep them out.
func TestTelegramSkipsCommittedButUnconfirmed(t *testing.T) {
	fake := newFake(t, tgfake.Options{})
	st := openTestStore(t, store.BoltOptions{})
	var pushed []int64
	for i := range 4 {
		pushed = append(pushed, fake.PushText(7, 7, fmt.Sprint(i), ""))
	}
	err := st.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutCursor(store.Cursor{Source: "telegram:123456789", Offset: pushed[1] + 1})
	})
	if err != nil {
		t.Fatal(err)
	}
	sink := &recordingSink{st: st}
	startTelegram(t, fake, TelegramOptions{Store: st, Sink: sink})
	sink.waitMessages(t, 2)
	wantOnce(t, updateIDs(sink), pushed[2:])
}

// flakySink fails its first failures deliveries, like a store that is
// down, or a crash between receiving updates and committing them.
type flakySink struct {
	*recordingSink
	failures atomic.Int32
}

func (s *flakySink) Deliver(ctx context.Context, b store.Batch) error {
	if s.failures.Add(-1) >= 0 {
		return errors.New("store unavailable")
	}
	return s.recordingSink.Deliver(ctx, b)
}

func TestTelegramSinkFailureRefetches(t *testing.T) {
	fake := newFake(t, tgfake.Options{})
	st := openTestStore(t, store.BoltOptions{})
	var pushed []int64
	for i := range 5 {
		pushed = append(pushed, fake.PushText(9, 9, fmt.Sprint(i), ""))
	}
	sink := &flakySink{recordingSink: &recordingSink{st: st}}
	sink.failures.Store(2)
	src := startTelegram(t, fake, TelegramOptions{Store: st, Sink: sink})
	sink.waitMessages(t, 5)
	time.Sleep(50 * time.Millisecond)
	src.stop(t)
	wantOnce(t, updateIDs(sink.recordingSink), pushed)
	if n := fake.Calls("getUpdates"); n < 3 {
		t.Errorf("getUpdates called %d times; the failed batches must be fetched again", n)
	}
	if c := storedCursor(t, st, src.Name()); c.Offset != pushed[4]+1 {
		t.Errorf("offset %d, want %d", c.Offset, pushed[4]+1)
	}
}

func TestTelegramHonours429RetryAfter(t *testing.T) {
	fake := newFake(t, tgfake.Options{})
	fake.PushText(9, 9, "hi", "")
	fake.FailNext("getUpdates", 429, 1)
	st := openTestStore(t, store.BoltOptions{})
	sink := &recordingSink{st: st}
	start := time.Now()
	// The backoff alone would retry within 10ms.
	src := startTelegram(t, fake, TelegramOptions{Store: st, Sink: sink, BackoffMin: 5 * time.Millisecond, BackoffMax: 10 * time.Millisecond})
	sink.waitMessages(t, 1)
	if d := time.Since(start); d < 950*time.Millisecond || d > 3*time.Second {
		t.Errorf("delivered after %v, want after the 1s retry_after", d)
	}
	if h := src.Health(); !h.OK || h.Mode != "long-poll" {
		t.Errorf("health after recovery: %+v", h)
	}
}

func TestTelegramBadTokenFailsHealth(t *testing.T) {
	fake := newFake(t, tgfake.Options{})
	const token = "123456789:not-the-token"
	src := startTelegram(t, fake, TelegramOptions{Token: token, Store: openTestStore(t, store.BoltOptions{}), Sink: &recordingSink{}})
	waitFor(t, "a failure", 5*time.Second, func() bool { return src.Health().ConsecutiveFailures >= 2 })
	h := src.Health()
	if h.OK || !strings.Contains(h.LastError, "401") || !strings.Contains(h.LastError, "token") || strings.Contains(h.LastError, token) {
		t.Errorf("health %+v", h)
	}

	// Network errors quote the URL, token included: it must not show.
	fake.Close()
	src2 := startTelegram(t, fake, TelegramOptions{Name: "tg2", Token: token, Store: openTestStore(t, store.BoltOptions{}), Sink: &recordingSink{}})
	waitFor(t, "a failure", 5*time.Second, func() bool { return src2.Health().ConsecutiveFailures >= 1 })
	if h := src2.Health(); strings.Contains(h.LastError, "not-the-token") || !strings.Contains(h.LastError, "<token>") {
		t.Errorf("network error shown as %q", h.LastError)
	}
}

func TestTelegramMedia(t *testing.T) {
	fake := newFake(t, tgfake.Options{MaxDownload: 40000})
	photo := bytes.Repeat([]byte("P"), 5000)
	doc := bytes.Repeat([]byte("D"), 3000)
	voice := bytes.Repeat([]byte("V"), 2000)
	ids := []int64{
		fake.PushPhoto(5, 5, "the broken lid", photo),
		fake.PushDocument(5, 5, "", "invoice.pdf", "application/pdf", doc),
		fake.PushVoice(5, 5, voice),
		fake.PushDocument(5, 5, "too big for us", "video.bin", "application/octet-stream", make([]byte, 50001)),
		fake.PushDocument(5, 5, "too big for Telegram", "huge.bin", "application/octet-stream", make([]byte, 45000)),
	}
	st := openTestStore(t, store.BoltOptions{})
	sink := &recordingSink{st: st}
	// A small batch budget: the batch ends after the photo, the rest comes
	// with the next getUpdates.
	startTelegram(t, fake, TelegramOptions{Store: st, Sink: sink, MaxAttachmentBytes: 50000, MaxBatchBytes: 4000})
	sink.waitMessages(t, 5)
	wantOnce(t, updateIDs(sink), ids)
	if b := sink.snapshot(); len(b[0].Messages) != 1 {
		t.Errorf("first batch has %d messages; the 4000-byte budget ends it after the photo", len(b[0].Messages))
	}
	var msgs []*store.Message
	for _, b := range sink.snapshot() {
		msgs = append(msgs, b.Messages...)
	}
	tests := []struct {
		text, name, ctype string
		data              []byte
		why               string
	}{
		{text: "the broken lid", ctype: "image/jpeg", data: photo},
		{name: "invoice.pdf", ctype: "application/pdf", data: doc},
		{ctype: "audio/ogg", data: voice},
		{text: "too big for us", name: "video.bin", why: "over the per-attachment cap of 50000 bytes"},
		{text: "too big for Telegram", name: "huge.bin", why: "Telegram refused the file: Bad Request: file is too big"},
	}
	for i, tc := range tests {
		m := msgs[i]
		if len(m.Attachments) != 1 {
			t.Errorf("%d: %d attachments", i, len(m.Attachments))
			continue
		}
		a := m.Attachments[0]
		if m.Text != tc.text || (tc.name != "" && a.Name != tc.name) || (tc.ctype != "" && a.ContentType != tc.ctype) ||
			a.Kept != (tc.why == "") || !bytes.Equal(a.Data, tc.data) || a.NotKeptWhy != tc.why {
			t.Errorf("%d: text %q, attachment %+v (%d bytes)", i, m.Text, a, len(a.Data))
		}
	}
	if n := fake.Calls("getFile"); n != 4 {
		t.Errorf("getFile called %d times; want 4 (not for the file over our cap)", n)
	}
}

func TestTelegramDownloadFailures(t *testing.T) {
	fake := newFake(t, tgfake.Options{})
	data := []byte("JPEG")
	fake.PushPhoto(5, 5, "", data)
	fake.FailNext("getFile", 502, 0) // temporary: the batch is fetched again
	st := openTestStore(t, store.BoltOptions{})
	sink := &recordingSink{st: st}
	src := startTelegram(t, fake, TelegramOptions{Store: st, Sink: sink, MaxDownloadFailures: 2})
	sink.waitMessages(t, 1)
	if a := sink.snapshot()[0].Messages[0].Attachments[0]; !a.Kept || !bytes.Equal(a.Data, data) {
		t.Errorf("after one 502: %+v", a)
	}

	fake.FailNext("getFile", 502, 0)
	fake.FailNext("getFile", 502, 0)
	fake.PushPhoto(5, 5, "", data)
	sink.waitMessages(t, 2)
	a := sink.snapshot()[len(sink.snapshot())-1].Messages[0].Attachments[0]
	if a.Kept || !strings.Contains(a.NotKeptWhy, "download failed 2 times") {
		t.Errorf("after two 502s: %+v", a)
	}
	src.stop(t)
}

func TestTelegramUpdateKinds(t *testing.T) {
	fake := newFake(t, tgfake.Options{})
	fake.AddChat(5)
	type check func(t *testing.T, m *store.Message)
	status := func(want, reason string) check {
		return func(t *testing.T, m *store.Message) {
			if m.Status != want || !strings.Contains(m.Reason, reason) {
				t.Errorf("status %q reason %q, want %q ~%q", m.Status, m.Reason, want, reason)
			}
		}
	}
	header := func(key, want string) check {
		return func(t *testing.T, m *store.Message) {
			if m.Headers[key] != want {
				t.Errorf("%s = %q, want %q (headers %v)", key, m.Headers[key], want, m.Headers)
			}
		}
	}
	var qid string
	cases := []struct {
		name   string
		push   func()
		checks []check
	}{
		{"start", func() { fake.PushCommand(5, 5, "/start", "ru") },
			[]check{status("recorded", ""), header(HeaderTelegramCommand, "/start"), header(HeaderTelegramLang, "ru")}},
		{"status with bot name and args", func() { fake.PushCommand(5, 5, "/Status@complaint_test_bot C-2026-000001", "") },
			[]check{header(HeaderTelegramCommand, "/status"), header(HeaderTelegramCommandArgs, "C-2026-000001")}},
		{"contact", func() { fake.PushContact(5, 5, "+37060000000") },
			[]check{status("recorded", ""), header(HeaderTelegramContactPhone, "+37060000000"), header(HeaderTelegramContactOwn, "true")}},
		{"button", func() { qid = fake.PushCallback(77, 5, 3, "take:12") },
			[]check{status("recorded", ""), header(HeaderTelegramCallback, "take:12"), header(HeaderTelegramCallbackMsg, "3"),
				func(t *testing.T, m *store.Message) {
					if m.TelegramUserID != 77 || m.TelegramChatID != 5 || m.Headers[HeaderTelegramCallbackID] != qid ||
						!slices.Equal(m.InReplyTo, []string{"tg-5-3"}) {
						t.Errorf("callback message %+v", m)
					}
				}}},
		{"sticker", func() {
			fake.PushUpdate("message", map[string]any{"message_id": 90, "date": 1, "from": map[string]any{"id": 5, "first_name": "A"},
				"chat": map[string]any{"id": 5, "type": "private"}, "sticker": map[string]any{"file_id": "x"}})
		}, []check{status("ignored", "unsupported message content: sticker")}},
		{"edited", func() {
			fake.PushUpdate("edited_message", map[string]any{"message_id": 2, "date": 1, "edit_date": 1700000000,
				"from": map[string]any{"id": 5, "first_name": "A"}, "chat": map[string]any{"id": 5, "type": "private"}, "text": "fixed"})
		}, []check{status("recorded", ""), header(HeaderTelegramEdited, "2023-11-14T22:13:20Z"), func(t *testing.T, m *store.Message) {
			if m.MessageID != "tg-5-2-edit-1700000000" || !slices.Equal(m.References, []string{"tg-5-2"}) || m.Text != "fixed" {
				t.Errorf("edited %+v", m)
			}
		}}},
		{"group", func() { fake.PushText(5, -100, "hello group", "") }, []check{status("ignored", "not a private chat (group)")}},
		{"blocked", func() {
			fake.PushUpdate("my_chat_member", map[string]any{"chat": map[string]any{"id": 5, "type": "private"},
				"from": map[string]any{"id": 5, "first_name": "A"}, "date": 1,
				"old_chat_member": map[string]any{"status": "member"}, "new_chat_member": map[string]any{"status": "kicked"}})
		}, []check{status("ignored", "member -> kicked"), header(HeaderTelegramMemberStatus, "kicked")}},
		{"inline query", func() { fake.PushUpdate("inline_query", map[string]any{"id": "1", "query": "x"}) },
			[]check{status("ignored", "unsupported Telegram update: inline_query")}},
		{"undecodable", func() { fake.PushUpdate("message", "not an object") },
			[]check{status("quarantined", "cannot decode"), func(t *testing.T, m *store.Message) {
				if len(m.Raw) == 0 || m.MessageID == "" {
					t.Errorf("quarantined %+v", m)
				}
			}}},
	}
	for _, c := range cases {
		c.push()
	}
	st := openTestStore(t, store.BoltOptions{})
	sink := &recordingSink{st: st}
	startTelegram(t, fake, TelegramOptions{Store: st, Sink: sink})
	sink.waitMessages(t, len(cases))
	var msgs []*store.Message
	for _, b := range sink.snapshot() {
		msgs = append(msgs, b.Messages...)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := msgs[i]
			if m.Channel != store.ChannelTelegram || m.Direction != store.DirectionIn || m.ContentHash == "" {
				t.Errorf("message %+v", m)
			}
			for _, ch := range c.checks {
				ch(t, m)
			}
		})
	}
	waitFor(t, "the button press answered", 5*time.Second, func() bool { return len(fake.Answers()) == 1 })
	if a := fake.Answers(); a[0].QueryID != qid {
		t.Errorf("answers %+v", a)
	}
}

func TestTelegramLongPollReturnsPromptly(t *testing.T) {
	fake := newFake(t, tgfake.Options{})
	st := openTestStore(t, store.BoltOptions{})
	sink := &recordingSink{st: st}
	src := startTelegram(t, fake, TelegramOptions{Store: st, Sink: sink, PollTimeout: 30 * time.Second})
	waitFor(t, "the first poll", 5*time.Second, func() bool { return fake.Calls("getUpdates") >= 1 })
	time.Sleep(50 * time.Millisecond) // the poll is waiting at the fake
	var worst time.Duration
	for i := range 5 {
		start := time.Now()
		fake.PushText(3, 3, "now", "")
		sink.waitMessages(t, i+1)
		worst = max(worst, time.Since(start))
	}
	t.Logf("update to commit while long-polling: worst of 5 %v", worst)
	if worst > 500*time.Millisecond {
		t.Errorf("an update waited %v; the long poll must return on arrival", worst)
	}
	src.stop(t) // within 1s although a 30s poll is open
}

func TestNewTelegramSourceValidates(t *testing.T) {
	_, err := NewTelegramSource(TelegramOptions{APIEndpoint: "http://x/bot/%s", Limit: 500})
	for _, want := range []string{"token is required", "two %s", "limit 500", "store is required", "sink is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

func TestNormalizeTelegramUpdateNeverPanics(t *testing.T) {
	for _, raw := range []string{``, `null`, `[]`, `{}`, `{"update_id":1}`, `{"update_id":"x","message":{}}`,
		`{"update_id":2,"message":{"chat":null,"photo":[{}],"document":{}}}`, `{"update_id":3,"callback_query":{}}`,
		`{"update_id":4,"my_chat_member":{}}`, `{"update_id":5,"message":{"text":"/","entities":[{"type":"bot_command","offset":0,"length":99}]}}`} {
		m := NormalizeTelegramUpdate([]byte(raw))
		if m == nil || m.Channel != store.ChannelTelegram || m.Status == "" {
			t.Errorf("%s: %+v", raw, m)
		}
	}
}

func FuzzNormalizeTelegramUpdate(f *testing.F) {
	f.Add([]byte(`{"update_id":5,"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},"from":{"id":1},"text":"/start x","entities":[{"type":"bot_command","offset":0,"length":6}]}}`))
	f.Add([]byte(`{"update_id":7,"message":{"text":"/","entities":[{"type":"bot_command","offset":0,"length":99}]}}`))
	f.Add([]byte(`{"update_id":6,"callback_query":{"id":"a","from":{"id":1},"data":"x","message":{"message_id":1,"chat":{"id":1,"type":"private"}}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		// parseUpdate itself, not the recovering wrapper: a panic is a bug.
		p := parseUpdate(raw, time.Now)
		if m := p.msg; m == nil || m.Status == "" || m.ContentHash == "" || m.Channel != store.ChannelTelegram {
			t.Fatalf("%+v", m)
		}
	})
}

func BenchmarkTelegramSource(b *testing.B) {
	fake := tgfake.New(tgfake.Options{})
	defer fake.Close()
	for i := range b.N {
		user := int64(1 + i%1000)
		fake.PushText(user, user, "The parcel arrived damaged, please help", "en")
	}
	sink := &countingSink{want: b.N, done: make(chan struct{})}
	src, err := NewTelegramSource(TelegramOptions{
		Token: fake.Token(), APIEndpoint: fake.APIEndpoint(), Store: cursorOnlyStore{}, Sink: sink,
		Logger: testLogger(b), NoCallbackAnswer: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ResetTimer()
	go func() { done <- src.Run(ctx) }()
	<-sink.done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
	cancel()
	<-done
}

// answeringSink is a recordingSink that answers button presses, as the
// router does (CallbackAnswerer).
type answeringSink struct {
	*recordingSink
}

func (answeringSink) CallbackAnswer(id string) (string, bool) {
	return "This action is only for staff.", true
}

// TestTelegramPressAnsweredWithTheSinksText: a press is answered after its
// batch is committed, with the text and alert the Sink gives for it.
func TestTelegramPressAnsweredWithTheSinksText(t *testing.T) {
	fake := newFake(t, tgfake.Options{})
	qid := fake.PushCallback(77, 5, 3, "a:take:C-2026-000001")
	st := openTestStore(t, store.BoltOptions{})
	sink := answeringSink{&recordingSink{st: st}}
	startTelegram(t, fake, TelegramOptions{Store: st, Sink: sink})
	sink.waitMessages(t, 1)
	waitFor(t, "the press answered", 5*time.Second, func() bool { return len(fake.Answers()) == 1 })
	if a := fake.Answers()[0]; a.QueryID != qid || a.Text != "This action is only for staff." || !a.ShowAlert {
		t.Errorf("answer %+v, want the sink's text as an alert", a)
	}
}
