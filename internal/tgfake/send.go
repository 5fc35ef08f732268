package tgfake

import (
	"encoding/json"
	"math"
	"net/http"
	"time"
)

// Limits of the Bot API on what one message carries.
const (
	maxTextLen     = 4096 // UTF-16 code units after entity parsing
	maxCaptionLen  = 1024
	maxButtonData  = 64 // bytes of callback_data
	maxButtonCount = 100
)

// SentMessage is one message the bot sent, as the user sees it.
type SentMessage struct {
	MessageID int
	ChatID    int64
	Method    string // "sendMessage", "sendDocument", "sendPhoto"
	// Text is the text (or caption) as shown: HTML tags and entities
	// already interpreted. Raw is what the bot sent, ParseMode how.
	Text      string
	Raw       string
	ParseMode string
	// Keyboard is the inline keyboard, nil when there is none; edits
	// (editMessageReplyMarkup) change it here.
	Keyboard [][]Button
	File     *SentFile // sendDocument, sendPhoto
	At       time.Time
}

// Button is one inline keyboard button.
type Button struct {
	Text string `json:"text"`
	Data string `json:"callback_data,omitempty"`
	URL  string `json:"url,omitempty"`
}

// SentFile is a file the bot uploaded (or re-sent by file_id).
type SentFile struct {
	FileID      string
	Name        string
	ContentType string
	Data        []byte
}

func (c *chat) find(messageID int) *SentMessage {
	for _, m := range c.sent {
		if m.MessageID == messageID {
			return m
		}
	}
	return nil
}

// Sent lists the messages sent to chatID, oldest first.
func (s *Server) Sent(chatID int64) []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[chatID]
	if !ok {
		return nil
	}
	out := make([]SentMessage, len(c.sent))
	for i, m := range c.sent {
		out[i] = *m
	}
	return out
}

// SentCount is the number of messages sent to all chats.
func (s *Server) SentCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.chats {
		n += len(c.sent)
	}
	return n
}

