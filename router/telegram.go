package router

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"complaintbot/store"
)

// Headers of a Telegram message, as ingest sets them (ingest's
// HeaderTelegram* constants; router does not import ingest).
const (
	hdrTelegramLang         = "X-Telegram-Lang"
	hdrTelegramCommand      = "X-Telegram-Command"
	hdrTelegramCommandArgs  = "X-Telegram-Command-Args"
	hdrTelegramCallback     = "X-Telegram-Callback"
	hdrTelegramContactPhone = "X-Telegram-Contact-Phone"
	hdrTelegramContactOwn   = "X-Telegram-Contact-Own"
)

// Outbox kinds of the Telegram conversation. Rows without a template of
// their own carry their text in Data["text"] (notify sends it escaped).
const (
	KindGreeting = "greeting" // the answer to /start
	KindStatus   = "status"   // the answer to /status
	KindChatInfo = "chat_info"
	// KindStaffInfo answers a staff member in their chat (prompts,
	// confirmations, refusals); never part of a complaint's conversation.
	KindStaffInfo = "staff_info"
)

// Customer commands.
const (
	cmdStart  = "/start"
	cmdHelp   = "/help"
	cmdNew    = "/new"
	cmdStatus = "/status"
	cmdLink   = "/link"
	cmdCancel = "/cancel"
)

// awaitNew is the chat state of a customer who sent /new alone: the next
// message opens a complaint of its own.
const awaitNew = "new"

// maxStatusListed bounds the complaints /status lists.
const maxStatusListed = 20

// routeTelegram decides one message from the bot's chats: noise is kept
// as it came, button presses and staff members' messages go to the staff
// flow, everything else is a customer's.
func (r *Router) routeTelegram(tx store.Tx, m *store.Message, out *outcome) error {
	switch {
	case m.Status == store.StatusQuarantined:
		out.ignore(labelQuarantined)
		return r.putUnthreaded(tx, m, out)
	case m.Status == store.StatusIgnored:
		out.ignore(ignoredLabel(m.Reason))
		return r.putUnthreaded(tx, m, out)
	case m.TelegramUserID == 0 || m.TelegramChatID == 0:
		m.Status, m.Reason = store.StatusQuarantined, "no Telegram sender or chat"
		out.ignore(labelQuarantined)
		return r.putUnthreaded(tx, m, out)
	}
	if r.isStaffInput(m) {
		return r.routeStaff(tx, m, out)
	}
	return r.routeTelegramCustomer(tx, m, out)
}

// telegramLang is the customer's Telegram language_code when it is one we
// answer in, else "".
func telegramLang(m *store.Message) string {
	if m.Channel != store.ChannelTelegram {
		return ""
	}
	lang := strings.ToLower(strings.TrimSpace(m.Headers[hdrTelegramLang]))
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	switch lang {
	case LangRussian, LangLithuanian, LangEnglish:
		return lang
	}
	return ""
}

// chatLang is the language to answer m in: Telegram's language_code
// first, then the text's.
func chatLang(m *store.Message) string {
	if l := telegramLang(m); l != "" {
		return l
	}
	return DetectLang(m.Subject + "\n" + m.Text)
}

// routeTelegramCustomer handles a customer's message: a command, a shared
// contact, or text and files that join their open complaint or open one.
func (r *Router) routeTelegramCustomer(tx store.Tx, m *store.Message, out *outcome) error {
	now := r.now()
	cmd, args := m.Headers[hdrTelegramCommand], strings.TrimSpace(m.Headers[hdrTelegramCommandArgs])
	lang := chatLang(m)
	if cmd != "" && cmd != cmdNew {
		lang = telegramLang(m) // "/status" tells nothing about the language
	}
	cust, created, err := r.telegramCustomer(tx, m, lang)
	if err != nil {
		return err
	}
	m.CustomerID = cust.ID
	lang = cmpOr(lang, cmpOr(cust.Lang, LangEnglish))
	switch cmd {
	case cmdStart, cmdHelp:
		return r.greet(tx, cust, m, lang, now, out)
	case cmdStatus:
		return r.answerStatus(tx, cust, m, lang, now, out)
	case cmdLink:
		return r.linkCommand(tx, cust, m, args, lang, now, out)
	case cmdNew:
		return r.newCommand(tx, cust, m, args, now, out)
	}
	if err := r.saveContact(tx, cust, m, lang, now, out); err != nil {
		return err
	}
	if strings.TrimSpace(m.Text) == "" && len(m.Attachments) == 0 {
		return r.contactOnly(tx, cust, m, created, now, out)
	}
	fresh, err := r.takeAwaitNew(tx, m.TelegramUserID)
	if err != nil {
		return err
	}
	return r.customerText(tx, cust, m, created || fresh, now, out)
}

