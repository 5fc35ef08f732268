package router

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"complaintbot/store"
)

func TestNewValidatesOptions(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no store", Options{Secret: testSecret}, "Store is required"},
		{"no secret", Options{Store: f.st}, "need at least 16"},
		{"short secret", Options{Store: f.st, Secret: []byte("short")}, "need at least 16"},
		{"bad domain", Options{Store: f.st, Secret: testSecret, Domain: "ex ample.com"}, "not usable"},
		{"header in domain", Options{Store: f.st, Secret: testSecret, Domain: "a.com\r\nBcc: x@y"}, "not usable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	f := newFixture(t, nil)
	r, err := New(Options{Store: f.st, Secret: testSecret})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if r.domain != DefaultDomain || r.reactionTime != DefaultReactionTime || r.ackPerHour != DefaultAckPerHour {
		t.Errorf("defaults: domain %q reaction %v ack/h %d", r.domain, r.reactionTime, r.ackPerHour)
	}
	if !strings.HasSuffix(r.NewMessageID(1), "@"+DefaultDomain) {
		t.Errorf("Message-ID %q lacks the default domain", r.NewMessageID(1))
	}
}

func TestNewComplaint(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.ReactionTime = 2 * time.Hour; o.Domain = "support.example.com" })
	m := mail("Ona Petraitė", "Ona@Example.LT", "a1@mail.example.lt", "Sugedusi prekė", "Laba diena, gavau sugedusią prekę. Prašau grąžinti pinigus.")
	m.References = []string{"root@mail.example.lt"}
	f.deliver(m)

	cust := f.customer("ona@example.lt")
	if cust.Name != "Ona Petraitė" || !slices.Equal(cust.Emails, []string{"ona@example.lt"}) || cust.Lang != LangLithuanian {
		t.Errorf("customer = %+v", cust)
	}
	c := f.onlyComplaint()
	now := f.clock.Now()
	if c.Stage != store.StageRegistered || c.Channel != store.ChannelEmail || c.Subject != "Sugedusi prekė" ||
		c.CustomerID != cust.ID || c.Lang != LangLithuanian || !c.DueAt.Equal(now.Add(2*time.Hour)) {
		t.Errorf("complaint = %+v", c)
	}
	if !strings.HasPrefix(c.Number, "C-2026-") {
		t.Errorf("number %q", c.Number)
	}
	stored := f.messageByID("a1@mail.example.lt")
	if stored == nil || stored.ComplaintID != c.ID || stored.CustomerID != cust.ID || stored.Status != store.StatusRecorded || stored.Source != "inbox" {
		t.Fatalf("stored message = %+v", stored)
	}
	if got := f.eventKinds(c.ID); !slices.Equal(got, []string{"registered", "ack_queued"}) {
		t.Errorf("events = %v", got)
	}
	reg := f.events(c.ID)[0]
	if reg.Actor != fmt.Sprintf("customer:%d", cust.ID) || reg.Fields["message_id"] != "a1@mail.example.lt" {
		t.Errorf("registered event = %+v", reg)
	}

	ns := f.notifications()
	if len(ns) != 1 {
		t.Fatalf("got %d notifications, want 1", len(ns))
	}
	n := ns[0]
	want := store.Notification{
		ID: n.ID, ComplaintID: c.ID, CustomerID: cust.ID, Kind: KindAck, Channel: store.ChannelEmail, Lang: LangLithuanian,
		To:        store.Address{Name: "Ona Petraitė", Email: "ona@example.lt"},
		Subject:   "Re: Sugedusi prekė [" + c.Number + "]",
		MessageID: n.MessageID, InReplyTo: "a1@mail.example.lt",
		References: []string{"root@mail.example.lt", "a1@mail.example.lt"},
		Data: map[string]string{
			"number": c.Number, "due": now.Add(2 * time.Hour).Format(time.RFC3339),
			"customer_name": "Ona Petraitė", "subject": "Sugedusi prekė",
		},
		Status: store.NotifyPending, NextAttempt: now, CreatedAt: now,
	}
	if !reflect.DeepEqual(*n, want) {
		t.Errorf("notification\n got %+v\nwant %+v", *n, want)
	}
	if id, ok := f.r.TokenComplaint(n.MessageID); !ok || id != c.ID || !strings.HasSuffix(n.MessageID, "@support.example.com") {
		t.Errorf("ack Message-ID %q: TokenComplaint = %d, %v", n.MessageID, id, ok)
	}
	if !slices.Equal(c.ThreadMessageIDs, []string{"a1@mail.example.lt", n.MessageID}) {
		t.Errorf("thread = %v", c.ThreadMessageIDs)
	}
	if want := []store.MinuteCount{{Minute: now.Unix() / 60, N: 1}}; !slices.Equal(cust.AckMinutes, want) {
		t.Errorf("AckMinutes = %v, want %v", cust.AckMinutes, want)
	}
	if f.notified.Load() != 1 {
		t.Errorf("OnNotify called %d times, want 1", f.notified.Load())
	}
	f.view(func(tx store.Tx) error {
		cur, err := tx.Cursor("inbox")
		if err != nil || cur.UIDValidity != 7 || cur.LastUID != 1 {
			t.Errorf("cursor = %+v, %v", cur, err)
		}
		return nil
	})
}

