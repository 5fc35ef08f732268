package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"complaintbot/store"
)

// Export formats.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// Record is everything kept about one complaint: the body of
// GET /api/complaints/{number} and one line of the JSONL export.
type Record struct {
	Complaint *store.Complaint `json:"complaint"`
	// Customer is nil when the customer record is missing.
	Customer      *store.Customer       `json:"customer"`
	Messages      []*store.Message      `json:"messages"`
	Events        []*store.Event        `json:"events"`
	Notifications []*store.Notification `json:"notifications"`
}

// Line is one line of a JSONL export. Exactly one part is set: a complaint's
// Record, or a message or notification that belongs to no complaint (noise,
// quarantine), which come after all the complaints so nothing is left out.
type Line struct {
	*Record
	Message      *store.Message      `json:"message,omitempty"`
	Notification *store.Notification `json:"notification,omitempty"`
}

// Export chunking: at most this many records or (about) this many bytes are
// encoded inside one read transaction before they are written to w.
const (
	chunkRecords = 64
	chunkBytes   = 256 << 10
)

// CSVHeader is the first row of the CSV export.
var CSVHeader = []string{
	"number", "created_at", "stage", "customer_email", "customer_name",
	"channel", "lang", "subject", "category", "owner", "due_at",
	"message_count", "event_count", "last_event", "last_event_at",
}

// CheckFormat says whether format is one Export knows.
func CheckFormat(format string) error {
	if format == FormatJSONL || format == FormatCSV {
		return nil
	}
	return fmt.Errorf("api: unknown export format %q (valid: %s, %s)", format, FormatJSONL, FormatCSV)
}

// Export writes every complaint of st to w.
//
// "jsonl": one JSON object per line (see Line): each complaint with its
// customer, messages (raw bytes of quarantined mail base64-encoded, as
// encoding/json does; attachment metadata without the bytes), events and
// notifications; then each message and notification that belongs to no
// complaint.
//
// "csv": CSVHeader, then one row per complaint. Text that a spreadsheet
// would run as a formula (starting with = + - @, tab or CR) is prefixed with
// a single quote, so a customer cannot plant a formula in the staff's
// spreadsheet (CSV injection). The CSV is for people; the JSONL export is the
// lossless one. The text is UTF-8 without a byte-order mark. Times are
// RFC 3339 in UTC.
//
// Export reads in short transactions between writes to w (see the package
// doc). Complaints are listed when it starts; records are read as they are
// when their chunk is read.
func Export(ctx context.Context, st store.Store, w io.Writer, format string) error {
	if err := CheckFormat(format); err != nil {
		return err
	}
	ids, err := planExport(ctx, st)
	if err != nil {
		return fmt.Errorf("api: export: %w", err)
	}
	if format == FormatCSV {
		err = exportCSV(ctx, st, w, ids)
	} else {
		err = exportJSONL(ctx, st, w, ids)
	}
	if err != nil {
		return fmt.Errorf("api: export: %w", err)
	}
	return nil
}

// exportIDs are what an export will write.
type exportIDs struct {
	complaints    []uint64
	messages      []uint64 // belonging to no complaint
	notifications []uint64 // belonging to no complaint
}

func planExport(ctx context.Context, st store.Store) (exportIDs, error) {
	var ids exportIDs
	err := st.View(ctx, func(tx store.Tx) error {
		err := tx.ForEachComplaint(func(c *store.Complaint) error {
			ids.complaints = append(ids.complaints, c.ID)
			return ctx.Err()
		})
		if err != nil {
			return err
		}
		err = tx.ForEachMessage(func(m *store.Message) error {
			if m.ComplaintID == 0 {
				ids.messages = append(ids.messages, m.ID)
			}
			return ctx.Err()
		})
		if err != nil {
			return err
		}
		return tx.ForEachNotification(func(n *store.Notification) error {
			if n.ComplaintID == 0 {
				ids.notifications = append(ids.notifications, n.ID)
			}
			return ctx.Err()
		})
	})
	return ids, err
}

