package store

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// trimText is the Text of the i-th big message: size bytes that differ
// from message to message, so a page mapped back wrong would show.
func trimText(i, size int) string {
	return hex.EncodeToString(benchRandom(i+1, size/2))
}

// fillTrimStore opens a store with the given trim interval and records n
// messages of size bytes of text each, ten per transaction. Message i gets
// ID i+1.
func fillTrimStore(t *testing.T, interval time.Duration, n, size int) (*Bolt, string) {
	t.Helper()
	s, path := openTest(t, BoltOptions{TrimInterval: interval})
	for first := 0; first < n; first += 10 {
		update(t, s, func(tx Tx) error {
			for i := first; i < min(first+10, n); i++ {
				m := &Message{Direction: DirectionIn, Channel: ChannelEmail, Status: StatusRecorded, Text: trimText(i, size)}
				if err := tx.PutMessage(m); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return s, path
}

// checkTrimMessages reads every message and fails unless each has the text
// it was stored with.
func checkTrimMessages(t *testing.T, s *Bolt, n, size int) {
	t.Helper()
	if err := readTrimMessages(s, n, size); err != nil {
		t.Fatal(err)
	}
}

func readTrimMessages(s *Bolt, n, size int) error {
	seen := 0
	err := s.View(context.Background(), func(tx Tx) error {
		return tx.ForEachMessage(func(m *Message) error {
			if want := trimText(int(m.ID)-1, size); m.Text != want {
				return fmt.Errorf("message %d: text differs from what was stored (%d bytes, want %d)", m.ID, len(m.Text), len(want))
			}
			seen++
			return nil
		})
	})
	if err == nil && seen != n {
		err = fmt.Errorf("read %d messages, want %d", seen, n)
	}
	return err
}

// mappedRss is the resident size of this process's mappings of the file
// at path, from /proc/self/smaps (the process-wide figures would mix in
// the Go heap).
func mappedRss(t testing.TB, path string) int64 {
	t.Helper()
	path, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer f.Close()
	var rss int64
	inFile, found := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") { // a mapping's header line
			inFile = len(fields) >= 6 && strings.Join(fields[5:], " ") == path
			found = found || inFile
			continue
		}
		if inFile && fields[0] == "Rss:" && len(fields) >= 2 {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				t.Fatalf("smaps: %q: %v", sc.Text(), err)
			}
			rss += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("no mapping of %s in /proc/self/smaps", path)
	}
	return rss
}

func TestTrimResidentDropsMappedPages(t *testing.T) {
	const n, size = 480, 100 << 10 // 48 MB of text
	s, path := fillTrimStore(t, -1, n, size)
	checkTrimMessages(t, s, n, size) // maps every page of the data
	before := mappedRss(t, path)
	if before < 40<<20 {
		t.Fatalf("after reading %d MB the mapping has %d kB resident; the test cannot show a trim", n*size>>20, before>>10)
	}
	if err := s.TrimResident(); err != nil {
		t.Fatalf("TrimResident: %v", err)
	}
	after := mappedRss(t, path)
	t.Logf("mapping Rss: %d kB after reading everything, %d kB after TrimResident", before>>10, after>>10)
	if after > 8<<20 {
		t.Errorf("mapping Rss after TrimResident = %d kB, want < 8 MB", after>>10)
	}
	checkTrimMessages(t, s, n, size) // mapped back with the same bytes
}

func TestUpdateTrimsOncePerInterval(t *testing.T) {
	const n, size = 64, 100 << 10 // 6.4 MB
	for _, tc := range []struct {
		name     string
		interval time.Duration
		trims    bool
	}{
		{"interval passed", time.Millisecond, true},
		{"disabled", -1, false},
		{"interval not passed", time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, path := fillTrimStore(t, tc.interval, n, size)
			checkTrimMessages(t, s, n, size)
			before := mappedRss(t, path)
			time.Sleep(2 * time.Millisecond)
			update(t, s, func(tx Tx) error { return tx.PutCursor(Cursor{Source: "support", LastUID: 1}) })
			after := mappedRss(t, path)
			t.Logf("mapping Rss %d kB -> %d kB", before>>10, after>>10)
			if trimmed := after < before/4; trimmed != tc.trims {
				t.Errorf("mapping Rss %d kB -> %d kB across an Update: trimmed %v, want %v", before>>10, after>>10, trimmed, tc.trims)
			}
			checkTrimMessages(t, s, n, size)
		})
	}
}

// TestTrimWhileViewsRead trims again and again (on demand and in every
// Update) while readers walk the data: every reader must see every record
// intact.
func TestTrimWhileViewsRead(t *testing.T) {
	const n, size = 200, 20 << 10
	s, _ := fillTrimStore(t, time.Nanosecond, n, size)
	stop := make(chan struct{})
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				if err := readTrimMessages(s, n, size); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range 40 {
		if err := s.TrimResident(); err != nil {
			t.Errorf("TrimResident: %v", err)
		}
		update(t, s, func(tx Tx) error { return tx.PutCursor(Cursor{Source: "support", LastUID: uint32(i)}) })
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestTrimResidentReadOnly(t *testing.T) {
	_, path := openTest(t, BoltOptions{})
	// openTest's store holds the lock; copy the file to open it read-only.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ro := filepath.Join(t.TempDir(), "ro.db")
	if err := os.WriteFile(ro, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := OpenBolt(ro, BoltOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.TrimResident(); !errors.Is(err, ErrReadOnly) {
		t.Errorf("TrimResident on a read-only store = %v, want ErrReadOnly", err)
	}
}

// BenchmarkTrimResident measures one trim (TrimResident: the writer lock,
// one madvise over the file's data, a rollback) of a 130 MB file, when
// few of its pages are resident ("idle", the trim after a quiet second)
// and when all of them are ("resident", a worst case).
func BenchmarkTrimResident(b *testing.B) {
	s, err := OpenBolt(filepath.Join(b.TempDir(), "trim.db"), BoltOptions{NoSync: true, TrimInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := range 130 { // a 1 MB blob each, different bytes
		err := s.Update(context.Background(), func(tx Tx) error {
			return tx.PutMessage(&Message{Attachments: []Attachment{{Name: "a", Data: benchRandom(i, 1<<20)}}})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	var sum byte
	readAll := func() {
		err := s.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketBlobs).ForEach(func(k, v []byte) error {
				for j := 0; j < len(v); j += 4096 {
					sum += v[j]
				}
				return nil
			})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Run("idle", func(b *testing.B) {
		for b.Loop() {
			if err := s.TrimResident(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("resident", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			readAll()
			if rss := mappedRss(b, s.db.Path()); rss < 120<<20 {
				b.Fatalf("only %d kB resident", rss>>10)
			}
			b.StartTimer()
			if err := s.TrimResident(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
