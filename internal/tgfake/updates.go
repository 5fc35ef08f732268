package tgfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// User is a Telegram user as the fake presents them in updates.
type User struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
}

// chatJSON is the chat object of a message.
type chatJSON struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Username  string `json:"username,omitempty"`
}

// chat is what the fake knows of one chat.
type chat struct {
	id      int64
	typ     string
	first   string
	lastMsg int // message ids are per chat, shared by both directions
	blocked bool
	sent    []*SentMessage
}

// update is one pushed update, its JSON fixed when pushed.
type update struct {
	id   int64
	kind string // "message", "callback_query", ...
	body json.RawMessage
}

func (u update) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"update_id":%d,%q:%s}`, u.id, u.kind, u.body), nil
}

// SetUser registers how a user appears in updates (name, username,
// language). Users not registered appear as "User<id>".
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// AddChat makes a chat known without an update from it, so the bot may
// write to it. A chat is otherwise known once it has sent an update, and
// sending to an unknown chat is 400 "chat not found", as in Telegram.
func (s *Server) AddChat(chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatLocked(chatID, User{ID: chatID, FirstName: "User" + strconv.FormatInt(chatID, 10)})
}

// Block marks a chat whose user blocked the bot: sending to it is 403.
func (s *Server) Block(chatID int64) { s.setBlocked(chatID, true) }

// Unblock undoes Block.
func (s *Server) Unblock(chatID int64) { s.setBlocked(chatID, false) }

func (s *Server) setBlocked(chatID int64, b bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatLocked(chatID, User{ID: chatID}).blocked = b
}

// Pending is how many updates are not confirmed yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

// userLocked returns the registered user, or a default one, with the
// language given when not empty.
func (s *Server) userLocked(id int64, lang string) User {
	u, ok := s.users[id]
	if !ok {
		u = User{ID: id, FirstName: "User" + strconv.FormatInt(id, 10)}
	}
	if lang != "" {
		u.LanguageCode = lang
	}
	return u
}

// chatLocked returns the chat, making it when new: a chat whose id is the
// user's is private, a negative one a supergroup.
func (s *Server) chatLocked(id int64, u User) *chat {
	c, ok := s.chats[id]
	if !ok {
		c = &chat{id: id, typ: "private", first: u.FirstName}
		if id != u.ID {
			c.typ = "group"
			if id < -1000000000000 {
				c.typ = "supergroup"
			}
		}
		s.chats[id] = c
	}
	return c
}

func (c *chat) json() chatJSON {
	j := chatJSON{ID: c.id, Type: c.typ}
	if c.typ == "private" {
		j.FirstName = c.first
	} else {
		j.Title = "Group " + strconv.FormatInt(c.id, 10)
	}
	return j
}

// message starts a message object from user u in chat c.
func (s *Server) messageLocked(u User, c *chat) map[string]any {
	c.lastMsg++
	return map[string]any{
		"message_id": c.lastMsg,
		"from":       u,
		"chat":       c.json(),
		"date":       s.o.Now().Unix(),
	}
}

// pushLocked appends an update and wakes the long polls.
func (s *Server) pushLocked(kind string, body any) int64 {
	raw, err := json.Marshal(body)
	if err != nil {
		panic(fmt.Sprintf("tgfake: marshal %s update: %v", kind, err)) // our own types: a bug
	}
	id := s.nextID
	s.nextID++
	s.updates = append(s.updates, update{id: id, kind: kind, body: raw})
	close(s.arrived)
	s.arrived = make(chan struct{})
	return id
}

// pushMessage pushes a message update built by fill; it returns the update id.
func (s *Server) pushMessage(userID, chatID int64, lang string, fill func(m map[string]any)) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(userID, lang)
	m := s.messageLocked(u, s.chatLocked(chatID, u))
	fill(m)
	return s.pushLocked("message", m)
}

// PushText pushes a text message from a user in a chat (a private chat
// when chatID == userID) and returns the update id.
func (s *Server) PushText(userID, chatID int64, text, langCode string) int64 {
	return s.pushMessage(userID, chatID, langCode, func(m map[string]any) { m["text"] = text })
}

// PushCommand pushes a command ("/start", "/new", "/status args") with
// its bot_command entity and returns the update id.
func (s *Server) PushCommand(userID, chatID int64, command, langCode string) int64 {
	word, _, _ := strings.Cut(command, " ")
	return s.pushMessage(userID, chatID, langCode, func(m map[string]any) {
		m["text"] = command
		m["entities"] = []map[string]any{{"type": "bot_command", "offset": 0, "length": utf16Len(word)}}
	})
}

// PushContact pushes the user sharing their own contact (the
// request_contact button) and returns the update id.
func (s *Server) PushContact(userID, chatID int64, phone string) int64 {
	return s.pushMessage(userID, chatID, "", func(m map[string]any) {
		u := m["from"].(User)
		m["contact"] = map[string]any{"phone_number": phone, "first_name": u.FirstName, "last_name": u.LastName, "user_id": userID}
	})
}

// PushPhoto pushes a photo with a caption. Like Telegram it carries
// several sizes: a small preview and the full picture (largest last).
func (s *Server) PushPhoto(userID, chatID int64, caption string, data []byte) int64 {
	return s.pushMessage(userID, chatID, "", func(m map[string]any) {
		thumb := s.addFileLocked("photos", "thumb.jpg", "image/jpeg", data[:min(len(data), 1024)])
		full := s.addFileLocked("photos", "photo.jpg", "image/jpeg", data)
		m["photo"] = []map[string]any{thumb.photoSize(90), full.photoSize(1280)}
		setCaption(m, caption)
	})
}

// PushDocument pushes a file sent as a document.
func (s *Server) PushDocument(userID, chatID int64, caption, fileName, mimeType string, data []byte) int64 {
	return s.pushMessage(userID, chatID, "", func(m map[string]any) {
		f := s.addFileLocked("documents", fileName, mimeType, data)
		m["document"] = map[string]any{
			"file_id": f.id, "file_unique_id": f.unique, "file_name": fileName, "mime_type": mimeType, "file_size": len(data),
		}
		setCaption(m, caption)
	})
}

// PushVoice pushes a voice note (OGG/Opus).
func (s *Server) PushVoice(userID, chatID int64, data []byte) int64 {
	return s.pushMessage(userID, chatID, "", func(m map[string]any) {
		f := s.addFileLocked("voice", "voice.oga", "audio/ogg", data)
		m["voice"] = map[string]any{
			"file_id": f.id, "file_unique_id": f.unique, "duration": 1 + len(data)/4000, "mime_type": "audio/ogg", "file_size": len(data),
		}
	})
}

func setCaption(m map[string]any, caption string) {
	if caption != "" {
		m["caption"] = caption
	}
}

// callbackQuery is a button press the bot may answer once.
type callbackQuery struct {
	id       string
	answered bool
}

// CallbackAnswer is what the bot answered to a button press.
type CallbackAnswer struct {
	QueryID   string
	Text      string
	ShowAlert bool
}

// PushCallback pushes a press of an inline button with data under the
// bot's message messageID in chatID, by userID. It returns the query id.
func (s *Server) PushCallback(userID, chatID int64, messageID int, data string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(userID, "")
	c := s.chatLocked(chatID, u)
	s.querySeq++
	id := strconv.FormatInt(userID, 10) + "-" + strconv.Itoa(s.querySeq)
	s.queries[id] = &callbackQuery{id: id}
	s.pushLocked("callback_query", map[string]any{
		"id":            id,
		"from":          u,
		"message":       s.botMessageJSON(c, messageID),
		"chat_instance": strconv.FormatInt(chatID*7919, 10),
		"data":          data,
	})
	return id
}

// botMessageJSON is the bot's message the button was on, as Telegram
// includes it in the callback query.
func (s *Server) botMessageJSON(c *chat, messageID int) map[string]any {
	m := map[string]any{
		"message_id": messageID,
		"from":       User{ID: s.botID, IsBot: true, FirstName: "Complaint bot", Username: s.o.BotUsername},
		"chat":       c.json(),
		"date":       s.o.Now().Unix(),
	}
	if sm := c.find(messageID); sm != nil {
		m["date"] = sm.At.Unix()
		m["text"] = sm.Text
		if kb := sm.Keyboard; kb != nil {
			m["reply_markup"] = keyboardJSON(kb)
		}
	}
	return m
}

// PushUpdate pushes an update of any kind with the given body, for kinds
// the other helpers do not make ("edited_message", "my_chat_member",
// "inline_query", ...). It returns the update id.
func (s *Server) PushUpdate(kind string, body any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushLocked(kind, body)
}

// Answers lists the answers given to button presses, in order.
func (s *Server) Answers() []CallbackAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CallbackAnswer(nil), s.answers...)
}

func (s *Server) answerCallbackQuery(_ *http.Request, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queries[p.str("callback_query_id")]
	if !ok || q.answered {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	q.answered = true
	s.answers = append(s.answers, CallbackAnswer{QueryID: q.id, Text: p.str("text"), ShowAlert: p.bool("show_alert")})
	return true, nil
}

// Longest wait getUpdates accepts, in seconds (Telegram caps it too).
const maxPollTimeout = 600

// getUpdates returns the updates at or above offset, waiting up to
// timeout seconds for the first one. See the package comment.
func (s *Server) getUpdates(r *http.Request, p params) (any, *apiError) {
	offset, e := p.int64("offset")
	if e != nil {
		return nil, e
	}
	limit, e := p.int64("limit")
	if e != nil {
		return nil, e
	}
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, e := p.int64("timeout")
	if e != nil {
		return nil, e
	}
	timeout = min(max(timeout, 0), maxPollTimeout)
	mine := s.takeOverPoll()
	defer s.releasePoll(mine)
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		out, arrived := s.collect(offset, int(limit))
		if len(out) > 0 || timeout == 0 {
			return out, nil
		}
		select {
		case <-arrived:
		case <-deadline.C:
			return []update{}, nil
		case <-mine:
			return nil, errConflict
		case <-r.Context().Done():
			return []update{}, nil
		}
	}
}

// takeOverPoll ends a waiting getUpdates (it gets 409) and makes this one
// the current one.
func (s *Server) takeOverPoll() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.poll != nil {
		close(s.poll)
	}
	s.poll = make(chan struct{})
	return s.poll
}

func (s *Server) releasePoll(mine chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.poll == mine {
		s.poll = nil
	}
}

// collect confirms the updates below offset (a negative offset keeps only
// the last -offset) and returns up to limit of the rest, with the channel
// that closes on the next push.
func (s *Server) collect(offset int64, limit int) ([]update, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case offset < 0:
		if keep := int(-offset); keep < len(s.updates) {
			s.updates = s.updates[len(s.updates)-keep:]
		}
	case offset > 0:
		i := 0
		for i < len(s.updates) && s.updates[i].id < offset {
			i++
		}
		s.updates = s.updates[i:]
	}
	n := min(limit, len(s.updates))
	return append([]update(nil), s.updates[:n]...), s.arrived
}
