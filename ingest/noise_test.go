package ingest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"

	"complaintbot/store"
)

func header(fields ...string) mail.Header {
	var h mail.Header
	for i := 0; i+1 < len(fields); i += 2 {
		h.Add(fields[i], fields[i+1])
	}
	return h
}

func TestNoise(t *testing.T) {
	cases := []struct {
		name   string
		h      mail.Header
		reason string // "" = a person's mail
	}{
		{"plain", header("From", "a@example.com", "Subject", "Broken fridge"), ""},
		{"auto-submitted no", header("Auto-Submitted", "no"), ""},
		{"auto-submitted replied", header("Auto-Submitted", "auto-replied"), "auto-reply: Auto-Submitted: auto-replied"},
		{"auto-submitted generated comment", header("Auto-Submitted", "Auto-Generated (vacation)"), "auto-reply: Auto-Submitted: auto-generated (vacation)"},
		{"auto-submitted failure", header("Auto-Submitted", "auto-generated (failure)"), "bounce: Auto-Submitted: auto-generated (failure)"},
		{"x-autoreply", header("X-Autoreply", "yes"), "auto-reply: X-Autoreply: yes"},
		{"x-autorespond", header("X-Autorespond", "Out of office"), "auto-reply: X-Autorespond: out of office"},
		{"suppress is not auto", header("X-Auto-Response-Suppress", "All", "Subject", "Refund please"), ""},
		{"suppress OOF is not auto", header("X-Auto-Response-Suppress", "DR, RN, NRN, OOF, AutoReply"), ""},
		{"precedence bulk", header("Precedence", "bulk"), "bulk: Precedence: bulk"},
		{"precedence junk", header("Precedence", "junk"), "bulk: Precedence: junk"},
		{"precedence list", header("Precedence", "list"), "bulk: Precedence: list"},
		{"precedence auto_reply", header("Precedence", "auto_reply"), "auto-reply: Precedence: auto_reply"},
		{"precedence first-class", header("Precedence", "first-class"), ""},
		{"list-id", header("List-Id", "Shop news <news.shop.example>"), "bulk: List-Id: Shop news <news.shop.example>"},
		{"list-unsubscribe alone", header("List-Unsubscribe", "<mailto:u@crm.example>"), ""},
		{"report dsn", header("Content-Type", "multipart/report; report-type=delivery-status; boundary=x"), "bounce: multipart/report; report-type=delivery-status"},
		{"report mdn", header("Content-Type", "multipart/report; report-type=disposition-notification; boundary=x"), "bounce: multipart/report; report-type=disposition-notification"},
		{"empty return-path", header("Return-Path", "<>"), "bounce: empty Return-Path"},
		{"return-path set", header("Return-Path", "<a@example.com>"), ""},
		{"mailer-daemon", header("From", "Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>"), "bounce: From: MAILER-DAEMON@mx.example.com"},
		{"postmaster", header("From", "postmaster@example.com"), "bounce: From: postmaster@example.com"},
		{"failed recipients", header("X-Failed-Recipients", "x@example.com"), "bounce: X-Failed-Recipients"},
		{"outlook automatic reply", header("Subject", "Automatic reply: Order 5"), "auto-reply: out-of-office subject: Automatic reply: Order 5"},
		{"out of office", header("Subject", "Out of Office: Order 5"), "auto-reply: out-of-office subject: Out of Office: Order 5"},
		{"out of office alone", header("Subject", "OUT OF OFFICE"), "auto-reply: out-of-office subject: OUT OF OFFICE"},
		{"out of office hours is a person", header("Subject", "Out of office hours support never answers"), ""},
		{"lotus auto", header("Subject", "AUTO: John is out"), "auto-reply: out-of-office subject: AUTO: John is out"},
		{"russian", header("Subject", "=?utf-8?B?0JDQstGC0L7QvtGC0LLQtdGCOiDQl9Cw0LrQsNC3?="), "auto-reply: out-of-office subject: Автоответ: Заказ"},
		{"russian away", header("Subject", "Нет на месте: заказ 5"), "auto-reply: out-of-office subject: Нет на месте: заказ 5"},
		{"lithuanian", header("Subject", "Automatinis atsakymas: užsakymas"), "auto-reply: out-of-office subject: Automatinis atsakymas: užsakymas"},
		{"delivery failure is a person", header("Subject", "Delivery failure: my parcel never came"), ""},
		{"reply to auto is a person", header("Subject", "Re: Automatic reply: Order 5"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Noise(c.h); got != c.reason {
				t.Errorf("Noise = %q, want %q", got, c.reason)
			}
		})
	}
}

// TestNoiseCorpora counts how many of the bounce corpora are recognised as
// automatic mail, with floors, and requires every auto-reply fixture to be.
func TestNoiseCorpora(t *testing.T) {
	floors := map[string]float64{
		"php-bounce-handler":        0.90,
		"perl-bounceparser":         0.90,
		"autoreply-header-fixtures": 1.0,
	}
	total := map[string]int{}
	ignored := map[string]int{}
	for _, cm := range loadCorpus(t) {
		dir, _, _ := strings.Cut(cm.name, string(filepath.Separator))
		if _, ok := floors[dir]; !ok {
			continue
		}
		m := Normalize(cm.raw, NormalizeOptions{})
		total[dir]++
		if m.Status == store.StatusIgnored {
			ignored[dir]++
		} else {
			t.Logf("not noise %s: %s %q subject %q", cm.name, m.Status, m.Reason, m.Subject)
		}
	}
	for dir, floor := range floors {
		rate := float64(ignored[dir]) / float64(max(total[dir], 1))
		t.Logf("%s: %d/%d ignored as automatic (%.0f%%)", dir, ignored[dir], total[dir], 100*rate)
		if total[dir] == 0 || rate < floor {
			t.Errorf("%s: %d/%d ignored, floor %.0f%%", dir, ignored[dir], total[dir], 100*floor)
		}
	}
}

// TestNoiseNotOnComplaints: none of the corpora's plain reply fixtures
// (talon, people answering mail) is taken for automatic mail.
func TestNoiseNotOnComplaints(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpora, "talon", "tests", "fixtures", "standard_replies", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatal("no talon replies", err)
	}
	for _, f := range files {
		if m := Normalize([]byte(readFile(t, f)), NormalizeOptions{}); m.Status != store.StatusRecorded {
			t.Errorf("%s: %s %q", filepath.Base(f), m.Status, m.Reason)
		}
	}
}
