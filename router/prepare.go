package router

import (
	"runtime"
	"sync"

	"complaintbot/store"
)

// prepared is what routing works out about a customer's message without
// the store: its language and its classification. It is pure and is the
// most expensive part of routing, and the store has a single writer, so it
// is done before the transaction, on all CPUs.
type prepared struct {
	lang       string // DetectLang of subject and text
	cls        Classification
	classified bool // false without a classifier
}

// prepare works m out; nil when m is not a customer's message (noise,
// quarantine), which routing does not classify.
func (r *Router) prepare(m *store.Message) *prepared {
	if m == nil || m.Direction != store.DirectionIn || m.Status == store.StatusIgnored || m.Status == store.StatusQuarantined {
		return nil
	}
	p := &prepared{lang: DetectLang(m.Subject + "\n" + m.Text)}
	if r.classifier != nil {
		p.cls, p.classified = r.classify(m)
	}
	return p
}

// Prepare works m out ahead of Deliver, for a source that calls it on its
// own parallel workers right after normalising (as the daemon's IMAP
// inboxes do), and leaves the result in m.Prepared, where Deliver finds
// it. It is safe for concurrent use.
func (r *Router) Prepare(m *store.Message) {
	if p := r.prepare(m); p != nil {
		m.Prepared = p
	}
}

// prepareBatch returns, aligned with msgs, what was prepared for each: the
// source's result (m.Prepared), else worked out now on all CPUs. Messages
// that turn out to be follow-ups simply leave their result unused; one
// left alone is worked out in the transaction (see preparedIn).
func (r *Router) prepareBatch(msgs []*store.Message) []*prepared {
	pre := make([]*prepared, len(msgs))
	var todo []int
	for i, m := range msgs {
		if m == nil {
			continue
		}
		if p, ok := m.Prepared.(*prepared); ok {
			pre[i] = p
		} else {
			todo = append(todo, i)
		}
	}
	if len(todo) < 2 {
		return pre
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := w; k < len(todo); k += workers {
				pre[todo[k]] = r.prepare(msgs[todo[k]])
			}
		})
	}
	wg.Wait()
	return pre
}

// preparedIn is what was prepared for m, the batch's message being routed
// (out.cur); when nothing was, it is worked out now, once.
func (r *Router) preparedIn(m *store.Message, out *outcome) *prepared {
	here := out.cur < len(out.pre)
	if here && out.pre[out.cur] != nil {
		return out.pre[out.cur]
	}
	p := r.prepare(m)
	if p == nil { // not a customer's message by its status; routed as one all the same
		p = &prepared{lang: DetectLang(m.Subject + "\n" + m.Text)}
	}
	if here {
		out.pre[out.cur] = p
	}
	return p
}