func TestReplyToAckJoinsWithoutNewAck(t *testing.T) {
	f := newFixture(t, nil)
	f.deliver(mail("", "kim@example.com", "k1@example.com", "Late delivery", "Where is my parcel?"))
	ack := f.notifications()[0]
	f.clock.Add(time.Hour)
	reply := replyTo(mail("Kim", "KIM@example.com", "k2@example.com", "Re: Late delivery ["+f.onlyComplaint().Number+"]", "Still nothing."), ack.MessageID, ack.References...)
	f.deliver(reply)

	c := f.onlyComplaint()
	if got := f.eventKinds(c.ID); !slices.Equal(got, []string{"registered", "ack_queued", "message_added"}) {
		t.Errorf("events = %v", got)
	}
	if n := len(f.notifications()); n != 1 {
		t.Errorf("got %d notifications, want 1 (follow-ups are not acknowledged)", n)
	}
	if f.notified.Load() != 1 {
		t.Errorf("OnNotify called %d times after a follow-up batch, want 1 in all", f.notified.Load())
	}
	if !c.UpdatedAt.Equal(f.clock.Now()) {
		t.Errorf("UpdatedAt = %v, want %v", c.UpdatedAt, f.clock.Now())
	}
	if !slices.Equal(c.ThreadMessageIDs, []string{"k1@example.com", ack.MessageID, "k2@example.com"}) {
		t.Errorf("thread = %v", c.ThreadMessageIDs)
	}
	if m := f.messageByID("k2@example.com"); m.ComplaintID != c.ID {
		t.Errorf("reply in complaint %d, want %d", m.ComplaintID, c.ID)
	}
	if cust := f.customer("kim@example.com"); cust.Name != "Kim" {
		t.Errorf("customer name %q, want the first usable display name", cust.Name)
	}
}

