package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"complaintbot/store"
)

// Headers a Telegram message carries in store.Message.Headers. Router
// reads them; they are the contract between the two.
const (
	HeaderTelegramUpdateID     = "X-Telegram-Update-ID"
	HeaderTelegramChatType     = "X-Telegram-Chat-Type"
	HeaderTelegramUsername     = "X-Telegram-Username"
	HeaderTelegramLang         = "X-Telegram-Lang"             // the user's language_code
	HeaderTelegramCommand      = "X-Telegram-Command"          // "/start", lower-cased, without @bot
	HeaderTelegramCommandArgs  = "X-Telegram-Command-Args"     // the text after the command
	HeaderTelegramCallback     = "X-Telegram-Callback"         // a button's callback data
	HeaderTelegramCallbackID   = "X-Telegram-Callback-ID"      // the callback query id
	HeaderTelegramCallbackMsg  = "X-Telegram-Callback-Message" // message_id of the message the button is on
	HeaderTelegramContactPhone = "X-Telegram-Contact-Phone"    // a shared contact's phone number
	HeaderTelegramContactOwn   = "X-Telegram-Contact-Own"      // "true" when the contact is the sender's own
	HeaderTelegramEdited       = "X-Telegram-Edited"           // edit time (RFC 3339) of an edited message
	HeaderTelegramForwarded    = "X-Telegram-Forwarded"        // "true" for a forwarded message
	HeaderTelegramMediaGroup   = "X-Telegram-Media-Group"      // album id shared by its messages
	HeaderTelegramMemberStatus = "X-Telegram-Member-Status"    // my_chat_member: "kicked" = bot blocked
	HeaderTelegramUpdateKind   = "X-Telegram-Update-Kind"      // "message", "callback_query", ...
	maxTelegramSubjectRunes    = 80
)

// TelegramMessageID is the store.Message.MessageID of a Telegram message:
// chat and message ids together name it uniquely for one bot. Outbound
// messages recorded by notify use the same form, so a customer's reply to
// one of ours names it in InReplyTo.
func TelegramMessageID(chatID int64, messageID int) string {
	return "tg-" + strconv.FormatInt(chatID, 10) + "-" + strconv.Itoa(messageID)
}

// telegramFile is a file an update refers to, still to be downloaded.
type telegramFile struct {
	id, uniqueID string
	name         string
	contentType  string
	size         int64 // 0 when Telegram did not say
}

// parsedUpdate is one update of a getUpdates answer.
type parsedUpdate struct {
	id    int64 // -1 when the update has no readable update_id
	msg   *store.Message
	files []telegramFile
	// callbackID is set for a button press, to be answered after commit.
	callbackID string
}

// NormalizeTelegramUpdate turns the JSON of one update into a message,
// without fetching its files (their attachments are listed, not kept).
// Like Normalize it never fails or panics on what it is given.
func NormalizeTelegramUpdate(raw []byte) *store.Message {
	p, _ := safeParseUpdate(raw, time.Now)
	for _, f := range p.files {
		p.msg.Attachments = append(p.msg.Attachments, f.attachment())
	}
	return p.msg
}

// safeParseUpdate is parseUpdate with a panic turned into a quarantined
// message; the panic value is returned for the caller to log.
func safeParseUpdate(raw []byte, now func() time.Time) (p parsedUpdate, panicked any) {
	defer func() {
		if panicked = recover(); panicked != nil {
			p = parsedUpdate{id: updateID(raw), msg: quarantinedUpdate(raw, fmt.Sprintf("normaliser panic: %v", panicked))}
			finishUpdate(p.msg, p.id, "", raw, now())
		}
	}()
	return parseUpdate(raw, now), nil
}

