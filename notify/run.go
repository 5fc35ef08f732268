package notify

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"complaintbot/store"
)

const (
	// maxSleep bounds the wait between looks at the outbox, in case a row
	// was added without a Kick.
	maxSleep = time.Minute
	// minSleep keeps a clock disagreement from becoming a busy loop.
	minSleep = 10 * time.Millisecond
	// pendingRefresh is how often the pending gauge is recounted while busy.
	pendingRefresh = 5 * time.Second
)

// Run sends due notifications until ctx ends, then finishes and records
// the messages already handed to senders and returns nil. It returns an
// error only when the Notifier is already running.
func (n *Notifier) Run(ctx context.Context) error {
	if !n.running.CompareAndSwap(false, true) {
		return errors.New("notify: already running")
	}
	defer n.running.Store(false)
	jobs := make(chan *job)
	results := make(chan *job)
	var wg sync.WaitGroup
	for i := range n.o.Senders {
		wg.Go(func() { n.sender(ctx, i, jobs, results) })
	}
	n.loop(ctx, jobs, results)
	close(jobs)
	wg.Wait()
	return nil
}

// loop is the one outbox loop: send what is due, else sleep until the
// earliest row is due, a Kick, or the end.
func (n *Notifier) loop(ctx context.Context, jobs chan<- *job, results <-chan *job) {
	timer := time.NewTimer(maxSleep)
	defer timer.Stop()
	var counted time.Time
	for ctx.Err() == nil {
		if n.hold.held(n.o.Now()) {
			n.sleep(ctx, timer, n.o.HoldPoll)
			continue
		}
		w, err := n.look(ctx, !n.o.Now().Before(counted.Add(pendingRefresh)))
		if err != nil {
			if ctx.Err() == nil {
				n.log.Error("cannot read the outbox", "err", err)
				n.sleep(ctx, timer, n.o.MinBackoff)
			}
			continue
		}
		if w.counted {
			counted = n.o.Now()
			n.pending = w.pending
		}
		n.pending = max(n.pending, len(w.due)) // rows added since the count
		n.metrics.pending.Set(float64(n.pending))
		if len(w.due) > 0 {
			n.runBatch(ctx, w.due, jobs, results)
			continue
		}
		n.sleep(ctx, timer, w.wait(n.o.Now()))
	}
}

// work is what one look at the outbox found.
type work struct {
	due     []*store.Notification
	next    time.Time // earliest NextAttempt when nothing is due
	hasNext bool
	pending int // all pending rows, when counted
	counted bool
}

// wait is how long to sleep when nothing is due.
func (w work) wait(now time.Time) time.Duration {
	if !w.hasNext {
		return maxSleep
	}
	return min(max(w.next.Sub(now), minSleep), maxSleep)
}

// look reads the due rows; when none are due, also the next due time.
// It counts the pending rows when asked: counting walks the whole due
// index, so it is done every pendingRefresh only, and the gauge is kept up
// to date in between by the outcomes recorded.
func (n *Notifier) look(ctx context.Context, count bool) (work, error) {
	var w work
	err := n.o.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if w.due, err = tx.DueNotifications(n.o.Now(), n.o.BatchSize); err != nil {
			return err
		}
		if len(w.due) == 0 {
			if w.next, w.hasNext, err = tx.NextDue(); err != nil {
				return err
			}
		}
		if count {
			w.pending, err = tx.PendingNotifications()
			w.counted = err == nil
		}
		return err
	})
	return w, err
}

// sleep waits for d, a Kick or the end of ctx.
func (n *Notifier) sleep(ctx context.Context, timer *time.Timer, d time.Duration) {
	timer.Reset(d)
	select {
	case <-ctx.Done():
	case <-n.kick:
	case <-timer.C:
	}
	timer.Stop()
}

// job is one notification on its way through a sender and back.
type job struct {
	row   *store.Notification
	batch *batch

	// Set by the sender.
	at        time.Time // when the attempt ended
	err       error
	aborted   bool // shutdown interrupted it; the row is left as it was
	sent      *store.Message
	committed chan struct{} // closed once the outcome is in the store
	lost      bool          // the outcome could not be recorded (shutdown); set before committed is closed
	requeue   bool          // the relay refused one more connection: send the row again over another

	// Set by record.
	outcome string // "sent", "temporary" or "permanent"
}

// batch is the state the jobs of one batch share.
type batch struct {
	mu      sync.Mutex
	dialErr error // the relay could not be reached during this batch
}

// relayDown returns the error of a failed dial earlier in this batch, so
// that a relay that is down costs one connect timeout per batch, not one
// per row.
func (b *batch) relayDown() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dialErr
}

func (b *batch) setRelayDown(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dialErr = err
}