// Each way a follow-up can name its complaint joins it when the sender is
// the customer.
func TestFollowUpJoinsBy(t *testing.T) {
	tests := []struct {
		name   string
		follow func(first *store.Message, c *store.Complaint, ack *store.Notification) *store.Message
	}{
		{"token in In-Reply-To", func(_ *store.Message, _ *store.Complaint, ack *store.Notification) *store.Message {
			m := mail("", "p@example.com", "f@example.com", "Re: whatever", "more")
			m.InReplyTo = []string{ack.MessageID}
			return m
		}},
		{"token in References only", func(_ *store.Message, _ *store.Complaint, ack *store.Notification) *store.Message {
			m := mail("", "p@example.com", "f@example.com", "other subject", "more")
			m.References = []string{"unknown@x", ack.MessageID, "unknown2@x"}
			return m
		}},
		{"In-Reply-To the customer's message", func(first *store.Message, _ *store.Complaint, _ *store.Notification) *store.Message {
			return replyTo(mail("", "p@example.com", "f@example.com", "Re: Broken", "more"), first.MessageID)
		}},
		{"References the customer's message", func(first *store.Message, _ *store.Complaint, _ *store.Notification) *store.Message {
			m := mail("", "p@example.com", "f@example.com", "Broken again", "more")
			m.References = []string{first.MessageID, "lost@elsewhere"}
			return m
		}},
		{"subject tag", func(_ *store.Message, c *store.Complaint, _ *store.Notification) *store.Message {
			return mail("", "p@example.com", "f@example.com", "Fwd: about ["+c.Number+"] please", "more")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			first := mail("", "p@example.com", "first@example.com", "Broken", "It broke.")
			f.deliver(first)
			c, ack := f.onlyComplaint(), f.notifications()[0]
			f.deliver(tt.follow(first, c, ack))
			c = f.onlyComplaint()
			if m := f.messageByID("f@example.com"); m.ComplaintID != c.ID {
				t.Errorf("follow-up in complaint %d, want %d", m.ComplaintID, c.ID)
			}
			if len(f.notifications()) != 1 {
				t.Errorf("follow-up was acknowledged")
			}
		})
	}
}

