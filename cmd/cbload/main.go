// Command cbload is the end-to-end load test of complaintbot against the real
// mail stack (Postfix and Dovecot on loopback, scripts/mailstack.sh):
//
//	eval "$(scripts/mailstack.sh env)"
//	go run ./cmd/cbload [-n 10000] [-latency 200] [-customers 100] [-json]
//	                    [-smtp-connections 16] [-cpuprofile FILE]
//
// It runs `complaintbot run` as a subprocess, as in production, and measures:
//  1. Backlog: with the daemon stopped, N realistic complaint mails (Russian,
//     Lithuanian, English; plain, legacy charsets, HTML, attachments) are
//     submitted through Postfix over parallel reused SMTP connections (the
//     accept rate) until Dovecot holds them all. Then the daemon starts; its
//     /metrics say when all are recorded and all acknowledgements sent, and
//     the customers' mailboxes say when the acknowledgements arrived.
//  2. Latency: on the idle daemon, mails are sent one at a time; for each,
//     the time from Postfix's 250 to the acknowledgement being in the
//     customer's INBOX (a NOOP poll of that INBOX; and, separately, when an
//     IDLE client is told), split by the daemon's own event times.
//  3. The daemon's CPU (/proc/<pid>/stat) per phase and its peak RSS (VmHWM).
//
// At the end every mail must be recorded exactly once in a complaint of its
// own with exactly one acknowledgement sent, which arrived exactly once in
// the sender's mailbox; the daemon must exit 0 on SIGTERM.
//
// Invariants: each run creates fresh mailbox users (big maildirs are never
// wiped or reused); only 127.0.0.1 is dialled; the daemon is always stopped
// before cbload returns (with SIGTERM first, also after a failure, so its
// log and CPU profile are complete).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"complaintbot/internal/mailstack"
)

// options are the command's flags.
type options struct {
	N          int           // backlog mails
	Latency    int           // latency mails
	Customers  int           // customer mailboxes
	Bin        string        // complaintbot binary; "" builds one
	Keep       bool          // keep the run's directory
	CPUProfile string        // the daemon's CPU profile goes here
	JSON       bool          // print the report as JSON too
	After      string        // what the daemon does with processed mail: seen | move
	Batch      int           // inbox batch_size
	Conns      int           // parallel SMTP connections for the backlog
	SMTPConns  int           // the daemon's smtp.connections
	Rate       float64       // latency mails per second
	Poll       time.Duration // NOOP poll interval of the latency watchers
	Idle       bool          // also measure with IDLE clients
	Timeout    time.Duration // a phase making no progress for this long fails the run
}

func defaultOptions() options {
	return options{N: 10000, Latency: 200, Customers: 100, After: "move", Batch: 500, Conns: 8, SMTPConns: 16,
		Rate: 10, Poll: 10 * time.Millisecond, Idle: true, Timeout: time.Minute}
}

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(args []string, stdout, stderr io.Writer) int {
	o := defaultOptions()
	fs := flag.NewFlagSet("cbload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.N, "n", o.N, "backlog mails")
	fs.IntVar(&o.Latency, "latency", o.Latency, "mails of the latency phase, sent one at a time")
	fs.IntVar(&o.Customers, "customers", o.Customers, "customer mailboxes the mails come from")
	fs.StringVar(&o.Bin, "bin", "", "complaintbot binary (default: go build ./cmd/complaintbot into the run's temp dir)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "have the daemon write its CPU profile (go tool pprof) to this file")
	fs.BoolVar(&o.Keep, "keep", false, "keep the run's directory (config, store, daemon log)")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON too")
	fs.StringVar(&o.After, "after", o.After, "what the daemon does with recorded mail: seen or move")
	fs.IntVar(&o.Batch, "batch", o.Batch, "inbox batch_size of the daemon")
	fs.IntVar(&o.Conns, "conns", o.Conns, "parallel SMTP connections submitting the backlog")
	fs.IntVar(&o.SMTPConns, "smtp-connections", o.SMTPConns, "the daemon's smtp.connections: the most parallel acknowledgement sends (a crash can resend at most this many)")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "latency mails per second")
	fs.DurationVar(&o.Poll, "poll", o.Poll, "how often a latency watcher polls an INBOX with an ack due")
	fs.BoolVar(&o.Idle, "idle", o.Idle, "also time when an IDLE client hears of each ack")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "fail when a phase makes no progress for this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := o.validate(); err != nil {
		fmt.Fprintf(stderr, "cbload: %v\n", err)
		return 2
	}
	s, err := mailstack.Load()
	if err != nil {
		fmt.Fprintf(stderr, "cbload: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	release, err := mailstack.Share(s.Dir, 3*time.Minute)
	if err != nil {
		fmt.Fprintf(stderr, "cbload: %v\n", err)
		return 1
	}
	defer release()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	rep, err := run(ctx, s, o, log)
	if rep != nil {
		rep.writeText(stdout)
		if o.JSON {
			rep.writeJSON(stdout)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "cbload: %v\n", err)
		return 1
	}
	return 0
}

func (o options) validate() error {
	var errs []error
	if o.N < 1 || o.Latency < 0 || o.Customers < 1 || o.Conns < 1 || o.Batch < 1 {
		errs = append(errs, errors.New("-n, -customers, -conns and -batch must be at least 1, -latency at least 0"))
	}
	if o.After != "seen" && o.After != "move" {
		errs = append(errs, fmt.Errorf("-after %q is not seen or move", o.After))
	}
	if o.Rate <= 0 || o.Poll <= 0 || o.Timeout <= 0 {
		errs = append(errs, errors.New("-rate, -poll and -timeout must be positive"))
	}
	return errors.Join(errs...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}