// runBatch hands rows to the senders and records the outcomes as they come
// back, several at a time (group commit). A commit runs in its own
// goroutine, so rows are handed out while it runs; the outcomes that come
// back meanwhile form the next group. Before the queue runs dry it reads
// the next due rows (refill), so the senders are never left waiting for
// the whole batch to finish. When ctx ends it hands out no more rows but
// still records those in flight; while held (Options.Hold) it reads no
// more, so the batch ends once its queue is sent.
func (n *Notifier) runBatch(ctx context.Context, rows []*store.Notification, jobs chan<- *job, results <-chan *job) {
	var queue []*job
	taken := make(map[uint64]bool) // rows queued or in flight, until committed
	enqueue := func(rows []*store.Notification) (added bool) {
		b := &batch{}
		for _, row := range rows {
			if !taken[row.ID] {
				taken[row.ID] = true
				queue = append(queue, &job{row: row, batch: b, committed: make(chan struct{})})
				added = true
			}
		}
		return added
	}
	enqueue(rows)
	committed := make(chan []*job)
	var ready, committing []*job // outcomes back; the group being committed
	inFlight := 0
	stop := ctx.Done()
	dry := false // the last refill found nothing new; wait for a commit

	for len(queue) > 0 || inFlight > 0 {
		if committing == nil && len(ready) > 0 {
			committing, ready = ready, nil
			go func(group []*job) { n.commit(ctx, group); committed <- group }(committing)
		}
		if stop != nil && !dry && len(queue) < n.o.Senders && !n.hold.held(n.o.Now()) {
			dry = !enqueue(n.refill(ctx, len(taken)))
		}
		var out chan<- *job
		var next *job
		if len(queue) > 0 {
			out, next = jobs, queue[0]
		}
		select {
		case out <- next:
			queue = queue[1:]
			inFlight++
		case j := <-results:
			if j.requeue { // not tried: hand it out again, first (after a stop, leave it)
				inFlight--
				if stop != nil {
					queue = append([]*job{{row: j.row, batch: j.batch, committed: make(chan struct{})}}, queue...)
				}
				continue
			}
			ready = append(ready, j)
		case group := <-committed:
			n.count(group)
			for _, j := range group {
				delete(taken, j.row.ID)
			}
			inFlight -= len(group)
			committing, dry = nil, false
		case <-stop:
			queue, stop = nil, nil
		}
	}
}

// refill reads the due rows, skipping none: the caller drops the taken
// ones it already has, so it asks for that many more. A failed read
// returns nothing; the outer loop will look again.
func (n *Notifier) refill(ctx context.Context, taken int) []*store.Notification {
	var due []*store.Notification
	err := n.o.Store.View(ctx, func(tx store.Tx) error {
		var err error
		due, err = tx.DueNotifications(n.o.Now(), taken+n.o.BatchSize)
		return err
	})
	if err != nil {
		return nil
	}
	return due
}

// sender i owns one relay connection. It sends the final dot of a message
// only once the outcome of its previous message is recorded, so at most
// one accepted-but-unrecorded message per connection exists at any time;
// everything before the dot (rendering, MAIL, RCPT, DATA and the body)
// overlaps with that commit. It takes rows only while the window admits
// it, and holds no connection while it does not.
func (n *Notifier) sender(ctx context.Context, i int, jobs <-chan *job, results chan<- *job) {
	rc := &relayConn{o: n.o.SMTP, track: func(open bool) { n.win.setOpen(i, open) },
		timed: func(step string, d time.Duration) { n.metrics.relay.WithLabelValues(step).Observe(d.Seconds()) }}
	defer rc.close()
	idle := time.NewTimer(n.o.IdleTimeout)
	defer idle.Stop()
	var prev *job // handed back; its outcome may not be recorded yet
	for {
		admitted, changed := n.win.admit(i)
		in, done := jobs, (<-chan struct{})(nil)
		if !admitted {
			rc.close()
			// Run closes jobs only after ctx ends, and hands a sender
			// outside the window nothing; so ctx is its end.
			in, done = nil, ctx.Done()
		}
		select {
		case j, ok := <-in:
			if !ok {
				return
			}
			n.attemptSafely(ctx, i, rc, j, prev)
			results <- j
			if j.requeue {
				sleepCtx(ctx, refusedPause) // let the relay see our others first
			} else {
				prev = j
			}
			idle.Reset(n.o.IdleTimeout)
		case <-idle.C:
			rc.close()
		case <-changed:
		case <-done:
			return
		}
	}
}

// recorded waits until the outcome of prev (nil: none) is committed and
// reports whether it is in the store.
func recorded(prev *job) bool {
	if prev == nil {
		return true
	}
	<-prev.committed
	return !prev.lost
}