// parseUpdate normalises one update. Updates it cannot read are
// quarantined with their bytes; kinds it does not serve are ignored with
// the reason. Nothing is dropped.
func parseUpdate(raw []byte, now func() time.Time) parsedUpdate {
	p := parsedUpdate{id: updateID(raw)}
	var u tgbotapi.Update
	kind, err := updateKind(raw)
	if err == nil {
		err = json.Unmarshal(raw, &u)
	}
	switch {
	case err != nil:
		p.msg = quarantinedUpdate(raw, fmt.Sprintf("cannot decode Telegram update: %v", err))
	case u.Message != nil:
		p.msg, p.files = messageUpdate(u.Message, raw)
	case u.EditedMessage != nil:
		p.msg, p.files = messageUpdate(u.EditedMessage, raw)
		markEdited(p.msg, u.EditedMessage)
	case u.CallbackQuery != nil:
		p.msg, p.callbackID = callbackUpdate(u.CallbackQuery), u.CallbackQuery.ID
	case u.MyChatMember != nil:
		p.msg = memberUpdate(u.MyChatMember)
	default:
		p.msg = &store.Message{Status: store.StatusIgnored, Reason: "unsupported Telegram update: " + kind}
	}
	finishUpdate(p.msg, p.id, kind, raw, now())
	return p
}

// updateID reads update_id; -1 when there is none.
func updateID(raw []byte) int64 {
	var head struct {
		UpdateID *int64 `json:"update_id"`
	}
	if json.Unmarshal(raw, &head) != nil || head.UpdateID == nil || *head.UpdateID < 0 {
		return -1
	}
	return *head.UpdateID
}

// updateKind is the name of the one field besides update_id ("message",
// "callback_query", ...).
func updateKind(raw []byte) (string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return "", err
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "update_id" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, ","), nil
}

func quarantinedUpdate(raw []byte, reason string) *store.Message {
	return &store.Message{Status: store.StatusQuarantined, Reason: reason, Raw: raw}
}

// finishUpdate sets what every message from an update has.
func finishUpdate(m *store.Message, id int64, kind string, raw []byte, now time.Time) {
	m.Direction, m.Channel = store.DirectionIn, store.ChannelTelegram
	if m.Headers == nil {
		m.Headers = map[string]string{}
	}
	if id >= 0 {
		m.Headers[HeaderTelegramUpdateID] = strconv.FormatInt(id, 10)
		m.SourceRef = "update/" + strconv.FormatInt(id, 10)
	}
	if kind != "" {
		m.Headers[HeaderTelegramUpdateKind] = kind
	}
	if m.MessageID == "" && id >= 0 {
		m.MessageID = "tg-update-" + strconv.FormatInt(id, 10)
	}
	if m.Status == "" {
		m.Status = store.StatusRecorded
	}
	m.Size = int64(len(raw))
	m.ContentHash = canonicalHash(raw)
	m.ReceivedAt = now
	if m.Date.IsZero() {
		m.Date = now
	}
}

// canonicalHash is the sha256 of the update re-encoded with sorted keys and
// no insignificant space, so the same update hashes the same however it
// was formatted on the wire.
func canonicalHash(raw []byte) string {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	canon := raw
	if d.Decode(&v) == nil {
		if b, err := json.Marshal(v); err == nil {
			canon = b
		}
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:])
}

// messageUpdate normalises a message (new or edited) from a chat.
func messageUpdate(tm *tgbotapi.Message, raw []byte) (*store.Message, []telegramFile) {
	m := &store.Message{Headers: map[string]string{}, Date: time.Unix(int64(tm.Date), 0).UTC()}
	if tm.Chat != nil {
		m.TelegramChatID = tm.Chat.ID
		m.MessageID = TelegramMessageID(tm.Chat.ID, tm.MessageID)
		m.Headers[HeaderTelegramChatType] = tm.Chat.Type
		if r := tm.ReplyToMessage; r != nil {
			m.InReplyTo = []string{TelegramMessageID(tm.Chat.ID, r.MessageID)}
		}
	}
	setSender(m, tm.From)
	m.Text = tm.Text
	if m.Text == "" {
		m.Text = tm.Caption
	}
	m.Subject = subjectOf(m.Text)
	setMessageHeaders(m, tm)
	files := messageFiles(tm)
	if reason := unservedMessage(tm); reason != "" {
		m.Status, m.Reason = store.StatusIgnored, reason
	}
	if m.Status == "" && m.Text == "" && len(files) == 0 && tm.Contact == nil {
		m.Status, m.Reason = store.StatusIgnored, "unsupported message content: "+contentKind(raw)
	}
	return m, files
}

func setSender(m *store.Message, u *tgbotapi.User) {
	if u == nil {
		return
	}
	m.TelegramUserID = u.ID
	m.From.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
	setNonEmpty(m.Headers, HeaderTelegramUsername, u.UserName)
	setNonEmpty(m.Headers, HeaderTelegramLang, u.LanguageCode)
}

