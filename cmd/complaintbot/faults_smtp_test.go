package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"complaintbot/internal/mailstack"
	"complaintbot/router"
	"complaintbot/store"
)

// TestFaultRelayOutage keeps Postfix down while complaints arrive (over
// LMTP, which does not need it): the acknowledgements wait in the outbox
// as pending rows while /healthz reports the smtp check failing; the daemon
// is stopped and a new one started with Postfix still down, and it finds
// and retries the same rows (once each, 5-10 s after the first try); once Postfix is back every customer gets
// exactly one acknowledgement, with the Message-ID chosen when the row was
// queued.
func TestFaultRelayOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: stops Postfix")
	}
	st := mailstack.Exclusive(t)
	const n = 5
	support, spw := st.NewUser(t, "relay-support")
	var custs, pws []string
	for range n {
		c, p := st.NewUserAt(t, "relay-cust", st.Domains[len(st.Domains)-1])
		custs, pws = append(custs, c), append(pws, p)
	}
	run := fmt.Sprintf("relay-%d", time.Now().UnixNano())

	st.StopPostfix(t)
	down := time.Now()
	d := newFaultDaemon(t, st, spw, faultConfig{support: support, ackPerHour: 3, batch: 50})
	d.Start()
	for i, c := range custs {
		if err := st.Deliver(c, []string{support}, complaintMail(c, support, fmt.Sprintf("%s-%d@test", run, i), fmt.Sprintf("Broken kettle %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "every ack tried and pending, /healthz reporting smtp failing", func() bool {
		return d.Complaints() == n && d.Metric("complaintbot_outbox_pending") == n &&
			d.Metric("complaintbot_notifications_failed_total") >= n && d.failing("smtp")
	})
	d.Stop()
	rows := ackRows(d)
	for _, r := range rows {
		if r.Status != store.NotifyPending || r.Attempts < 1 || r.LastError == "" {
			t.Errorf("ack row %d after the first daemon: status %s, %d attempts, last error %q; want pending, tried, with the error",
				r.ID, r.Status, r.Attempts, r.LastError)
		}
	}
	if len(rows) != n {
		t.Fatalf("%d ack rows in the outbox, want %d", len(rows), n)
	}
	t.Logf("relay down: %d acks pending after the first daemon stopped (e.g. %q)", len(rows), rows[0].LastError)

	d.Start()
	waitFor(t, 30*time.Second, "the restarted daemon to retry every ack and report smtp failing", func() bool {
		return d.Metric("complaintbot_outbox_pending") == n &&
			d.Metric("complaintbot_notifications_failed_total") >= n && d.failing("smtp")
	})
	st.StartPostfix(t)
	up := time.Now()
	for i, c := range custs {
		ack := st.WaitForMail(t, c, pws[i], time.Minute, nil)
		checkAckOf(t, ack.Raw, fmt.Sprintf("%s-%d@test", run, i), rows)
	}
	sent := time.Since(up)
	waitFor(t, 30*time.Second, "an empty outbox", func() bool { return d.Metric("complaintbot_outbox_pending") == 0 })
	time.Sleep(3 * time.Second) // a duplicate, had one been sent, would be delivered by now
	total := 0
	for i, c := range custs {
		got := len(st.Messages(t, c, pws[i]))
		total += got
		if got != 1 {
			t.Errorf("%s received %d acknowledgements, want 1", c, got)
		}
	}
	d.Stop()
	attempts := 0
	for _, r := range ackRows(d) {
		attempts += r.Attempts
		if r.Status != store.NotifySent {
			t.Errorf("ack row %d is %s after the relay came back, want sent", r.ID, r.Status)
		}
	}
	t.Logf("relay outage %v across a daemon restart: %d acks received for %d complaints (%d attempts in all), all within %v of Postfix being back",
		up.Sub(down).Round(time.Second), total, n, attempts, sent.Round(time.Millisecond))
}

// ackRows lists the acknowledgement rows of the stopped daemon's outbox.
func ackRows(d *faultDaemon) []*store.Notification {
	var rows []*store.Notification
	d.View(func(tx store.Tx) error {
		return tx.ForEachNotification(func(n *store.Notification) error {
			if n.Kind == router.KindAck {
				rows = append(rows, n)
			}
			return nil
		})
	})
	return rows
}

// checkAckOf checks that raw is the acknowledgement of the complaint with
// Message-ID complaintID, sent with the Message-ID its outbox row holds.
func checkAckOf(t *testing.T, raw []byte, complaintID string, rows []*store.Notification) {
	t.Helper()
	h := headerOf(t, raw)
	irt, _ := h.MsgIDList("In-Reply-To")
	id, _ := h.MessageID()
	for _, r := range rows {
		if r.InReplyTo == complaintID {
			if len(irt) != 1 || irt[0] != complaintID || id != r.MessageID {
				t.Errorf("ack In-Reply-To %v Message-ID %s; want %s and the queued %s", irt, id, complaintID, r.MessageID)
			}
			return
		}
	}
	t.Errorf("no ack row answers %s (ack In-Reply-To %v)", complaintID, irt)
}

// TestFaultPermanentRejection has the real Postfix refuse an
// acknowledgement at RCPT with a 5xx: the row is failed at once, the
// complaint gets an ack_failed event carrying Postfix's reply, and it is
// not tried again.
//
// Postfix here accepts any recipient in its virtual domains and bounces
// later (Dovecot's LMTP refuses unknown users after the queue), and it
// relays anything for loopback clients, so neither gives a 5xx at RCPT.
// What it does refuse at RCPT is an unknown user of a local domain: an
// address literal of its own interface, [127.0.0.1], is a local domain,
// and local_recipient_maps (the Unix users) does not know the name:
// "550 5.1.1 <…@[127.0.0.1]>: Recipient address rejected: User unknown in
// local recipient table". The customer writes from such an address.
func TestFaultPermanentRejection(t *testing.T) {
	t.Parallel()
	st := mailstack.FromEnv(t)
	support, spw := st.NewUser(t, "reject-support")
	stranger := fmt.Sprintf("no-such-user-%d@[127.0.0.1]", time.Now().UnixNano()%1_000_000)
	complaintID := fmt.Sprintf("reject-%d@test", time.Now().UnixNano())

	d := newFaultDaemon(t, st, spw, faultConfig{support: support, ackPerHour: 3, batch: 50})
	d.Start()
	if err := st.Deliver(stranger, []string{support}, complaintMail(stranger, support, complaintID, "Refund")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the acknowledgement to fail", func() bool {
		return d.Complaints() == 1 && d.Metric("complaintbot_outbox_pending") == 0 &&
			d.Metric("complaintbot_notifications_failed_total") >= 1
	})
	// The first retry of a temporary failure comes 5-10 s after it: wait
	// past that to see that none is made.
	time.Sleep(12 * time.Second)
	d.Stop()

	rows := ackRows(d)
	if len(rows) != 1 {
		t.Fatalf("%d ack rows, want 1", len(rows))
	}
	r := rows[0]
	if r.Status != store.NotifyFailed || r.Attempts != 1 || !strings.HasPrefix(r.LastError, "550 5.1.1") {
		t.Errorf("ack row: status %s, %d attempts, last error %q; want failed after 1 attempt with Postfix's 550 5.1.1", r.Status, r.Attempts, r.LastError)
	}
	var failed []*store.Event
	d.View(func(tx store.Tx) error {
		events, err := tx.Events(r.ComplaintID)
		for _, e := range events {
			if e.Kind == "ack_failed" {
				failed = append(failed, e)
			}
		}
		return err
	})
	if len(failed) != 1 || !strings.Contains(failed[0].Text, "User unknown in local recipient table") {
		t.Fatalf("ack_failed events %v, want one carrying Postfix's reply", failed)
	}
	t.Logf("permanent rejection: row failed after %d attempt, event text %q", r.Attempts, failed[0].Text)
}
