package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bucket layout of the bbolt file. IDs are uint64 big-endian (8 bytes, from
// the record bucket's NextSequence), strings in keys are encoded by strKey
// (length-prefixed, long ones hashed), times by timeKey. Records are JSON.
//
//	meta                 "schema" -> version; "number/<year>" -> last complaint sequence of that year
//	customers            id -> Customer
//	customer_email       strKey(lower-cased email) -> customer id (unique)
//	customer_telegram    int64 user id -> customer id (unique)
//	complaints           id -> Complaint
//	complaint_number     strKey(number) -> complaint id (unique)
//	complaints_customer  customer id + complaint id -> ""
//	complaints_owner     strKey(owner id) + complaint id -> ""  (open, owned complaints only)
//	owner_load           strKey(owner id) -> count of its complaints_owner entries (uint64)
//	messages             id -> Message (attachment bytes moved to blobs)
//	message_id           strKey(Message-ID) + message id -> ""  (first = first recorded)
//	message_hash         strKey(ContentHash) + message id -> ""
//	message_ref          strKey(referenced Message-ID) + referencing message id -> ""
//	messages_complaint   complaint id + message id -> ""
//	blobs                sha256 hex of the bytes -> bytes (each content stored once)
//	events               complaint id + seq -> Event
//	cursors              strKey(source) -> Cursor
//	notifications        id -> Notification
//	notifications_due    timeKey(NextAttempt) + id -> ""  (pending rows only)
//	notifications_complaint complaint id + notification id -> ""
//	chat_states          int64 Telegram user id -> ChatState
//	jobs                 id -> Job
//	jobs_due             timeKey(RunAt) + id -> ""  (pending jobs only)
//	jobs_complaint       complaint id + job id -> ""
//
// Index entries are derived from the record alone (see the *Index
// functions), so an update removes the entries of the old version and adds
// those of the new one; records themselves are never deleted.
var (
	bucketMeta               = []byte("meta")
	bucketCustomers          = []byte("customers")
	bucketCustomerEmail      = []byte("customer_email")
	bucketCustomerTelegram   = []byte("customer_telegram")
	bucketComplaints         = []byte("complaints")
	bucketComplaintNumber    = []byte("complaint_number")
	bucketComplaintsCustomer = []byte("complaints_customer")
	bucketComplaintsOwner    = []byte("complaints_owner")
	bucketOwnerLoad          = []byte("owner_load")
	bucketMessages           = []byte("messages")
	bucketMessageID          = []byte("message_id")
	bucketMessageHash        = []byte("message_hash")
	bucketMessageRef         = []byte("message_ref")
	bucketMessagesComplaint  = []byte("messages_complaint")
	bucketBlobs              = []byte("blobs")
	bucketEvents             = []byte("events")
	bucketCursors            = []byte("cursors")
	bucketNotifications      = []byte("notifications")
	bucketNotificationsDue   = []byte("notifications_due")
	bucketNotificationsOf    = []byte("notifications_complaint")
	bucketChatStates         = []byte("chat_states")
	bucketJobs               = []byte("jobs")
	bucketJobsDue            = []byte("jobs_due")
	bucketJobsOf             = []byte("jobs_complaint")
)

var allBuckets = [][]byte{
	bucketMeta, bucketCustomers, bucketCustomerEmail, bucketCustomerTelegram,
	bucketComplaints, bucketComplaintNumber, bucketComplaintsCustomer, bucketComplaintsOwner, bucketOwnerLoad,
	bucketMessages, bucketMessageID, bucketMessageHash, bucketMessageRef,
	bucketMessagesComplaint, bucketBlobs, bucketEvents, bucketCursors,
	bucketNotifications, bucketNotificationsDue, bucketNotificationsOf, bucketChatStates,
	bucketJobs, bucketJobsDue, bucketJobsOf,
}

// laterBuckets were added to schema 1 after files were written with it.
// A writable open creates them (they start empty, which is right: nothing
// written before they existed belongs in them); a read-only open of an
// older file goes without them and their readers see them as empty.
var laterBuckets = map[string]bool{string(bucketComplaintsOwner): true, string(bucketOwnerLoad): true,
	string(bucketChatStates): true, string(bucketJobs): true, string(bucketJobsDue): true, string(bucketJobsOf): true}

// schemaVersion is stored under meta/"schema"; a file written by a newer
// layout is refused rather than misread.
const schemaVersion = 1

// ErrReadOnly is returned by write methods called in a View transaction.
var ErrReadOnly = errors.New("store: write in a read-only transaction")

// ErrConflict is returned when a put would give a unique key (an email
// address, a Telegram user, a complaint number) to a second record.
var ErrConflict = errors.New("store: unique key already taken")

// initialMmapSize reserves address space (not memory) for the file's map.
// Each time bbolt grows its map inside a write transaction it first copies
// every key and value the transaction touched onto the heap; a batch
// holding 25 MB of attachments in a small file grew it eight times and
// allocated 250 MB. Reserving 1 GiB up front makes that copy rare.
const initialMmapSize = 1 << 30

// BoltOptions configures OpenBolt. The zero value is the production default.
type BoltOptions struct {
	// Timeout bounds the wait for the file lock, so a second process opening
	// the same file fails instead of hanging. Zero means one second.
	Timeout time.Duration
	// ReadOnly opens an existing file for reading only, sharing the lock
	// with other readers (a running daemon's exclusive lock still makes it
	// wait for Timeout and fail). Update returns ErrReadOnly.
	ReadOnly bool
	// NoSync skips fsync on commit. For tests only: a crash can lose
	// committed transactions.
	NoSync bool
	// Now is the clock for assigned timestamps. Nil means time.Now.
	Now func() time.Time
	// FailUpdate is a test hook for fault injection: when set and it returns
	// an error, Update returns that error after fn ran, without committing,
	// as if the disk had failed the write.
	FailUpdate func() error
	// TrimInterval is how often, at most, Update drops this process's
	// resident pages of the file mapping (Linux only): bbolt reads through
	// a shared read-only map of the file, so every page the process ever
	// read or wrote back stays counted in its RSS although it is only page
	// cache. The trim runs at the start of a write transaction (where
	// bbolt cannot remap the file) and costs one madvise(MADV_DONTNEED)
	// over the file's data: ~10µs for a 130 MB file with few pages
	// resident, ~0.25ms with all of them (BenchmarkTrimResident). Readers
	// are not disturbed: the pages stay in the page cache and the next
	// access maps them back with the same bytes, a minor fault without I/O.
	// Zero means 100ms: a backlog is written at tens of megabytes a
	// second, and a trim costs far less than the pages it frees are worth
	// on a small machine. Negative disables it (Bolt.TrimResident still
	// trims on demand).
	TrimInterval time.Duration
	// Logger receives what the store cannot return (a failed trim). Nil
	// means slog.Default().
	Logger *slog.Logger
}

// Bolt is the bbolt implementation of Store. It is safe for concurrent use;
// bbolt serialises Update calls and runs View calls in parallel.
type Bolt struct {
	db   *bolt.DB
	opts BoltOptions
	// lastTrim is when the mapping was last trimmed; guarded by bbolt's
	// writer lock (read and set inside write transactions only).
	lastTrim time.Time
	// fill is the FillPercent of the buckets write transactions fill
	// more than bbolt's default: packedFill (tests compare with nil).
	fill map[string]float64
	// enc encodes the values of every write transaction; guarded by
	// bbolt's writer lock, like lastTrim.
	enc encoder
}

var _ Store = (*Bolt)(nil)

// OpenBolt opens (creating with mode 0600 if needed) the bbolt file at path.
func OpenBolt(path string, o BoltOptions) (*Bolt, error) {
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TrimInterval == 0 {
		o.TrimInterval = defaultTrimInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         o.Timeout,
		NoSync:          o.NoSync,
		ReadOnly:        o.ReadOnly,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: initialMmapSize,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("store: open %s: file is locked by another process (waited %s): %w", path, o.Timeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	prepare := db.Update
	if o.ReadOnly {
		prepare = db.View
	}
	if err := prepare(initBuckets); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return &Bolt{db: db, opts: o, fill: packedFill}, nil
}

// initBuckets creates the buckets a new file lacks (checks them in a
// read-only one) and checks the schema version.
func initBuckets(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if !tx.Writable() {
			if tx.Bucket(name) == nil && !laterBuckets[string(name)] {
				return fmt.Errorf("bucket %s missing: not a complaintbot store", name)
			}
			continue
		}
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	v := meta.Get([]byte("schema"))
	if v == nil {
		return meta.Put([]byte("schema"), u64(schemaVersion))
	}
	if len(v) != 8 || getU64(v) != schemaVersion {
		return fmt.Errorf("unsupported schema version %x (want %d)", v, schemaVersion)
	}
	return nil
}

// Update runs fn in a read-write transaction and commits if fn returns nil.
// When fn fails (or the commit does), nothing is kept, and the fields the
// store assigned to the caller's records during fn (IDs, numbers, default
// times, blob keys; attachment Data) are restored, so the caller can retry
// with the same records.
func (b *Bolt) Update(ctx context.Context, fn func(Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: update: %w", err)
	}
	if b.opts.ReadOnly {
		return fmt.Errorf("store: update: store opened read-only: %w", ErrReadOnly)
	}
	btx, err := b.db.Begin(true)
	if err != nil {
		return fmt.Errorf("store: update: begin: %w", err)
	}
	b.maybeTrim(btx)
	b.enc.reset() // the transaction before has ended: btx holds the writer lock
	t := &boltTx{tx: btx, writable: true, now: b.opts.Now, fill: b.fill, enc: &b.enc}
	committed := false
	defer func() {
		if !committed {
			btx.Rollback()
			t.rollbackCaller()
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	if b.opts.FailUpdate != nil {
		if err := b.opts.FailUpdate(); err != nil {
			return fmt.Errorf("store: update: injected failure: %w", err)
		}
	}
	if err := btx.Commit(); err != nil {
		return fmt.Errorf("store: update: commit: %w", err)
	}
	committed = true
	return nil
}

// View runs fn in a read-only transaction; write methods return ErrReadOnly.
func (b *Bolt) View(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: view: %w", err)
	}
	btx, err := b.db.Begin(false)
	if err != nil {
		return fmt.Errorf("store: view: begin: %w", err)
	}
	defer btx.Rollback()
	return fn(&boltTx{tx: btx, now: b.opts.Now})
}

// Close closes the file; it waits for running transactions to end.
func (b *Bolt) Close() error {
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}
