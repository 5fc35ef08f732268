package router

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"complaintbot/store"
)

// Linking a Telegram chat to a customer known by email.
//
// Quoting a complaint number proves nothing (numbers are sequential and
// appear in subjects), so a number alone never links anything. The rule:
//
//  1. In the chat, "/link C-YYYY-NNNNNN". If the complaint exists, belongs
//     to another customer, and that customer has an email address, we email
//     a 6-digit one-time code to that address (threaded into the complaint;
//     at most two codes per complaint an hour, a cap of their own so that
//     strangers cannot use up the customer's acknowledgements). The chat is told
//     the same thing whether or not any of this held, so the answer reveals
//     nothing about the number or the address.
//  2. "/link 123456" in the same chat within LinkCodeTTL links the
//     identities: the chat's Telegram id, phones and complaints move to the
//     email customer, each complaint gets an event "customer_linked". Only
//     an HMAC of the code is kept; five wrong codes void it; a chat may
//     ask for three codes an hour. A chat whose customer already has an
//     email address is not linked again (that is a matter for a human).
const (
	KindLinkCode          = "link_code"
	LinkCodeTTL           = 15 * time.Minute
	maxLinkRequestsHourly = 3
	maxLinkCodesHourly    = 2 // per complaint
	maxLinkAttempts       = 5
	awaitLinkCode         = "link_code"
	EventCustomerLinked   = "customer_linked"
)

var (
	complaintNumberRE = regexp.MustCompile(`^C-[0-9]{4}-[0-9]{6,}$`)
	linkCodeRE        = regexp.MustCompile(`^[0-9]{6}$`)
)

func (r *Router) linkCommand(tx store.Tx, cust *store.Customer, m *store.Message, args, lang string, now time.Time, out *outcome) error {
	arg := strings.ToUpper(strings.TrimSpace(args))
	var text string
	var err error
	switch {
	case linkCodeRE.MatchString(arg):
		text, err = r.linkConfirm(tx, cust, m.TelegramUserID, arg, lang, now)
	case complaintNumberRE.MatchString(arg):
		text, err = r.linkRequest(tx, cust, m.TelegramUserID, arg, lang, now, out)
	default:
		text = phrase(lang, phLinkUsage)
	}
	if err != nil {
		return err
	}
	return r.commandDone(tx, cust, m, lang, text, now, out)
}

// linkRequest emails a code to the customer of complaint number, when it
// is another customer's with an address; it returns the chat's answer.
func (r *Router) linkRequest(tx store.Tx, cust *store.Customer, userID int64, number, lang string, now time.Time, out *outcome) (string, error) {
	if len(cust.Emails) > 0 {
		return phrase(lang, phLinkHasEmail), nil
	}
	st, err := tx.ChatState(userID)
	if err != nil {
		return "", fmt.Errorf("chat state: %w", err)
	}
	recent := recentTimes(st.Fields["link_requests"], now)
	if len(recent) >= maxLinkRequestsHourly {
		return phrase(lang, phLinkLimited), nil
	}
	c, err := tx.ComplaintByNumber(number)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("look up %s: %w", number, err)
	}
	if c != nil && c.CustomerID == cust.ID {
		return phrase(lang, phLinkOwn), nil
	}
	st = store.ChatState{TelegramUserID: userID, Fields: map[string]string{"link_requests": joinTimes(append(recent, now))}}
	if c != nil {
		if err := r.sendLinkCode(tx, &st, c, now, out); err != nil {
			return "", err
		}
	}
	if err := tx.PutChatState(st); err != nil {
		return "", fmt.Errorf("put chat state: %w", err)
	}
	return phrase(lang, phLinkSent), nil
}

