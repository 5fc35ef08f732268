package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// loadShape is the write pattern of the daemon under a mail load, in
// transactions as the router and the notifier commit them: per mail a
// customer (one of 100, updated), an inbound message, a new complaint
// (put twice), five events, three jobs, an acknowledgement row and the
// cursor; the notifier, lagging ackLag complaints behind, marks each row
// sent, records the outbound message and an "ack_sent" event, so those
// land in the middle of the key ranges.
// With resolve, every complaint is then resolved, in an order unrelated
// to its ID (the workflow's updates: records grow in place, jobs are
// cancelled, an event is appended).
type loadShape struct {
	complaints, customers, batch, ackLag int
	resolve                              bool
}

var classifiedWhy = strings.Repeat(`complaint: "suged*"; category quality: "suged*"; `, 9) + "complaint score 11.5 >= 2.0"

func (l loadShape) run(t testing.TB, s *Bolt) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	var pending []*Notification
	acked := 0
	for first := 0; first < l.complaints || acked < l.complaints; first += l.batch {
		err := s.Update(ctx, func(tx Tx) error {
			for i := first; i < min(first+l.batch, l.complaints); i++ {
				n, err := l.mail(tx, i, at)
				if err != nil {
					return err
				}
				pending = append(pending, n)
			}
			return tx.PutCursor(Cursor{Source: "support", UIDValidity: 17, LastUID: uint32(first + l.batch)})
		})
		if err != nil {
			t.Fatal(err)
		}
		for len(pending) > 0 && (len(pending) > l.ackLag || first >= l.complaints) {
			k := min(l.batch, len(pending))
			if err := s.Update(ctx, func(tx Tx) error { return l.sent(tx, pending[:k]) }); err != nil {
				t.Fatal(err)
			}
			pending, acked = pending[k:], acked+k
		}
	}
	if l.resolve {
		for first := 0; first < l.complaints; first += l.batch {
			err := s.Update(ctx, func(tx Tx) error {
				for i := first; i < min(first+l.batch, l.complaints); i++ {
					if err := l.resolveOne(tx, uint64(i*7919%l.complaints+1), at); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// resolveOne records a resolution of complaint id as the workflow does.
func (l loadShape) resolveOne(tx Tx, id uint64, at time.Time) error {
	c, err := tx.Complaint(id)
	if err != nil {
		return err
	}
	c.Stage, c.ResolvedAt, c.OwnerID, c.Team = StageResolved, at, "ona.p", "quality"
	c.Resolution = &Resolution{Kind: "refund", Amount: "467.49", Currency: "EUR", RootCause: "courier left parcels outside", Prevention: "courier contract: hand over in person only", By: "ona.p", At: at}
	if err := tx.PutComplaint(c); err != nil {
		return err
	}
	jobs, err := tx.JobsOf(id)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		j.Status, j.Reason, j.DoneAt = JobCancelled, "stage left", at
		if err := tx.PutJob(j); err != nil {
			return err
		}
	}
	return tx.AppendEvent(&Event{ComplaintID: id, Actor: "staff:ona.p", Kind: "resolved", Text: c.Resolution.RootCause, Fields: map[string]string{"kind": "refund", "amount": "467.49"}})
}

// mail records what the router commits for one new complaint.
func (l loadShape) mail(tx Tx, i int, at time.Time) (*Notification, error) {
	cust, err := tx.CustomerByEmail("c" + strconv.Itoa(i%l.customers) + "@customer.test")
	if err != nil {
		cust = &Customer{Name: "Ona Petraitė", Emails: []string{"c" + strconv.Itoa(i%l.customers) + "@customer.test"}, Lang: "lt"}
		if err := tx.PutCustomer(cust); err != nil {
			return nil, err
		}
	}
	m := benchMessage(i)
	m.ComplaintID, m.CustomerID, m.InReplyTo, m.References = 0, 0, nil, nil
	if err := tx.PutMessage(m); err != nil {
		return nil, err
	}
	c := &Complaint{CustomerID: cust.ID, Channel: ChannelEmail, Subject: m.Subject, Lang: "lt", Category: "billing", Cause: "objective", Amount: "467.49", Currency: "EUR", Tier: "head"}
	if err := tx.PutComplaint(c); err != nil {
		return nil, err
	}
	c.DueAt, c.ThreadMessageIDs = at.Add(4*time.Hour), []string{m.MessageID}
	if err := tx.PutComplaint(c); err != nil {
		return nil, err
	}
	for _, e := range []*Event{
		{Actor: "customer:1", Kind: "registered", Fields: map[string]string{"message_id": m.MessageID}},
		{Actor: "system", Kind: "classified", Text: classifiedWhy, Fields: map[string]string{"amount": "467.49", "category": "billing", "cause": "objective", "currency": "EUR", "is_complaint": "true", "lang": "lt", "wants": "refund,replacement"}},
		{Actor: "system", Kind: "tier", Fields: map[string]string{"tier": "head", "reason": "amount 467.49 EUR over 100"}},
		{Actor: "system", Kind: "deadline_set", Fields: map[string]string{"business_time": "4h0m0s", "due": "2026-03-14T13:00:00Z", "priority": "normal", "rule": "default", "stage": "registered"}},
		{Actor: "system", Kind: "ack_queued", Fields: map[string]string{"message_id": "c" + strconv.Itoa(i) + ".grqzr764oiy463ky.zkzhst222sbe5uux4cth64ga@complaints.example"}},
	} {
		e.ComplaintID = c.ID
		if err := tx.AppendEvent(e); err != nil {
			return nil, err
		}
	}
	for k, frac := range []string{"0.5", "0.9", ""} {
		j := &Job{Kind: "reminder", ComplaintID: c.ID, Stage: StageRegistered, DueAt: at.Add(time.Duration(k+2) * time.Hour).Add(time.Duration(i) * time.Second), Data: map[string]string{"due": "2026-03-14T13:00:00Z", "fraction": frac}}
		if err := tx.PutJob(j); err != nil {
			return nil, err
		}
	}
	n := &Notification{ComplaintID: c.ID, CustomerID: cust.ID, Kind: "ack", Channel: ChannelEmail, Lang: "lt",
		To: Address{Name: cust.Name, Email: cust.Emails[0]}, Subject: "Re: " + m.Subject + " [" + c.Number + "]",
		MessageID: "c" + strconv.Itoa(i) + ".oyqz4v7qokhv3xpj.batcsrqeomdcf3tc3zw7sdvb@complaints.example", InReplyTo: m.MessageID, References: []string{m.MessageID},
		Data: map[string]string{"customer_name": cust.Name, "due": "2026-03-14T13:00:00Z", "number": c.Number, "subject": m.Subject}}
	if err := tx.PutNotification(n); err != nil {
		return nil, err
	}
	cust.ComplaintTimes = append(cust.ComplaintTimes, at)[max(0, len(cust.ComplaintTimes)-4):]
	return n, tx.PutCustomer(cust)
}

// sent records what the notifier commits for acknowledgements sent.
func (l loadShape) sent(tx Tx, rows []*Notification) error {
	for _, n := range rows {
		n.Status, n.Attempts, n.SentAt = NotifySent, 1, n.CreatedAt.Add(time.Second)
		if err := tx.PutNotification(n); err != nil {
			return err
		}
		m := &Message{ComplaintID: n.ComplaintID, CustomerID: n.CustomerID, Direction: DirectionOut, Channel: ChannelEmail,
			MessageID: n.MessageID, InReplyTo: []string{n.InReplyTo}, References: n.References,
			From: Address{Name: "Support", Email: "support@shop.example"}, To: []Address{n.To}, Subject: n.Subject,
			Text: strings.Repeat("Dėkojame, kad parašėte. Jūsų pranešimą užregistravome. ", 14), Status: StatusSent, Size: 2493}
		if err := tx.PutMessage(m); err != nil {
			return err
		}
		err := tx.AppendEvent(&Event{ComplaintID: n.ComplaintID, Actor: "notify", Kind: "ack_sent", Fields: map[string]string{"message_id": n.MessageID, "to": n.To.Email}})
		if err != nil {
			return err
		}
	}
	return nil
}

// dataSize is the size of the file's data (what the file grows with).
func dataSize(t testing.TB, s *Bolt) int64 {
	var size int64
	if err := s.db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil }); err != nil {
		t.Fatal(err)
	}
	return size
}

// bucketPages describes the pages of each bucket with more than 100.
func bucketPages(t testing.TB, s *Bolt) string {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			st := b.Stats()
			pages := st.BranchPageN + st.BranchOverflowN + st.LeafPageN + st.LeafOverflowN
			if pages > 20 {
				out = append(out, fmt.Sprintf("%s %d pages %.0f%% used", name, pages, 100*float64(st.LeafInuse+st.BranchInuse)/float64(st.LeafAlloc+st.BranchAlloc)))
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, ", ")
}

func TestPackedBucketsShrinkFile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		resolve  bool
		maxRatio float64
	}{
		{"ingest", false, 0.7},
		{"every complaint resolved", true, 0.85},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shape := loadShape{complaints: 1000, customers: 500, batch: 25, ackLag: 250, resolve: tc.resolve}
			if testing.Short() {
				shape.complaints, shape.customers, shape.ackLag = 300, 150, 75
			}
			var size [2]int64
			for i, packed := range []bool{false, true} {
				s, _ := openTest(t, BoltOptions{TrimInterval: -1})
				if !packed {
					s.fill = nil
				}
				shape.run(t, s)
				size[i] = dataSize(t, s)
				t.Logf("packed %v: %d kB: %s", packed, size[i]>>10, bucketPages(t, s))
			}
			ratio := float64(size[1]) / float64(size[0])
			t.Logf("%d complaints: %d kB with bbolt's default fill, %d kB packed (%.2fx)", shape.complaints, size[0]>>10, size[1]>>10, ratio)
			if ratio > tc.maxRatio {
				t.Errorf("packed file is %.2fx the unpacked one (%d kB, %d kB): want at most %.2fx", ratio, size[1]>>10, size[0]>>10, tc.maxRatio)
			}
		})
	}
}
