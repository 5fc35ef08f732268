package notify

import (
	"strconv"
	"strings"
	"time"

	"complaintbot/store"
)

// Deadline kinds (router's scheduler makes them). Reminder and escalation
// go to staff; delay tells the customer, in their thread, that a promised
// date slipped and gives the new one.
const (
	KindReminder   = "reminder"
	KindEscalation = "escalation"
	KindDelay      = "delay"
)

// deadlineView is what the deadline templates see besides the common
// fields. Every field is plain text.
type deadlineView struct {
	Stage    string // the stage's name in the template's language
	StageKey string // the stage as stored: registered, analysis, corrective_action
	Left     string // business time left before the deadline ("3 h 20 min")
	Overdue  string // business time past the deadline
	OldDue   string // the date first promised to the customer (delay)
	Owner    string // who owns the complaint (escalation)
	Priority string // normal | high
	Round    int    // 1 for the first escalation of a breach, then 2, 3
}

func makeDeadlineView(n *store.Notification, lang string, o RenderOptions) deadlineView {
	switch n.Kind {
	case KindReminder, KindEscalation, KindDelay:
	default:
		return deadlineView{}
	}
	d := n.Data
	round, _ := strconv.Atoi(d["round"])
	return deadlineView{
		Stage:    stageName(d["stage"], lang),
		StageKey: cleanHeaderText(d["stage"]),
		Left:     formatMinutes(d["left_minutes"], lang),
		Overdue:  formatMinutes(d["overdue_minutes"], lang),
		OldDue:   formatDue(d["old_due"], lang, o.Location),
		Owner:    cleanHeaderText(d["owner"]),
		Priority: cleanHeaderText(d["priority"]),
		Round:    round,
	}
}

// stageNames are the workflow stages as staff and customers read them.
var stageNames = map[string]map[string]string{
	"en": {store.StageRegistered: "first answer", store.StageAnalysis: "analysis", store.StageAction: "corrective action"},
	"ru": {store.StageRegistered: "первый ответ", store.StageAnalysis: "разбор", store.StageAction: "корректирующие действия"},
	"lt": {store.StageRegistered: "pirmas atsakymas", store.StageAnalysis: "analizė", store.StageAction: "taisomieji veiksmai"},
}

func stageName(stage, lang string) string {
	if s, ok := stageNames[lang][stage]; ok {
		return s
	}
	return cleanHeaderText(strings.ReplaceAll(stage, "_", " "))
}

// formatMinutes shows a count of minutes as hours and minutes the way lang
// abbreviates them; "" for a missing or negative value.
func formatMinutes(v, lang string) string {
	m, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || m < 0 {
		return ""
	}
	units := map[string][2]string{"ru": {"ч", "мин"}, "lt": {"val.", "min."}}[lang]
	if units[0] == "" {
		units = [2]string{"h", "min"}
	}
	d := time.Duration(m) * time.Minute
	h, rest := int(d/time.Hour), int((d%time.Hour)/time.Minute)
	switch {
	case h == 0:
		return strconv.Itoa(rest) + " " + units[1]
	case rest == 0:
		return strconv.Itoa(h) + " " + units[0]
	}
	return strconv.Itoa(h) + " " + units[0] + " " + strconv.Itoa(rest) + " " + units[1]
}