// sendLinkCode makes a code for linking st's chat to c's customer, keeps
// its MAC in st and queues it to the customer's address.
func (r *Router) sendLinkCode(tx store.Tx, st *store.ChatState, c *store.Complaint, now time.Time, out *outcome) error {
	target, err := tx.Customer(c.CustomerID)
	if errors.Is(err, store.ErrNotFound) || err == nil && len(target.Emails) == 0 {
		return nil // nobody to prove ownership to
	}
	if err != nil {
		return fmt.Errorf("load customer %d: %w", c.CustomerID, err)
	}
	code, err := newLinkCode()
	if err != nil {
		return err
	}
	st.Awaiting, st.Complaint, st.ExpiresAt = awaitLinkCode, c.Number, now.Add(LinkCodeTTL)
	st.Fields["target"] = strconv.FormatUint(target.ID, 10)
	st.Fields["code_mac"] = r.linkMAC(st.TelegramUserID, target.ID, code)
	st.Fields["attempts"] = "0"
	fields := map[string]string{"telegram_user_id": strconv.FormatInt(st.TelegramUserID, 10)}
	if err := appendEvent(tx, c.ID, now, telegramActor(st.TelegramUserID), "link_requested", fields); err != nil {
		return err
	}
	sent, err := linkCodesSent(tx, c.ID, now)
	if err != nil {
		return err
	}
	if sent >= maxLinkCodesHourly {
		return appendEvent(tx, c.ID, now, "system", KindLinkCode+"_suppressed", map[string]string{"reason": "rate limit " + strconv.Itoa(maxLinkCodesHourly) + "/hour"})
	}
	n := r.linkCodeRow(target, c, code, now)
	if err := tx.PutNotification(n); err != nil {
		return fmt.Errorf("queue link code of %s: %w", c.Number, err)
	}
	out.notifications++
	c.ThreadMessageIDs = appendThreadID(c.ThreadMessageIDs, n.MessageID)
	if err := tx.PutComplaint(c); err != nil {
		return fmt.Errorf("put complaint %s: %w", c.Number, err)
	}
	return appendEvent(tx, c.ID, now, "system", KindLinkCode+"_queued",
		map[string]string{"notification_id": strconv.FormatUint(n.ID, 10), "to": n.To.Email, "message_id": n.MessageID})
}

// linkCodesSent counts the link codes queued for complaint id in the last
// hour. The cap is its own, not the acknowledgements': strangers asking
// for codes must not use up the customer's acknowledgements.
func linkCodesSent(tx store.Tx, id uint64, now time.Time) (int, error) {
	ns, err := tx.NotificationsOf(id)
	if err != nil {
		return 0, fmt.Errorf("notifications of complaint %d: %w", id, err)
	}
	n := 0
	for _, row := range ns {
		if row.Kind == KindLinkCode && now.Sub(row.CreatedAt) < time.Hour {
			n++
		}
	}
	return n, nil
}

// linkCodeRow is the email carrying the code, in c's thread.
func (r *Router) linkCodeRow(target *store.Customer, c *store.Complaint, code string, now time.Time) *store.Notification {
	n := &store.Notification{
		ComplaintID: c.ID, CustomerID: target.ID, Kind: KindLinkCode, Channel: store.ChannelEmail,
		Lang: cmpOr(target.Lang, c.Lang), To: store.Address{Name: cleanHeader(target.Name), Email: target.Emails[0]},
		Subject: AckSubject(c.Subject, c.Number), MessageID: r.NewMessageID(c.ID),
		Data:   map[string]string{"number": c.Number, "code": code, "customer_name": target.Name},
		Status: store.NotifyPending, NextAttempt: now, CreatedAt: now,
	}
	if ids := c.ThreadMessageIDs; len(ids) > 0 {
		n.InReplyTo, n.References = ids[len(ids)-1], slices.Clone(ids)
	}
	return n
}

// newLinkCode is six uniformly random digits.
func newLinkCode() (string, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("link code: %w", err)
	}
	return fmt.Sprintf("%06d", v.Int64()), nil
}

// linkMAC binds a code to the chat and the customer it links to.
func (r *Router) linkMAC(userID int64, targetID uint64, code string) string {
	h := hmac.New(sha256.New, r.secret)
	fmt.Fprintf(h, "link\x00%d\x00%d\x00%s", userID, targetID, code)
	return hex.EncodeToString(h.Sum(nil))
}

