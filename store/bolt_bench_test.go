package store

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchText is the body of a typical complaint: about 700 bytes of
// Cyrillic (the costlier case for JSON), signed.
var benchText = strings.Repeat("Здравствуйте, заказ пришёл повреждённым, прошу вернуть деньги. ", 6)

// benchMessage is a realistic inbound complaint: a few hundred characters
// of text, selected headers, and keys spread as in real mail: Message-IDs
// and content hashes are random, so their index entries land all over the
// tree; four in five messages open a new complaint (the highest ID so
// far), every fifth follows up an older one.
func benchMessage(i int) *Message {
	complaint := uint64(i + 1)
	if i%5 == 4 {
		complaint = uint64(i/3 + 1)
	}
	return &Message{
		ComplaintID: complaint,
		CustomerID:  uint64(i%300 + 1),
		Direction:   DirectionIn,
		Channel:     ChannelEmail,
		Source:      "support",
		SourceRef:   "17/" + strconv.Itoa(i),
		MessageID:   benchMessageID(i),
		InReplyTo:   []string{benchMessageID(i - 1)},
		References:  []string{benchMessageID(i - 2), benchMessageID(i - 1)},
		From:        Address{Name: "Ona Petraitė", Email: "ona@example.lt"},
		To:          []Address{{Email: "support@shop.example"}},
		Subject:     "Sugadinta prekė / damaged goods",
		Date:        time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC),
		Text:        benchText,
		FullText:    benchText + "\n-- \nС уважением, Ольга",
		Headers:     map[string]string{"Auto-Submitted": "no", "X-Mailer": "Thunderbird"},
		Status:      StatusRecorded,
		Size:        4096,
		ContentHash: hex.EncodeToString(benchRandom(i, 32)),
		ReceivedAt:  time.Date(2026, 3, 14, 9, 0, 1, 0, time.UTC),
	}
}

// benchMessageID looks like a Gmail Message-ID: random, so unordered.
func benchMessageID(i int) string {
	return "CA+" + hex.EncodeToString(benchRandom(i, 12)) + "@mail.gmail.com"
}

// benchRandom is n bytes that look random, derived from i.
func benchRandom(i, n int) []byte {
	out := make([]byte, 0, n+8)
	x := uint64(i)*0x9E3779B97F4A7C15 + 1
	for len(out) < n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		out = binary.BigEndian.AppendUint64(out, x)
	}
	return out[:n]
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

// reportSize reports the size of one stored message record.
func reportSize(b *testing.B) {
	data, _ := json.Marshal(benchMessage(1))
	b.ReportMetric(float64(len(data)), "B/record")
}

func BenchmarkPutMessageBatch100(b *testing.B) { benchPut(b, 100) }

func BenchmarkPutMessageSingle(b *testing.B) { benchPut(b, 1) }

func BenchmarkPutMessageBatch1000(b *testing.B) { benchPut(b, 1000) }

// benchPut commits batches of size messages. Besides wall-clock msgs/s it
// reports the process CPU time per message, which a busy shared machine
// disturbs less.
func benchPut(b *testing.B, size int) {
	s := openBench(b)
	n := 0
	cpu0, stats0 := cpuTime(), s.db.Stats()
	for b.Loop() {
		putBatch(b, s, n, size)
		n += size
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-µs/msg")
	stats := s.db.Stats()
	b.ReportMetric(float64(stats.TxStats.GetWrite()-stats0.TxStats.GetWrite())/float64(n), "pages/msg")
	reportSize(b)
}

// cpuTime is the user plus system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
