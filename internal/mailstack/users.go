package mailstack

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// NewUser creates a fresh mailbox in s.Domain and returns its address and password.
// The local part is prefix (reduced to [a-z0-9-]) plus a random suffix, so a name is
// never reused across tests or runs.
func (s *Stack) NewUser(t testing.TB, prefix string) (email, password string) {
	t.Helper()
	return s.NewUserAt(t, prefix, s.Domain)
}

// NewUserAt is NewUser in another of s.Domains (e.g. a customer's domain).
func (s *Stack) NewUserAt(t testing.TB, prefix, domain string) (email, password string) {
	t.Helper()
	if !slices.Contains(s.Domains, domain) {
		t.Fatalf("mailstack: domain %q is not one of %q", domain, s.Domains)
	}
	email = localPart(prefix) + "-" + randomHex(4) + "@" + domain
	password = randomHex(12)
	if err := s.AddUser(email, password); err != nil {
		t.Fatal(err)
	}
	return email, password
}

// AddUser creates the mailbox user email with password, for code outside tests (a load
// generator); tests use NewUser. It writes the user's own passwd-file under UsersDir
// atomically: Dovecot reads a new file at its first lookup, but rereads the shared
// PasswdFile at most once a second, so appending there could leave the user unknown
// for up to a second.
func (s *Stack) AddUser(email, password string) error {
	if email == "" || strings.ContainsAny(email, "/:\r\n") || strings.ContainsAny(password, ":\r\n") {
		return fmt.Errorf("mailstack: add user %q: unusable address or password", email)
	}
	tmp, err := os.CreateTemp(s.UsersDir, ".new-")
	if err != nil {
		return fmt.Errorf("mailstack: add user %s: %w", email, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = fmt.Fprintf(tmp, "%s:{PLAIN}%s::::::\n", strings.ToLower(email), password)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644) // the auth process reads it
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(s.UsersDir, strings.ToLower(email)))
	}
	if err != nil {
		return fmt.Errorf("mailstack: add user %s: %w", email, err)
	}
	return nil
}

func localPart(prefix string) string {
	p := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, prefix)
	p = strings.Trim(p, "-")
	if p == "" {
		return "user"
	}
	return p
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}
