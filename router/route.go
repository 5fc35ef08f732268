package router

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"complaintbot/store"
)

// Reason of a message recognised as our own outgoing mail.
const ReasonOwnMail = "own outgoing mail"

// ReasonNoSender is the quarantine reason of a message without a usable
// From address (there is nobody to attach it to or to answer).
const ReasonNoSender = "no usable From address"

// outcome is what one batch did, counted for the metrics after commit.
type outcome struct {
	messages       int
	ignored        map[string]int // bounded reason label -> count
	complaints     int
	notifications  int // outbox rows of any kind
	acks           int
	acksSuppressed int
	received       []time.Time    // ReceivedAt of the messages stored
	classified     map[string]int // classifiedLabel -> count
	assigned       map[string]int // assignment rule -> count
	extremism      int
	// staffActions run after the commit (Telegram buttons; telegram_act.go).
	staffActions []staffAction
	// answers to this batch's button presses, by callback id (callback.go).
	answers map[string]callbackAnswer
	// pre holds what was prepared before the transaction, aligned with the
	// batch; cur is the index of the message being routed.
	pre []*prepared
	cur int
}

func (o *outcome) count(m *map[string]int, label string) {
	if *m == nil {
		*m = make(map[string]int)
	}
	(*m)[label]++
}

func (o *outcome) ignore(label string) {
	if o.ignored == nil {
		o.ignored = make(map[string]int)
	}
	o.ignored[label]++
}

// route decides one message inside the batch transaction. The steps follow
// docs/ARCHITECTURE.md, except that duplicates are recognised first, for
// noise too, so a mailbox re-read after a UIDVALIDITY change records nothing
// twice.
func (r *Router) route(tx store.Tx, m *store.Message, out *outcome) error {
	out.messages++
	dup, err := isDuplicate(tx, m)
	if err != nil {
		return err
	}
	if dup {
		out.ignore(labelDuplicate)
		r.log.Debug("duplicate message not stored again", "message_id", m.MessageID, "hash", m.ContentHash)
		return nil
	}
	if m.Channel == store.ChannelTelegram {
		return r.routeTelegram(tx, m, out)
	}
	if label, noise := r.classifyNoise(m); noise {
		out.ignore(label)
		return r.putUnthreaded(tx, m, out)
	}
	if handled, err := r.staffMail(tx, m, out); handled || err != nil {
		return err // a staff member's reply to our mail is an action, not a customer's message
	}
	return r.routeCustomerMessage(tx, m, out)
}

// isDuplicate reports whether the same mail (same Message-ID, same bytes)
// is already stored. The same Message-ID with other content is not a
// duplicate: Message-IDs can be reused or forged.
func isDuplicate(tx store.Tx, m *store.Message) (bool, error) {
	if m.ContentHash == "" {
		return false, nil
	}
	prev, err := tx.MessageByHash(m.ContentHash)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up content hash: %w", err)
	}
	return prev.MessageID == m.MessageID, nil
}

// classifyNoise marks messages that open no complaint and returns their
// metric label. Quarantine and ingest's noise verdicts are kept as given.
func (r *Router) classifyNoise(m *store.Message) (string, bool) {
	switch {
	case m.Status == store.StatusQuarantined:
		return labelQuarantined, true
	case r.isOwnMessageID(m.MessageID):
		m.Status, m.Reason = store.StatusIgnored, ReasonOwnMail
		return labelOwnMail, true
	case m.Status == store.StatusIgnored:
		return ignoredLabel(m.Reason), true
	case usableEmail(m.From.Email) == "":
		m.Status, m.Reason = store.StatusQuarantined, ReasonNoSender
		return labelQuarantined, true
	}
	return "", false
}

func (r *Router) isOwnMessageID(id string) bool {
	_, ok := r.TokenComplaint(id)
	return ok
}

// putUnthreaded stores a message that belongs to no complaint.
func (r *Router) putUnthreaded(tx store.Tx, m *store.Message, out *outcome) error {
	m.ComplaintID = 0
	if err := tx.PutMessage(m); err != nil {
		return fmt.Errorf("put %s message: %w", m.Status, err)
	}
	out.received = append(out.received, m.ReceivedAt)
	return nil
}

