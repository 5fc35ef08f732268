package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
)

func messageIDs(ms []*Message) []uint64 {
	var ids []uint64
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func TestMessageIndexes(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	msgs := []*Message{
		{ComplaintID: 1, MessageID: "root@x", ContentHash: "h1"},
		{ComplaintID: 1, MessageID: "reply@x", InReplyTo: []string{"root@x"}, References: []string{"root@x"}, ContentHash: "h2"},
		{ComplaintID: 2, MessageID: "other@x", References: []string{"root@x", "reply@x"}, ContentHash: "h3"},
		{ComplaintID: 0, MessageID: "root@x", ContentHash: "h1", Status: StatusIgnored}, // same Message-ID again
	}
	update(t, s, func(tx Tx) error {
		for _, m := range msgs {
			must(t, tx.PutMessage(m))
		}
		return nil
	})
	tests := []struct {
		name string
		get  func(Tx) ([]*Message, error)
		want []uint64
	}{
		{"by Message-ID: first recorded", one(func(tx Tx) (*Message, error) { return tx.MessageByMessageID("root@x") }), []uint64{1}},
		{"by hash: first recorded", one(func(tx Tx) (*Message, error) { return tx.MessageByHash("h1") }), []uint64{1}},
		{"by hash", one(func(tx Tx) (*Message, error) { return tx.MessageByHash("h3") }), []uint64{3}},
		{"all with a Message-ID", func(tx Tx) ([]*Message, error) {
			return tx.(interface {
				MessagesByMessageID(string) ([]*Message, error)
			}).MessagesByMessageID("root@x")
		}, []uint64{1, 4}},
		{"referencing root (no duplicates)", func(tx Tx) ([]*Message, error) { return tx.MessagesReferencing("root@x") }, []uint64{2, 3}},
		{"referencing reply", func(tx Tx) ([]*Message, error) { return tx.MessagesReferencing("reply@x") }, []uint64{3}},
		{"referencing nothing", func(tx Tx) ([]*Message, error) { return tx.MessagesReferencing("other@x") }, nil},
		{"of complaint 1", func(tx Tx) ([]*Message, error) { return tx.MessagesOf(1) }, []uint64{1, 2}},
		{"of no complaint", func(tx Tx) ([]*Message, error) { return tx.MessagesOf(0) }, []uint64{4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view(t, s, func(tx Tx) error {
				got, err := tt.get(tx)
				if err != nil {
					return err
				}
				if ids := messageIDs(got); !slices.Equal(ids, tt.want) {
					t.Errorf("got %v, want %v", ids, tt.want)
				}
				return nil
			})
		})
	}
}

func one(get func(Tx) (*Message, error)) func(Tx) ([]*Message, error) {
	return func(tx Tx) ([]*Message, error) {
		m, err := get(tx)
		if err != nil {
			return nil, err
		}
		return []*Message{m}, nil
	}
}

// TestMessageRethread: changing indexed fields moves the index entries.
func TestMessageRethread(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	m := &Message{ComplaintID: 5, MessageID: "a@x", References: []string{"p@x"}, ContentHash: "h"}
	update(t, s, func(tx Tx) error { return tx.PutMessage(m) })
	update(t, s, func(tx Tx) error {
		got, err := tx.Message(m.ID)
		if err != nil {
			return err
		}
		got.ComplaintID = 6
		got.MessageID = "b@x"
		got.References = []string{"q@x"}
		got.ContentHash = "h2"
		return tx.PutMessage(got)
	})
	view(t, s, func(tx Tx) error {
		checks := []struct {
			name string
			ms   []*Message
			want []uint64
		}{
			{"old complaint", must2(tx.MessagesOf(5)), nil},
			{"new complaint", must2(tx.MessagesOf(6)), []uint64{m.ID}},
			{"old reference", must2(tx.MessagesReferencing("p@x")), nil},
			{"new reference", must2(tx.MessagesReferencing("q@x")), []uint64{m.ID}},
		}
		for _, c := range checks {
			if ids := messageIDs(c.ms); !slices.Equal(ids, c.want) {
				t.Errorf("%s: %v, want %v", c.name, ids, c.want)
			}
		}
		if _, err := tx.MessageByMessageID("a@x"); err == nil {
			t.Error("old Message-ID still indexed")
		}
		if _, err := tx.MessageByHash("h"); err == nil {
			t.Error("old hash still indexed")
		}
		if got, err := tx.MessageByMessageID("b@x"); err != nil || got.ComplaintID != 6 {
			t.Errorf("new Message-ID = %v, %v", got, err)
		}
		return nil
	})
}

func must2(ms []*Message, err error) []*Message {
	if err != nil {
		panic(err)
	}
	return ms
}

// TestBlobs: attachment bytes move into the blob area, named by their
// SHA-256; the same bytes are stored once; Data never reaches the record.
func TestBlobs(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	pdf := []byte("%PDF-1.7 invoice")
	sum := sha256.Sum256(pdf)
	wantKey := hex.EncodeToString(sum[:])
	m1 := &Message{Attachments: []Attachment{{Name: "a.pdf", Data: pdf, Kept: true}, {Name: "huge.iso", Kept: false, NotKeptWhy: "too large"}}}
	m2 := &Message{Attachments: []Attachment{{Name: "copy.pdf", Data: slices.Clone(pdf), Kept: true}, {Name: "empty.txt", Data: []byte{}, Kept: true}}}
	update(t, s, func(tx Tx) error {
		must(t, tx.PutMessage(m1))
		return tx.PutMessage(m2)
	})
	if m1.Attachments[0].Data != nil || m1.Attachments[0].BlobKey != wantKey || m1.Attachments[0].SHA256 != wantKey {
		t.Errorf("caller's attachment = %+v", m1.Attachments[0])
	}
	if m1.Attachments[1].BlobKey != "" {
		t.Errorf("not kept attachment got a blob: %+v", m1.Attachments[1])
	}
	view(t, s, func(tx Tx) error {
		got, err := tx.Message(m2.ID)
		if err != nil {
			return err
		}
		a := got.Attachments[0]
		if a.Data != nil || a.BlobKey != wantKey {
			t.Errorf("stored attachment = %+v", a)
		}
		b, err := tx.Blob(a.BlobKey)
		if err != nil || string(b) != string(pdf) {
			t.Errorf("Blob = %q, %v", b, err)
		}
		b[0] = 'X' // a copy: the stored blob does not change
		if again, _ := tx.Blob(a.BlobKey); again[0] != '%' {
			t.Error("Blob returned the stored bytes, not a copy")
		}
		if empty, err := tx.Blob(got.Attachments[1].BlobKey); err != nil || len(empty) != 0 {
			t.Errorf("empty blob = %q, %v", empty, err)
		}
		n := 0
		must(t, tx.(*boltTx).bucket(bucketBlobs).ForEach(func(k, v []byte) error { n++; return nil }))
		if n != 2 {
			t.Errorf("%d blobs stored, want 2 (pdf once, empty file)", n)
		}
		return nil
	})
}

// TestHostileKeys: huge, empty and binary strings work as keys.
func TestHostileKeys(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	long := strings.Repeat("x", 100_000) + "@evil"
	longer := long + "2" // same hash-free prefix, different string
	odd := "a\x00b\xff@x"
	update(t, s, func(tx Tx) error {
		must(t, tx.PutMessage(&Message{MessageID: long, References: []string{long, odd, ""}}))
		must(t, tx.PutMessage(&Message{MessageID: longer}))
		must(t, tx.PutMessage(&Message{MessageID: odd}))
		must(t, tx.PutMessage(&Message{MessageID: "a"}))
		return tx.PutCursor(Cursor{Source: ""})
	})
	view(t, s, func(tx Tx) error {
		for id, want := range map[string]uint64{long: 1, longer: 2, odd: 3, "a": 4} {
			got, err := tx.MessageByMessageID(id)
			if err != nil || got.ID != want {
				t.Errorf("MessageByMessageID(%.10q) = %v, %v; want %d", id, got, err, want)
			}
		}
		if refs, _ := tx.MessagesReferencing(odd); !slices.Equal(messageIDs(refs), []uint64{1}) {
			t.Errorf("MessagesReferencing(odd) = %v", messageIDs(refs))
		}
		return nil
	})
}

// An outbound message is found by its Message-ID (a customer's reply names
// it) but not by content hash or references: those indexes serve inbound
// mail only.
func TestOutboundMessageIndexes(t *testing.T) {
	b, _ := openTest(t, BoltOptions{})
	in := &Message{ComplaintID: 1, Direction: DirectionIn, Channel: ChannelEmail, MessageID: "in@x", ContentHash: "hash-in",
		InReplyTo: []string{"parent@x"}, Status: StatusRecorded}
	out := &Message{ComplaintID: 1, Direction: DirectionOut, Channel: ChannelEmail, MessageID: "ack@us", ContentHash: "hash-out",
		InReplyTo: []string{"in@x"}, References: []string{"in@x"}, Status: StatusSent}
	update(t, b, func(tx Tx) error {
		if err := tx.PutMessage(in); err != nil {
			return err
		}
		return tx.PutMessage(out)
	})
	view(t, b, func(tx Tx) error {
		if m, err := tx.MessageByMessageID("ack@us"); err != nil || m.ID != out.ID {
			t.Errorf("outbound by Message-ID = %v, %v; want message %d", m, err, out.ID)
		}
		if _, err := tx.MessageByHash("hash-out"); !errors.Is(err, ErrNotFound) {
			t.Errorf("outbound found by hash: %v", err)
		}
		if m, err := tx.MessageByHash("hash-in"); err != nil || m.ID != in.ID {
			t.Errorf("inbound by hash = %v, %v", m, err)
		}
		if ms, err := tx.MessagesReferencing("in@x"); err != nil || len(ms) != 0 {
			t.Errorf("messages referencing the inbound one = %d, %v; want none (only the ack does)", len(ms), err)
		}
		if ms, err := tx.MessagesReferencing("parent@x"); err != nil || len(ms) != 1 || ms[0].ID != in.ID {
			t.Errorf("messages referencing parent@x = %v, %v; want the inbound one", ms, err)
		}
		if ms, err := tx.MessagesOf(1); err != nil || len(ms) != 2 {
			t.Errorf("messages of the complaint = %d, %v; want both", len(ms), err)
		}
		return nil
	})
}
