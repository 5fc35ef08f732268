package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"complaintbot/internal/mailstack"
)

// TestFaultDovecotOutage stops Dovecot for a minute in the middle of a
// 2,000-mail backlog: 1,500 mails wait in the support mailbox when the
// daemon starts, Dovecot is stopped once it has recorded some of them
// (killing its IMAP session mid catch-up), and the other 500 arrive through
// Postfix during the outage (Postfix queues them until Dovecot is back).
// While Dovecot is down /healthz answers 503 with the inbox check failing;
// afterwards every mail is recorded exactly once. The inbox's max_backoff
// is 5s so that the reconnect after a minute of failures is prompt (the
// default cap, 2 min, could add up to 2 min to the recovery).
// stopDovecot stops Dovecot and makes sure user's IMAP sessions end too.
// `doveadm stop` alone leaves established IMAP sessions running (their
// processes outlive the master on this stack, shutdown_clients
// notwithstanding), so a connected client would not notice the outage;
// under systemd the whole service cgroup dies. So: logins of user are
// refused first (its passwd-file is moved aside), its sessions are kicked,
// then Dovecot stops; the passwd-file is back for the restart. A reconnect
// in the second between the kick and the stop fails at LOGIN instead of at
// connect, which is a failure all the same.
func stopDovecot(t *testing.T, st *mailstack.Stack, user string) {
	t.Helper()
	passwd := filepath.Join(st.UsersDir, strings.ToLower(user))
	aside := passwd + ".outage"
	if err := os.Rename(passwd, aside); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := os.Rename(aside, passwd); err != nil {
			t.Fatal(err)
		}
	}()
	kick(t, st, user)
	st.StopDovecot(t)
}

func TestFaultDovecotOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: stops Dovecot for a minute")
	}
	st := mailstack.Exclusive(t)
	const before, during, customers = 1500, 500, 10
	const outage = 60 * time.Second
	support, spw := st.NewUser(t, "outage-support")
	var custs []string
	for range customers {
		c, _ := st.NewUserAt(t, "outage-cust", st.Domains[len(st.Domains)-1])
		custs = append(custs, c)
	}
	run := fmt.Sprintf("outage-%d", time.Now().UnixNano())
	mails := make([][]byte, before+during)
	for i := range mails {
		mails[i] = complaintMail(custs[i%customers], support, fmt.Sprintf("%s-%d@test", run, i), fmt.Sprintf("Order %d", i))
	}
	deliverAll(t, st, custs[0], support, mails[:before])

	d := newFaultDaemon(t, st, spw, faultConfig{support: support, ackPerHour: 1, batch: 50, maxBackoff: "5s"})
	d.Start()
	waitFor(t, 60*time.Second, "the first 100 complaints", func() bool { return d.Complaints() >= 100 })
	stopDovecot(t, st, support)
	down := time.Now()
	atStop := d.Complaints()
	waitFor(t, 20*time.Second, "/healthz to report the inbox failing", func() bool { return d.failing("inbox:support") })
	t.Logf("Dovecot stopped with %d of %d mails recorded; /healthz 503 (inbox failing) after %v",
		atStop, before+during, time.Since(down).Round(time.Millisecond))
	sendAll(t, st, custs[0], support, mails[before:])
	time.Sleep(time.Until(down.Add(outage)))
	if !d.failing("inbox:support") {
		t.Errorf("/healthz does not report the inbox failing at the end of the outage")
	}

	st.StartDovecot(t)
	up := time.Now()
	st.FlushQueue(t)
	waitFor(t, 2*time.Minute, "every mail to be recorded", func() bool { return d.Complaints() >= before+during })
	recovery := time.Since(up)
	waitFor(t, 20*time.Second, "/healthz to report the inbox OK", func() bool {
		code, checks := d.health()
		return code == 200 && checks["inbox:support"]
	})
	reconnects := d.Metric("complaintbot_ingest_imap_reconnects_total")
	d.Stop()
	f := d.recordedOnce(run, before+during)
	t.Logf("Dovecot outage %v: %d mails recorded (%d distinct, %d duplicates, %d complaints); "+
		"all in %v after Dovecot was back; %v reconnects",
		up.Sub(down).Round(time.Second), before+during, f.distinct, f.duplicates, f.complaints,
		recovery.Round(time.Millisecond), reconnects)
}
