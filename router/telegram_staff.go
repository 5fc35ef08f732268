package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"complaintbot/store"
)

// The staff side of the bot. A staff member is a configured Staff with a
// TelegramID; nobody else's button press or staff command does anything
// but an event "staff_action_refused" and a log line. Every press by staff
// is an event "telegram_action" on its complaint. What a press asks for
// next (the text of a reply or note, the fields of a resolution) is a
// store.ChatState, so a restart in between loses nothing. The actions
// themselves run after the batch commits (see runStaffActions).

// Callback data of the buttons: "a:<verb>:<complaint number>[:<arg>]",
// at most 64 bytes (Telegram's limit).
const (
	callbackPrefix   = "a:"
	maxCallbackBytes = 64
	// staffStepTTL bounds how long a prompt waits for its answer.
	staffStepTTL = time.Hour
	// refusalInterval spaces the refusals told to one stranger.
	refusalInterval = time.Minute
)

// Verbs of the buttons and staff commands.
const (
	verbTake         = "take"
	verbReply        = "reply"
	verbNote         = "note"
	verbReassignMenu = "ra"
	verbReassignTo   = "rt"
	verbResolve      = "res"
	verbResolveKind  = "rk"
	verbCancel       = "cancel"
	verbHelp         = "help"
	verbAdvance      = "adv"
	verbApprove      = "apr"
)

// Chat states of the staff flow.
const (
	awaitReply            = "reply"
	awaitNote             = "note"
	awaitResolveKind      = "resolve_kind"
	awaitResolveAmount    = "resolve_amount"
	awaitResolveCause     = "resolve_cause"
	awaitResolveBonus     = "resolve_bonus"
	awaitResolvePrevent   = "resolve_prevention"
	EventTelegramAction   = "telegram_action"
	EventStaffRefused     = "staff_action_refused"
	ReasonStaffInput      = "telegram staff input"
	ReasonStaffRefused    = "telegram staff action refused"
	maxReassignCandidates = 12
)

// staffCommands maps staff commands to their verbs.
var staffCommands = map[string]string{
	"/take": verbTake, "/reply": verbReply, "/note": verbNote, "/reassign": verbReassignMenu,
	"/resolve": verbResolve, cmdCancel: verbCancel,
	"/advance": verbAdvance, "/approve": verbApprove,
}

// staffInput is a press or a staff command, parsed.
type staffInput struct {
	verb, number, arg string
	text              string // what followed the number in a command
	data              string // the raw callback data or command
}

// isStaffInput reports whether m goes to the staff flow: a button press, a
// staff command, or anything a configured staff member writes.
func (r *Router) isStaffInput(m *store.Message) bool {
	if m.Headers[hdrTelegramCallback] != "" {
		return true
	}
	if _, ok := staffCommands[m.Headers[hdrTelegramCommand]]; ok && m.Headers[hdrTelegramCommand] != cmdCancel {
		return true
	}
	return r.staffByTelegram(m.TelegramUserID) != nil
}

// staffByTelegram is the configured staff member with Telegram id id.
func (r *Router) staffByTelegram(id int64) *Staff {
	if r.dir == nil || id == 0 {
		return nil
	}
	for _, s := range r.dir.staff {
		if s.TelegramID == id {
			return s
		}
	}
	return nil
}

// parseStaffInput reads a press or a staff command from m; verb "" means
// plain text (or a command that is not a staff one).
func parseStaffInput(m *store.Message) staffInput {
	if data := m.Headers[hdrTelegramCallback]; data != "" {
		in := staffInput{data: data}
		parts := strings.SplitN(strings.TrimPrefix(data, callbackPrefix), ":", 3)
		if !strings.HasPrefix(data, callbackPrefix) || len(parts) < 2 {
			return in
		}
		in.verb, in.number = parts[0], parts[1]
		if len(parts) == 3 {
			in.arg = parts[2]
		}
		return in
	}
	cmd := m.Headers[hdrTelegramCommand]
	switch cmd {
	case cmdStart, cmdHelp:
		return staffInput{verb: verbHelp, data: cmd}
	}
	verb, ok := staffCommands[cmd]
	if !ok {
		return staffInput{}
	}
	args := strings.TrimSpace(m.Headers[hdrTelegramCommandArgs])
	number, text, _ := strings.Cut(args, " ")
	return staffInput{verb: verb, number: strings.ToUpper(number), text: strings.TrimSpace(text), data: cmd + " " + number}
}

