package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// shareStack takes the mail stack's lock in shared mode, the protocol
// internal/mailstack follows for tests (FromEnv; see its lock.go): pass the
// exclusive gate.lock, then hold stack.lock shared. While cbload holds it no
// fault test (mailstack.Exclusive) stops Dovecot or Postfix under the run;
// a fault test that is already running is waited for, up to wait.
func shareStack(dir string, wait time.Duration) (release func(), err error) {
	deadline := time.Now().Add(wait)
	gate, err := flockFile(filepath.Join(dir, "gate.lock"), syscall.LOCK_EX, deadline)
	if err != nil {
		return nil, err
	}
	defer gate.Close()
	stack, err := flockFile(filepath.Join(dir, "stack.lock"), syscall.LOCK_SH, deadline)
	if err != nil {
		return nil, err
	}
	return func() { stack.Close() }, nil
}

func flockFile(path string, how int, deadline time.Time) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("mail stack lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("mail stack lock %s: %w", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loadAvg is the machine's 1-minute load average: other work on the two
// cores makes every figure worse, so the report shows it.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