// routeCustomerMessage records a customer's message in its complaint,
// opening one when the message joins none.
func (r *Router) routeCustomerMessage(tx store.Tx, m *store.Message, out *outcome) error {
	now := r.now()
	pre := r.preparedIn(m, out)
	lang := pre.lang
	cust, created, err := r.customerOf(tx, m, lang)
	if err != nil {
		return err
	}
	m.CustomerID = cust.ID
	m.Status, m.Reason = store.StatusRecorded, ""
	var c *store.Complaint
	if !created { // a customer made just now has no complaint to join
		if c, err = r.findComplaint(tx, m, cust.ID); err != nil {
			return err
		}
	}
	out.received = append(out.received, m.ReceivedAt)
	if c != nil && c.Stage == store.StageNotComplaint {
		// Set aside unanswered, it must not swallow what comes next: the
		// reply is judged on its own (a complaint after a question).
		r.log.Debug("reply to a record that is not a complaint opens its own", "record", c.Number, "message_id", m.MessageID)
		c = nil
	}
	if c != nil {
		r.log.Debug("follow-up joins complaint", "complaint", c.Number, "message_id", m.MessageID, "customer", cust.ID)
		return r.addToComplaint(tx, cust, c, m, now, out)
	}
	out.complaints++
	r.log.Debug("message opens a complaint", "message_id", m.MessageID, "customer", cust.ID)
	return r.openComplaint(tx, cust, m, lang, now, out)
}

// customerOf finds the sender's customer record by address, or creates it
// (created is then true), and records the language just detected.
func (r *Router) customerOf(tx store.Tx, m *store.Message, lang string) (cust *store.Customer, created bool, err error) {
	email := usableEmail(m.From.Email)
	cust, err = tx.CustomerByEmail(email)
	if errors.Is(err, store.ErrNotFound) {
		cust, created, err = &store.Customer{Emails: []string{email}}, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("look up customer %q: %w", email, err)
	}
	changed := created || cust.Lang != lang
	if name := cleanHeader(m.From.Name); cust.Name == "" && name != "" {
		cust.Name, changed = name, true
	}
	cust.Lang = lang
	if !changed {
		return cust, false, nil
	}
	if err := tx.PutCustomer(cust); err != nil {
		return nil, false, fmt.Errorf("put customer %q: %w", email, err)
	}
	return cust, created, nil
}

// addToComplaint records a follow-up. It is not acknowledged, but when some
// of its attachments were not kept the customer is told (noticeNotKept). A
// follow-up to a resolved or closed complaint says so in its event
// (reopening is the workflow's decision).
func (r *Router) addToComplaint(tx store.Tx, cust *store.Customer, c *store.Complaint, m *store.Message, now time.Time, out *outcome) error {
	m.ComplaintID = c.ID
	if err := tx.PutMessage(m); err != nil {
		return fmt.Errorf("put message of %s: %w", c.Number, err)
	}
	c.UpdatedAt = now
	c.ThreadMessageIDs = appendThreadID(c.ThreadMessageIDs, m.MessageID)
	fields := map[string]string{"message_id": m.MessageID}
	if c.Stage == store.StageResolved || c.Stage == store.StageClosed {
		fields["after_stage"] = c.Stage
	}
	if err := appendEvent(tx, c.ID, now, customerActor(m.CustomerID), "message_added", fields); err != nil {
		return err
	}
	if err := r.noticeNotKept(tx, cust, c, m, now, out); err != nil {
		return err
	}
	if err := tx.PutComplaint(c); err != nil {
		return fmt.Errorf("put complaint %s: %w", c.Number, err)
	}
	return nil
}

// openComplaint registers a new record for m: classified, assigned, and
// acknowledged when it is a complaint (or the acknowledgement suppressed
// over the hourly cap).
func (r *Router) openComplaint(tx store.Tx, cust *store.Customer, m *store.Message, lang string, now time.Time, out *outcome) error {
	p := r.preparedIn(m, out)
	cls, classified := p.cls, p.classified
	if classified && cls.Lang != "" && cls.Lang != "other" && telegramLang(m) == "" {
		lang, cust.Lang = cls.Lang, cls.Lang
	}
	c := r.newComplaint(cust, m, lang, now)
	if classified {
		applyClassification(c, cls)
		out.count(&out.classified, classifiedLabel(cls))
	}
	// Its ID and number now, for the records that name it; the complaint
	// itself is written once, complete, at the end.
	if err := tx.ReserveComplaint(c); err != nil {
		return fmt.Errorf("reserve new complaint: %w", err)
	}
	m.ComplaintID = c.ID
	if err := tx.PutMessage(m); err != nil {
		return fmt.Errorf("put message of %s: %w", c.Number, err)
	}
	c.ThreadMessageIDs = appendThreadID(nil, m.MessageID)
	fields := map[string]string{"message_id": m.MessageID}
	if err := appendEvent(tx, c.ID, now, customerActor(cust.ID), "registered", fields); err != nil {
		return err
	}
	if classified {
		if err := classifiedEvent(tx, c, cls, now); err != nil {
			return err
		}
	}
	o := &opening{cust: cust, c: c, m: m}
	if err := r.followThrough(tx, o, cls, classified, now, out); err != nil {
		return err
	}
	if err := tx.PutComplaint(c); err != nil {
		return fmt.Errorf("put complaint %s: %w", c.Number, err)
	}
	if !classified && !o.acked {
		return nil // the customer did not change
	}
	// Language and AckMinutes, saved once for both.
	if err := tx.PutCustomer(cust); err != nil {
		return fmt.Errorf("put customer %d: %w", cust.ID, err)
	}
	return nil
}

