package router

import (
	"sync/atomic"
	"testing"

	"complaintbot/store"
)

// countingFixture is a router whose classifier counts its calls and files
// every message as a complaint in the category named by its subject.
func countingFixture(t *testing.T) (*fixture, *atomic.Int32) {
	calls := new(atomic.Int32)
	f := newFixture(t, func(o *Options) {
		o.Classifier = ClassifierFunc(func(subject, _ string) Classification {
			calls.Add(1)
			return Classification{IsComplaint: true, Lang: "en", Category: subject}
		})
	})
	return f, calls
}

// TestPreclassifyOncePerMessage: a batch is classified before the
// transaction, once per message, and the results land on the right
// complaints (not shifted between messages).
func TestPreclassifyOncePerMessage(t *testing.T) {
	f, calls := countingFixture(t)
	f.deliver(
		mail("A", "a@example.com", "a1@x", "quality", "The kettle leaks."),
		mail("B", "b@example.com", "b1@x", "delivery", "Parcel never came."),
		mail("C", "c@example.com", "c1@x", "billing", "Charged twice."),
	)
	if n := calls.Load(); n != 3 {
		t.Errorf("classifier called %d times for 3 messages, want 3", n)
	}
	for _, c := range f.complaints() {
		if c.Category != c.Subject {
			t.Errorf("complaint %q got category %q", c.Subject, c.Category)
		}
	}
}

// TestPrepareClassifiesAheadOfDeliver: messages a source prepared (on its
// own workers) are not classified again by Deliver, unprepared ones in the
// same batch still are, each result lands on its own complaint, and noise
// is never classified.
func TestPrepareClassifiesAheadOfDeliver(t *testing.T) {
	f, calls := countingFixture(t)
	a := mail("A", "a@example.com", "a1@x", "quality", "The kettle leaks.")
	b := mail("B", "b@example.com", "b1@x", "delivery", "Parcel never came.")
	c := mail("C", "c@example.com", "c1@x", "billing", "Charged twice.")
	noise := mail("D", "d@example.com", "d1@x", "away", "I am out of office.")
	noise.Status, noise.Reason = store.StatusIgnored, "auto-reply: test"
	for _, m := range []*store.Message{a, c, noise} {
		f.r.Prepare(m)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("Prepare classified %d messages, want 2 (noise is not classified)", n)
	}
	if noise.Prepared != nil {
		t.Errorf("noise got a prepared classification")
	}
	f.deliver(a, b, c, noise)
	if n := calls.Load(); n != 3 {
		t.Errorf("classifier called %d times in all, want 3: Deliver must reuse the prepared results", n)
	}
	got := map[string]string{}
	for _, cp := range f.complaints() {
		got[cp.Subject] = cp.Category
	}
	for _, s := range []string{"quality", "delivery", "billing"} {
		if got[s] != s {
			t.Errorf("complaint %q got category %q", s, got[s])
		}
	}
	if _, ok := got["away"]; ok {
		t.Errorf("the auto-reply opened a complaint")
	}
}

// TestPreparedLanguageIsUsed: without a classifier, Prepare still detects
// the language, and Deliver takes the prepared value instead of detecting
// it again in the transaction.
func TestPreparedLanguageIsUsed(t *testing.T) {
	f := newFixture(t, nil)
	m := mail("A", "a@example.com", "lang1@x", "kettle", "The kettle leaks and nobody answers.")
	f.r.Prepare(m)
	p, ok := m.Prepared.(*prepared)
	if !ok || p.lang != "en" || p.classified {
		t.Fatalf("Prepared = %#v, want English, not classified", m.Prepared)
	}
	p.lang = "lt" // what Deliver must take, though the text says otherwise
	f.deliver(m)
	if cs := f.complaints(); len(cs) != 1 || cs[0].Lang != "lt" {
		t.Errorf("complaints %+v, want one in the prepared language lt", cs)
	}
}

// TestSingleMessageClassifiedOnce: a batch of one (worked out inside the
// transaction) is still classified once, though routing asks for its
// language and its classification at two places.
func TestSingleMessageClassifiedOnce(t *testing.T) {
	f, calls := countingFixture(t)
	f.deliver(mail("A", "a@example.com", "one@x", "quality", "The kettle leaks."))
	if n := calls.Load(); n != 1 {
		t.Errorf("classifier called %d times for one message, want 1", n)
	}
	if c := f.onlyComplaint(); c.Category != "quality" {
		t.Errorf("category %q", c.Category)
	}
}