func setMessageHeaders(m *store.Message, tm *tgbotapi.Message) {
	if cmd, args, ok := command(tm); ok {
		m.Headers[HeaderTelegramCommand] = cmd
		setNonEmpty(m.Headers, HeaderTelegramCommandArgs, args)
	}
	if c := tm.Contact; c != nil {
		m.Headers[HeaderTelegramContactPhone] = c.PhoneNumber
		m.Headers[HeaderTelegramContactOwn] = strconv.FormatBool(tm.From != nil && c.UserID == tm.From.ID)
	}
	if tm.ForwardDate != 0 {
		m.Headers[HeaderTelegramForwarded] = "true"
	}
	setNonEmpty(m.Headers, HeaderTelegramMediaGroup, tm.MediaGroupID)
}

// command reads a bot command at the start of the text ("/Status@bot
// C-1" gives "/status", "C-1"). It reads the text itself rather than
// trusting the entity's length, which a client could make up (the
// library's Command slices by it and panics).
func command(tm *tgbotapi.Message) (cmd, args string, ok bool) {
	if !tm.IsCommand() || !strings.HasPrefix(tm.Text, "/") {
		return "", "", false
	}
	word, rest, _ := strings.Cut(tm.Text, " ")
	word, _, _ = strings.Cut(word, "\n")
	word, _, _ = strings.Cut(word, "@")
	if len(word) < 2 {
		return "", "", false
	}
	return strings.ToLower(word), strings.TrimSpace(rest), true
}

// unservedMessage says why a message is not a customer's or staff's
// message to us: only people in private chats with the bot are served.
func unservedMessage(tm *tgbotapi.Message) string {
	switch {
	case tm.Chat == nil:
		return "message without a chat"
	case tm.Chat.Type != "private":
		return "not a private chat (" + tm.Chat.Type + ")"
	case tm.From == nil:
		return "message without a sender"
	case tm.From.IsBot:
		return "sent by a bot"
	}
	return ""
}

