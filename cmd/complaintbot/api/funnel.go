package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"complaintbot/store"
)

// complaintFilter is the query of GET /api/complaints beyond the customer.
type complaintFilter struct {
	stage, owner, category string
	overdue                bool
	now                    time.Time
}

// parseComplaintFilter reads stage=, owner=, category= and overdue=true
// (DueAt passed and the complaint still open).
func parseComplaintFilter(q url.Values, now time.Time) (complaintFilter, error) {
	f := complaintFilter{stage: q.Get("stage"), owner: q.Get("owner"), category: q.Get("category"), now: now}
	switch q.Get("overdue") {
	case "", "false":
	case "true":
		f.overdue = true
	default:
		return f, fmt.Errorf("overdue must be true or false")
	}
	return f, nil
}

func (f complaintFilter) match(c *store.Complaint) bool {
	switch {
	case f.stage != "" && c.Stage != f.stage,
		f.owner != "" && c.OwnerID != f.owner,
		f.category != "" && c.Category != f.category:
		return false
	case f.overdue:
		return c.Open() && !c.DueAt.IsZero() && c.DueAt.Before(f.now)
	}
	return true
}

// funnelStages are the stages the funnel counts, in workflow order.
var funnelStages = []string{store.StageRegistered, store.StageAnalysis, store.StageAction, store.StageResolved, store.StageClosed}

// Funnel is GET /api/funnel: how many complaints are in each stage, how
// many reached each stage (are in it or past it; a dropped complaint
// reached the stage it dropped from), and the drop-outs by reason and by
// the stage they left. Records that are not complaints are counted apart.
type Funnel struct {
	Since        *time.Time     `json:"since,omitempty"`
	Until        *time.Time     `json:"until,omitempty"`
	Total        int            `json:"total"` // complaints, not counting not_complaint records
	Stages       map[string]int `json:"stages"`
	Reached      map[string]int `json:"reached"`
	Dropped      map[string]int `json:"dropped"`
	DroppedFrom  map[string]int `json:"dropped_from"`
	NotComplaint int            `json:"not_complaint"`
}

func newFunnel() *Funnel {
	f := &Funnel{Stages: map[string]int{}, Reached: map[string]int{}, Dropped: map[string]int{}, DroppedFrom: map[string]int{}}
	for _, s := range funnelStages {
		f.Stages[s], f.Reached[s] = 0, 0
	}
	f.Stages[store.StageDropped] = 0
	for _, r := range []string{store.DropUnfounded, store.DropClarified, store.DropDuplicate} {
		f.Dropped[r] = 0
	}
	return f
}

func (f *Funnel) add(c *store.Complaint) {
	if c.Stage == store.StageNotComplaint {
		f.NotComplaint++
		return
	}
	f.Total++
	f.Stages[c.Stage]++
	furthest := c.Stage
	if c.Stage == store.StageDropped {
		f.Dropped[c.DropReason]++
		f.DroppedFrom[c.DroppedFrom]++
		furthest = c.DroppedFrom
	}
	if i := slices.Index(funnelStages, furthest); i >= 0 {
		for _, s := range funnelStages[:i+1] {
			f.Reached[s]++
		}
	}
}

// funnel serves GET /api/funnel?since=&until= (complaints created in
// [since, until); RFC 3339 times or YYYY-MM-DD dates in UTC).
func (s *server) funnel(w http.ResponseWriter, r *http.Request) {
	since, until, err := parseSpan(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	f := newFunnel()
	f.Since, f.Until = since, until
	err = s.st.View(r.Context(), func(tx store.Tx) error {
		return tx.ForEachComplaint(func(c *store.Complaint) error {
			if inSpan(c.CreatedAt, since, until) {
				f.add(c)
			}
			return nil
		})
	})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func parseSpan(q url.Values) (since, until *time.Time, err error) {
	if since, err = parseWhen("since", q.Get("since")); err != nil {
		return nil, nil, err
	}
	if until, err = parseWhen("until", q.Get("until")); err != nil {
		return nil, nil, err
	}
	return since, until, nil
}

func parseWhen(name, v string) (*time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return &t, nil
		}
	}
	return nil, fmt.Errorf("%s must be an RFC 3339 time or a YYYY-MM-DD date", name)
}

func inSpan(t time.Time, since, until *time.Time) bool {
	return (since == nil || !t.Before(*since)) && (until == nil || t.Before(*until))
}

// Proposal is one prevention proposal from a resolved complaint: what
// management decides process changes on (DOMAIN.md, Workflow).
type Proposal struct {
	Number     string    `json:"number"`
	Category   string    `json:"category,omitempty"`
	Team       string    `json:"team,omitempty"`
	Stage      string    `json:"stage"`
	Kind       string    `json:"kind"`
	Amount     string    `json:"amount,omitempty"`
	Currency   string    `json:"currency,omitempty"`
	RootCause  string    `json:"root_cause"`
	Prevention string    `json:"prevention"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
}

type proposalList struct {
	Proposals []Proposal `json:"proposals"`
	Total     int        `json:"total"`
	Limit     int        `json:"limit"`
	Offset    int        `json:"offset"`
}

// proposals serves GET /api/proposals?category=&since=&limit=&offset=:
// the prevention proposals of resolved complaints (a reopened one keeps
// its last), newest first; since filters on when it was resolved.
func (s *server) proposals(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q := r.URL.Query()
	since, err := parseWhen("since", q.Get("since"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	category := q.Get("category")
	var all []Proposal
	err = s.st.View(r.Context(), func(tx store.Tx) error {
		return tx.ForEachComplaint(func(c *store.Complaint) error {
			res := c.Resolution
			if res == nil || res.Prevention == "" || (category != "" && c.Category != category) || !inSpan(res.At, since, nil) {
				return nil
			}
			all = append(all, Proposal{Number: c.Number, Category: c.Category, Team: c.Team, Stage: c.Stage,
				Kind: res.Kind, Amount: res.Amount, Currency: res.Currency, RootCause: res.RootCause,
				Prevention: res.Prevention, By: res.By, At: res.At})
			return nil
		})
	})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	slices.SortStableFunc(all, func(a, b Proposal) int { return b.At.Compare(a.At) })
	list := proposalList{Proposals: []Proposal{}, Total: len(all), Limit: p.Limit, Offset: p.Offset}
	if p.Offset < len(all) {
		list.Proposals = all[p.Offset:min(len(all), p.Offset+p.Limit)]
	}
	writeJSON(w, http.StatusOK, list)
}