// routeStaff handles a button press, a staff command or a staff member's
// text. The message itself is kept outside any complaint: it is input to
// the bot, not part of a conversation with a customer.
func (r *Router) routeStaff(tx store.Tx, m *store.Message, out *outcome) error {
	now := r.now()
	in := parseStaffInput(m)
	staff := r.staffByTelegram(m.TelegramUserID)
	m.Status, m.Reason = store.StatusIgnored, ReasonStaffInput
	if staff == nil {
		return r.refuse(tx, m, in, now, out)
	}
	out.ignore(labelOther)
	if err := r.putUnthreaded(tx, m, out); err != nil {
		return err
	}
	s := staffSession{r: r, tx: tx, staff: staff, chat: m.TelegramChatID, lang: staff.Languages[0], now: now, out: out}
	switch in.verb {
	case "":
		return s.text(m)
	case verbHelp:
		return s.info(phrase(s.lang, phStaffHelp), nil)
	case verbCancel:
		return s.cancel()
	}
	return s.verb(in)
}

// refuse records a press or staff command by someone who is not staff: a
// warning in the log, an event on the complaint it names, the refusal as
// the answer to a press (an alert on the button itself), and (at most once
// a minute) a refusal in their chat.
func (r *Router) refuse(tx store.Tx, m *store.Message, in staffInput, now time.Time, out *outcome) error {
	uid := strconv.FormatInt(m.TelegramUserID, 10)
	r.log.Warn("telegram staff action refused: sender is not a configured staff member",
		"telegram_user_id", m.TelegramUserID, "action", in.verb, "complaint", in.number)
	m.Reason = ReasonStaffRefused
	out.ignore(labelOther)
	if err := r.putUnthreaded(tx, m, out); err != nil {
		return err
	}
	if c, err := tx.ComplaintByNumber(in.number); err == nil {
		fields := map[string]string{"telegram_user_id": uid, "action": in.verb, "data": truncateRunes(cleanHeader(in.data), 100)}
		if err := appendEventText(tx, c.ID, now, telegramActor(m.TelegramUserID), EventStaffRefused,
			"not a configured staff member", fields); err != nil {
			return err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("look up %q: %w", in.number, err)
	}
	out.answerPress(m, phrase(cmpOr(telegramLang(m), LangEnglish), phStaffRefused), true)
	return r.tellRefused(tx, m, now, out)
}

func (r *Router) tellRefused(tx store.Tx, m *store.Message, now time.Time, out *outcome) error {
	st, err := tx.ChatState(m.TelegramUserID)
	if err != nil {
		return fmt.Errorf("chat state: %w", err)
	}
	if last := recentTimes(st.Fields["refused_at"], now); len(last) > 0 && now.Sub(last[len(last)-1]) < refusalInterval {
		return nil
	}
	if st.Fields == nil {
		st.Fields = map[string]string{}
	}
	st.Fields["refused_at"] = strconv.FormatInt(now.Unix(), 10)
	if err := tx.PutChatState(st); err != nil {
		return fmt.Errorf("put chat state: %w", err)
	}
	lang := cmpOr(telegramLang(m), LangEnglish)
	n := r.chatRow(0, 0, m.TelegramChatID, KindStaffInfo, lang, map[string]string{"text": phrase(lang, phStaffRefused)}, now)
	if err := tx.PutNotification(n); err != nil {
		return fmt.Errorf("queue refusal: %w", err)
	}
	out.notifications++
	return nil
}

// staffSession is one staff input being handled inside the batch
// transaction.
type staffSession struct {
	r     *Router
	tx    store.Tx
	staff *Staff
	chat  int64
	lang  string
	now   time.Time
	out   *outcome
}

// info answers the staff member in their chat, with optional buttons.
func (s *staffSession) info(text string, buttons [][]button) error {
	data := map[string]string{"text": text}
	if len(buttons) > 0 {
		b, err := json.Marshal(buttons)
		if err != nil {
			return fmt.Errorf("buttons: %w", err)
		}
		data["buttons"] = string(b)
	}
	n := s.r.chatRow(0, 0, s.chat, KindStaffInfo, s.lang, data, s.now)
	if err := s.tx.PutNotification(n); err != nil {
		return fmt.Errorf("queue staff info: %w", err)
	}
	s.out.notifications++
	return nil
}

func (s *staffSession) setState(st store.ChatState) error {
	st.TelegramUserID = s.staff.TelegramID
	if err := s.tx.PutChatState(st); err != nil {
		return fmt.Errorf("put chat state: %w", err)
	}
	return nil
}

func (s *staffSession) cancel() error {
	if err := s.setState(store.ChatState{}); err != nil {
		return err
	}
	return s.info(phrase(s.lang, phStaffCancelled), nil)
}

// act queues an action to run once the batch is committed.
func (s *staffSession) act(a staffAction) {
	a.staffID, a.chat, a.lang = s.staff.ID, s.chat, s.lang
	s.out.staffActions = append(s.out.staffActions, a)
}

// verb handles a press or staff command on a complaint.
func (s *staffSession) verb(in staffInput) error {
	c, err := s.tx.ComplaintByNumber(in.number)
	if errors.Is(err, store.ErrNotFound) {
		return s.info(phrase(s.lang, phStaffUnknown), nil)
	}
	if err != nil {
		return fmt.Errorf("look up %q: %w", in.number, err)
	}
	fields := map[string]string{"action": in.verb, "telegram_user_id": strconv.FormatInt(s.staff.TelegramID, 10)}
	if in.arg != "" {
		fields["arg"] = in.arg
	}
	if err := appendEvent(s.tx, c.ID, s.now, staffActor(s.staff.ID), EventTelegramAction, fields); err != nil {
		return err
	}
	switch in.verb {
	case verbTake:
		s.act(staffAction{kind: ActionTake, number: c.Number})
	case verbReply, verbNote:
		return s.textAction(in, c.Number)
	case verbReassignMenu:
		return s.reassignMenu(c)
	case verbReassignTo:
		s.act(staffAction{kind: ActionReassign, number: c.Number, to: in.arg})
	case verbResolve:
		return s.resolveMenu(c.Number)
	case verbResolveKind:
		return s.resolveKind(c.Number, in.arg)
	case verbAdvance:
		// "/advance C-… [stage]": the next stage, or the one named.
		s.act(staffAction{kind: ActionAdvance, number: c.Number, to: firstWord(cmpOr(in.arg, in.text))})
	case verbApprove:
		// "/approve C-… [amount [currency]]": without an amount, the claimed one.
		s.act(staffAction{kind: ActionApprove, number: c.Number, resolution: approvalOf(in.text)})
	default:
		return s.info(phrase(s.lang, phStaffHelp), nil)
	}
	return nil
}

// textAction runs a reply or note given in the command, or asks for it.
func (s *staffSession) textAction(in staffInput, number string) error {
	kind, await, prompt := ActionReply, awaitReply, phStaffReplyPrompt
	if in.verb == verbNote {
		kind, await, prompt = ActionNote, awaitNote, phStaffNotePrompt
	}
	if in.text != "" {
		s.act(staffAction{kind: kind, number: number, text: in.text})
		return nil
	}
	if err := s.setState(store.ChatState{Awaiting: await, Complaint: number, ExpiresAt: s.now.Add(staffStepTTL)}); err != nil {
		return err
	}
	return s.info(fmt.Sprintf(phrase(s.lang, prompt), number), nil)
}

// reassignMenu offers the available staff, the complaint's team first.
func (s *staffSession) reassignMenu(c *store.Complaint) error {
	var rows [][]button
	var row []button
	for _, st := range s.r.reassignCandidates(c) {
		data := callbackPrefix + verbReassignTo + ":" + c.Number + ":" + st.ID
		if len(data) > maxCallbackBytes {
			continue // an id too long for a button; /reassign by API or CLI
		}
		row = append(row, button{Text: cmpOr(st.Name, st.ID), Data: data})
		if len(row) == 2 {
			rows, row = append(rows, row), nil
		}
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return s.info(phrase(s.lang, phStaffNoTeam), nil)
	}
	return s.info(fmt.Sprintf(phrase(s.lang, phStaffReassignPick), c.Number), rows)
}

// reassignCandidates are the available staff other than the owner: the
// complaint's team first, then the others, by id.
func (r *Router) reassignCandidates(c *store.Complaint) []*Staff {
	var team, others []*Staff
	for _, st := range r.dir.staffByID() {
		switch {
		case st.Away || st.ID == c.OwnerID:
		case containsString(st.Teams, c.Team):
			team = append(team, st)
		default:
			others = append(others, st)
		}
	}
	all := append(team, others...)
	return all[:min(len(all), maxReassignCandidates)]
}

func (s *staffSession) resolveMenu(number string) error {
	if err := s.setState(store.ChatState{Awaiting: awaitResolveKind, Complaint: number, ExpiresAt: s.now.Add(staffStepTTL)}); err != nil {
		return err
	}
	var rows [][]button
	var row []button
	for _, k := range s.r.resolutionKinds() {
		data := callbackPrefix + verbResolveKind + ":" + number + ":" + k.Name
		if len(data) > maxCallbackBytes {
			continue
		}
		if row = append(row, button{Text: k.Name, Data: data}); len(row) == 2 {
			rows, row = append(rows, row), nil
		}
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	return s.info(fmt.Sprintf(phrase(s.lang, phStaffResolveKind), number), rows)
}

// resolveKind takes the chosen kind and asks for what it needs next: the
// amount, the consolation bonus, or the root cause.
func (s *staffSession) resolveKind(number, name string) error {
	kind, ok := s.r.wf.kinds[name]
	if !ok {
		return s.resolveMenu(number)
	}
	st := store.ChatState{Complaint: number, ExpiresAt: s.now.Add(staffStepTTL), Fields: map[string]string{"kind": name}}
	var prompt phraseKey
	switch {
	case kind.Amount:
		st.Awaiting, prompt = awaitResolveAmount, phStaffResolveAmount
	case kind.Bonus:
		st.Awaiting, prompt = awaitResolveBonus, phStaffResolveBonus
	default:
		st.Awaiting, prompt = awaitResolveCause, phStaffResolveCause
	}
	if err := s.setState(st); err != nil {
		return err
	}
	return s.info(fmt.Sprintf(phrase(s.lang, prompt), number), nil)
}

// text takes a staff member's message as the answer the chat waits for.
func (s *staffSession) text(m *store.Message) error {
	st, err := s.tx.ChatState(s.staff.TelegramID)
	if err != nil {
		return fmt.Errorf("chat state: %w", err)
	}
	text := strings.TrimSpace(m.Text)
	switch {
	case st.Awaiting == "" || st.Awaiting == awaitNew || st.Awaiting == awaitLinkCode:
		return s.info(phrase(s.lang, phStaffHelp), nil)
	case s.now.After(st.ExpiresAt):
		if err := s.setState(store.ChatState{}); err != nil {
			return err
		}
		return s.info(phrase(s.lang, phStaffExpired), nil)
	case text == "":
		return s.info(phrase(s.lang, phStaffHelp), nil)
	}
	return s.answer(st, text)
}

// answer moves the pending step on with text.
func (s *staffSession) answer(st store.ChatState, text string) error {
	next := st
	next.ExpiresAt = s.now.Add(staffStepTTL)
	if next.Fields == nil {
		next.Fields = map[string]string{}
	}
	var prompt phraseKey
	switch st.Awaiting {
	case awaitReply, awaitNote:
		kind := ActionReply
		if st.Awaiting == awaitNote {
			kind = ActionNote
		}
		s.act(staffAction{kind: kind, number: st.Complaint, text: text})
		return s.setState(store.ChatState{})
	case awaitResolveAmount:
		amount, ok := readAmount(text)
		if !ok {
			return s.info(phrase(s.lang, phStaffBadAmount), nil)
		}
		next.Awaiting, next.Fields["amount"], prompt = awaitResolveCause, amount, phStaffResolveCause
	case awaitResolveBonus:
		next.Awaiting, next.Fields["bonus"], prompt = awaitResolveCause, text, phStaffResolveCause
	case awaitResolveCause:
		next.Awaiting, next.Fields["root_cause"], prompt = awaitResolvePrevent, text, phStaffResolvePrevention
	case awaitResolvePrevent:
		f := next.Fields
		res := &store.Resolution{Kind: f["kind"], Amount: f["amount"], Bonus: f["bonus"], RootCause: f["root_cause"], Prevention: text}
		s.act(staffAction{kind: ActionResolve, number: st.Complaint, resolution: res})
		return s.setState(store.ChatState{})
	default: // awaitResolveKind: the answer is a button
		return s.resolveMenu(st.Complaint)
	}
	if err := s.setState(next); err != nil {
		return err
	}
	return s.info(fmt.Sprintf(phrase(s.lang, prompt), st.Complaint), nil)
}

// readAmount reads "25.50", "25,50" or "-" (none).
func readAmount(s string) (string, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", ".")
	if s == "-" || s == "0" {
		return "", true
	}
	if _, ok := parseDecimal(s); !ok {
		return "", false
	}
	return s, true
}

// button is one inline button as notify reads Data["buttons"].
type button struct {
	Text string `json:"text"`
	Data string `json:"data"`
}

// cardLabels are the owner card's buttons, per language.
var cardLabels = map[string][5]string{
	LangEnglish:    {"Take", "Reply to customer", "Add note", "Reassign", "Resolve"},
	LangRussian:    {"Взять", "Ответить клиенту", "Заметка", "Передать", "Решить"},
	LangLithuanian: {"Imti", "Atsakyti klientui", "Pastaba", "Perduoti", "Išspręsti"},
}

// cardButtons are the buttons under an owner's card for complaint number.
func cardButtons(number, lang string) string {
	l, ok := cardLabels[lang]
	if !ok {
		l = cardLabels[LangEnglish]
	}
	b := func(i int, verb string) button { return button{Text: l[i], Data: callbackPrefix + verb + ":" + number} }
	rows := [][]button{{b(0, verbTake), b(1, verbReply)}, {b(2, verbNote), b(3, verbReassignMenu), b(4, verbResolve)}}
	out, _ := json.Marshal(rows) // strings only: cannot fail
	return string(out)
}

// notifyOwnerTelegram queues the owner's card in their Telegram chat,
// beside the email: the same data, with the action buttons.
func (r *Router) notifyOwnerTelegram(tx store.Tx, c *store.Complaint, email *store.Notification, owner *Staff, now time.Time, out *outcome) error {
	return r.staffTelegram(tx, c, email, owner, now, out)
}

// staffTelegram queues in staff member s's Telegram chat (when they have
// one) what staff row email tells them by mail (the owner's card, a
// reminder, an escalation): the same kind and data, with the card's action
// buttons, so they can act from where they are pinged.
func (r *Router) staffTelegram(tx store.Tx, c *store.Complaint, email *store.Notification, s *Staff, now time.Time, out *outcome) error {
	if s.TelegramID == 0 {
		return nil
	}
	data := maps.Clone(email.Data)
	data["buttons"] = cardButtons(c.Number, s.Languages[0])
	n := r.chatRow(0, c.ID, s.TelegramID, email.Kind, s.Languages[0], data, now)
	if err := tx.PutNotification(n); err != nil {
		return fmt.Errorf("queue %s of %s in Telegram: %w", email.Kind, c.Number, err)
	}
	out.notifications++
	return nil
}

// firstWord is the first space-separated word of s ("" when none).
func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// approvalOf reads "AMOUNT [CURRENCY]" of an /approve command; nil means
// the amount the complaint claims.
func approvalOf(text string) *store.Resolution {
	f := strings.Fields(text)
	if len(f) == 0 {
		return nil
	}
	res := &store.Resolution{Amount: strings.ReplaceAll(f[0], ",", ".")}
	if len(f) > 1 {
		res.Currency = strings.ToUpper(f[1])
	}
	return res
}
