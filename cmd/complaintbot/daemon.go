package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"complaintbot/cmd/complaintbot/api"
	"complaintbot/configs"
	"complaintbot/ingest"
	"complaintbot/notify"
	"complaintbot/router"
	"complaintbot/store"
)

// daemonDeps are what tests and the demo inject; zero fields mean defaults.
type daemonDeps struct {
	Logger *slog.Logger
	Now    func() time.Time
	// TLSConfig is used for IMAP and SMTP connections (tests: self-signed).
	TLSConfig *tls.Config
	// NoSync turns off fsync in the store (demo and tests only).
	NoSync bool
	// TelegramPerChat spaces messages to one Telegram chat; zero means
	// notify's default (1s, Telegram's limit). Tests against a fake shorten it.
	TelegramPerChat time.Duration
	// TelegramPerSecond caps Telegram messages per second overall; zero
	// means notify's default (30, Telegram's limit). Benchmarks raise it.
	TelegramPerSecond int
}

// daemon is the wired program: one store, one router, one notifier, one
// worker per inbox and the HTTP listener.
type daemon struct {
	cfg      *configs.Config
	log      *slog.Logger
	st       *store.Bolt
	reg      *prometheus.Registry
	router   *router.Router
	notifier *notify.Notifier
	sources  []ingest.Source
	http     *http.Server
	ln       net.Listener
}

func newDaemon(cfg *configs.Config, deps daemonDeps) (*daemon, error) {
	d := &daemon{cfg: cfg, log: deps.Logger, reg: prometheus.NewRegistry()}
	if d.log == nil {
		d.log = slog.Default()
	}
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st, err := store.OpenBolt(cfg.Store.Path, store.BoltOptions{NoSync: deps.NoSync, Now: deps.Now, Logger: d.log.With("component", "store")})
	if err != nil {
		return nil, err
	}
	d.st = st
	if err := d.wire(deps); err != nil {
		st.Close()
		return nil, err
	}
	return d, nil
}

func (d *daemon) wire(deps daemonDeps) error {
	cfg := d.cfg
	n, err := notify.New(notify.Options{
		Store:    d.st,
		Telegram: notifyTelegram(cfg, deps),
		SMTP: notify.SMTPOptions{Addr: cfg.SMTP.Addr(), TLS: cfg.SMTP.TLS, TLSConfig: d.tlsConfig(deps, cfg.SMTP.Host, cfg.SMTP.InsecureSkipVerify),
			Username: cfg.SMTP.User, Password: cfg.SMTP.Password.Value(), HeloName: cfg.SMTP.Helo},
		From:        store.Address{Name: cfg.SMTP.FromAddr.Name, Email: cfg.SMTP.FromAddr.Address},
		CompanyName: cfg.Company.Name,
		Senders:     cfg.SMTP.Connections,
		Location:    cfg.Location,
		Now:         deps.Now,
		Logger:      d.log.With("component", "notify"),
		Registerer:  d.reg,
		Hold:        d.catchingUp,
	})
	if err != nil {
		return err
	}
	d.notifier = n
	cls, err := newClassifier(cfg)
	if err != nil {
		return err
	}
	r, err := router.New(router.Options{
		Store: d.st, Secret: []byte(cfg.Threading.Secret.Value()), Domain: cfg.Threading.Domain,
		ReactionTime: cfg.Ack.ReactionTime.D(), AckPerHour: cfg.Ack.MaxPerHour,
		Now: deps.Now, Logger: d.log.With("component", "router"), OnNotify: n.Kick, Registerer: d.reg,
		Classifier: cls, Assignment: routerAssignment(cfg),
		RepeatComplaints: cfg.Classify.Extremism.RepeatComplaints, RepeatWindow: cfg.Classify.Extremism.RepeatWindow.D(),
		Deadlines: routerDeadlines(cfg.Workflow),
	})
	if err != nil {
		return err
	}
	d.router = r
	norm := ingest.NormalizeOptions{MaxAttachmentBytes: cfg.Store.MaxAttachmentBytes, MaxTotalBytes: cfg.Store.MaxMessageBytes, Now: deps.Now}
	for _, in := range cfg.Inboxes {
		src, err := ingest.NewIMAPSource(ingest.IMAPOptions{
			Name: in.Name, Addr: in.Addr(), TLS: in.TLS, TLSConfig: d.tlsConfig(deps, in.Host, in.InsecureSkipVerify),
			Username: in.User, Password: in.Password.Value(), Mailbox: in.Mailbox,
			After: in.After, MoveTo: in.MoveTo, PollInterval: in.PollInterval.D(), DisableIdle: in.Idle != nil && !*in.Idle,
			BatchSize: in.BatchSize, BackoffMax: in.MaxBackoff.D(), MaxReadBytes: cfg.Store.MaxReadBytes, Store: d.st, Sink: r,
			Normalize: func(raw []byte) *store.Message {
				m := ingest.Normalize(raw, norm)
				r.Prepare(m) // classified and its language detected on the inbox's parallel workers, not in the transaction
				return m
			},
			Logger: d.log.With("component", "ingest", "inbox", in.Name),
			Now:    deps.Now, Registerer: d.reg,
		})
		if err != nil {
			return fmt.Errorf("inbox %s: %w", in.Name, err)
		}
		d.sources = append(d.sources, src)
	}
	if err := d.addTelegram(deps, r); err != nil {
		return err
	}
	d.http = &http.Server{Handler: api.New(api.Options{
		Store: d.st, Token: cfg.HTTP.Token.Value(), Gatherer: d.reg, Health: d.health,
		Logger: d.log.With("component", "api"), Actor: routerActor{r},
	}), ReadHeaderTimeout: 10 * time.Second}
	return nil
}

