package configs

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func parseWith(t *testing.T, yamlText string, vars map[string]string) (*Config, error) {
	t.Helper()
	for k, v := range vars {
		t.Setenv(k, v)
	}
	return Parse([]byte(yamlText))
}

func TestExampleConfigIsValid(t *testing.T) {
	t.Setenv("COMPLAINTBOT_IMAP_PASSWORD", "imap-secret-1")
	t.Setenv("COMPLAINTBOT_SMTP_PASSWORD", "smtp-secret-2")
	t.Setenv("COMPLAINTBOT_THREAD_SECRET", "0123456789abcdef0123")
	t.Setenv("COMPLAINTBOT_API_TOKEN", "api-token-3")
	c, err := Load("complaintbot.example.yaml")
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if got := c.Inboxes[0].Password.Value(); got != "imap-secret-1" {
		t.Errorf("imap password = %q", got)
	}
	if c.Location.String() != "Europe/Vilnius" || c.SMTP.FromAddr.Address != "support@example.com" {
		t.Errorf("location %v from %v", c.Location, c.SMTP.FromAddr)
	}
}

func TestUnknownKeyNamed(t *testing.T) {
	_, err := parseWith(t, "smtp:\n  hostt: x\n", nil)
	if err == nil || !strings.Contains(err.Error(), "hostt") {
		t.Fatalf("want error naming hostt, got %v", err)
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	const text = `
company: {timezone: Mars/Olympus}
ack: {reaction_time: -1h}
inboxes:
  - {name: a, host: h, port: 70000, tls: ssl, user: u, password_env: NOPE_UNSET, after: burn}
  - {name: a, host: "", user: u, password_file: /nonexistent/secret, after: move}
smtp: {host: "", from: "not an address"}
http: {listen: "nocolon"}
log: {level: loud}
`
	_, err := parseWith(t, text, nil)
	p, ok := err.(Problems)
	if !ok {
		t.Fatalf("want Problems, got %T %v", err, err)
	}
	want := []string{"company.timezone", "ack.reaction_time", "inboxes[0].port", "inboxes[0].tls",
		"inboxes[0].password_env", "inboxes[0].after", "inboxes[1].name", "inboxes[1].host",
		"inboxes[1].password_file", "inboxes[1].move_to", "smtp.host", "smtp.from", "http.listen",
		"threading.secret", "log.level"}
	all := p.Error()
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("problems do not name %s:\n%s", w, all)
		}
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "s")
	if err := os.WriteFile(secretFile, []byte("file-secret-value-xyz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(`
inboxes: [{name: a, host: h, user: u, password_env: PW}]
smtp: {host: h, from: "a@b.c", user: x, password_file: %s}
threading: {secret_env: TS}
http: {token_env: TOK}
`, secretFile)
	c, err := parseWith(t, text, map[string]string{"PW": "env-secret-value-abc", "TS": "thread-secret-value-0123", "TOK": "tok-secret-value"})
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.Password.Value() != "file-secret-value-xyz" {
		t.Fatalf("file secret not read: %q", c.SMTP.Password.Value())
	}
	js, _ := json.Marshal(c)
	out := fmt.Sprintf("%v %+v %s", c, c, js)
	for _, s := range []string{"env-secret-value-abc", "file-secret-value-xyz", "thread-secret-value-0123", "tok-secret-value"} {
		if strings.Contains(out, s) {
			t.Errorf("secret %q printed", s)
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := parseWith(t, "inboxes: [{name: a, host: h, user: u, password_env: PW}]\nsmtp: {host: h, from: a@b.c}\nthreading: {secret_env: TS}\n",
		map[string]string{"PW": "p", "TS": "0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	in := c.Inboxes[0]
	if in.Port != 993 || in.TLS != "tls" || in.Mailbox != "INBOX" || in.After != "seen" || c.HTTP.Listen != "127.0.0.1:8025" {
		t.Errorf("defaults: %+v %+v", in, c.HTTP)
	}
	if c.Ack.MaxPerHour != DefaultAckPerHour || c.Ack.ReactionTime.D() != DefaultReactionTime {
		t.Errorf("ack defaults %+v", c.Ack)
	}
	if c.Runtime.MemoryLimitMB != DefaultMemoryLimitMB {
		t.Errorf("runtime.memory_limit_mb default %d, want %d", c.Runtime.MemoryLimitMB, DefaultMemoryLimitMB)
	}
}

func TestMemoryLimitValues(t *testing.T) {
	base := "inboxes: [{name: a, host: h, user: u, password_env: PW}]\nsmtp: {host: h, from: a@b.c}\nthreading: {secret_env: TS}\n"
	env := map[string]string{"PW": "p", "TS": "0123456789abcdef"}
	for _, tc := range []struct {
		value string
		ok    bool
	}{{"-1", true}, {"16", true}, {"512", true}, {"8", false}, {"-2", false}} {
		_, err := parseWith(t, base+"runtime: {memory_limit_mb: "+tc.value+"}\n", env)
		if tc.ok && err != nil {
			t.Errorf("memory_limit_mb %s: %v", tc.value, err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "runtime.memory_limit_mb")) {
			t.Errorf("memory_limit_mb %s: error %v, want one naming runtime.memory_limit_mb", tc.value, err)
		}
	}
}

func TestValidateNoSecretInProblems(t *testing.T) {
	c := &Config{}
	c.applyDefaults()
	c.Threading.SecretEnv = "TS"
	err := c.Validate(env(map[string]string{"TS": "short-leak"}), os.ReadFile)
	if err == nil || strings.Contains(err.Error(), "short-leak") {
		t.Fatalf("want a problem without the secret, got %v", err)
	}
}