// telegramCustomer finds the sender's customer by Telegram user id, or
// creates one (created is then true), and records name and language (lang
// "" keeps the one known).
func (r *Router) telegramCustomer(tx store.Tx, m *store.Message, lang string) (cust *store.Customer, created bool, err error) {
	cust, err = tx.CustomerByTelegram(m.TelegramUserID)
	if errors.Is(err, store.ErrNotFound) {
		cust, created, err = &store.Customer{TelegramIDs: []int64{m.TelegramUserID}}, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("look up telegram customer %d: %w", m.TelegramUserID, err)
	}
	changed := created || lang != "" && cust.Lang != lang
	if name := cleanHeader(m.From.Name); cust.Name == "" && name != "" {
		cust.Name, changed = truncateRunes(name, maxSubjectRunes), true
	}
	if lang != "" {
		cust.Lang = lang
	}
	if !changed {
		return cust, created, nil
	}
	if err := tx.PutCustomer(cust); err != nil {
		return nil, false, fmt.Errorf("put telegram customer %d: %w", m.TelegramUserID, err)
	}
	return cust, created, nil
}

// customerText records text or files: in the complaint a reply names, else
// in the customer's open Telegram complaint, else (or when new is set) in
// a new complaint, classified, assigned and acknowledged like an email.
func (r *Router) customerText(tx store.Tx, cust *store.Customer, m *store.Message, isNew bool, now time.Time, out *outcome) error {
	m.Status, m.Reason = store.StatusRecorded, ""
	var c *store.Complaint
	if !isNew {
		var err error
		if c, err = r.chatComplaint(tx, m, cust.ID); err != nil {
			return err
		}
	}
	out.received = append(out.received, m.ReceivedAt)
	if c != nil {
		r.log.Debug("telegram message joins complaint", "complaint", c.Number, "message_id", m.MessageID)
		return r.addToComplaint(tx, cust, c, m, now, out)
	}
	out.complaints++
	r.log.Debug("telegram message opens a complaint", "message_id", m.MessageID, "customer", cust.ID)
	return r.openComplaint(tx, cust, m, chatLang(m), now, out)
}

// chatComplaint is the complaint a customer's Telegram message joins: the
// one its reply or tag names (the email rules, the customer's own only),
// else the newest open complaint the customer opened on Telegram.
func (r *Router) chatComplaint(tx store.Tx, m *store.Message, customerID uint64) (*store.Complaint, error) {
	c, err := r.findComplaint(tx, m, customerID)
	if err != nil {
		return nil, err
	}
	if c != nil && c.Stage != store.StageNotComplaint {
		return c, nil
	}
	return openChatComplaint(tx, customerID)
}

// openChatComplaint is the customer's newest open complaint that came by
// Telegram, or nil.
func openChatComplaint(tx store.Tx, customerID uint64) (*store.Complaint, error) {
	cs, err := tx.ComplaintsOfCustomer(customerID)
	if err != nil {
		return nil, fmt.Errorf("complaints of customer %d: %w", customerID, err)
	}
	for _, c := range slices.Backward(cs) {
		if c.CustomerID == customerID && c.Channel == store.ChannelTelegram && c.Open() {
			return c, nil
		}
	}
	return nil, nil
}

// newCommand opens a new complaint with the text after /new, or, with
// none, waits for the next message to open one.
func (r *Router) newCommand(tx store.Tx, cust *store.Customer, m *store.Message, args string, now time.Time, out *outcome) error {
	if args != "" {
		m.Text, m.Subject = args, firstLine(args)
		return r.customerText(tx, cust, m, true, now, out)
	}
	if err := tx.PutChatState(store.ChatState{TelegramUserID: m.TelegramUserID, Awaiting: awaitNew}); err != nil {
		return fmt.Errorf("put chat state: %w", err)
	}
	lang := cmpOr(telegramLang(m), cmpOr(cust.Lang, LangEnglish))
	return r.commandDone(tx, cust, m, lang, phrase(lang, phNewPrompt), now, out)
}

// takeAwaitNew reports (and clears) a pending /new.
func (r *Router) takeAwaitNew(tx store.Tx, userID int64) (bool, error) {
	st, err := tx.ChatState(userID)
	if err != nil {
		return false, fmt.Errorf("chat state: %w", err)
	}
	if st.Awaiting != awaitNew {
		return false, nil
	}
	return true, tx.PutChatState(store.ChatState{TelegramUserID: userID})
}

// greet answers /start with the greeting template in the customer's
// language.
func (r *Router) greet(tx store.Tx, cust *store.Customer, m *store.Message, lang string, now time.Time, out *outcome) error {
	n := r.chatRow(cust.ID, 0, m.TelegramChatID, KindGreeting, lang, map[string]string{"customer_name": cust.Name}, now)
	return r.commandRow(tx, m, n, out)
}

