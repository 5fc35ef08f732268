package router

import (
	"strings"
	"testing"
)

// TestStrangerPressAnsweredOnTheButton: a press by someone who is not staff
// is answered, once, with the refusal as an alert on the button itself (and
// still recorded and told in the chat); a stranger's typed command has no
// press to answer.
func TestStrangerPressAnsweredOnTheButton(t *testing.T) {
	f, number := linkFixture(t)
	press := tg(666, "ru", "")
	press.Headers[hdrTelegramCallback] = callbackPrefix + "take:" + number
	press.Headers[hdrTelegramCallbackID] = "cb-1"
	cmd := tg(667, "en", "/take "+number)
	f.deliver(press, cmd)

	text, alert := f.r.CallbackAnswer("cb-1")
	if !alert || !strings.Contains(text, "сотрудникам") {
		t.Errorf("answer to the press = %q, alert %v; want the Russian refusal as an alert", text, alert)
	}
	if text, _ := f.r.CallbackAnswer("cb-1"); text != "" {
		t.Errorf("the answer was given twice: %q", text)
	}
	if text, _ := f.r.CallbackAnswer("unknown"); text != "" {
		t.Errorf("an unknown press got %q", text)
	}
	if got := f.lastChatText(667); !strings.Contains(got, "only for staff") {
		t.Errorf("the typed command's refusal in the chat = %q", got)
	}
}

// TestAnswersBounded: answers nobody collects do not pile up: past
// maxAnswers the uncollected ones are dropped, the newest batch kept.
func TestAnswersBounded(t *testing.T) {
	var a answers
	batch := map[string]callbackAnswer{}
	for i := range maxAnswers {
		batch[string(rune('a'+i%26))+strings.Repeat("x", i)] = callbackAnswer{text: "old"}
	}
	a.add(batch)
	a.add(map[string]callbackAnswer{"new": {text: "fresh", alert: true}})
	if len(a.m) != 1 || a.m["new"].text != "fresh" {
		t.Errorf("after overflowing: %d answers kept, new = %+v; want only the newest batch", len(a.m), a.m["new"])
	}
}
