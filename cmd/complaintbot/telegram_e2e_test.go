package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"complaintbot/configs"
	"complaintbot/internal/fakemail"
	"complaintbot/internal/tgfake"
	"complaintbot/store"
)

// Telegram users of the end-to-end test. Private chat ids equal user ids.
const (
	tgIvan     = 1001 // ru customer
	tgRuta     = 1002 // lt customer
	tgJane     = 1003 // en customer, later linked to her email
	tgMallory  = 1004 // a stranger
	tgDmitri   = 9001 // staff (logistics, ru)
	tgPeter    = 9002 // staff (quality, en)
	tgNatalia  = 9003 // staff (quality head)
	tgLaura    = 9004 // staff (logistics head)
	tgWaitLong = 20 * time.Second
)

// tgWorld is the daemon with the demo mail world and a Telegram fake.
type tgWorld struct {
	t      *testing.T
	env    *demoEnv
	tg     *tgfake.Server
	d      *daemon
	dbPath string
	cfg    *configs.Config
	stop   func()
}

func startTelegramWorld(t *testing.T) *tgWorld {
	t.Helper()
	env, err := startDemoEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.close)
	tg := tgfake.New(tgfake.Options{NoRateLimit: true})
	t.Cleanup(tg.Close)
	w := &tgWorld{t: t, env: env, tg: tg, dbPath: filepath.Join(t.TempDir(), "cb.db")}
	w.cfg = telegramConfig(t, env, tg, w.dbPath)
	w.start()
	return w
}

func (w *tgWorld) start() {
	d, err := newDaemon(w.cfg, daemonDeps{Logger: newLogger(testWriter{w.t}, "info", "text"), TelegramPerChat: 10 * time.Millisecond})
	if err != nil {
		w.t.Fatal(err)
	}
	w.d = d
	w.stop = runDaemon(w.t, context.Background(), d)
}

