package notify

import (
	"strings"
	"testing"
	"time"

	"complaintbot/store"
)

func replyRow(lang, text string) *store.Notification {
	return &store.Notification{ID: 9, ComplaintID: 3, Kind: KindReply, Lang: lang, Channel: store.ChannelEmail,
		To:      store.Address{Name: "Ivan", Email: "ivan@customer.test"},
		Subject: "Re: Broken kettle [C-2026-000123]",
		Data:    map[string]string{"number": "C-2026-000123", "text": text, "staff_name": "Anna <Support>"}}
}

func TestRenderReply(t *testing.T) {
	for lang, footer := range map[string]string{
		"en": "To add anything, reply to this email",
		"ru": "Чтобы что-то добавить, ответьте",
		"lt": "Norėdami ką nors papildyti",
	} {
		r, err := RenderWith(replyRow(lang, "Dear Ivan,\r\nyour <b>kettle</b> & lid are on the way.\x07"), RenderOptions{Location: time.UTC, CompanyName: "Acme"})
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if r.Subject != "Re: Broken kettle [C-2026-000123]" || r.Lang != lang {
			t.Errorf("%s: subject %q lang %q", lang, r.Subject, r.Lang)
		}
		for _, want := range []string{"Dear Ivan,\nyour <b>kettle</b> & lid are on the way.", "Anna <Support>", footer, "C-2026-000123"} {
			if !strings.Contains(r.Text, want) {
				t.Errorf("%s: text lacks %q:\n%s", lang, want, r.Text)
			}
		}
		for _, want := range []string{"your &lt;b&gt;kettle&lt;/b&gt; &amp; lid", "Anna &lt;Support&gt;", "C-2026-000123"} {
			if !strings.Contains(r.HTML, want) {
				t.Errorf("%s: html lacks %q:\n%s", lang, want, r.HTML)
			}
		}
		if strings.Contains(r.HTML, "<b>kettle") || strings.Contains(r.Text, "\x07") {
			t.Errorf("%s: staff text not escaped or cleaned", lang)
		}
	}
	if _, err := Render(replyRow("en", " "), time.UTC); err == nil {
		t.Error("a reply without text rendered")
	}
	if got := autoSubmitted(KindReply); got != "no" {
		t.Errorf("Auto-Submitted of a person's reply = %q", got)
	}
}
