package router

import (
	"strings"
	"unicode"
)

// Languages DetectLang returns.
const (
	LangRussian    = "ru"
	LangLithuanian = "lt"
	LangEnglish    = "en"
)

// maxLangSample is how much of a text DetectLang reads: the beginning
// tells the language, and a huge mail costs no more than a short one.
const maxLangSample = 4096

// lithuanianWords are frequent words of customer mail that are not English
// words, including their common spellings without diacritics.
var lithuanianWords = map[string]bool{
	"laba": true, "diena": true, "sveiki": true, "labas": true, "prašau": true, "prasau": true,
	"ačiū": true, "aciu": true, "dėkoju": true, "dekoju": true, "ir": true, "kad": true,
	"yra": true, "nėra": true, "nera": true, "mano": true, "jūsų": true, "jusu": true,
	"gavau": true, "negavau": true, "užsakymas": true, "uzsakymas": true, "užsakymo": true,
	"uzsakymo": true, "prekė": true, "preke": true, "prekę": true, "siuntinys": true,
	"pinigus": true, "grąžinti": true, "grazinti": true, "kodėl": true, "kodel": true,
	"skundas": true, "dėl": true, "pagarba": true, "buvo": true,
}

// DetectLang guesses the language of a customer's text for the reply: "ru"
// for mostly Cyrillic text, "lt" when Lithuanian letters or words show,
// "en" otherwise (English when unsure). It is deliberately small; a real
// language identifier can replace it behind this one function.
func DetectLang(text string) string {
	if len(text) > maxLangSample {
		text = text[:maxLangSample]
	}
	cyrillic, latin, ltLetters := countScripts(text)
	if cyrillic >= 3 && cyrillic > latin {
		return LangRussian
	}
	if ltLetters+2*countLithuanianWords(text) >= 2 {
		return LangLithuanian
	}
	return LangEnglish
}

// countScripts counts Cyrillic letters, Latin letters, and letters only
// Lithuanian uses among our languages (ą č ę ė į š ų ū ž).
func countScripts(text string) (cyrillic, latin, ltLetters int) {
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Cyrillic, r):
			cyrillic++
		case unicode.Is(unicode.Latin, r):
			latin++
			if strings.ContainsRune("ąčęėįšųūžĄČĘĖĮŠŲŪŽ", r) {
				ltLetters++
			}
		}
	}
	return cyrillic, latin, ltLetters
}

func countLithuanianWords(text string) int {
	n := 0
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if lithuanianWords[strings.ToLower(w)] {
			n++
		}
	}
	return n
}
