package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"complaintbot/ingest"
	"complaintbot/internal/mailstack"
	"complaintbot/notify"
	"complaintbot/router"
	"complaintbot/store"
)

// The benchmarks here take the daemon's pipeline apart to show where the
// load run's time goes: the same code, in-process, without IMAP.

func benchCustomers(n int, domain string) []customer {
	custs := make([]customer, n)
	for i := range custs {
		lang := langOrder[i%len(langOrder)]
		custs[i] = customer{Name: languages[lang].names[0], Lang: lang, Email: fmt.Sprintf("c%d@%s", i, domain)}
	}
	return custs
}

func benchMails(n int, custs []customer) [][]byte {
	g := &mailGen{rng: mrand.New(mrand.NewPCG(1, 2)), run: "bench", domain: "customer.test", support: "support@test.local", custs: custs, now: time.Now}
	raws := make([][]byte, n)
	for i := range raws {
		raws[i] = g.next(i % len(custs)).Raw
	}
	return raws
}

// BenchmarkNormalize is ingest.Normalize on the load command's mails.
func BenchmarkNormalize(b *testing.B) {
	raws := benchMails(1000, benchCustomers(100, "customer.test"))
	i := 0
	for b.Loop() {
		ingest.Normalize(raws[i%len(raws)], ingest.NormalizeOptions{})
		i++
	}
}

// BenchmarkRecord is router.Deliver in batches of 500 into a bbolt store
// with fsync, as the daemon's inbox worker commits, from 100 customers
// (each mail rewrites its customer's record, which stays small: the
// hourly cap counts acknowledgements by the minute) and from 10,000.
func BenchmarkRecord(b *testing.B) {
	for _, customers := range []int{100, 10000} {
		b.Run(fmt.Sprintf("customers=%d", customers), func(b *testing.B) {
			const batch = 500
			n := max(b.N, batch)
			raws := benchMails(n, benchCustomers(customers, "customer.test"))
			msgs := make([]*store.Message, n)
			for i, raw := range raws {
				msgs[i] = ingest.Normalize(raw, ingest.NormalizeOptions{})
			}
			st, err := store.OpenBolt(filepath.Join(b.TempDir(), "bench.db"), store.BoltOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			r, err := router.New(router.Options{Store: st, Secret: []byte("0123456789abcdef0123"), Domain: "c.test", AckPerHour: -1})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < n; i += batch {
				end := min(i+batch, n)
				err := r.Deliver(context.Background(), store.Batch{Source: "bench", Messages: msgs[i:end],
					Cursor: store.Cursor{Source: "bench", UIDValidity: 1, LastUID: uint32(end)}})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "mails/s")
		})
	}
}

// BenchmarkAcksThroughPostfix sends acknowledgements from the outbox through
// the real Postfix with 4 (the default), 8 and 16 sender connections, the
// way the daemon's notifier does (marks fsynced), and reports acks/s.
func BenchmarkAcksThroughPostfix(b *testing.B) {
	s := mailstack.FromEnv(b)
	custs := make([]customer, 20)
	for i := range custs {
		custs[i].Email, _ = s.NewUserAt(b, "bench-cust", s.Domains[len(s.Domains)-1])
		custs[i].Lang, custs[i].Name = langOrder[i%len(langOrder)], "Bench Customer"
	}
	support, _ := s.NewUser(b, "bench-support")
	for _, senders := range []int{4, 8, 16} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			n := max(b.N, 200)
			st, err := store.OpenBolt(filepath.Join(b.TempDir(), "bench.db"), store.BoltOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			r, err := router.New(router.Options{Store: st, Secret: []byte("0123456789abcdef0123"), Domain: "c.test", AckPerHour: -1})
			if err != nil {
				b.Fatal(err)
			}
			msgs := make([]*store.Message, n)
			for i, raw := range benchMails(n, custs) {
				msgs[i] = ingest.Normalize(raw, ingest.NormalizeOptions{})
			}
			if err := r.Deliver(context.Background(), store.Batch{Source: "bench", Messages: msgs, Cursor: store.Cursor{Source: "bench", UIDValidity: 1, LastUID: uint32(n)}}); err != nil {
				b.Fatal(err)
			}
			nt, err := notify.New(notify.Options{Store: st, SMTP: notify.SMTPOptions{Addr: s.SMTPAddr, TLS: "none", HeloName: "bench.localhost"},
				From: store.Address{Email: support}, Senders: senders})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			b.ResetTimer()
			start := time.Now()
			go func() { done <- nt.Run(ctx) }()
			for due(b, st) > 0 {
				time.Sleep(5 * time.Millisecond)
			}
			elapsed := time.Since(start)
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n)/elapsed.Seconds(), "acks/s")
		})
	}
}

func due(b *testing.B, st store.Store) int {
	var n int
	err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		n, err = tx.PendingNotifications() // counts keys; decoding every row would load the machine
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
