package router

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values of complaintbot_messages_ignored_total{reason}: a fixed set,
// whatever reasons strangers' mail makes ingest write.
const (
	labelAutoReply   = "auto_reply"
	labelBounce      = "bounce"
	labelOwnMail     = "own_mail"
	labelQuarantined = "quarantined"
	labelDuplicate   = "duplicate"
	labelOther       = "other"
)

var ignoredLabels = []string{labelAutoReply, labelBounce, labelOwnMail, labelQuarantined, labelDuplicate, labelOther}

// ignoredLabel maps ingest's free-text reason ("auto-reply: ...",
// "bounce: ...") to its label.
func ignoredLabel(reason string) string {
	switch {
	case strings.HasPrefix(reason, "auto-reply"):
		return labelAutoReply
	case strings.HasPrefix(reason, "bounce"):
		return labelBounce
	case reason == ReasonOwnMail:
		return labelOwnMail
	}
	return labelOther
}

// metrics are the router's Prometheus series. They are updated after a
// batch commits, so a rolled-back batch counts nothing.
type metrics struct {
	ingested   *prometheus.CounterVec
	ignored    *prometheus.CounterVec
	complaints prometheus.Counter
	acks       *prometheus.CounterVec
	lag        prometheus.Histogram
	// Classification and assignment.
	classified     *prometheus.CounterVec
	assigned       *prometheus.CounterVec
	extremism      prometheus.Counter
	classifyPanics prometheus.Counter
}

// Label values of complaintbot_classified_total{kind}: complaint or the
// kind of non-complaint, a fixed set whatever the rules call them.
var classifiedKinds = []string{"complaint", "thanks", "question", "quote_request", "job_application", "spam", labelOther}

func classifiedLabel(c Classification) string {
	if c.IsComplaint {
		return "complaint"
	}
	for _, k := range classifiedKinds[1:] {
		if c.NotComplaint == k {
			return k
		}
	}
	return labelOther
}

// Label values of complaintbot_assignments_total{rule}.
const (
	ruleTeam         = "team"
	ruleTeamAnyLang  = "team_language_fallback"
	ruleDefaultOwner = "default_owner"
	ruleNotComplaint = "not_complaint"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "complaintbot_messages_ingested_total",
			Help: "Messages handed over by a source and committed (including noise and duplicates).",
		}, []string{"source"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "complaintbot_messages_ignored_total",
			Help: "Committed messages that opened or joined no complaint, by reason.",
		}, []string{"reason"}),
		complaints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "complaintbot_complaints_created_total",
			Help: "Complaints opened.",
		}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "complaintbot_acks_total",
			Help: "Acknowledgements of new complaints, queued or suppressed by the hourly cap.",
		}, []string{"result"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "complaintbot_ingest_lag_seconds",
			Help:    "Time from a message's arrival in the mailbox to its commit.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 86400},
		}),
	}
	m.addClassifyMetrics()
	for _, l := range ignoredLabels {
		m.ignored.WithLabelValues(l)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.ingested, m.ignored, m.complaints, m.acks, m.lag,
		m.classified, m.assigned, m.extremism, m.classifyPanics} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) addClassifyMetrics() {
	m.classified = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "complaintbot_classified_total",
		Help: "New messages classified: complaint, or the kind of message that is not one.",
	}, []string{"kind"})
	m.assigned = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "complaintbot_assignments_total",
		Help: "Owners given to new records, by the rule that chose them.",
	}, []string{"rule"})
	m.extremism = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "complaintbot_extremism_hints_total",
		Help: "Complaints flagged for a human to look at (possible consumer extremism).",
	})
	m.classifyPanics = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "complaintbot_classifier_panics_total",
		Help: "Classifier panics recovered (the message was taken as a complaint).",
	})
	for _, k := range classifiedKinds {
		m.classified.WithLabelValues(k)
	}
	for _, r := range []string{ruleTeam, ruleTeamAnyLang, ruleDefaultOwner, ruleNotComplaint} {
		m.assigned.WithLabelValues(r)
	}
}

// record counts a committed batch.
func (m *metrics) record(source string, o *outcome, committed time.Time) {
	m.ingested.WithLabelValues(source).Add(float64(o.messages))
	for label, n := range o.ignored {
		m.ignored.WithLabelValues(label).Add(float64(n))
	}
	m.complaints.Add(float64(o.complaints))
	m.acks.WithLabelValues("queued").Add(float64(o.acks))
	m.acks.WithLabelValues("suppressed").Add(float64(o.acksSuppressed))
	for k, n := range o.classified {
		m.classified.WithLabelValues(k).Add(float64(n))
	}
	for rule, n := range o.assigned {
		m.assigned.WithLabelValues(rule).Add(float64(n))
	}
	m.extremism.Add(float64(o.extremism))
	for _, t := range o.received {
		if !t.IsZero() {
			m.lag.Observe(max(committed.Sub(t).Seconds(), 0))
		}
	}
}
