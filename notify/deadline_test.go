package notify

import (
	"strings"
	"testing"
	"time"

	"complaintbot/store"
)

// deadlineRow is a reminder, escalation or delay as router's scheduler
// makes it, with a customer who wrote hostile markup.
func deadlineRow(kind, lang string) *store.Notification {
	n := &store.Notification{
		Kind:    kind,
		Channel: store.ChannelEmail,
		Lang:    lang,
		To:      store.Address{Name: "Rasa", Email: "rasa@acme.test"},
		Data: map[string]string{
			"number":          "C-2026-000123",
			"due":             "2026-03-30T07:00:00Z",
			"stage":           store.StageRegistered,
			"customer_name":   `Eve <script>alert(1)</script>`,
			"subject":         "Broken <b>kettle</b>",
			"customer_email":  "eve@customer.test",
			"left_minutes":    "200",
			"overdue_minutes": "65",
			"owner":           "Anna",
			"priority":        "high",
			"round":           "2",
			"old_due":         "2026-03-27T14:00:00Z",
		},
	}
	if kind == KindDelay {
		n.To = store.Address{Name: "Eve", Email: "eve@customer.test"}
		n.Subject = "Re: Broken kettle [C-2026-000123]"
		n.InReplyTo = "orig-1@customer.test"
		n.References = []string{"orig-1@customer.test", "c1.ack.mac@acme.test"}
	}
	return n
}

func TestRenderDeadlineKinds(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Vilnius")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind, lang string
		want       []string // in the text part
		subject    string   // contained in the subject
	}{
		{KindReminder, "en", []string{"Hello Rasa,", "first answer", "3 h 20 min of business hours", "30 March 2026, 10:00 (Europe/Vilnius)", "Priority:   high"}, "Reminder: complaint C-2026-000123, 3 h 20 min left"},
		{KindReminder, "ru", []string{"Здравствуйте, Rasa!", "первый ответ", "3 ч 20 мин рабочего времени", "30.03.2026 10:00", "высокий"}, "осталось 3 ч 20 мин"},
		{KindReminder, "lt", []string{"pirmas atsakymas", "3 val. 20 min. darbo laiko", "2026-03-30 10:00", "aukštas"}, "liko 3 val. 20 min."},
		{KindEscalation, "en", []string{"has passed, and the new date given to the customer has passed too (notice 2)", "1 h 5 min of business hours", "Owner:      Anna", "told of the delay"}, "Deadline missed: complaint C-2026-000123 (first answer), owner Anna"},
		{KindEscalation, "ru", []string{"1 ч 5 мин", "Ответственный:  Anna", "Клиенту сообщается"}, "Срок пропущен"},
		{KindEscalation, "lt", []string{"1 val. 5 min.", "Atsakingas:  Anna", "Klientui pranešama"}, "Praleistas terminas"},
		{KindDelay, "en", []string{"Dear Eve <script>alert(1)</script>,", "by 27 March 2026, 16:00 (Europe/Vilnius)", "We will get back to you by 30 March 2026, 10:00", "senior colleague"}, "Re: Broken kettle [C-2026-000123]"},
		{KindDelay, "ru", []string{"до 27.03.2026 16:00", "Мы ответим вам до 30.03.2026 10:00", "Приносим извинения"}, "Re: Broken kettle"},
		{KindDelay, "lt", []string{"iki 2026-03-27 16:00", "Atsakysime Jums iki 2026-03-30 10:00", "Atsiprašome"}, "Re: Broken kettle"},
	} {
		t.Run(tc.kind+"."+tc.lang, func(t *testing.T) {
			r, err := RenderWith(deadlineRow(tc.kind, tc.lang), RenderOptions{Location: loc, CompanyName: "Acme"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Lang != tc.lang {
				t.Errorf("rendered in %s", r.Lang)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, r.Text)
				}
			}
			if !strings.Contains(r.Subject, tc.subject) {
				t.Errorf("subject %q lacks %q", r.Subject, tc.subject)
			}
			if strings.Contains(r.HTML, "<script>") || strings.Contains(r.HTML, "<b>kettle") {
				t.Errorf("customer markup not escaped in HTML:\n%s", r.HTML)
			}
		})
	}
}

// TestDelayAnalysisWording: a slipped analysis is explained as such.
func TestDelayAnalysisWording(t *testing.T) {
	n := deadlineRow(KindDelay, "en")
	n.Data["stage"] = store.StageAnalysis
	r, err := Render(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "Looking into your complaint is taking longer") || strings.Contains(r.Text, "senior colleague") {
		t.Errorf("analysis delay wording:\n%s", r.Text)
	}
}