// linkConfirm checks a code and links on a match; it returns the answer.
func (r *Router) linkConfirm(tx store.Tx, cust *store.Customer, userID int64, code, lang string, now time.Time) (string, error) {
	st, err := tx.ChatState(userID)
	if err != nil {
		return "", fmt.Errorf("chat state: %w", err)
	}
	if st.Awaiting != awaitLinkCode || now.After(st.ExpiresAt) {
		return phrase(lang, phLinkExpired), nil
	}
	targetID, _ := strconv.ParseUint(st.Fields["target"], 10, 64)
	want := st.Fields["code_mac"]
	if !hmac.Equal([]byte(want), []byte(r.linkMAC(userID, targetID, code))) {
		attempts, _ := strconv.Atoi(st.Fields["attempts"])
		st.Fields["attempts"] = strconv.Itoa(attempts + 1)
		if attempts+1 >= maxLinkAttempts {
			st.Awaiting, st.Complaint = "", ""
			delete(st.Fields, "code_mac")
		}
		return phrase(lang, phLinkBadCode), tx.PutChatState(st)
	}
	st.Awaiting, st.Complaint = "", ""
	delete(st.Fields, "code_mac")
	if err := tx.PutChatState(st); err != nil {
		return "", fmt.Errorf("put chat state: %w", err)
	}
	if len(cust.Emails) > 0 {
		return phrase(lang, phLinkHasEmail), nil
	}
	if err := mergeCustomer(tx, cust, targetID, userID, now); err != nil {
		return "", err
	}
	return phrase(lang, phLinkDone), nil
}

// mergeCustomer moves the Telegram-only customer from (its Telegram id,
// phones and complaints with their messages) to customer targetID. from
// stays as an empty record: nothing is deleted.
func mergeCustomer(tx store.Tx, from *store.Customer, targetID uint64, userID int64, now time.Time) error {
	to, err := tx.Customer(targetID)
	if err != nil {
		return fmt.Errorf("load customer %d: %w", targetID, err)
	}
	from.TelegramIDs = slices.DeleteFunc(from.TelegramIDs, func(id int64) bool { return id == userID })
	phones := from.Phones
	from.Phones = nil
	if err := tx.PutCustomer(from); err != nil {
		return fmt.Errorf("put customer %d: %w", from.ID, err)
	}
	to.TelegramIDs = append(to.TelegramIDs, userID)
	for _, p := range phones {
		if !slices.Contains(to.Phones, p) {
			to.Phones = append(to.Phones, p)
		}
	}
	if err := tx.PutCustomer(to); err != nil {
		return fmt.Errorf("put customer %d: %w", to.ID, err)
	}
	fields := map[string]string{"from_customer": strconv.FormatUint(from.ID, 10), "to_customer": strconv.FormatUint(to.ID, 10),
		"telegram_user_id": strconv.FormatInt(userID, 10)}
	cs, err := tx.ComplaintsOfCustomer(from.ID)
	if err != nil {
		return fmt.Errorf("complaints of customer %d: %w", from.ID, err)
	}
	for _, c := range cs {
		if err := moveComplaint(tx, c, to.ID, telegramActor(userID), fields, now); err != nil {
			return err
		}
	}
	return nil
}

func moveComplaint(tx store.Tx, c *store.Complaint, to uint64, actor string, fields map[string]string, now time.Time) error {
	from := c.CustomerID
	c.CustomerID = to
	if err := tx.PutComplaint(c); err != nil {
		return fmt.Errorf("put complaint %s: %w", c.Number, err)
	}
	msgs, err := tx.MessagesOf(c.ID)
	if err != nil {
		return fmt.Errorf("messages of %s: %w", c.Number, err)
	}
	for _, m := range msgs {
		if m.CustomerID == from {
			m.CustomerID = to
			if err := tx.PutMessage(m); err != nil {
				return fmt.Errorf("put message %d: %w", m.ID, err)
			}
		}
	}
	return appendEventText(tx, c.ID, now, actor, EventCustomerLinked,
		"customer "+fields["from_customer"]+" linked into "+fields["to_customer"], fields)
}

// recentTimes reads a comma-separated list of Unix times and keeps those
// of the last hour.
func recentTimes(list string, now time.Time) []time.Time {
	var out []time.Time
	for _, f := range strings.Split(list, ",") {
		sec, err := strconv.ParseInt(f, 10, 64)
		if err == nil && now.Sub(time.Unix(sec, 0)) < time.Hour {
			out = append(out, time.Unix(sec, 0))
		}
	}
	return out
}

func joinTimes(ts []time.Time) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = strconv.FormatInt(t.Unix(), 10)
	}
	return strings.Join(parts, ",")
}
