package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/emersion/go-smtp"

	retry "complaintbot/internal/backoff"
	"complaintbot/store"
)

// Outcomes of one attempt, as recorded and counted.
const (
	outcomeSent      = "sent"
	outcomeTemporary = "temporary"
	outcomePermanent = "permanent"
	outcomeDeferred  = "deferred" // put back until its turn; not an attempt
)

// prepared is a row turned into a message, ready for the relay.
type prepared struct {
	to        string // envelope recipient
	messageID string
	rendered  Rendered
	raw       []byte
}

// prepare renders and composes a row. Its errors are permanent: the same
// row would fail the same way next time.
func (n *Notifier) prepare(row *store.Notification) (prepared, error) {
	if ch := row.Channel; ch != "" && ch != store.ChannelEmail {
		return prepared{}, permanentf("channel %q is not served by the email notifier", ch)
	}
	r, err := RenderWith(row, RenderOptions{Location: n.o.Location, CompanyName: n.o.CompanyName})
	if err != nil {
		return prepared{}, &permanentError{err}
	}
	raw, err := Compose(row, r, n.o.From, n.o.Now())
	if err != nil {
		return prepared{}, &permanentError{err}
	}
	to, _ := parseMailbox(row.To.Email) // Compose has checked it
	return prepared{to: to, messageID: messageID(row, n.from), rendered: r, raw: raw}, nil
}

// record is the outbound Message kept on the complaint: what was sent,
// threaded as it was sent.
func (p prepared) record(row *store.Notification, from store.Address, at time.Time) *store.Message {
	sum := sha256.Sum256(p.raw)
	m := &store.Message{
		ComplaintID: row.ComplaintID,
		CustomerID:  row.CustomerID,
		Direction:   store.DirectionOut,
		Channel:     store.ChannelEmail,
		MessageID:   p.messageID,
		References:  cleanMsgIDs(row.References),
		From:        from,
		To:          []store.Address{{Name: cleanHeaderText(row.To.Name), Email: p.to}},
		Subject:     p.rendered.Subject,
		Date:        at,
		Text:        p.rendered.Text,
		Status:      store.StatusSent,
		Size:        int64(len(p.raw)),
		ContentHash: hex.EncodeToString(sum[:]),
		ReceivedAt:  at,
	}
	if id := cleanMsgID(row.InReplyTo); id != "" {
		m.InReplyTo = []string{id}
	}
	return m
}

// record writes the outcome of j into tx: the row, and for a final outcome
// the outbound message and the event on the complaint.
func (n *Notifier) record(tx store.Tx, j *job) error {
	if j.aborted {
		return nil
	}
	row, err := tx.Notification(j.row.ID)
	if err != nil {
		return err
	}
	if row.Status != store.NotifyPending {
		return nil // settled meanwhile; nothing to add
	}
	var d *deferral
	if errors.As(j.err, &d) {
		j.outcome = outcomeDeferred
		return recordDeferred(tx, row, d)
	}
	row.Attempts++
	switch {
	case j.err == nil:
		j.outcome = outcomeSent
		return n.recordSent(tx, row, j)
	case errors.As(j.err, new(*blockedError)):
		j.outcome = outcomePermanent
		return n.recordBlocked(tx, row, j.at)
	case isPermanent(j.err):
		j.outcome = outcomePermanent
		return n.recordFailed(tx, row, j.at, replyText(j.err))
	case row.Attempts >= n.o.MaxAttempts:
		j.outcome = outcomePermanent
		return n.recordFailed(tx, row, j.at, fmt.Sprintf("gave up after %d attempts: %s", row.Attempts, replyText(j.err)))
	default:
		j.outcome = outcomeTemporary
		row.LastError = replyText(j.err)
		row.NextAttempt = j.at.Add(backoff(row.Attempts, n.o.MinBackoff, n.o.MaxBackoff))
		return tx.PutNotification(row)
	}
}

