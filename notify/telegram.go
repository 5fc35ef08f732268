package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"complaintbot/store"
)

// TelegramOptions say how rows of Channel telegram are sent. Zero fields
// mean the defaults given.
type TelegramOptions struct {
	Token string // the bot token; required
	// APIEndpoint is the method URL in telegram-bot-api's format (%s
	// token, %s method); default tgbotapi.APIEndpoint.
	APIEndpoint string
	Client      *http.Client  // default a plain http.Client
	Timeout     time.Duration // per request; default 30s
	// PerChat is the spacing of messages to one chat; default 1s
	// (Telegram: about one message per second per chat).
	PerChat time.Duration
	// PerSecond is the most messages sent per second overall; default 30.
	PerSecond int
	// MaxWait is how long a sender waits for a chat's turn; a row whose
	// turn is further away is put back with NextAttempt at its turn, so one
	// busy chat does not hold up the others. Default 2s.
	MaxWait time.Duration
}

func (o *TelegramOptions) setDefaults() {
	if o.APIEndpoint == "" {
		o.APIEndpoint = tgbotapi.APIEndpoint
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	setDefault(&o.Timeout, 30*time.Second)
	setDefault(&o.PerChat, time.Second)
	setDefault(&o.PerSecond, 30)
	setDefault(&o.MaxWait, 2*time.Second)
}

func (o *TelegramOptions) validate() error {
	if o.Token == "" {
		return errors.New("Telegram.Token is required")
	}
	return nil
}

// telegramSender sends rows of Channel telegram with the Bot API's
// sendMessage, paced per chat and overall.
type telegramSender struct {
	o    TelegramOptions
	pace *pacer
}

func newTelegramSender(o TelegramOptions) *telegramSender {
	return &telegramSender{o: o, pace: newPacer(o.PerChat, time.Second/time.Duration(o.PerSecond), o.MaxWait)}
}

// deferral puts a row back until a given time without counting an
// attempt: the chat's turn is later (pacing), or Telegram asked us to wait
// (429 retry_after). Neither says anything about the row.
type deferral struct {
	until   time.Time
	reason  string
	limited bool // Telegram's 429, as opposed to our own pacing
}

func (d *deferral) Error() string { return d.reason }

// blockedError is Telegram's 403: the user blocked the bot.
type blockedError struct{ err error }

func (e *blockedError) Error() string { return "blocked by the user" }
func (e *blockedError) Unwrap() error { return e.err }

// attemptTelegram renders and sends one telegram row, filling in j's
// outcome like attempt does for email.
func (n *Notifier) attemptTelegram(ctx context.Context, j *job) {
	t := n.tg
	row := j.row
	if row.TelegramChatID == 0 {
		j.err = permanentf("telegram notification %d has no chat id", row.ID)
		return
	}
	text, err := RenderTelegram(row, RenderOptions{Location: n.o.Location, CompanyName: n.o.CompanyName})
	if err != nil {
		j.err = &permanentError{err}
		return
	}
	kb, err := telegramKeyboard(row)
	if err != nil {
		j.err = err
		return
	}
	done, ok := t.waitTurn(ctx, row.TelegramChatID, n.o.Now, j)
	if !ok {
		return
	}
	defer done()
	msg := tgbotapi.NewMessage(row.TelegramChatID, text.HTML)
	msg.ParseMode = tgbotapi.ModeHTML
	msg.DisableWebPagePreview = true
	if kb != nil {
		msg.ReplyMarkup = *kb
	}
	sent, err := t.send(ctx, msg)
	if err != nil {
		j.err = t.classify(row.TelegramChatID, err, n.o.Now())
		return
	}
	j.sent = telegramRecord(row, text, sent.MessageID, n.o.Now())
}

// waitTurn books the chat's next turn and waits for it (see pacer.begin),
// or defers the row when the turn is more than MaxWait away. It returns
// the function to call once the send is done, or false when not to send.
func (t *telegramSender) waitTurn(ctx context.Context, chat int64, now func() time.Time, j *job) (func(), bool) {
	at, ok := t.pace.reserve(chat, now())
	if !ok {
		j.err = &deferral{until: at, reason: "paced: the chat's next turn"}
		return nil, false
	}
	done, ok := t.pace.begin(ctx, chat, at, now)
	if !ok {
		j.err, j.aborted = ctx.Err(), true
	}
	return done, ok
}

// send makes the request. A request that has started is finished even at
// shutdown (within Timeout), so its outcome can be recorded.
func (t *telegramSender) send(ctx context.Context, msg tgbotapi.MessageConfig) (tgbotapi.Message, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.o.Timeout)
	defer cancel()
	bot := &tgbotapi.BotAPI{Token: t.o.Token, Client: ctxDoer{ctx: cctx, c: t.o.Client}}
	bot.SetAPIEndpoint(t.o.APIEndpoint)
	return bot.Send(msg)
}

