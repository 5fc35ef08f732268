package mailstack

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Home returns the user's home dir as Dovecot's static userdb names it
// (scratch dir/mail/<domain>/<local part>); the maildir is Home/Maildir.
func (s *Stack) Home(email string) string {
	local, domain, _ := strings.Cut(strings.ToLower(email), "@")
	return filepath.Join(s.Dir, "mail", domain, local)
}

// SetSieve makes script (RFC 5228 Sieve) the user's active script, run by Dovecot's LMTP
// on every delivery: e.g. a `vacation` auto-responder (RFC 5230; this stack allows
// `:seconds`, RFC 6131, down to 1 second). Its replies go out through Postfix.
func (s *Stack) SetSieve(t testing.TB, email, script string) {
	t.Helper()
	home := s.Home(email)
	dir := filepath.Join(home, "sieve")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("mailstack: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "active.sieve"), []byte(script), 0o644); err != nil {
		t.Fatalf("mailstack: %v", err)
	}
	link := filepath.Join(home, ".dovecot.sieve")
	os.Remove(link)
	if err := os.Symlink("sieve/active.sieve", link); err != nil {
		t.Fatalf("mailstack: %v", err)
	}
	s.chownToMailUser(t, filepath.Dir(home), home, dir, filepath.Join(dir, "active.sieve"), link)
}

// chownToMailUser gives paths to the system user Dovecot delivers as, which must be able
// to create the maildir and the compiled script next to these files.
func (s *Stack) chownToMailUser(t testing.TB, paths ...string) {
	t.Helper()
	u, err := user.Lookup("vmail")
	if err != nil {
		t.Fatalf("mailstack: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range paths {
		if err := os.Lchown(p, uid, gid); err != nil {
			t.Fatalf("mailstack: %v", err)
		}
	}
}
