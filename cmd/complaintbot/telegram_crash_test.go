package main

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"complaintbot/internal/fakemail"
	"complaintbot/internal/tgfake"
	"complaintbot/store"
)

// Shape of TestTelegramCrashRecovery.
const (
	tgCrashUsers    = 30
	tgCrashPerUser  = 10
	tgCrashKills    = 6
	tgCrashFirstID  = 7001 // chat id of the first user; private chats, chat id == user id
	tgCrashSenders  = 1    // smtp.connections: the notifier's sender count, Telegram included
	tgCrashDeadline = 120 * time.Second
)

// tgCrashUpdate is one customer text the test pushes.
type tgCrashUpdate struct {
	chat int64
	seq  int // 0 is the user's first message, which opens the complaint
}

func (u tgCrashUpdate) token() string { return fmt.Sprintf("[u%d-m%d]", u.chat, u.seq) }

func (u tgCrashUpdate) text() string {
	if u.seq == 0 {
		return fmt.Sprintf("My order %d arrived broken and I want a refund, please. %s", u.chat, u.token())
	}
	return fmt.Sprintf("Adding detail %d: the box was crushed and the item does not work. %s", u.seq, u.token())
}

// TestTelegramCrashRecovery runs the real binary against the in-process Bot
// API fake and SIGKILLs it again and again while it long-polls, commits
// updates with their offset and sends acknowledgements through the outbox.
// Updates are pushed while the daemon runs and while it is down. In the end
// every update is recorded exactly once, each user has exactly one
// complaint holding all their messages, each complaint's acknowledgement
// reached its chat, and duplicate acknowledgements are at most one per
// kill per sender (a row is marked sent only after the API accepted it).
func TestTelegramCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds the binary and runs for a while")
	}
	tg := tgfake.New(tgfake.Options{})
	t.Cleanup(tg.Close)
	smtp, err := fakemail.StartSMTP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtp.Close() })
	for i := range tgCrashUsers {
		id := int64(tgCrashFirstID + i)
		tg.SetUser(tgfake.User{ID: id, FirstName: fmt.Sprintf("User%d", id), LanguageCode: "en"})
	}

	dir := t.TempDir()
	bin := buildBinary(t, dir)
	httpAddr := freeAddr(t)
	cfgPath := writeTelegramCrashConfig(t, dir, smtp.Addr, tg.URL(), httpAddr)
	env := append(os.Environ(), "CB_TS=tg-crash-secret-0123456789", "CB_TOK=tg-crash-token", "CB_TG="+tg.Token())

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 2))
	t.Logf("seed %d", seed)
	plan := tgCrashPlan(rng)
	gaps := make([]time.Duration, len(plan)) // drawn here: rng is not shared with the pusher
	for i := range gaps {
		gaps[i] = time.Duration(2+rng.IntN(14)) * time.Millisecond
	}
	pushed := make(chan struct{})
	go func() { // a steady stream, so kills find the daemon polling, committing and sending
		defer close(pushed)
		for i, u := range plan {
			tg.PushText(u.chat, u.chat, u.text(), "en")
			time.Sleep(gaps[i])
		}
	}()

	for k := range tgCrashKills {
		cmd := startBinary(t, bin, cfgPath, env, filepath.Join(dir, fmt.Sprintf("log-%d", k)))
		time.Sleep(time.Duration(20+rng.IntN(500)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		t.Logf("kill %d: %d updates unconfirmed at the fake, %d messages sent so far", k+1, tg.Pending(), tg.SentCount())
		time.Sleep(time.Duration(50+rng.IntN(250)) * time.Millisecond) // a backlog builds while it is down
	}
	<-pushed
	cmd := startBinary(t, bin, cfgPath, env, filepath.Join(dir, "log-final"))
	waitFor(t, tgCrashDeadline, "every update confirmed, every complaint acknowledged, an empty outbox", func() bool {
		return tg.Pending() == 0 && apiTotal(httpAddr, "tg-crash-token") == tgCrashUsers &&
			metric(httpAddr, "complaintbot_outbox_pending") == 0 && tg.SentCount() >= tgCrashUsers
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("daemon exit after SIGTERM: %v", err)
	}

	numbers := checkTelegramExactlyOnce(t, filepath.Join(dir, "cb.db"))
	acks := 0
	for chat, number := range numbers {
		sent := tg.Sent(chat)
		for _, m := range sent {
			if got := numberRE.FindString(m.Text); got != number {
				t.Errorf("chat %d got %q, want only acknowledgements of %s", chat, m.Text, number)
			}
		}
		if len(sent) == 0 {
			t.Errorf("chat %d: complaint %s never acknowledged", chat, number)
		}
		acks += len(sent)
	}
	dups := acks - len(numbers)
	t.Logf("telegram crash test: %d SIGKILLs; %d updates from %d users recorded exactly once; %d complaints; "+
		"%d acknowledgements sent (%d duplicates, bound %d); %d answered 429 by the fake",
		tgCrashKills, len(plan), tgCrashUsers, len(numbers), acks, dups, tgCrashKills*tgCrashSenders, tg.RateLimited())
	if dups > tgCrashKills*tgCrashSenders {
		t.Errorf("%d duplicate acknowledgements after %d kills with %d sender(s)", dups, tgCrashKills, tgCrashSenders)
	}
}

// tgCrashPlan orders every user's messages so that users start at
// different moments (first messages, hence acknowledgements, are spread
// over the kills) and each user's messages stay in order.
func tgCrashPlan(rng *rand.Rand) []tgCrashUpdate {
	type keyed struct {
		key int
		u   tgCrashUpdate
	}
	var all []keyed
	for i := range tgCrashUsers {
		key := i * 7
		for seq := range tgCrashPerUser {
			all = append(all, keyed{key, tgCrashUpdate{chat: int64(tgCrashFirstID + i), seq: seq}})
			key += 1 + rng.IntN(30)
		}
	}
	slices.SortStableFunc(all, func(a, b keyed) int { return a.key - b.key })
	out := make([]tgCrashUpdate, len(all))
	for i, k := range all {
		out[i] = k.u
	}
	return out
}

// checkTelegramExactlyOnce asserts every pushed text is recorded once with
// a "tg-<chat>-<id>" message id of its own chat, and each user has exactly
// one complaint holding all their messages. It returns the complaint
// number of each chat.
func checkTelegramExactlyOnce(t *testing.T, dbPath string) map[int64]string {
	t.Helper()
	s, err := store.OpenBolt(dbPath, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	byID := map[string]int{}
	byToken := map[string]int{}
	complaintOf := map[int64]map[uint64]bool{}
	numbers := map[int64]string{}
	err = s.View(context.Background(), func(tx store.Tx) error {
		err := tx.ForEachMessage(func(m *store.Message) error {
			if m.Direction != store.DirectionIn || m.TelegramChatID < tgCrashFirstID || m.TelegramChatID >= tgCrashFirstID+tgCrashUsers {
				return nil
			}
			if !strings.HasPrefix(m.MessageID, fmt.Sprintf("tg-%d-", m.TelegramChatID)) {
				t.Errorf("message %d of chat %d has message id %q", m.ID, m.TelegramChatID, m.MessageID)
			}
			byID[m.MessageID]++
			byToken[tokenIn(m.Text)]++
			if complaintOf[m.TelegramChatID] == nil {
				complaintOf[m.TelegramChatID] = map[uint64]bool{}
			}
			complaintOf[m.TelegramChatID][m.ComplaintID] = true
			return nil
		})
		if err != nil {
			return err
		}
		for i := range tgCrashUsers {
			chat := int64(tgCrashFirstID + i)
			if cs := complaintsOfTelegram(tx, chat); len(cs) != 1 {
				t.Errorf("user %d has %d complaints, want 1", chat, len(cs))
			} else {
				numbers[chat] = cs[0].Number
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := tgCrashUsers * tgCrashPerUser
	if len(byID) != want {
		t.Errorf("%d distinct message ids recorded, want %d", len(byID), want)
	}
	for id, n := range byID {
		if n != 1 {
			t.Errorf("%s recorded %d times", id, n)
		}
	}
	for i := range tgCrashUsers {
		for seq := range tgCrashPerUser {
			tok := tgCrashUpdate{chat: int64(tgCrashFirstID + i), seq: seq}.token()
			if byToken[tok] != 1 {
				t.Errorf("text %s recorded %d times", tok, byToken[tok])
			}
		}
	}
	for chat, cs := range complaintOf {
		if len(cs) != 1 || cs[0] {
			t.Errorf("chat %d: messages spread over complaints %v (0 = none)", chat, slices.Collect(maps.Keys(cs)))
		}
	}
	return numbers
}

// tokenIn finds the "[u<chat>-m<seq>]" marker of a pushed text.
func tokenIn(text string) string {
	i := strings.LastIndex(text, "[u")
	if i < 0 {
		return ""
	}
	j := strings.Index(text[i:], "]")
	if j < 0 {
		return ""
	}
	return text[i : i+j+1]
}

// writeTelegramCrashConfig: no inbox (the bot is the only source), SMTP
// at the fake server, the bot at the Bot API fake.
func writeTelegramCrashConfig(t *testing.T, dir, smtpAddr, tgURL, httpAddr string) string {
	t.Helper()
	sh, sp, _ := net.SplitHostPort(smtpAddr)
	text := fmt.Sprintf(`
company: {name: "Crash Ltd", timezone: UTC}
store: {path: %q}
ack: {reaction_time: 1h, max_per_customer_per_hour: 100000}
smtp: {host: %s, port: %s, tls: none, from: "Crash Care <care@crash.test>", connections: %d}
threading: {secret_env: CB_TS, domain: crash.test}
http: {listen: %q, token_env: CB_TOK}
telegram: {enabled: true, token_env: CB_TG, api_endpoint: %q, poll_timeout: 1s}
`, filepath.Join(dir, "cb.db"), sh, sp, tgCrashSenders, httpAddr, tgURL)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
