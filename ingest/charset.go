package ingest

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

func isValidUTF8(b []byte) bool { return utf8.Valid(b) }

// decodeGuess turns bytes of an unknown or undeclared charset into UTF-8 and
// names the charset it assumed. The guesses fit this company's customers:
//   - mostly valid UTF-8 with a few broken bytes: UTF-8, broken bytes
//     replaced with U+FFFD;
//   - mostly 8-bit letters (Cyrillic): windows-1251 when most of them are
//     in 0xE0-0xFF (its lower case), else koi8-r (whose lower case is in
//     0xC0-0xDF);
//   - a few 8-bit letters among ASCII: windows-1257 (Lithuanian), which
//     agrees with Latin-1 on the German and Nordic letters.
func decodeGuess(b []byte) (string, string) {
	valid, invalid, high, lower, upper, ascii := byteStats(b)
	switch {
	case valid > invalid:
		return strings.ToValidUTF8(string(b), "\uFFFD"), "utf-8"
	case high > ascii/2 && lower >= upper:
		return decodeAs(b, "windows-1251"), "windows-1251"
	case high > ascii/2:
		return decodeAs(b, "koi8-r"), "koi8-r"
	default:
		return decodeAs(b, "windows-1257"), "windows-1257"
	}
}

// byteStats counts valid multi-byte UTF-8 runes, invalid bytes, bytes
// >= 0x80, bytes in 0xE0-0xFF and 0xC0-0xDF, and ASCII letters.
func byteStats(b []byte) (valid, invalid, high, lower, upper, ascii int) {
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c >= 0xE0:
			lower++
		case c >= 0xC0:
			upper++
		case c < 0x80 && (c|0x20 >= 'a' && c|0x20 <= 'z'):
			ascii++
		}
		if c >= 0x80 {
			high++
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			invalid++
		case size > 1:
			valid++
			high += size - 1
		}
		i += size
	}
	return
}

func decodeAs(b []byte, name string) string {
	r, err := charset.Reader(name, bytes.NewReader(b))
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
