package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"complaintbot/store"
)

// maxOwnerText bounds the customer's text copied into an owner
// notification row (notify trims it again when rendering).
const maxOwnerText = 2000

// assignNew gives the new record c its owner and records why. A genuine
// complaint's owner is told by email; a message that is not a complaint
// goes to the default owner without a notification (it is listed in the
// API under stage not_complaint). Without configured staff nothing happens.
func (r *Router) assignNew(tx store.Tx, o *opening, now time.Time, out *outcome) error {
	if r.dir == nil {
		return nil
	}
	c := o.c
	ch := choice{owner: r.dir.defaultOwner, rule: ruleNotComplaint, reason: "not a complaint (" + c.NotComplaint + "): for a human to check"}
	genuine := c.Stage != store.StageNotComplaint
	if genuine {
		var err error
		if ch, err = r.dir.choose(tx, c.Category, c.Lang); err != nil {
			return err
		}
	}
	c.OwnerID, c.Team = ch.owner.ID, ch.team
	out.count(&out.assigned, ch.rule)
	fields := map[string]string{"owner": ch.owner.ID, "team": ch.team, "reason": ch.reason, "rule": ch.rule}
	if c.Tier != "" {
		fields["tier"], fields["tier_reason"] = c.Tier, o.tierWhy
	}
	if err := appendEventText(tx, c.ID, now, "system", EventAssigned, ch.reason, fields); err != nil {
		return err
	}
	if !genuine {
		return nil
	}
	return r.notifyOwner(tx, c, o.cust, o.m.Text, ch.owner, ch.reason, o.flag, now, out)
}

// notifyOwner queues the "assigned" mail to owner: to their own address, in
// their first language, outside the customer's thread.
func (r *Router) notifyOwner(tx store.Tx, c *store.Complaint, cust *store.Customer, text string, owner *Staff, reason, flag string, now time.Time, out *outcome) error {
	n := &store.Notification{
		ComplaintID: c.ID,
		Kind:        KindAssigned,
		Channel:     store.ChannelEmail,
		Lang:        owner.Languages[0],
		To:          store.Address{Name: cleanHeader(owner.Name), Email: usableEmail(owner.Email)},
		MessageID:   r.NewMessageID(c.ID), // ours, so it is known if it ever comes back
		Data:        r.ownerData(c, cust, text, reason, flag),
		Status:      store.NotifyPending,
		NextAttempt: now,
		CreatedAt:   now,
	}
	if err := tx.PutNotification(n); err != nil {
		return fmt.Errorf("queue owner notification of %s: %w", c.Number, err)
	}
	out.notifications++
	return r.notifyOwnerTelegram(tx, c, n, owner, now, out)
}

func (r *Router) ownerData(c *store.Complaint, cust *store.Customer, text, reason, flag string) map[string]string {
	d := map[string]string{
		"number":        c.Number,
		"due":           c.DueAt.Format(time.RFC3339),
		"subject":       c.Subject,
		"customer_name": cust.Name,
		"customer_lang": c.Lang,
		"category":      c.Category,
		"cause":         c.Cause,
		"amount":        c.Amount,
		"currency":      c.Currency,
		"tier":          c.Tier,
		"approver":      r.dir.approver(c.Tier, c.Team),
		"wants":         strings.Join(c.Wants, ","),
		"reason":        reason,
		"flag":          flag,
		"text":          truncateRunes(text, maxOwnerText),
	}
	if len(cust.Emails) > 0 {
		d["customer_email"] = cust.Emails[0]
	}
	for k, v := range d {
		if v == "" {
			delete(d, k)
		}
	}
	return d
}

// Reassign hands complaint number to the staff member newOwner, keeping
// the history: an event "reassigned" (from, to, reason, by actor) and an
// "assigned" mail to the new owner. The complaint's team becomes the new
// owner's first team unless they are in it already. Reassigning to the
// current owner changes nothing. newOwner must be configured and not away
// (ErrUnknownStaff otherwise); a complaint is never left with nobody.
func (r *Router) Reassign(ctx context.Context, number, newOwner, actor, reason string) error {
	if r.dir == nil {
		return fmt.Errorf("router: reassign %s: no staff configured: %w", number, ErrUnknownStaff)
	}
	owner := r.dir.staff[newOwner]
	if owner == nil || owner.Away {
		return fmt.Errorf("router: reassign %s to %q: %w", number, newOwner, ErrUnknownStaff)
	}
	if actor = cleanHeader(actor); actor == "" {
		actor = "system"
	}
	var out outcome
	err := r.store.Update(ctx, func(tx store.Tx) error {
		out = outcome{}
		return r.reassignTx(tx, number, owner, actor, cleanHeader(reason), EventReassigned, &out)
	})
	if err != nil {
		return fmt.Errorf("router: reassign %s to %q: %w", number, newOwner, err)
	}
	if out.notifications > 0 && r.onNotify != nil {
		r.onNotify()
	}
	return nil
}

// reassignTx moves complaint number to owner with an event of kind
// (reassigned, taken, handed_off) and, unless the owner took it
// themselves, the "assigned" mail to them.
func (r *Router) reassignTx(tx store.Tx, number string, owner *Staff, actor, reason, kind string, out *outcome) error {
	c, err := tx.ComplaintByNumber(number)
	if err != nil {
		return err
	}
	if c.OwnerID == owner.ID {
		return nil
	}
	now := r.now()
	from := c.OwnerID
	if !containsString(owner.Teams, c.Team) && len(owner.Teams) > 0 {
		c.Team = owner.Teams[0]
	}
	c.OwnerID, c.UpdatedAt = owner.ID, now
	if err := tx.PutComplaint(c); err != nil {
		return fmt.Errorf("put complaint: %w", err)
	}
	fields := map[string]string{"from": from, "to": owner.ID, "team": c.Team, "reason": reason}
	if err := appendEventText(tx, c.ID, now, actor, kind, reason, fields); err != nil {
		return err
	}
	if !c.Open() || kind == EventTaken {
		return nil // nothing for the new owner to act on now, or they know
	}
	cust, text, err := customerAndFirstText(tx, c)
	if err != nil {
		return err
	}
	why := fmt.Sprintf("%s from %s by %s", strings.ReplaceAll(kind, "_", " "), cmpOr(from, "nobody"), actor)
	if reason != "" {
		why += ": " + reason
	}
	flag := ""
	if c.ExtremismHint {
		flag = "flagged when it was registered (" + c.Labels[LabelExtremismHint] + "); see its events"
	}
	return r.notifyOwner(tx, c, cust, text, owner, why, flag, now, out)
}

// customerAndFirstText loads c's customer and the text of its first
// inbound message (what the new owner needs to read).
func customerAndFirstText(tx store.Tx, c *store.Complaint) (*store.Customer, string, error) {
	cust, err := tx.Customer(c.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		cust, err = &store.Customer{}, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("load customer %d: %w", c.CustomerID, err)
	}
	msgs, err := tx.MessagesOf(c.ID)
	if err != nil {
		return nil, "", fmt.Errorf("load messages of %s: %w", c.Number, err)
	}
	for _, m := range msgs {
		if m.Direction == store.DirectionIn {
			return cust, m.Text, nil
		}
	}
	return cust, "", nil
}

func appendEventText(tx store.Tx, complaintID uint64, at time.Time, actor, kind, text string, fields map[string]string) error {
	e := &store.Event{ComplaintID: complaintID, At: at, Actor: actor, Kind: kind, Text: text, Fields: fields}
	if err := tx.AppendEvent(e); err != nil {
		return fmt.Errorf("append event %q to complaint %d: %w", kind, complaintID, err)
	}
	return nil
}
