package notify

import (
	"strings"
	"testing"

	"complaintbot/store"
)

// The owner's Telegram card shows the summary in the owner's language with
// the customer's text escaped for Telegram's HTML.
func TestRenderTelegramAssignedCard(t *testing.T) {
	for _, tc := range []struct{ lang, want string }{
		{"en", "Complaint C-2026-000007 is yours"},
		{"ru", "Обращение C-2026-000007 назначено вам"},
		{"lt", "Kreipimasis C-2026-000007 priskirtas Jums"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			n := &store.Notification{Kind: KindAssigned, Channel: store.ChannelTelegram, Lang: tc.lang, TelegramChatID: 5,
				Data: map[string]string{"number": "C-2026-000007", "customer_name": "Ann <b>", "category": "delivery",
					"amount": "150", "currency": "EUR", "tier": "head", "due": "2026-03-14T13:30:00Z",
					"text": "Parcel <script>alert(1)</script> & broken"}}
			got, err := RenderTelegram(n, RenderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{tc.want, "delivery", "150 EUR", "Ann &lt;b&gt;", "&lt;script&gt;", "&amp; broken", "<blockquote>"} {
				if !strings.Contains(got.HTML, want) {
					t.Errorf("card lacks %q:\n%s", want, got.HTML)
				}
			}
			if strings.Contains(got.HTML, "<script>") {
				t.Errorf("customer text not escaped:\n%s", got.HTML)
			}
		})
	}
}

// The link code mail carries the code and the complaint number, in each
// language, and is not sent without a code.
func TestRenderLinkCode(t *testing.T) {
	for _, lang := range []string{"en", "ru", "lt"} {
		n := &store.Notification{Kind: "link_code", Lang: lang, To: store.Address{Email: "a@example.com"},
			Data: map[string]string{"number": "C-2026-000001", "code": "042917"}}
		r, err := Render(n, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Text, "/link 042917") || !strings.Contains(r.HTML, "/link 042917") || !strings.Contains(r.Subject, "C-2026-000001") {
			t.Errorf("%s: code or number missing: %q\n%s", lang, r.Subject, r.Text)
		}
	}
	if _, err := Render(&store.Notification{Kind: "link_code", Data: map[string]string{"number": "C-2026-000001"}}, nil); err == nil {
		t.Error("a link_code mail without a code rendered")
	}
}
