package notify

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	sent    *prometheus.CounterVec // channel, kind
	failed  *prometheus.CounterVec // channel, kind, kind_of_failure
	pending prometheus.Gauge
	panics  prometheus.Counter
	window  prometheus.Gauge         // relay connections the senders may hold
	refused prometheus.Counter       // connections the relay refused while others were open
	relay   *prometheus.HistogramVec // step: how long the relay took to answer
	held    prometheus.Counter       // seconds final dots waited for the previous outcome's commit
}

// Steps of an SMTP transaction timed by complaintbot_smtp_reply_seconds.
const (
	stepEnvelope = "envelope" // MAIL, RCPT and DATA (pipelined when offered) and writing the message
	stepDot      = "dot"      // the final dot until the relay's verdict
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "complaintbot_notifications_sent_total",
			Help: "Notifications accepted by the relay.",
		}, []string{"channel", "kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "complaintbot_notifications_failed_total",
			Help: "Failed send attempts; temporary ones are retried, permanent ones are not.",
		}, []string{"channel", "kind", "kind_of_failure"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "complaintbot_outbox_pending",
			Help: "Notifications waiting to be sent (due or backing off).",
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "complaintbot_notify_panics_total",
			Help: "Panics recovered while sending; each failed its notification.",
		}),
		window: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "complaintbot_smtp_connections_allowed",
			Help: "SMTP connections the senders may hold now: grows with accepted messages up to smtp.connections, shrinks to what the relay takes.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "complaintbot_smtp_connections_refused_total",
			Help: "New SMTP connections the relay refused while others of ours were open (its per-client limit); the row was sent over another.",
		}),
		relay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "complaintbot_smtp_reply_seconds",
			Help:    "How long the relay took per message: step=envelope is MAIL, RCPT and DATA with the message written, step=dot the final dot until its verdict.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10), // 1 ms to 3.8 s
		}, []string{"step"}),
		held: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "complaintbot_smtp_dot_held_seconds_total",
			Help: "Time final dots waited until the previous message on their connection was recorded as sent (our store, not the relay).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.sent, m.failed, m.pending, m.panics, m.window, m.refused, m.relay, m.held} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