// answerStatus lists the sender's own open complaints with their stages.
func (r *Router) answerStatus(tx store.Tx, cust *store.Customer, m *store.Message, lang string, now time.Time, out *outcome) error {
	cs, err := tx.ComplaintsOfCustomer(cust.ID)
	if err != nil {
		return fmt.Errorf("complaints of customer %d: %w", cust.ID, err)
	}
	var lines []string
	for _, c := range cs {
		if c.CustomerID != cust.ID || !c.Open() {
			continue // the index is the customer's; the check keeps it so
		}
		lines = append(lines, statusLine(c, lang))
	}
	text := phrase(lang, phStatusNone)
	if len(lines) > 0 {
		if len(lines) > maxStatusListed {
			lines = lines[len(lines)-maxStatusListed:]
		}
		text = phrase(lang, phStatusHead) + "\n" + strings.Join(lines, "\n")
	}
	return r.commandDone(tx, cust, m, lang, text, now, out)
}

func statusLine(c *store.Complaint, lang string) string {
	line := "• " + c.Number + " — " + stageName(lang, c.Stage)
	if s := truncateRunes(cleanHeader(c.Subject), 60); s != "" {
		line += " — " + s
	}
	return line
}

// commandDone answers a command in the chat with text and records the
// command message outside any complaint.
func (r *Router) commandDone(tx store.Tx, cust *store.Customer, m *store.Message, lang, text string, now time.Time, out *outcome) error {
	n := r.chatRow(cust.ID, 0, m.TelegramChatID, KindChatInfo, lang, map[string]string{"text": text}, now)
	return r.commandRow(tx, m, n, out)
}

// commandRow queues n and stores the command message m, which belongs to
// no complaint.
func (r *Router) commandRow(tx store.Tx, m *store.Message, n *store.Notification, out *outcome) error {
	if err := tx.PutNotification(n); err != nil {
		return fmt.Errorf("queue %s: %w", n.Kind, err)
	}
	out.notifications++
	m.Status, m.Reason = store.StatusIgnored, "telegram command "+cmpOr(m.Headers[hdrTelegramCommand], "(none)")
	out.ignore(labelOther)
	return r.putUnthreaded(tx, m, out)
}

// chatRow is an outbox row to a Telegram chat.
func (r *Router) chatRow(customerID, complaintID uint64, chat int64, kind, lang string, data map[string]string, now time.Time) *store.Notification {
	return &store.Notification{
		ComplaintID: complaintID, CustomerID: customerID, Kind: kind, Channel: store.ChannelTelegram,
		Lang: lang, TelegramChatID: chat, Data: data,
		Status: store.NotifyPending, NextAttempt: now, CreatedAt: now,
	}
}

// saveContact records a phone number the customer shared as their own
// (X-Telegram-Contact-Own); someone else's contact is only a message.
func (r *Router) saveContact(tx store.Tx, cust *store.Customer, m *store.Message, lang string, now time.Time, out *outcome) error {
	phone := cleanPhone(m.Headers[hdrTelegramContactPhone])
	if phone == "" || m.Headers[hdrTelegramContactOwn] != "true" || slices.Contains(cust.Phones, phone) {
		return nil
	}
	cust.Phones = append(cust.Phones, phone)
	if err := tx.PutCustomer(cust); err != nil {
		return fmt.Errorf("put customer %d: %w", cust.ID, err)
	}
	n := r.chatRow(cust.ID, 0, m.TelegramChatID, KindChatInfo, lang, map[string]string{"text": phrase(lang, phPhoneSaved)}, now)
	if err := tx.PutNotification(n); err != nil {
		return fmt.Errorf("queue phone notice: %w", err)
	}
	out.notifications++
	return nil
}

// cleanPhone keeps a phone number's digits and a leading +; "" when it has
// too few or too many digits to be one.
func cleanPhone(s string) string {
	var b strings.Builder
	for i, c := range strings.TrimSpace(s) {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == '+' && i == 0:
			b.WriteRune(c)
		}
	}
	digits := strings.TrimPrefix(b.String(), "+")
	if len(digits) < 5 || len(digits) > 20 {
		return ""
	}
	if !strings.HasPrefix(b.String(), "+") {
		return "+" + digits // Telegram gives numbers in international form, sometimes without +
	}
	return b.String()
}

// contactOnly records a message that carried only a contact: in the open
// complaint when there is one, else outside any complaint.
func (r *Router) contactOnly(tx store.Tx, cust *store.Customer, m *store.Message, created bool, now time.Time, out *outcome) error {
	var c *store.Complaint
	if !created {
		var err error
		if c, err = openChatComplaint(tx, cust.ID); err != nil {
			return err
		}
	}
	if c != nil {
		m.Status = store.StatusRecorded
		out.received = append(out.received, m.ReceivedAt)
		return r.addToComplaint(tx, cust, c, m, now, out)
	}
	m.Status, m.Reason = store.StatusIgnored, "telegram contact shared"
	out.ignore(labelOther)
	return r.putUnthreaded(tx, m, out)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return truncateRunes(strings.TrimSpace(line), 80)
}

func staffActor(id string) string { return "staff:" + id }

func telegramActor(userID int64) string { return "telegram:" + strconv.FormatInt(userID, 10) }
