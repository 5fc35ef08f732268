package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"complaintbot/store"
)

// assignedRow is an owner notification as the router makes it, with a
// customer who wrote hostile markup.
func assignedRow(lang, tier string) *store.Notification {
	return &store.Notification{
		Kind:    KindAssigned,
		Channel: store.ChannelEmail,
		Lang:    lang,
		To:      store.Address{Name: "Rasa Kazlauskienė", Email: "rasa@acme.test"},
		Data: map[string]string{
			"number":          "C-2026-000123",
			"due":             "2026-11-29T14:00:00Z",
			"customer_name":   `Eve <script>alert(1)</script>`,
			"subject":         "Broken <b>kettle</b>",
			DataCustomerEmail: "eve@customer.test",
			DataCustomerLang:  "en",
			DataCategory:      "quality",
			DataCause:         "objective",
			DataAmount:        "120.50",
			DataCurrency:      "EUR",
			DataTier:          tier,
			DataApprover:      "Tomas Vaitkus",
			DataWants:         "refund,apology",
			DataReason:        "category quality -> team quality; fewest open complaints (0)",
			DataText:          "The kettle <img src=x onerror=alert(1)> broke.\r\n\r\n\r\n\r\nRefund & apology, please.\x00",
		},
	}
}

func TestRenderAssignedLanguagesAndTiers(t *testing.T) {
	tiers := map[string]map[string]string{
		"en": {"frontline": "you may settle this at once", "head": "needs approval by the head of department (Tomas Vaitkus)",
			"top": "needs approval by top management (Tomas Vaitkus)"},
		"ru": {"frontline": "вы можете урегулировать её сразу", "head": "требуется согласование руководителя отдела (Tomas Vaitkus)",
			"top": "требуется согласование высшего руководства (Tomas Vaitkus)"},
		"lt": {"frontline": "galite jį išspręsti iš karto", "head": "reikia skyriaus vadovo pritarimo (Tomas Vaitkus)",
			"top": "reikia aukščiausiosios vadovybės pritarimo (Tomas Vaitkus)"},
	}
	due := map[string]string{"en": "29 November 2026, 16:00 (Europe/Vilnius)", "ru": "29.11.2026 16:00 (Europe/Vilnius)",
		"lt": "2026-11-29 16:00 (Europe/Vilnius)"}
	for lang, byTier := range tiers {
		for tier, want := range byTier {
			t.Run(lang+"/"+tier, func(t *testing.T) {
				r, err := RenderWith(assignedRow(lang, tier), RenderOptions{Location: vilnius, CompanyName: "Acme"})
				if err != nil {
					t.Fatal(err)
				}
				if r.Lang != lang {
					t.Errorf("Lang = %q", r.Lang)
				}
				assertInOrder(t, "text", r.Text, []string{"Rasa Kazlauskienė", "C-2026-000123",
					"eve@customer.test", "quality", "objective", "120.50 EUR", want, "refund, apology", due[lang],
					"category quality -> team quality", "> The kettle <img src=x onerror=alert(1)> broke.\n>\n> Refund & apology, please."})
				assertInOrder(t, "html", r.HTML, []string{"C-2026-000123", "120.50 EUR", want, due[lang],
					"The kettle &lt;img src=x onerror=alert(1)&gt; broke.\n\nRefund &amp; apology, please."})
				for _, bad := range []string{"<script>", "<img", "<b>kettle", "\x00"} {
					if strings.Contains(r.HTML, bad) {
						t.Errorf("HTML part carries %q unescaped", bad)
					}
				}
				if !strings.Contains(r.Subject, "C-2026-000123") || strings.ContainsAny(r.Subject, "\r\n") {
					t.Errorf("Subject = %q", r.Subject)
				}
				if tier == "frontline" && strings.Contains(r.Subject, "(") {
					t.Errorf("a frontline subject mentions approval: %q", r.Subject)
				}
			})
		}
	}
}

