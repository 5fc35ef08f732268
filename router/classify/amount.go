package classify

import (
	"strings"
	"unicode"
)

// money is one amount found in a text.
type money struct {
	value    string // canonical decimal: "15000", "45.99"
	currency string // ISO 4217
	start    int    // rune index in the folded text
	claim    bool   // a claim cue stands shortly before it
}

// claimCueWindow is how many runes before an amount a claim cue may stand.
const claimCueWindow = 48

// amountFinder finds money amounts however people write them: "15 000 руб.",
// "15000р", "1,5 тыс. рублей", "€120", "120 eurų", "USD 300", "$1,250.00",
// "45,99 €". A number without a currency is not an amount (order numbers,
// dates and phone numbers have none).
type amountFinder struct {
	symbols   map[rune]string // "$" -> USD
	codes     map[string]string
	words     map[string]string // exact currency words
	stems     []stemCode        // currency word stems
	thousands []string          // folded; "*" suffix = stem
	cues      []string
}

type stemCode struct{ stem, code string }

func newAmountFinder(r *Rules) *amountFinder {
	f := &amountFinder{symbols: map[rune]string{}, codes: map[string]string{}, words: map[string]string{}}
	for _, c := range r.Currencies {
		f.codes[strings.ToLower(c.Code)] = c.Code
		for _, s := range c.Symbols {
			for _, r := range s {
				f.symbols[r] = c.Code
			}
		}
		for _, w := range c.Words {
			w = foldString(w)
			if s, ok := strings.CutSuffix(w, "*"); ok {
				f.stems = append(f.stems, stemCode{s, c.Code})
			} else {
				f.words[w] = c.Code
			}
		}
	}
	for _, t := range r.Thousands {
		f.thousands = append(f.thousands, foldString(t))
	}
	for _, c := range r.ClaimCues {
		f.cues = append(f.cues, foldString(c))
	}
	return f
}

// find returns every amount with a currency in the folded text.
func (f *amountFinder) find(text []rune) []money {
	var out []money
	for i := 0; i < len(text); i++ {
		if !unicode.IsDigit(text[i]) || (i > 0 && isNumRune(text[i-1])) {
			continue
		}
		intPart, frac, end := parseNumber(text, i)
		m, ok := f.currencyAround(text, i, end, &intPart, &frac)
		if ok {
			m.value = canonical(intPart, frac)
			m.start = i
			m.claim = f.cueBefore(text, i)
			out = append(out, m)
		}
		i = end - 1
	}
	return out
}

func isNumRune(r rune) bool { return unicode.IsDigit(r) || unicode.IsLetter(r) }

// currencyAround looks for a currency after the number (optionally after a
// "thousand" word) or right before it.
func (f *amountFinder) currencyAround(text []rune, start, end int, intPart, frac *string) (money, bool) {
	j := skipSpace(text, end)
	if w, next := wordAt(text, j); w != "" && f.isThousand(w) {
		*intPart, *frac = times1000(*intPart, *frac)
		j = skipSpace(text, skipDot(text, next))
	}
	if j < len(text) {
		if c, ok := f.symbols[text[j]]; ok {
			return money{currency: c}, true
		}
	}
	if w, _ := wordAt(text, j); w != "" {
		if c := f.currencyWord(w); c != "" {
			return money{currency: c}, true
		}
	}
	k := start - 1
	for k >= 0 && isSpace(text[k]) && start-k <= 2 {
		k--
	}
	if k >= 0 {
		if c, ok := f.symbols[text[k]]; ok {
			return money{currency: c}, true
		}
		if w := wordBefore(text, k+1); w != "" {
			if c, ok := f.codes[w]; ok {
				return money{currency: c}, true
			}
		}
	}
	return money{}, false
}

func (f *amountFinder) isThousand(w string) bool {
	for _, t := range f.thousands {
		if s, ok := strings.CutSuffix(t, "*"); ok && strings.HasPrefix(w, s) || w == t {
			return true
		}
	}
	return false
}

