package router

import (
	"context"
	"fmt"
	"testing"

	"complaintbot/store"
)

// BenchmarkDeliver commits batches of 100 messages from new customers (the
// costliest case: customer, complaint, message, two events and an outbox
// row each) to bbolt and reports messages per second: "fsync" as in
// production, "nosync" for the CPU cost alone (the ratio shows how much of
// the time is the disk's).
func BenchmarkDeliver(b *testing.B) {
	b.Run("fsync", func(b *testing.B) { benchmarkDeliver(b, true) })
	b.Run("nosync", func(b *testing.B) { benchmarkDeliver(b, false) })
}

func benchmarkDeliver(b *testing.B, sync bool) {
	const batchSize = 100
	f := newFixtureSync(b, sync, nil)
	ctx := context.Background()
	n := 0
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		msgs := make([]*store.Message, batchSize)
		for j := range msgs {
			n++
			msgs[j] = mail("Customer", fmt.Sprintf("c%d@example.com", n), fmt.Sprintf("m%d@example.com", n),
				"My order did not arrive", "Hello, I ordered a kettle three weeks ago and it has not arrived. Please help.")
		}
		batch := store.Batch{Source: "inbox", Messages: msgs, Cursor: store.Cursor{Source: "inbox", LastUID: uint32(n)}}
		b.StartTimer()
		if err := f.r.Deliver(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}
