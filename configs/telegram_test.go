package configs

import (
	"strings"
	"testing"
)

const telegramBase = `
smtp: {host: smtp.example.com, from: "Support <support@example.com>"}
threading: {secret_env: SECRET}
`

func TestTelegramConfig(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"SECRET": "0123456789abcdef0", "TG": "123:abc"}[k]
	}
	t.Run("off by default, nothing checked", func(t *testing.T) {
		c, err := ParseWith([]byte(telegramBase+"telegram: {api_endpoint: 'not a url'}\n"), env)
		if err != nil {
			t.Fatal(err)
		}
		if c.Telegram.Enabled || c.Telegram.Token.Set() {
			t.Fatalf("telegram = %+v", c.Telegram)
		}
	})
	t.Run("defaults and secret", func(t *testing.T) {
		c, err := ParseWith([]byte(telegramBase+"telegram: {enabled: true, token_env: TG}\n"), env)
		if err != nil {
			t.Fatal(err)
		}
		tg := c.Telegram
		if tg.Token.Value() != "123:abc" || tg.APIEndpoint != DefaultTelegramAPI || tg.PollTimeout.D() != DefaultTelegramPollTimeout {
			t.Fatalf("telegram = %+v", tg)
		}
		if tg.MethodURL() != "https://api.telegram.org/bot%s/%s" {
			t.Fatalf("MethodURL = %q", tg.MethodURL())
		}
		if strings.Contains(tg.Token.String(), "abc") {
			t.Fatal("token printed")
		}
	})
	t.Run("every problem named", func(t *testing.T) {
		yaml := telegramBase + `telegram: {enabled: true, api_endpoint: "ftp://x/", poll_timeout: 20m}
staff:
  - {id: a, email: a@example.com, languages: [en], telegram_id: 7}
  - {id: b, email: b@example.com, languages: [en], telegram_id: 7}
routing: {default_owner: a}
`
		_, err := ParseWith([]byte(yaml), env)
		if err == nil {
			t.Fatal("accepted")
		}
		for _, key := range []string{"telegram.token", "telegram.api_endpoint", "telegram.poll_timeout", "staff[1].telegram_id"} {
			if !strings.Contains(err.Error(), key) {
				t.Errorf("error does not name %s:\n%v", key, err)
			}
		}
	})
}
