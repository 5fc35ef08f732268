package classify

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxText is how many bytes of subject+text Classify reads. A complaint says
// what is wrong early; reading a 50 MB body would only cost time.
const maxText = 8 << 10

// foldRune lower-cases a letter and drops the diacritics that customers often
// leave out (Lithuanian ą č ę ė į š ų ū ž, Russian ё), so "grąžinti" and
// "grazinti" are one word to the rules.
func foldRune(r rune) rune {
	r = unicode.ToLower(r)
	switch r {
	case 'ą':
		return 'a'
	case 'č':
		return 'c'
	case 'ę', 'ė':
		return 'e'
	case 'į':
		return 'i'
	case 'š':
		return 's'
	case 'ų', 'ū':
		return 'u'
	case 'ž':
		return 'z'
	case 'ё':
		return 'е'
	case '’', 'ʼ', '`':
		return '\''
	}
	return r
}

// isWordRune says which runes belong to a word: letters, digits and the
// apostrophe inside English contractions ("didn't").
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\''
}

// token is one folded word and where it starts in the folded text.
type token struct {
	word string
}

// tokenize folds text and splits it into words. Apostrophes at the edges
// of a word are dropped ("'quoted'" -> "quoted").
func tokenize(text string) []token {
	// The folded words go into one buffer, made a string once: the tokens
	// are slices of it, so a text costs two allocations, not one per word.
	buf := make([]byte, 0, len(text))
	var spans [][2]int
	start := 0
	flush := func() {
		if a, b := trimQuotes(buf, start, len(buf)); a < b {
			spans = append(spans, [2]int{a, b})
		}
		start = len(buf)
	}
	for _, r := range text {
		if r == utf8.RuneError {
			flush()
			continue
		}
		r = foldRune(r)
		if isWordRune(r) {
			buf = utf8.AppendRune(buf, r)
			continue
		}
		flush()
	}
	flush()
	folded := string(buf)
	toks := make([]token, len(spans))
	for i, sp := range spans {
		toks[i] = token{word: folded[sp[0]:sp[1]]}
	}
	return toks
}

// trimQuotes narrows buf[a:b] to leave out apostrophes at its edges.
func trimQuotes(buf []byte, a, b int) (int, int) {
	for a < b && buf[a] == '\'' {
		a++
	}
	for b > a && buf[b-1] == '\'' {
		b--
	}
	return a, b
}

// foldString folds a rule term the same way tokenize folds text.
func foldString(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
