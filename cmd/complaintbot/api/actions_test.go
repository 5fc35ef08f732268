package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"complaintbot/store"
)

// workflowSeed stores complaints in every stage (created a day apart from
// t0-10d), with owners, categories, due times and resolutions.
func workflowSeed(t *testing.T, st store.Store) []*store.Complaint {
	t.Helper()
	day := 24 * time.Hour
	res := func(cause, prevention string, at time.Time) *store.Resolution {
		return &store.Resolution{Kind: "refund", Amount: "20", Currency: "EUR", RootCause: cause, Prevention: prevention, By: "anna", At: at}
	}
	cs := []*store.Complaint{
		{Stage: store.StageRegistered, OwnerID: "anna", Category: "delivery", DueAt: t0.Add(-time.Hour)}, // overdue
		{Stage: store.StageAnalysis, OwnerID: "anna", Category: "quality", DueAt: t0.Add(time.Hour)},
		{Stage: store.StageAction, OwnerID: "jonas", Category: "delivery", DueAt: t0.Add(-day)}, // overdue
		{Stage: store.StageResolved, OwnerID: "anna", Category: "delivery", DueAt: t0.Add(-day), Resolution: res("late courier", "new courier", t0.Add(-2*day))},
		{Stage: store.StageClosed, OwnerID: "jonas", Category: "quality", Resolution: res("weak lid", "stronger lid", t0.Add(-day))},
		{Stage: store.StageDropped, OwnerID: "anna", Category: "delivery", DropReason: store.DropDuplicate, DroppedFrom: store.StageRegistered, DuplicateOf: "C-X"},
		{Stage: store.StageDropped, OwnerID: "jonas", Category: "quality", DropReason: store.DropUnfounded, DroppedFrom: store.StageAnalysis, DueAt: t0.Add(-day)},
		{Stage: store.StageNotComplaint, OwnerID: "dina"},
	}
	err := st.Update(context.Background(), func(tx store.Tx) error {
		for i, c := range cs {
			c.Channel, c.CreatedAt = store.ChannelEmail, t0.Add(time.Duration(i-10)*day)
			if err := tx.PutComplaint(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestListComplaintsWorkflowFilters(t *testing.T) {
	st := openStore(t)
	cs := workflowSeed(t, st)
	srv := newServer(t, Options{Store: st, Token: testToken})
	n := func(idx ...int) []string {
		var out []string
		for i := len(idx) - 1; i >= 0; i-- { // newest first
			out = append(out, cs[idx[i]].Number)
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?owner=anna", n(0, 1, 3, 5)},
		{"?owner=jonas&category=quality", n(4, 6)},
		{"?category=delivery", n(0, 2, 3, 5)},
		{"?overdue=true", n(0, 2)}, // resolved and dropped ones are not overdue
		{"?overdue=true&owner=jonas", n(2)},
		{"?overdue=false&stage=dropped", n(5, 6)},
		{"?owner=nobody", nil},
	} {
		resp, body := srv.get(t, "/api/complaints"+tc.query, bearer)
		var list complaintList
		if resp.StatusCode != 200 || json.Unmarshal(body, &list) != nil {
			t.Fatalf("%s: %d %s", tc.query, resp.StatusCode, body)
		}
		var got []string
		for _, c := range list.Complaints {
			got = append(got, c.Number)
		}
		if !slices.Equal(got, tc.want) || list.Total != len(tc.want) {
			t.Errorf("%s: got %v (total %d), want %v", tc.query, got, list.Total, tc.want)
		}
	}
	if resp, body := srv.get(t, "/api/complaints?overdue=yes", bearer); resp.StatusCode != 400 {
		t.Errorf("overdue=yes: %d %s", resp.StatusCode, body)
	}
}

func TestFunnel(t *testing.T) {
	st := openStore(t)
	workflowSeed(t, st)
	srv := newServer(t, Options{Store: st, Token: testToken})
	resp, body := srv.get(t, "/api/funnel", bearer)
	var f Funnel
	if resp.StatusCode != 200 || json.Unmarshal(body, &f) != nil {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	want := Funnel{
		Total:        7,
		Stages:       map[string]int{"registered": 1, "analysis": 1, "corrective_action": 1, "resolved": 1, "closed": 1, "dropped": 2},
		Reached:      map[string]int{"registered": 7, "analysis": 5, "corrective_action": 3, "resolved": 2, "closed": 1},
		Dropped:      map[string]int{"unfounded": 1, "clarified": 0, "duplicate": 1},
		DroppedFrom:  map[string]int{"registered": 1, "analysis": 1},
		NotComplaint: 1,
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("funnel\n got %+v\nwant %+v", f, want)
	}
	// Created in [t0-7d, t0-4d): the resolved, closed and first dropped ones.
	resp, body = srv.get(t, "/api/funnel?since=2026-03-03&until="+t0.Add(-4*24*time.Hour).Format(time.RFC3339), bearer)
	f = Funnel{}
	if resp.StatusCode != 200 || json.Unmarshal(body, &f) != nil || f.Total != 3 || f.Stages["closed"] != 1 || f.Dropped["duplicate"] != 1 || f.Since == nil {
		t.Errorf("since/until: %d %s", resp.StatusCode, body)
	}
	if resp, _ := srv.get(t, "/api/funnel?since=yesterday", bearer); resp.StatusCode != 400 {
		t.Errorf("bad since: %d", resp.StatusCode)
	}
}

func TestProposals(t *testing.T) {
	st := openStore(t)
	cs := workflowSeed(t, st)
	srv := newServer(t, Options{Store: st, Token: testToken})
	get := func(query string) proposalList {
		t.Helper()
		resp, body := srv.get(t, "/api/proposals"+query, bearer)
		var l proposalList
		if resp.StatusCode != 200 || json.Unmarshal(body, &l) != nil {
			t.Fatalf("%s: %d %s", query, resp.StatusCode, body)
		}
		return l
	}
	all := get("")
	if all.Total != 2 || all.Proposals[0].Number != cs[4].Number || all.Proposals[0].Prevention != "stronger lid" ||
		all.Proposals[0].RootCause != "weak lid" || all.Proposals[0].Category != "quality" || all.Proposals[0].By != "anna" {
		t.Errorf("all: %+v", all)
	}
	if l := get("?category=delivery"); l.Total != 1 || l.Proposals[0].Number != cs[3].Number {
		t.Errorf("delivery: %+v", l)
	}
	if l := get("?since=" + t0.Add(-36*time.Hour).Format(time.RFC3339)); l.Total != 1 || l.Proposals[0].Number != cs[4].Number {
		t.Errorf("since: %+v", l)
	}
	if l := get("?limit=1&offset=1"); len(l.Proposals) != 1 || l.Proposals[0].Number != cs[3].Number {
		t.Errorf("paged: %+v", l)
	}
}

// fakeActor records actions and answers with a scripted error.
type fakeActor struct {
	got []Action
	err error
}

func (f *fakeActor) Act(_ context.Context, a Action) (*store.Complaint, error) {
	f.got = append(f.got, a)
	if f.err != nil {
		return nil, f.err
	}
	return &store.Complaint{Number: a.Number, Stage: store.StageAnalysis, OwnerID: a.Actor}, nil
}

func (s *testServer) post(t *testing.T, path, auth, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestPostActionStatuses(t *testing.T) {
	st := openStore(t)
	actor := &fakeActor{}
	srv := newServer(t, Options{Store: st, Token: testToken, Actor: actor})
	path := "/api/complaints/c-2026-000001/actions"
	resp, body := srv.post(t, path, bearer, `{"actor":"anna","kind":"advance","text":"go"}`)
	var c store.Complaint
	if resp.StatusCode != 200 || json.Unmarshal(body, &c) != nil || c.Number != "C-2026-000001" || c.Stage != store.StageAnalysis {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if want := (Action{Number: "C-2026-000001", Actor: "anna", Kind: "advance", Text: "go"}); !reflect.DeepEqual(actor.got[0], want) {
		t.Errorf("actor got %+v", actor.got[0])
	}
	for _, tc := range []struct {
		name, body string
		err        error
		status     int
	}{
		{"unauthenticated", `{"actor":"anna","kind":"note"}`, nil, 401},
		{"not json", `{actor`, nil, 400},
		{"unknown field", `{"actor":"anna","kind":"note","amount":5}`, nil, 400},
		{"no actor", `{"kind":"note"}`, nil, 400},
		{"other number", `{"number":"C-2026-000002","actor":"anna","kind":"note"}`, nil, 400},
		{"refused 403", `{"actor":"ghost","kind":"note"}`, Refuse(403, errors.New("ghost is not staff")), 403},
		{"refused 409", `{"actor":"anna","kind":"resolve"}`, Refuse(409, errors.New("needs approval by rasa")), 409},
		{"not found", `{"actor":"anna","kind":"note"}`, store.ErrNotFound, 404},
		{"store failure", `{"actor":"anna","kind":"note"}`, errors.New("disk on fire"), 500},
	} {
		actor.err = tc.err
		auth := bearer
		if tc.status == 401 {
			auth = ""
		}
		resp, body := srv.post(t, path, auth, tc.body)
		msg := assertJSONError(t, body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, resp.StatusCode, tc.status, body)
		}
		if tc.status == 403 || tc.status == 409 {
			if msg != tc.err.Error() {
				t.Errorf("%s: message %q", tc.name, msg)
			}
		}
		if tc.status == 500 && strings.Contains(msg, "fire") {
			t.Errorf("a store failure leaked: %q", msg)
		}
	}
	if len(actor.got) != 5 { // the first plus the four that reached the actor
		t.Errorf("actor called %d times", len(actor.got))
	}
	// Without an Actor, actions are unavailable; GET on the path is not a route.
	srv2 := newServer(t, Options{Store: st, Token: testToken})
	if resp, _ := srv2.post(t, path, bearer, `{"actor":"anna","kind":"note"}`); resp.StatusCode != 503 {
		t.Errorf("no actor: %d", resp.StatusCode)
	}
	if resp, _ := srv.get(t, path, bearer); resp.StatusCode != 405 {
		t.Errorf("GET actions: %d", resp.StatusCode)
	}
}