// contentKind names what a message without text or files carries
// (sticker, location, ...), from its JSON.
func contentKind(raw []byte) string {
	var u map[string]json.RawMessage
	if json.Unmarshal(raw, &u) != nil {
		return "unknown"
	}
	var msg map[string]json.RawMessage
	for k, v := range u {
		if k != "update_id" && json.Unmarshal(v, &msg) == nil {
			break
		}
	}
	var kinds []string
	for k := range msg {
		if !messageMeta[k] {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return "empty message"
	}
	slices.Sort(kinds)
	return strings.Join(kinds, ",")
}

// messageMeta are the fields of a message that are not its content.
var messageMeta = map[string]bool{
	"message_id": true, "from": true, "sender_chat": true, "date": true, "chat": true, "edit_date": true,
	"entities": true, "caption_entities": true, "reply_to_message": true, "forward_from": true,
	"forward_from_chat": true, "forward_date": true, "forward_sender_name": true, "forward_signature": true,
	"forward_from_message_id": true, "is_automatic_forward": true, "via_bot": true, "reply_markup": true,
	"has_protected_content": true, "media_group_id": true, "author_signature": true,
}

// markEdited gives an edited message its own id (the original keeps its
// own) and points it at the original.
func markEdited(m *store.Message, tm *tgbotapi.Message) {
	if tm.Chat == nil {
		return
	}
	orig := TelegramMessageID(tm.Chat.ID, tm.MessageID)
	m.MessageID = orig + "-edit-" + strconv.Itoa(tm.EditDate)
	m.References = []string{orig}
	m.Headers[HeaderTelegramEdited] = time.Unix(int64(tm.EditDate), 0).UTC().Format(time.RFC3339)
}

// messageFiles lists the files of a message: the largest size of a photo,
// a document, a voice note, an audio file or a video.
func messageFiles(tm *tgbotapi.Message) []telegramFile {
	var out []telegramFile
	if p := largestPhoto(tm.Photo); p != nil {
		out = append(out, telegramFile{id: p.FileID, uniqueID: p.FileUniqueID, name: "photo-" + p.FileUniqueID + ".jpg",
			contentType: "image/jpeg", size: int64(p.FileSize)})
	}
	if d := tm.Document; d != nil {
		out = append(out, telegramFile{id: d.FileID, uniqueID: d.FileUniqueID, name: cmpOr(d.FileName, "document-"+d.FileUniqueID),
			contentType: cmpOr(d.MimeType, "application/octet-stream"), size: int64(d.FileSize)})
	}
	if v := tm.Voice; v != nil {
		out = append(out, telegramFile{id: v.FileID, uniqueID: v.FileUniqueID, name: "voice-" + v.FileUniqueID + ".ogg",
			contentType: cmpOr(v.MimeType, "audio/ogg"), size: int64(v.FileSize)})
	}
	if a := tm.Audio; a != nil {
		out = append(out, telegramFile{id: a.FileID, uniqueID: a.FileUniqueID, name: cmpOr(a.FileName, "audio-"+a.FileUniqueID),
			contentType: cmpOr(a.MimeType, "audio/mpeg"), size: int64(a.FileSize)})
	}
	if v := tm.Video; v != nil {
		out = append(out, telegramFile{id: v.FileID, uniqueID: v.FileUniqueID, name: cmpOr(v.FileName, "video-"+v.FileUniqueID+".mp4"),
			contentType: cmpOr(v.MimeType, "video/mp4"), size: int64(v.FileSize)})
	}
	return out
}

// largestPhoto picks the biggest of a photo's sizes: by bytes when
// Telegram gives them, else by pixels.
func largestPhoto(sizes []tgbotapi.PhotoSize) *tgbotapi.PhotoSize {
	var best *tgbotapi.PhotoSize
	for i := range sizes {
		p := &sizes[i]
		if best == nil || p.FileSize > best.FileSize ||
			p.FileSize == best.FileSize && p.Width*p.Height > best.Width*best.Height {
			best = p
		}
	}
	return best
}

// attachment is the record of a file not (or not yet) downloaded.
func (f telegramFile) attachment() store.Attachment {
	return store.Attachment{Name: f.name, ContentType: f.contentType, Size: f.size, NotKeptWhy: "not downloaded"}
}

// callbackUpdate normalises a button press.
func callbackUpdate(cq *tgbotapi.CallbackQuery) *store.Message {
	m := &store.Message{Headers: map[string]string{}, MessageID: "tg-cb-" + cq.ID}
	setSender(m, cq.From)
	m.Headers[HeaderTelegramCallback] = cq.Data
	m.Headers[HeaderTelegramCallbackID] = cq.ID
	if bm := cq.Message; bm != nil && bm.Chat != nil {
		m.TelegramChatID = bm.Chat.ID
		m.Headers[HeaderTelegramChatType] = bm.Chat.Type
		m.Headers[HeaderTelegramCallbackMsg] = strconv.Itoa(bm.MessageID)
		m.InReplyTo = []string{TelegramMessageID(bm.Chat.ID, bm.MessageID)}
	}
	switch {
	case cq.From == nil:
		m.Status, m.Reason = store.StatusIgnored, "button press without a sender"
	case cq.Message == nil:
		m.Status, m.Reason = store.StatusIgnored, "button press on an inline message"
	}
	return m
}

// memberUpdate records the bot being blocked ("kicked") or unblocked in a
// chat: noise for the complaint flow, but telling for sending.
func memberUpdate(cm *tgbotapi.ChatMemberUpdated) *store.Message {
	m := &store.Message{Headers: map[string]string{}, Date: time.Unix(int64(cm.Date), 0).UTC()}
	m.TelegramChatID = cm.Chat.ID
	setSender(m, &cm.From)
	m.Headers[HeaderTelegramChatType] = cm.Chat.Type
	m.Headers[HeaderTelegramMemberStatus] = cm.NewChatMember.Status
	m.Status = store.StatusIgnored
	m.Reason = "bot membership changed: " + cm.OldChatMember.Status + " -> " + cm.NewChatMember.Status
	return m
}

// subjectOf is the first line of text, cut to a readable length.
func subjectOf(text string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	line = strings.TrimSpace(line)
	if utf8.RuneCountInString(line) <= maxTelegramSubjectRunes {
		return line
	}
	r := []rune(line)
	return string(r[:maxTelegramSubjectRunes-1]) + "…"
}

func setNonEmpty(h map[string]string, key, value string) {
	if value != "" {
		h[key] = value
	}
}
