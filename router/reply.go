package router

import (
	"errors"
	"fmt"
	"strconv"

	"complaintbot/store"
)

// KindReply is the outbox kind of a staff member's reply to the customer.
const KindReply = "reply"

// replyToCustomer queues the staff member's text to the customer through
// the complaint's own channel: for email, threaded under the latest
// message of the conversation with our signed Message-ID; for Telegram,
// to the chat the customer wrote from. notify records it as an outbound
// message when it is sent. Staff replies are deliberate, so the hourly
// cap on automatic acknowledgements does not apply.
func (r *Router) replyToCustomer(x *acting) error {
	text, err := x.requireText("the reply")
	if err != nil {
		return err
	}
	cust, last, err := lastCustomerMessage(x.tx, x.c)
	if err != nil {
		return err
	}
	n, err := r.replyRow(x, cust, last, text)
	if err != nil {
		return err
	}
	if err := x.tx.PutNotification(n); err != nil {
		return fmt.Errorf("queue reply on %s: %w", x.c.Number, err)
	}
	x.out.notifications++
	fields := map[string]string{"notification_id": strconv.FormatUint(n.ID, 10), "channel": n.Channel}
	if n.Channel == store.ChannelTelegram {
		fields["telegram_chat_id"] = strconv.FormatInt(n.TelegramChatID, 10)
	} else {
		fields["message_id"], fields["to"] = n.MessageID, n.To.Email
		x.c.ThreadMessageIDs = appendThreadID(x.c.ThreadMessageIDs, n.MessageID)
	}
	if err := x.putComplaint(); err != nil {
		return err
	}
	return appendEventText(x.tx, x.c.ID, x.now, x.actor(), EventReplyQueued, text, fields)
}

// replyRow builds the outbox row of a reply, refusing when the complaint
// has no address to answer on its channel.
func (r *Router) replyRow(x *acting, cust *store.Customer, last *store.Message, text string) (*store.Notification, error) {
	c := x.c
	n := &store.Notification{
		ComplaintID: c.ID,
		CustomerID:  cust.ID,
		Kind:        KindReply,
		Channel:     cmpOr(c.Channel, store.ChannelEmail),
		Lang:        c.Lang,
		Data: map[string]string{"number": c.Number, "text": text, "customer_name": cust.Name,
			"subject": c.Subject, "staff_name": x.s.Name, "staff_id": x.s.ID},
		Status:      store.NotifyPending,
		NextAttempt: x.now,
		CreatedAt:   x.now,
	}
	if n.Channel == store.ChannelTelegram {
		if last == nil || last.TelegramChatID == 0 {
			return nil, refuse(ErrConflict, ActionReply, "", "%s has no Telegram chat to answer", c.Number)
		}
		n.TelegramChatID = last.TelegramChatID
		return n, nil
	}
	n.To = replyRecipient(cust, last)
	if n.To.Email == "" {
		return nil, refuse(ErrConflict, ActionReply, "", "%s has no usable customer address to answer", c.Number)
	}
	n.Subject = AckSubject(c.Subject, c.Number)
	n.MessageID = r.NewMessageID(c.ID)
	if k := len(c.ThreadMessageIDs); k > 0 {
		n.InReplyTo = cleanMessageID(c.ThreadMessageIDs[k-1])
	}
	for _, id := range c.ThreadMessageIDs {
		n.References = appendThreadID(n.References, cleanMessageID(id))
	}
	return n, nil
}

// replyRecipient is the Reply-To or From of the customer's latest message,
// or the customer's first address.
func replyRecipient(cust *store.Customer, last *store.Message) store.Address {
	if last != nil {
		if a := replyAddress(last, cust); a.Email != "" {
			return a
		}
	}
	if len(cust.Emails) > 0 {
		return store.Address{Name: cleanHeader(cust.Name), Email: usableEmail(cust.Emails[0])}
	}
	return store.Address{}
}

// lastCustomerMessage loads c's customer and their latest message on c
// (nil when there is none).
func lastCustomerMessage(tx store.Tx, c *store.Complaint) (*store.Customer, *store.Message, error) {
	cust, err := tx.Customer(c.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		cust, err = &store.Customer{}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load customer %d: %w", c.CustomerID, err)
	}
	msgs, err := tx.MessagesOf(c.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("load messages of %s: %w", c.Number, err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.Direction == store.DirectionIn && m.CustomerID == c.CustomerID {
			return cust, m, nil
		}
	}
	return cust, nil, nil
}
