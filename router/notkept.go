package router

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"complaintbot/store"
)

// KindNotKept is the outbox kind of the short notice sent when a follow-up
// to an open complaint had attachments that were not kept. (A new
// complaint's acknowledgement lists them itself.) It shares the
// acknowledgements' hourly cap, so it cannot feed a mail loop either.
const KindNotKept = "not_kept"

// Notification Data keys describing the attachments that were not kept.
// DataNotKept is a JSON array of NotKeptFile, at most MaxNotKeptListed
// long; DataNotKeptTotal is the count of all of them, set only when the list
// had to be cut. notify renders both (docs/ARCHITECTURE.md).
const (
	DataNotKept      = "not_kept"
	DataNotKeptTotal = "not_kept_total"
	MaxNotKeptListed = 20
)

// Reasons in NotKeptFile.Why.
const (
	NotKeptTooLarge   = "too_large"  // over the per-file or per-message size cap
	NotKeptUnreadable = "unreadable" // could not be decoded
)

// maxNotKeptNameRunes bounds a file name we echo to the customer.
const maxNotKeptNameRunes = 100

// NotKeptFile is one entry of Data[DataNotKept].
type NotKeptFile struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	Why  string `json:"why"`
}

// notKeptFiles lists m's attachments that were not kept, with names safe to
// show, and how many there were in all.
func notKeptFiles(m *store.Message) (list []NotKeptFile, total int) {
	for _, a := range m.Attachments {
		if a.Kept {
			continue
		}
		total++
		if len(list) == MaxNotKeptListed {
			continue
		}
		list = append(list, NotKeptFile{
			Name: truncateRunes(cleanHeader(a.Name), maxNotKeptNameRunes),
			Size: a.Size,
			Why:  notKeptReason(a.NotKeptWhy),
		})
	}
	return list, total
}

// notKeptReason folds ingest's wording into the two reasons a customer can
// act on. ingest words every size cap as "over the … cap of N bytes".
func notKeptReason(why string) string {
	if strings.HasPrefix(why, "over ") {
		return NotKeptTooLarge
	}
	return NotKeptUnreadable
}

// addNotKept puts the not-kept list of m into data; it reports whether
// there was anything to list.
func addNotKept(data map[string]string, m *store.Message) bool {
	list, total := notKeptFiles(m)
	if total == 0 {
		return false
	}
	b, err := json.Marshal(list)
	if err != nil { // cannot happen for strings and ints; do not lose the ack over it
		b = []byte("[]")
	}
	data[DataNotKept] = string(b)
	if total > len(list) {
		data[DataNotKeptTotal] = strconv.Itoa(total)
	}
	return true
}

// noticeNotKept queues the not-kept notice for follow-up m of complaint c,
// within the customer's hourly cap (over it the event log says so).
func (r *Router) noticeNotKept(tx store.Tx, cust *store.Customer, c *store.Complaint, m *store.Message, now time.Time, out *outcome) error {
	data := map[string]string{"number": c.Number, "subject": c.Subject, "customer_name": cust.Name}
	if !addNotKept(data, m) {
		return nil
	}
	n := r.reply(cust, c, m, KindNotKept, data, now)
	return r.queueCapped(tx, cust, c, n, now, out)
}
