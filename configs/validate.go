package configs

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"
)

// Problems is every problem found in a config, each naming its key.
type Problems []string

func (p Problems) Error() string {
	return fmt.Sprintf("config has %d problem(s):\n  - %s", len(p), strings.Join(p, "\n  - "))
}

func (p *Problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// Validate checks the whole config, resolves secrets with getenv/readFile and
// loads the time zone. It returns Problems listing everything wrong.
func (c *Config) Validate(getenv func(string) string, readFile func(string) ([]byte, error)) error {
	var p Problems
	r := secretResolver{getenv: getenv, readFile: readFile, p: &p}
	loc, err := time.LoadLocation(c.Company.Timezone)
	if err != nil {
		p.addf("company.timezone: unknown time zone %q", c.Company.Timezone)
	}
	c.Location = loc
	c.validateStore(&p)
	c.validateAck(&p)
	c.validateInboxes(&p, r)
	c.validateSMTP(&p, r)
	c.HTTP.Token = r.resolve("http.token", c.HTTP.TokenEnv, c.HTTP.TokenFile, false)
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		p.addf("http.listen: %q is not host:port", c.HTTP.Listen)
	}
	c.Threading.Secret = r.resolve("threading.secret", c.Threading.SecretEnv, c.Threading.SecretFile, true)
	if c.Threading.Secret.Set() && len(c.Threading.Secret.Value()) < 16 {
		p.addf("threading.secret: must be at least 16 characters")
	}
	c.validateAssignment(&p, readFile)
	c.validateTelegram(&p, r)
	c.validateWorkflow(&p)
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		p.addf("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "text", "json") {
		p.addf("log.format: %q is not one of text, json", c.Log.Format)
	}
	if m := c.Runtime.MemoryLimitMB; m < -1 || m > 0 && m < 16 {
		p.addf("runtime.memory_limit_mb: %d is not -1 (no limit) or at least 16", m)
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

func (c *Config) validateStore(p *Problems) {
	if c.Store.MaxAttachmentBytes < 0 {
		p.addf("store.max_attachment_bytes: must not be negative")
	}
	if c.Store.MaxMessageBytes < 0 {
		p.addf("store.max_message_attachment_bytes: must not be negative")
	}
	if c.Store.MaxReadBytes < 1<<20 {
		p.addf("store.max_read_bytes: %d is under 1 MiB (1048576)", c.Store.MaxReadBytes)
	}
}

func (c *Config) validateAck(p *Problems) {
	if c.Ack.ReactionTime.D() < 0 {
		p.addf("ack.reaction_time: must be positive")
	}
	if c.Ack.MaxPerHour < 0 {
		p.addf("ack.max_per_customer_per_hour: must not be negative")
	}
}

func (c *Config) validateInboxes(p *Problems, r secretResolver) {
	seen := map[string]bool{}
	for i := range c.Inboxes {
		in := &c.Inboxes[i]
		key := fmt.Sprintf("inboxes[%d]", i)
		if in.Name == "" {
			p.addf("%s.name: required", key)
		} else if seen[in.Name] {
			p.addf("%s.name: %q is used twice", key, in.Name)
		}
		seen[in.Name] = true
		if in.Host == "" {
			p.addf("%s.host: required", key)
		}
		checkPort(p, key+".port", in.Port)
		if !oneOf(in.TLS, "tls", "starttls", "none") {
			p.addf("%s.tls: %q is not one of tls, starttls, none", key, in.TLS)
		}
		if in.User == "" {
			p.addf("%s.user: required", key)
		}
		in.Password = r.resolve(key+".password", in.PasswordEnv, in.PasswordFile, true)
		if !oneOf(in.After, "leave", "seen", "move") {
			p.addf("%s.after: %q is not one of leave, seen, move", key, in.After)
		}
		if in.After == "move" && in.MoveTo == "" {
			p.addf("%s.move_to: required when after is move", key)
		}
		if in.PollInterval.D() < time.Second {
			p.addf("%s.poll_interval: must be at least 1s", key)
		}
		if in.BatchSize < 1 || in.BatchSize > 10000 {
			p.addf("%s.batch_size: must be between 1 and 10000", key)
		}
		if mb := in.MaxBackoff.D(); mb != 0 && (mb < time.Second || mb > time.Hour) {
			p.addf("%s.max_backoff: must be between 1s and 1h", key)
		}
	}
}

func (c *Config) validateSMTP(p *Problems, r secretResolver) {
	if c.SMTP.Host == "" {
		p.addf("smtp.host: required")
	}
	checkPort(p, "smtp.port", c.SMTP.Port)
	if !oneOf(c.SMTP.TLS, "tls", "starttls", "none") {
		p.addf("smtp.tls: %q is not one of tls, starttls, none", c.SMTP.TLS)
	}
	a, err := mail.ParseAddress(c.SMTP.From)
	if err != nil {
		p.addf("smtp.from: %q is not an address like \"Support <support@example.com>\"", c.SMTP.From)
	}
	c.SMTP.FromAddr = a
	if c.SMTP.Connections < 1 || c.SMTP.Connections > 64 {
		p.addf("smtp.connections: must be between 1 and 64")
	}
	required := c.SMTP.User != ""
	c.SMTP.Password = r.resolve("smtp.password", c.SMTP.PasswordEnv, c.SMTP.PasswordFile, required)
}

func checkPort(p *Problems, key string, port int) {
	if port < 1 || port > 65535 {
		p.addf("%s: %d is not a port (1-65535)", key, port)
	}
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// secretResolver reads *_env / *_file secrets, adding problems that name the
// key but never the value.
type secretResolver struct {
	getenv   func(string) string
	readFile func(string) ([]byte, error)
	p        *Problems
}

func (r secretResolver) resolve(key, env, file string, required bool) Secret {
	switch {
	case env != "" && file != "":
		r.p.addf("%s: set %s_env or %s_file, not both", key, key, key)
	case env != "":
		v := r.getenv(env)
		if v == "" {
			r.p.addf("%s_env: environment variable %s is empty or not set", key, env)
		}
		return Secret{value: v}
	case file != "":
		b, err := r.readFile(file)
		if err != nil {
			r.p.addf("%s_file: cannot read %s: %v", key, file, errors.Unwrap(err))
			return Secret{}
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			r.p.addf("%s_file: %s is empty", key, file)
		}
		return Secret{value: v}
	case required:
		r.p.addf("%s: set %s_env (an environment variable name) or %s_file (a path)", key, lastPart(key), lastPart(key))
	}
	return Secret{}
}

func lastPart(key string) string {
	if i := strings.LastIndex(key, "."); i >= 0 {
		return key[i+1:]
	}
	return key
}
