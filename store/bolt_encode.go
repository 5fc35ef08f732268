package store

import (
	"bytes"
	json "github.com/goccy/go-json"
)

// encoder turns records into JSON values for write transactions, with
// github.com/goccy/go-json (about 1.2x faster than encoding/json to encode
// a message, 5x to decode one; the bytes are the same, which
// TestEncoderMatchesEncodingJSON checks, so the file format does not
// change). bbolt keeps a reference to each value until commit, so values
// are carved out of large append-only chunks instead of being allocated
// one by one.
//
// One encoder serves every write transaction of a Bolt, which bbolt's
// writer lock runs one at a time: reset, called once a transaction holds
// that lock, gives the chunks of the one before (committed or rolled back,
// so bbolt references none of its values) to the next. A small commit, such
// as the notifier's marks, so no longer allocates a fresh chunk each time.
// At most keptChunks chunks and a keptBuffer-sized buffer are kept, so one
// huge transaction does not hold its memory for good.
type encoder struct {
	buf    bytes.Buffer
	enc    *json.Encoder
	chunks [][]byte // chunks[:used] hold this transaction's values
	used   int
}

const (
	encoderChunk = 256 << 10
	keptChunks   = 2
	keptBuffer   = 1 << 20
)

// reset forgets the values of the transaction before; their chunks are
// reused. Only the holder of bbolt's writer lock may call it.
func (e *encoder) reset() {
	for i := range e.used {
		e.chunks[i] = e.chunks[i][:0]
	}
	if len(e.chunks) > keptChunks {
		clear(e.chunks[keptChunks:])
		e.chunks = e.chunks[:keptChunks]
	}
	e.used = 0
	if e.buf.Cap() > keptBuffer {
		e.buf = bytes.Buffer{} // e.enc writes to &e.buf, which stays the same
	}
}

func (e *encoder) encode(v any) ([]byte, error) {
	if e.enc == nil {
		e.enc = json.NewEncoder(&e.buf)
		// Values are read back by this package only; escaping <, > and &
		// for HTML would cost a third of the encoding time for nothing.
		e.enc.SetEscapeHTML(false)
	}
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return nil, err
	}
	data := bytes.TrimSuffix(e.buf.Bytes(), []byte("\n"))
	return e.keep(data), nil
}

// keep copies data into the current chunk (the next one when it is full;
// a value larger than a quarter chunk gets its own allocation).
func (e *encoder) keep(data []byte) []byte {
	if len(data) > encoderChunk/4 {
		return bytes.Clone(data)
	}
	if e.used == 0 || cap(e.chunks[e.used-1])-len(e.chunks[e.used-1]) < len(data) {
		if e.used == len(e.chunks) {
			e.chunks = append(e.chunks, make([]byte, 0, encoderChunk))
		}
		e.used++
	}
	c := &e.chunks[e.used-1]
	start := len(*c)
	*c = append(*c, data...)
	return (*c)[start:len(*c):len(*c)]
}
