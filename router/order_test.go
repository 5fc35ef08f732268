package router

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"complaintbot/store"
)

// thread returns a customer's three-message thread: A, B answering A, C
// answering B (References carry the whole chain, as mail clients write).
func thread() []*store.Message {
	a := mail("Ivan", "ivan@example.ru", "A@example.ru", "Не работает", "Здравствуйте, заказ не пришёл.")
	b := replyTo(mail("Ivan", "ivan@example.ru", "B@example.ru", "Re: Не работает", "Добавлю: номер заказа 123."), "A@example.ru")
	c := replyTo(mail("Ivan", "ivan@example.ru", "C@example.ru", "Re: Не работает", "И ещё фото."), "B@example.ru", "A@example.ru")
	return []*store.Message{a, b, c}
}

// grouping describes the final state independent of IDs: the Message-IDs
// of each complaint's messages, sorted, and the number of acks.
func (f *fixture) grouping() (string, int) {
	var groups []string
	byComplaint := map[uint64][]string{}
	for _, m := range f.messages() {
		byComplaint[m.ComplaintID] = append(byComplaint[m.ComplaintID], m.MessageID)
	}
	for id, ids := range byComplaint {
		if id == 0 {
			f.t.Errorf("messages %v joined no complaint", ids)
		}
		slices.Sort(ids)
		groups = append(groups, strings.Join(ids, "+"))
	}
	slices.Sort(groups)
	return strings.Join(groups, " | "), len(f.notifications())
}

// The grouping must not depend on arrival order (Postfix delivers in
// parallel): every order of a thread, in separate batches or in one, ends
// in one complaint with one acknowledgement.
func TestArrivalOrderIndependence(t *testing.T) {
	orders := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	for _, order := range orders {
		for _, sameBatch := range []bool{false, true} {
			name := fmt.Sprintf("order %v same batch %v", order, sameBatch)
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, nil)
				msgs := thread()
				var batch []*store.Message
				for _, i := range order {
					batch = append(batch, msgs[i])
				}
				if sameBatch {
					f.deliver(batch...)
				} else {
					for _, m := range batch {
						f.deliver(m)
					}
				}
				groups, acks := f.grouping()
				if groups != "A@example.ru+B@example.ru+C@example.ru" || acks != 1 {
					t.Errorf("groups %q with %d acks, want one complaint with one ack", groups, acks)
				}
				c := f.onlyComplaint()
				kinds := f.eventKinds(c.ID)
				if !slices.Equal(kinds, []string{"registered", "ack_queued", "message_added", "message_added"}) {
					t.Errorf("events = %v", kinds)
				}
			})
		}
	}
}

// The pair from the brief: reply B is processed before A, then A arrives
// and joins B's complaint without a second acknowledgement.
func TestParentAfterReply(t *testing.T) {
	f := newFixture(t, nil)
	msgs := thread()
	f.deliver(msgs[1])
	x := f.onlyComplaint()
	f.deliver(msgs[0])
	if a := f.messageByID("A@example.ru"); a.ComplaintID != x.ID {
		t.Errorf("A in complaint %d, want B's %d", a.ComplaintID, x.ID)
	}
	if n := len(f.notifications()); n != 1 {
		t.Errorf("%d acks, want 1", n)
	}
	if c := f.onlyComplaint(); c.Lang != LangRussian {
		t.Errorf("lang %q", c.Lang)
	}
}

// A reply that arrives first from someone else must not pull the parent
// into the stranger's complaint.
func TestParentAfterStrangersReply(t *testing.T) {
	f := newFixture(t, nil)
	msgs := thread()
	stranger := replyTo(mail("", "eve@evil.example", "E@evil.example", "Re: Не работает", "mine now"), "A@example.ru")
	f.deliver(stranger)
	f.deliver(msgs[0])
	e, a := f.messageByID("E@evil.example"), f.messageByID("A@example.ru")
	if e.ComplaintID == a.ComplaintID {
		t.Errorf("customer's message joined the stranger's complaint %d", e.ComplaintID)
	}
	if len(f.complaints()) != 2 {
		t.Errorf("got %d complaints, want 2", len(f.complaints()))
	}
}