// WaitSent waits until chatID has at least n messages or timeout passes,
// and returns what it has.
func (s *Server) WaitSent(chatID int64, n int, timeout time.Duration) []SentMessage {
	deadline := time.Now().Add(timeout)
	for {
		got := s.Sent(chatID)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// outgoing is a message about to be sent, checked and ready to record.
type outgoing struct {
	chatID   int64
	method   string
	text     string // visible
	raw      string
	mode     string
	keyboard [][]Button
	file     *file
}

func (s *Server) sendMessage(_ *http.Request, p params) (any, *apiError) {
	chatID, e := p.chatID()
	if e != nil {
		return nil, e
	}
	raw := p.str("text")
	if raw == "" {
		return nil, badRequest("message text is empty")
	}
	out := outgoing{chatID: chatID, method: "sendMessage", raw: raw, mode: p.str("parse_mode")}
	if out.text, e = parseText(raw, out.mode); e != nil {
		return nil, e
	}
	if out.text == "" {
		return nil, badRequest("message text is empty")
	}
	if utf16Len(out.text) > maxTextLen {
		return nil, badRequest("message is too long")
	}
	if out.keyboard, e = parseMarkup(p.str("reply_markup")); e != nil {
		return nil, e
	}
	return s.deliver(out)
}

func (s *Server) sendDocument(_ *http.Request, p params) (any, *apiError) {
	return s.sendFile(p, "sendDocument", "document", "documents")
}

func (s *Server) sendPhoto(_ *http.Request, p params) (any, *apiError) {
	return s.sendFile(p, "sendPhoto", "photo", "photos")
}

// sendFile serves sendDocument and sendPhoto: the file is an upload or
// the file_id of a file the server has.
func (s *Server) sendFile(p params, method, field, dir string) (any, *apiError) {
	chatID, e := p.chatID()
	if e != nil {
		return nil, e
	}
	out := outgoing{chatID: chatID, method: method, raw: p.str("caption"), mode: p.str("parse_mode")}
	if out.text, e = parseText(out.raw, out.mode); e != nil {
		return nil, e
	}
	if utf16Len(out.text) > maxCaptionLen {
		return nil, badRequest("message caption is too long")
	}
	if out.keyboard, e = parseMarkup(p.str("reply_markup")); e != nil {
		return nil, e
	}
	if out.file, e = s.fileParam(p, field, dir); e != nil {
		return nil, e
	}
	return s.deliver(out)
}

// fileParam finds the file of a send: a multipart upload or a file_id.
func (s *Server) fileParam(p params, field, dir string) (*file, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if up, ok := p.files[field]; ok {
		if len(up.data) == 0 {
			return nil, badRequest("file must be non-empty")
		}
		return s.addFileLocked(dir, up.name, up.contentType, up.data), nil
	}
	if f, ok := s.files[p.str(field)]; ok {
		return f, nil
	}
	if p.str(field) == "" {
		return nil, badRequest("there is no %s in the request", field)
	}
	return nil, badRequest("wrong file identifier/HTTP URL specified")
}

// deliver checks the chat and the rate limits and records the message.
func (s *Server) deliver(out outgoing) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[out.chatID]
	if !ok {
		return nil, badRequest("chat not found")
	}
	if c.blocked {
		return nil, errBlocked
	}
	if e := s.limitLocked(out.chatID); e != nil {
		return nil, e
	}
	c.lastMsg++
	m := &SentMessage{
		MessageID: c.lastMsg, ChatID: c.id, Method: out.method,
		Text: out.text, Raw: out.raw, ParseMode: out.mode, Keyboard: out.keyboard, At: s.o.Now(),
	}
	if f := out.file; f != nil {
		m.File = &SentFile{FileID: f.id, Name: f.name, ContentType: f.contentType, Data: f.data}
	}
	c.sent = append(c.sent, m)
	return s.resultJSON(c, m, out.file), nil
}

// resultJSON is the Message object Telegram returns for a send.
func (s *Server) resultJSON(c *chat, m *SentMessage, f *file) map[string]any {
	j := map[string]any{
		"message_id": m.MessageID,
		"from":       User{ID: s.botID, IsBot: true, FirstName: "Complaint bot", Username: s.o.BotUsername},
		"chat":       c.json(),
		"date":       m.At.Unix(),
	}
	textKey := "text"
	switch m.Method {
	case "sendDocument":
		textKey = "caption"
		j["document"] = map[string]any{
			"file_id": f.id, "file_unique_id": f.unique, "file_name": f.name, "mime_type": f.contentType, "file_size": len(f.data),
		}
	case "sendPhoto":
		textKey = "caption"
		j["photo"] = []map[string]any{f.photoSize(1280)}
	}
	if m.Text != "" {
		j[textKey] = m.Text
	}
	if m.Keyboard != nil {
		j["reply_markup"] = keyboardJSON(m.Keyboard)
	}
	return j
}

func (s *Server) editMessageReplyMarkup(_ *http.Request, p params) (any, *apiError) {
	chatID, e := p.chatID()
	if e != nil {
		return nil, e
	}
	msgID, e := p.int64("message_id")
	if e != nil {
		return nil, e
	}
	kb, e := parseMarkup(p.str("reply_markup"))
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[chatID]
	if !ok {
		return nil, badRequest("chat not found")
	}
	m := c.find(int(msgID))
	if m == nil {
		return nil, badRequest("message to edit not found")
	}
	if sameKeyboard(m.Keyboard, kb) {
		return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	m.Keyboard = kb
	return s.resultJSON(c, m, s.files[fileIDOf(m)]), nil
}

func fileIDOf(m *SentMessage) string {
	if m.File == nil {
		return ""
	}
	return m.File.FileID
}

func sameKeyboard(a, b [][]Button) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// markup is the part of reply_markup the fake understands.
type markup struct {
	InlineKeyboard [][]Button `json:"inline_keyboard"`
}

// parseMarkup reads an inline keyboard and checks its buttons as Telegram
// does. Other markups (reply keyboards) are accepted and not recorded.
func parseMarkup(raw string) ([][]Button, *apiError) {
	if raw == "" {
		return nil, nil
	}
	var m markup
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	n := 0
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			n++
			switch {
			case b.Text == "":
				return nil, badRequest("text buttons are unallowed in the inline keyboard")
			case b.URL == "" && (b.Data == "" || len(b.Data) > maxButtonData):
				return nil, badRequest("BUTTON_DATA_INVALID")
			}
		}
	}
	if n > maxButtonCount {
		return nil, badRequest("reply markup is too long")
	}
	return m.InlineKeyboard, nil
}

func keyboardJSON(kb [][]Button) map[string]any {
	return map[string]any{"inline_keyboard": kb}
}

// bucket is a token bucket: rate tokens a second, at most burst saved.
type bucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

// refill adds the tokens earned since the last look.
func (b *bucket) refill(now time.Time) {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
}

// retryAfter is how many whole seconds until a token is there (at least 1,
// as Telegram never says 0).
func (b *bucket) retryAfter() int {
	return max(1, int(math.Ceil((1-b.tokens)/b.rate)))
}

// limitLocked takes a token from the chat's bucket and the global one, or
// returns the 429 of the first that is empty.
func (s *Server) limitLocked(chatID int64) *apiError {
	if s.o.NoRateLimit {
		return nil
	}
	now := s.o.Now()
	c, ok := s.perChat[chatID]
	if !ok {
		c = newBucket(s.o.PerChatRate, s.o.PerChatBurst)
		s.perChat[chatID] = c
	}
	c.refill(now)
	s.global.refill(now)
	for _, b := range []*bucket{c, s.global} {
		if b.tokens < 1 {
			s.limited++
			return tooMany(b.retryAfter())
		}
	}
	c.tokens--
	s.global.tokens--
	return nil
}
