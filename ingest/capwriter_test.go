package ingest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// TestCapWriter: through ReadFrom (what io.Copy uses) and through Write,
// with reads of every shape, a file is hashed and counted in full and kept
// byte-identical exactly when it is within max.
func TestCapWriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 4095, 4096, 4097, 70000, 300000} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.IntN(256))
		}
		sum := sha256.Sum256(data)
		for _, limit := range []int64{0, 10, 4096, 70000, 1 << 20} {
			for _, via := range []string{"copy", "onebyte", "half", "write"} {
				t.Run(fmt.Sprintf("size=%d/max=%d/%s", size, limit, via), func(t *testing.T) {
					cw := &capWriter{max: limit, h: sha256.New()}
					var err error
					switch via {
					case "copy":
						_, err = io.Copy(cw, bytes.NewReader(data))
					case "onebyte":
						_, err = io.Copy(cw, iotest.OneByteReader(bytes.NewReader(data)))
					case "half":
						_, err = io.Copy(cw, iotest.HalfReader(bytes.NewReader(data)))
					case "write":
						for p := data; len(p) > 0; p = p[min(len(p), 1000):] {
							cw.Write(p[:min(len(p), 1000)])
						}
					}
					if err != nil {
						t.Fatal(err)
					}
					if cw.n != int64(size) || !bytes.Equal(cw.h.Sum(nil), sum[:]) {
						t.Errorf("counted %d, hash match %v; want %d and a match", cw.n, bytes.Equal(cw.h.Sum(nil), sum[:]), size)
					}
					kept := int64(size) <= limit
					if cw.over == kept {
						t.Errorf("over = %v, want %v", cw.over, !kept)
					}
					if kept && !bytes.Equal(cw.Bytes(), data) {
						t.Errorf("kept bytes differ (%d bytes, want %d)", len(cw.Bytes()), size)
					}
					if !kept && cw.chunks != nil {
						t.Errorf("over the cap but %d chunks still held", len(cw.chunks))
					}
				})
			}
		}
	}
}

// TestCapWriterErr: a read error is returned with what was read so far.
func TestCapWriterErr(t *testing.T) {
	cw := &capWriter{max: 1 << 20, h: sha256.New()}
	boom := fmt.Errorf("boom")
	n, err := io.Copy(cw, io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(boom)))
	if err != boom || n != 3 || cw.n != 3 {
		t.Errorf("io.Copy = %d, %v; counted %d; want 3, boom, 3", n, err, cw.n)
	}
}