func TestFollowUpAfterResolved(t *testing.T) {
	f := newFixture(t, nil)
	f.deliver(mail("", "r@example.com", "r1@example.com", "Refund", "Please refund."))
	err := f.st.Update(context.Background(), func(tx store.Tx) error {
		c, err := tx.Complaint(f.onlyComplaint().ID)
		if err != nil {
			return err
		}
		c.Stage = store.StageResolved
		return tx.PutComplaint(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.deliver(replyTo(mail("", "r@example.com", "r2@example.com", "Re: Refund", "Not received!"), "r1@example.com"))
	c := f.onlyComplaint()
	evs := f.events(c.ID)
	last := evs[len(evs)-1]
	if last.Kind != "message_added" || last.Fields["after_stage"] != store.StageResolved || last.Fields["message_id"] != "r2@example.com" {
		t.Errorf("last event = %+v", last)
	}
	if c.Stage != store.StageResolved {
		t.Errorf("stage %q: the router must not reopen (that is the workflow's job)", c.Stage)
	}
	if len(f.notifications()) != 1 {
		t.Errorf("follow-up was acknowledged")
	}
}

func TestNoise(t *testing.T) {
	f := newFixture(t, nil)
	auto := mail("", "ooo@example.com", "o1@example.com", "Out of office", "I am away")
	auto.Status, auto.Reason = store.StatusIgnored, "auto-reply: Auto-Submitted: auto-replied"
	bounce := mail("", "mailer-daemon@example.com", "b1@example.com", "Undelivered", "")
	bounce.Status, bounce.Reason = store.StatusIgnored, "bounce: multipart/report"
	broken := mail("", "", "", "", "")
	broken.Status, broken.Reason, broken.Raw = store.StatusQuarantined, "parse: bad MIME", []byte("garbage")
	noFrom := mail("", "not-an-address", "n1@example.com", "hi", "text")
	f.deliver(auto, bounce, broken, noFrom)

	if cs := f.complaints(); len(cs) != 0 {
		t.Errorf("noise opened %d complaints", len(cs))
	}
	if ns := f.notifications(); len(ns) != 0 {
		t.Errorf("noise was acknowledged")
	}
	if f.notified.Load() != 0 {
		t.Errorf("OnNotify called without outbox rows")
	}
	ms := f.messages()
	if len(ms) != 4 {
		t.Fatalf("stored %d messages, want 4", len(ms))
	}
	want := []struct{ status, reason string }{
		{store.StatusIgnored, auto.Reason},
		{store.StatusIgnored, bounce.Reason},
		{store.StatusQuarantined, "parse: bad MIME"},
		{store.StatusQuarantined, ReasonNoSender},
	}
	for i, m := range ms {
		if m.Status != want[i].status || m.Reason != want[i].reason || m.ComplaintID != 0 {
			t.Errorf("message %d: status %q reason %q complaint %d, want %v", i, m.Status, m.Reason, m.ComplaintID, want[i])
		}
	}
	if string(ms[2].Raw) != "garbage" {
		t.Errorf("quarantined raw bytes lost")
	}
	for label, n := range map[string]float64{labelAutoReply: 1, labelBounce: 1, labelQuarantined: 2} {
		if got := f.counter("complaintbot_messages_ignored_total", map[string]string{"reason": label}); got != n {
			t.Errorf("ignored{%s} = %v, want %v", label, got, n)
		}
	}
}

func TestDuplicates(t *testing.T) {
	f := newFixture(t, nil)
	a := mail("", "d@example.com", "d1@example.com", "Broken", "It broke.")
	f.deliver(a)
	again := *a
	f.deliver(&again, &again) // re-read after UIDVALIDITY changed, twice in one batch
	noiseA := mail("", "ooo@example.com", "o1@example.com", "Away", "away")
	noiseA.Status, noiseA.Reason = store.StatusIgnored, "auto-reply: X-Autoreply"
	noiseB := *noiseA
	f.deliver(noiseA, &noiseB)

	if n := len(f.messages()); n != 2 {
		t.Errorf("stored %d messages, want 2 (duplicates not stored again)", n)
	}
	if got := f.counter("complaintbot_messages_ignored_total", map[string]string{"reason": labelDuplicate}); got != 3 {
		t.Errorf("duplicates counted %v, want 3", got)
	}

	reused := withHash(mail("", "d@example.com", "d1@example.com", "Another thing", "Different text."), "x")
	f.deliver(reused)
	var withID int
	for _, m := range f.messages() {
		if m.MessageID == "d1@example.com" {
			withID++
			if m.ComplaintID == 0 {
				t.Errorf("message with a reused Message-ID not recorded normally: %+v", m)
			}
		}
	}
	if withID != 2 {
		t.Errorf("%d messages carry the reused Message-ID, want 2", withID)
	}

	// Same bytes hash but another Message-ID: not the same mail by the
	// contract (both must match), so it is recorded.
	sameHash := mail("", "d@example.com", "d9@example.com", "Broken", "It broke.")
	sameHash.ContentHash = a.ContentHash
	f.deliver(sameHash)
	if f.messageByID("d9@example.com") == nil {
		t.Errorf("message with a known hash but a new Message-ID was dropped")
	}
}

func TestCustomerRecords(t *testing.T) {
	f := newFixture(t, nil)
	f.deliver(mail("", "Same@Example.com", "s1@example.com", "one", "first"))
	f.deliver(mail("Sam Same", "same@EXAMPLE.com", "s2@example.com", "two", "second"))
	f.deliver(mail("Other Name", "same@example.com", "s3@example.com", "three", "third"))
	c := f.customer("same@example.com")
	if c.Name != "Sam Same" {
		t.Errorf("name %q, want the first display name kept", c.Name)
	}
	var ids []uint64
	for _, m := range f.messages() {
		ids = append(ids, m.CustomerID)
	}
	if !slices.Equal(ids, []uint64{c.ID, c.ID, c.ID}) {
		t.Errorf("customer ids %v, want all %d", ids, c.ID)
	}
}

func TestAckRateLimit(t *testing.T) {
	f := newFixture(t, nil)
	var batch []*store.Message
	for i := range 4 {
		batch = append(batch, mail("", "flood@example.com", fmt.Sprintf("fl%d@example.com", i), fmt.Sprintf("Issue %d", i), "text"))
	}
	f.deliver(batch...)
	f.clock.Add(30 * time.Minute)
	f.deliver(mail("", "flood@example.com", "fl4@example.com", "Issue 4", "text"))
	f.deliver(mail("", "other@example.com", "ot@example.com", "Mine", "text"))
	f.clock.Add(31 * time.Minute) // the first three acks are now over an hour old
	f.deliver(mail("", "flood@example.com", "fl5@example.com", "Issue 5", "text"))

	perCustomer := map[string]int{}
	for _, n := range f.notifications() {
		perCustomer[n.To.Email]++
	}
	if perCustomer["flood@example.com"] != 4 || perCustomer["other@example.com"] != 1 {
		t.Errorf("acks per customer = %v, want flood 3+1 after the hour, other 1", perCustomer)
	}
	cs := f.complaints()
	if len(cs) != 7 {
		t.Fatalf("got %d complaints, want 7 (every mail recorded)", len(cs))
	}
	suppressed := 0
	for _, c := range cs {
		for _, e := range f.events(c.ID) {
			if e.Kind == "ack_suppressed" {
				suppressed++
				if e.Fields["reason"] != "rate limit 3/hour" {
					t.Errorf("reason %q", e.Fields["reason"])
				}
				if len(c.ThreadMessageIDs) != 1 {
					t.Errorf("suppressed ack's complaint thread = %v", c.ThreadMessageIDs)
				}
			}
		}
	}
	if suppressed != 2 {
		t.Errorf("%d suppressed, want 2", suppressed)
	}
	if got := f.customer("flood@example.com").AckMinutes; len(got) != 1 || got[0].N != 1 {
		t.Errorf("AckMinutes = %v, want one minute with one ack (trimmed to the last hour)", got)
	}
}

func TestAckUnlimited(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.AckPerHour = -1 })
	var batch []*store.Message
	for i := range 10 {
		batch = append(batch, mail("", "load@example.com", fmt.Sprintf("l%d@example.com", i), "s", "t"))
	}
	f.deliver(batch...)
	if n := len(f.notifications()); n != 10 {
		t.Errorf("got %d acks, want 10 with no cap", n)
	}
	if got := f.customer("load@example.com").AckMinutes; len(got) != 0 {
		t.Errorf("AckMinutes = %v with no cap, want none kept (the events log every ack)", got)
	}
}

// TestAckMinutesStayCompact: the hourly cap counts acknowledgements by the
// minute, so a customer allowed many keeps a record of at most one entry
// per minute, and the cap still holds across minutes.
func TestAckMinutesStayCompact(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.AckPerHour = 30 })
	for i := range 40 {
		f.deliver(mail("", "many@example.com", fmt.Sprintf("m%d@example.com", i), fmt.Sprintf("s%d", i), "t"))
		if i%10 == 9 {
			f.clock.Add(time.Minute)
		}
	}
	got := f.customer("many@example.com").AckMinutes
	if len(got) != 3 || got[0].N != 10 || got[1].N != 10 || got[2].N != 10 {
		t.Errorf("AckMinutes = %v, want three minutes of 10 acks each", got)
	}
	if n := len(f.notifications()); n != 30 {
		t.Errorf("got %d acks, want 30 (the cap)", n)
	}
	f.clock.Add(time.Hour)
	f.deliver(mail("", "many@example.com", "late@example.com", "late", "t"))
	if n := len(f.notifications()); n != 31 {
		t.Errorf("an hour later: %d acks, want 31", n)
	}
	if got := f.customer("many@example.com").AckMinutes; len(got) != 1 || got[0].N != 1 {
		t.Errorf("an hour later AckMinutes = %v, want only the new minute", got)
	}
}