func (n *Notifier) recordSent(tx store.Tx, row *store.Notification, j *job) error {
	row.Status = store.NotifySent
	row.SentAt = j.at
	row.LastError = ""
	if err := tx.PutNotification(row); err != nil {
		return err
	}
	m := *j.sent // a fresh copy: a failed transaction may be retried
	// Staff mail is not part of the conversation with the customer.
	if !staffKinds[row.Kind] {
		if err := tx.PutMessage(&m); err != nil {
			return err
		}
	}
	fields := map[string]string{"message_id": m.MessageID}
	if m.Channel == store.ChannelTelegram {
		fields["telegram_chat_id"] = strconv.FormatInt(m.TelegramChatID, 10)
	} else {
		fields["to"] = m.To[0].Email
	}
	return n.appendEvent(tx, row, j.at, "_sent", "", fields)
}

func (n *Notifier) recordFailed(tx store.Tx, row *store.Notification, at time.Time, reason string) error {
	return n.recordFailedWith(tx, row, at, reason, nil)
}

// recordFailedWith fails the row for good, with extra fields on the event.
func (n *Notifier) recordFailedWith(tx store.Tx, row *store.Notification, at time.Time, reason string, extra map[string]string) error {
	row.Status = store.NotifyFailed
	row.LastError = reason
	if err := tx.PutNotification(row); err != nil {
		return err
	}
	fields := map[string]string{
		"message_id": messageID(row, n.from),
		"to":         row.To.Email,
		"attempts":   strconv.Itoa(row.Attempts),
	}
	maps.Copy(fields, extra)
	return n.appendEvent(tx, row, at, "_failed", reason, fields)
}

// appendEvent adds "<kind><suffix>" to the row's complaint; a row for no
// complaint (a staff digest, say) has no trail to add to.
func (n *Notifier) appendEvent(tx store.Tx, row *store.Notification, at time.Time, suffix, text string, fields map[string]string) error {
	if row.ComplaintID == 0 {
		return nil
	}
	return tx.AppendEvent(&store.Event{
		ComplaintID: row.ComplaintID,
		At:          at,
		Actor:       "notify",
		Kind:        row.Kind + suffix,
		Text:        text,
		Fields:      fields,
	})
}

// count updates the metrics and the log once outcomes are committed.
func (n *Notifier) count(done []*job) {
	for _, j := range done {
		if j.lost {
			continue
		}
		ch, kind := j.row.Channel, j.row.Kind
		if ch == "" {
			ch = store.ChannelEmail
		}
		switch j.outcome {
		case outcomeSent:
			n.settled()
			n.metrics.sent.WithLabelValues(ch, kind).Inc()
			n.log.Debug("notification sent", "id", j.row.ID, "kind", kind, "complaint", j.row.ComplaintID)
		case outcomeDeferred:
			var d *deferral
			if errors.As(j.err, &d) && d.limited {
				n.metrics.failed.WithLabelValues(ch, kind, "rate_limited").Inc()
				n.log.Info("notification rate limited", "id", j.row.ID, "kind", kind, "retry_at", d.until, "err", j.err)
				continue
			}
			n.log.Debug("notification put back", "id", j.row.ID, "kind", kind, "reason", j.err)
		case outcomeTemporary, outcomePermanent:
			if j.outcome == outcomePermanent {
				n.settled()
			}
			n.metrics.failed.WithLabelValues(ch, kind, j.outcome).Inc()
			n.log.Info("notification not sent", "id", j.row.ID, "kind", kind, "complaint", j.row.ComplaintID,
				"failure", j.outcome, "err", j.err)
		}
	}
}

// settled takes a row that left the pending state off the gauge.
func (n *Notifier) settled() {
	n.pending = max(n.pending-1, 0)
	n.metrics.pending.Set(float64(n.pending))
}

// backoff is the delay before retry number attempt (1 for the first): it
// doubles from min up to max, and is drawn uniformly from its upper half
// ("equal jitter") so rows that failed together do not retry together.
func backoff(attempt int, lo, hi time.Duration) time.Duration {
	return retry.Equal(attempt-1, lo, hi)
}

// isSMTPReply reports whether err is a reply from the relay (so the relay
// is up, whatever it said).
func isSMTPReply(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se)
}
