package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"complaintbot/store"
)

// parseJSONL reads an export back.
func parseJSONL(t *testing.T, data []byte) []Line {
	t.Helper()
	var lines []Line
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var l Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d: %v: %s", len(lines)+1, err, sc.Bytes())
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestExportJSONLRoundTrip(t *testing.T) {
	st := openStore(t)
	fx := seed(t, st)
	var out bytes.Buffer
	if err := Export(t.Context(), st, &out, FormatJSONL); err != nil {
		t.Fatal(err)
	}
	var numbers []string
	var msgs, events, notes int
	var orphans []*store.Message
	var orphanNotes []*store.Notification
	for i, l := range parseJSONL(t, out.Bytes()) {
		parts := 0
		switch {
		case l.Record != nil:
			parts++
			numbers = append(numbers, l.Complaint.Number)
			msgs, events, notes = msgs+len(l.Messages), events+len(l.Events), notes+len(l.Notifications)
			if l.Customer == nil || len(l.Messages) == 0 || l.Messages[0].Attachments[0].BlobKey == "" {
				t.Errorf("line %d: incomplete record %+v", i+1, l.Record)
			}
		case l.Message != nil:
			orphans = append(orphans, l.Message)
		case l.Notification != nil:
			orphanNotes = append(orphanNotes, l.Notification)
		}
		if l.Message != nil {
			parts++
		}
		if l.Notification != nil {
			parts++
		}
		if parts != 1 {
			t.Errorf("line %d has %d parts, want 1", i+1, parts)
		}
	}
	if strings.Join(numbers, ",") != strings.Join(fx.numbers, ",") {
		t.Errorf("complaints %v, want %v", numbers, fx.numbers)
	}
	if msgs != fx.messages || events != fx.events || notes != len(fx.numbers) {
		t.Errorf("%d messages %d events %d notifications, want %d %d %d", msgs, events, notes, fx.messages, fx.events, len(fx.numbers))
	}
	if len(orphans) != 2 || orphans[0].Status != store.StatusIgnored || orphans[1].Status != store.StatusQuarantined {
		t.Fatalf("messages without a complaint: %+v", orphans)
	}
	if !bytes.Equal(orphans[1].Raw, fx.raw) || orphans[1].Reason == "" {
		t.Errorf("quarantined raw %q reason %q, want raw %q", orphans[1].Raw, orphans[1].Reason, fx.raw)
	}
	if len(orphanNotes) != 1 || orphanNotes[0].Kind != "digest" {
		t.Errorf("notifications without a complaint: %+v", orphanNotes)
	}
	if bytes.Contains(out.Bytes(), []byte("SlBFRw")) {
		t.Errorf("attachment bytes (base64 of JPEG) in the export")
	}
}

func TestExportCSV(t *testing.T) {
	st := openStore(t)
	fx := seed(t, st)
	var out bytes.Buffer
	if err := Export(t.Context(), st, &out, FormatCSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatalf("export is not valid CSV: %v", err)
	}
	if strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") || len(rows) != 1+len(fx.numbers) {
		t.Fatalf("header %v, %d rows", rows[0], len(rows))
	}
	col := func(row []string, name string) string {
		for i, h := range CSVHeader {
			if h == name {
				return row[i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	first, hostile := rows[1], rows[3]
	want := map[string]string{
		"number": fx.numbers[0], "created_at": "2026-03-10T09:00:00Z", "stage": "registered",
		"customer_email": "alice@example.com", "customer_name": `Alice "Ali" O'Neil, Jr.`,
		"channel": "email", "lang": "en", "subject": "Broken kettle", "category": "'-1 product",
		"owner": "", "due_at": "2026-03-11T09:00:00Z", "message_count": "2", "event_count": "2",
		"last_event": "ack_queued", "last_event_at": "2026-03-10T09:00:00Z",
	}
	for name, v := range want {
		if got := col(first, name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	if got := col(hostile, "subject"); got != "'"+hostileSubject {
		t.Errorf("hostile subject %q, want it whole behind a quote", got)
	}
	if got := col(rows[2], "customer_name"); got != "Бобров Борис" {
		t.Errorf("Cyrillic name %q", got)
	}
}

func TestDefuseFormula(t *testing.T) {
	cases := map[string]string{
		"=1+1": "'=1+1", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\t=1": "'\t=1", "\r=1": "'\r=1",
		"": "", "plain": "plain", "a=1": "a=1", " =1": " =1", "'=1": "'=1", "Ж=": "Ж=",
	}
	for in, want := range cases {
		if got := defuseFormula(in); got != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}

func TestExportUnknownFormat(t *testing.T) {
	st := openStore(t)
	err := Export(t.Context(), st, io.Discard, "xml")
	if err == nil || !strings.Contains(err.Error(), "jsonl") || !strings.Contains(err.Error(), "csv") {
		t.Fatalf("error %v, want one naming jsonl and csv", err)
	}
	srv := newServer(t, Options{Store: st, Token: testToken})
	resp, body := srv.get(t, "/api/export?format=xml", bearer)
	if resp.StatusCode != 400 || !strings.Contains(assertJSONError(t, body), "jsonl") {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
}

func TestExportHTTP(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	srv := newServer(t, Options{Store: st, Token: testToken})
	for _, tc := range []struct{ query, format, ctype string }{
		{"", FormatJSONL, "application/x-ndjson; charset=utf-8"},
		{"?format=jsonl", FormatJSONL, "application/x-ndjson; charset=utf-8"},
		{"?format=csv", FormatCSV, "text/csv; charset=utf-8"},
	} {
		resp, body := srv.get(t, "/api/export"+tc.query, bearer)
		var direct bytes.Buffer
		if err := Export(t.Context(), st, &direct, tc.format); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ctype || !bytes.Equal(body, direct.Bytes()) {
			t.Fatalf("%q: status %d type %q, body equal to Export: %v", tc.query, resp.StatusCode, resp.Header.Get("Content-Type"), bytes.Equal(body, direct.Bytes()))
		}
		wantName := `attachment; filename="complaintbot-20260310T090000Z.` + tc.format + `"`
		if got := resp.Header.Get("Content-Disposition"); got != wantName {
			t.Errorf("Content-Disposition %q, want %q", got, wantName)
		}
	}
}

func TestExportVia(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	srv := newServer(t, Options{Store: st, Token: testToken})
	for _, format := range []string{FormatJSONL, FormatCSV} {
		var via, direct bytes.Buffer
		if err := ExportVia(t.Context(), srv.URL, testToken, &via, format); err != nil {
			t.Fatal(err)
		}
		if err := Export(t.Context(), st, &direct, format); err != nil {
			t.Fatal(err)
		}
		if via.Len() == 0 || !bytes.Equal(via.Bytes(), direct.Bytes()) {
			t.Errorf("%s: ExportVia wrote %d bytes, Export %d; equal %v", format, via.Len(), direct.Len(), bytes.Equal(via.Bytes(), direct.Bytes()))
		}
	}
}

func TestExportViaErrors(t *testing.T) {
	st := openStore(t)
	withToken := newServer(t, Options{Store: st, Token: testToken})
	noToken := newServer(t, Options{Store: st})
	redirect := httptest.NewServer(http.RedirectHandler(withToken.URL+"/api/export", http.StatusFound))
	t.Cleanup(redirect.Close)
	cases := []struct {
		name, base, token, format string
		want                      []string
	}{
		{"wrong token", withToken.URL, "wrong-" + testToken, "jsonl", []string{"401", "invalid bearer token"}},
		{"no token", withToken.URL, "", "jsonl", []string{"401", "missing bearer token"}},
		{"daemon without a token", noToken.URL, testToken, "csv", []string{"503", "API token not configured"}},
		{"redirect not followed", redirect.URL, testToken, "jsonl", []string{"302"}},
		{"unknown format", withToken.URL, testToken, "xml", []string{"valid: jsonl, csv"}},
		{"no scheme", "127.0.0.1:1", testToken, "jsonl", []string{"base URL"}},
		{"nothing listening", "http://127.0.0.1:1", testToken, "jsonl", []string{"127.0.0.1:1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := ExportVia(t.Context(), tc.base, tc.token, &out, tc.format)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error carries the token: %q", err)
			}
			if out.Len() != 0 {
				t.Errorf("wrote %d bytes on failure", out.Len())
			}
		})
	}
}

func TestExportViaScrubsEchoedToken(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "you sent "+r.Header.Get("Authorization"))
	}))
	t.Cleanup(echo.Close)
	err := ExportVia(t.Context(), echo.URL, testToken, io.Discard, FormatJSONL)
	if err == nil || strings.Contains(err.Error(), testToken) || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("error %v", err)
	}
}

// failingStore is the real store with a fault injected: its failAt-th View
// call (from 1) fails.
type failingStore struct {
	store.Store
	failAt int64
	views  atomic.Int64
}

var errInjected = errors.New("injected read failure")

func (f *failingStore) View(ctx context.Context, fn func(store.Tx) error) error {
	if f.views.Add(1) == f.failAt {
		return errInjected
	}
	return f.Store.View(ctx, fn)
}

// seedMany stores n complaints of one customer with a message each.
func seedMany(t testing.TB, st store.Store, n int) {
	t.Helper()
	err := st.Update(t.Context(), func(tx store.Tx) error {
		cust := &store.Customer{Name: "Many", Emails: []string{"many@example.com"}}
		if err := tx.PutCustomer(cust); err != nil {
			return err
		}
		for i := range n {
			c := &store.Complaint{CustomerID: cust.ID, Channel: store.ChannelEmail, Subject: strings.Repeat("long subject ", 20),
				CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
			if err := tx.PutComplaint(c); err != nil {
				return err
			}
			if err := seedThread(tx, c, cust, 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestExportChunks(t *testing.T) {
	st := openStore(t)
	const n = 3*chunkRecords + 5
	seedMany(t, st, n)
	counting := &failingStore{Store: st}
	var out bytes.Buffer
	if err := Export(t.Context(), counting, &out, FormatJSONL); err != nil {
		t.Fatal(err)
	}
	if lines := parseJSONL(t, out.Bytes()); len(lines) != n {
		t.Fatalf("%d lines, want %d", len(lines), n)
	}
	// One View to plan, then one per chunk of complaints (no orphans here).
	if got, want := counting.views.Load(), int64(1+4); got != want {
		t.Errorf("%d read transactions, want %d", got, want)
	}
}

func TestExportFailures(t *testing.T) {
	cases := []struct {
		name   string
		failAt int64
		status int // 0: the transfer is cut
	}{
		{"fails before any byte", 1, http.StatusInternalServerError},
		{"fails in the first chunk", 2, http.StatusInternalServerError},
		{"fails mid-stream", 3, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			seedMany(t, st, 3*chunkRecords)
			srv := newServer(t, Options{Store: &failingStore{Store: st, failAt: tc.failAt}, Token: testToken})
			var out bytes.Buffer
			err := ExportVia(t.Context(), srv.URL, testToken, &out, FormatJSONL)
			if err == nil {
				t.Fatal("a failed export looked whole")
			}
			if tc.status == 0 {
				if !strings.Contains(err.Error(), "incomplete") || out.Len() == 0 {
					t.Errorf("error %q after %d bytes, want a cut transfer", err, out.Len())
				}
			} else if !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "internal error") || out.Len() != 0 {
				t.Errorf("error %q after %d bytes, want a 500 before any byte", err, out.Len())
			}
			if !strings.Contains(srv.log.String(), errInjected.Error()) {
				t.Errorf("the failure was not logged:\n%s", srv.log)
			}
		})
	}
}
