package router

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"complaintbot/store"
)

// tgSeq numbers the test's Telegram messages.
var tgSeq int

// tg is a customer's private-chat message as ingest makes it.
func tg(user int64, lang, text string) *store.Message {
	tgSeq++
	id := fmt.Sprintf("tg-%d-%d", user, tgSeq)
	sum := sha256.Sum256([]byte(id + text))
	m := &store.Message{Channel: store.ChannelTelegram, MessageID: id, TelegramChatID: user, TelegramUserID: user,
		From: store.Address{Name: fmt.Sprintf("User %d", user)}, Text: text, Subject: firstLine(text),
		Headers: map[string]string{hdrTelegramLang: lang}, Status: store.StatusRecorded,
		ContentHash: hex.EncodeToString(sum[:]), ReceivedAt: time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)}
	if strings.HasPrefix(text, "/") {
		cmd, args, _ := strings.Cut(text, " ")
		m.Headers[hdrTelegramCommand] = cmd
		if args != "" {
			m.Headers[hdrTelegramCommandArgs] = args
		}
	}
	return m
}

// chatTexts are the texts queued to a chat, oldest first.
func (f *fixture) chatTexts(chat int64) []string {
	var out []string
	for _, n := range f.notifications() {
		if n.Channel == store.ChannelTelegram && n.TelegramChatID == chat {
			out = append(out, n.Kind+": "+n.Data["text"])
		}
	}
	return out
}

func (f *fixture) lastChatText(chat int64) string {
	t := f.chatTexts(chat)
	if len(t) == 0 {
		return ""
	}
	return t[len(t)-1]
}

// linkCode reads the code of the newest link_code row.
func (f *fixture) linkCode() string {
	code := ""
	for _, n := range f.notifications() {
		if n.Kind == KindLinkCode {
			code = n.Data["code"]
		}
	}
	return code
}

func (f *fixture) telegramCustomer(user int64) *store.Customer {
	var c *store.Customer
	f.view(func(tx store.Tx) error {
		var err error
		c, err = tx.CustomerByTelegram(user)
		if err != nil {
			c = nil
		}
		return nil
	})
	return c
}

// linkFixture has an email customer with complaint number and a Telegram
// user 500 who knows it.
func linkFixture(t *testing.T) (*fixture, string) {
	f := newFixture(t, nil)
	f.deliver(mail("Jane", "jane@example.com", "j1@example.com", "Broken kettle", "My kettle broke."))
	return f, f.onlyComplaint().Number
}

