package router

import (
	"sync"
	"unicode/utf8"

	"complaintbot/store"
)

// hdrTelegramCallbackID is the header ingest puts the callback query's id
// in (ingest.HeaderTelegramCallbackID).
const hdrTelegramCallbackID = "X-Telegram-Callback-ID"

// maxAnswers bounds the answers kept for a source that never collects
// them; past it those not collected yet are dropped (their presses then
// just stop spinning, as without an answer).
const maxAnswers = 1000

// callbackAnswer is what a user who pressed a button is shown by the
// answer to the press: a short notice, or a dialog when alert is set.
type callbackAnswer struct {
	text  string
	alert bool
}

// answers holds the answers decided by committed batches until the source
// that delivered them collects them (CallbackAnswer). Safe for concurrent
// use.
type answers struct {
	mu sync.Mutex
	m  map[string]callbackAnswer
}

// add keeps the answers of a committed batch.
func (a *answers) add(batch map[string]callbackAnswer) {
	if len(batch) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil || len(a.m)+len(batch) > maxAnswers {
		a.m = make(map[string]callbackAnswer, len(batch))
	}
	for id, ans := range batch {
		a.m[id] = ans
	}
}

// CallbackAnswer returns, once, the text (and whether to show it as an
// alert) for the button press callbackID of a batch Deliver committed: a
// stranger's press is answered "only for staff" on the button itself.
// "" means nothing to say. ingest's Telegram source calls it (through
// ingest.CallbackAnswerer) when it answers the presses of a batch.
func (r *Router) CallbackAnswer(callbackID string) (text string, alert bool) {
	a := &r.answers
	a.mu.Lock()
	defer a.mu.Unlock()
	ans, ok := a.m[callbackID]
	if !ok {
		return "", false
	}
	delete(a.m, callbackID)
	return ans.text, ans.alert
}

// answerPress records, for the batch being routed, the answer to m's
// button press (nothing when m is not one). Telegram shows at most 200
// characters.
func (o *outcome) answerPress(m *store.Message, text string, alert bool) {
	id := m.Headers[hdrTelegramCallbackID]
	if id == "" {
		return
	}
	if utf8.RuneCountInString(text) > 200 {
		text = string([]rune(text)[:199]) + "…"
	}
	if o.answers == nil {
		o.answers = map[string]callbackAnswer{}
	}
	o.answers[id] = callbackAnswer{text: text, alert: alert}
}
