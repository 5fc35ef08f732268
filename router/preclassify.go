package router

import (
	"runtime"
	"sync"

	"complaintbot/store"
)

// Prepare classifies m and detects its language ahead of Deliver, for a
// source that calls it on its own parallel workers right after normalising
// (as the daemon's IMAP inboxes do): Deliver then finds the results in
// m.Prepared and does not work them out again inside its transaction. It
// is safe for concurrent use; a message that is not a customer's (noise,
// quarantine) is left as it is.
func (r *Router) Prepare(m *store.Message) {
	if !classifiable(m) {
		return
	}
	p := &prepared{lang: DetectLang(m.Subject + "\n" + m.Text)}
	if r.classifier != nil {
		p.cls, p.classified = r.classify(m)
	}
	m.Prepared = p
}

// prepared is what Prepare leaves in store.Message.Prepared.
type prepared struct {
	lang       string // DetectLang of subject and text
	cls        Classification
	classified bool
}

// messageLang is DetectLang of m's subject and text, as prepared when it
// was.
func messageLang(m *store.Message) string {
	if p, ok := m.Prepared.(*prepared); ok {
		return p.lang
	}
	return DetectLang(m.Subject + "\n" + m.Text)
}

// classifiable reports whether m is a customer's message worth classifying.
func classifiable(m *store.Message) bool {
	return m != nil && m.Direction == store.DirectionIn && m.Status != store.StatusIgnored && m.Status != store.StatusQuarantined
}

// preclassify runs the classifier on the batch's customer messages before
// the store transaction, on all CPUs: classification is pure and is the
// most expensive step of routing, and the store has a single writer, so
// doing it outside the transaction shortens the time other writers (the
// outbox, the scheduler) wait. Messages that turn out to be follow-ups
// simply leave their result unused. Nil without a classifier.
func (r *Router) preclassify(msgs []*store.Message) []*Classification {
	if r.classifier == nil {
		return nil
	}
	pre := make([]*Classification, len(msgs))
	var todo []int // classifiable and not prepared
	for i, m := range msgs {
		if !classifiable(m) {
			continue
		}
		if p, ok := m.Prepared.(*prepared); ok && p.classified {
			pre[i] = &p.cls
		} else {
			todo = append(todo, i)
		}
	}
	if len(todo) < 2 {
		return pre // one message is classified in the transaction
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := w; k < len(todo); k += workers {
				if cls, ok := r.classify(msgs[todo[k]]); ok {
					pre[todo[k]] = &cls
				}
			}
		})
	}
	wg.Wait()
	return pre
}

// classifyIn is classify, using the result computed before the transaction
// when there is one.
func (r *Router) classifyIn(m *store.Message, out *outcome) (Classification, bool) {
	if out.cur < len(out.pre) && out.pre[out.cur] != nil {
		return *out.pre[out.cur], true
	}
	return r.classify(m)
}
