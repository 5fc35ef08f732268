package router

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"complaintbot/store"
)

// KindAck is the outbox kind of an acknowledgement.
const KindAck = "ack"

// acknowledge queues the acknowledgement of new complaint c (listing the
// attachments of m that were not kept), within the customer's hourly cap.
// It reports whether it was queued: the customer's AckMinutes then changed,
// and the caller must save the customer (openComplaint does it once, with
// the customer's other changes).
func (r *Router) acknowledge(tx store.Tx, cust *store.Customer, c *store.Complaint, m *store.Message, now time.Time, out *outcome) (bool, error) {
	data := map[string]string{
		"number":        c.Number,
		"due":           c.DueAt.Format(time.RFC3339),
		"customer_name": cust.Name,
		"subject":       c.Subject,
	}
	addNotKept(data, m)
	return r.queueCappedUnsaved(tx, cust, c, r.reply(cust, c, m, KindAck, data, now), now, out)
}

// queueCapped queues n, a reply of ours in c's thread, unless the customer
// already had ackPerHour of them in the last hour; either way the
// complaint's event log says which ("<kind>_queued" / "<kind>_suppressed").
// It adds n's Message-ID to the thread and saves the customer's AckMinutes.
func (r *Router) queueCapped(tx store.Tx, cust *store.Customer, c *store.Complaint, n *store.Notification, now time.Time, out *outcome) error {
	queued, err := r.queueCappedUnsaved(tx, cust, c, n, now, out)
	if err != nil || !queued {
		return err
	}
	if err := tx.PutCustomer(cust); err != nil {
		return fmt.Errorf("put customer %d: %w", cust.ID, err)
	}
	return nil
}

// queueCappedUnsaved is queueCapped without saving the customer; queued
// reports whether n was queued (and cust.AckMinutes changed).
func (r *Router) queueCappedUnsaved(tx store.Tx, cust *store.Customer, c *store.Complaint, n *store.Notification, now time.Time, out *outcome) (queued bool, err error) {
	recent := 0
	cust.AckMinutes, recent = recentAcks(cust.AckMinutes, now, r.ackPerHour)
	if r.ackPerHour > 0 && recent >= r.ackPerHour {
		out.acksSuppressed++
		reason := "rate limit " + strconv.Itoa(r.ackPerHour) + "/hour"
		r.log.Debug(n.Kind+" suppressed", "complaint", c.Number, "customer", cust.ID, "reason", reason)
		return false, appendEvent(tx, c.ID, now, "system", n.Kind+"_suppressed", map[string]string{"reason": reason})
	}
	if err := tx.PutNotification(n); err != nil {
		return false, fmt.Errorf("queue %s of %s: %w", n.Kind, c.Number, err)
	}
	out.notifications++
	out.acks++
	c.ThreadMessageIDs = appendThreadID(c.ThreadMessageIDs, n.MessageID)
	if r.ackPerHour > 0 {
		cust.AckMinutes = countMinute(cust.AckMinutes, now)
	}
	fields := map[string]string{
		"notification_id": strconv.FormatUint(n.ID, 10),
		"message_id":      n.MessageID,
		"to":              n.To.Email,
	}
	if v := n.Data[DataNotKept]; v != "" {
		fields[DataNotKept] = v
	}
	return true, appendEvent(tx, c.ID, now, "system", n.Kind+"_queued", fields)
}

// recentAcks keeps the acknowledgement counts of the last hour, counted
// by the minute (so the window is an hour give or take the current
// minute), and returns how many acknowledgements they hold. Without a cap
// (limit <= 0) nothing is kept. Every acknowledgement is also in its
// complaint's event log; these counts only decide the next one.
func recentAcks(counts []store.MinuteCount, now time.Time, limit int) ([]store.MinuteCount, int) {
	if limit <= 0 {
		return nil, 0
	}
	cutoff := now.Add(-time.Hour).Unix() / 60
	kept, total := counts[:0:0], 0
	for _, c := range counts {
		if c.Minute > cutoff {
			kept = append(kept, c)
			total += c.N
		}
	}
	return kept, total
}

// countMinute adds one to now's minute.
func countMinute(counts []store.MinuteCount, now time.Time) []store.MinuteCount {
	m := now.Unix() / 60
	if n := len(counts); n > 0 && counts[n-1].Minute == m {
		counts[n-1].N++
		return counts
	}
	return append(counts, store.MinuteCount{Minute: m, N: 1})
}

