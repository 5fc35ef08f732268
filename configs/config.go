// Package configs holds complaintbot's typed configuration: one Config loaded
// from one YAML file and validated all at once.
//
// Invariants:
//   - Unknown keys are errors that name the key (the YAML decoder runs with
//     KnownFields).
//   - Validate reports every problem in one error, each naming its key.
//   - Secrets (passwords, tokens, the reply-token secret) are never in the
//     file itself: only *_env (an environment variable name) or *_file (a
//     path) keys point to them. Resolved secrets live in Secret values whose
//     String and MarshalJSON never show the value, so they cannot leak into
//     logs or check-config output.
package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration file.
type Config struct {
	Company   Company   `yaml:"company"`
	Store     Store     `yaml:"store"`
	Ack       Ack       `yaml:"ack"`
	Inboxes   []Inbox   `yaml:"inboxes"`
	SMTP      SMTP      `yaml:"smtp"`
	HTTP      HTTP      `yaml:"http"`
	Threading Threading `yaml:"threading"`
	Log       Log       `yaml:"log"`
	Runtime   Runtime   `yaml:"runtime"`
	// Assignment (configs/staff.go): who works here, in which teams, and
	// which complaint goes to whom.
	Staff    []Staff  `yaml:"staff"`
	Teams    []Team   `yaml:"teams"`
	Routing  Routing  `yaml:"routing"`
	Classify Classify `yaml:"classify"`
	// Telegram (configs/telegram.go): the bot for customers and staff.
	Telegram Telegram `yaml:"telegram"`
	// Workflow (configs/workflow.go): staff actions, business hours and
	// stage deadlines.
	Workflow Workflow `yaml:"workflow"`

	// Location is Company.Timezone loaded by Validate.
	Location *time.Location `yaml:"-"`
}

// Company describes the company complaintbot works for.
type Company struct {
	Name     string `yaml:"name"`
	Timezone string `yaml:"timezone"` // IANA name, e.g. Europe/Vilnius
}

// Store says where the embedded database lives and what it keeps.
type Store struct {
	Path               string `yaml:"path"`
	MaxAttachmentBytes int64  `yaml:"max_attachment_bytes"`
	MaxMessageBytes    int64  `yaml:"max_message_attachment_bytes"`
	// MaxReadBytes is the most of one mail an inbox reads; a larger mail is
	// read up to it, recorded with a warning, and left whole on the server.
	MaxReadBytes int64 `yaml:"max_read_bytes"`
}

// Ack configures the acknowledgement sent for every new complaint.
type Ack struct {
	ReactionTime Duration `yaml:"reaction_time"`
	MaxPerHour   int      `yaml:"max_per_customer_per_hour"`
}

// Inbox is one IMAP mailbox to watch.
type Inbox struct {
	Name               string   `yaml:"name"`
	Host               string   `yaml:"host"`
	Port               int      `yaml:"port"`
	TLS                string   `yaml:"tls"` // tls | starttls | none
	User               string   `yaml:"user"`
	PasswordEnv        string   `yaml:"password_env"`
	PasswordFile       string   `yaml:"password_file"`
	Mailbox            string   `yaml:"mailbox"`
	After              string   `yaml:"after"` // leave | seen | move
	MoveTo             string   `yaml:"move_to"`
	PollInterval       Duration `yaml:"poll_interval"`
	Idle               *bool    `yaml:"idle"`
	BatchSize          int      `yaml:"batch_size"`
	MaxBackoff         Duration `yaml:"max_backoff"` // reconnect delay cap while the server is down; 0: 2 min
	InsecureSkipVerify bool     `yaml:"insecure_skip_verify"`

	Password Secret `yaml:"-"`
}

// Addr is host:port.
func (i Inbox) Addr() string { return net.JoinHostPort(i.Host, strconv.Itoa(i.Port)) }

// SMTP is the relay outgoing mail goes through.
type SMTP struct {
	Host         string `yaml:"host"`
	Port         int    `yaml:"port"`
	TLS          string `yaml:"tls"`
	User         string `yaml:"user"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	From         string `yaml:"from"` // "Support <support@example.com>"
	Helo         string `yaml:"helo"`
	// Connections is the most SMTP connections that send in parallel: the
	// senders start with 4 and add one per accepted message while there is
	// work, and keep under the relay's own limit when it refuses one. A
	// crash can resend at most one notification per open connection (with
	// its original Message-ID).
	Connections        int  `yaml:"connections"`
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`

	Password Secret        `yaml:"-"`
	FromAddr *mail.Address `yaml:"-"`
}

