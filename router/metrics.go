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
}

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
	for _, l := range ignoredLabels {
		m.ignored.WithLabelValues(l)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.ingested, m.ignored, m.complaints, m.acks, m.lag} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// record counts a committed batch.
func (m *metrics) record(source string, o *outcome, committed time.Time) {
	m.ingested.WithLabelValues(source).Add(float64(o.messages))
	for label, n := range o.ignored {
		m.ignored.WithLabelValues(label).Add(float64(n))
	}
	m.complaints.Add(float64(o.complaints))
	m.acks.WithLabelValues("queued").Add(float64(o.notifications))
	m.acks.WithLabelValues("suppressed").Add(float64(o.acksSuppressed))
	for _, t := range o.received {
		if !t.IsZero() {
			m.lag.Observe(max(committed.Sub(t).Seconds(), 0))
		}
	}
}
