package router

import (
	"sync/atomic"
	"testing"
)

// TestPreclassifyOncePerMessage: a batch is classified before the
// transaction, once per message, and the results land on the right
// complaints (not shifted between messages).
func TestPreclassifyOncePerMessage(t *testing.T) {
	var calls atomic.Int32
	f := newFixture(t, func(o *Options) {
		o.Classifier = ClassifierFunc(func(subject, _ string) Classification {
			calls.Add(1)
			return Classification{IsComplaint: true, Lang: "en", Category: subject}
		})
	})
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
