package tgfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// newBot starts a fake and a telegram-bot-api client on it, unchanged but
// for the endpoint: the library calls getMe while being made.
func newBot(t *testing.T, o Options) (*Server, *tgbotapi.BotAPI) {
	t.Helper()
	s := New(o)
	t.Cleanup(s.Close)
	bot, err := tgbotapi.NewBotAPIWithClient(s.Token(), s.APIEndpoint(), s.Client())
	if err != nil {
		t.Fatalf("NewBotAPIWithClient: %v", err)
	}
	return s, bot
}

func apiErr(t *testing.T, err error) *tgbotapi.Error {
	t.Helper()
	var e *tgbotapi.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *tgbotapi.Error", err, err)
	}
	return e
}

func TestLibraryGetMe(t *testing.T) {
	s, bot := newBot(t, Options{BotUsername: "acme_care_bot"})
	if bot.Self.UserName != "acme_care_bot" || bot.Self.ID != s.BotID() || !bot.Self.IsBot {
		t.Fatalf("Self = %+v", bot.Self)
	}
}

func TestWrongTokenIs401(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	_, err := tgbotapi.NewBotAPIWithClient("1:wrong", s.APIEndpoint(), s.Client())
	if e := apiErr(t, err); e.Code != 401 || e.Message != "Unauthorized" {
		t.Fatalf("got %d %q", e.Code, e.Message)
	}
}

func TestUnknownMethodIs404(t *testing.T) {
	_, bot := newBot(t, Options{})
	_, err := bot.MakeRequest("sendTelepathy", nil)
	if e := apiErr(t, err); e.Code != 404 {
		t.Fatalf("got %d %q", e.Code, e.Message)
	}
}

func TestGetUpdatesOffsetConfirmsAndLimit(t *testing.T) {
	s, bot := newBot(t, Options{})
	var ids []int64
	for i := range 5 {
		ids = append(ids, s.PushText(42, 42, fmt.Sprintf("m%d", i), "lt"))
	}
	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 2 || int64(ups[0].UpdateID) != ids[0] || ups[1].Message.Text != "m1" {
		t.Fatalf("first page: %+v", ups)
	}
	if ups[0].Message.From.LanguageCode != "lt" || ups[0].Message.Chat.Type != "private" {
		t.Fatalf("message: %+v from %+v", ups[0].Message, ups[0].Message.From)
	}
	// offset = last + 1 confirms the first two: never returned again.
	ups, err = bot.GetUpdates(tgbotapi.UpdateConfig{Offset: int(ids[1] + 1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 3 || ups[0].Message.Text != "m2" {
		t.Fatalf("after offset: %+v", ups)
	}
	if s.Pending() != 3 {
		t.Fatalf("pending = %d, want 3", s.Pending())
	}
	ups, err = bot.GetUpdates(tgbotapi.UpdateConfig{}) // offset 0 confirms nothing
	if err != nil || len(ups) != 3 {
		t.Fatalf("offset 0: %d updates, %v", len(ups), err)
	}
	ups, err = bot.GetUpdates(tgbotapi.UpdateConfig{Offset: -1})
	if err != nil || len(ups) != 1 || ups[0].Message.Text != "m4" || s.Pending() != 1 {
		t.Fatalf("offset -1: %+v, pending %d, %v", ups, s.Pending(), err)
	}
}

func TestLongPollHoldsUntilUpdateOrTimeout(t *testing.T) {
	s, bot := newBot(t, Options{})
	start := time.Now()
	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 1})
	if err != nil || len(ups) != 0 {
		t.Fatalf("empty poll: %v, %v", ups, err)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 3*time.Second {
		t.Fatalf("empty poll took %v, want about the 1s timeout", d)
	}

	go func() {
		time.Sleep(100 * time.Millisecond)
		s.PushText(7, 7, "hello", "")
	}()
	start = time.Now()
	ups, err = bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 30})
	if err != nil || len(ups) != 1 {
		t.Fatalf("poll: %v, %v", ups, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("poll returned after %v, want soon after the push", d)
	}
}

func TestSecondPollEndsFirstWith409(t *testing.T) {
	_, bot := newBot(t, Options{})
	first := make(chan error, 1)
	go func() {
		_, err := bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 10})
		first <- err
	}()
	time.Sleep(100 * time.Millisecond)
	go bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 1})
	select {
	case err := <-first:
		if e := apiErr(t, err); e.Code != 409 {
			t.Fatalf("first poll: %d %q", e.Code, e.Message)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first poll still waiting")
	}
}

