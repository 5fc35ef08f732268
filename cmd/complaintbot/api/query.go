package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"complaintbot/store"
)

// Paging limits of the list endpoints.
const (
	defaultLimit = 100
	maxLimit     = 1000
	maxOffset    = 10_000_000
)

// page is a validated limit/offset pair.
type page struct {
	Limit  int
	Offset int
}

// parsePage reads limit (default 100, larger values are cut to 1000) and
// offset (default 0).
func parsePage(r *http.Request) (page, error) {
	p := page{Limit: defaultLimit}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, fmt.Errorf("limit must be a whole number from 1 to %d", maxLimit)
		}
		p.Limit = min(n, maxLimit)
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxOffset {
			return p, fmt.Errorf("offset must be a whole number from 0 to %d", maxOffset)
		}
		p.Offset = n
	}
	return p, nil
}

// latest keeps the last keep items added (the store walks in ID order, so
// these are the newest) and counts all of them, in memory bounded by keep.
type latest[T any] struct {
	keep  int
	items []T
	next  int // once full: index of the oldest kept item
	total int
}

func newLatest[T any](p page) *latest[T] {
	return &latest[T]{keep: p.Offset + p.Limit}
}

func (l *latest[T]) add(v T) {
	l.total++
	if len(l.items) < l.keep {
		l.items = append(l.items, v)
		return
	}
	l.items[l.next] = v
	l.next = (l.next + 1) % l.keep
}

// page returns the kept items newest first, offset skipped.
func (l *latest[T]) page(p page) []T {
	n := len(l.items)
	out := make([]T, 0, max(n-p.Offset, 0))
	for i := p.Offset; i < n; i++ {
		out = append(out, l.items[(l.next-1-i+2*n)%n])
	}
	return out
}

// complaintSummary is one item of GET /api/complaints: the complaint record's
// fields with the customer and the message count beside them.
type complaintSummary struct {
	*store.Complaint
	CustomerEmail string `json:"customer_email,omitempty"`
	CustomerName  string `json:"customer_name,omitempty"`
	MessageCount  int    `json:"message_count"`
}

type complaintList struct {
	Complaints []complaintSummary `json:"complaints"`
	Total      int                `json:"total"` // matching complaints, all pages
	Limit      int                `json:"limit"`
	Offset     int                `json:"offset"`
}

// listComplaints serves GET /api/complaints?stage=&owner=&category=&overdue=&customer=&limit=&offset=,
// newest first (filters: funnel.go).
func (s *server) listComplaints(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q := r.URL.Query()
	email := strings.TrimSpace(q.Get("customer"))
	filter, err := parseComplaintFilter(q, s.now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	list := complaintList{Complaints: []complaintSummary{}, Limit: p.Limit, Offset: p.Offset}
	err = s.st.View(r.Context(), func(tx store.Tx) error {
		found := newLatest[*store.Complaint](p)
		keep := func(c *store.Complaint) error {
			if filter.match(c) {
				found.add(c)
			}
			return nil
		}
		if err := walkComplaints(tx, email, keep); err != nil {
			return err
		}
		list.Total = found.total
		for _, c := range found.page(p) {
			sum, err := summarize(tx, c)
			if err != nil {
				return err
			}
			list.Complaints = append(list.Complaints, sum)
		}
		return nil
	})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// walkComplaints calls fn for every complaint, or only the complaints of the
// customer with that email (none when there is no such customer).
func walkComplaints(tx store.Tx, email string, fn func(*store.Complaint) error) error {
	if email == "" {
		return tx.ForEachComplaint(fn)
	}
	cust, err := tx.CustomerByEmail(email)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	cs, err := tx.ComplaintsOfCustomer(cust.ID)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

func summarize(tx store.Tx, c *store.Complaint) (complaintSummary, error) {
	sum := complaintSummary{Complaint: c}
	cust, err := customerOf(tx, c)
	if err != nil {
		return sum, err
	}
	if cust != nil {
		sum.CustomerEmail, sum.CustomerName = firstEmail(cust), cust.Name
	}
	msgs, err := tx.MessagesOf(c.ID)
	if err != nil {
		return sum, fmt.Errorf("messages of %s: %w", c.Number, err)
	}
	sum.MessageCount = len(msgs)
	return sum, nil
}

// customerOf returns the complaint's customer, or nil when the record is
// missing (a dangling reference must not hide the complaint).
func customerOf(tx store.Tx, c *store.Complaint) (*store.Customer, error) {
	if c.CustomerID == 0 {
		return nil, nil
	}
	cust, err := tx.Customer(c.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("customer %d of %s: %w", c.CustomerID, c.Number, err)
	}
	return cust, nil
}

func firstEmail(c *store.Customer) string {
	if c == nil || len(c.Emails) == 0 {
		return ""
	}
	return c.Emails[0]
}

// getComplaint serves GET /api/complaints/{number}: the complaint with its
// customer, messages (without raw bytes), events and notifications.
func (s *server) getComplaint(w http.ResponseWriter, r *http.Request) {
	number := strings.ToUpper(strings.TrimSpace(r.PathValue("number")))
	var rec *Record
	err := s.st.View(r.Context(), func(tx store.Tx) error {
		c, err := tx.ComplaintByNumber(number)
		if err != nil {
			return err
		}
		rec, err = loadRecord(tx, c)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no complaint "+strconv.Quote(number))
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	withoutRaw(rec.Messages)
	writeJSON(w, http.StatusOK, rec)
}

// withoutRaw drops the raw bytes of messages shown by the API (Size still
// says how large the original was; the JSONL export keeps them).
func withoutRaw(msgs []*store.Message) {
	for _, m := range msgs {
		m.Raw = nil
	}
}

type messageList struct {
	Messages []*store.Message `json:"messages"`
	Total    int              `json:"total"`
	Limit    int              `json:"limit"`
	Offset   int              `json:"offset"`
}

// listMessages serves GET /api/messages?status=&limit=&offset=, newest
// first. With a status, messages with that status; without one, the
// messages that belong to no complaint (ignored, quarantined, duplicates),
// each with its Reason.
func (s *server) listMessages(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	status := r.URL.Query().Get("status")
	list := messageList{Limit: p.Limit, Offset: p.Offset}
	err = s.st.View(r.Context(), func(tx store.Tx) error {
		found := newLatest[*store.Message](p)
		err := tx.ForEachMessage(func(m *store.Message) error {
			if status == m.Status || (status == "" && m.ComplaintID == 0) {
				found.add(m)
			}
			return nil
		})
		list.Messages, list.Total = found.page(p), found.total
		return err
	})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	withoutRaw(list.Messages)
	writeJSON(w, http.StatusOK, list)
}
