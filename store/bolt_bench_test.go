package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchMessage is a realistic inbound complaint: a few KB of text, a thread,
// selected headers.
func benchMessage(i int) *Message {
	text := strings.Repeat("Здравствуйте, заказ пришёл повреждённым, прошу вернуть деньги. ", 20)
	return &Message{
		ComplaintID: uint64(i%500 + 1),
		CustomerID:  uint64(i%300 + 1),
		Direction:   DirectionIn,
		Channel:     ChannelEmail,
		Source:      "support",
		SourceRef:   fmt.Sprintf("17/%d", i),
		MessageID:   fmt.Sprintf("m%d.%d@mail.example.com", i, time.Now().UnixNano()),
		InReplyTo:   []string{fmt.Sprintf("m%d@mail.example.com", i-1)},
		References:  []string{fmt.Sprintf("m%d@mail.example.com", i-2), fmt.Sprintf("m%d@mail.example.com", i-1)},
		From:        Address{Name: "Ona Petraitė", Email: "ona@example.lt"},
		To:          []Address{{Email: "support@shop.example"}},
		Subject:     "Sugadinta prekė / damaged goods",
		Date:        time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC),
		Text:        text,
		FullText:    text + "\n> " + text,
		Headers:     map[string]string{"List-Id": "", "Auto-Submitted": "no"},
		Status:      StatusRecorded,
		Size:        int64(3 * len(text)),
		ContentHash: fmt.Sprintf("%064x", i),
		ReceivedAt:  time.Date(2026, 3, 14, 9, 0, 1, 0, time.UTC),
	}
}

// openBench opens a store that syncs like production.
func openBench(b *testing.B) *Bolt {
	b.Helper()
	s, err := OpenBolt(filepath.Join(b.TempDir(), "bench.db"), BoltOptions{NoSync: os.Getenv("BENCH_NOSYNC") != ""})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// putBatch records n messages, an event and the cursor in one Update, the
// shape of an ingest batch.
func putBatch(b *testing.B, s *Bolt, first, n int) {
	err := s.Update(context.Background(), func(tx Tx) error {
		for i := first; i < first+n; i++ {
			if err := tx.PutMessage(benchMessage(i)); err != nil {
				return err
			}
		}
		if err := tx.AppendEvent(&Event{ComplaintID: uint64(first%500 + 1), Kind: "message_added"}); err != nil {
			return err
		}
		return tx.PutCursor(Cursor{Source: "support", UIDValidity: 17, LastUID: uint32(first + n)})
	})
	if err != nil {
		b.Fatal(err)
	}
}

func BenchmarkPutMessageBatch100(b *testing.B) {
	s := openBench(b)
	n := 0
	for b.Loop() {
		putBatch(b, s, n, 100)
		n += 100
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkPutMessageSingle(b *testing.B) {
	s := openBench(b)
	n := 0
	for b.Loop() {
		putBatch(b, s, n, 1)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}
