package notify

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
	"time"

	"complaintbot/store"
)

//go:embed templates/*.txt templates/*.html
var templateFiles embed.FS

// ErrNoTemplate is returned by Render for a notification kind that has no
// templates. Such a row is failed permanently: retrying cannot help.
var ErrNoTemplate = errors.New("notify: no template for this kind")

// defaultLang is used when a notification's language has no template.
const defaultLang = "en"

// Rendered is the text of one notification, ready to be put into a message.
type Rendered struct {
	Lang    string // language of the template used (ru, lt, en)
	Subject string // control characters already removed
	Text    string // text/plain body
	HTML    string // text/html body; customer-provided strings are escaped
}

// RenderOptions are the settings Render takes from the daemon's config.
type RenderOptions struct {
	// Location shows the due time; nil means UTC.
	Location *time.Location
	// CompanyName signs the message; empty gives a generic signature.
	CompanyName string
}

// view is what the templates see. Every field is plain text; html/template
// escapes it for the HTML part.
type view struct {
	Number  string
	Name    string
	Subject string
	Due     string
	Company string
	// Code is the one-time code of a link_code mail (router's Telegram
	// linking); digits only.
	Code string
	// NotKept lists files of the customer's message that were not kept;
	// NotKeptMore counts those beyond the list.
	NotKept     []fileView
	NotKeptMore int
	// staffView holds the fields of notifications to staff (staff.go).
	staffView
	// replyView holds a staff member's reply to the customer (reply.go).
	replyView
	// deadlineView holds reminders, escalations and delays (deadline.go).
	deadlineView
}

// templateSet holds the parsed templates of one kind and language.
type templateSet struct {
	text *texttemplate.Template // defines "subject" and "text"
	html *htmltemplate.Template // defines "html"
}

// templates maps "kind.lang" to its templates. It is filled once, at package
// initialisation, from the embedded files and never changed afterwards.
var templates = mustParseTemplates(templateFiles)

// requiredData lists, per kind, the Data keys without which a message would
// make no sense to the customer.
var requiredData = map[string][]string{
	"ack":          {"number"},
	"not_kept":     {"number", dataNotKept},
	KindAssigned:   {"number"},
	KindReply:      {"text"},
	"link_code":    {"number", "code"},
	KindReminder:   {"number", "due"},
	KindEscalation: {"number", "due"},
	KindDelay:      {"number", "due"},
}

// Render renders n with its kind's template in its language (English when
// there is none for it), showing times in loc (UTC when nil).
func Render(n *store.Notification, loc *time.Location) (Rendered, error) {
	return RenderWith(n, RenderOptions{Location: loc})
}

// RenderWith is Render with every option.
func RenderWith(n *store.Notification, o RenderOptions) (Rendered, error) {
	set, lang, err := lookupTemplates(n.Kind, n.Lang)
	if err != nil {
		return Rendered{}, err
	}
	for _, key := range requiredData[n.Kind] {
		if strings.TrimSpace(n.Data[key]) == "" {
			return Rendered{}, fmt.Errorf("notify: %s notification %d has no %q", n.Kind, n.ID, key)
		}
	}
	v := makeView(n, lang, o)
	r := Rendered{Lang: lang}
	if r.Text, err = executeText(set.text, "text", v); err != nil {
		return Rendered{}, err
	}
	if r.HTML, err = executeHTML(set.html, v); err != nil {
		return Rendered{}, err
	}
	r.Subject = cleanHeaderText(n.Subject)
	if r.Subject == "" {
		if r.Subject, err = executeText(set.text, "subject", v); err != nil {
			return Rendered{}, err
		}
		r.Subject = cleanHeaderText(r.Subject)
	}
	return r, nil
}

// lookupTemplates finds kind's templates in lang, falling back to English.
func lookupTemplates(kind, lang string) (templateSet, string, error) {
	lang = baseLang(lang)
	if set, ok := templates[kind+"."+lang]; ok {
		return set, lang, nil
	}
	if set, ok := templates[kind+"."+defaultLang]; ok {
		return set, defaultLang, nil
	}
	return templateSet{}, "", fmt.Errorf("%w: %q", ErrNoTemplate, kind)
}

// baseLang turns "ru-RU", "RU" or "ru_RU" into "ru".
func baseLang(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	return lang
}

func makeView(n *store.Notification, lang string, o RenderOptions) view {
	name := n.Data["customer_name"]
	if name == "" {
		name = n.To.Name
	}
	files, more := notKeptView(n.Data, lang)
	return view{
		Number:      cleanHeaderText(n.Data["number"]),
		Name:        cleanHeaderText(name),
		Subject:     cleanHeaderText(n.Data["subject"]),
		Due:         formatDue(n.Data["due"], lang, o.Location),
		Company:     cleanHeaderText(o.CompanyName),
		Code:        cleanHeaderText(n.Data["code"]),
		NotKept:     files,
		NotKeptMore: more,
		staffView:   makeStaffView(n),
		replyView:   makeReplyView(n),

		deadlineView: makeDeadlineView(n, lang, o),
	}
}

// formatDue shows an RFC 3339 time in loc the way lang writes dates, with
// the zone name so nobody has to guess which clock is meant. An unparsable
// or empty value gives "" and the template words the promise without a time.
func formatDue(due, lang string, loc *time.Location) string {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(due))
	if err != nil {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	var s string
	switch lang {
	case "ru":
		s = t.Format("02.01.2006 15:04")
	case "lt":
		s = t.Format("2006-01-02 15:04") // the Lithuanian standard order (LST ISO 8601)
	default:
		s = t.Format("2 January 2006, 15:04")
	}
	return s + " (" + loc.String() + ")"
}

func executeText(t *texttemplate.Template, name string, v view) (string, error) {
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, name, v); err != nil {
		return "", fmt.Errorf("notify: render %s: %w", name, err)
	}
	return b.String(), nil
}

func executeHTML(t *htmltemplate.Template, v view) (string, error) {
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "html", v); err != nil {
		return "", fmt.Errorf("notify: render html: %w", err)
	}
	return b.String(), nil
}

// mustParseTemplates parses every templates/<kind>.<lang>.txt with
// text/template and its .html sibling with html/template. A broken
// template is a programming error caught by any test run, hence the panic.
func mustParseTemplates(files fs.FS) map[string]templateSet {
	sets, err := parseTemplates(files)
	if err != nil {
		panic(err)
	}
	return sets
}

func parseTemplates(files fs.FS) (map[string]templateSet, error) {
	names, err := fs.Glob(files, "templates/*.txt")
	if err != nil {
		return nil, err
	}
	sets := make(map[string]templateSet, len(names))
	for _, name := range names {
		key := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".txt")
		text, err := texttemplate.ParseFS(files, name)
		if err != nil {
			return nil, fmt.Errorf("notify: template %s: %w", name, err)
		}
		htmlName := strings.TrimSuffix(name, ".txt") + ".html"
		html, err := htmltemplate.ParseFS(files, htmlName)
		if err != nil {
			return nil, fmt.Errorf("notify: template %s: %w", htmlName, err)
		}
		sets[key] = templateSet{text: text, html: html}
	}
	return sets, nil
}
