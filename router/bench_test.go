package router

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"complaintbot/router/classify"
	"complaintbot/store"
)

// BenchmarkDeliver commits batches of 100 messages from new customers (the
// costliest case: customer, complaint, message, two events and an outbox
// row each) to bbolt and reports messages per second: "fsync" as in
// production, "nosync" for the CPU cost alone (the ratio shows how much of
// the time is the disk's). cpu-µs/msg counts the whole process (bbolt's
// and the GC's work included) during Deliver only.
//
// "assign" adds classification (a fixed answer: the classifier's own cost
// is benchmarked in router/classify), the tier, the choice of the least
// loaded of three team members and the owner's outbox row;
// "fsync/assign/classify" is production's shape: the real rule classifier
// (run on all CPUs before the transaction) and fsync.
func BenchmarkDeliver(b *testing.B) {
	b.Run("fsync", func(b *testing.B) { benchmarkDeliver(b, true, nil) })
	b.Run("nosync", func(b *testing.B) { benchmarkDeliver(b, false, nil) })
	b.Run("nosync/assign", func(b *testing.B) {
		benchmarkDeliver(b, false, func(o *Options) {
			o.Assignment = testAssignment()
			o.Classifier = ClassifierFunc(func(string, string) Classification {
				return Classification{IsComplaint: true, Lang: "en", Category: "delivery", Amount: "120", Currency: "EUR", Why: []string{"fixed"}}
			})
		})
	})
	b.Run("fsync/assign/classify", func(b *testing.B) {
		c, err := classify.New(classify.Options{})
		if err != nil {
			b.Fatal(err)
		}
		benchmarkDeliver(b, true, func(o *Options) {
			o.Assignment = testAssignment()
			o.Classifier = ClassifierFunc(func(subject, text string) Classification {
				r := c.Classify(subject, text)
				return Classification{IsComplaint: r.IsComplaint, NotComplaint: r.NotComplaint, Lang: r.Lang,
					Category: r.Category, Cause: r.Cause, Amount: r.Amount, Currency: r.Currency,
					Wants: r.Wants, ExtremismHint: r.ExtremismHint, Why: r.Why}
			})
		})
	})
}

func benchmarkDeliver(b *testing.B, sync bool, edit func(*Options)) {
	const batchSize = 100
	f := newFixtureSync(b, sync, edit)
	ctx := context.Background()
	n := 0
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		msgs := make([]*store.Message, batchSize)
		for j := range msgs {
			n++
			msgs[j] = mail("Customer", fmt.Sprintf("c%d@example.com", n), fmt.Sprintf("m%d@example.com", n),
				"My order did not arrive", "Hello, I ordered a kettle three weeks ago and it has not arrived. Please help.")
		}
		batch := store.Batch{Source: "inbox", Messages: msgs, Cursor: store.Cursor{Source: "inbox", LastUID: uint32(n)}}
		b.StartTimer()
		cpu0 := cpuTime()
		if err := f.r.Deliver(ctx, batch); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - cpu0
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/msg")
}

// cpuTime is the process's user plus system CPU time so far: a per-message
// CPU figure is disturbed less by a busy shared machine than msgs/s is.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