// attemptSafely is attempt with a panic turned into a permanent failure of
// the row: a row that crashed the daemon would be due again after every
// restart.
func (n *Notifier) attemptSafely(ctx context.Context, i int, rc *relayConn, j, prev *job) {
	defer func() {
		if p := recover(); p != nil {
			n.metrics.panics.Inc()
			n.log.Error("panic while sending a notification", "id", j.row.ID, "panic", p, "stack", string(debug.Stack()))
			rc.discard()
			j.err, j.sent, j.at = permanentf("internal error: %v", p), nil, n.o.Now()
		}
	}()
	n.attempt(ctx, i, rc, j, prev)
}

// attempt renders, composes and sends one row, filling in the outcome.
// Nothing that a relay could accept goes out before the outcome of prev,
// the connection's previous row, is recorded; if it could not be (the
// store failed at shutdown), j is abandoned and left as it was.
func (n *Notifier) attempt(ctx context.Context, i int, rc *relayConn, j, prev *job) {
	defer func() { j.at = n.o.Now() }()
	if n.beforeSend != nil {
		n.beforeSend(j.row)
	}
	if j.row.Channel == store.ChannelTelegram && n.tg != nil {
		if !recorded(prev) {
			j.aborted = true
			return
		}
		n.attemptTelegram(ctx, j)
		return
	}
	p, err := n.prepare(j.row)
	if err != nil {
		j.err = err
		return
	}
	if err := j.batch.relayDown(); err != nil && rc.c == nil {
		j.err = err
		return
	}
	err = rc.begin(ctx, envelope{from: n.from, to: p.to}, p.raw)
	if n.refusedOneMore(ctx, i, err) {
		j.requeue = true
		return
	}
	if err == nil {
		held := time.Now()
		ok := recorded(prev)
		n.metrics.held.Add(time.Since(held).Seconds())
		if !ok {
			rc.abandon()
			j.aborted = true
			return
		}
		err = rc.finish()
	}
	n.observeRelay(j.batch, err)
	if err != nil {
		j.err = err
		j.aborted = ctx.Err() != nil && errors.Is(err, ctx.Err())
		return
	}
	j.sent = p.record(j.row, n.o.From, n.o.Now())
	n.win.accepted(n.o.Now())
}

// refusedOneMore reports whether err is the relay refusing sender i a
// connection while others of ours are open: a 4xx reply to the greeting
// or EHLO ("421 4.7.0 Too many connections" from Postfix, Exchange or
// Gmail), its per-client limit. The window has then shrunk. A relay that
// cannot be reached at all (refused TCP connect, timeout) is down, not
// limiting us, and fails the row as before.
func (n *Notifier) refusedOneMore(ctx context.Context, i int, err error) bool {
	var de *dialError
	var se *smtp.SMTPError
	if !errors.As(err, &de) || !errors.As(err, &se) || se.Code < 400 || se.Code >= 500 || ctx.Err() != nil {
		return false
	}
	if !n.win.refused(i, n.o.Now()) {
		return false
	}
	n.metrics.refused.Inc()
	n.log.Info("the relay refused one more connection; sending over fewer",
		"connections", n.win.size(), "err", err)
	return true
}

// observeRelay keeps Health and the batch's relay state up to date.
func (n *Notifier) observeRelay(b *batch, err error) {
	var de *dialError
	switch {
	case errors.As(err, &de):
		b.setRelayDown(err)
		n.relayFailed(err)
	case err == nil || isSMTPReply(err):
		n.relayReached()
	}
}

// commit records the outcomes of done in one transaction; the caller
// counts them (count) once it returns. A store that
// fails is retried: giving up would send these messages again. Only at
// shutdown, after one last try, are the marks given up (and the messages
// will be sent again after the restart, with the same Message-IDs).
func (n *Notifier) commit(ctx context.Context, done []*job) {
	defer func() {
		for _, j := range done {
			close(j.committed)
		}
	}()
	update := context.WithoutCancel(ctx)
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 30*time.Second) {
		err := n.o.Store.Update(update, func(tx store.Tx) error {
			for _, j := range done {
				if err := n.record(tx, j); err != nil {
					return fmt.Errorf("notification %d: %w", j.row.ID, err)
				}
			}
			return nil
		})
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			for _, j := range done {
				j.lost = true
			}
			n.log.Error("outcomes not recorded at shutdown; these rows will be sent again", "rows", len(done), "err", err)
			return
		}
		n.log.Error("cannot record outbox outcomes; retrying", "rows", len(done), "retry_in", delay, "err", err)
		sleepCtx(ctx, delay) // cut short at shutdown: one last try, then give up
	}
}

// sleepCtx waits for d or the end of ctx.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