func TestRenderAssignedTrimsAndFlags(t *testing.T) {
	n := assignedRow("en", "head")
	n.Data[DataText] = strings.Repeat("долгий текст ", 1000)
	n.Data[DataFlag] = "4 complaints from this customer within 720h0m0s"
	delete(n.Data, DataAmount)
	delete(n.Data, DataApprover)
	r, err := RenderWith(n, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	quoted := r.Text[strings.Index(r.Text, "> долгий"):]
	if n := len([]rune(quoted)); n > maxQuotedRunes+200 {
		t.Errorf("quoted text is %d runes, want about %d", n, maxQuotedRunes)
	}
	if !strings.Contains(r.Text, " […]") || !strings.Contains(r.Text, "no amount named") ||
		!strings.Contains(r.Text, "needs approval by the head of department\n") {
		t.Errorf("text:\n%s", r.Text)
	}
	assertInOrder(t, "text", r.Text, []string{"Please look at the history", "4 complaints", "not a finding"})
	delete(n.Data, "number")
	if _, err := RenderWith(n, RenderOptions{}); err == nil {
		t.Error("an assigned row without a number rendered")
	}
}

// TestComposeStaffMail: a staff notification is auto-generated, not a
// reply, and never threaded into the customer's conversation even if the
// row names messages.
func TestComposeStaffMail(t *testing.T) {
	n := assignedRow("en", "frontline")
	n.MessageID = "c1.abc.def@acme.test"
	n.InReplyTo = "orig-1@customer.test"
	n.References = []string{"orig-1@customer.test"}
	r, err := Render(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Compose(n, r, testFrom, time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	p := parseMessage(t, raw)
	if got := p.header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q, want auto-generated", got)
	}
	if p.header.Get("In-Reply-To") != "" || p.header.Get("References") != "" {
		t.Errorf("staff mail threaded: In-Reply-To %q References %q", p.header.Get("In-Reply-To"), p.header.Get("References"))
	}
	if !strings.Contains(p.header.Get("To"), "rasa@acme.test") {
		t.Errorf("To = %q", p.header.Get("To"))
	}
}

// TestSendAssignedKeepsConversationClean: once sent, the row and an
// "assigned_sent" event record it; the complaint's messages do not grow.
func TestSendAssignedKeepsConversationClean(t *testing.T) {
	rec := &relay{}
	addr := serveRelay(t, "127.0.0.1:0", rec)
	st := openStore(t)
	row := assignedRow("lt", "top")
	err := st.Update(context.Background(), func(tx store.Tx) error {
		c := &store.Complaint{Stage: store.StageRegistered}
		if err := tx.PutComplaint(c); err != nil {
			return err
		}
		row.ComplaintID = c.ID
		return tx.PutNotification(row)
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, newNotifier(t, testOptions(st, addr)))
	eventually(t, "the row marked sent", func() bool { return statusOf(t, st, row.ID) == store.NotifySent })
	if msgs := rec.messages(); len(msgs) != 1 || msgs[0].To != "rasa@acme.test" {
		t.Fatalf("relay got %+v", msgs)
	}
	if ms := messagesOf(t, st, row.ComplaintID); len(ms) != 0 {
		t.Errorf("staff mail recorded as %d message(s) of the conversation", len(ms))
	}
	evs := eventsOf(t, st, row.ComplaintID)
	if len(evs) != 1 || evs[0].Kind != "assigned_sent" || evs[0].Fields["to"] != "rasa@acme.test" {
		t.Errorf("events = %+v", evs)
	}
}

func TestCleanBodyText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a\r\nb\rc", "a\nb\nc"},
		{"\n\n  a  \n\n\n\nb\n\n", "a\n\nb"},
		{"a\x00b\x1b[31mc\u2028d", "a b [31mc d"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := cleanBodyText(tt.in, 100); got != tt.want {
			t.Errorf("cleanBodyText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := cleanBodyText("abcdef", 3); got != "abc […]" {
		t.Errorf("cut = %q", got)
	}
}
