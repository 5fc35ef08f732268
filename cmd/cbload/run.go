package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"complaintbot/internal/mailstack"
)

// runner holds one load run's state.
type runner struct {
	o       options
	s       *mailstack.Stack
	log     *slog.Logger
	dir     string
	support customer
	custs   []customer
	gen     *mailGen
	ws      watchers
	d       *daemonProc
	rep     *Report

	backlog []outMail // sent in the backlog phase (Raw dropped once sent)
	lat     []latencyMail
}

// latencyMail is one mail of the latency phase.
type latencyMail struct {
	outMail
	accepted time.Time
	seen     sighting
	idleAt   time.Time
}

// run performs a whole load run. The report is returned as far as it got,
// also with an error.
func run(ctx context.Context, s *mailstack.Stack, o options, log *slog.Logger) (*Report, error) {
	r := &runner{o: o, s: s, log: log, rep: &Report{Mails: o.N, LatencyMail: o.Latency, Customers: o.Customers,
		After: o.After, BatchSize: o.Batch, SMTPConnections: o.SMTPConns, LoadBefore: loadAvg()}}
	dir, err := os.MkdirTemp("", "cbload-")
	if err != nil {
		return nil, err
	}
	r.dir = dir
	if o.Keep {
		r.rep.Dir = dir
	} else {
		defer os.RemoveAll(dir)
	}
	err = r.run(ctx)
	if r.d != nil {
		// After a failure: SIGTERM first, so the daemon's log and CPU
		// profile are complete; a finished run has stopped it already.
		if _, err := r.d.stop(10 * time.Second); err != nil {
			slog.Warn("stopping the daemon after the failure", "err", err)
		}
	}
	if r.ws != nil {
		r.ws.close()
	}
	r.rep.LoadAfter = loadAvg()
	r.rep.judge()
	return r.rep, err
}

func (r *runner) run(ctx context.Context) error {
	if err := r.setup(ctx); err != nil {
		return err
	}
	if err := r.submitBacklog(ctx); err != nil {
		return err
	}
	if err := r.startDaemon(ctx); err != nil {
		return err
	}
	if err := r.workBacklog(ctx); err != nil {
		return err
	}
	settle := r.d.sampleCPU()
	if err := r.waitAcksArrived(ctx); err != nil {
		return err
	}
	before := r.d.sampleCPU()
	r.rep.Daemon.SettleCPU = cpuBetween(settle, before)
	if err := r.latencyPhase(ctx); err != nil {
		return err
	}
	r.rep.Latency.CPU = cpuBetween(before, r.d.sampleCPU())
	mem, err := r.d.memory()
	if err != nil {
		return err
	}
	r.sampleMemory()
	d := &r.rep.Daemon
	d.PeakRSSMB, d.RSSMB, d.RSSAnonMB, d.RSSFileMB = mb(mem.Peak), mb(mem.RSS), mb(mem.Anon), mb(mem.File)
	if fi, err := os.Stat(filepath.Join(r.dir, "complaintbot.db")); err == nil {
		d.StoreMB = mb(fi.Size())
	}
	if err := r.check(ctx); err != nil {
		return err
	}
	if mem, err := r.d.memory(); err == nil {
		d.PeakRSSAfterExportMB = mb(mem.Peak)
	}
	return r.stop()
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// setup creates the mailboxes, the mail generator, the binary and the
// customers' watchers.
func (r *runner) setup(ctx context.Context) error {
	run := randomHex(4)
	r.support = customer{Name: "Support", Email: fmt.Sprintf("cbload-support-%s@%s", run, r.s.Domain), Password: randomHex(12)}
	if err := r.s.AddUser(r.support.Email, r.support.Password); err != nil {
		return err
	}
	custDomain := r.s.Domains[len(r.s.Domains)-1]
	for i := range r.o.Customers {
		lang := langOrder[i%len(langOrder)]
		names := languages[lang].names
		c := customer{Name: names[(i/len(langOrder))%len(names)], Lang: lang, Password: randomHex(12),
			Email: fmt.Sprintf("cbload-%s-c%d@%s", run, i, custDomain)}
		if err := r.s.AddUser(c.Email, c.Password); err != nil {
			return err
		}
		r.custs = append(r.custs, c)
	}
	r.gen = &mailGen{rng: mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64())), run: run, domain: custDomain,
		support: r.support.Email, custs: r.custs, now: time.Now}
	if r.o.Bin == "" {
		r.log.Info("building complaintbot")
		bin, err := buildDaemon(ctx, r.dir)
		if err != nil {
			return err
		}
		r.o.Bin = bin
	}
	ws, err := openWatchers(ctx, r.s.IMAPAddr, r.custs)
	if err != nil {
		return err
	}
	r.ws = ws
	r.log.Info("mailboxes ready", "support", r.support.Email, "customers", len(r.custs), "dir", r.dir)
	return nil
}

