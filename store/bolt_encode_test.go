package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// TestEncoderReuseKeepsEveryValue writes records in many small
// transactions from several goroutines, some rolled back, one of them
// larger than the chunks kept, and reads every committed record back
// unchanged: reusing the encoder's chunks across transactions never
// overwrites a value bbolt has yet to write.
func TestEncoderReuseKeepsEveryValue(t *testing.T) {
	st, _ := openTest(t, BoltOptions{})
	var mu sync.Mutex
	want := map[uint64]string{} // notification ID -> its subject
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 60 {
				subject := fmt.Sprintf("g%d-%d %s", g, i, strings.Repeat("ж", 50*(i%7)))
				count := 1 + i%3
				if i == 30 {
					count = 400 // over keptChunks of 256 KB
				}
				var ids []uint64
				err := st.Update(context.Background(), func(tx Tx) error {
					for k := range count {
						n := &Notification{Kind: "ack", Channel: ChannelEmail, Subject: fmt.Sprintf("%s #%d", subject, k),
							Data: map[string]string{"body": strings.Repeat("x", 700)}}
						if err := tx.PutNotification(n); err != nil {
							return err
						}
						ids = append(ids, n.ID)
					}
					if i%5 == 4 {
						return errRolledBack
					}
					return nil
				})
				if errors.Is(err, errRolledBack) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for k, id := range ids {
					want[id] = fmt.Sprintf("%s #%d", subject, k)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	view(t, st, func(tx Tx) error {
		for id, subject := range want {
			n, err := tx.Notification(id)
			if err != nil {
				t.Fatalf("notification %d: %v", id, err)
			}
			if n.Subject != subject || len(n.Data["body"]) != 700 {
				t.Fatalf("notification %d: subject %q, body %d bytes; want %q, 700", id, n.Subject, len(n.Data["body"]), subject)
			}
		}
		return nil
	})
	if len(want) < 4*40 {
		t.Fatalf("only %d records committed", len(want))
	}
}

var errRolledBack = errors.New("rolled back on purpose")

// TestSmallCommitsReuseTheEncoder: a commit of one small record allocates
// far less than an encoder chunk. Before the encoder was shared, every
// write transaction allocated a fresh 256 KB chunk for its first value:
// the notifier's marks, a few rows per commit, allocated 40 KB per ack.
func TestSmallCommitsReuseTheEncoder(t *testing.T) {
	st, _ := openTest(t, BoltOptions{})
	put := func() {
		update(t, st, func(tx Tx) error {
			return tx.PutNotification(&Notification{Kind: "ack", Channel: ChannelEmail, Subject: "s"})
		})
	}
	put() // the first transaction makes the chunk
	const n = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		put()
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > encoderChunk/4 {
		t.Errorf("a one-record commit allocates %d bytes; want well under a %d-byte chunk", per, encoderChunk)
	}
}
