package ingest

import (
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTMLText renders an HTML body as readable plain text: script, style, head
// and similar invisible elements are dropped, block elements and <br> start
// new lines, list items get a "- " bullet, links keep their text, entities are
// decoded and runs of whitespace collapse to one space. Customer HTML is never
// shown raw; this is the only view of an HTML-only message.
func HTMLText(r io.Reader) string {
	w := htmlWriter{}
	z := html.NewTokenizer(r)
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return w.String()
		case html.TextToken:
			if w.skip == 0 {
				w.text(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			w.open(atom.Lookup(name), tt == html.SelfClosingTagToken)
		case html.EndTagToken:
			name, _ := z.TagName()
			w.close(atom.Lookup(name))
		}
	}
}

// htmlWriter accumulates the text of an HTML document line by line.
type htmlWriter struct {
	b strings.Builder
	// skip counts open invisible elements (script, style, ...).
	skip int
	// pendingSpace: whitespace was seen and a space is due before more text.
	pendingSpace bool
	// newlines counts the trailing newlines already written (at most 2 are kept).
	newlines int
	// started: some text has been written.
	started bool
	// quote is the depth of open <blockquote>s; their lines get "> " marks
	// so that reply trimming sees the quote as it would in plain text.
	quote int
}

// invisible elements: nothing inside them is text a reader sees.
func invisible(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Head, atom.Title, atom.Noscript,
		atom.Template, atom.Iframe, atom.Object, atom.Svg, atom.Select:
		return true
	}
	return false
}

// block elements start and end on their own line.
func block(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Table, atom.Tr, atom.Ul, atom.Ol, atom.Li,
		atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Blockquote,
		atom.Pre, atom.Hr, atom.Section, atom.Article, atom.Header, atom.Footer,
		atom.Address, atom.Dl, atom.Dt, atom.Dd, atom.Form, atom.Fieldset,
		atom.Center, atom.Caption, atom.Main, atom.Nav, atom.Aside, atom.Figure,
		atom.Body, atom.Html, atom.Tbody, atom.Thead, atom.Tfoot:
		return true
	}
	return false
}

func (w *htmlWriter) open(a atom.Atom, selfClosing bool) {
	if invisible(a) {
		if !selfClosing {
			w.skip++
		}
		return
	}
	if a == atom.Body {
		// An unclosed <head> must not hide the whole body.
		w.skip = 0
	}
	if w.skip > 0 {
		return
	}
	switch {
	case a == atom.Br:
		w.newline(1)
	case a == atom.Blockquote:
		w.newline(1)
		w.quote++
	case a == atom.Li:
		w.newline(1)
		w.write("- ")
	case a == atom.Td || a == atom.Th:
		w.pendingSpace = true
	case a == atom.P || a == atom.H1 || a == atom.H2 || a == atom.H3:
		w.newline(2)
	case block(a):
		w.newline(1)
	}
}

func (w *htmlWriter) close(a atom.Atom) {
	if invisible(a) {
		if w.skip > 0 {
			w.skip--
		}
		return
	}
	if w.skip > 0 {
		return
	}
	switch {
	case a == atom.Blockquote:
		w.newline(1)
		if w.quote > 0 {
			w.quote--
		}
	case a == atom.P || a == atom.H1 || a == atom.H2 || a == atom.H3:
		w.newline(2)
	case block(a):
		w.newline(1)
	case a == atom.Td || a == atom.Th:
		w.pendingSpace = true
	}
}

// text writes character data with whitespace collapsed; the tokenizer has
// already decoded entities.
func (w *htmlWriter) text(s string) {
	s = strings.ReplaceAll(s, "\u00a0", " ")
	for i, f := range strings.Fields(s) {
		if i > 0 || (len(s) > 0 && isSpace(s[0])) {
			w.pendingSpace = true
		}
		w.write(f)
	}
	if len(s) > 0 && isSpace(s[len(s)-1]) {
		w.pendingSpace = true
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func (w *htmlWriter) write(s string) {
	if w.pendingSpace && w.newlines == 0 && w.started && !w.endsWithSpace() {
		w.b.WriteByte(' ')
	}
	if w.quote > 0 && (w.newlines > 0 || !w.started) {
		w.b.WriteString(strings.Repeat("> ", min(w.quote, 10)))
	}
	w.pendingSpace = false
	w.b.WriteString(s)
	w.newlines = 0
	w.started = true
}

// newline ends the current line, leaving at most n newlines in a row
// (n = 2 gives a blank line between paragraphs). Nothing is written before
// the first text.
func (w *htmlWriter) newline(n int) {
	w.pendingSpace = false
	if !w.started {
		return
	}
	for w.newlines < n {
		w.b.WriteByte('\n')
		w.newlines++
	}
}

func (w *htmlWriter) endsWithSpace() bool {
	s := w.b.String()
	return s != "" && s[len(s)-1] == ' '
}

func (w *htmlWriter) String() string {
	return strings.TrimSpace(w.b.String())
}
