package ingest

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TrimReply returns the new text of a reply: text without the quoted history
// that mail clients append (">" quotes under an "On … wrote:" line, Outlook's
// "From: … Sent: …" block, "-----Original Message-----"), without the
// signature after "-- " and without trailing mobile signatures such as "Sent
// from my iPhone". Quotes in the middle of the text (a reply written between
// quoted lines) are kept: there the customer's words sit between the quotes.
// When trimming would leave nothing, the whole text is returned, trimmed of
// surrounding blank lines, so a message never loses its only content.
func TrimReply(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := dropLeadingHistory(strings.Split(text, "\n"))
	kept := lines[:cutHistory(lines)]
	kept = kept[:cutSignature(kept)]
	kept = kept[:trailingContent(kept)]
	out := strings.TrimSpace(strings.Join(kept, "\n"))
	if out == "" {
		return strings.TrimSpace(text)
	}
	return out
}

// dropLeadingHistory removes history that comes before any new text: a
// forwarded message's header block (the forwarded text is then what the
// sender sends us), or an attribution line with the quote under it (the
// sender wrote below the quote).
func dropLeadingHistory(lines []string) []string {
	i := skipBlank(lines, 0)
	if i == len(lines) {
		return lines
	}
	if isSeparatorLine(lines[i]) || isForwardIntro(lines[i]) {
		j := i + 1
		for j < len(lines) && !isBlank(lines[j]) {
			j++
		}
		return lines[j:]
	}
	if n := quoteHeaderLines(lines, i); n > 0 {
		j := i + n
		for j < len(lines) && (isBlank(lines[j]) || isQuote(lines[j])) {
			j++
		}
		return lines[j:]
	}
	return lines
}

// cutHistory returns the index of the first line of the quoted history, or
// len(lines) when there is none. A history marker on the first text line
// does not count: there is no new text above it to keep.
func cutHistory(lines []string) int {
	seenText := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if isBlank(line) {
			continue
		}
		if seenText {
			if isSeparatorLine(line) || isForwardIntro(line) || isHeaderBlock(lines, i) {
				return i
			}
			if n := quoteHeaderLines(lines, i); n > 0 && historyFollows(lines, i+n) {
				return i
			}
		}
		if !isQuote(line) && !isDelimiter(line) {
			seenText = true
		}
	}
	return len(lines)
}

// cutSignature returns the index of the RFC 3676 §4.3 signature delimiter
// ("-- ", also "--" as clients strip the space) when text precedes it.
func cutSignature(lines []string) int {
	for i, line := range lines {
		if i > 0 && strings.TrimRight(line, " \t") == "--" && hasText(lines[:i]) {
			return i
		}
	}
	return len(lines)
}

// trailingContent drops trailing blank lines, quotes, delimiter lines and
// mobile signatures, and returns the length of what is left.
func trailingContent(lines []string) int {
	n := len(lines)
	for n > 0 {
		l := lines[n-1]
		if !isBlank(l) && !isQuote(l) && !isDelimiter(l) && !isMobileSignature(l) {
			break
		}
		n--
	}
	return n
}

func hasText(lines []string) bool {
	for _, l := range lines {
		if !isBlank(l) && !isQuote(l) && !isDelimiter(l) {
			return true
		}
	}
	return false
}

func isBlank(line string) bool { return strings.TrimSpace(line) == "" }

func isQuote(line string) bool {
	return strings.HasPrefix(strings.TrimLeft(line, " \t"), ">")
}

// isDelimiter: a line made only of rule characters ("-----", "____",
// "***", "====", Gmail's invisible "ᐧ" tracker mark).
func isDelimiter(line string) bool {
	s := strings.TrimSpace(line)
	if s == "" {
		return false
	}
	if s == "ᐧ" {
		return true
	}
	if len(s) < 2 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("-_=*#~+", r) {
			return false
		}
	}
	return true
}

// isSeparatorLine matches clients' explicit history separators:
// "-----Original Message-----", "---------- Forwarded message ---------",
// "-------- Исходное сообщение --------", "----- Persiųstas laiškas -----".
func isSeparatorLine(line string) bool {
	s := strings.TrimSpace(line)
	if len(s) > 120 || !strings.HasPrefix(strings.TrimLeft(s, "*"), "--") {
		return false
	}
	s = strings.Trim(s, "*")
	inner := strings.TrimSpace(strings.Trim(s, "-_= "))
	if inner == "" {
		return false
	}
	return strings.HasSuffix(s, "--") || separatorWords.MatchString(inner)
}

var separatorWords = regexp.MustCompile(`(?i)^(original message|forwarded message|исходное сообщение|пересылаемое сообщение|пересланное сообщение|persiųstas laiškas|originalus laiškas|pradinis laiškas|ursprüngliche nachricht|message d'origine)`)

