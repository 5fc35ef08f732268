package router

import (
	"runtime"
	"sync"

	"complaintbot/store"
)

// preclassify runs the classifier on the batch's customer messages before
// the store transaction, on all CPUs: classification is pure and is the
// most expensive step of routing, and the store has a single writer, so
// doing it outside the transaction shortens the time other writers (the
// outbox, the scheduler) wait. Messages that turn out to be follow-ups
// simply leave their result unused. Nil without a classifier.
func (r *Router) preclassify(msgs []*store.Message) []*Classification {
	if r.classifier == nil || len(msgs) < 2 {
		return nil
	}
	pre := make([]*Classification, len(msgs))
	workers := min(runtime.GOMAXPROCS(0), len(msgs))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(msgs); i += workers {
				m := msgs[i]
				if m == nil || m.Direction != store.DirectionIn || m.Status == store.StatusIgnored || m.Status == store.StatusQuarantined {
					continue
				}
				if cls, ok := r.classify(m); ok {
					pre[i] = &cls
				}
			}
		}()
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
