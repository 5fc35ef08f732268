package classify

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// minStemBytes is the shortest stem a term may use: shorter prefixes would
// match half the dictionary.
const minStemBytes = 3

// maxGap is how many words "_" in a term may skip.
const maxGap = 2

// elem is one word of a term: a whole word, a stem (matched as a prefix of
// a word) or a gap of up to maxGap arbitrary words.
type elem struct {
	s      string
	prefix bool
	gap    bool
}

// pattern is one compiled term and what a match of it counts towards.
type pattern struct {
	term  string
	elems []elem
	tgt   target
}

// target says which rule a term belongs to.
type target struct {
	kind   targetKind
	idx    int // category, want or not-complaint kind index
	weight float64
}

type targetKind uint8

const (
	tComplaint targetKind = iota
	tNotComplaint
	tCategory
	tSubjective
	tObjective
	tWant
	tPenalty
	tLongUse
	tThreat
)

// matcher finds the terms of one language in a token list. Terms are indexed
// by their first word, so a scan costs a few map look-ups per token.
type matcher struct {
	pats  []pattern
	exact map[string][]int
	stems map[string][]int
	// stemLens are the byte lengths of the stems in stems, ascending: a
	// token is looked up at those lengths only, not at every prefix.
	stemLens []int
}

func newMatcher() *matcher {
	return &matcher{exact: map[string][]int{}, stems: map[string][]int{}}
}

// add compiles term: words separated by spaces, a trailing "*" makes a word
// a stem, a lone "_" skips up to maxGap words.
func (m *matcher) add(term string, t target) error {
	var elems []elem
	for _, w := range strings.Fields(foldString(term)) {
		switch {
		case w == "_":
			elems = append(elems, elem{gap: true})
		case strings.HasSuffix(w, "*"):
			s := strings.TrimSuffix(w, "*")
			if len(s) < minStemBytes {
				return fmt.Errorf("term %q: stem %q shorter than %d bytes", term, s, minStemBytes)
			}
			elems = append(elems, elem{s: s, prefix: true})
		default:
			elems = append(elems, elem{s: w})
		}
	}
	if len(elems) == 0 || elems[0].gap || elems[len(elems)-1].gap {
		return fmt.Errorf("term %q: empty or starts/ends with a gap", term)
	}
	i := len(m.pats)
	m.pats = append(m.pats, pattern{term: term, elems: elems, tgt: t})
	if elems[0].prefix {
		m.stems[elems[0].s] = append(m.stems[elems[0].s], i)
		m.addStemLen(len(elems[0].s))
	} else {
		m.exact[elems[0].s] = append(m.exact[elems[0].s], i)
	}
	return nil
}

// addStemLen keeps stemLens sorted and without repeats.
func (m *matcher) addStemLen(n int) {
	i, found := slices.BinarySearch(m.stemLens, n)
	if !found {
		m.stemLens = slices.Insert(m.stemLens, i, n)
	}
}

// scan calls hit once for every pattern that occurs in toks (the first
// occurrence), with the index of the token where it starts.
func (m *matcher) scan(toks []token, hit func(p *pattern, at int)) {
	seen := make([]bool, len(m.pats))
	try := func(ids []int, at int) {
		for _, id := range ids {
			if !seen[id] && matchFrom(m.pats[id].elems[1:], toks, at+1) {
				seen[id] = true
				hit(&m.pats[id], at)
			}
		}
	}
	for at, t := range toks {
		w := t.word
		try(m.exact[w], at)
		for _, k := range m.stemLens {
			if k > len(w) {
				break
			}
			if k < len(w) && !utf8.RuneStart(w[k]) {
				continue
			}
			try(m.stems[w[:k]], at)
		}
	}
}

// matchFrom reports whether elems match toks starting at i.
func matchFrom(elems []elem, toks []token, i int) bool {
	if len(elems) == 0 {
		return true
	}
	e := elems[0]
	if e.gap {
		for skip := 0; skip <= maxGap && i+skip <= len(toks); skip++ {
			if matchFrom(elems[1:], toks, i+skip) {
				return true
			}
		}
		return false
	}
	if i >= len(toks) || !e.matches(toks[i].word) {
		return false
	}
	return matchFrom(elems[1:], toks, i+1)
}

func (e elem) matches(w string) bool {
	if e.prefix {
		return strings.HasPrefix(w, e.s)
	}
	return w == e.s
}
