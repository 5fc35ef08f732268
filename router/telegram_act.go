package router

import (
	"context"
	"fmt"
	"slices"

	"complaintbot/store"
)

// Staff actions from Telegram run through Act after the batch that carried
// the press (or the text) is committed: Act is its own transaction, and
// its outcome is told to the staff member in their chat. A crash between
// the commit and Act loses the action but not the record of the press
// (the event "telegram_action" and the message); the staff member, told
// nothing, presses again.

// staffAction is one action a staff member asked for in Telegram.
type staffAction struct {
	staffID    string
	chat       int64
	lang       string
	kind       string // an Action kind
	number     string
	text       string
	to         string
	resolution *store.Resolution
}

// runStaffActions carries out the actions of a committed batch and tells
// each staff member the outcome.
func (r *Router) runStaffActions(ctx context.Context, actions []staffAction) {
	for _, a := range actions {
		_, err := r.Act(ctx, Action{Number: a.number, Actor: a.staffID, Kind: a.kind, Text: a.text, To: a.to, Resolution: a.resolution})
		text := fmt.Sprintf(phrase(a.lang, phStaffDone), a.kind, a.number)
		if err != nil {
			text = fmt.Sprintf(phrase(a.lang, phStaffFailed), a.kind, a.number, err)
		}
		if err := r.tellStaff(ctx, a, text); err != nil {
			r.log.Error("cannot queue the outcome of a staff action", "staff", a.staffID, "err", err)
		}
	}
}

func (r *Router) tellStaff(ctx context.Context, a staffAction, text string) error {
	err := r.store.Update(ctx, func(tx store.Tx) error {
		return tx.PutNotification(r.chatRow(0, 0, a.chat, KindStaffInfo, a.lang, map[string]string{"text": text}, r.now()))
	})
	if err == nil && r.onNotify != nil {
		r.onNotify()
	}
	return err
}

// resolutionKinds are the configured resolution kinds in the order of the
// default list, the others after them by name.
func (r *Router) resolutionKinds() []ResolutionKind {
	var out []ResolutionKind
	for _, k := range DefaultResolutionKinds {
		if rk, ok := r.wf.kinds[k.Name]; ok {
			out = append(out, rk)
		}
	}
	var rest []ResolutionKind
	for name, k := range r.wf.kinds {
		if !slices.ContainsFunc(out, func(o ResolutionKind) bool { return o.Name == name }) {
			rest = append(rest, k)
		}
	}
	slices.SortFunc(rest, func(a, b ResolutionKind) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	return append(out, rest...)
}

// staffByID lists the configured staff in id order.
func (d *directory) staffByID() []*Staff {
	out := make([]*Staff, 0, len(d.staff))
	for _, s := range d.staff {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Staff) int {
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return out
}