// telegramConfig is the demo config with the bot on and staff ids.
func telegramConfig(t *testing.T, env *demoEnv, tg *tgfake.Server, dbPath string) *configs.Config {
	t.Helper()
	staff := demoStaff
	for id, tid := range map[string]int{"dmitri": tgDmitri, "peter": tgPeter, "natalia": tgNatalia, "laura": tgLaura} {
		staff = strings.Replace(staff, "{id: "+id+",", fmt.Sprintf("{id: %s, telegram_id: %d,", id, tid), 1)
	}
	extra := fmt.Sprintf("telegram: {enabled: true, token_env: TG_TOKEN, api_endpoint: %q, poll_timeout: 1s}\n", tg.URL()) + staff
	cfg, err := worldConfig(env, dbPath, extra, map[string]string{"TG_TOKEN": tg.Token()})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// waitSent waits for the n-th message to chat and returns all so far.
func (w *tgWorld) waitSent(t *testing.T, chat int64, n int) []tgfake.SentMessage {
	t.Helper()
	got := w.tg.WaitSent(chat, n, tgWaitLong)
	if len(got) < n {
		t.Fatalf("chat %d: %d messages, want %d: %+v", chat, len(got), n, texts(got))
	}
	return got
}

func texts(ms []tgfake.SentMessage) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

// view runs fn over a consistent view of the daemon's store.
func (w *tgWorld) view(fn func(tx store.Tx) error) {
	w.t.Helper()
	if err := w.d.st.View(context.Background(), fn); err != nil {
		w.t.Fatal(err)
	}
}

// eventually retries cond until it holds.
func (w *tgWorld) eventually(t *testing.T, what string, cond func(tx store.Tx) bool) {
	t.Helper()
	deadline := time.Now().Add(tgWaitLong)
	for time.Now().Before(deadline) {
		ok := false
		w.view(func(tx store.Tx) error { ok = cond(tx); return nil })
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func complaintsOfTelegram(tx store.Tx, user int64) []*store.Complaint {
	cust, err := tx.CustomerByTelegram(user)
	if err != nil {
		return nil
	}
	cs, _ := tx.ComplaintsOfCustomer(cust.ID)
	return cs
}

func eventKinds(tx store.Tx, id uint64) []string {
	evs, _ := tx.Events(id)
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

var numberRE = regexp.MustCompile(`C-\d{4}-\d{6}`)

// card finds the owner's card for number in a staff chat.
func (w *tgWorld) card(t *testing.T, staffChat int64, number string) tgfake.SentMessage {
	t.Helper()
	deadline := time.Now().Add(tgWaitLong)
	for time.Now().Before(deadline) {
		for _, m := range w.tg.Sent(staffChat) {
			if m.Keyboard != nil && strings.Contains(m.Text, number) && len(m.Keyboard) == 2 {
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no card for %s in chat %d: %q", number, staffChat, texts(w.tg.Sent(staffChat)))
	return tgfake.SentMessage{}
}

func TestTelegramEndToEnd(t *testing.T) {
	w := startTelegramWorld(t)
	w.tg.SetUser(tgfake.User{ID: tgIvan, FirstName: "Иван", LanguageCode: "ru"})
	w.tg.SetUser(tgfake.User{ID: tgRuta, FirstName: "Rūta", LanguageCode: "lt"})
	w.tg.SetUser(tgfake.User{ID: tgJane, FirstName: "Jane", LanguageCode: "en"})
	w.tg.SetUser(tgfake.User{ID: tgMallory, FirstName: "Mallory"})

	t.Run("staff start the bot and get the staff help", func(t *testing.T) {
		for _, id := range []int64{tgDmitri, tgPeter, tgNatalia, tgLaura} {
			w.tg.PushCommand(id, id, "/start", "")
		}
		for _, id := range []int64{tgDmitri, tgPeter, tgNatalia, tgLaura} {
			if got := w.waitSent(t, id, 1)[0].Text; !strings.Contains(got, "staff") && !strings.Contains(got, "сотрудник") && !strings.Contains(got, "darbuotojas") {
				t.Errorf("staff %d got %q", id, got)
			}
		}
	})

	t.Run("greeting in the customer's language", func(t *testing.T) {
		w.tg.PushCommand(tgIvan, tgIvan, "/start", "ru")
		w.tg.PushCommand(tgRuta, tgRuta, "/start", "lt")
		w.tg.PushCommand(tgJane, tgJane, "/start", "en")
		for chat, want := range map[int64]string{tgIvan: "Здравствуйте, Иван", tgRuta: "Laba diena, Rūta", tgJane: "Hello, Jane"} {
			if got := w.waitSent(t, chat, 1)[0].Text; !strings.HasPrefix(got, want) || !strings.Contains(got, "/new") {
				t.Errorf("chat %d greeting = %q, want it to start %q and explain /new", chat, got, want)
			}
		}
	})

	var ivanFirst string
	t.Run("text opens a complaint acknowledged in Telegram, owner gets a card", func(t *testing.T) {
		w.tg.PushText(tgIvan, tgIvan, "Посылка пришла разбитой, заказ 55123. Прошу вернуть деньги.", "ru")
		ack := w.waitSent(t, tgIvan, 2)[1]
		ivanFirst = numberRE.FindString(ack.Text)
		if ivanFirst == "" || !strings.Contains(ack.Text, "зарегистрировали") || !strings.Contains(ack.Text, "Мы ответим вам до") {
			t.Fatalf("ack = %q", ack.Text)
		}
		card := w.card(t, tgDmitri, ivanFirst)
		if !strings.Contains(card.Text, "Посылка пришла разбитой") || card.Keyboard[0][0].Data != "a:take:"+ivanFirst {
			t.Errorf("card = %q %+v", card.Text, card.Keyboard)
		}
	})

	t.Run("follow-ups with a photo and a document join, unacknowledged", func(t *testing.T) {
		photo := bytes.Repeat([]byte{0xff, 0xd8, 0xff}, 3000)
		w.tg.PushPhoto(tgIvan, tgIvan, "вот фото коробки", photo)
		w.tg.PushDocument(tgIvan, tgIvan, "", "receipt.pdf", "application/pdf", []byte("%PDF-1.4 receipt"))
		w.eventually(t, "three messages in Ivan's complaint", func(tx store.Tx) bool {
			cs := complaintsOfTelegram(tx, tgIvan)
			if len(cs) != 1 {
				return false
			}
			msgs, _ := tx.MessagesOf(cs[0].ID)
			var in []*store.Message
			for _, m := range msgs {
				if m.Direction == store.DirectionIn {
					in = append(in, m)
				}
			}
			if len(in) != 3 {
				return false
			}
			for _, m := range in[1:] {
				if len(m.Attachments) != 1 || !m.Attachments[0].Kept {
					t.Fatalf("attachment not kept: %+v", m.Attachments)
				}
				if b, err := tx.Blob(m.Attachments[0].BlobKey); err != nil || len(b) == 0 {
					t.Fatalf("blob: %v", err)
				}
			}
			return true
		})
		time.Sleep(200 * time.Millisecond)
		if n := len(w.tg.Sent(tgIvan)); n != 2 {
			t.Errorf("Ivan got %d messages, want 2 (greeting, one ack): %q", n, texts(w.tg.Sent(tgIvan)))
		}
	})

	var ivanSecond string
	t.Run("/new opens another complaint, /status lists only the sender's", func(t *testing.T) {
		w.tg.PushCommand(tgIvan, tgIvan, "/new Курьер нагрубил мне по телефону", "ru")
		ivanSecond = numberRE.FindString(w.waitSent(t, tgIvan, 3)[2].Text)
		if ivanSecond == "" || ivanSecond == ivanFirst {
			t.Fatalf("/new ack number %q (first %q)", ivanSecond, ivanFirst)
		}
		w.tg.PushCommand(tgIvan, tgIvan, "/status", "ru")
		status := w.waitSent(t, tgIvan, 4)[3].Text
		if !strings.Contains(status, ivanFirst) || !strings.Contains(status, ivanSecond) || !strings.Contains(status, "зарегистрировано") {
			t.Errorf("Ivan's status = %q", status)
		}
		w.tg.PushCommand(tgRuta, tgRuta, "/status", "lt")
		if s := w.waitSent(t, tgRuta, 2)[1].Text; numberRE.MatchString(s) || !strings.Contains(s, "neturite") {
			t.Errorf("Rūta's status shows %q", s)
		}
	})

	t.Run("shared own contact recorded", func(t *testing.T) {
		w.tg.PushContact(tgIvan, tgIvan, "37061234567")
		w.eventually(t, "Ivan's phone", func(tx store.Tx) bool {
			c, err := tx.CustomerByTelegram(tgIvan)
			return err == nil && slices.Contains(c.Phones, "+37061234567")
		})
	})

	t.Run("staff buttons: take, note, reply to a Telegram customer", func(t *testing.T) {
		card := w.card(t, tgDmitri, ivanFirst)
		w.tg.PushCallback(tgDmitri, tgDmitri, card.MessageID, "a:take:"+ivanFirst)
		w.tg.PushCallback(tgDmitri, tgDmitri, card.MessageID, "a:note:"+ivanFirst)
		w.eventually(t, "note prompt", func(store.Tx) bool { return containsText(w.tg.Sent(tgDmitri), ivanFirst+" следующим") })
		w.tg.PushText(tgDmitri, tgDmitri, "Проверил склад: упаковка была повреждена", "ru")
		w.tg.PushCallback(tgDmitri, tgDmitri, card.MessageID, "a:reply:"+ivanFirst)
		w.eventually(t, "reply prompt", func(store.Tx) bool { return containsText(w.tg.Sent(tgDmitri), "ответ клиенту") })
		w.tg.PushText(tgDmitri, tgDmitri, "Мы вернём вам деньги в течение 3 дней.", "ru")
		reply := w.waitSent(t, tgIvan, 6)[5] // greeting, ack, ack of /new, status, phone saved, reply
		if reply.Text != "Мы вернём вам деньги в течение 3 дней." {
			t.Errorf("relayed reply = %q", reply.Text)
		}
		w.eventually(t, "events of the presses", func(tx store.Tx) bool {
			c, _ := tx.ComplaintByNumber(ivanFirst)
			kinds := eventKinds(tx, c.ID)
			return c.OwnerID == "dmitri" && slices.Contains(kinds, "note") &&
				slices.Contains(kinds, "reply_queued") && count(kinds, "telegram_action") == 3
		})
		// Another staff member takes Ivan's second complaint.
		w.tg.PushCallback(tgLaura, tgLaura, 1, "a:take:"+ivanSecond)
		w.eventually(t, "Laura owns the second complaint", func(tx store.Tx) bool {
			c, _ := tx.ComplaintByNumber(ivanSecond)
			kinds := eventKinds(tx, c.ID)
			return c.OwnerID == "laura" && count(kinds, "taken") == 1 && count(kinds, "telegram_action") == 1
		})
		if got := w.tg.Answers(); len(got) < 3 {
			t.Errorf("button presses answered: %d", len(got))
		}
	})

	t.Run("resolve through the guided prompts", func(t *testing.T) {
		w.tg.PushCallback(tgDmitri, tgDmitri, 1, "a:res:"+ivanFirst)
		w.eventually(t, "resolution kinds", func(store.Tx) bool {
			for _, m := range w.tg.Sent(tgDmitri) {
				if strings.Contains(m.Text, "Решение по "+ivanFirst) && len(m.Keyboard) > 0 && m.Keyboard[0][0].Data == "a:rk:"+ivanFirst+":refund" {
					return true
				}
			}
			return false
		})
		w.tg.PushCallback(tgDmitri, tgDmitri, 1, "a:rk:"+ivanFirst+":refund")
		w.eventually(t, "amount prompt", func(store.Tx) bool { return containsText(w.tg.Sent(tgDmitri), ivanFirst+": сумма") })
		w.tg.PushText(tgDmitri, tgDmitri, "двадцать", "ru")
		w.eventually(t, "amount refused", func(store.Tx) bool { return containsText(w.tg.Sent(tgDmitri), "Это не сумма") })
		w.tg.PushText(tgDmitri, tgDmitri, "25,50", "ru")
		w.eventually(t, "cause prompt", func(store.Tx) bool { return containsText(w.tg.Sent(tgDmitri), "первопричина") })
		w.tg.PushText(tgDmitri, tgDmitri, "Курьер уронил посылку", "ru")
		w.eventually(t, "prevention prompt", func(store.Tx) bool { return containsText(w.tg.Sent(tgDmitri), "не повторилось") })
		w.tg.PushText(tgDmitri, tgDmitri, "Усиленная упаковка для хрупких товаров", "ru")
		w.eventually(t, "resolved", func(tx store.Tx) bool {
			c, _ := tx.ComplaintByNumber(ivanFirst)
			r := c.Resolution
			return c.Stage == store.StageResolved && r != nil && r.Kind == "refund" && r.Amount == "25.50" &&
				r.RootCause == "Курьер уронил посылку" && r.Prevention == "Усиленная упаковка для хрупких товаров" && r.By == "dmitri"
		})
		w.eventually(t, "done message", func(store.Tx) bool { return containsText(w.tg.Sent(tgDmitri), "Готово: resolve "+ivanFirst) })
	})

	t.Run("a stranger's press is refused and recorded", func(t *testing.T) {
		w.tg.PushCallback(tgMallory, tgMallory, 1, "a:take:"+ivanSecond)
		refusal := w.waitSent(t, tgMallory, 1)[0]
		if !strings.Contains(refusal.Text, "only for staff") {
			t.Errorf("refusal = %q", refusal.Text)
		}
		w.eventually(t, "the press answered with the refusal", func(store.Tx) bool {
			for _, a := range w.tg.Answers() {
				if a.ShowAlert && strings.Contains(a.Text, "only for staff") {
					return true
				}
			}
			return false
		})
		w.eventually(t, "refusal event", func(tx store.Tx) bool {
			c, _ := tx.ComplaintByNumber(ivanSecond)
			evs, _ := tx.Events(c.ID)
			for _, e := range evs {
				if e.Kind == "staff_action_refused" && e.Fields["telegram_user_id"] == "1004" {
					return c.OwnerID == "laura" && count(eventKinds(tx, c.ID), "taken") == 1
				}
			}
			return false
		})
	})

	var janeNumber string
	t.Run("reply to an email customer goes out as a threaded email", func(t *testing.T) {
		raw := "From: Jane Miller <jane.miller@example.com>\r\nTo: support@demo.example\r\nSubject: Broken kettle\r\n" +
			"Message-ID: <jane-1@example.com>\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\n\r\nThe kettle I bought stopped working after two days. I want a replacement.\r\n"
		if err := w.env.imap.Append(demoInbox, "INBOX", []byte(raw)); err != nil {
			t.Fatal(err)
		}
		ack := waitMail(t, w.env.smtp, func(v ackView) bool { return v.To != "" && strings.Contains(v.To, "jane.miller") })
		janeNumber = numberRE.FindString(ack.Subject)
		w.tg.PushCommand(tgPeter, tgPeter, "/reply "+janeNumber+" We will send a new kettle tomorrow.", "en")
		reply := waitMail(t, w.env.smtp, func(v ackView) bool { return strings.Contains(v.Text, "new kettle tomorrow") })
		if reply.InReplyTo == "" || !strings.Contains(reply.Subject, janeNumber) || strings.Contains(reply.Text, "9002") {
			t.Errorf("reply mail: subject %q in-reply-to %q", reply.Subject, reply.InReplyTo)
		}
	})

	t.Run("advance and approve by staff command", func(t *testing.T) {
		w.tg.PushCommand(tgPeter, tgPeter, "/approve "+janeNumber+" 500 EUR", "en") // frontline: refused
		w.tg.PushCommand(tgNatalia, tgNatalia, "/advance "+janeNumber, "en")
		w.tg.PushCommand(tgNatalia, tgNatalia, "/approve "+janeNumber+" 500 EUR", "en")
		w.eventually(t, "analysis stage and one approval by the head", func(tx store.Tx) bool {
			c, err := tx.ComplaintByNumber(janeNumber)
			if err != nil || c.Stage != store.StageAnalysis || len(c.Approvals) != 1 {
				return false
			}
			a := c.Approvals[0]
			return a.By == "natalia" && a.Amount == "500" && count(eventKinds(tx, c.ID), "advanced") == 1
		})
		w.eventually(t, "the refusal told to the frontline member", func(store.Tx) bool {
			for _, m := range w.tg.Sent(tgPeter) {
				if strings.Contains(m.Text, "approv") && strings.Contains(m.Text, janeNumber) {
					return true
				}
			}
			return false
		})
	})

	t.Run("linking: a stranger quoting the number is not linked, the owner with the code is", func(t *testing.T) {
		w.tg.PushText(tgMallory, tgMallory, "About "+janeNumber+": please send me the details", "en")
		w.tg.PushCommand(tgMallory, tgMallory, "/link "+janeNumber, "en")
		w.tg.PushCommand(tgMallory, tgMallory, "/link 000000", "en")
		w.eventually(t, "the stranger's own complaint", func(tx store.Tx) bool { return len(complaintsOfTelegram(tx, tgMallory)) == 1 })
		codeMail := waitMail(t, w.env.smtp, func(v ackView) bool { return strings.Contains(v.Text, "/link ") })
		w.tg.PushCommand(tgJane, tgJane, "/link "+janeNumber, "en")
		var code string
		deadline := time.Now().Add(tgWaitLong)
		for code == "" && time.Now().Before(deadline) {
			n := 0
			for _, m := range w.env.smtp.Messages() {
				if v := parseAck(m.Data); strings.Contains(v.Text, "/link ") {
					if n++; n == 2 {
						code = regexp.MustCompile(`/link (\d{6})`).FindStringSubmatch(v.Text)[1]
					}
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		if code == "" || !strings.Contains(codeMail.To, "jane.miller") {
			t.Fatalf("no second code mail; first to %q", codeMail.To)
		}
		w.tg.PushCommand(tgJane, tgJane, "/link "+code, "en")
		w.eventually(t, "Jane linked", func(tx store.Tx) bool {
			c, err := tx.CustomerByTelegram(tgJane)
			return err == nil && slices.Contains(c.Emails, "jane.miller@example.com")
		})
		w.view(func(tx store.Tx) error {
			if c, _ := tx.CustomerByTelegram(tgMallory); c == nil || len(c.Emails) != 0 {
				t.Errorf("stranger's customer = %+v", c)
			}
			if cs := complaintsOfTelegram(tx, tgMallory); len(cs) != 1 || cs[0].Number == janeNumber {
				t.Errorf("stranger sees %d complaints", len(cs))
			}
			return nil
		})
	})

	t.Run("blocked bot: the acknowledgement falls back to email", func(t *testing.T) {
		w.tg.Block(tgJane)
		w.tg.PushText(tgJane, tgJane, "Also the lid of the kettle is cracked, this is a separate issue.", "en")
		fb := waitMail(t, w.env.smtp, func(v ackView) bool {
			return strings.Contains(v.To, "jane.miller") && v.Tag != "" && v.Tag != "["+janeNumber+"]" && strings.Contains(v.Text, "registered")
		})
		w.eventually(t, "ack_failed with fallback", func(tx store.Tx) bool {
			c, _ := tx.ComplaintByNumber(strings.Trim(fb.Tag, "[]"))
			if c == nil {
				return false
			}
			evs, _ := tx.Events(c.ID)
			for _, e := range evs {
				if e.Kind == "ack_failed" && e.Fields["fallback"] == "email" {
					return true
				}
			}
			return false
		})
	})
}

func containsText(ms []tgfake.SentMessage, s string) bool {
	return slices.ContainsFunc(ms, func(m tgfake.SentMessage) bool { return strings.Contains(m.Text, s) })
}

func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// waitMail waits for a mail the test SMTP server received that matches.
func waitMail(t *testing.T, s *fakemail.SMTP, match func(ackView) bool) ackView {
	t.Helper()
	deadline := time.Now().Add(tgWaitLong)
	for time.Now().Before(deadline) {
		for _, m := range s.Messages() {
			if v := parseAck(m.Data); match(v) {
				return v
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no matching mail among %d", len(s.Messages()))
	return ackView{}
}

// TestTelegramRestart: updates that arrive while the daemon is down are
// read once after it comes back; nothing committed before is read again.
func TestTelegramRestart(t *testing.T) {
	w := startTelegramWorld(t)
	w.tg.PushText(tgRuta, tgRuta, "Laba diena, negavau užsakymo 7781, prašau grąžinti pinigus.", "lt")
	ack := w.waitSent(t, tgRuta, 1)[0]
	if !strings.Contains(ack.Text, "užregistravome") {
		t.Fatalf("ack = %q", ack.Text)
	}
	w.stop()
	w.tg.PushText(tgRuta, tgRuta, "Siuntos numeris LT123456789.", "lt")
	w.tg.PushCommand(tgRuta, tgRuta, "/status", "lt")
	w.start()
	status := w.waitSent(t, tgRuta, 2)[1]
	if !numberRE.MatchString(status.Text) {
		t.Fatalf("status after restart = %q", status.Text)
	}
	w.eventually(t, "one complaint with both messages, each once", func(tx store.Tx) bool {
		cs := complaintsOfTelegram(tx, tgRuta)
		if len(cs) != 1 {
			return false
		}
		msgs, _ := tx.MessagesOf(cs[0].ID)
		in := 0
		for _, m := range msgs {
			if m.Direction == store.DirectionIn {
				in++
			}
		}
		return in == 2
	})
	time.Sleep(300 * time.Millisecond)
	if n := len(w.tg.Sent(tgRuta)); n != 2 {
		t.Errorf("Rūta got %d messages, want 2 (ack, status): %q", n, texts(w.tg.Sent(tgRuta)))
	}
}
