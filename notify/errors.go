package notify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-smtp"
)

// permanentError marks a failure that sending again cannot fix: an invalid
// address, a notification with no template, a 5xx reply.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanentf(format string, args ...any) error {
	return &permanentError{fmt.Errorf("notify: "+format, args...)}
}

// isPermanent reports whether err should fail the notification for good
// rather than be retried. SMTP replies decide by their code (RFC 5321
// section 4.2.1: 5yz is a permanent negative completion reply); everything
// else not marked permanent (4yz, network errors, timeouts) is temporary,
// and so is any failure to connect or log in, whatever its code: that is
// the relay's or our configuration's problem, not the message's.
func isPermanent(err error) bool {
	var de *dialError
	if errors.As(err, &de) {
		return false
	}
	var pe *permanentError
	if errors.As(err, &pe) {
		return true
	}
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500
}

// maxReplyText caps what is kept of a failure: a relay's reply can run to
// many lines.
const maxReplyText = 1000

// replyText is what to record about a failure: the server's own reply when
// there is one, since it is what a person can act on.
func replyText(err error) string {
	s := err.Error()
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		s = fmt.Sprintf("%d %s", se.Code, se.Message)
		if c := se.EnhancedCode; c != smtp.EnhancedCodeNotSet && c != smtp.NoEnhancedCode {
			s = fmt.Sprintf("%d %d.%d.%d %s", se.Code, c[0], c[1], c[2], se.Message)
		}
	}
	if len(s) > maxReplyText {
		s = strings.ToValidUTF8(s[:maxReplyText], "") + "…"
	}
	return s
}