func TestSendMessageRecordsKeyboardAndEdits(t *testing.T) {
	s, bot := newBot(t, Options{})
	s.AddChat(100)
	msg := tgbotapi.NewMessage(100, "<b>Complaint</b> C-1 &amp; co")
	msg.ParseMode = tgbotapi.ModeHTML
	msg.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData("Take", "take:1"),
		tgbotapi.NewInlineKeyboardButtonData("Resolve", "resolve:1"),
	))
	got, err := bot.Send(msg)
	if err != nil {
		t.Fatal(err)
	}
	second, err := bot.Send(tgbotapi.NewMessage(100, "again"))
	if err != nil {
		t.Fatal(err)
	}
	if second.MessageID != got.MessageID+1 || got.Chat.ID != 100 {
		t.Fatalf("message ids %d then %d", got.MessageID, second.MessageID)
	}
	sent := s.Sent(100)
	if len(sent) != 2 || sent[0].Text != "Complaint C-1 & co" || sent[0].ParseMode != "HTML" {
		t.Fatalf("sent: %+v", sent)
	}
	if kb := sent[0].Keyboard; len(kb) != 1 || len(kb[0]) != 2 || kb[0][1] != (Button{Text: "Resolve", Data: "resolve:1"}) {
		t.Fatalf("keyboard: %+v", kb)
	}

	qid := s.PushCallback(5, 100, got.MessageID, "take:1")
	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 1 || ups[0].CallbackQuery == nil {
		t.Fatalf("callback update: %+v, %v", ups, err)
	}
	cq := ups[0].CallbackQuery
	if cq.ID != qid || cq.Data != "take:1" || cq.From.ID != 5 || cq.Message.MessageID != got.MessageID {
		t.Fatalf("callback: %+v", cq)
	}
	if _, err := bot.Request(tgbotapi.NewCallback(qid, "Taken")); err != nil {
		t.Fatal(err)
	}
	_, err = bot.Request(tgbotapi.NewCallback(qid, "again"))
	if e := apiErr(t, err); e.Code != 400 {
		t.Fatalf("second answer: %d %q", e.Code, e.Message)
	}
	if a := s.Answers(); len(a) != 1 || a[0].Text != "Taken" {
		t.Fatalf("answers: %+v", a)
	}

	edit := tgbotapi.NewEditMessageReplyMarkup(100, got.MessageID, tgbotapi.NewInlineKeyboardMarkup(
		tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Resolve", "resolve:1"))))
	if _, err := bot.Request(edit); err != nil {
		t.Fatal(err)
	}
	_, err = bot.Request(edit)
	if e := apiErr(t, err); e.Code != 400 || !strings.Contains(e.Message, "not modified") {
		t.Fatalf("same edit: %d %q", e.Code, e.Message)
	}
	if kb := s.Sent(100)[0].Keyboard; len(kb[0]) != 1 {
		t.Fatalf("edited keyboard: %+v", kb)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name    string
		chat    int64
		text    string
		mode    string
		markup  any
		block   bool
		code    int
		contain string
	}{
		{name: "unknown chat", chat: 999, text: "x", code: 400, contain: "chat not found"},
		{name: "blocked", chat: 1, text: "x", block: true, code: 403, contain: "blocked by the user"},
		{name: "empty", chat: 1, text: "", code: 400, contain: "text is empty"},
		{name: "too long", chat: 1, text: strings.Repeat("я", 4097), code: 400, contain: "too long"},
		{name: "4096 is fine", chat: 1, text: strings.Repeat("я", 4096)},
		{name: "raw tag", chat: 1, text: "hi <script>", mode: "HTML", code: 400, contain: "Unsupported start tag"},
		{name: "unclosed", chat: 1, text: "<b>hi", mode: "HTML", code: 400, contain: "end tag"},
		{name: "escaped", chat: 1, text: "&lt;script&gt; &#34;x&#34;", mode: "HTML"},
		{name: "long button data", chat: 1, text: "x", markup: tgbotapi.NewInlineKeyboardMarkup(
			tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("b", strings.Repeat("d", 65)))),
			code: 400, contain: "BUTTON_DATA_INVALID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, bot := newBot(t, Options{NoRateLimit: true})
			s.AddChat(1)
			if tc.block {
				s.Block(1)
			}
			msg := tgbotapi.NewMessage(tc.chat, tc.text)
			msg.ParseMode = tc.mode
			msg.ReplyMarkup = tc.markup
			_, err := bot.Send(msg)
			if tc.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if e := apiErr(t, err); e.Code != tc.code || !strings.Contains(e.Message, tc.contain) {
				t.Fatalf("got %d %q, want %d ~%q", e.Code, e.Message, tc.code, tc.contain)
			}
			if n := len(s.Sent(tc.chat)); n != 0 {
				t.Fatalf("%d messages recorded for a refused send", n)
			}
		})
	}
}