func TestAckUsesReplyTo(t *testing.T) {
	f := newFixture(t, nil)
	m := mail("Shop Form", "noreply@shop.example", "rt1@shop.example", "Order 5", "text")
	m.ReplyTo = &store.Address{Name: "Jonas", Email: "Jonas@Example.lt"}
	f.deliver(m)
	if to := f.notifications()[0].To; to != (store.Address{Name: "Jonas", Email: "jonas@example.lt"}) {
		t.Errorf("To = %+v", to)
	}
}

func TestFailedCommitKeepsNothing(t *testing.T) {
	fail := errors.New("disk full")
	var failing sync.Mutex
	shouldFail := true
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	st, err := store.OpenBolt(t.TempDir()+"/db", store.BoltOptions{Now: clk.Now, FailUpdate: func() error {
		failing.Lock()
		defer failing.Unlock()
		if shouldFail {
			return fail
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	notified := 0
	r, err := New(Options{Store: st, Secret: testSecret, Now: clk.Now, OnNotify: func() { notified++ }})
	if err != nil {
		t.Fatal(err)
	}
	m := mail("", "x@example.com", "x1@example.com", "s", "t")
	m.Attachments = []store.Attachment{{Name: "a.txt", Size: 3, Kept: true, Data: []byte("abc")}}
	before := *m
	b := store.Batch{Source: "inbox", Messages: []*store.Message{m}, Cursor: store.Cursor{Source: "inbox", LastUID: 9}}
	if err := r.Deliver(context.Background(), b); !errors.Is(err, fail) {
		t.Fatalf("Deliver err = %v, want the store's", err)
	}
	if notified != 0 {
		t.Errorf("OnNotify called for a batch that did not commit")
	}
	if !reflect.DeepEqual(*m, before) {
		t.Errorf("Deliver changed the caller's message:\n got %+v\nwant %+v", *m, before)
	}
	st.View(context.Background(), func(tx store.Tx) error {
		if cur, _ := tx.Cursor("inbox"); cur.LastUID != 0 {
			t.Errorf("cursor moved past an uncommitted batch: %+v", cur)
		}
		if _, err := tx.MessageByMessageID("x1@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("message kept after a failed commit: %v", err)
		}
		return nil
	})

	failing.Lock()
	shouldFail = false
	failing.Unlock()
	if err := r.Deliver(context.Background(), b); err != nil {
		t.Fatalf("retry: %v", err)
	}
	st.View(context.Background(), func(tx store.Tx) error {
		got, err := tx.MessageByMessageID("x1@example.com")
		if err != nil || got.ComplaintID == 0 || len(got.Attachments) != 1 || got.Attachments[0].BlobKey == "" {
			t.Errorf("after retry: %+v, %v", got, err)
		}
		return nil
	})
	if notified != 1 {
		t.Errorf("OnNotify called %d times after the retry, want 1", notified)
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, nil)
	f.clock.Add(3 * time.Second) // mails were received 2 s before the clock's start
	f.deliver(mail("", "m@example.com", "m1@example.com", "s", "t"), mail("", "n@example.com", "n1@example.com", "s", "t"))
	if got := f.counter("complaintbot_messages_ingested_total", map[string]string{"source": "inbox"}); got != 2 {
		t.Errorf("ingested = %v", got)
	}
	if got := f.counter("complaintbot_complaints_created_total", nil); got != 2 {
		t.Errorf("complaints created = %v", got)
	}
	if got := f.counter("complaintbot_ingest_lag_seconds", nil); got != 2 {
		t.Errorf("lag samples = %v", got)
	}
	mfs, _ := f.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "complaintbot_ingest_lag_seconds" {
			if sum := mf.GetMetric()[0].GetHistogram().GetSampleSum(); sum != 10 {
				t.Errorf("lag sum = %v s, want 10 (2 × 5 s)", sum)
			}
		}
	}
	if _, err := New(Options{Store: f.st, Secret: testSecret, Registerer: f.reg}); err == nil {
		t.Errorf("registering the metrics twice did not fail")
	}
}

func TestConcurrentDeliver(t *testing.T) {
	f := newFixture(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				m := mail("", fmt.Sprintf("w%d@example.com", w), fmt.Sprintf("w%d-%d@example.com", w, i), "s", "t")
				b := store.Batch{Source: fmt.Sprintf("inbox%d", w), Messages: []*store.Message{m}, Cursor: store.Cursor{Source: fmt.Sprintf("inbox%d", w), LastUID: uint32(i + 1)}}
				if err := f.r.Deliver(context.Background(), b); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(f.messages()); n != 40 {
		t.Errorf("stored %d messages, want 40", n)
	}
}