// submitBacklog sends N mails through Postfix with the daemon stopped and
// waits until Dovecot has stored them all.
func (r *runner) submitBacklog(ctx context.Context) error {
	r.backlog = make([]outMail, r.o.N)
	size := 0
	for i := range r.backlog {
		r.backlog[i] = r.gen.next(i % len(r.custs))
		size += len(r.backlog[i].Raw)
	}
	r.rep.AvgMailKB = float64(size) / float64(r.o.N) / 1024
	ic, err := dialIMAP(r.s.IMAPAddr, r.support.Email, r.support.Password, nil)
	if err != nil {
		return err
	}
	defer ic.Close()
	r.log.Info("submitting the backlog through Postfix", "mails", r.o.N, "connections", r.o.Conns)
	start, mstart := time.Now(), sampleMachine()
	took, err := submitAll(ctx, r.s.SMTPAddr, r.o.Conns, r.backlog, r.custs, r.support.Email)
	if err != nil {
		return err
	}
	for i := range r.backlog {
		r.backlog[i].Raw = nil
	}
	sub := &r.rep.Submit
	sub.Connections, sub.AcceptSeconds, sub.AcceptPerSecond = r.o.Conns, took.Seconds(), perSecond(r.o.N, took.Seconds())
	r.log.Info("Postfix accepted the backlog", "seconds", took.Seconds(), "per_second", sub.AcceptPerSecond)
	err = r.waitProgress(ctx, "Dovecot storing the backlog", 200*time.Millisecond, func() (int, error) {
		n, err := countMessages(ic, "INBOX")
		return int(n), err
	}, r.o.N)
	if err != nil {
		return err
	}
	stored := time.Since(start).Seconds()
	sub.StoredSeconds, sub.StoredPerSecond = stored, perSecond(r.o.N, stored)
	sub.Machine = machineBetween(mstart, sampleMachine(), CPU{}, r.o.N)
	n, err := countMessages(ic, "INBOX")
	sub.InboxBeforeStart = int(n)
	return err
}

