package notify

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"complaintbot/store"
)

// BenchmarkSendAcks sends b.N acknowledgements from the outbox to an
// in-process go-smtp server over loopback and reports acks/s: render,
// compose, SMTP over kept-alive connections, and the group-committed
// marks. The relay here costs almost nothing; against Postfix the relay
// is the limit, so compare ratios (senders, fsync) rather than the
// absolute rate.
func BenchmarkSendAcks(b *testing.B) {
	for _, bc := range []struct {
		senders int
		fsync   bool
	}{{1, false}, {4, false}, {1, true}, {4, true}, {8, true}, {16, true}} {
		b.Run(fmt.Sprintf("senders=%d/fsync=%v", bc.senders, bc.fsync), func(b *testing.B) {
			rec := &relay{}
			addr := serveRelay(b, "127.0.0.1:0", rec)
			st, err := store.OpenBolt(filepath.Join(b.TempDir(), "bench.db"), store.BoltOptions{NoSync: !bc.fsync})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			seedMany(b, st, b.N)
			o := testOptions(st, addr)
			o.Senders = bc.senders
			n := newNotifier(b, o)

			b.ResetTimer()
			start := time.Now()
			stop := run(b, n)
			for pending(b, st) {
				time.Sleep(time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			stop()
			if rec.count() != b.N {
				b.Fatalf("relay got %d messages, want %d", rec.count(), b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "acks/s")
		})
	}
}

// seedMany stores count ack rows for one complaint in one transaction.
func seedMany(b testing.TB, st store.Store, count int) {
	b.Helper()
	err := st.Update(context.Background(), func(tx store.Tx) error {
		c := &store.Complaint{Channel: store.ChannelEmail, Stage: store.StageRegistered}
		if err := tx.PutComplaint(c); err != nil {
			return err
		}
		for i := range count {
			n := ackRow([]string{"ru", "lt", "en"}[i%3], "Покупатель", fmt.Sprintf("c%d@customer.test", i), "Сломанный чайник")
			n.ComplaintID = c.ID
			n.Data["number"] = c.Number
			n.Subject = "Re: Сломанный чайник [" + c.Number + "]"
			n.MessageID = fmt.Sprintf("c%d.%d.mac@acme.test", c.ID, i)
			if err := tx.PutNotification(n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func pending(b testing.TB, st store.Store) bool {
	var ok bool
	err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		_, ok, err = tx.NextDue()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return ok
}