// isForwardIntro matches Apple Mail's "Begin forwarded message:" and its
// translations, also inside a quote.
func isForwardIntro(line string) bool {
	s := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), ">"))
	return forwardIntro.MatchString(s)
}

var forwardIntro = regexp.MustCompile(`(?i)^(begin forwarded message|начало переадресованного сообщения|пересылаемое сообщение|persiunčiamas laiškas|anfang der weitergeleiteten nachricht|début du message réexpédié)\s*:?\s*$`)

// quoteHeaderLines reports how many lines (up to 6: clients wrap long ones,
// some with blank lines between) starting at i form an attribution line such
// as "On Mon, 2 Apr 2012, Megan <m@x> wrote:", "5 марта 2024 г., Иван
// <i@x.ru> написал(а):", "2024-03-05, Jonas <j@x.lt> rašė:" or Gmail's
// "2016-10-24 15:36 GMT+02:00 Foo <f@x.org>:"; 0 when they do not. The first
// line must open like one (see attributionStart) and the whole must hold a
// date, so "My friend wrote:" in a customer's text is not one.
func quoteHeaderLines(lines []string, i int) int {
	if isQuote(lines[i]) || !attributionStart(lines[i]) {
		return 0
	}
	joined := ""
	for n := 1; n <= 6 && i+n <= len(lines); n++ {
		l := strings.TrimSpace(strings.ReplaceAll(lines[i+n-1], "\u00a0", " "))
		if n > 1 && !attributionContinues(l, lines[i+n-2]) {
			return 0
		}
		joined = strings.TrimSpace(joined + " " + l)
		if len(joined) > 300 {
			return 0
		}
		if isAttribution(joined) {
			return n
		}
	}
	return 0
}

// attributionContinues: a wrapped attribution goes on with plain lines, a
// short "> wrote:" or ">:" (a wrapped "<address>" looks like a quote), and
// after a blank line only with a wrapped "<address".
func attributionContinues(l, prev string) bool {
	switch {
	case isQuote(l):
		return strings.HasSuffix(l, ":") && len(l) <= 30
	case isBlank(prev):
		return l == "" || strings.HasPrefix(l, "<")
	}
	return true
}

// attributionStart: the line opens with "On"/"Am"/"Le"/… or a digit, or
// holds an address or a verb of writing. (Plain string tests: this runs on
// every line of every message.)
func attributionStart(line string) bool {
	s := strings.TrimSpace(line)
	if s == "" {
		return false
	}
	if s[0] >= '0' && s[0] <= '9' || strings.Contains(s, "@") && emailLike.MatchString(s) {
		return true
	}
	low := strings.ToLower(s)
	for _, o := range attributionOpeners {
		if strings.HasPrefix(low, o) {
			return true
		}
	}
	return hasVerb(low)
}

var emailLike = regexp.MustCompile(`[\w.+-]@[\w-]+\.\w`)

var attributionOpeners = []string{"on ", "at ", "am ", "le ", "el ", "il ", "op ", "den ", "em ", "w dniu ", "в ", "во "}

// attributionVerbs: "wrote" in the languages of our customers and of the
// clients they use. Longer forms come first for the suffix test.
var attributionVerbs = []string{"wrote", "writes", "schrieb", "a écrit", "escribió",
	"scrisse", "ha scritto", "geschreven", "schreef", "napisał(a)", "napisał", "skrev",
	"escreveu", "kirjoitti", "пишет", "пише", "написал(а)", "написала", "написал",
	"писал", "parašė", "rašė", "写道"}

// hasVerb: low holds a verb of attributionVerbs as a word.
func hasVerb(low string) bool {
	for _, v := range attributionVerbs {
		for rest := low; ; {
			i := strings.Index(rest, v)
			if i < 0 {
				break
			}
			if wordEdge(rest[:i], true) && wordEdge(rest[i+len(v):], false) {
				return true
			}
			rest = rest[i+len(v):]
		}
	}
	return false
}

// wordEdge: the text before (or after) a match ends (or starts) a word.
func wordEdge(s string, before bool) bool {
	if s == "" {
		return true
	}
	var r rune
	if before {
		r, _ = utf8.DecodeLastRuneInString(s)
	} else {
		r, _ = utf8.DecodeRuneInString(s)
	}
	return !unicode.IsLetter(r)
}

func isAttribution(s string) bool {
	if !strings.HasSuffix(s, ":") {
		return false
	}
	low := strings.ToLower(strings.TrimSpace(strings.TrimSuffix(s, ":")))
	for _, v := range attributionVerbs {
		if strings.HasSuffix(low, v) && wordEdge(low[:len(low)-len(v)], true) {
			return true
		}
	}
	hasDate := strings.ContainsAny(s, "0123456789")
	return hasDate && (hasVerb(low) || strings.HasSuffix(s, ">:") && strings.Contains(s, "@"))
}

