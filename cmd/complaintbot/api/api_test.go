package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestAuth(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	srv := newServer(t, Options{Store: st, Token: testToken})
	cases := []struct {
		name      string
		path      string
		auth      string
		status    int
		challenge string
	}{
		{"no header", "/api/complaints", "", 401, `Bearer realm="complaintbot"`},
		{"wrong token", "/api/complaints", "Bearer nope", 401, `Bearer realm="complaintbot", error="invalid_token"`},
		{"right token with a suffix", "/api/complaints", bearer + "x", 401, `Bearer realm="complaintbot", error="invalid_token"`},
		{"prefix of the token", "/api/complaints", bearer[:len(bearer)-1], 401, `Bearer realm="complaintbot", error="invalid_token"`},
		{"empty bearer", "/api/complaints", "Bearer ", 401, `Bearer realm="complaintbot"`},
		{"basic scheme", "/api/complaints", "Basic " + testToken, 401, `Bearer realm="complaintbot"`},
		{"token alone", "/api/complaints", testToken, 401, `Bearer realm="complaintbot"`},
		{"unknown path unauthenticated", "/api/nothing-here", "", 401, `Bearer realm="complaintbot"`},
		{"export unauthenticated", "/api/export", "", 401, `Bearer realm="complaintbot"`},
		{"detail unauthenticated", "/api/complaints/C-2026-000001", "Bearer nope", 401, `Bearer realm="complaintbot", error="invalid_token"`},
		{"right token", "/api/complaints", bearer, 200, ""},
		{"scheme in lower case", "/api/complaints", "bearer " + testToken, 200, ""},
		{"unknown path authenticated", "/api/nothing-here", bearer, 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := srv.get(t, tc.path, tc.auth)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if resp.StatusCode != 200 {
				assertJSONError(t, body)
			}
			if strings.Contains(string(body), testToken) {
				t.Errorf("response body carries the token: %s", body)
			}
		})
	}
	if strings.Contains(srv.log.String(), testToken) {
		t.Errorf("the token was logged:\n%s", srv.log)
	}
	if !strings.Contains(srv.log.String(), "request refused") {
		t.Errorf("refusals are not logged:\n%s", srv.log)
	}
}

func TestAPIRefusesAllWithoutConfiguredToken(t *testing.T) {
	st := openStore(t)
	srv := newServer(t, Options{Store: st})
	for _, auth := range []string{"", "Bearer ", "Bearer anything"} {
		resp, body := srv.get(t, "/api/complaints", auth)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("auth %q: status %d, want 503", auth, resp.StatusCode)
		}
		if msg := assertJSONError(t, body); msg != "API token not configured" {
			t.Errorf("error %q", msg)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	st := openStore(t)
	srv := newServer(t, Options{Store: st, Token: testToken})
	resp, body := srv.do(t, http.MethodPost, "/api/complaints", bearer)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST: status %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	assertJSONError(t, body)
	resp, _ = srv.do(t, http.MethodPost, "/api/complaints", "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unauthenticated POST: status %d, want 401", resp.StatusCode)
	}
}

func assertJSONError(t *testing.T, body []byte) string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Fatalf("body is not a JSON error: %s", body)
	}
	return e.Error
}