// holdBacklog is the catch-up size from which sending waits until it is
// recorded: on a machine shared with the relay, acknowledging a big backlog
// while reading it slows the reading; recorded first, it is safe and staff
// see it all. The customers concerned have waited for the backlog already;
// the notifier never waits more than its MaxHold (30 s) in a row. New mail
// in normal running never comes near this size.
const holdBacklog = 1000

// catchingUp reports whether an inbox is catching up at least holdBacklog
// messages.
func (d *daemon) catchingUp() bool {
	for _, s := range d.sources {
		if b, ok := s.(interface{ Backlog() int }); ok && b.Backlog() >= holdBacklog {
			return true
		}
	}
	return false
}

func (d *daemon) tlsConfig(deps daemonDeps, host string, insecure bool) *tls.Config {
	if deps.TLSConfig != nil {
		return deps.TLSConfig
	}
	return &tls.Config{ServerName: host, InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12} // #nosec G402 -- only when the operator sets insecure_skip_verify
}

func (d *daemon) health() []api.Check {
	var checks []api.Check
	for _, s := range d.sources {
		h := s.Health()
		checks = append(checks, api.Check{Name: checkName(s), OK: h.OK, Detail: h})
	}
	nh := d.notifier.Health()
	checks = append(checks, api.Check{Name: "smtp", OK: nh.OK, Detail: nh})
	return checks
}

// Listen binds the HTTP listener (split from Run so tests and the demo can
// learn the address).
func (d *daemon) Listen() (string, error) {
	ln, err := net.Listen("tcp", d.cfg.HTTP.Listen)
	if err != nil {
		return "", fmt.Errorf("http listen: %w", err)
	}
	d.ln = ln
	return ln.Addr().String(), nil
}

// Run works until ctx ends. Sources stop first, so every batch in flight is
// committed or not at all; then the notifier and the listener; the store is
// closed last.
func (d *daemon) Run(ctx context.Context) error {
	defer d.st.Close()
	if d.ln == nil {
		if _, err := d.Listen(); err != nil {
			return err
		}
	}
	d.log.Info("complaintbot running", "inboxes", len(d.sources), "http", d.ln.Addr().String(), "store", d.cfg.Store.Path)
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range d.sources {
		g.Go(func() error { return recovered(d.log, s.Name(), func() error { return s.Run(gctx) }) })
	}
	g.Go(func() error { return recovered(d.log, "notify", func() error { return d.notifier.Run(gctx) }) })
	g.Go(func() error {
		return recovered(d.log, "scheduler", func() error { return d.router.RunScheduler(gctx) })
	})
	g.Go(func() error {
		err := d.http.Serve(d.ln)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return d.http.Shutdown(sctx)
	})
	err := g.Wait()
	d.log.Info("complaintbot stopped")
	return err
}

// recovered runs a worker and turns a panic into an error, so one broken
// worker stops the daemon loudly instead of silently.
func recovered(log *slog.Logger, name string, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("worker panicked", "worker", name, "panic", p)
			err = fmt.Errorf("worker %s panicked: %v", name, p)
		}
	}()
	return fn()
}