func TestTelegramLinkRules(t *testing.T) {
	t.Run("the code links; the number alone does not", func(t *testing.T) {
		f, number := linkFixture(t)
		f.deliver(tg(500, "en", "About "+number+": what is its state?"))
		if c := f.telegramCustomer(500); c == nil || len(c.Emails) != 0 {
			t.Fatalf("quoting the number linked: %+v", c)
		}
		f.deliver(tg(500, "en", "/link "+number))
		code := f.linkCode()
		if len(code) != 6 || !strings.Contains(f.lastChatText(500), "If that complaint is yours") {
			t.Fatalf("code %q, answer %q", code, f.lastChatText(500))
		}
		f.deliver(tg(500, "en", "/link "+code))
		c := f.telegramCustomer(500)
		if c == nil || c.Emails[0] != "jane@example.com" {
			t.Fatalf("not linked: %+v", c)
		}
		var moved int
		f.view(func(tx store.Tx) error {
			cs, _ := tx.ComplaintsOfCustomer(c.ID)
			moved = len(cs)
			return nil
		})
		if moved != 2 { // Jane's email complaint and the Telegram one
			t.Errorf("linked customer has %d complaints, want 2", moved)
		}
	})
	t.Run("another chat cannot use the code", func(t *testing.T) {
		f, number := linkFixture(t)
		f.deliver(tg(500, "en", "/link "+number))
		f.deliver(tg(501, "en", "/link "+f.linkCode()))
		if c := f.telegramCustomer(501); len(c.Emails) != 0 {
			t.Fatalf("another chat linked with the code: %+v", c)
		}
		if !strings.Contains(f.lastChatText(501), "no valid code") {
			t.Errorf("answer = %q", f.lastChatText(501))
		}
	})
	t.Run("five wrong codes void it", func(t *testing.T) {
		f, number := linkFixture(t)
		f.deliver(tg(500, "en", "/link "+number))
		code := f.linkCode()
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for range maxLinkAttempts {
			f.deliver(tg(500, "en", "/link "+wrong))
		}
		f.deliver(tg(500, "en", "/link "+code))
		if c := f.telegramCustomer(500); len(c.Emails) != 0 {
			t.Fatalf("linked after %d wrong codes", maxLinkAttempts)
		}
	})
	t.Run("an expired code does not link", func(t *testing.T) {
		f, number := linkFixture(t)
		f.deliver(tg(500, "en", "/link "+number))
		code := f.linkCode()
		f.clock.Add(LinkCodeTTL + time.Second)
		f.deliver(tg(500, "en", "/link "+code))
		if c := f.telegramCustomer(500); len(c.Emails) != 0 {
			t.Fatal("linked with an expired code")
		}
	})
	t.Run("requests are capped per chat and codes per complaint", func(t *testing.T) {
		f, number := linkFixture(t)
		for range 5 {
			f.deliver(tg(500, "en", "/link "+number))
		}
		codes := 0
		for _, n := range f.notifications() {
			if n.Kind == KindLinkCode {
				codes++
			}
		}
		if codes != maxLinkCodesHourly {
			t.Errorf("%d codes mailed, want %d", codes, maxLinkCodesHourly)
		}
		if !strings.Contains(f.lastChatText(500), "Too many") {
			t.Errorf("answer = %q", f.lastChatText(500))
		}
	})
	t.Run("an unknown number gets the same answer", func(t *testing.T) {
		f, _ := linkFixture(t)
		f.deliver(tg(500, "en", "/link C-2026-999999"))
		if f.linkCode() != "" || !strings.Contains(f.lastChatText(500), "If that complaint is yours") {
			t.Errorf("code %q, answer %q", f.linkCode(), f.lastChatText(500))
		}
	})
}

func TestTelegramNewAndStatus(t *testing.T) {
	f := newFixture(t, nil)
	f.deliver(tg(600, "ru", "Посылка пришла разбитой"))
	f.deliver(tg(600, "ru", "/new"))
	f.deliver(tg(600, "ru", "И ещё курьер опоздал на три дня"))
	f.deliver(tg(600, "ru", "Фото приложу позже"))
	f.deliver(tg(700, "en", "My order is late"))
	cs := f.complaints()
	if len(cs) != 3 {
		t.Fatalf("complaints = %d, want 3", len(cs))
	}
	f.deliver(tg(600, "ru", "/status"))
	status := f.lastChatText(600)
	if !strings.Contains(status, cs[0].Number) || !strings.Contains(status, cs[1].Number) || strings.Contains(status, cs[2].Number) {
		t.Errorf("status of 600 = %q (complaints %s %s, other's %s)", status, cs[0].Number, cs[1].Number, cs[2].Number)
	}
	var msgs int
	f.view(func(tx store.Tx) error {
		ms, _ := tx.MessagesOf(cs[1].ID)
		msgs = len(ms)
		return nil
	})
	if msgs != 2 {
		t.Errorf("second complaint has %d messages, want 2 (the message after /new and its follow-up)", msgs)
	}
	for _, n := range f.notifications() {
		if n.Kind == KindAck && (n.Lang != "ru" && n.CustomerID == cs[0].CustomerID || n.TelegramChatID == 0) {
			t.Errorf("ack %+v: want lang ru and a chat", n)
		}
	}
}

func TestTelegramLanguageCodeFirst(t *testing.T) {
	f := newFixture(t, nil)
	f.deliver(tg(800, "lt", "Hello, my parcel never arrived"))
	if c := f.onlyComplaint(); c.Lang != "lt" {
		t.Errorf("lang = %q, want lt from language_code", c.Lang)
	}
	f.deliver(tg(801, "de", "Здравствуйте, посылка не пришла"))
	cs := f.complaints()
	if len(cs) != 2 || cs[1].Lang != "ru" {
		t.Errorf("unsupported language_code: complaints %d, lang %q, want ru from the text", len(cs), cs[len(cs)-1].Lang)
	}
}
