package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// Report is everything one load run measured.
type Report struct {
	Mails       int    `json:"mails"`
	LatencyMail int    `json:"latency_mails"`
	Customers   int    `json:"customers"`
	After       string `json:"after"`
	BatchSize   int    `json:"batch_size"`
	// SMTPConnections is the daemon's smtp.connections.
	SMTPConnections int     `json:"smtp_connections"`
	AvgMailKB       float64 `json:"avg_mail_kb"`
	Dir             string  `json:"dir,omitempty"` // kept with -keep
	// LoadBefore, LoadAfter are the machine's 1-minute load averages.
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`

	Submit  Submit   `json:"submit"`
	Backlog Backlog  `json:"backlog"`
	Latency Latency  `json:"latency"`
	Daemon  Daemon   `json:"daemon"`
	Verdict Verdict  `json:"verdict"`
	Targets []Target `json:"targets"`
}

// Submit is the backlog's way in: Postfix accepting it, Dovecot storing it.
type Submit struct {
	Connections      int     `json:"connections"`
	AcceptSeconds    float64 `json:"accept_seconds"`
	AcceptPerSecond  float64 `json:"accept_per_second"`
	StoredSeconds    float64 `json:"stored_seconds"` // from the first submission until Dovecot holds all
	StoredPerSecond  float64 `json:"stored_per_second"`
	InboxBeforeStart int     `json:"inbox_before_start"`
	// Machine is the whole machine from the first submission until Dovecot
	// held all: Postfix and Dovecot's CPU per mail, in and delivered.
	Machine Machine `json:"machine"`
}

// Backlog is the daemon working off the backlog; times are from its start.
type Backlog struct {
	FirstRecordedSeconds   float64 `json:"first_recorded_seconds"`
	RecordedSeconds        float64 `json:"recorded_seconds"`
	RecordPerSecond        float64 `json:"record_per_second"`
	RecordPerSecondRunning float64 `json:"record_per_second_after_first"`
	AckedSeconds           float64 `json:"acked_seconds"`
	AckPerSecond           float64 `json:"ack_per_second"`
	FirstAckSeconds        float64 `json:"first_ack_seconds"`
	AckPerSecondRunning    float64 `json:"ack_per_second_after_first"`
	AckVsAccept            float64 `json:"ack_vs_accept"` // AckPerSecond / Submit.AcceptPerSecond
	ArrivedSeconds         float64 `json:"arrived_seconds"`
	// ArrivePerSecond is acks from the first sent until all were in the
	// customers' INBOXes; ArriveVsStored compares it with the rate at which
	// Postfix took the backlog in and Dovecot stored it: both count mail
	// accepted and delivered, where the accept rate counts Postfix's burst
	// with its deliveries still queued.
	ArrivePerSecond     float64 `json:"arrive_per_second"`
	ArriveVsStored      float64 `json:"arrive_vs_stored"`
	NotificationsFailed float64 `json:"notifications_failed"`
	// SMTPAllowed is how many relay connections the daemon's senders
	// could hold once all acks were sent (its window, up to
	// smtp.connections); SMTPRefused, how many one more the relay refused.
	SMTPAllowed float64 `json:"smtp_connections_allowed"`
	SMTPRefused float64 `json:"smtp_connections_refused"`
	// Senders is where the daemon's senders spent their time per ack.
	Senders          SenderTime `json:"sender_time"`
	RecordCPU        CPU        `json:"record_cpu"` // from the start until all were recorded
	CPU              CPU        `json:"cpu"`        // from the start until all acks were sent
	CPUPerMailMicros float64    `json:"cpu_per_mail_us"`
	RecordMachine    Machine    `json:"record_machine"` // from the start until all were recorded
	AckMachine       Machine    `json:"ack_machine"`    // from all recorded until all acks were sent
}

// SenderTime is the daemon's senders' time per message, averaged over the
// backlog, from its metrics: waiting for the relay (the envelope, with the
// message written; the final dot until its verdict), and holding a final
// dot until the connection's previous message was recorded (the daemon's
// own commit).
type SenderTime struct {
	EnvelopeMillis float64 `json:"relay_envelope_ms"`
	DotMillis      float64 `json:"relay_dot_ms"`
	HeldMillis     float64 `json:"held_for_commit_ms"`
}

func senderTime(m map[string]float64) SenderTime {
	avg := func(sum, n float64) float64 {
		if n == 0 {
			return 0
		}
		return 1000 * sum / n
	}
	return SenderTime{
		EnvelopeMillis: avg(m[metricEnvelopeSum], m[metricEnvelopeCount]),
		DotMillis:      avg(m[metricDotSum], m[metricDotCount]),
		HeldMillis:     avg(m[metricHeld], m[metricDotCount]),
	}
}

// Latency is the phase of single mails on an idle daemon.
type Latency struct {
	Mails        int         `json:"mails"`
	Rate         float64     `json:"rate_per_second"`
	PollMillis   float64     `json:"poll_ms"`
	Visible      Percentiles `json:"visible"`        // SMTP accept -> ack in the customer's INBOX (NOOP poll)
	IdleClient   Percentiles `json:"idle_client"`    // SMTP accept -> EXISTS pushed to an IDLE client
	ToRegistered Percentiles `json:"to_registered"`  // SMTP accept -> complaint committed
	ToAckSent    Percentiles `json:"to_ack_sent"`    // committed -> relay accepted the ack
	AckToVisible Percentiles `json:"ack_to_visible"` // relay accepted -> in the INBOX
	CPU          CPU         `json:"cpu"`
}

// Daemon is the process as a whole.
type Daemon struct {
	PeakRSSMB            float64 `json:"peak_rss_mb"`              // VmHWM after the load, before the export
	PeakRSSAfterExportMB float64 `json:"peak_rss_after_export_mb"` // VmHWM after the full export
	PeakAnonMB           float64 `json:"peak_anon_mb"`             // largest RssAnon sampled (every 50 ms in the backlog)
	RSSMB                float64 `json:"rss_mb"`                   // VmRSS after the load
	RSSAnonMB            float64 `json:"rss_anon_mb"`              // of which heap and stacks
	RSSFileMB            float64 `json:"rss_file_mb"`              // of which mapped files (the bbolt file)
	StoreMB              float64 `json:"store_mb"`                 // size of the bbolt file
	SettleCPU            CPU     `json:"settle_cpu"`               // between backlog and latency phase: ack delivery, idle
	ExitCode             int     `json:"exit_code"`
	StopSeconds          float64 `json:"stop_seconds"`
}

// Percentiles of a set of durations, in milliseconds.
type Percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// Target is one goal of issue 2 and whether the run met it.
type Target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	OK   bool   `json:"ok"`
}

func percentiles(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) float64 { // nearest rank
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return ms(s[max(i, 0)])
	}
	return Percentiles{N: len(s), P50: rank(0.5), P90: rank(0.9), P99: rank(0.99), Max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func perSecond(n int, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(n) / secs
}

func (r *Report) judge() {
	b, l, d := r.Backlog, r.Latency, r.Daemon
	r.Targets = []Target{
		{"backlog recorded (from daemon start)", ">= 5000 mails/s", fmt.Sprintf("%.0f mails/s", b.RecordPerSecond), b.RecordPerSecond >= 5000},
		{"acks sent vs Postfix accept rate", ">= 80%", fmt.Sprintf("%.0f%% (%.0f/s vs %.0f/s)", 100*b.AckVsAccept, b.AckPerSecond, r.Submit.AcceptPerSecond), b.AckVsAccept >= 0.8},
		{"new mail -> ack visible, p99", "< 1000 ms", fmt.Sprintf("%.0f ms", l.Visible.P99), l.Visible.N > 0 && l.Visible.P99 < 1000},
		{"daemon peak RSS (VmHWM, incl. mmap'd store)", "< 100 MB", fmt.Sprintf("%.1f MB (anonymous peak %.1f MB)", d.PeakRSSMB, d.PeakAnonMB), d.PeakRSSMB > 0 && d.PeakRSSMB < 100},
		{"every mail recorded once and acked once", "all", fmt.Sprintf("%d/%d recorded, %d acked, %d arrived", r.Verdict.RecordedOnce, r.Verdict.Sent, r.Verdict.AckedOnce, r.Verdict.AckArrivedOnce), r.Verdict.OK},
		{"clean stop on SIGTERM", "exit 0", fmt.Sprintf("exit %d in %.3f s", d.ExitCode, d.StopSeconds), d.ExitCode == 0},
	}
}

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *Report) writeText(w io.Writer) {
	s, b, l, d := r.Submit, r.Backlog, r.Latency, r.Daemon
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("complaintbot load: %d backlog mails + %d latency mails from %d customers (avg %.1f KB), after=%s, batch=%d, smtp.connections=%d",
		r.Mails, r.LatencyMail, r.Customers, r.AvgMailKB, r.After, r.BatchSize, r.SMTPConnections)
	p("machine load average (1 min): %s at the start, %s at the end (2 cores; other work slows every figure)", r.LoadBefore, r.LoadAfter)
	p("")
	p("Backlog in (daemon stopped)")
	p("  Postfix accepted   %6d mails in %6.2f s = %6.0f mails/s (%d SMTP connections, each reused)", r.Mails, s.AcceptSeconds, s.AcceptPerSecond, s.Connections)
	p("  Dovecot stored all           after %6.2f s = %6.0f mails/s", s.StoredSeconds, s.StoredPerSecond)
	p("  machine: %.2f of 2 cores busy; Postfix+Dovecot+cbload %.0f µs CPU per mail", s.Machine.BusyCores, s.Machine.OtherPerMailMicros)
	p("Backlog out (daemon started; times from its exec)")
	p("  first recorded             at %6.2f s", b.FirstRecordedSeconds)
	p("  all recorded               at %6.2f s = %6.0f mails/s (%.0f/s after the first)", b.RecordedSeconds, b.RecordPerSecond, b.RecordPerSecondRunning)
	p("  first ack sent             at %6.2f s", b.FirstAckSeconds)
	p("  all acks sent              at %6.2f s = %6.0f acks/s (%.0f/s after the first) = %.0f%% of Postfix's accept rate", b.AckedSeconds, b.AckPerSecond, b.AckPerSecondRunning, 100*b.AckVsAccept)
	p("  all acks in customers' INBOXes at %6.2f s = %6.0f acks/s from the first = %.0f%% of the rate Postfix took in and Dovecot stored the backlog", b.ArrivedSeconds, b.ArrivePerSecond, 100*b.ArriveVsStored)
	p("  send failures %.0f; SMTP connections allowed at the end %.0f (of smtp.connections %d), refused by the relay %.0f",
		b.NotificationsFailed, b.SMTPAllowed, r.SMTPConnections, b.SMTPRefused)
	st := b.Senders
	p("  each sender's time per ack: relay %.1f ms (MAIL..DATA and the message %.1f ms, final dot to 250 %.1f ms); dot held for the daemon's own commit %.1f ms",
		st.EnvelopeMillis+st.DotMillis, st.EnvelopeMillis, st.DotMillis, st.HeldMillis)
	p("  daemon CPU until all recorded:  user %.2f s + sys %.2f s = %.2f cores over %.2f s", b.RecordCPU.UserSeconds, b.RecordCPU.SysSeconds, b.RecordCPU.Cores, b.RecordCPU.WallSeconds)
	p("  daemon CPU until all acks sent: user %.2f s + sys %.2f s = %.2f cores over %.2f s, %.0f µs/mail", b.CPU.UserSeconds, b.CPU.SysSeconds, b.CPU.Cores, b.CPU.WallSeconds, b.CPUPerMailMicros)
	mach := func(phase string, m Machine) {
		p("  machine while %s: %.2f of 2 cores busy; daemon %.0f µs/mail, everything else (Postfix, Dovecot, cbload) %.0f µs/mail",
			phase, m.BusyCores, m.DaemonPerMailMicros, m.OtherPerMailMicros)
	}
	mach("recording", b.RecordMachine)
	mach("sending acks", b.AckMachine)
	p("")
	p("Latency: %d mails one at a time at %.0f/s, each from SMTP accept (250 after DATA) to:", l.Mails, l.Rate)
	row := func(name string, x Percentiles) {
		p("  %-44s n=%-4d p50 %6.0f ms  p90 %6.0f ms  p99 %6.0f ms  max %6.0f ms", name, x.N, x.P50, x.P90, x.P99, x.Max)
	}
	row(fmt.Sprintf("ack in customer's INBOX (NOOP every %.0f ms)", l.PollMillis), l.Visible)
	row("ack announced to an IDLE client (+Dovecot 0.5 s)", l.IdleClient)
	p("  where the time goes:")
	row("  accept -> complaint committed", l.ToRegistered)
	row("  committed -> relay accepted the ack", l.ToAckSent)
	row("  relay accepted -> ack in customer's INBOX", l.AckToVisible)
	p("  daemon CPU: user %.2f s + sys %.2f s over %.1f s", l.CPU.UserSeconds, l.CPU.SysSeconds, l.CPU.WallSeconds)
	p("")
	p("Daemon: peak RSS %.1f MB (after the full export: %.1f MB); RSS after the load %.1f MB = %.1f MB anonymous + %.1f MB mapped file (store file %.1f MB)",
		d.PeakRSSMB, d.PeakRSSAfterExportMB, d.RSSMB, d.RSSAnonMB, d.RSSFileMB, d.StoreMB)
	p("  largest anonymous RSS (heap, stacks) sampled during the load: %.1f MB", d.PeakAnonMB)
	p("  SIGTERM -> exit %d in %.3f s", d.ExitCode, d.StopSeconds)
	v := r.Verdict
	p("Checks: %d sent, %d complaints, %d recorded once, %d acked once, %d acks arrived once, %d other messages, %d unexpected acks",
		v.Sent, v.Complaints, v.RecordedOnce, v.AckedOnce, v.AckArrivedOnce, v.OtherMessages, v.UnexpectedAcks)
	for _, pr := range v.Problems {
		p("  PROBLEM: %s", pr)
	}
	if v.ProblemsOmitted > 0 {
		p("  ... and %d more problems", v.ProblemsOmitted)
	}
	p("")
	p("Targets (issue 2):")
	for _, t := range r.Targets {
		mark := "ok  "
		if !t.OK {
			mark = "MISS"
		}
		p("  %s %-46s want %-16s got %s", mark, t.Name, t.Want, t.Got)
	}
	if r.Dir != "" {
		p("\nkept: %s (config, store, daemon log)", r.Dir)
	}
}