// reply builds an outbox row of the given kind: our answer to m in its
// complaint's thread.
func (r *Router) reply(cust *store.Customer, c *store.Complaint, m *store.Message, kind string, data map[string]string, now time.Time) *store.Notification {
	return &store.Notification{
		ComplaintID: c.ID,
		CustomerID:  cust.ID,
		Kind:        kind,
		Channel:     c.Channel,
		Lang:        c.Lang,
		To:          replyAddress(m, cust),
		Subject:     AckSubject(m.Subject, c.Number),
		MessageID:   r.NewMessageID(c.ID),
		InReplyTo:   cleanMessageID(m.MessageID),
		References:  ackReferences(m),
		// A Telegram complaint is answered in the chat it came from.
		TelegramChatID: m.TelegramChatID,
		Data:           data,
		Status:         store.NotifyPending,
		NextAttempt:    now,
		CreatedAt:      now,
	}
}

// replyAddress is Reply-To when it is usable, else From (RFC 5322 section
// 3.6.2), with a display name safe for a header.
func replyAddress(m *store.Message, cust *store.Customer) store.Address {
	if m.ReplyTo != nil {
		if email := usableEmail(m.ReplyTo.Email); email != "" {
			return store.Address{Name: cleanHeader(m.ReplyTo.Name), Email: email}
		}
	}
	name := cleanHeader(m.From.Name)
	if name == "" {
		name = cust.Name
	}
	return store.Address{Name: name, Email: usableEmail(m.From.Email)}
}

// ackReferences is the message's References plus its own Message-ID
// (RFC 5322 section 3.6.4), with the middle trimmed when it is long.
func ackReferences(m *store.Message) []string {
	var refs []string
	for _, id := range m.References {
		refs = appendThreadID(refs, cleanMessageID(id))
	}
	return appendThreadID(refs, cleanMessageID(m.MessageID))
}

// cleanMessageID returns id when it can be written back into a header as
// <id>, and "" otherwise.
func cleanMessageID(id string) string {
	if id == "" || len(id) > 998 {
		return ""
	}
	for _, c := range id {
		if c <= ' ' || c == 0x7f || c == '<' || c == '>' || c > unicode.MaxASCII {
			return ""
		}
	}
	return id
}

// replyPrefixes matches any run of reply and forward prefixes at the start
// of a subject, in the languages our customers write: Re, Fwd, Fw, AW, WG,
// SV, Ответ, Отв, Пересл, Atsakymas, Persiųsta, optionally counted
// ("Re[2]:", "Re(3):").
var replyPrefixes = regexp.MustCompile(`(?i)^(\s*(re|fwd?|aw|wg|sv|vs|ответ|отв|пересл|atsakymas|ats|persiųsta|pers)\s*(\[\d+\]|\(\d+\))?\s*:\s*)+`)

// maxSubjectRunes bounds the subject we echo, whatever length came in.
const maxSubjectRunes = 200

// AckSubject is the subject of our reply to subject for complaint number:
// "Re: " once (existing reply/forward prefixes folded into it), the
// original subject, and " [C-…]" unless the tag is already there. The
// result has no control characters.
func AckSubject(subject, number string) string {
	s := cleanHeader(subject)
	s = strings.TrimSpace(replyPrefixes.ReplaceAllString(s, ""))
	// Another complaint's tag (quoted by a stranger, or a customer opening a
	// new matter) must not be echoed: it would name a complaint that is not
	// the sender's, and the next reply would thread by the wrong tag.
	s = cleanHeader(complaintTag.ReplaceAllStringFunc(s, func(t string) string {
		if t == "["+number+"]" {
			return t
		}
		return ""
	}))
	s = truncateRunes(s, maxSubjectRunes)
	tag := "[" + cleanHeader(number) + "]"
	switch {
	case s == "":
		s = tag
	case !strings.Contains(s, tag):
		s += " " + tag
	}
	return "Re: " + s
}

// cleanHeader makes s safe as (part of) a header value: control characters
// (CR and LF above all, which would start a new header) become spaces, runs
// of space collapse, and the ends are trimmed.
func cleanHeader(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.IsSpace(r) // IsSpace covers U+2028/U+2029 too
	}), " ")
}

func truncateRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return strings.TrimSpace(s[:pos])
		}
		i++
	}
	return s
}
