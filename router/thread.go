package router

import (
	"errors"
	"fmt"
	"regexp"

	"complaintbot/store"
)

// complaintTag finds a complaint number tag such as [C-2026-000123] in a
// subject.
var complaintTag = regexp.MustCompile(`\[(C-[0-9]{4}-[0-9]{6,})\]`)

// findComplaint returns the complaint m belongs to, or nil when it opens a
// new one. The rules, in order: our signed token in In-Reply-To/References;
// a stored message named there; the [C-…] tag in the subject; a stored reply
// that names m (the reply arrived first). Every rule only counts when the
// complaint is the sender's own, so nothing a stranger writes attaches to
// someone else's complaint.
func (r *Router) findComplaint(tx store.Tx, m *store.Message, customerID uint64) (*store.Complaint, error) {
	refs := referencedIDs(m)
	rules := []func() (*store.Complaint, error){
		func() (*store.Complaint, error) { return r.byToken(tx, refs, customerID) },
		func() (*store.Complaint, error) { return byReference(tx, refs, customerID) },
		func() (*store.Complaint, error) { return byTag(tx, m.Subject, customerID) },
		func() (*store.Complaint, error) { return byReply(tx, m.MessageID, customerID) },
	}
	for _, rule := range rules {
		c, err := rule()
		if c != nil || err != nil {
			return c, err
		}
	}
	return nil, nil
}

// maxRefs bounds the Message-IDs looked up per message, so a hostile
// References header of thousands of IDs costs no more than a real thread.
const maxRefs = 64

// referencedIDs lists the Message-IDs m answers, nearest first: In-Reply-To,
// then References from the newest back to the thread's root.
func referencedIDs(m *store.Message) []string {
	ids := make([]string, 0, min(maxRefs, len(m.InReplyTo)+len(m.References)))
	ids = append(ids, m.InReplyTo[:min(len(m.InReplyTo), maxRefs)]...)
	for i := len(m.References) - 1; i >= 0 && len(ids) < maxRefs; i-- {
		ids = append(ids, m.References[i])
	}
	return ids
}

func (r *Router) byToken(tx store.Tx, refs []string, customerID uint64) (*store.Complaint, error) {
	for _, id := range refs {
		complaintID, ok := r.TokenComplaint(id)
		if !ok {
			continue
		}
		c, err := ownComplaint(tx, complaintID, customerID)
		if c != nil || err != nil {
			return c, err
		}
	}
	return nil, nil
}

func byReference(tx store.Tx, refs []string, customerID uint64) (*store.Complaint, error) {
	for _, id := range refs {
		prevs, err := messagesByMessageID(tx, id)
		if err != nil {
			return nil, err
		}
		for _, prev := range prevs {
			c, err := ownComplaint(tx, prev.ComplaintID, customerID)
			if c != nil || err != nil {
				return c, err
			}
		}
	}
	return nil, nil
}

// multiMessageIDTx is implemented by stores that can list every message
// recorded under one Message-ID (store.Bolt does). With it, a stranger who
// reused a customer's Message-ID first cannot hide the customer's message.
type multiMessageIDTx interface {
	MessagesByMessageID(messageID string) ([]*store.Message, error)
}

func messagesByMessageID(tx store.Tx, id string) ([]*store.Message, error) {
	if id == "" {
		return nil, nil
	}
	if multi, ok := tx.(multiMessageIDTx); ok {
		ms, err := multi.MessagesByMessageID(id)
		if err != nil {
			return nil, fmt.Errorf("look up referenced message %q: %w", id, err)
		}
		return ms, nil
	}
	m, err := tx.MessageByMessageID(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up referenced message %q: %w", id, err)
	}
	return []*store.Message{m}, nil
}

func byTag(tx store.Tx, subject string, customerID uint64) (*store.Complaint, error) {
	for _, match := range complaintTag.FindAllStringSubmatch(subject, 5) {
		c, err := tx.ComplaintByNumber(match[1])
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("look up complaint %s: %w", match[1], err)
		}
		if c.CustomerID == customerID {
			return c, nil
		}
	}
	return nil, nil
}

// byReply finds a complaint through a stored message of the same customer
// that references messageID: the reply was processed before the message it
// answers (parallel delivery), and the two belong together.
func byReply(tx store.Tx, messageID string, customerID uint64) (*store.Complaint, error) {
	if messageID == "" {
		return nil, nil
	}
	replies, err := tx.MessagesReferencing(messageID)
	if err != nil {
		return nil, fmt.Errorf("look up replies to %q: %w", messageID, err)
	}
	for _, reply := range replies {
		if reply.CustomerID != customerID {
			continue
		}
		c, err := ownComplaint(tx, reply.ComplaintID, customerID)
		if c != nil || err != nil {
			return c, err
		}
	}
	return nil, nil
}

// ownComplaint loads complaint id when it belongs to customerID; nil
// otherwise (including id 0 and a complaint that does not exist).
func ownComplaint(tx store.Tx, id, customerID uint64) (*store.Complaint, error) {
	if id == 0 {
		return nil, nil
	}
	c, err := tx.Complaint(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load complaint %d: %w", id, err)
	}
	if c.CustomerID != customerID {
		return nil, nil
	}
	return c, nil
}
