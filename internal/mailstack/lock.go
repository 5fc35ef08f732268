package mailstack

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The stack is shared through two flock(2) files in Dir, so the rule holds across the test
// binaries `go test ./...` runs in parallel. stack.lock is held shared by FromEnv tests and
// exclusively by Exclusive ones. gate.lock keeps an exclusive waiter from starving: it holds
// the gate while waiting, and FromEnv passes the gate before taking its share.

const lockPoll = 20 * time.Millisecond

func (s *Stack) lock(t testing.TB, exclusive bool) {
	t.Helper()
	gate := s.acquire(t, "gate.lock", syscall.LOCK_EX)
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	f := s.acquire(t, "stack.lock", how)
	if exclusive {
		t.Cleanup(func() { gate.Close() })
	} else {
		gate.Close()
	}
	t.Cleanup(func() { f.Close() })
}

// acquire opens name in Dir and flocks it, polling so that a wait ends with the test's
// deadline instead of hanging the binary.
func (s *Stack) acquire(t testing.TB, name string, how int) *os.File {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(s.Dir, name), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("mailstack: %v", err)
	}
	deadline := lockDeadline(t)
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return f
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			t.Fatalf("mailstack: lock %s: %v", name, err)
		}
		if !logged {
			t.Logf("mailstack: waiting for %s (a fault test holds the stack, or waits for it)", name)
			logged = true
		}
		time.Sleep(lockPoll)
	}
}

// lockDeadline bounds a wait for the stack: a few minutes, and never past the test's
// deadline, so a test that asks for Exclusive while holding a share fails soon.
func lockDeadline(t testing.TB) time.Time {
	at := time.Now().Add(3 * time.Minute)
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if end, ok := d.Deadline(); ok && end.Add(-5*time.Second).Before(at) {
			at = end.Add(-5 * time.Second)
		}
	}
	return at
}