// ctxDoer puts a context on the requests telegram-bot-api makes.
type ctxDoer struct {
	ctx context.Context
	c   *http.Client
}

func (d ctxDoer) Do(req *http.Request) (*http.Response, error) { return d.c.Do(req.WithContext(d.ctx)) }

// classify turns a send error into the row's fate: 429 waits retry_after
// (and the chat's turns move past it), 403 is the user's block
// (permanent), other 4xx are permanent, except 401 and 404 which say our
// token or endpoint is wrong, not the row; 5xx and network errors are
// temporary. The token is kept out of the error text.
func (t *telegramSender) classify(chat int64, err error, now time.Time) error {
	var e *tgbotapi.Error
	if !errors.As(err, &e) {
		return t.redact(err)
	}
	switch {
	case e.Code == http.StatusTooManyRequests:
		until := now.Add(time.Duration(max(e.RetryAfter, 1)) * time.Second)
		t.pace.holdUntil(chat, until)
		return &deferral{until: until, reason: fmt.Sprintf("telegram: %d %s", e.Code, e.Message), limited: true}
	case e.Code == http.StatusForbidden:
		return &permanentError{&blockedError{err: e}}
	case e.Code == http.StatusUnauthorized || e.Code == http.StatusNotFound:
		return fmt.Errorf("telegram bot unreachable (check the token and endpoint): %d %s", e.Code, e.Message)
	case e.Code >= 400 && e.Code < 500:
		return permanentf("telegram: %d %s", e.Code, e.Message)
	}
	return fmt.Errorf("telegram: %d %s", e.Code, e.Message)
}

func (t *telegramSender) redact(err error) error {
	return &redactedError{msg: strings.ReplaceAll(err.Error(), t.o.Token, "<token>"), err: err}
}

// redactedError is an error whose text had the token removed (net/http
// errors quote the URL, which carries it).
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// telegramMessageID names a Telegram message the way ingest names the
// customer's ("tg-<chat>-<message_id>"), so a reply to our message finds
// it by InReplyTo.
func telegramMessageID(chat int64, messageID int) string {
	return "tg-" + strconv.FormatInt(chat, 10) + "-" + strconv.Itoa(messageID)
}

// telegramRecord is the outbound message kept on the complaint.
func telegramRecord(row *store.Notification, text TelegramText, messageID int, at time.Time) *store.Message {
	sum := sha256.Sum256([]byte(text.HTML))
	return &store.Message{
		ComplaintID:    row.ComplaintID,
		CustomerID:     row.CustomerID,
		Direction:      store.DirectionOut,
		Channel:        store.ChannelTelegram,
		MessageID:      telegramMessageID(row.TelegramChatID, messageID),
		TelegramChatID: row.TelegramChatID,
		Date:           at,
		Text:           text.Plain,
		Status:         store.StatusSent,
		Size:           int64(len(text.HTML)),
		ContentHash:    hex.EncodeToString(sum[:]),
		ReceivedAt:     at,
	}
}

// recordDeferred puts a row back until its turn, keeping its attempts.
func recordDeferred(tx store.Tx, row *store.Notification, d *deferral) error {
	row.NextAttempt = d.until
	if d.reason != "" {
		row.LastError = d.reason
	}
	return tx.PutNotification(row)
}

// recordBlocked fails a row whose user blocked the bot and, when the
// customer has an email address, queues the same notification by email,
// in the same transaction.
func (n *Notifier) recordBlocked(tx store.Tx, row *store.Notification, at time.Time) error {
	extra := map[string]string{"telegram_chat_id": strconv.FormatInt(row.TelegramChatID, 10)}
	fb, err := emailFallback(tx, row, at)
	if err != nil {
		return err
	}
	if fb != nil {
		extra["fallback"] = store.ChannelEmail
		extra["fallback_notification"] = strconv.FormatUint(fb.ID, 10)
	}
	return n.recordFailedWith(tx, row, at, "blocked by the user", extra)
}

