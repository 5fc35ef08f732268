package notify

import "complaintbot/store"

// KindReply is a staff member's own answer to the customer (router's
// "reply" action): the staff text with a short footer, threaded like any
// reply and recorded as an outbound message of the complaint when sent.
const KindReply = "reply"

// maxReplyRunes bounds the staff text rendered (router caps it too).
const maxReplyRunes = 10_000

// replyView is what the reply templates see besides the common fields.
// Both are plain text; html/template escapes them for the HTML part.
type replyView struct {
	Reply string // the staff member's text, multi-line
	Staff string // their name, for the signature
}

func makeReplyView(n *store.Notification) replyView {
	if n.Kind != KindReply {
		return replyView{}
	}
	return replyView{Reply: cleanBodyText(n.Data["text"], maxReplyRunes), Staff: cleanHeaderText(n.Data["staff_name"])}
}
