package store

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"time"
)

// maxKeyString is the longest string put into a key verbatim. Longer ones
// (a hostile 100 KB Message-ID) are replaced by their SHA-256, which keeps
// keys under bbolt's limit and pages small.
const maxKeyString = 512

// u64 encodes an ID big-endian, so byte order is numeric order.
func u64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v)
}

func getU64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// pair is the key of a composite index entry: two IDs.
func pair(a, b uint64) []byte {
	k := make([]byte, 0, 16)
	k = binary.BigEndian.AppendUint64(k, a)
	return binary.BigEndian.AppendUint64(k, b)
}

// strKey encodes s for use as (the prefix of) a key: its length as a
// uvarint, then s itself, or its SHA-256 when s is longer than maxKeyString.
// The length prefix makes the encoding unambiguous — no string's key is a
// prefix of another's — and never empty, which bbolt refuses.
func strKey(s string) []byte {
	k := binary.AppendUvarint(make([]byte, 0, 2+min(len(s), maxKeyString)+8), uint64(len(s)))
	if len(s) > maxKeyString {
		sum := sha256.Sum256([]byte(s))
		return append(k, sum[:]...)
	}
	return append(k, s...)
}

// strIDKey is strKey(s) followed by an ID: a composite index entry.
func strIDKey(s string, id uint64) []byte {
	return binary.BigEndian.AppendUint64(strKey(s), id)
}

// timeKey encodes t so that byte order is time order for any time.Time:
// seconds since the epoch with the sign bit flipped, then nanoseconds.
func timeKey(t time.Time) []byte {
	k := make([]byte, 0, 12)
	k = binary.BigEndian.AppendUint64(k, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(k, uint32(t.Nanosecond()))
}

func parseTimeKey(k []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
	return time.Unix(sec, int64(binary.BigEndian.Uint32(k[8:12])))
}

// tgKey encodes a Telegram user id.
func tgKey(id int64) []byte { return u64(uint64(id)) }

// numberKey is the meta key of a year's complaint number sequence.
func numberKey(year int) []byte {
	return []byte("number/" + strconv.Itoa(year))
}
