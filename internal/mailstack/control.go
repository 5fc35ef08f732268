package mailstack

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

const portWait = 20 * time.Second

// StopDovecot stops Dovecot (IMAP and LMTP) and waits until its ports are closed.
// Postfix keeps accepting mail and queues it until StartDovecot. Needs Exclusive.
func (s *Stack) StopDovecot(t testing.TB) {
	t.Helper()
	s.control(t, "doveadm", "-c", s.DovecotConf, "stop")
	s.waitPorts(t, false, s.IMAPAddr, s.LMTPAddr)
}

// StartDovecot starts Dovecot again and waits until its ports answer. Needs Exclusive.
func (s *Stack) StartDovecot(t testing.TB) {
	t.Helper()
	s.control(t, "dovecot", "-c", s.DovecotConf)
	s.waitPorts(t, true, s.IMAPAddr, s.LMTPAddr)
}

// StopPostfix stops Postfix: SMTP submissions are refused until StartPostfix; mail already
// queued stays queued. Needs Exclusive.
func (s *Stack) StopPostfix(t testing.TB) {
	t.Helper()
	s.control(t, "postfix", "stop")
	s.waitPorts(t, false, s.SMTPAddr)
}

// StartPostfix starts Postfix again and waits until it accepts connections. Needs Exclusive.
func (s *Stack) StartPostfix(t testing.TB) {
	t.Helper()
	s.control(t, "postfix", "start")
	s.waitPorts(t, true, s.SMTPAddr)
}

// FlushQueue asks Postfix to retry deferred mail now instead of at its next queue run
// (every 5 s on this stack).
func (s *Stack) FlushQueue(t testing.TB) {
	t.Helper()
	run(t, "postqueue", "-f")
}

// restore runs at the end of an Exclusive test: the next test finds both servers up.
func (s *Stack) restore(t testing.TB) {
	t.Helper()
	if !answers(s.IMAPAddr) || !answers(s.LMTPAddr) {
		s.StartDovecot(t)
	}
	if !answers(s.SMTPAddr) {
		s.StartPostfix(t)
	}
}

func (s *Stack) control(t testing.TB, name string, args ...string) {
	t.Helper()
	if !s.exclusive {
		t.Fatalf("mailstack: stopping or starting a server needs the stack from Exclusive, not FromEnv")
	}
	run(t, name, args...)
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), portWait)
	defer cancel()
	// Output goes to a file, not a pipe: a daemon started here inherits it, and
	// exec would wait for a pipe's writers to close.
	out, err := os.CreateTemp(t.TempDir(), name)
	if err != nil {
		t.Fatalf("mailstack: %v", err)
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(out.Name())
		t.Fatalf("mailstack: %s %v: %v\n%s", name, args, err, msg)
	}
}

func (s *Stack) waitPorts(t testing.TB, open bool, addrs ...string) {
	t.Helper()
	deadline := time.Now().Add(portWait)
	for _, a := range addrs {
		for answers(a) != open {
			if time.Now().After(deadline) {
				t.Fatalf("mailstack: %s still open=%v after %v", a, !open, portWait)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func answers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
