package tgfake

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// tags Telegram's HTML parse mode supports.
var htmlTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "span": true, "tg-spoiler": true,
	"a": true, "code": true, "pre": true, "tg-emoji": true, "blockquote": true,
}

// parseText turns text sent in parse mode mode into the text shown.
// Markdown modes are not interpreted (their text is shown as sent).
func parseText(raw, mode string) (string, *apiError) {
	switch strings.ToLower(mode) {
	case "":
		return raw, nil
	case "html":
		return parseHTML(raw)
	case "markdown", "markdownv2":
		return raw, nil
	}
	return "", badRequest("unsupported parse_mode")
}

// parseHTML checks s the way Telegram does and returns its visible text:
// tags must be supported and nested properly, and a '<' must start a tag.
// Named entities other than &lt; &gt; &amp; &quot; stay literal, like a
// '&' that starts no entity.
func parseHTML(s string) (string, *apiError) {
	var b strings.Builder
	var open []string
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			n, e := parseTag(s, i, &open)
			if e != nil {
				return "", e
			}
			i += n
		case '&':
			n, text := parseEntity(s[i:])
			b.WriteString(text)
			i += n
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	if len(open) > 0 {
		return "", badRequest("can't parse entities: Can't find end tag corresponding to start tag \"%s\"", open[len(open)-1])
	}
	return b.String(), nil
}

// parseTag reads the tag at s[i] and keeps the stack of open tags; it
// returns the tag's length.
func parseTag(s string, i int, open *[]string) (int, *apiError) {
	end := strings.IndexByte(s[i:], '>')
	if end < 0 {
		return 0, badRequest("can't parse entities: Unclosed start tag at byte offset %d", i)
	}
	body := s[i+1 : i+end]
	if name, ok := strings.CutPrefix(body, "/"); ok {
		name = strings.ToLower(strings.TrimSpace(name))
		if len(*open) == 0 || (*open)[len(*open)-1] != name {
			return 0, badRequest("can't parse entities: Unexpected end tag at byte offset %d", i)
		}
		*open = (*open)[:len(*open)-1]
		return end + 1, nil
	}
	name := strings.ToLower(strings.Fields(body + " ")[0])
	if !htmlTags[name] {
		return 0, badRequest("can't parse entities: Unsupported start tag \"%s\" at byte offset %d", name, i)
	}
	*open = append(*open, name)
	return end + 1, nil
}

// parseEntity reads a character entity at the start of s and returns its
// length and text; a '&' that starts none is itself.
func parseEntity(s string) (int, string) {
	semi := strings.IndexByte(s, ';')
	if semi < 0 || semi > 12 {
		return 1, "&"
	}
	name := s[1:semi]
	switch name {
	case "lt":
		return semi + 1, "<"
	case "gt":
		return semi + 1, ">"
	case "amp":
		return semi + 1, "&"
	case "quot":
		return semi + 1, `"`
	}
	if num, ok := strings.CutPrefix(name, "#"); ok {
		base := 10
		if hex, ok := strings.CutPrefix(strings.ToLower(num), "x"); ok {
			num, base = hex, 16
		}
		if n, err := strconv.ParseUint(num, base, 32); err == nil && utf8.ValidRune(rune(n)) {
			return semi + 1, string(rune(n))
		}
	}
	return 1, "&"
}

// utf16Len is the length Telegram measures text in.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