func TestRateLimitPerChatAndGlobal(t *testing.T) {
	s, bot := newBot(t, Options{PerChatRate: 1, PerChatBurst: 2, GlobalRate: 3, GlobalBurst: 3})
	for _, c := range []int64{1, 2} {
		s.AddChat(c)
	}
	send := func(chat int64) error { _, err := bot.Send(tgbotapi.NewMessage(chat, "x")); return err }
	for range 2 {
		if err := send(1); err != nil {
			t.Fatal(err)
		}
	}
	e := apiErr(t, send(1))
	if e.Code != 429 || e.RetryAfter != 1 || !strings.Contains(e.Message, "retry after 1") {
		t.Fatalf("per-chat: %d %q retry_after %d", e.Code, e.Message, e.RetryAfter)
	}
	if err := send(2); err != nil { // the third of the global burst
		t.Fatal(err)
	}
	if e := apiErr(t, send(2)); e.Code != 429 || e.RetryAfter < 1 {
		t.Fatalf("global: %d retry_after %d", e.Code, e.RetryAfter)
	}
	if s.RateLimited() != 2 || len(s.Sent(1)) != 2 || len(s.Sent(2)) != 1 {
		t.Fatalf("limited %d, sent %d+%d", s.RateLimited(), len(s.Sent(1)), len(s.Sent(2)))
	}
	time.Sleep(1100 * time.Millisecond)
	if err := send(1); err != nil {
		t.Fatalf("after retry_after: %v", err)
	}
}

func TestFailNext(t *testing.T) {
	s, bot := newBot(t, Options{})
	s.AddChat(1)
	s.FailNext("sendMessage", 429, 7)
	s.FailNext("sendMessage", 502, 0)
	e := apiErr(t, func() error { _, err := bot.Send(tgbotapi.NewMessage(1, "x")); return err }())
	if e.Code != 429 || e.RetryAfter != 7 {
		t.Fatalf("first: %d retry_after %d", e.Code, e.RetryAfter)
	}
	e = apiErr(t, func() error { _, err := bot.Send(tgbotapi.NewMessage(1, "x")); return err }())
	if e.Code != 502 {
		t.Fatalf("second: %d %q", e.Code, e.Message)
	}
	if _, err := bot.Send(tgbotapi.NewMessage(1, "x")); err != nil {
		t.Fatal(err)
	}
	if s.Calls("sendMessage") != 3 || len(s.Sent(1)) != 1 {
		t.Fatalf("calls %d, sent %d", s.Calls("sendMessage"), len(s.Sent(1)))
	}
}