// waitProgress polls count every interval until it reaches want; it fails
// when the count stays the same for the run's timeout.
func (r *runner) waitProgress(ctx context.Context, what string, every time.Duration, count func() (int, error), want int) error {
	last, lastChange := -1, time.Now()
	for {
		n, err := count()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if n >= want {
			return nil
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > r.o.Timeout {
			return fmt.Errorf("%s: stuck at %d of %d for %v", what, n, want, r.o.Timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

func (r *runner) startDaemon(ctx context.Context) error {
	httpAddr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	imapHost, imapPort, err := splitHostPort(r.s.IMAPAddr)
	if err != nil {
		return err
	}
	smtpHost, smtpPort, err := splitHostPort(r.s.SMTPAddr)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(r.dir, "complaintbot.yaml")
	err = writeConfig(cfgPath, daemonConfig{
		StorePath: filepath.Join(r.dir, "complaintbot.db"), IMAPHost: imapHost, IMAPPort: imapPort,
		SupportUser: r.support.Email, After: r.o.After, BatchSize: r.o.Batch,
		SMTPHost: smtpHost, SMTPPort: smtpPort, HTTPListen: httpAddr,
		PasswordEnv: envIMAPPassword, Secret: envThreadSecret, TokenEnv: envAPIToken, LogLevel: "info",
		// The config refuses a negative (unlimited) cap; this one is never reached.
		AckPerCustomerPerHour: 1_000_000,
		SMTPConnections:       r.o.SMTPConns,
	})
	if err != nil {
		return err
	}
	token := randomHex(16)
	env := []string{envIMAPPassword + "=" + r.support.Password, envThreadSecret + "=" + randomHex(16), envAPIToken + "=" + token}
	r.log.Info("starting the daemon", "bin", r.o.Bin, "config", cfgPath)
	d, err := startDaemon(daemonSpec{Bin: r.o.Bin, Config: cfgPath, HTTPAddr: httpAddr, Token: token, Env: env,
		Log: filepath.Join(r.dir, "daemon.log"), CPUProfile: r.o.CPUProfile})
	if err != nil {
		return err
	}
	r.d = d
	return nil
}

// workBacklog watches /metrics from the daemon's start until every backlog
// mail is recorded and acknowledged.
func (r *runner) workBacklog(ctx context.Context) error {
	start, mstart := r.d.sampleCPU(), sampleMachine()
	start.at = r.d.started
	n := float64(r.o.N)
	var firstRec, allRec, firstAck, allAck time.Time
	var recCPU cpuSample
	var mrec machineSample
	var m map[string]float64
	lastProgress, lastSum := time.Now(), -1.0
	for allAck.IsZero() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.d.done:
			return fmt.Errorf("daemon exited during the backlog: %v (log: %s)", r.d.waitErr, filepath.Join(r.dir, "daemon.log"))
		case <-time.After(50 * time.Millisecond):
		}
		var err error
		m, err = r.d.metrics(ctx)
		now := time.Now()
		if err != nil {
			if now.Sub(r.d.started) > r.o.Timeout {
				return fmt.Errorf("daemon metrics: %w", err)
			}
			continue // not listening yet
		}
		r.sampleMemory()
		rec, sent := m[metricIngested], m[metricSent]
		if rec > 0 && firstRec.IsZero() {
			firstRec = now
		}
		if rec >= n && allRec.IsZero() {
			allRec, recCPU, mrec = now, r.d.sampleCPU(), sampleMachine()
			r.log.Info("backlog recorded", "seconds", now.Sub(r.d.started).Seconds())
		}
		if sent > 0 && firstAck.IsZero() {
			firstAck = now
		}
		if sent >= n {
			allAck = now
		}
		if rec+sent != lastSum {
			lastSum, lastProgress = rec+sent, now
		} else if now.Sub(lastProgress) > r.o.Timeout {
			return fmt.Errorf("backlog stuck for %v: of %d mails %.0f recorded, %.0f ignored, %.0f complaints created, %.0f acks queued or suppressed, %.0f sent, %.0f send failures",
				r.o.Timeout, r.o.N, rec, m[metricIgnored], m[metricCreated], m[metricQueued], sent, m[metricFailed])
		}
	}
	end, mend := r.d.sampleCPU(), sampleMachine()
	b := &r.rep.Backlog
	since := func(t time.Time) float64 { return t.Sub(r.d.started).Seconds() }
	b.FirstRecordedSeconds, b.RecordedSeconds = since(firstRec), since(allRec)
	b.RecordPerSecond = perSecond(r.o.N, b.RecordedSeconds)
	b.RecordPerSecondRunning = perSecond(r.o.N-1, allRec.Sub(firstRec).Seconds())
	b.FirstAckSeconds, b.AckedSeconds = since(firstAck), since(allAck)
	b.AckPerSecond = perSecond(r.o.N, b.AckedSeconds)
	b.AckPerSecondRunning = perSecond(r.o.N-1, allAck.Sub(firstAck).Seconds())
	b.AckVsAccept = b.AckPerSecond / r.rep.Submit.AcceptPerSecond
	b.NotificationsFailed = m[metricFailed]
	b.SMTPAllowed, b.SMTPRefused = m[metricConns], m[metricRefused]
	b.Senders = senderTime(m)
	b.CPU = cpuBetween(start, end)
	b.RecordCPU = cpuBetween(start, recCPU)
	b.RecordMachine = machineBetween(mstart, mrec, b.RecordCPU, r.o.N)
	b.AckMachine = machineBetween(mrec, mend, cpuBetween(recCPU, end), r.o.N)
	b.CPUPerMailMicros = (b.CPU.UserSeconds + b.CPU.SysSeconds) / n * 1e6
	r.log.Info("backlog acknowledged", "seconds", b.AckedSeconds, "acks_per_second", b.AckPerSecond)
	return nil
}

// sampleMemory keeps the largest anonymous RSS seen: VmHWM also counts the
// pages of the mmap'd store file, which are page cache, not the daemon's own.
func (r *runner) sampleMemory() {
	if m, err := r.d.memory(); err == nil {
		r.rep.Daemon.PeakAnonMB = max(r.rep.Daemon.PeakAnonMB, mb(m.Anon))
	}
}

// waitAcksArrived waits until every backlog ack is in a customer's INBOX.
func (r *runner) waitAcksArrived(ctx context.Context) error {
	err := r.waitProgress(ctx, "acks arriving in the customers' mailboxes", 250*time.Millisecond, r.ws.total, r.o.N)
	b := &r.rep.Backlog
	b.ArrivedSeconds = time.Since(r.d.started).Seconds()
	b.ArrivePerSecond = perSecond(r.o.N, b.ArrivedSeconds-b.FirstAckSeconds)
	if r.rep.Submit.StoredPerSecond > 0 {
		b.ArriveVsStored = b.ArrivePerSecond / r.rep.Submit.StoredPerSecond
	}
	return err
}

// latencyPhase sends mails one at a time at the configured rate and times
// each until its ack is in the customer's INBOX.
func (r *runner) latencyPhase(ctx context.Context) error {
	l := &r.rep.Latency
	l.Mails, l.Rate, l.PollMillis = r.o.Latency, r.o.Rate, ms(r.o.Poll)
	if r.o.Latency == 0 {
		return nil
	}
	if err := r.ws.markKnown(); err != nil {
		return err
	}
	var idle []*idleWatch
	if r.o.Idle {
		var err error
		if idle, err = openIdleWatches(ctx, r.s.IMAPAddr, r.custs); err != nil {
			return err
		}
		defer func() {
			for _, w := range idle {
				w.close()
			}
		}()
	}
	var mu sync.Mutex
	byID := map[string]*latencyMail{}
	pending := 0
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	g, gctx := errgroup.WithContext(wctx)
	for _, w := range r.ws {
		g.Go(func() error {
			return w.watch(gctx, r.o.Poll, func(irt string, s sighting) bool {
				mu.Lock()
				defer mu.Unlock()
				m := byID[irt]
				if m == nil || !m.seen.At.IsZero() {
					return false
				}
				m.seen = s
				pending--
				return true
			})
		})
	}
	sess, err := dialSession(r.s.SMTPAddr)
	if err != nil {
		return err
	}
	defer sess.close()
	r.log.Info("latency phase", "mails", r.o.Latency, "rate", r.o.Rate)
	r.lat = make([]latencyMail, r.o.Latency)
	tick := time.NewTicker(time.Duration(float64(time.Second) / r.o.Rate))
	defer tick.Stop()
	for i := range r.lat {
		m := &r.lat[i]
		m.outMail = r.gen.next(i % len(r.custs))
		mu.Lock()
		byID[m.ID] = m
		pending++
		mu.Unlock()
		r.ws[m.Customer].expect()
		if err := sess.send(r.custs[m.Customer].Email, r.support.Email, m.Raw); err != nil {
			return fmt.Errorf("latency mail %d: %w", i, err)
		}
		at := time.Now()
		mu.Lock()
		m.accepted, m.Raw = at, nil
		mu.Unlock()
		r.sampleMemory()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-gctx.Done():
			return g.Wait()
		case <-tick.C:
		}
	}
	err = r.waitProgress(ctx, "latency acks", 20*time.Millisecond, func() (int, error) {
		r.sampleMemory()
		mu.Lock()
		defer mu.Unlock()
		return r.o.Latency - pending, nil
	}, r.o.Latency)
	stopWatch()
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	if idle != nil {
		r.waitIdleClients(idle)
	}
	var visible, idleLat []time.Duration
	for i := range r.lat {
		m := &r.lat[i]
		visible = append(visible, m.seen.At.Sub(m.accepted))
		if !m.idleAt.IsZero() {
			idleLat = append(idleLat, m.idleAt.Sub(m.accepted))
		}
	}
	l.Visible, l.IdleClient = percentiles(visible), percentiles(idleLat)
	return nil
}

// idleGrace is how long after the last poll sighting the IDLE clients may
// still be told of their acks: Dovecot delays IDLE news by 0.5 s.
const idleGrace = 3 * time.Second

// waitIdleClients fills idleAt from the IDLE clients, waiting up to
// idleGrace for the last announcements.
func (r *runner) waitIdleClients(idle []*idleWatch) {
	deadline := time.Now().Add(idleGrace)
	for {
		missing := 0
		for i := range r.lat {
			m := &r.lat[i]
			if m.idleAt.IsZero() {
				if at, ok := idle[m.Customer].seenAt(m.seen.Seq); ok {
					m.idleAt = at
				} else {
					missing++
				}
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func openIdleWatches(ctx context.Context, addr string, custs []customer) ([]*idleWatch, error) {
	ws := make([]*idleWatch, len(custs))
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, c := range custs {
		g.Go(func() (err error) {
			ws[i], err = openIdleWatch(addr, c)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		for _, w := range ws {
			if w != nil {
				w.close()
			}
		}
		return nil, err
	}
	return ws, nil
}

// check exports everything through the daemon's API and reads every
// customer's INBOX, and compares both with what was sent.
func (r *runner) check(ctx context.Context) error {
	r.log.Info("checking every mail: daemon export and customers' mailboxes")
	facts, complaints, err := exportFacts(ctx, r.d.base, r.d.token)
	if err != nil {
		return err
	}
	acks, err := r.ws.arrivedAcks()
	if err != nil {
		return err
	}
	sent := make([]outMail, 0, len(r.backlog)+len(r.lat))
	sent = append(sent, r.backlog...)
	for _, m := range r.lat {
		sent = append(sent, m.outMail)
	}
	r.rep.Verdict = verify(sent, facts, complaints, acks)
	var toReg, toAck, toVis []time.Duration
	for _, m := range r.lat {
		f := facts[m.ID]
		if f == nil || f.registered.IsZero() || f.ackSent.IsZero() {
			continue
		}
		toReg = append(toReg, f.registered.Sub(m.accepted))
		toAck = append(toAck, f.ackSent.Sub(f.registered))
		toVis = append(toVis, m.seen.At.Sub(f.ackSent))
	}
	l := &r.rep.Latency
	l.ToRegistered, l.ToAckSent, l.AckToVisible = percentiles(toReg), percentiles(toAck), percentiles(toVis)
	return nil
}

// stop sends SIGTERM and records how the daemon ended.
func (r *runner) stop() error {
	start := time.Now()
	code, err := r.d.stop(30 * time.Second)
	r.rep.Daemon.ExitCode, r.rep.Daemon.StopSeconds = code, time.Since(start).Seconds()
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("daemon exited %d after SIGTERM (log: %s)", code, filepath.Join(r.dir, "daemon.log"))
	}
	if !r.rep.Verdict.OK {
		return errors.New("some mails were not recorded and acknowledged exactly once (see the report)")
	}
	return nil
}
