// Package store keeps every record complaintbot makes: customers, complaints,
// messages (inbound and outbound), the append-only event log of each complaint,
// the per-source ingest cursors, the outbox of notifications to send and the
// scheduled jobs (deadline reminders, escalations).
//
// Invariants:
//   - Nothing is ever deleted. Records are created and updated; events are only
//     appended. There is no Delete method on purpose.
//   - Everything a caller does inside one Update call commits atomically, so a
//     message, the complaint change it causes, the outbox rows it schedules and
//     the source cursor that moves past it are recorded together or not at all.
//   - IDs are assigned by the store when a record with ID 0 is put, and never
//     reused. Complaint numbers (C-2026-000123) are unique and never reused.
//
// The Store interface is what the rest of the program sees; Bolt (bbolt, the
// embedded default) implements it, and a PostgreSQL implementation can later.
// Bolt reads through a shared read-only map of its file; on Linux it drops
// its resident pages of that map at most once a second, at the start of a
// write transaction, so the file's pages count as page cache, not as the
// daemon's RSS (BoltOptions.TrimInterval). Readers see the same bytes.
// store imports nothing of complaintbot's.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by lookups that find no record.
var ErrNotFound = errors.New("store: not found")

// Store is the persistent state of complaintbot.
type Store interface {
	// Update runs fn in a read-write transaction. If fn returns an error
	// nothing it did is kept.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction (write methods fail).
	View(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is one transaction. Methods returning a record return a copy the caller
// may change and Put back.
type Tx interface {
	// Customers.
	Customer(id uint64) (*Customer, error)
	// CustomerByEmail matches case-insensitively on the address.
	CustomerByEmail(email string) (*Customer, error)
	CustomerByTelegram(userID int64) (*Customer, error)
	// PutCustomer creates (ID 0: assigns ID and CreatedAt) or updates a
	// customer and keeps the email/telegram indexes in step.
	PutCustomer(c *Customer) error

	// Complaints.
	Complaint(id uint64) (*Complaint, error)
	ComplaintByNumber(number string) (*Complaint, error)
	// PutComplaint creates (ID 0: assigns ID, Number from CreatedAt's year and
	// a per-year sequence, CreatedAt if zero) or updates a complaint.
	PutComplaint(c *Complaint) error
	// ReserveComplaint gives a new complaint (ID 0) its ID, Number and
	// defaults as PutComplaint would, without writing it, so that the
	// records naming it can be written before the complaint is complete;
	// the caller then puts it once. A complaint reserved but never put
	// leaves only a gap in the numbers (numbers are never reused).
	ReserveComplaint(c *Complaint) error
	// ForEachComplaint calls fn for every complaint in ID order; returning
	// ErrStop from fn ends the walk without error.
	ForEachComplaint(fn func(*Complaint) error) error
	// ComplaintsOfCustomer lists a customer's complaints in ID order.
	ComplaintsOfCustomer(customerID uint64) ([]*Complaint, error)
	// OpenComplaintsByOwner counts the open complaints (see
	// Complaint.Open) owned by the staff member ownerID: the load the
	// router balances assignments by. It reads an index kept in step by
	// PutComplaint, not the complaints themselves.
	OpenComplaintsByOwner(ownerID string) (int, error)

	// Messages.
	Message(id uint64) (*Message, error)
	// PutMessage creates (ID 0) or updates a message. Attachment bytes
	// (Attachment.Data) are stored in a content-addressed blob area and
	// cleared from the record; Attachment.BlobKey is set instead.
	PutMessage(m *Message) error
	// MessageByMessageID finds a message by its RFC 5322 Message-ID (without
	// angle brackets). When several share one, the first recorded is returned.
	MessageByMessageID(messageID string) (*Message, error)
	// MessageByHash finds an inbound message by its ContentHash (how a mail
	// fetched twice is known). Outbound messages are not found by it.
	MessageByHash(hash string) (*Message, error)
	// MessagesReferencing lists inbound messages whose InReplyTo or
	// References name messageID, in ID order (how a parent that arrives after
	// its reply finds it). Outbound messages only ever answer messages
	// already recorded, so they are not listed.
	MessagesReferencing(messageID string) ([]*Message, error)
	// MessagesOf lists a complaint's messages in ID order.
	MessagesOf(complaintID uint64) ([]*Message, error)
	// ForEachMessage walks all messages in ID order (ErrStop ends it).
	ForEachMessage(fn func(*Message) error) error
	// Blob returns stored attachment bytes.
	Blob(key string) ([]byte, error)

	// Events: append-only.
	// AppendEvent assigns Seq (per complaint, from 1) and At if zero.
	AppendEvent(e *Event) error
	Events(complaintID uint64) ([]*Event, error)

	// Ingest cursors, one per source (inbox name, "telegram:<bot>", ...).
	// Cursor returns a zero Cursor with the given Source when none is stored.
	Cursor(source string) (Cursor, error)
	PutCursor(c Cursor) error

	// Outbox.
	// PutNotification creates (ID 0: assigns ID, CreatedAt, Status pending if
	// empty, NextAttempt = CreatedAt if zero) or updates a notification.
	PutNotification(n *Notification) error
	Notification(id uint64) (*Notification, error)
	// DueNotifications returns up to limit pending notifications whose
	// NextAttempt is at or before now, earliest first.
	DueNotifications(now time.Time, limit int) ([]*Notification, error)
	// NextDue returns the earliest NextAttempt among pending notifications,
	// and false when there is none.
	NextDue() (time.Time, bool, error)
	// PendingNotifications counts the pending rows (through the due index,
	// decoding none).
	PendingNotifications() (int, error)
	NotificationsOf(complaintID uint64) ([]*Notification, error)
	// ForEachNotification walks all notifications in ID order (ErrStop ends it).
	ForEachNotification(fn func(*Notification) error) error

	// Telegram chat states, one per Telegram user: what the bot waits for
	// in that user's private chat. ChatState returns a zero state with the
	// given user id when none is stored.
	ChatState(userID int64) (ChatState, error)
	// PutChatState stores s with UpdatedAt set to now.
	PutChatState(s ChatState) error

	// Scheduled jobs (job.go).
	// PutJob creates (ID 0: assigns ID, CreatedAt, Status pending if
	// empty) or updates a job.
	PutJob(j *Job) error
	Job(id uint64) (*Job, error)
	// DueJobs returns up to limit pending jobs whose RunAt is at or
	// before now, earliest first.
	DueJobs(now time.Time, limit int) ([]*Job, error)
	// NextJobDue returns the earliest RunAt among pending jobs, and false
	// when there is none.
	NextJobDue() (time.Time, bool, error)
	// JobsOf lists a complaint's jobs in ID order.
	JobsOf(complaintID uint64) ([]*Job, error)
}

// ErrStop ends a ForEach walk early without an error.
var ErrStop = errors.New("store: stop")

// Channels.
const (
	ChannelEmail    = "email"
	ChannelTelegram = "telegram"
)

// Message directions.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// Message statuses: what became of an inbound message.
const (
	StatusRecorded    = "recorded"    // joined or opened a complaint
	StatusIgnored     = "ignored"     // noise: auto-reply, bounce, our own mail; Reason says which
	StatusQuarantined = "quarantined" // could not be processed; Raw and Reason are kept
	StatusDuplicate   = "duplicate"   // the same mail seen again (e.g. after UIDVALIDITY changed)
	StatusSent        = "sent"        // outbound, delivered to the relay
)

// Complaint stages (the workflow of issue 6 builds on these).
const (
	StageRegistered = "registered"
	StageAnalysis   = "analysis"
	StageAction     = "corrective_action"
	StageResolved   = "resolved"
	StageClosed     = "closed"
	// StageNotComplaint holds a message the classifier judged not to be a
	// complaint (thanks, a question, spam...): kept as a record so nothing
	// is lost and a human can convert it, but never acknowledged.
	StageNotComplaint = "not_complaint"
	// StageDropped is a complaint that left the workflow with a
	// DropReason (unfounded, clarified, duplicate); it can be reopened.
	StageDropped = "dropped"
)

// Drop reasons (Complaint.DropReason).
const (
	DropUnfounded = "unfounded" // legally or factually unfounded
	DropClarified = "clarified" // a misunderstanding, explained to the customer
	DropDuplicate = "duplicate" // merged into Complaint.DuplicateOf
)

// Open reports whether the complaint still needs work from its owner: it
// is not resolved, closed, dropped, or set aside as not a complaint.
func (c *Complaint) Open() bool {
	switch c.Stage {
	case StageResolved, StageClosed, StageNotComplaint, StageDropped:
		return false
	}
	return true
}

// Resolution is how a complaint was settled, recorded by the staff member
// who resolved it. RootCause and Prevention (a proposal to stop it
// happening again) are what management decides process changes on.
type Resolution struct {
	Kind       string    `json:"kind"`             // refund, replacement, repair, explanation, discount, compensation, consolation_bonus
	Bonus      string    `json:"bonus,omitempty"`  // the consolation bonus, from the configured list
	Amount     string    `json:"amount,omitempty"` // decimal string, for kinds that carry one
	Currency   string    `json:"currency,omitempty"`
	RootCause  string    `json:"root_cause"`
	Prevention string    `json:"prevention"`
	By         string    `json:"by,omitempty"` // staff id
	At         time.Time `json:"at,omitempty"`
}

// Approval is a head of department's or top manager's consent to settle a
// complaint for up to Amount (in Currency).
type Approval struct {
	By       string    `json:"by"`   // staff id
	Role     string    `json:"role"` // head | top
	Amount   string    `json:"amount"`
	Currency string    `json:"currency,omitempty"`
	At       time.Time `json:"at"`
}

// Customer is a person who writes to the company.
type Customer struct {
	ID          uint64    `json:"id"`
	Name        string    `json:"name,omitempty"`
	Emails      []string  `json:"emails,omitempty"` // lower-cased
	Phones      []string  `json:"phones,omitempty"`
	TelegramIDs []int64   `json:"telegram_ids,omitempty"`
	Lang        string    `json:"lang,omitempty"` // last detected: ru, lt, en
	CreatedAt   time.Time `json:"created_at"`
	// AckMinutes counts the customer's recent acknowledgements by the
	// minute they were queued (oldest first, trimmed by the router to the
	// last hour), for the per-customer hourly cap: at most 60 entries
	// however many acknowledgements the cap allows.
	AckMinutes []MinuteCount `json:"ack_minutes,omitempty"`
	// ComplaintTimes holds the creation times of the customer's recent
	// genuine complaints (newest last, trimmed by the router) for the
	// repeat-complaints hint, so it never reads the customer's whole history.
	ComplaintTimes []time.Time `json:"complaint_times,omitempty"`
}

// Complaint is one customer's matter, from registration to closing.
type Complaint struct {
	ID         uint64    `json:"id"`
	Number     string    `json:"number"` // C-2026-000123
	CustomerID uint64    `json:"customer_id"`
	Channel    string    `json:"channel"` // channel it arrived on; replies go back there
	Subject    string    `json:"subject,omitempty"`
	Lang       string    `json:"lang,omitempty"`
	Stage      string    `json:"stage"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// DueAt is the deadline of the current stage, counted in business
	// hours (in registered: the reaction time the acknowledgement promises
	// the customer); zero when the stage has none.
	DueAt time.Time `json:"due_at,omitempty"`
	// ThreadMessageIDs are the RFC 5322 Message-IDs of the thread (ours and
	// the customer's), newest last, used for In-Reply-To/References.
	ThreadMessageIDs []string `json:"thread_message_ids,omitempty"`
	// Filled by later work (router classification, workflow); kept here so
	// the record does not need a rewrite.
	IsComplaint *bool             `json:"is_complaint,omitempty"`
	Category    string            `json:"category,omitempty"`
	Cause       string            `json:"cause,omitempty"`
	Amount      string            `json:"amount,omitempty"` // decimal string
	Currency    string            `json:"currency,omitempty"`
	Wants       []string          `json:"wants,omitempty"`
	Tier        string            `json:"tier,omitempty"`
	OwnerID     string            `json:"owner_id,omitempty"`
	Team        string            `json:"team,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	// NotComplaint is the kind of a message judged not to be a complaint
	// (thanks, question, quote_request, job_application, spam); set with
	// IsComplaint false and Stage StageNotComplaint.
	NotComplaint string `json:"not_complaint,omitempty"`
	// ExtremismHint flags the complaint for a human to look at (possible
	// consumer extremism). It is never an accusation and never changes what
	// the customer is told; Labels["extremism_hint"] says why.
	ExtremismHint bool      `json:"extremism_hint,omitempty"`
	ResolvedAt    time.Time `json:"resolved_at,omitempty"`
	ClosedAt      time.Time `json:"closed_at,omitempty"`
	// Workflow (router/workflow.go). DropReason and DroppedFrom are set
	// while Stage is StageDropped; DuplicateOf names the complaint a
	// duplicate was merged into. Resolution is the latest settlement (kept
	// when reopened, replaced by the next); Approvals accumulate.
	DropReason  string      `json:"drop_reason,omitempty"`
	DroppedFrom string      `json:"dropped_from,omitempty"`
	DuplicateOf string      `json:"duplicate_of,omitempty"`
	Resolution  *Resolution `json:"resolution,omitempty"`
	Approvals   []Approval  `json:"approvals,omitempty"`
}

// Address is a mailbox: display name and address.
type Address struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
}

// Attachment is one file of a message. Data is set only on the way into
// PutMessage; stored records carry BlobKey instead. Kept is false when the
// bytes were over the size cap (name, type and size are still recorded).
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Kept        bool   `json:"kept"`
	NotKeptWhy  string `json:"not_kept_why,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	BlobKey     string `json:"blob_key,omitempty"`
	Data        []byte `json:"-"`
}

// Message is one message, inbound or outbound, on any channel.
type Message struct {
	ID          uint64 `json:"id"`
	ComplaintID uint64 `json:"complaint_id,omitempty"` // 0: not part of a complaint (ignored, quarantined)
	CustomerID  uint64 `json:"customer_id,omitempty"`
	Direction   string `json:"direction"`
	Channel     string `json:"channel"`
	// Source is the inbox name (or bot) it came from; SourceRef locates it
	// there, e.g. "uidvalidity/uid".
	Source    string `json:"source,omitempty"`
	SourceRef string `json:"source_ref,omitempty"`

	MessageID  string    `json:"message_id,omitempty"` // without <>
	InReplyTo  []string  `json:"in_reply_to,omitempty"`
	References []string  `json:"references,omitempty"`
	From       Address   `json:"from"`
	ReplyTo    *Address  `json:"reply_to,omitempty"`
	To         []Address `json:"to,omitempty"`
	Subject    string    `json:"subject,omitempty"`
	Date       time.Time `json:"date,omitempty"` // the Date header
	// Text is the new text of the message (quoted history trimmed); FullText
	// is the whole decoded text when a history was trimmed, and empty when
	// Text is the whole text (it is not stored twice): read it with Whole.
	// HTMLOnly says the text was made from HTML.
	Text     string            `json:"text"`
	FullText string            `json:"full_text,omitempty"`
	HTMLOnly bool              `json:"html_only,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"` // selected headers
	// Attachments, within the configured caps.
	Attachments []Attachment `json:"attachments,omitempty"`
	// Telegram identity, when Channel is telegram.
	TelegramChatID int64 `json:"telegram_chat_id,omitempty"`
	TelegramUserID int64 `json:"telegram_user_id,omitempty"`

	Status string `json:"status"`
	Reason string `json:"reason,omitempty"` // why ignored / quarantined / duplicate
	// Raw holds the original bytes of a quarantined message (nothing else
	// keeps raw bytes; they can be large).
	Raw []byte `json:"raw,omitempty"`
	// Size of the original message in bytes.
	Size        int64     `json:"size"`
	ContentHash string    `json:"content_hash,omitempty"` // sha256 hex of the raw bytes
	ReceivedAt  time.Time `json:"received_at"`

	// Prepared carries work a Sink did on the message before its
	// transaction (the router's classification, computed on the source's
	// parallel workers) to that Sink's Deliver. It is never stored.
	Prepared any `json:"-"`
}

// Whole is the whole decoded text of the message: FullText when a quoted
// history was trimmed from Text, else Text.
func (m *Message) Whole() string {
	if m.FullText != "" {
		return m.FullText
	}
	return m.Text
}

// MinuteCount is how many times something happened in one minute.
type MinuteCount struct {
	Minute int64 `json:"m"` // Unix time / 60
	N      int   `json:"n"`
}

// Event is one entry of a complaint's audit trail.
type Event struct {
	ComplaintID uint64            `json:"complaint_id"`
	Seq         uint64            `json:"seq"`
	At          time.Time         `json:"at"`
	Actor       string            `json:"actor"` // "system", "customer:<id>", "staff:<id>", "notify"
	Kind        string            `json:"kind"`  // "registered", "message_added", "ack_queued", "ack_sent", ...
	Text        string            `json:"text,omitempty"`
	Fields      map[string]string `json:"fields,omitempty"`
}

// Cursor is how far a source has been read. For IMAP: UIDValidity and the
// last UID committed. For Telegram: Offset is the next update id.
type Cursor struct {
	Source      string    `json:"source"`
	UIDValidity uint32    `json:"uid_validity,omitempty"`
	LastUID     uint32    `json:"last_uid,omitempty"`
	Offset      int64     `json:"offset,omitempty"`
	UpdatedAt   time.Time `json:"updated_at,omitempty"`
}

// ChatState is what the bot waits for in one Telegram user's private chat
// (a staff member's next message to relay, the next field of a resolution,
// a customer's link code). It lives in the store, so a restart between a
// button press and the message it asks for loses nothing. Awaiting ""
// means nothing is pending.
type ChatState struct {
	TelegramUserID int64             `json:"telegram_user_id"`
	Awaiting       string            `json:"awaiting,omitempty"`
	Complaint      string            `json:"complaint,omitempty"` // its number
	Fields         map[string]string `json:"fields,omitempty"`
	ExpiresAt      time.Time         `json:"expires_at,omitempty"`
	UpdatedAt      time.Time         `json:"updated_at,omitempty"`
}

// Notification statuses.
const (
	NotifyPending = "pending"
	NotifySent    = "sent"
	NotifyFailed  = "failed" // permanent failure, not retried
)

// Notification is one row of the outbox: something to send, when to try
// next, and what happened. Rows are never removed; a sent or failed row
// stays as the record of it.
type Notification struct {
	ID          uint64 `json:"id"`
	ComplaintID uint64 `json:"complaint_id,omitempty"`
	CustomerID  uint64 `json:"customer_id,omitempty"`
	Kind        string `json:"kind"`    // "ack", later "reminder", "survey", "digest", "reply"
	Channel     string `json:"channel"` // email / telegram
	Lang        string `json:"lang,omitempty"`
	// Email addressing. MessageID is chosen when the row is made so a retry
	// after a crash sends the same Message-ID (receivers can deduplicate).
	To         Address  `json:"to"`
	Subject    string   `json:"subject,omitempty"`
	MessageID  string   `json:"message_id,omitempty"` // without <>
	InReplyTo  string   `json:"in_reply_to,omitempty"`
	References []string `json:"references,omitempty"`
	// Telegram addressing.
	TelegramChatID int64 `json:"telegram_chat_id,omitempty"`
	// Data feeds the template of Kind (complaint number, due time, ...).
	Data map[string]string `json:"data,omitempty"`

	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	SentAt      time.Time `json:"sent_at,omitempty"`
}

// Batch is what an ingest source hands over to be committed at once: the
// normalised messages and the cursor that moves past them.
type Batch struct {
	Source   string
	Messages []*Message
	Cursor   Cursor
}