// TestComposeDeadlineMail: reminders and escalations are auto-generated
// staff mail outside the customer's thread; the delay notice is an
// automatic reply threaded into the customer's conversation.
func TestComposeDeadlineMail(t *testing.T) {
	for _, tc := range []struct {
		kind      string
		auto      string
		threaded  bool
		staffKind bool
	}{
		{KindReminder, "auto-generated", false, true},
		{KindEscalation, "auto-generated", false, true},
		{KindDelay, "auto-replied", true, false},
	} {
		n := deadlineRow(tc.kind, "en")
		n.MessageID = "c1.xyz.mac@acme.test"
		n.InReplyTo, n.References = "orig-1@customer.test", []string{"orig-1@customer.test"}
		r, err := Render(n, nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := Compose(n, r, testFrom, time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		p := parseMessage(t, raw)
		if got := p.header.Get("Auto-Submitted"); got != tc.auto {
			t.Errorf("%s: Auto-Submitted = %q, want %q", tc.kind, got, tc.auto)
		}
		if threaded := p.header.Get("In-Reply-To") != ""; threaded != tc.threaded {
			t.Errorf("%s: threaded = %v, want %v", tc.kind, threaded, tc.threaded)
		}
		if IsStaffKind(tc.kind) != tc.staffKind {
			t.Errorf("IsStaffKind(%s) = %v", tc.kind, !tc.staffKind)
		}
	}
}

func TestRenderDeadlineNeedsDue(t *testing.T) {
	for _, kind := range []string{KindReminder, KindEscalation, KindDelay} {
		n := deadlineRow(kind, "en")
		delete(n.Data, "due")
		if _, err := Render(n, nil); err == nil || !strings.Contains(err.Error(), `"due"`) {
			t.Errorf("%s without due: %v", kind, err)
		}
	}
}

func TestFormatMinutes(t *testing.T) {
	for _, tc := range []struct{ in, lang, want string }{
		{"0", "en", "0 min"},
		{"45", "en", "45 min"},
		{"60", "ru", "1 ч"},
		{"200", "lt", "3 val. 20 min."},
		{"2700", "en", "45 h"},
		{"-5", "en", ""},
		{"x", "en", ""},
		{"", "ru", ""},
		{"61", "de", "1 h 1 min"},
	} {
		if got := formatMinutes(tc.in, tc.lang); got != tc.want {
			t.Errorf("formatMinutes(%q, %s) = %q, want %q", tc.in, tc.lang, got, tc.want)
		}
	}
}

func TestDeadlineTemplatesComplete(t *testing.T) {
	for _, kind := range []string{KindReminder, KindEscalation, KindDelay} {
		for _, lang := range []string{"en", "ru", "lt"} {
			set, ok := templates[kind+"."+lang]
			if !ok {
				t.Errorf("no %s template for %s", kind, lang)
				continue
			}
			if set.text.Lookup("subject") == nil || set.text.Lookup("text") == nil || set.html.Lookup("html") == nil {
				t.Errorf("%s.%s lacks subject, text or html", kind, lang)
			}
		}
	}
}

// TestRenderDeadlineKindsForTelegram: a reminder or escalation queued in a
// staff member's Telegram chat renders (from the email text, escaped) in
// their language with the number and the time left or overdue.
func TestRenderDeadlineKindsForTelegram(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Vilnius")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind, lang string
		want       []string
	}{
		{KindReminder, "ru", []string{"C-2026-000123", "3 ч 20 мин"}},
		{KindEscalation, "lt", []string{"C-2026-000123", "1 val. 5 min.", "Anna"}},
	} {
		n := deadlineRow(tc.kind, tc.lang)
		n.Channel, n.TelegramChatID = store.ChannelTelegram, 7001
		got, err := RenderTelegram(n, RenderOptions{Location: loc, CompanyName: "Acme"})
		if err != nil {
			t.Fatalf("%s: %v", tc.kind, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(got.Plain, w) {
				t.Errorf("%s.%s lacks %q:\n%s", tc.kind, tc.lang, w, got.Plain)
			}
		}
		if got.Lang != tc.lang || strings.Contains(got.HTML, "<script>") {
			t.Errorf("%s: lang %s; HTML not escaped: %s", tc.kind, got.Lang, got.HTML)
		}
	}
}