func TestUploadAndDownload(t *testing.T) {
	s, bot := newBot(t, Options{MaxDownload: 1500})
	s.AddChat(3)
	data := bytes.Repeat([]byte("pdf!"), 100)
	doc := tgbotapi.NewDocument(3, tgbotapi.FileBytes{Name: "report.pdf", Bytes: data})
	doc.Caption = "the report"
	m, err := bot.Send(doc)
	if err != nil {
		t.Fatal(err)
	}
	if m.Document == nil || m.Document.FileName != "report.pdf" || m.Caption != "the report" {
		t.Fatalf("result: %+v", m)
	}
	sent := s.Sent(3)
	if len(sent) != 1 || sent[0].File == nil || !bytes.Equal(sent[0].File.Data, data) {
		t.Fatalf("sent: %+v", sent)
	}
	f, err := bot.GetFile(tgbotapi.FileConfig{FileID: m.Document.FileID})
	if err != nil {
		t.Fatal(err)
	}
	if got := download(t, s, f.FilePath); !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes", len(got))
	}

	s.PushPhoto(3, 3, "look", bytes.Repeat([]byte{1}, 2000)) // over MaxDownload
	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 1 || len(ups[0].Message.Photo) != 2 {
		t.Fatalf("photo update: %+v, %v", ups, err)
	}
	big := ups[0].Message.Photo[1]
	_, err = bot.GetFile(tgbotapi.FileConfig{FileID: big.FileID})
	if e := apiErr(t, err); e.Code != 400 || !strings.Contains(e.Message, "too big") {
		t.Fatalf("big file: %d %q", e.Code, e.Message)
	}
	small, err := bot.GetFile(tgbotapi.FileConfig{FileID: ups[0].Message.Photo[0].FileID})
	if err != nil || len(download(t, s, small.FilePath)) != 1024 {
		t.Fatalf("thumbnail: %+v, %v", small, err)
	}
}

func download(t *testing.T, s *Server, path string) []byte {
	t.Helper()
	resp, err := s.Client().Get(fmt.Sprintf(s.FileEndpoint(), s.Token(), path))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("download %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

func TestJSONBodyAndErrorFormat(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.AddChat(9)
	s.Block(9)
	body := `{"chat_id":9,"text":"hi","reply_markup":{"inline_keyboard":[[{"text":"a","callback_data":"b"}]]}}`
	resp, err := s.Client().Post(fmt.Sprintf(s.APIEndpoint(), s.Token(), "sendMessage"), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	json.NewDecoder(resp.Body).Decode(&got)
	want := map[string]any{"ok": false, "error_code": float64(403), "description": "Forbidden: bot was blocked by the user"}
	if resp.StatusCode != 403 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%d %v", resp.StatusCode, got)
	}
	s.Unblock(9)
	resp2, err := s.Client().Post(fmt.Sprintf(s.APIEndpoint(), s.Token(), "sendMessage"), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if sent := s.Sent(9); resp2.StatusCode != 200 || len(sent) != 1 || sent[0].Keyboard[0][0].Data != "b" {
		t.Fatalf("%d, %+v", resp2.StatusCode, sent)
	}
}

func TestConcurrentUse(t *testing.T) {
	s, bot := newBot(t, Options{NoRateLimit: true})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			s.PushText(int64(i+1), int64(i+1), "x", "")
			bot.Send(tgbotapi.NewMessage(int64(i+1), "y"))
		})
	}
	wg.Wait()
	if s.Pending() != 20 || s.SentCount() != 20 {
		t.Fatalf("pending %d, sent %d", s.Pending(), s.SentCount())
	}
	resp, err := http.Get(s.URL() + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
