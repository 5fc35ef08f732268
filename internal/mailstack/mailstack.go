// Package mailstack lets integration tests use the real Dovecot (IMAP, LMTP) and Postfix
// (SMTP) that scripts/mailstack.sh runs on 127.0.0.1.
//
// The script's `env` command exports where the stack is; FromEnv reads it. When the stack is
// absent a test is skipped, unless CI or COMPLAINTBOT_REQUIRE_MAILSTACK=1 is set, in which
// case it fails: in CI an integration test never silently skips.
//
// Invariants:
//   - Every test gets fresh mailbox users (NewUser): nothing is ever wiped between tests,
//     because deleting big maildirs slows the disk for minutes and would race other tests.
//   - Test binaries of several packages share one stack. Tests that stop a server take the
//     stack with Exclusive, which waits until no FromEnv test holds it and blocks new ones
//     while it runs; when it ends both servers run again.
//   - Only 127.0.0.1 is ever dialled.
package mailstack

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// Environment variables written by `scripts/mailstack.sh env`.
const (
	EnvPresent     = "COMPLAINTBOT_MAILSTACK"         // "1" when the stack runs
	EnvRequire     = "COMPLAINTBOT_REQUIRE_MAILSTACK" // "1": a missing stack fails tests
	EnvIMAP        = "MAILSTACK_IMAP"                 // Dovecot IMAP, host:port
	EnvSMTP        = "MAILSTACK_SMTP"                 // Postfix smtpd, host:port
	EnvLMTP        = "MAILSTACK_LMTP"                 // Dovecot LMTP, host:port
	EnvPasswd      = "MAILSTACK_PASSWD"               // shared passwd-file (reread at most 1/s)
	EnvUsers       = "MAILSTACK_USERS"                // dir of per-user passwd-files
	EnvDomain      = "MAILSTACK_DOMAIN"               // default test domain
	EnvDomains     = "MAILSTACK_DOMAINS"              // all virtual domains, space separated
	EnvDir         = "MAILSTACK_DIR"                  // scratch dir: maildirs, logs, lock
	EnvDovecotConf = "MAILSTACK_DOVECOT_CONF"         // Dovecot config file
)

// Stack describes a running mail stack. All addresses are on 127.0.0.1.
type Stack struct {
	IMAPAddr    string   // Dovecot IMAP (no TLS, plaintext LOGIN allowed)
	SMTPAddr    string   // Postfix smtpd: accepts mail for Domains from loopback
	LMTPAddr    string   // Dovecot LMTP: delivers straight into a mailbox
	PasswdFile  string   // shared Dovecot passwd-file: a line appended counts within 1 s
	UsersDir    string   // one passwd-file per user, named by address: counts at once
	Domain      string   // default domain of NewUser
	Domains     []string // every domain Postfix delivers into Dovecot
	Dir         string   // scratch dir of the stack
	DovecotConf string   // Dovecot config, for StopDovecot/StartDovecot

	exclusive bool // taken with Exclusive: may stop and start servers
}

// Load reads the stack's location from the environment, for code outside tests such as a
// load generator. It fails when COMPLAINTBOT_MAILSTACK is not 1 or a variable is missing.
func Load() (*Stack, error) {
	if os.Getenv(EnvPresent) != "1" {
		return nil, fmt.Errorf("mailstack: %s is not 1 (run: eval \"$(scripts/mailstack.sh env)\")", EnvPresent)
	}
	s := &Stack{
		IMAPAddr:    os.Getenv(EnvIMAP),
		SMTPAddr:    os.Getenv(EnvSMTP),
		LMTPAddr:    os.Getenv(EnvLMTP),
		PasswdFile:  os.Getenv(EnvPasswd),
		UsersDir:    os.Getenv(EnvUsers),
		Domain:      os.Getenv(EnvDomain),
		Domains:     strings.Fields(os.Getenv(EnvDomains)),
		Dir:         os.Getenv(EnvDir),
		DovecotConf: os.Getenv(EnvDovecotConf),
	}
	if len(s.Domains) == 0 && s.Domain != "" {
		s.Domains = []string{s.Domain}
	}
	return s, s.validate()
}

func (s *Stack) validate() error {
	var missing []string
	for name, v := range map[string]string{
		EnvIMAP: s.IMAPAddr, EnvSMTP: s.SMTPAddr, EnvLMTP: s.LMTPAddr, EnvPasswd: s.PasswdFile,
		EnvUsers:  s.UsersDir,
		EnvDomain: s.Domain, EnvDir: s.Dir, EnvDovecotConf: s.DovecotConf,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("mailstack: environment lacks %s", strings.Join(missing, ", "))
	}
	return nil
}

// Required reports whether a missing stack must fail tests instead of skipping them.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv(EnvRequire) == "1"
}

// FromEnv returns the running stack, shared with other tests. It skips the test when the
// stack is absent, or fails it when Required. The share is released at test cleanup.
func FromEnv(t testing.TB) *Stack {
	t.Helper()
	s := lookup(t)
	s.lock(t, false)
	return s
}

// Exclusive is FromEnv for fault tests: it waits until no other test (in any package) uses
// the stack, keeps the stack to this test, and allows StopDovecot, StopPostfix and their
// Start counterparts. At cleanup it starts whatever was stopped. A test must not call it
// while it (or its parent) holds a FromEnv share: that would wait forever, so any wait
// for the stack fails after 3 minutes (or the test's deadline, if sooner).
func Exclusive(t testing.TB) *Stack {
	t.Helper()
	s := lookup(t)
	s.exclusive = true
	s.lock(t, true)
	t.Cleanup(func() { s.restore(t) })
	return s
}

func lookup(t testing.TB) *Stack {
	t.Helper()
	s, err := Load()
	if err == nil {
		return s
	}
	if Required() {
		t.Fatalf("mail stack required (CI or %s=1) but missing: %v", EnvRequire, err)
	}
	t.Skipf("no mail stack (%v); run scripts/test.sh", err)
	return nil
}
