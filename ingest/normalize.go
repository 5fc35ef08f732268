package ingest

import (
	"time"

	"complaintbot/store"
)

// NormalizeOptions are the limits of Normalize; zero fields mean defaults.
type NormalizeOptions struct {
	MaxAttachmentBytes int64            // per attachment kept; default 10 MiB
	MaxTotalBytes      int64            // all attachments of one message kept; default 25 MiB
	Now                func() time.Time // default time.Now
}

// Normalize turns raw RFC 5322 bytes into an inbound email store.Message.
// It never fails and never panics: unparseable input yields a quarantined
// message carrying Raw and the Reason. STUB: replaced by the MIME work.
func Normalize(raw []byte, o NormalizeOptions) *store.Message {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	return &store.Message{Direction: store.DirectionIn, Channel: store.ChannelEmail,
		Status: store.StatusQuarantined, Reason: "normalizer not built yet", Raw: raw,
		Size: int64(len(raw)), ReceivedAt: now()}
}