func (f *amountFinder) currencyWord(w string) string {
	if c, ok := f.codes[w]; ok {
		return c
	}
	if c, ok := f.words[w]; ok {
		return c
	}
	for _, s := range f.stems {
		if strings.HasPrefix(w, s.stem) {
			return s.code
		}
	}
	return ""
}

func (f *amountFinder) cueBefore(text []rune, i int) bool {
	from := max(0, i-claimCueWindow)
	window := string(text[from:i])
	for _, c := range f.cues {
		if strings.Contains(window, c) {
			return true
		}
	}
	return false
}

// parseNumber reads digits with thousands and decimal separators from
// text[i:]: "15 000", "1,5", "45.99", "1,250.00", "1 500,50". A separator
// followed by exactly three digits groups thousands; followed by one or two
// digits, and last, it is the decimal point.
func parseNumber(text []rune, i int) (intPart, frac string, end int) {
	var groups []string
	var seps []rune
	j := i
	for {
		k := j
		for k < len(text) && unicode.IsDigit(text[k]) {
			k++
		}
		groups = append(groups, string(text[j:k]))
		j = k
		if j+1 >= len(text) || !isNumSep(text[j]) || !unicode.IsDigit(text[j+1]) {
			break
		}
		n := digitsAt(text, j+1)
		if isSpace(text[j]) && (n != 3 || len(groups[len(groups)-1]) > 3) {
			break
		}
		seps = append(seps, text[j])
		j++
	}
	end = j
	if len(groups) > 1 && len(groups[len(groups)-1]) != 3 && !isSpace(seps[len(seps)-1]) {
		return strings.Join(groups[:len(groups)-1], ""), groups[len(groups)-1], end
	}
	if len(groups) == 2 && len(groups[1]) == 3 && seps[0] != ' ' && seps[0] != '\u00a0' && groups[0] == "0" {
		return "0", groups[1], end
	}
	return strings.Join(groups, ""), "", end
}

func digitsAt(text []rune, i int) int {
	n := 0
	for i+n < len(text) && unicode.IsDigit(text[i+n]) {
		n++
	}
	return n
}

func isNumSep(r rune) bool { return r == ',' || r == '.' || isSpace(r) }

func isSpace(r rune) bool { return r == ' ' || r == '\u00a0' || r == '\u202f' || r == '\u2009' }

func skipSpace(text []rune, i int) int {
	for i < len(text) && isSpace(text[i]) {
		i++
	}
	return i
}

func skipDot(text []rune, i int) int {
	if i < len(text) && text[i] == '.' {
		return i + 1
	}
	return i
}

// wordAt returns the letters starting at i and the index after them.
func wordAt(text []rune, i int) (string, int) {
	j := i
	for j < len(text) && unicode.IsLetter(text[j]) {
		j++
	}
	return string(text[i:j]), j
}

// wordBefore returns the letters ending just before i.
func wordBefore(text []rune, i int) string {
	j := i
	for j > 0 && unicode.IsLetter(text[j-1]) {
		j--
	}
	return string(text[j:i])
}

// times1000 shifts the decimal point three places right.
func times1000(intPart, frac string) (string, string) {
	frac += "000"
	return intPart + frac[:3], strings.TrimRight(frac[3:], "0")
}

// canonical writes a decimal without leading zeros, trailing fraction zeros
// or separators: ("015000", "") -> "15000", ("45", "90") -> "45.9".
func canonical(intPart, frac string) string {
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	frac = strings.TrimRight(frac, "0")
	if frac == "" {
		return intPart
	}
	return intPart + "." + frac
}

// pickClaim chooses the claim amount: the first one after a claim cue, else
// the first one.
func pickClaim(ms []money) (money, bool) {
	if len(ms) == 0 {
		return money{}, false
	}
	for _, m := range ms {
		if m.claim {
			return m, true
		}
	}
	return ms[0], true
}
