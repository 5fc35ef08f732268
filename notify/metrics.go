package notify

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	sent    *prometheus.CounterVec // channel, kind
	failed  *prometheus.CounterVec // channel, kind, kind_of_failure
	pending prometheus.Gauge
	panics  prometheus.Counter
	window  prometheus.Gauge   // relay connections the senders may hold
	refused prometheus.Counter // connections the relay refused while others were open
}

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
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.sent, m.failed, m.pending, m.panics, m.window, m.refused} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
