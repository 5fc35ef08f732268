package main

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"complaintbot/internal/mailstack"
)

// TestFaultFlood floods the support mailbox with 5,000 mails from one
// sender (over LMTP, as fast as Dovecot takes them) while the daemon runs,
// with a complaint from each of three other customers in the middle. All
// 5,000 are recorded once, the flooding sender gets only
// ack.max_per_customer_per_hour acknowledgements, and the other customers'
// acknowledgements arrive in their mailboxes within seconds of their mail,
// flood or not.
func TestFaultFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: 5,000 mails")
	}
	st := mailstack.FromEnv(t)
	const flood, ackCap, others = 5000, 3, 3
	const maxLatency = 10 * time.Second
	domain := st.Domains[len(st.Domains)-1]
	support, spw := st.NewUser(t, "flood-support")
	flooder, fpw := st.NewUserAt(t, "flooder", domain)
	run := fmt.Sprintf("flood-%d", time.Now().UnixNano())
	mails := make([][]byte, flood)
	for i := range mails {
		mails[i] = complaintMail(flooder, support, fmt.Sprintf("%s-f-%d@test", run, i), fmt.Sprintf("Complaint %d", i))
	}

	d := newFaultDaemon(t, st, spw, faultConfig{support: support, ackPerHour: ackCap, batch: 500})
	d.Start()
	latency := make([]time.Duration, others)
	errs := make([]error, others)
	var custs, pws []string
	var wg sync.WaitGroup
	chunk := flood / (others + 1)
	start := time.Now()
	for k := range others + 1 {
		deliverAll(t, st, flooder, support, mails[k*chunk:min((k+1)*chunk, flood)])
		if k == others {
			break
		}
		cust, pw := st.NewUserAt(t, "flood-other", domain)
		custs, pws = append(custs, cust), append(pws, pw)
		mail := complaintMail(cust, support, fmt.Sprintf("%s-o-%d@test", run, k), "My invoice is wrong")
		sent := time.Now()
		if err := st.Deliver(cust, []string{support}, mail); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			var at time.Time
			at, errs[k] = firstMailAt(st, cust, pw, time.Minute)
			latency[k] = at.Sub(sent)
		})
	}
	fed := time.Since(start)
	if fed > time.Minute {
		t.Logf("note: this machine took %v to take the flood, longer than the issue's minute", fed.Round(time.Second))
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			t.Errorf("other customer %d: %v", k, err)
		} else if latency[k] > maxLatency {
			t.Errorf("other customer %d got the acknowledgement %v after the mail, want under %v", k, latency[k], maxLatency)
		}
	}

	waitFor(t, 3*time.Minute, "every mail to be recorded and the outbox empty", func() bool {
		return d.Complaints() == flood+others && d.Metric("complaintbot_outbox_pending") == 0
	})
	recorded := time.Since(start)
	suppressed := d.Metric("complaintbot_acks_total", `result="suppressed"`)
	time.Sleep(3 * time.Second) // an ack over the cap, had one been sent, would be delivered by now
	floodAcks := len(st.Messages(t, flooder, fpw))
	for k, c := range custs {
		acks := st.Messages(t, c, pws[k])
		if len(acks) != 1 {
			t.Errorf("other customer %d received %d mails, want the one acknowledgement", k, len(acks))
			continue
		}
		h := headerOf(t, acks[0].Raw)
		if irt, _ := h.MsgIDList("In-Reply-To"); len(irt) != 1 || irt[0] != fmt.Sprintf("%s-o-%d@test", run, k) {
			t.Errorf("other customer %d: the mail received answers %v, not the complaint", k, irt)
		}
	}
	d.Stop()
	f := d.recordedOnce(run+"-f-", flood)
	d.recordedOnce(run+"-o-", others)
	if floodAcks != ackCap {
		t.Errorf("the flooding sender received %d acknowledgements, want the cap, %d", floodAcks, ackCap)
	}
	if suppressed != flood-ackCap {
		t.Errorf("%v acknowledgements suppressed, want %d", suppressed, flood-ackCap)
	}
	slices.Sort(latency)
	t.Logf("flood: %d mails from one sender delivered in %v, all %d recorded %v after the first (%d duplicates); "+
		"%d acks to the flooder (%v suppressed); other customers' acks arrived %v after their mail",
		flood, fed.Round(time.Millisecond), f.distinct, recorded.Round(time.Millisecond), f.duplicates,
		floodAcks, suppressed, latency)
}

// firstMailAt polls user's INBOX until it holds a message and returns when
// it was seen. It reports errors rather than failing the test, so that it
// can run in its own goroutine.
func firstMailAt(st *mailstack.Stack, user, password string, timeout time.Duration) (time.Time, error) {
	c, err := imapclient.DialInsecure(st.IMAPAddr, nil)
	if err != nil {
		return time.Time{}, err
	}
	defer c.Close()
	if err := c.Login(user, password).Wait(); err != nil {
		return time.Time{}, err
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			return time.Time{}, err
		}
		if sel.NumMessages > 0 {
			return time.Now(), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("no mail in %s within %v", user, timeout)
}
