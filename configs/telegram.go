package configs

import (
	"net/url"
	"time"
)

// Telegram is the bot customers write to and staff act from. One token
// serves both: staff are recognised by staff[].telegram_id.
type Telegram struct {
	// Enabled turns the bot on; the rest is ignored (and not checked) when
	// it is off.
	Enabled   bool   `yaml:"enabled"`
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// APIEndpoint is the Bot API's base URL; default
	// https://api.telegram.org (a test server or local Bot API server can
	// stand in).
	APIEndpoint string `yaml:"api_endpoint"`
	// PollTimeout is the long-poll timeout of getUpdates; default 50s.
	PollTimeout Duration `yaml:"poll_timeout"`

	Token Secret `yaml:"-"`
}

// Telegram defaults.
const (
	DefaultTelegramAPI         = "https://api.telegram.org"
	DefaultTelegramPollTimeout = 50 * time.Second
)

func (t *Telegram) applyDefaults() {
	if t.APIEndpoint == "" {
		t.APIEndpoint = DefaultTelegramAPI
	}
	if t.PollTimeout == 0 {
		t.PollTimeout = Duration(DefaultTelegramPollTimeout)
	}
}

// MethodURL is the endpoint in telegram-bot-api's form: %s for the token,
// %s for the method.
func (t Telegram) MethodURL() string { return t.APIEndpoint + "/bot%s/%s" }

func (c *Config) validateTelegram(p *Problems, r secretResolver) {
	t := &c.Telegram
	if !t.Enabled {
		return
	}
	t.Token = r.resolve("telegram.token", t.TokenEnv, t.TokenFile, true)
	u, err := url.Parse(t.APIEndpoint)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		p.addf("telegram.api_endpoint: %q is not an http(s) URL", t.APIEndpoint)
	case u.RawQuery != "" || u.Fragment != "" || len(u.Path) > 0 && u.Path[len(u.Path)-1] == '/':
		p.addf("telegram.api_endpoint: %q: give the base URL without a trailing slash, query or fragment", t.APIEndpoint)
	}
	if d := t.PollTimeout.D(); d < time.Second || d > 10*time.Minute {
		p.addf("telegram.poll_timeout: %s: must be between 1s and 10m", d)
	}
	seen := map[int64]string{}
	for i, s := range c.Staff {
		if s.TelegramID == 0 {
			continue
		}
		if other, ok := seen[s.TelegramID]; ok {
			p.addf("staff[%d].telegram_id: %d is also %s's", i, s.TelegramID, other)
		}
		seen[s.TelegramID] = s.ID
	}
}
