package notify

import (
	"bufio"
	"bytes"
	"io"
	"net/textproto"
	"testing"
	"time"
)

// viaDotWriter is what textproto's DotWriter sends for the writes parts.
func viaDotWriter(t testing.TB, parts ...[]byte) []byte {
	var b bytes.Buffer
	bw := bufio.NewWriter(&b)
	w := textproto.NewWriter(bw).DotWriter()
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// viaDataWriter is what the relay client sends for the same writes.
func viaDataWriter(t testing.TB, parts ...[]byte) []byte {
	var b bytes.Buffer
	w := &dataWriter{w: textproto.NewWriter(bufio.NewWriter(&b))}
	for _, p := range parts {
		if n, err := w.Write(p); err != nil || n != len(p) {
			t.Fatalf("Write: %d of %d bytes, %v", n, len(p), err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The DATA the client sends is byte for byte what textproto's DotWriter
// sends, for canonical messages (the bulk path) and for anything else, in
// one write or split anywhere.
func TestDataWriterMatchesDotWriter(t *testing.T) {
	composed := composedAck(t)
	cases := []string{
		"", "a\r\n", ".\r\n", "..\r\n", "..x\r\n.y\r\n", "a\r\n.\r\nb\r\n", ".start\r\n\r\n.\r\n",
		"no line end", "bare\nlf\r\n.dot\n", "cr\ronly\r\n", "a\r\n\r", "\r\n.", ".",
		string(composed),
		"Subject: x\r\n\r\n.\r\n.hidden command?\r\nQUIT\r\n",
	}
	for _, c := range cases {
		in := []byte(c)
		if got, want := viaDataWriter(t, in), viaDotWriter(t, in); !bytes.Equal(got, want) {
			t.Errorf("%q:\n got %q\nwant %q", c, got, want)
		}
		for i := range len(in) + 1 {
			if got, want := viaDataWriter(t, in[:i], in[i:]), viaDotWriter(t, in[:i], in[i:]); !bytes.Equal(got, want) {
				t.Errorf("%q split at %d:\n got %q\nwant %q", c, i, got, want)
			}
		}
	}
	if !canonicalLines(composed) {
		t.Error("a composed acknowledgement is not canonical: every ack would take the byte-by-byte path")
	}
}

func FuzzDataWriter(f *testing.F) {
	f.Add([]byte(".a\r\nb\r\n"), uint16(3))
	f.Add([]byte("x\n.\r\n"), uint16(1))
	f.Add([]byte("..\r\n\r\n"), uint16(0))
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		i := int(split) % (len(in) + 1)
		if got, want := viaDataWriter(t, in[:i], in[i:]), viaDotWriter(t, in[:i], in[i:]); !bytes.Equal(got, want) {
			t.Errorf("%q split at %d:\n got %q\nwant %q", in, i, got, want)
		}
	})
}

// composedAck is an acknowledgement as the notifier sends it, its subject
// starting with a dot and carrying a line break.
func composedAck(t testing.TB) []byte {
	t.Helper()
	row := ackRow("lt", "Šarūnas", "s@customer.test", ".Sugedusi prekė\r\n.")
	row.Data["number"] = "C-2026-000042"
	row.Subject = "Re: Sugedusi prekė [C-2026-000042]"
	row.MessageID = "c42.n0nce.mac@acme.test"
	r, err := RenderWith(row, RenderOptions{Location: vilnius, CompanyName: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := Compose(row, r, testFrom, time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// BenchmarkDataWriter writes a composed acknowledgement as DATA: "bulk" is
// the relay client's writer, "textproto" the byte-by-byte DotWriter.
func BenchmarkDataWriter(b *testing.B) {
	msg := composedAck(b)
	bw := bufio.NewWriter(io.Discard)
	tw := textproto.NewWriter(bw)
	for _, bc := range []struct {
		name string
		open func() io.WriteCloser
	}{
		{"bulk", func() io.WriteCloser { return &dataWriter{w: tw} }},
		{"textproto", func() io.WriteCloser { return tw.DotWriter() }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				w := bc.open()
				if _, err := w.Write(msg); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
