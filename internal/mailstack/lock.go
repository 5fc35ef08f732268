package mailstack

import (
	"errors"
	"fmt"
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
	f, err := flock(filepath.Join(s.Dir, name), how, lockDeadline(t), func() {
		t.Logf("mailstack: waiting for %s (a fault test holds the stack, or waits for it)", name)
	})
	if err != nil {
		t.Fatalf("mailstack: %v", err)
	}
	return f
}

// Share takes the stack in dir shared, as FromEnv does, for a program
// outside the tests (the load command): it passes gate.lock, then holds
// stack.lock shared until release, so no fault test (Exclusive) stops
// Dovecot or Postfix meanwhile. A fault test already running is waited
// for, up to wait.
func Share(dir string, wait time.Duration) (release func(), err error) {
	deadline := time.Now().Add(wait)
	gate, err := flock(filepath.Join(dir, "gate.lock"), syscall.LOCK_EX, deadline, nil)
	if err != nil {
		return nil, err
	}
	defer gate.Close()
	stack, err := flock(filepath.Join(dir, "stack.lock"), syscall.LOCK_SH, deadline, nil)
	if err != nil {
		return nil, err
	}
	return func() { stack.Close() }, nil
}

// flock opens path and flocks it with how, polling until deadline; waiting,
// when set, is called once if the lock is not free at once.
func flock(path string, how int, deadline time.Time, waiting func()) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if waiting != nil {
			waiting()
			waiting = nil
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
