package router

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"complaintbot/store"
)

// withFiles adds attachments as ingest records them: kept ones, one over
// the per-file cap, n over the per-message cap, one undecodable.
func withFiles(m *store.Message, overMessageCap int) *store.Message {
	m.Attachments = []store.Attachment{
		{Name: "photo.jpg", Size: 2 << 20, Kept: true, Data: []byte("jpeg")},
		{Name: "video\r\nBcc: x@y.mp4", Size: 52_428_800, NotKeptWhy: "over the per-attachment cap of 10485760 bytes"},
		{Name: "broken.pdf", Size: 10, NotKeptWhy: "could not be decoded: illegal base64 data at input byte 4"},
	}
	for i := range overMessageCap {
		m.Attachments = append(m.Attachments, store.Attachment{
			Name: fmt.Sprintf("scan-%03d.png", i), Size: 60_000, NotKeptWhy: "over the per-message attachment cap of 26214400 bytes",
		})
	}
	return m
}

func decodeNotKept(t *testing.T, n *store.Notification) []NotKeptFile {
	t.Helper()
	var list []NotKeptFile
	if err := json.Unmarshal([]byte(n.Data[DataNotKept]), &list); err != nil {
		t.Fatalf("Data[%s] = %q: %v", DataNotKept, n.Data[DataNotKept], err)
	}
	return list
}

func TestAckListsAttachmentsNotKept(t *testing.T) {
	f := newFixture(t, nil)
	f.deliver(withFiles(mail("Ann", "ann@customer.test", "a1@customer.test", "Video of the fault", "see attached"), 0))
	ns := f.notifications()
	if len(ns) != 1 || ns[0].Kind != KindAck {
		t.Fatalf("notifications = %+v, want one ack", ns)
	}
	got := decodeNotKept(t, ns[0])
	want := []NotKeptFile{
		{Name: "video Bcc: x@y.mp4", Size: 52_428_800, Why: NotKeptTooLarge},
		{Name: "broken.pdf", Size: 10, Why: NotKeptUnreadable},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("not kept = %+v, want %+v", got, want)
	}
	if _, ok := ns[0].Data[DataNotKeptTotal]; ok {
		t.Errorf("total set for a list that was not cut: %q", ns[0].Data[DataNotKeptTotal])
	}
}

func TestAckWithoutLossHasNoList(t *testing.T) {
	f := newFixture(t, nil)
	m := mail("Ann", "ann@customer.test", "a1@customer.test", "Photo", "see attached")
	m.Attachments = []store.Attachment{{Name: "photo.jpg", Size: 4, Kept: true, Data: []byte("jpeg")}}
	f.deliver(m)
	if ns := f.notifications(); len(ns) != 1 || ns[0].Data[DataNotKept] != "" {
		t.Fatalf("notifications = %+v, want one ack without a not-kept list", ns)
	}
}

func TestNotKeptListIsBounded(t *testing.T) {
	f := newFixture(t, nil)
	f.deliver(withFiles(mail("Ann", "ann@customer.test", "a1@customer.test", "500 scans", "all of them"), 497))
	n := f.notifications()[0]
	if got := decodeNotKept(t, n); len(got) != MaxNotKeptListed {
		t.Errorf("%d files listed, want %d", len(got), MaxNotKeptListed)
	}
	if n.Data[DataNotKeptTotal] != "499" {
		t.Errorf("total = %q, want 499", n.Data[DataNotKeptTotal])
	}
	if len(n.Data[DataNotKept]) > 4096 {
		t.Errorf("list is %d bytes", len(n.Data[DataNotKept]))
	}
}

func TestLongFileNameIsCut(t *testing.T) {
	f := newFixture(t, nil)
	m := mail("Ann", "ann@customer.test", "a1@customer.test", "x", "y")
	m.Attachments = []store.Attachment{{Name: strings.Repeat("ж", 255), Size: 1, NotKeptWhy: "over the per-message attachment cap of 1 bytes"}}
	f.deliver(m)
	if got := decodeNotKept(t, f.notifications()[0]); len([]rune(got[0].Name)) > maxNotKeptNameRunes {
		t.Errorf("name kept %d runes", len([]rune(got[0].Name)))
	}
}

// A follow-up is not acknowledged, but when its files were not kept the
// customer gets a short notice in the thread, within the hourly cap.
func TestFollowUpNotKeptNotice(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.AckPerHour = 2 })
	f.deliver(mail("Ann", "ann@customer.test", "a1@customer.test", "Broken", "it broke"))
	c := f.onlyComplaint()
	f.deliver(replyTo(mail("Ann", "ann@customer.test", "a2@customer.test", "Re: Broken ["+c.Number+"]", "no files"), "a1@customer.test"))
	if n := len(f.notifications()); n != 1 {
		t.Fatalf("%d notifications after a plain follow-up, want only the ack", n)
	}
	f.clock.Add(time.Minute)
	f.deliver(withFiles(replyTo(mail("Ann", "ann@customer.test", "a3@customer.test", "Re: Broken ["+c.Number+"]", "video"), "a1@customer.test"), 0))
	ns := f.notifications()
	if len(ns) != 2 || ns[1].Kind != KindNotKept {
		t.Fatalf("notifications = %+v, want the ack and a not_kept notice", ns)
	}
	n := ns[1]
	if n.InReplyTo != "a3@customer.test" || n.To.Email != "ann@customer.test" || n.Data["number"] != c.Number || len(decodeNotKept(t, n)) != 2 {
		t.Errorf("notice = %+v", n)
	}
	if !strings.Contains(n.Subject, "["+c.Number+"]") {
		t.Errorf("notice subject %q lacks the tag", n.Subject)
	}
	if !f.r.isOwnMessageID(n.MessageID) {
		t.Errorf("notice Message-ID %q is not one of ours", n.MessageID)
	}
	if got := f.onlyComplaint().ThreadMessageIDs; !containsString(got, n.MessageID) {
		t.Errorf("thread %v lacks the notice", got)
	}
	// The cap (2/hour) is shared with the ack: a third reply is not noticed.
	f.deliver(withFiles(replyTo(mail("Ann", "ann@customer.test", "a4@customer.test", "Re: Broken ["+c.Number+"]", "again"), "a1@customer.test"), 0))
	if n := len(f.notifications()); n != 2 {
		t.Errorf("%d notifications, want 2 (the cap is reached)", n)
	}
	kinds := strings.Join(f.eventKinds(c.ID), ",")
	if !strings.Contains(kinds, "not_kept_queued") || !strings.HasSuffix(kinds, "not_kept_suppressed") {
		t.Errorf("events = %s", kinds)
	}
}
