package notify

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Data keys of the attachments a message had that were not kept (the
// router's contract, docs/ARCHITECTURE.md): a JSON array of
// {"name","size","why"} with why "too_large" or "unreadable", and the count
// of all of them when the array was cut.
const (
	dataNotKept      = "not_kept"
	dataNotKeptTotal = "not_kept_total"
)

// maxFilesShown bounds the list rendered, whatever the row holds; the rest
// is shown as a count. maxFileNameRunes bounds one name.
const (
	maxFilesShown    = 20
	maxFileNameRunes = 100
)

// fileView is one file not kept, as the templates show it.
type fileView struct {
	Name     string
	Size     string
	TooLarge bool // else it could not be read
}

type notKeptEntry struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	Why  string `json:"why"`
}

// notKeptView decodes the not-kept list of data for lang. A list that does
// not decode shows nothing rather than fail the whole message. more is how
// many files were not kept beyond those listed.
func notKeptView(data map[string]string, lang string) (files []fileView, more int) {
	var entries []notKeptEntry
	if s := data[dataNotKept]; s != "" {
		_ = json.Unmarshal([]byte(s), &entries)
	}
	for i, e := range entries {
		if i == maxFilesShown {
			break
		}
		files = append(files, fileView{
			Name:     fileName(e.Name, len(files)+1),
			Size:     formatSize(e.Size, lang),
			TooLarge: e.Why == "too_large",
		})
	}
	total, err := strconv.Atoi(strings.TrimSpace(data[dataNotKeptTotal]))
	if err != nil || total < len(entries) {
		total = len(entries)
	}
	return files, total - len(files)
}

// fileName is a name safe to show on one line, or a stand-in for none.
func fileName(name string, n int) string {
	name = cleanHeaderText(name)
	if r := []rune(name); len(r) > maxFileNameRunes {
		name = string(r[:maxFileNameRunes]) + "…"
	}
	if name == "" {
		return "#" + strconv.Itoa(n)
	}
	return name
}

// formatSize writes n bytes in decimal units the way lang writes numbers
// (a decimal comma in Russian and Lithuanian).
func formatSize(n int64, lang string) string {
	units := map[string][]string{
		"ru": {"байт", "КБ", "МБ", "ГБ"},
		"lt": {"B", "KB", "MB", "GB"},
	}[lang]
	if units == nil {
		units = []string{"bytes", "KB", "MB", "GB"}
	}
	if n < 1000 {
		return strconv.FormatInt(max(n, 0), 10) + " " + units[0]
	}
	v, u := float64(n)/1000, 1
	for v >= 1000 && u < len(units)-1 {
		v, u = v/1000, u+1
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if lang == "ru" || lang == "lt" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " " + units[u]
}