// emailFallback queues row again by email to the customer's first address;
// nil when there is no customer or no address.
func emailFallback(tx store.Tx, row *store.Notification, at time.Time) (*store.Notification, error) {
	if row.CustomerID == 0 {
		return nil, nil
	}
	c, err := tx.Customer(row.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil || len(c.Emails) == 0 {
		return nil, err
	}
	data := maps.Clone(row.Data)
	delete(data, "buttons")
	fb := &store.Notification{
		ComplaintID: row.ComplaintID, CustomerID: row.CustomerID, Kind: row.Kind, Channel: store.ChannelEmail,
		Lang: row.Lang, To: store.Address{Name: c.Name, Email: c.Emails[0]}, Data: data, NextAttempt: at,
	}
	return fb, tx.PutNotification(fb)
}

// pacer hands out send turns: one per PerChat per chat, and one per
// 1/PerSecond overall. A turn is booked when handed out, so parallel
// senders queue for a chat instead of racing into a 429; and sends to one
// chat never overlap, each starting PerChat after the previous one ended,
// so late scheduling cannot bunch two of them together at Telegram.
type pacer struct {
	perChat, global, maxWait time.Duration

	mu         sync.Mutex
	chats      map[int64]*chatTurns
	globalNext time.Time
}

// chatTurns is the pacing state of one chat.
type chatTurns struct {
	next     time.Time     // the next free turn
	lastDone time.Time     // when the last send to the chat ended
	free     chan struct{} // holds a token while no send to the chat is in flight
}

func newPacer(perChat, global, maxWait time.Duration) *pacer {
	return &pacer{perChat: perChat, global: global, maxWait: maxWait, chats: map[int64]*chatTurns{}}
}

// chatLocked returns the chat's state, made on first use.
func (p *pacer) chatLocked(chat int64) *chatTurns {
	c, ok := p.chats[chat]
	if !ok {
		c = &chatTurns{free: make(chan struct{}, 1)}
		c.free <- struct{}{}
		p.chats[chat] = c
	}
	return c
}

// reserve books chat's next turn and returns it, unless it is more than
// maxWait away: then it returns that turn unbooked and false.
func (p *pacer) reserve(chat int64, now time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.chatLocked(chat)
	at := laterOf(now, c.next)
	if at.Sub(now) > p.maxWait {
		return at, false
	}
	at = laterOf(at, p.globalNext)
	c.next = at.Add(p.perChat)
	p.globalNext = at.Add(p.global)
	p.forget(now)
	return at, true
}

// begin waits for the booked turn at, for no other send to the chat to be
// in flight, and for PerChat after the last one ended. It returns the
// function that ends the send, or false when ctx ended first.
func (p *pacer) begin(ctx context.Context, chat int64, at time.Time, now func() time.Time) (func(), bool) {
	p.mu.Lock()
	c := p.chatLocked(chat)
	p.mu.Unlock()
	select {
	case <-c.free:
	case <-ctx.Done():
		return nil, false
	}
	p.mu.Lock()
	at = laterOf(at, c.lastDone.Add(p.perChat))
	p.mu.Unlock()
	if !sleepUntil(ctx, at, now) {
		c.free <- struct{}{}
		return nil, false
	}
	return func() {
		p.mu.Lock()
		c.lastDone = now()
		p.mu.Unlock()
		c.free <- struct{}{}
	}, true
}

// holdUntil moves a chat's next turn to until at the earliest (a 429).
func (p *pacer) holdUntil(chat int64, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.chatLocked(chat)
	c.next = laterOf(c.next, until)
}

// forget drops idle chats whose turn is long past, once there are many,
// so the map holds only chats written to lately.
func (p *pacer) forget(now time.Time) {
	if len(p.chats) < 4096 {
		return
	}
	for chat, c := range p.chats {
		if c.next.Add(p.perChat).Before(now) && len(c.free) == 1 {
			delete(p.chats, chat)
		}
	}
}

// sleepUntil waits until at by the clock now, or until ctx ends; it
// reports whether at was reached.
func sleepUntil(ctx context.Context, at time.Time, now func() time.Time) bool {
	d := at.Sub(now())
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