// historyFollows decides whether the lines after an attribution are history.
// When the attribution is followed by unquoted text (Outlook Mobile style),
// or by a quote that runs to the end or into a footer, they are. When the
// quote is followed by more of the sender's own text, the reply is written
// between quotes and nothing is cut.
func historyFollows(lines []string, from int) bool {
	i := skipBlank(lines, from)
	if i == len(lines) || !isQuote(lines[i]) {
		return true
	}
	for i < len(lines) && (isQuote(lines[i]) || isBlank(lines[i])) {
		i++
	}
	if i == len(lines) {
		return true
	}
	l := lines[i]
	return isDelimiter(l) || strings.TrimRight(l, " \t") == "--" || isMobileSignature(l)
}

func skipBlank(lines []string, i int) int {
	for i < len(lines) && isBlank(lines[i]) {
		i++
	}
	return i
}

// isHeaderBlock matches an embedded header block that Outlook and others put
// above the previous message: a From line and at least two more header lines
// within the next few lines, one of them naming when it was sent or its
// subject (so "From: Vilnius / To: London" in a complaint about a trip does
// not count).
func isHeaderBlock(lines []string, i int) bool {
	key, val, ok := headerLine(lines[i])
	if !ok || !fromKeys[key] {
		return false
	}
	more, strong := 0, strings.Contains(val, "@")
	for j, seen := i+1, 0; j < len(lines) && seen < 6; j++ {
		if isBlank(lines[j]) {
			continue
		}
		seen++
		k, _, ok := headerLine(lines[j])
		if !ok || !headerKeys[k] {
			continue
		}
		more++
		strong = strong || sentKeys[k]
	}
	return more >= 2 && strong
}

// headerLine splits "Key: value" (also Outlook's "*Key:* value" and quoted
// "> Key: value") into a lower-cased key and the value.
func headerLine(line string) (key, val string, ok bool) {
	s := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), ">"))
	s = strings.TrimLeft(s, "*")
	k, v, found := strings.Cut(s, ":")
	if !found || k == "" || len(k) > 30 {
		return "", "", false
	}
	for _, r := range k {
		if !unicode.IsLetter(r) && r != ' ' && r != '-' && r != '*' {
			return "", "", false
		}
	}
	k = strings.ToLower(strings.TrimSpace(strings.Trim(k, "*")))
	return k, strings.TrimSpace(strings.TrimLeft(v, "*")), true
}

var fromKeys = setOf("from", "от", "от кого", "nuo", "siuntėjas", "von", "de", "van", "da", "od", "från", "fra")

var sentKeys = setOf("sent", "date", "subject", "отправлено", "дата", "тема",
	"išsiųsta", "data", "tema", "gesendet", "datum", "betreff", "envoyé", "objet",
	"enviado", "asunto", "verzonden", "onderwerp", "wysłano", "temat", "skickat",
	"ämne", "oggetto", "inviato", "emne")

var headerKeys = union(sentKeys, setOf("to", "cc", "reply-to", "кому", "копия",
	"kam", "kopija", "an", "à", "para", "aan", "do", "till", "til", "a", "risposta"))

// isMobileSignature matches the one-line signatures phones and apps add
// ("Sent from my iPhone", "Отправлено с iPhone", "Išsiųsta iš mano iPhone").
func isMobileSignature(line string) bool {
	s := strings.TrimSpace(line)
	if len(s) > 120 {
		return false
	}
	if strings.Contains(s, ", ") && !strings.Contains(strings.ToLower(s), "please excuse") {
		// "Sent from my desk, is much easier …" is a sentence.
		return false
	}
	for _, re := range mobileSignatures {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

var mobileSignatures = []*regexp.Regexp{
	regexp.MustCompile(`(?i)^[(<]*\s*(sent|envoyé|enviado|inviato|verzonden|gesendet|skickat|sendt|wysłane|отправлено|išsiųsta)\s+(from|with|via|by|depuis|desde|da|met|von|från|fra|z|с|со|из|iš)\s`),
	regexp.MustCompile(`(?i)^(von meinem|diese nachricht wurde von meinem) .{1,60} gesendet\.?$`),
	regexp.MustCompile(`(?i)^get (outlook|\[outlook) for .{1,60}$`),
	regexp.MustCompile(`(?i)^(from my|someone from) (iphone|ipad|android|mobile)\b.{0,20}$`),
	regexp.MustCompile(`^從我的 .{1,30} 傳送$`),
}

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func union(a, b map[string]bool) map[string]bool {
	m := make(map[string]bool, len(a)+len(b))
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}
