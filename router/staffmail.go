package router

import (
	"errors"
	"fmt"
	"strings"

	"complaintbot/store"
)

// Keywords that make a staff member's emailed reply an answer to the
// customer instead of a note (first word of the new text).
var replyKeywords = []string{"#reply", "/reply"}

// ReasonStaffAction starts the Reason of a staff member's mail that was
// taken as an action (the action's events are on the complaint).
const ReasonStaffAction = "staff action"

// staffMail takes a staff member's reply to one of our mails about a
// complaint as a staff action: the new text becomes a note, or with
// "#reply"/"/reply" first an answer to the customer. Both conditions are
// needed: From is a configured staff address AND the mail answers one of
// our signed Message-IDs (only we can make those, so a forged From alone
// does nothing). Such a mail never joins the complaint as a customer
// message; it is stored unthreaded (status ignored) with the action named
// in its Reason, so a re-read finds it as a duplicate and acts only once.
// A refused action is logged and named in the Reason; it does not fail
// the batch.
func (r *Router) staffMail(tx store.Tx, m *store.Message, out *outcome) (bool, error) {
	s := r.staffByEmail(m.From.Email)
	if s == nil {
		return false, nil
	}
	c, err := r.tokenComplaint(tx, referencedIDs(m))
	if c == nil || err != nil {
		return false, err
	}
	a := mailAction(c.Number, s.ID, m.Text)
	m.Status, m.Reason = store.StatusIgnored, ReasonStaffAction+": "+a.Kind+" on "+c.Number
	if _, err := r.actIn(tx, a, out); err != nil {
		if !IsRefusal(err) {
			return true, err
		}
		m.Reason = ReasonStaffAction + " refused: " + err.Error()
	}
	r.log.Info("staff mail taken as an action", "kind", a.Kind, "complaint", c.Number, "actor", s.ID, "message_id", m.MessageID)
	return true, r.putUnthreaded(tx, m, out)
}

// mailAction reads the new text of a staff member's mail.
func mailAction(number, staffID, text string) Action {
	a := normalizeAction(Action{Number: number, Actor: staffID, Kind: ActionNote, Text: text})
	first, rest, _ := strings.Cut(a.Text, "\n")
	word, tail, _ := strings.Cut(strings.TrimSpace(first), " ")
	for _, kw := range replyKeywords {
		if strings.EqualFold(word, kw) {
			a.Kind, a.Text = ActionReply, cleanText(tail+"\n"+rest)
		}
	}
	return a
}

func (r *Router) staffByEmail(addr string) *Staff {
	email := usableEmail(addr)
	if r.dir == nil || email == "" {
		return nil
	}
	for _, s := range r.dir.staff {
		if usableEmail(s.Email) == email {
			return s
		}
	}
	return nil
}

// tokenComplaint loads the complaint named by the first of our signed
// Message-IDs among refs; nil when none names an existing complaint.
func (r *Router) tokenComplaint(tx store.Tx, refs []string) (*store.Complaint, error) {
	for _, id := range refs {
		cid, ok := r.TokenComplaint(id)
		if !ok {
			continue
		}
		c, err := tx.Complaint(cid)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load complaint %d: %w", cid, err)
		}
		return c, nil
	}
	return nil, nil
}