func exportJSONL(ctx context.Context, st store.Store, w io.Writer, ids exportIDs) error {
	steps := []struct {
		ids    []uint64
		encode func(tx store.Tx, id uint64) (any, error)
	}{
		{ids.complaints, func(tx store.Tx, id uint64) (any, error) {
			c, err := tx.Complaint(id)
			if err != nil {
				return nil, err
			}
			rec, err := loadRecord(tx, c)
			return Line{Record: rec}, err
		}},
		{ids.messages, func(tx store.Tx, id uint64) (any, error) {
			m, err := tx.Message(id)
			return Line{Message: m}, err
		}},
		{ids.notifications, func(tx store.Tx, id uint64) (any, error) {
			n, err := tx.Notification(id)
			return Line{Notification: n}, err
		}},
	}
	for _, step := range steps {
		err := inChunks(ctx, st, w, step.ids, func(tx store.Tx, id uint64, buf *bytes.Buffer) error {
			v, err := step.encode(tx, id)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(buf)
			enc.SetEscapeHTML(false)
			return enc.Encode(v)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func exportCSV(ctx context.Context, st store.Store, w io.Writer, ids exportIDs) error {
	head := csv.NewWriter(w)
	if err := head.Write(CSVHeader); err != nil {
		return err
	}
	if head.Flush(); head.Error() != nil {
		return fmt.Errorf("write: %w", head.Error())
	}
	return inChunks(ctx, st, w, ids.complaints, func(tx store.Tx, id uint64, buf *bytes.Buffer) error {
		c, err := tx.Complaint(id)
		if err != nil {
			return err
		}
		rec, err := loadRecord(tx, c)
		if err != nil {
			return err
		}
		cw := csv.NewWriter(buf)
		if err := cw.Write(csvRow(rec)); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	})
}

// inChunks encodes the records named by ids into a buffer inside short read
// transactions and writes the buffer to w between them.
func inChunks(ctx context.Context, st store.Store, w io.Writer, ids []uint64,
	encode func(tx store.Tx, id uint64, buf *bytes.Buffer) error) error {
	var buf bytes.Buffer
	for len(ids) > 0 {
		done := 0
		err := st.View(ctx, func(tx store.Tx) error {
			buf.Reset()
			done = 0
			for done < len(ids) && done < chunkRecords && buf.Len() < chunkBytes {
				if err := encode(tx, ids[done], &buf); err != nil {
					return fmt.Errorf("record %d: %w", ids[done], err)
				}
				done++
			}
			return ctx.Err()
		})
		if err != nil {
			return err
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		ids = ids[done:]
	}
	return nil
}

// loadRecord gathers a complaint's customer, messages, events and
// notifications.
func loadRecord(tx store.Tx, c *store.Complaint) (*Record, error) {
	rec := &Record{Complaint: c}
	var err error
	if rec.Customer, err = customerOf(tx, c); err != nil {
		return nil, err
	}
	if rec.Messages, err = tx.MessagesOf(c.ID); err != nil {
		return nil, fmt.Errorf("messages of %s: %w", c.Number, err)
	}
	if rec.Events, err = tx.Events(c.ID); err != nil {
		return nil, fmt.Errorf("events of %s: %w", c.Number, err)
	}
	if rec.Notifications, err = tx.NotificationsOf(c.ID); err != nil {
		return nil, fmt.Errorf("notifications of %s: %w", c.Number, err)
	}
	return rec, nil
}

// csvRow is a complaint's row under CSVHeader.
func csvRow(rec *Record) []string {
	c := rec.Complaint
	var lastKind, lastAt string
	if n := len(rec.Events); n > 0 {
		lastKind, lastAt = rec.Events[n-1].Kind, csvTime(rec.Events[n-1].At)
	}
	row := []string{
		c.Number, csvTime(c.CreatedAt), c.Stage, firstEmail(rec.Customer), customerName(rec.Customer),
		c.Channel, c.Lang, c.Subject, c.Category, c.OwnerID, csvTime(c.DueAt),
		strconv.Itoa(len(rec.Messages)), strconv.Itoa(len(rec.Events)), lastKind, lastAt,
	}
	for i, cell := range row {
		row[i] = defuseFormula(cell)
	}
	return row
}

func customerName(c *store.Customer) string {
	if c == nil {
		return ""
	}
	return c.Name
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// defuseFormula prefixes a single quote to text a spreadsheet would evaluate
// as a formula (CSV injection; the characters are OWASP's list). encoding/csv
// already quotes commas, quotes and newlines; this is about what the cell
// means to Excel or LibreOffice once opened.
func defuseFormula(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// exportContentType is the Content-Type of each format.
func exportContentType(format string) string {
	if format == FormatCSV {
		return "text/csv; charset=utf-8"
	}
	return "application/x-ndjson; charset=utf-8"
}

// export serves GET /api/export?format=jsonl|csv (default jsonl). Once the
// body has begun, a failure aborts the connection instead of ending the
// response cleanly, so the client sees a broken transfer and never mistakes
// a cut export for a whole one.
func (s *server) export(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = FormatJSONL
	}
	if err := CheckFormat(format); err != nil {
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "api: "))
		return
	}
	name := fmt.Sprintf("complaintbot-%s.%s", s.now().UTC().Format("20060102T150405Z"), format)
	w.Header().Set("Content-Type", exportContentType(format))
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	out := &countingWriter{w: w}
	err := Export(r.Context(), s.st, out, format)
	switch {
	case err == nil:
	case out.n == 0:
		w.Header().Del("Content-Disposition")
		s.internalError(w, r, err)
	default:
		s.log.Error("api: export aborted", "err", err, "bytes_sent", out.n)
		panic(http.ErrAbortHandler)
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
