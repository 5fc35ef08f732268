package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

func (t *boltTx) Message(id uint64) (*Message, error) {
	return load[Message](t, bucketMessages, "message", id)
}

// PutMessage also takes ownership of each Attachment.Data: the bytes are
// kept in the blob area until commit and Data is set to nil in m.
func (t *boltTx) PutMessage(m *Message) error {
	const op = "put message"
	if err := t.checkWrite(op); err != nil {
		return err
	}
	var oldIdx []indexEntry
	if m.ID != 0 {
		old, err := t.Message(m.ID)
		if err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		oldIdx = messageIndex(old)
	} else {
		id, err := t.bucket(bucketMessages).NextSequence()
		if err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		m.ID = id
		t.onRollback(func() { m.ID = 0 })
	}
	if err := t.moveAttachments(m); err != nil {
		return fmt.Errorf("store: %s %d: %w", op, m.ID, err)
	}
	if err := t.reindex(oldIdx, messageIndex(m), m.ID); err != nil {
		return fmt.Errorf("store: %s %d: %w", op, m.ID, err)
	}
	if err := t.putJSON(t.bucket(bucketMessages), u64(m.ID), m); err != nil {
		return fmt.Errorf("store: %s %d: %w", op, m.ID, err)
	}
	return nil
}

// moveAttachments stores the Data of m's attachments as blobs keyed by
// their SHA-256 (hex), so the same bytes are stored once however many
// messages carry them, and replaces Data by BlobKey.
func (t *boltTx) moveAttachments(m *Message) error {
	blobs := t.bucket(bucketBlobs)
	for i := range m.Attachments {
		a := &m.Attachments[i]
		if a.Data == nil {
			continue
		}
		sum := sha256.Sum256(a.Data)
		key := hex.EncodeToString(sum[:])
		if blobs.Get([]byte(key)) == nil {
			if err := blobs.Put([]byte(key), a.Data); err != nil {
				return fmt.Errorf("blob %s: %w", key, err)
			}
		}
		prev := *a
		t.onRollback(func() { *a = prev })
		a.SHA256, a.BlobKey, a.Data = key, key, nil
	}
	return nil
}

// messageIndex lists the index entries of m. Every message is in the
// complaint index, those with ComplaintID 0 (ignored, quarantined) too, and
// in the Message-ID index. Only inbound messages are in the content-hash
// and reference indexes: those serve duplicate detection and replies that
// arrive before what they answer, which concern inbound mail only; an
// outbound message's hash and references are random keys, each a B+tree
// leaf rewritten by the commit that records the send.
func messageIndex(m *Message) []indexEntry {
	out := make([]indexEntry, 0, 3+len(m.InReplyTo)+len(m.References))
	out = append(out, compositeEntry(bucketMessagesComplaint, pair(m.ComplaintID, m.ID)))
	if m.MessageID != "" {
		out = append(out, compositeEntry(bucketMessageID, strIDKey(m.MessageID, m.ID)))
	}
	if m.Direction == DirectionOut {
		return out
	}
	if m.ContentHash != "" {
		out = append(out, compositeEntry(bucketMessageHash, strIDKey(m.ContentHash, m.ID)))
	}
	seen := make(map[string]bool, len(m.InReplyTo)+len(m.References))
	for _, refs := range [][]string{m.InReplyTo, m.References} {
		for _, ref := range refs {
			if ref == "" || seen[ref] {
				continue
			}
			seen[ref] = true
			out = append(out, compositeEntry(bucketMessageRef, strIDKey(ref, m.ID)))
		}
	}
	return out
}

func (t *boltTx) MessageByMessageID(messageID string) (*Message, error) {
	return t.firstMessage(bucketMessageID, "message by Message-ID", messageID)
}

// MessagesByMessageID lists every message recorded with messageID, in ID
// order (the Tx interface returns only the first). Reach it with a type
// assertion to interface{ MessagesByMessageID(string) ([]*Message, error) }.
func (t *boltTx) MessagesByMessageID(messageID string) ([]*Message, error) {
	if messageID == "" {
		return nil, nil
	}
	return t.messagesWithPrefix(bucketMessageID, strKey(messageID))
}

func (t *boltTx) MessageByHash(hash string) (*Message, error) {
	return t.firstMessage(bucketMessageHash, "message by hash", hash)
}

func (t *boltTx) firstMessage(bucket []byte, what, s string) (*Message, error) {
	if s == "" {
		return nil, fmt.Errorf("store: %s: empty key: %w", what, ErrNotFound)
	}
	ids := t.idsWithPrefix(bucket, strKey(s), 1)
	if len(ids) == 0 {
		return nil, fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return t.Message(ids[0])
}

func (t *boltTx) MessagesReferencing(messageID string) ([]*Message, error) {
	if messageID == "" {
		return nil, nil
	}
	return t.messagesWithPrefix(bucketMessageRef, strKey(messageID))
}

func (t *boltTx) MessagesOf(complaintID uint64) ([]*Message, error) {
	return t.messagesWithPrefix(bucketMessagesComplaint, u64(complaintID))
}

func (t *boltTx) messagesWithPrefix(bucket, prefix []byte) ([]*Message, error) {
	return loadAll[Message](t, bucketMessages, "message", t.idsWithPrefix(bucket, prefix, 0))
}

func (t *boltTx) ForEachMessage(fn func(*Message) error) error {
	return walk(t, bucketMessages, "messages", fn)
}

func (t *boltTx) Blob(key string) ([]byte, error) {
	var v []byte
	if key != "" {
		v = t.bucket(bucketBlobs).Get([]byte(key))
	}
	if v == nil {
		return nil, fmt.Errorf("store: blob %.16q: %w", key, ErrNotFound)
	}
	return bytes.Clone(v), nil
}
