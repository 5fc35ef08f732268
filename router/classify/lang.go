package classify

import "unicode"

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
}

type langProfile struct {
	code    string
	script  string
	letters map[rune]bool
	stop    map[string]bool
}

func newLangDetector(ps []LangProfile) *langDetector {
	d := &langDetector{fallback: map[string]string{}}
	for _, p := range ps {
		lp := langProfile{code: p.Code, script: p.Script, letters: map[rune]bool{}, stop: map[string]bool{}}
		for _, r := range p.Letters {
			lp.letters[unicode.ToLower(r)] = true
		}
		for _, w := range p.Stopwords {
			lp.stop[foldString(w)] = true
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
	special := make([]int, len(d.profiles))
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Cyrillic, r):
			cyr++
		case unicode.Is(unicode.Latin, r):
			latin++
		default:
			continue
		}
		lr := unicode.ToLower(r)
		for i, p := range d.profiles {
			if p.letters[lr] {
				special[i]++
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
	best, bestScore := "", 0
	for i, p := range d.profiles {
		if p.script != script {
			continue
		}
		score := 3 * special[i]
		for _, t := range toks {
			if p.stop[t.word] {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = p.code, score
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