func (r *Router) newComplaint(cust *store.Customer, m *store.Message, lang string, now time.Time) *store.Complaint {
	return &store.Complaint{
		CustomerID: cust.ID,
		Channel:    m.Channel,
		Subject:    cleanHeader(m.Subject),
		Lang:       lang,
		Stage:      store.StageRegistered,
		CreatedAt:  now,
		UpdatedAt:  now,
		DueAt:      now.Add(r.reactionTime),
	}
}

// opening is a new record on its way through followThrough.
type opening struct {
	cust    *store.Customer
	c       *store.Complaint
	m       *store.Message
	flag    string // the extremism hint's text for the owner, "" when none
	tierWhy string // how the amount tier was decided
	acked   bool   // an acknowledgement was queued: cust.AckMinutes changed
}

// followThrough does what a new record needs after it is registered: a
// complaint gets its extremism hint, amount tier, owner and
// acknowledgement; anything else an owner and no acknowledgement.
func (r *Router) followThrough(tx store.Tx, o *opening, cls Classification, classified bool, now time.Time, out *outcome) error {
	if o.c.Stage == store.StageNotComplaint {
		if err := r.assignNew(tx, o, now, out); err != nil {
			return err
		}
		reason := "not a complaint (" + o.c.NotComplaint + "): no acknowledgement"
		return appendEventText(tx, o.c.ID, now, "system", EventAckSkipped, reason, map[string]string{"reason": reason})
	}
	if classified {
		if err := r.hintAndTier(tx, o, cls, now, out); err != nil {
			return err
		}
	}
	// The deadline before the owner's mail and the acknowledgement: both
	// show it, and it depends on the category and tier just set.
	if err := r.setDeadline(tx, o.c, o.c.Stage, now); err != nil {
		return err
	}
	if err := r.assignNew(tx, o, now, out); err != nil {
		return err
	}
	acked, err := r.acknowledge(tx, o.cust, o.c, o.m, now, out)
	o.acked = acked
	return err
}

// hintAndTier flags the complaint for a human when the classifier or the
// customer's history suggests it, and sets its amount tier.
func (r *Router) hintAndTier(tx store.Tx, o *opening, cls Classification, now time.Time, out *outcome) error {
	tiers := defaultTierRules
	if r.dir != nil {
		tiers = r.dir.tiers
	}
	o.c.Tier, o.tierWhy = tiers.tier(o.c.Amount, o.c.Currency)
	sources, flag := r.extremismFlag(o.cust, cls, now)
	if len(sources) == 0 {
		return nil
	}
	out.extremism++
	o.flag = flag
	return flagExtremism(tx, o.c, sources, flag, now)
}

func customerActor(id uint64) string { return "customer:" + strconv.FormatUint(id, 10) }

func appendEvent(tx store.Tx, complaintID uint64, at time.Time, actor, kind string, fields map[string]string) error {
	e := &store.Event{ComplaintID: complaintID, At: at, Actor: actor, Kind: kind, Fields: fields}
	if err := tx.AppendEvent(e); err != nil {
		return fmt.Errorf("append event %q to complaint %d: %w", kind, complaintID, err)
	}
	return nil
}

// maxThreadIDs bounds Complaint.ThreadMessageIDs; the first (the thread's
// root) and the newest are kept, which is what References needs
// (RFC 5322 section 3.6.4 allows trimming the middle).
const maxThreadIDs = 50

func appendThreadID(ids []string, id string) []string {
	if id == "" || containsString(ids, id) {
		return ids
	}
	ids = append(ids, id)
	if len(ids) > maxThreadIDs {
		ids = append(ids[:1], ids[len(ids)-maxThreadIDs+1:]...)
	}
	return ids
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// usableEmail returns the lower-cased address, or "" when it cannot be
// answered or matched (no local part or domain, control characters, spaces).
func usableEmail(addr string) string {
	addr = strings.ToLower(strings.TrimSpace(addr))
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || len(addr) > 254 {
		return ""
	}
	for _, r := range addr {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == ',' {
			return ""
		}
	}
	return addr
}