func TestHealthz(t *testing.T) {
	cases := []struct {
		name   string
		checks []Check
		closed bool
		status int
	}{
		{"no checks given", nil, false, 200},
		{"all ok", []Check{{Name: "inbox:support", OK: true, Detail: map[string]any{"mode": "idle"}}}, false, 200},
		{"an inbox failing", []Check{{Name: "inbox:a", OK: true}, {Name: "inbox:b", OK: false, Detail: "dial tcp: refused"}}, false, 503},
		{"store closed", nil, true, 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			srv := newServer(t, Options{Store: st, Token: testToken, Health: func() []Check { return tc.checks }})
			if tc.closed {
				st.Close()
			}
			resp, body := srv.get(t, "/healthz", "")
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			var rep healthReport
			if err := json.Unmarshal(body, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.OK != (tc.status == 200) || len(rep.Checks) != 1+len(tc.checks) || rep.Checks[0].Name != "store" {
				t.Fatalf("report %+v", rep)
			}
			if rep.Checks[0].OK == tc.closed {
				t.Errorf("store check %+v with the store closed=%v", rep.Checks[0], tc.closed)
			}
			if !rep.Time.Equal(t0) {
				t.Errorf("time %v, want the injected clock's %v", rep.Time, t0)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "complaintbot_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(7)
	srv := newServer(t, Options{Store: openStore(t), Gatherer: reg})
	resp, body := srv.get(t, "/metrics", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "complaintbot_test_total 7") {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
}

func TestListComplaints(t *testing.T) {
	st := openStore(t)
	fx := seed(t, st)
	srv := newServer(t, Options{Store: st, Token: testToken})
	n := fx.numbers // oldest first: alice, bob, alice
	cases := []struct {
		query  string
		want   []string
		total  int
		limit  int
		status int
	}{
		{"", []string{n[2], n[1], n[0]}, 3, 100, 200},
		{"?stage=analysis", []string{n[1]}, 1, 100, 200},
		{"?stage=registered", []string{n[2], n[0]}, 2, 100, 200},
		{"?stage=closed", []string{}, 0, 100, 200},
		{"?customer=ALICE@Example.com", []string{n[2], n[0]}, 2, 100, 200},
		{"?customer=alice@example.com&stage=analysis", []string{}, 0, 100, 200},
		{"?customer=nobody@example.com", []string{}, 0, 100, 200},
		{"?limit=1", []string{n[2]}, 3, 1, 200},
		{"?limit=1&offset=1", []string{n[1]}, 3, 1, 200},
		{"?limit=2&offset=2", []string{n[0]}, 3, 2, 200},
		{"?offset=3", []string{}, 3, 100, 200},
		{"?limit=5000", []string{n[2], n[1], n[0]}, 3, 1000, 200},
		{"?limit=0", nil, 0, 0, 400},
		{"?limit=abc", nil, 0, 0, 400},
		{"?offset=-1", nil, 0, 0, 400},
		{"?offset=99999999999999999999", nil, 0, 0, 400},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			resp, body := srv.get(t, "/api/complaints"+tc.query, bearer)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				assertJSONError(t, body)
				return
			}
			var list complaintList
			if err := json.Unmarshal(body, &list); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range list.Complaints {
				got = append(got, c.Number)
			}
			if !slices.Equal(got, tc.want) || list.Total != tc.total || list.Limit != tc.limit {
				t.Fatalf("got %v total %d limit %d, want %v total %d limit %d", got, list.Total, list.Limit, tc.want, tc.total, tc.limit)
			}
		})
	}
}

func TestListComplaintsItem(t *testing.T) {
	st := openStore(t)
	fx := seed(t, st)
	srv := newServer(t, Options{Store: st, Token: testToken})
	_, body := srv.get(t, "/api/complaints?customer=alice@example.com", bearer)
	var raw struct {
		Complaints []map[string]any `json:"complaints"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	oldest := raw.Complaints[1]
	want := map[string]any{"number": fx.numbers[0], "customer_email": "alice@example.com",
		"customer_name": `Alice "Ali" O'Neil, Jr.`, "message_count": 2.0, "stage": "registered", "subject": "Broken kettle"}
	for k, v := range want {
		if oldest[k] != v {
			t.Errorf("%s = %v, want %v", k, oldest[k], v)
		}
	}
}

func TestGetComplaint(t *testing.T) {
	st := openStore(t)
	fx := seed(t, st)
	srv := newServer(t, Options{Store: st, Token: testToken})
	resp, body := srv.get(t, "/api/complaints/"+strings.ToLower(fx.numbers[0]), bearer)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var rec Record
	if err := json.Unmarshal(body, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Complaint.Number != fx.numbers[0] || rec.Customer == nil || rec.Customer.Emails[0] != "alice@example.com" {
		t.Fatalf("complaint %+v customer %+v", rec.Complaint, rec.Customer)
	}
	if len(rec.Messages) != 2 || len(rec.Events) != 2 || len(rec.Notifications) != 1 {
		t.Fatalf("%d messages, %d events, %d notifications; want 2, 2, 1", len(rec.Messages), len(rec.Events), len(rec.Notifications))
	}
	m := rec.Messages[0]
	if m.MessageID != fx.numbers[0]+".a@example.com" || m.Direction != "in" || m.Status != "recorded" ||
		m.FullText == "" || len(m.Attachments) != 1 {
		t.Fatalf("message %+v", m)
	}
	a := m.Attachments[0]
	if a.Name != "photo.jpg" || a.Size != 4 || a.BlobKey == "" || !a.Kept {
		t.Errorf("attachment metadata %+v", a)
	}
	if strings.Contains(string(body), "JPEG") || strings.Contains(string(body), "SlBFRw") {
		t.Errorf("attachment bytes leaked into the response")
	}
}

func TestGetComplaintNotFound(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	srv := newServer(t, Options{Store: st, Token: testToken})
	for _, number := range []string{"C-2026-999999", "nonsense", "%00"} {
		resp, body := srv.get(t, "/api/complaints/"+number, bearer)
		if resp.StatusCode != 404 {
			t.Fatalf("%s: status %d, want 404", number, resp.StatusCode)
		}
		assertJSONError(t, body)
	}
}

func TestListMessages(t *testing.T) {
	st := openStore(t)
	fx := seed(t, st)
	srv := newServer(t, Options{Store: st, Token: testToken})
	cases := []struct {
		query   string
		reasons []string
		total   int
	}{
		{"?status=quarantined", []string{"unparseable header"}, 1},
		{"?status=ignored", []string{"auto-reply: Auto-Submitted: auto-replied"}, 1},
		{"", []string{"unparseable header", "auto-reply: Auto-Submitted: auto-replied"}, 2},
		{"?status=recorded&limit=1", []string{""}, fx.messages},
		{"?status=sent", nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			resp, body := srv.get(t, "/api/messages"+tc.query, bearer)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var list messageList
			if err := json.Unmarshal(body, &list); err != nil {
				t.Fatal(err)
			}
			var reasons []string
			for _, m := range list.Messages {
				reasons = append(reasons, m.Reason)
				if m.Raw != nil {
					t.Errorf("raw bytes in the API answer")
				}
			}
			if !slices.Equal(reasons, tc.reasons) || list.Total != tc.total {
				t.Fatalf("reasons %q total %d, want %q total %d", reasons, list.Total, tc.reasons, tc.total)
			}
		})
	}
}

// TestLatestPages checks the bounded "newest first" pager against the plain
// way (reverse everything, then slice).
func TestLatestPages(t *testing.T) {
	for total := 0; total <= 12; total++ {
		for limit := 1; limit <= 5; limit++ {
			for offset := 0; offset <= 14; offset++ {
				p := page{Limit: limit, Offset: offset}
				l := newLatest[int](p)
				var all []int
				for i := range total {
					l.add(i)
					all = append(all, i)
				}
				slices.Reverse(all)
				want := all[min(offset, total):min(offset+limit, total)]
				if got := l.page(p); !slices.Equal(got, want) || l.total != total {
					t.Fatalf("total %d %+v: got %v (total %d), want %v", total, p, got, l.total, want)
				}
				if len(l.items) > offset+limit {
					t.Fatalf("kept %d items for offset+limit %d", len(l.items), offset+limit)
				}
			}
		}
	}
}

func TestBearerToken(t *testing.T) {
	cases := []struct {
		header, token string
		ok            bool
	}{
		{"Bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Bearer", "", false},
		{"Bearerabc", "", false},
		{"Basic abc", "", false},
		{"", "", false},
	}
	for _, tc := range cases {
		tok, ok := bearerToken(tc.header)
		if tok != tc.token || ok != tc.ok {
			t.Errorf("%q: %q %v, want %q %v", tc.header, tok, ok, tc.token, tc.ok)
		}
	}
}
