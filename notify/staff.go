package notify

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"complaintbot/store"
)

// KindAssigned tells a staff member that a complaint is now theirs.
const KindAssigned = "assigned"

// staffKinds are the notifications to our own staff rather than replies to
// a customer. They are marked Auto-Submitted: auto-generated (RFC 3834
// section 5: not a response to a message), carry no In-Reply-To or
// References (they must never join the customer's thread), and are not
// recorded as a message of the complaint's conversation: the sent row and
// its "<kind>_sent" event are the record.
var staffKinds = map[string]bool{KindAssigned: true, KindReminder: true, KindEscalation: true}

// IsStaffKind reports whether kind is addressed to staff, not a customer.
func IsStaffKind(kind string) bool { return staffKinds[kind] }

// Data keys of a staff notification (besides number, due, subject and
// customer_name, which the acknowledgement uses too).
const (
	DataCustomerEmail = "customer_email"
	DataCustomerLang  = "customer_lang"
	DataCategory      = "category"
	DataCause         = "cause"
	DataAmount        = "amount"
	DataCurrency      = "currency"
	DataTier          = "tier"     // frontline | head | top
	DataApprover      = "approver" // who approves the head or top tier
	DataWants         = "wants"    // comma-separated
	DataReason        = "reason"   // why this person got it
	DataFlag          = "flag"     // a hint for a careful look, never shown to the customer
	DataText          = "text"     // the customer's text
)

// maxQuotedRunes caps the customer's text in a staff notification: enough
// to judge the matter, short of letting one huge mail fill an inbox.
const maxQuotedRunes = 2000

// staffView is what the staff templates see besides the common fields.
// Every field is plain text; html/template escapes it for the HTML part.
type staffView struct {
	Recipient     string // the staff member's name
	Customer      string
	CustomerEmail string
	CustomerLang  string
	Category      string
	Cause         string
	Amount        string // "120.50 EUR", "" when no amount was named
	Tier          string
	Approver      string
	Wants         string
	Reason        string
	Flag          string
	Text          string // multi-line
	Quoted        string // Text with "> " before each line, for text/plain
}

func makeStaffView(n *store.Notification) staffView {
	if !staffKinds[n.Kind] {
		return staffView{}
	}
	d := n.Data
	text := cleanBodyText(d[DataText], maxQuotedRunes)
	return staffView{
		Recipient:     cleanHeaderText(n.To.Name),
		Customer:      cleanHeaderText(d["customer_name"]),
		CustomerEmail: cleanHeaderText(d[DataCustomerEmail]),
		CustomerLang:  cleanHeaderText(d[DataCustomerLang]),
		Category:      cleanHeaderText(d[DataCategory]),
		Cause:         cleanHeaderText(d[DataCause]),
		Amount:        amountText(d[DataAmount], d[DataCurrency]),
		Tier:          cleanHeaderText(d[DataTier]),
		Approver:      cleanHeaderText(d[DataApprover]),
		Wants:         cleanHeaderText(strings.ReplaceAll(d[DataWants], ",", ", ")),
		Reason:        cleanHeaderText(d[DataReason]),
		Flag:          cleanHeaderText(d[DataFlag]),
		Text:          text,
		Quoted:        quote(text),
	}
}

// cleanBodyText makes a customer's text safe and tidy to quote: line
// breaks are kept (CRLF and lone CR become LF), other control characters
// become spaces, invalid UTF-8 is replaced, runs of blank lines shrink to
// one, and the text is cut to maxRunes with an ellipsis.
func cleanBodyText(s string, maxRunes int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	s = strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	lines := strings.Split(s, "\n")
	kept := lines[:0]
	for _, l := range lines {
		l = strings.TrimRightFunc(l, unicode.IsSpace)
		if l == "" && (len(kept) == 0 || kept[len(kept)-1] == "") {
			continue
		}
		kept = append(kept, l)
	}
	s = strings.TrimSpace(strings.Join(kept, "\n"))
	if utf8.RuneCountInString(s) > maxRunes {
		s = strings.TrimSpace(string([]rune(s)[:maxRunes])) + " […]"
	}
	return s
}

// amountText is "120.50 EUR", or "" when no amount was named.
func amountText(amount, currency string) string {
	amount = cleanHeaderText(amount)
	if amount == "" {
		return ""
	}
	return strings.TrimSpace(amount + " " + cleanHeaderText(currency))
}

// quote prefixes each line with "> " (a blank line with ">" alone), the
// usual mark of quoted mail text.
func quote(text string) string {
	if text == "" {
		return ""
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = ">"
		} else {
			lines[i] = "> " + l
		}
	}
	return strings.Join(lines, "\n")
}

// autoSubmitted is the RFC 3834 Auto-Submitted value of a kind.
func autoSubmitted(kind string) string {
	if kind == KindReply {
		return "no" // written by a person, not an automatic answer
	}
	if staffKinds[kind] {
		return "auto-generated"
	}
	return "auto-replied"
}
