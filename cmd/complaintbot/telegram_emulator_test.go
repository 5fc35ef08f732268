package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"complaintbot/configs"
	"complaintbot/internal/mailstack"
)

// EnvTelegramTestAPI names the base URL of a running telegram-test-api
// (the npm emulator; scripts/telegram-test-api.sh starts it).
const EnvTelegramTestAPI = "COMPLAINTBOT_TELEGRAM_TEST_API"

// emulator is a client of telegram-test-api's user side: simulated users
// POST to /sendMessage, /sendCommand and /sendCallback with the bot's
// token in botToken, and read what the bot sent with /getUpdates.
type emulator struct {
	url, token string
	seen       map[int64][]emuMessage
}

// emuMessage is a message the bot sent, as the emulator keeps it.
type emuMessage struct {
	Text        string          `json:"text"`
	ReplyMarkup json.RawMessage `json:"reply_markup"`
}

// buttons reads the inline keyboard's callback data (the emulator keeps
// reply_markup as the bot sent it: an object or a JSON string).
func (m emuMessage) buttons() []string {
	raw := m.ReplyMarkup
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var kb struct {
		InlineKeyboard [][]struct {
			Data string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	_ = json.Unmarshal(raw, &kb)
	var out []string
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			out = append(out, b.Data)
		}
	}
	return out
}

func (e *emulator) post(t *testing.T, path string, body map[string]any) []byte {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(e.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("emulator %s: %v", path, err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("emulator %s: %s %s", path, resp.Status, out.String())
	}
	return out.Bytes()
}

func emuUser(id int64, lang string) map[string]any {
	return map[string]any{"id": id, "is_bot": false, "first_name": fmt.Sprintf("User%d", id), "language_code": lang}
}

func emuChat(id int64) map[string]any {
	return map[string]any{"id": id, "type": "private", "first_name": fmt.Sprintf("User%d", id)}
}

func (e *emulator) text(t *testing.T, user int64, lang, text string) {
	e.post(t, "/sendMessage", map[string]any{"botToken": e.token, "from": emuUser(user, lang), "chat": emuChat(user),
		"text": text, "date": time.Now().Unix()})
}

func (e *emulator) command(t *testing.T, user int64, lang, text string) {
	word, _, _ := strings.Cut(text, " ")
	e.post(t, "/sendCommand", map[string]any{"botToken": e.token, "from": emuUser(user, lang), "chat": emuChat(user),
		"text": text, "date": time.Now().Unix(),
		"entities": []map[string]any{{"offset": 0, "length": len(word), "type": "bot_command"}}})
}

func (e *emulator) press(t *testing.T, user int64, data string) {
	e.post(t, "/sendCallback", map[string]any{"botToken": e.token, "from": emuUser(user, ""), "data": data,
		"message": map[string]any{"message_id": 1, "chat": emuChat(user), "date": time.Now().Unix(),
			"from": map[string]any{"id": 666, "is_bot": true, "first_name": "Bot"}}})
}

// waitFor reads the bot's messages to chat until one matches.
func (e *emulator) waitFor(t *testing.T, chat int64, match func(emuMessage) bool) emuMessage {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range e.seen[chat] {
			if match(m) {
				return m
			}
		}
		var got struct {
			Result []struct {
				Message emuMessage `json:"message"`
			} `json:"result"`
		}
		if err := json.Unmarshal(e.post(t, "/getUpdates", map[string]any{"token": e.token, "chatId": chat}), &got); err != nil {
			t.Fatal(err)
		}
		for _, u := range got.Result {
			e.seen[chat] = append(e.seen[chat], u.Message)
		}
		if len(got.Result) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Fatalf("chat %d: no matching message among %d: %+v", chat, len(e.seen[chat]), e.seen[chat])
	return emuMessage{}
}

// TestTelegramEmulatorSmoke runs text, command and button flows of the
// daemon against telegram-test-api, an emulator nobody here wrote. It does
// not long-poll and ignores offset (ingest skips what it committed).
func TestTelegramEmulatorSmoke(t *testing.T) {
	url := os.Getenv(EnvTelegramTestAPI)
	if url == "" {
		if os.Getenv(mailstack.EnvRequire) == "1" {
			t.Fatalf("%s is not set (scripts/telegram-test-api.sh start; eval $(scripts/telegram-test-api.sh env))", EnvTelegramTestAPI)
		}
		t.Skipf("%s not set: start telegram-test-api with scripts/telegram-test-api.sh", EnvTelegramTestAPI)
	}
	e := &emulator{url: strings.TrimRight(url, "/"), token: "777:smoke-" + randomHex(6), seen: map[int64][]emuMessage{}}
	env, err := startDemoEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer env.close()
	sh, sp, _ := net.SplitHostPort(env.smtp.Addr)
	text := fmt.Sprintf(`
store: {path: %q}
smtp: {host: %s, port: %s, tls: none, from: "Care <care@demo.example>"}
threading: {secret_env: SECRET}
http: {listen: "127.0.0.1:0"}
telegram: {enabled: true, token_env: TG, api_endpoint: %q, poll_timeout: 1s}
staff:
  - {id: sam, name: Sam, email: sam@staff.demo.example, languages: [en], telegram_id: 7001}
routing: {default_owner: sam}
`, filepath.Join(t.TempDir(), "cb.db"), sh, sp, e.url)
	secrets := map[string]string{"SECRET": randomHex(16), "TG": e.token}
	cfg, err := configs.ParseWith([]byte(text), func(k string) string { return secrets[k] })
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDaemon(cfg, daemonDeps{Logger: newLogger(testWriter{t}, "info", "text"), TelegramPerChat: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runDaemon(t, context.Background(), d)

	const customer, staff, stranger = 7101, 7001, 7102
	e.command(t, customer, "ru", "/start")
	e.waitFor(t, customer, func(m emuMessage) bool { return strings.Contains(m.Text, "Здравствуйте") })

	e.text(t, customer, "ru", "Заказ 4411 пришёл без зарядного устройства, прошу прислать.")
	ack := e.waitFor(t, customer, func(m emuMessage) bool { return numberRE.MatchString(m.Text) })
	number := numberRE.FindString(ack.Text)
	card := e.waitFor(t, staff, func(m emuMessage) bool { return strings.Contains(m.Text, number) && len(m.buttons()) == 5 })
	if card.buttons()[0] != "a:take:"+number {
		t.Errorf("card buttons = %v", card.buttons())
	}

	e.press(t, staff, "a:note:"+number)
	e.waitFor(t, staff, func(m emuMessage) bool { return strings.Contains(m.Text, "Send the note for "+number) })
	e.text(t, staff, "en", "Charger out of stock; ordered.")
	e.waitFor(t, staff, func(m emuMessage) bool { return strings.HasPrefix(m.Text, "Done: note "+number) })

	e.press(t, stranger, "a:take:"+number)
	e.waitFor(t, stranger, func(m emuMessage) bool { return strings.Contains(m.Text, "only for staff") })

	e.command(t, customer, "ru", "/status")
	e.waitFor(t, customer, func(m emuMessage) bool {
		return strings.Contains(m.Text, number) && strings.Contains(m.Text, "обращения")
	})
}
