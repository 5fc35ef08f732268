package classify

import (
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	scriptLatin    = "latin"
	scriptCyrillic = "cyrillic"
)

// maxLangBytes is how much text the detector reads.
const maxLangBytes = 2048

// langDetector tells the main language of a text from its script, the
// letters particular to one language and frequent short words. It is a
// small, fast scorer for the few languages customers write in; see the
// package doc for why it is not a general-purpose library.
type langDetector struct {
	profiles []langProfile
	fallback map[string]string // script -> language when no profile scores
	owners   map[rune][]int    // letter -> profiles that list it
	// stop holds every profile's stopwords: word -> the profiles that list
	// it, bit i for profiles[i], so a token costs one look-up, not one per
	// profile.
	stop map[string]uint64
}

// maxProfiles is how many language profiles the stopword bit sets hold.
const maxProfiles = 64

type langProfile struct {
	code   string
	script string
}

func newLangDetector(ps []LangProfile) *langDetector {
	d := &langDetector{fallback: map[string]string{}, owners: map[rune][]int{}, stop: map[string]uint64{}}
	for i, p := range ps {
		lp := langProfile{code: p.Code, script: p.Script}
		for _, r := range p.Letters {
			r = unicode.ToLower(r)
			d.owners[r] = append(d.owners[r], i)
		}
		for _, w := range p.Stopwords {
			d.stop[foldString(w)] |= 1 << uint(i)
		}
		if _, ok := d.fallback[p.Script]; !ok {
			d.fallback[p.Script] = p.Code
		}
		d.profiles = append(d.profiles, lp)
	}
	return d
}

// detect returns the main language of text: the script with most letters
// picks the candidate profiles, then each profile scores 3 per letter only it
// uses and 1 per stopword. With no evidence the script's first profile wins
// ("other" when no profile has that script).
func (d *langDetector) detect(text string, toks []token) string {
	text = clip(text, maxLangBytes)
	var latin, cyr int
	score := make([]int, len(d.profiles))
	for _, f := range strings.Fields(text) {
		if notWords(f) {
			continue
		}
		for _, r := range f {
			switch {
			case r < utf8.RuneSelf:
				if 'a' <= r|0x20 && r|0x20 <= 'z' {
					latin++
				}
				continue
			case unicode.Is(unicode.Cyrillic, r):
				cyr++
			case unicode.Is(unicode.Latin, r):
				latin++
			default:
				continue
			}
			for _, i := range d.owners[unicode.ToLower(r)] {
				score[i]++
			}
		}
	}
	if latin == 0 && cyr == 0 {
		return "other"
	}
	script := scriptLatin
	if cyr > latin {
		script = scriptCyrillic
	}
	for i := range score {
		score[i] *= 3 // a letter only some languages use weighs three words
	}
	for _, t := range toks {
		for set := d.stop[t.word]; set != 0; set &= set - 1 {
			score[bits.TrailingZeros64(set)]++
		}
	}
	best, bestScore := "", 0
	for i, p := range d.profiles {
		if p.script != script {
			continue
		}
		if score[i] > bestScore {
			best, bestScore = p.code, score[i]
		}
	}
	if best != "" {
		return best
	}
	if l, ok := d.fallback[script]; ok {
		return l
	}
	return "other"
}

// stopTokens limits the tokens the detector looks at, like maxLangBytes.
func stopTokens(toks []token) []token {
	const n = 400
	if len(toks) > n {
		return toks[:n]
	}
	return toks
}

// notWords reports fields that are not words of any language: links,
// e-mail addresses, @mentions and #hashtags (a Russian tweet full of links
// is still Russian).
func notWords(f string) bool {
	return strings.HasPrefix(f, "#") || strings.Contains(f, "@") ||
		strings.Contains(f, "://") || strings.HasPrefix(f, "www.")
}
