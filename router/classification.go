package router

import (
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"complaintbot/store"
)

// Classification is what a Classifier says about a new message. It has the
// fields of classify.Result, so cmd can hand the router any classifier
// through a small adapter and the router does not depend on one.
type Classification struct {
	IsComplaint bool
	// NotComplaint is the kind of a message that is not a complaint:
	// thanks, question, quote_request, job_application, spam.
	NotComplaint string
	Lang         string
	Category     string // quality, delivery, service, billing, misinformation, other
	Cause        string // objective, subjective
	Amount       string // decimal string, "" when none was named
	Currency     string // ISO 4217
	Wants        []string
	// ExtremismHint asks a human to look; it never changes what the
	// customer is told.
	ExtremismHint bool
	// Why lists the rules and terms that fired.
	Why []string
}

// Classifier classifies the first message of a possible complaint. It must
// be safe for concurrent use; a panic in it is recovered (the message is
// then taken as a complaint, so nothing is set aside by a bug).
type Classifier interface {
	Classify(subject, text string) Classification
}

// ClassifierFunc adapts a function to Classifier.
type ClassifierFunc func(subject, text string) Classification

// Classify calls f.
func (f ClassifierFunc) Classify(subject, text string) Classification { return f(subject, text) }

// Defaults of the repeat-complaints hint.
const (
	DefaultRepeatComplaints = 3
	DefaultRepeatWindow     = 30 * 24 * time.Hour
)

// Labels and event kinds of classification.
const (
	LabelExtremismHint = "extremism_hint" // "classifier", "history" or "classifier+history"
	EventClassified    = "classified"
	EventExtremismHint = "extremism_hint"
	EventAckSkipped    = "ack_skipped"
)

// classify runs the classifier on m; without one every message is a
// complaint. ok is false when there is no classifier.
func (r *Router) classify(m *store.Message) (cls Classification, ok bool) {
	if r.classifier == nil {
		return Classification{IsComplaint: true}, false
	}
	defer func() {
		if p := recover(); p != nil {
			r.metrics.classifyPanics.Inc()
			r.log.Error("classifier panicked; message taken as a complaint", "message_id", m.MessageID,
				"panic", p, "stack", string(debug.Stack()))
			cls, ok = Classification{IsComplaint: true, Why: []string{fmt.Sprintf("classifier failed (%v): taken as a complaint", p)}}, true
		}
	}()
	return settle(r.classifier.Classify(m.Subject, m.Text)), true
}

// ReasonUnclear is added to Why when the classifier found no complaint but
// no other kind of message either.
const ReasonUnclear = "no kind of non-complaint recognised: taken as a complaint so that a person reads it"

// settle makes "not a complaint" need positive evidence: a message the
// classifier could not place as thanks, a question, spam... is taken as a
// complaint. A spurious acknowledgement costs little; a complaint set aside
// unanswered can cost the customer.
func settle(cls Classification) Classification {
	if cls.IsComplaint || cls.NotComplaint != "" {
		return cls
	}
	cls.IsComplaint = true
	cls.Why = append(slices.Clone(cls.Why), ReasonUnclear)
	return cls
}

// applyClassification records cls on the new complaint c (before it is
// first put, so its stage is right from the start).
func applyClassification(c *store.Complaint, cls Classification) {
	is := cls.IsComplaint
	c.IsComplaint = &is
	if !is {
		c.Stage = store.StageNotComplaint
		c.NotComplaint = cls.NotComplaint
		return
	}
	c.Category, c.Cause = cls.Category, cls.Cause
	c.Amount, c.Currency = cls.Amount, cls.Currency
	c.Wants = append([]string(nil), cls.Wants...)
}

// classifiedEvent records what the classifier found and why.
func classifiedEvent(tx store.Tx, c *store.Complaint, cls Classification, now time.Time) error {
	fields := map[string]string{
		"is_complaint": strconv.FormatBool(cls.IsComplaint),
		"lang":         cls.Lang,
	}
	set := func(k, v string) {
		if v != "" {
			fields[k] = v
		}
	}
	set("not_complaint", c.NotComplaint)
	set("category", cls.Category)
	set("cause", cls.Cause)
	set("amount", cls.Amount)
	set("currency", cls.Currency)
	set("wants", strings.Join(cls.Wants, ","))
	e := &store.Event{ComplaintID: c.ID, At: now, Actor: "system", Kind: EventClassified,
		Text: strings.Join(cls.Why, "; "), Fields: fields}
	if err := tx.AppendEvent(e); err != nil {
		return fmt.Errorf("append event %q to complaint %d: %w", EventClassified, c.ID, err)
	}
	return nil
}

// extremismFlag decides the extremism hint of a new genuine complaint from
// the classifier and the customer's recent complaints (this one
// included), and updates cust.ComplaintTimes. It returns the text for the
// owner, or "" when there is nothing to flag. It never touches what the
// customer is sent.
func (r *Router) extremismFlag(cust *store.Customer, cls Classification, now time.Time) (sources []string, text string) {
	cust.ComplaintTimes = recentComplaints(cust.ComplaintTimes, now, r.repeatWindow, r.repeatComplaints)
	var texts []string
	if cls.ExtremismHint {
		sources = append(sources, "classifier")
		texts = append(texts, classifierFlagText(cls.Why))
	}
	if n := len(cust.ComplaintTimes); n >= r.repeatComplaints {
		sources = append(sources, "history")
		texts = append(texts, fmt.Sprintf("%d complaints from this customer within %s", n, humanDuration(r.repeatWindow)))
	}
	return sources, strings.Join(texts, "; ")
}

// recentComplaints adds now to times, keeps those within window, and at
// most keep of them (enough to tell whether the threshold is reached).
func recentComplaints(times []time.Time, now time.Time, window time.Duration, keep int) []time.Time {
	cutoff := now.Add(-window)
	kept := times[:0:0]
	for _, t := range times {
		if t.After(cutoff) && !t.After(now) {
			kept = append(kept, t)
		}
	}
	kept = append(kept, now)
	if len(kept) > keep {
		kept = kept[len(kept)-keep:]
	}
	return kept
}

func classifierFlagText(why []string) string {
	var parts []string
	for _, w := range why {
		if strings.HasPrefix(w, "extremism") {
			parts = append(parts, w)
		}
	}
	if len(parts) == 0 {
		return "the classifier flagged the wording"
	}
	return strings.Join(parts, "; ")
}

// humanDuration writes whole days as "30 days", anything else as Go does.
func humanDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		if d == day {
			return "1 day"
		}
		return strconv.Itoa(int(d/day)) + " days"
	}
	return d.String()
}

// flagExtremism labels c and records the event; the acknowledgement is
// built elsewhere from fields this does not touch.
func flagExtremism(tx store.Tx, c *store.Complaint, sources []string, text string, now time.Time) error {
	c.ExtremismHint = true
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	c.Labels[LabelExtremismHint] = strings.Join(sources, "+")
	e := &store.Event{ComplaintID: c.ID, At: now, Actor: "system", Kind: EventExtremismHint, Text: text,
		Fields: map[string]string{"source": c.Labels[LabelExtremismHint]}}
	if err := tx.AppendEvent(e); err != nil {
		return fmt.Errorf("append event %q to complaint %d: %w", EventExtremismHint, c.ID, err)
	}
	return nil
}
