package notify

import (
	"embed"
	"encoding/json"
	"fmt"
	"html"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	"unicode/utf16"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"complaintbot/store"
)

//go:embed templates/telegram/*.html
var telegramTemplateFiles embed.FS

// telegramTemplates maps "kind.lang" to its Telegram template, filled
// once at package initialisation and never changed afterwards.
var telegramTemplates = mustParseTelegramTemplates(telegramTemplateFiles)

const (
	// maxTelegramText is Telegram's limit on a message, in UTF-16 code
	// units of the text shown; a longer Data["text"] is cut to fit.
	maxTelegramText = 4096
	// maxButtonData is Telegram's limit on a button's callback data.
	maxButtonData = 64
)

// TelegramText is a notification rendered for Telegram: HTML in
// Telegram's parse mode (every customer-provided string escaped) and the
// same text as shown, for the record.
type TelegramText struct {
	Lang  string
	HTML  string
	Plain string
}

// RenderTelegram renders n for a Telegram chat. The text comes from, in
// order: the kind's Telegram template in n's language (English when there
// is none), n.Data["text"] (sent as plain text, escaped), or the kind's
// email text template (escaped). Templates are html/template, so what a
// customer wrote cannot add tags.
func RenderTelegram(n *store.Notification, o RenderOptions) (TelegramText, error) {
	for _, key := range requiredData[n.Kind] {
		if strings.TrimSpace(n.Data[key]) == "" {
			return TelegramText{}, fmt.Errorf("notify: %s notification %d has no %q", n.Kind, n.ID, key)
		}
	}
	if t, lang, ok := lookupTelegramTemplate(n.Kind, n.Lang); ok {
		var b strings.Builder
		if err := t.Execute(&b, makeView(n, lang, o)); err != nil {
			return TelegramText{}, fmt.Errorf("notify: render telegram %s: %w", n.Kind, err)
		}
		h := strings.TrimSpace(b.String())
		return TelegramText{Lang: lang, HTML: h, Plain: telegramPlain(h)}, nil
	}
	if text := strings.TrimSpace(n.Data["text"]); text != "" {
		return plainTelegramText(baseLang(n.Lang), text), nil
	}
	r, err := RenderWith(n, o)
	if err != nil {
		return TelegramText{}, err
	}
	return plainTelegramText(r.Lang, strings.TrimSpace(r.Text)), nil
}

// plainTelegramText sends text as it is: cut to Telegram's limit, escaped.
func plainTelegramText(lang, text string) TelegramText {
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = cutUTF16(text, maxTelegramText)
	return TelegramText{Lang: lang, HTML: html.EscapeString(text), Plain: text}
}

// cutUTF16 cuts s to at most n UTF-16 code units, marking the cut with "…".
func cutUTF16(s string, n int) string {
	units := 0
	for i, r := range s {
		units += utf16.RuneLen(r)
		if units > n-1 {
			return s[:i] + "…"
		}
	}
	return s
}

func lookupTelegramTemplate(kind, lang string) (*htmltemplate.Template, string, bool) {
	lang = baseLang(lang)
	if t, ok := telegramTemplates[kind+"."+lang]; ok {
		return t, lang, true
	}
	t, ok := telegramTemplates[kind+"."+defaultLang]
	return t, defaultLang, ok
}

// telegramPlain is the text Telegram shows for our HTML: tags dropped,
// entities decoded. Every '<' in our output starts a tag, since the
// templates escape everything else.
func telegramPlain(h string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(h, '<')
		if i < 0 {
			b.WriteString(h)
			break
		}
		b.WriteString(h[:i])
		j := strings.IndexByte(h[i:], '>')
		if j < 0 {
			break
		}
		h = h[i+j+1:]
	}
	return html.UnescapeString(b.String())
}

// button is one inline button of Data["buttons"].
type button struct {
	Text string `json:"text"`
	Data string `json:"data"`
}

// telegramKeyboard reads Data["buttons"], rows of {text, data}. A
// malformed keyboard is a permanent error: it would fail every time.
func telegramKeyboard(n *store.Notification) (*tgbotapi.InlineKeyboardMarkup, error) {
	raw := n.Data["buttons"]
	if raw == "" {
		return nil, nil
	}
	var rows [][]button
	if err := json.Unmarshal([]byte(raw), &rows); err != nil {
		return nil, permanentf("buttons: %v", err)
	}
	kb := tgbotapi.InlineKeyboardMarkup{InlineKeyboard: [][]tgbotapi.InlineKeyboardButton{}}
	for _, row := range rows {
		var out []tgbotapi.InlineKeyboardButton
		for _, b := range row {
			if strings.TrimSpace(b.Text) == "" || b.Data == "" || len(b.Data) > maxButtonData {
				return nil, permanentf("button %q: text required and data of 1 to %d bytes", b.Text, maxButtonData)
			}
			out = append(out, tgbotapi.NewInlineKeyboardButtonData(cleanHeaderText(b.Text), b.Data))
		}
		if len(out) > 0 {
			kb.InlineKeyboard = append(kb.InlineKeyboard, out)
		}
	}
	if len(kb.InlineKeyboard) == 0 {
		return nil, nil
	}
	return &kb, nil
}

func mustParseTelegramTemplates(files fs.FS) map[string]*htmltemplate.Template {
	names, err := fs.Glob(files, "templates/telegram/*.html")
	if err != nil {
		panic(err)
	}
	out := make(map[string]*htmltemplate.Template, len(names))
	for _, name := range names {
		key := strings.TrimSuffix(strings.TrimPrefix(name, "templates/telegram/"), ".html")
		// A broken template is a programming error any test run catches.
		out[key] = htmltemplate.Must(htmltemplate.ParseFS(files, name))
	}
	return out
}