// Addr is host:port.
func (s SMTP) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// HTTP is the health, metrics and API listener.
type HTTP struct {
	Listen    string `yaml:"listen"`
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`

	Token Secret `yaml:"-"`
}

// Threading configures the signed reply tokens in our Message-IDs.
type Threading struct {
	SecretEnv  string `yaml:"secret_env"`
	SecretFile string `yaml:"secret_file"`
	Domain     string `yaml:"domain"` // right-hand side of our Message-IDs

	Secret Secret `yaml:"-"`
}

// Log configures logging.
// Runtime tunes the Go runtime of the daemon.
type Runtime struct {
	// MemoryLimitMB is the Go runtime's soft memory limit in MiB
	// (debug.SetMemoryLimit): past it the garbage collector works harder
	// rather than let the heap grow, which keeps a backlog's burst of
	// allocation within a small machine's budget at some CPU cost. It is
	// soft: the daemon never fails for it. 0 means DefaultMemoryLimitMB;
	// -1 means no limit. The GOMEMLIMIT environment variable, when set,
	// wins.
	MemoryLimitMB int `yaml:"memory_limit_mb"`
}

type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// Secret is a resolved secret value that never prints itself.
type Secret struct{ value string }

// NewSecret wraps a value (tests and the demo).
func NewSecret(v string) Secret { return Secret{value: v} }

// Value returns the secret itself; call it only where it is used.
func (s Secret) Value() string { return s.value }

// Set reports whether a value is present.
func (s Secret) Set() bool { return s.value != "" }

func (s Secret) String() string {
	if s.value == "" {
		return "(unset)"
	}
	return "(redacted)"
}

// MarshalJSON hides the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// Duration is a time.Duration written as "90s", "4h" in YAML.
type Duration time.Duration

// UnmarshalYAML parses Go duration syntax.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 90s, 4h): %w", n.Line, n.Value, err)
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Load reads, decodes, applies defaults and validates a config file. The
// returned error lists every problem found.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data)
}

// Parse is Load on bytes, with secrets from the process environment.
func Parse(data []byte) (*Config, error) { return ParseWith(data, os.Getenv) }

// ParseWith is Parse with secrets resolved through getenv (the demo and
// tests pass their own).
func ParseWith(data []byte, getenv func(string) string) (*Config, error) {
	return parse(data, getenv, readSecretFile)
}

// parse is ParseWith with the secret files read through readFile (the
// fuzz target reads none).
func parse(data []byte, getenv func(string) string, readFile func(string) ([]byte, error)) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config: %w", err)
	}
	c.applyDefaults()
	if err := c.Validate(getenv, readFile); err != nil {
		return nil, err
	}
	return &c, nil
}

// maxSecretFileBytes bounds a *_file secret: a password or token is short,
// and a path to a device or a big file by mistake must not stall startup.
const maxSecretFileBytes = 64 << 10

// readSecretFile reads a secret file of at most maxSecretFileBytes.
func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretFileBytes {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("more than %d bytes: not a secret file", maxSecretFileBytes)}
	}
	return b, nil
}

// Defaults.
const (
	DefaultReactionTime       = 4 * time.Hour
	DefaultAckPerHour         = 3
	DefaultPollInterval       = 60 * time.Second
	DefaultBatchSize          = 500
	DefaultMaxAttachmentBytes = 10 << 20
	DefaultMaxMessageBytes    = 25 << 20
	DefaultMaxReadBytes       = 64 << 20
	DefaultMemoryLimitMB      = 64
)

func (c *Config) applyDefaults() {
	if c.Company.Timezone == "" {
		c.Company.Timezone = "UTC"
	}
	if c.Store.Path == "" {
		c.Store.Path = "complaintbot.db"
	}
	if c.Store.MaxAttachmentBytes == 0 {
		c.Store.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	if c.Store.MaxMessageBytes == 0 {
		c.Store.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.Store.MaxReadBytes == 0 {
		c.Store.MaxReadBytes = DefaultMaxReadBytes
	}
	if c.Ack.ReactionTime == 0 {
		c.Ack.ReactionTime = Duration(DefaultReactionTime)
	}
	if c.Ack.MaxPerHour == 0 {
		c.Ack.MaxPerHour = DefaultAckPerHour
	}
	if c.Runtime.MemoryLimitMB == 0 {
		c.Runtime.MemoryLimitMB = DefaultMemoryLimitMB
	}
	for i := range c.Inboxes {
		in := &c.Inboxes[i]
		if in.Mailbox == "" {
			in.Mailbox = "INBOX"
		}
		if in.After == "" {
			in.After = "seen"
		}
		if in.TLS == "" {
			in.TLS = "tls"
		}
		if in.Port == 0 {
			in.Port = map[string]int{"tls": 993}[in.TLS]
			if in.Port == 0 {
				in.Port = 143
			}
		}
		if in.PollInterval == 0 {
			in.PollInterval = Duration(DefaultPollInterval)
		}
		if in.BatchSize == 0 {
			in.BatchSize = DefaultBatchSize
		}
	}
	if c.SMTP.TLS == "" {
		c.SMTP.TLS = "starttls"
	}
	if c.SMTP.Port == 0 {
		c.SMTP.Port = map[string]int{"tls": 465, "starttls": 587}[c.SMTP.TLS]
		if c.SMTP.Port == 0 {
			c.SMTP.Port = 25
		}
	}
	if c.SMTP.Connections == 0 {
		c.SMTP.Connections = 16
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = "127.0.0.1:8025"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	c.applyStaffDefaults()
	c.applyWorkflowDefaults()
	c.Telegram.applyDefaults()
}
