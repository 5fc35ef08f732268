package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/prometheus/client_golang/prometheus"

	"complaintbot/store"
)

// TelegramOptions configure a TelegramSource. Zero fields mean the
// defaults named.
type TelegramOptions struct {
	// Name is the source name: the cursor key and store.Message.Source.
	// Default "telegram:<bot id>" (the part of the token before the colon;
	// update ids belong to one bot).
	Name  string
	Token string // required
	// APIEndpoint is the method URL in telegram-bot-api's format, with %s
	// for the token and the method; default tgbotapi.APIEndpoint.
	APIEndpoint string
	// FileEndpoint is the download URL (%s token, %s file path); default
	// APIEndpoint with "/bot%s/" turned into "/file/bot%s/".
	FileEndpoint string
	// Client makes the HTTP requests; default a plain http.Client (every
	// request has its own deadline).
	Client *http.Client

	// PollTimeout is how long one getUpdates waits for an update (the
	// long-poll timeout, whole seconds); default 50s.
	PollTimeout time.Duration
	// RequestTimeout bounds the other calls and is added to PollTimeout
	// for getUpdates; default 30s.
	RequestTimeout time.Duration
	// DownloadTimeout bounds one file download; default 2 min.
	DownloadTimeout time.Duration
	// IdleDelay is the pause after a getUpdates that returned nothing new
	// well before its timeout (an API that does not long-poll), so the
	// loop does not spin; default 1s.
	IdleDelay time.Duration
	// Limit is the most updates asked for at once; default 100 (the API's
	// maximum).
	Limit int
	// AllowedUpdates is sent as allowed_updates when set; nil keeps the
	// bot's previous setting.
	AllowedUpdates []string
	// MaxAttachmentBytes is the largest file downloaded and kept; default
	// 10 MiB, as for email. Larger ones are recorded with Kept false.
	MaxAttachmentBytes int64
	// MaxBatchBytes ends a batch early once its files add up to this, so
	// memory stays bounded; the rest come with the next getUpdates.
	// Default 32 MiB.
	MaxBatchBytes int64
	// MaxDownloadFailures is how many temporary failures one file may
	// cause before its message is recorded without it; default 5.
	MaxDownloadFailures int
	// NoCallbackAnswer leaves button presses unanswered; by default each is
	// answered (with no text) once committed, so the user's button stops
	// spinning. Anything to tell the user goes through the outbox.
	NoCallbackAnswer bool

	Store store.Store // required: the starting offset is read from it
	Sink  Sink        // required: commits each batch with its cursor

	Logger *slog.Logger     // default slog.Default()
	Now    func() time.Time // default time.Now

	BackoffMin time.Duration // first retry delay ceiling; default 1s
	BackoffMax time.Duration // cap; default 2 min
	// FailingAfter is how long failures must last before they are logged
	// at Warn. Health is not OK from the first failure. Default 1 min.
	FailingAfter time.Duration

	// Registerer, when set, receives the source's metrics (labelled with
	// source=Name).
	Registerer prometheus.Registerer
}

func (o *TelegramOptions) setDefaults() {
	o.Name = cmpOr(o.Name, "telegram:"+botIDOf(o.Token))
	o.APIEndpoint = cmpOr(o.APIEndpoint, tgbotapi.APIEndpoint)
	o.FileEndpoint = cmpOr(o.FileEndpoint, strings.Replace(o.APIEndpoint, "/bot%s/", "/file/bot%s/", 1))
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	o.PollTimeout = cmpOr(o.PollTimeout, 50*time.Second)
	o.RequestTimeout = cmpOr(o.RequestTimeout, 30*time.Second)
	o.DownloadTimeout = cmpOr(o.DownloadTimeout, 2*time.Minute)
	o.IdleDelay = cmpOr(o.IdleDelay, time.Second)
	o.Limit = cmpOr(o.Limit, 100)
	o.MaxAttachmentBytes = cmpOr(o.MaxAttachmentBytes, 10<<20)
	o.MaxBatchBytes = cmpOr(o.MaxBatchBytes, 32<<20)
	o.MaxDownloadFailures = cmpOr(o.MaxDownloadFailures, 5)
	o.BackoffMin = cmpOr(o.BackoffMin, time.Second)
	o.BackoffMax = cmpOr(o.BackoffMax, 2*time.Minute)
	o.FailingAfter = cmpOr(o.FailingAfter, time.Minute)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// botIDOf is the bot's id, the token's part before the colon; it is not
// secret. A token without one gives "bot".
func botIDOf(token string) string {
	id, _, ok := strings.Cut(token, ":")
	if !ok || id == "" {
		return "bot"
	}
	return id
}

func (o *TelegramOptions) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Token == "" {
		add("telegram %s: a bot token is required", o.Name)
	}
	if strings.Count(o.APIEndpoint, "%s") != 2 || strings.Count(o.FileEndpoint, "%s") != 2 {
		add("telegram %s: endpoints need two %%s (token, method or path)", o.Name)
	}
	if o.Limit < 1 || o.Limit > 100 {
		add("telegram %s: limit %d: want 1..100", o.Name, o.Limit)
	}
	if o.PollTimeout < 0 || o.BackoffMin < 0 || o.BackoffMax < o.BackoffMin || o.MaxAttachmentBytes < 0 {
		add("telegram %s: durations and sizes must be positive and backoff min <= max", o.Name)
	}
	if o.Store == nil {
		add("telegram %s: a store is required", o.Name)
	}
	if o.Sink == nil {
		add("telegram %s: a sink is required", o.Name)
	}
	return errors.Join(errs...)
}

// TelegramSource reads a bot's updates by long polling. It implements
// Source.
//
// Run reads the offset from the store cursor, asks getUpdates for what is
// at or above it, turns each update into a store.Message (downloading its
// files), and hands them to the Sink with the cursor Offset = last
// update_id + 1. Only after the Sink committed does the next getUpdates go
// out with that offset, and only that confirms the updates to Telegram: a
// crash before the commit gets the same updates again, a crash after it
// resumes past them. Errors are retried after a capped, jittered
// exponential delay (or the retry_after Telegram asks for).
type TelegramSource struct {
	o       TelegramOptions
	log     *slog.Logger
	metrics telegramMetrics
	running atomic.Bool
	// fileFailures counts temporary download failures per file (Run's
	// goroutine only).
	fileFailures map[string]int

	health *healthState
}

var _ Source = (*TelegramSource)(nil)

// NewTelegramSource checks o and makes the worker; it does not connect.
func NewTelegramSource(o TelegramOptions) (*TelegramSource, error) {
	o.setDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	m, err := newTelegramMetrics(o.Registerer, o.Name)
	if err != nil {
		return nil, fmt.Errorf("telegram %s: metrics: %w", o.Name, err)
	}
	return &TelegramSource{
		o:            o,
		log:          o.Logger.With("source", o.Name),
		metrics:      m,
		fileFailures: map[string]int{},
		health:       newHealthState(o.Name),
	}, nil
}

// Name returns the source name (the cursor key).
func (s *TelegramSource) Name() string { return s.o.Name }

// Health returns the current state; safe for concurrent use.
func (s *TelegramSource) Health() Health { return s.health.get() }

// Run works until ctx ends and then returns nil. It returns an error only
// when it is already running.
func (s *TelegramSource) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return fmt.Errorf("telegram %s: already running", s.o.Name)
	}
	defer s.running.Store(false)
	runWorker(ctx, newBackoff(s.o.BackoffMin, s.o.BackoffMax), worker{
		session: s.session,
		delay:   s.retryDelay,
		failed:  s.fail,
		retried: s.metrics.retries.Inc,
	})
	return nil
}

// retryDelay is Telegram's retry_after for a 429, else the next backoff.
func (s *TelegramSource) retryDelay(err error, bo *backoff) time.Duration {
	if after, ok := retryAfter(err); ok {
		return after
	}
	return bo.next()
}

// retryAfter reads parameters.retry_after of a 429 answer.
func retryAfter(err error) (time.Duration, bool) {
	var e *tgbotapi.Error
	if errors.As(err, &e) && e.Code == http.StatusTooManyRequests && e.RetryAfter > 0 {
		return time.Duration(e.RetryAfter) * time.Second, true
	}
	return 0, false
}

// session checks the token (getMe), then polls and delivers until an
// error; it always returns one. synced is called after each successful
// getUpdates.
func (s *TelegramSource) session(ctx context.Context, synced func()) error {
	bot, err := s.connect(ctx)
	if err != nil {
		return err
	}
	cur, err := readCursor(ctx, s.o.Store, s.o.Name)
	if err != nil {
		return err
	}
	offset := cur.Offset
	for {
		start := s.o.Now()
		raws, err := s.getUpdates(ctx, bot, offset)
		if err != nil {
			return err
		}
		s.succeed()
		synced()
		ups := s.parse(raws, offset)
		if len(ups) == 0 {
			s.idle(ctx, start)
			continue
		}
		if offset, err = s.process(ctx, bot, ups, offset); err != nil {
			return err
		}
	}
}

// idle pauses when an empty answer came back well before the long-poll
// timeout: an API (or emulator) that does not hold the request.
func (s *TelegramSource) idle(ctx context.Context, start time.Time) {
	if s.o.Now().Sub(start) < s.o.PollTimeout/2 {
		sleepCtx(ctx, s.o.IdleDelay)
	}
}

// connect makes the client; the library checks the token with getMe.
func (s *TelegramSource) connect(ctx context.Context) (*tgbotapi.BotAPI, error) {
	cctx, cancel := context.WithTimeout(ctx, s.o.RequestTimeout)
	defer cancel()
	bot, err := tgbotapi.NewBotAPIWithClient(s.o.Token, s.o.APIEndpoint, ctxClient{ctx: cctx, c: s.o.Client})
	if err != nil {
		return nil, s.apiError("getMe", err)
	}
	bot.Client = s.o.Client
	s.log.Debug("telegram bot connected", "bot", bot.Self.UserName)
	return bot, nil
}

// apiError wraps err from method, names the well-known causes, and keeps
// the token out of the text (net/http errors quote the URL).
func (s *TelegramSource) apiError(method string, err error) error {
	var e *tgbotapi.Error
	if errors.As(err, &e) {
		switch e.Code {
		case http.StatusUnauthorized:
			err = fmt.Errorf("telegram rejected the bot token (401 Unauthorized); check the configured token: %w", err)
		case http.StatusConflict:
			err = fmt.Errorf("another client is polling with this token, or a webhook is set (409): %w", err)
		}
	}
	return s.redact(method, err)
}

// redactedError is an error whose text had the token removed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// call makes one API request bounded by timeout and ctx.
func (s *TelegramSource) call(ctx context.Context, bot *tgbotapi.BotAPI, method string, p tgbotapi.Params, timeout time.Duration) (*tgbotapi.APIResponse, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b := *bot // a copy per call, carrying this call's context
	b.Client = ctxClient{ctx: cctx, c: s.o.Client}
	resp, err := b.MakeRequest(method, p)
	if err != nil {
		return nil, s.apiError(method, err)
	}
	return resp, nil
}

// ctxClient puts a context on requests telegram-bot-api makes without one,
// so shutdown and deadlines reach a long poll in progress.
type ctxClient struct {
	ctx context.Context
	c   *http.Client
}

func (c ctxClient) Do(req *http.Request) (*http.Response, error) {
	return c.c.Do(req.WithContext(c.ctx))
}

// getUpdates long-polls for the updates at or above offset.
func (s *TelegramSource) getUpdates(ctx context.Context, bot *tgbotapi.BotAPI, offset int64) ([]json.RawMessage, error) {
	p := tgbotapi.Params{}
	p.AddNonZero64("offset", offset)
	p.AddNonZero("limit", s.o.Limit)
	p.AddNonZero("timeout", int(math.Ceil(s.o.PollTimeout.Seconds())))
	if s.o.AllowedUpdates != nil {
		if err := p.AddInterface("allowed_updates", s.o.AllowedUpdates); err != nil {
			return nil, err
		}
	}
	resp, err := s.call(ctx, bot, "getUpdates", p, s.o.PollTimeout+s.o.RequestTimeout)
	if err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(resp.Result, &raws); err != nil {
		return nil, fmt.Errorf("getUpdates: result is not a list: %w", err)
	}
	return raws, nil
}

// parse normalises the updates, skipping those below offset: they are
// committed already, and an API that ignores offset sends them again.
func (s *TelegramSource) parse(raws []json.RawMessage, offset int64) []parsedUpdate {
	var out []parsedUpdate
	for _, raw := range raws {
		p := s.parseSafely(raw)
		if p.id >= 0 && p.id < offset {
			continue
		}
		out = append(out, p)
	}
	return out
}

// parseSafely is safeParseUpdate with a panic logged and counted.
func (s *TelegramSource) parseSafely(raw []byte) parsedUpdate {
	p, panicked := safeParseUpdate(raw, s.o.Now)
	if panicked != nil {
		s.metrics.panics.Inc()
		s.log.Error("telegram update normaliser panicked; update quarantined", "panic", panicked)
	}
	return p
}

// process downloads the files of ups, delivers them with the cursor past
// the last one, and answers their button presses. A batch whose files add
// up to MaxBatchBytes ends early; the rest is fetched again. It returns the
// new offset.
func (s *TelegramSource) process(ctx context.Context, bot *tgbotapi.BotAPI, ups []parsedUpdate, offset int64) (int64, error) {
	var msgs []*store.Message
	var callbacks []string
	next, bytes := offset, int64(0)
	for _, u := range ups {
		if bytes >= s.o.MaxBatchBytes && len(msgs) > 0 {
			break
		}
		n, err := s.attach(ctx, bot, u)
		if err != nil {
			return offset, err
		}
		bytes += n
		u.msg.Source = s.o.Name
		msgs = append(msgs, u.msg)
		next = max(next, u.id+1)
		if u.callbackID != "" {
			callbacks = append(callbacks, u.callbackID)
		}
	}
	if next <= offset {
		return offset, errors.New("getUpdates returned no update with a usable update_id")
	}
	if err := s.deliver(ctx, msgs, next); err != nil {
		return offset, err
	}
	s.answerCallbacks(ctx, bot, callbacks)
	return next, nil
}

// deliver hands one batch and its cursor to the Sink. A batch that has
// started is committed even if ctx ends meanwhile.
func (s *TelegramSource) deliver(ctx context.Context, msgs []*store.Message, next int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.o.Now()
	b := store.Batch{Source: s.o.Name, Messages: msgs, Cursor: store.Cursor{Source: s.o.Name, Offset: next, UpdatedAt: now}}
	if err := s.o.Sink.Deliver(context.WithoutCancel(ctx), b); err != nil {
		return fmt.Errorf("deliver updates below %d: %w", next, err)
	}
	s.metrics.delivered(len(msgs), now.Sub(msgs[len(msgs)-1].Date))
	return nil
}

// answerCallbacks stops the buttons' spinners, with the Sink's text for
// the press when it has one (CallbackAnswerer). A failure is logged only:
// the press is recorded, and Telegram stops the spinner by itself later.
func (s *TelegramSource) answerCallbacks(ctx context.Context, bot *tgbotapi.BotAPI, ids []string) {
	if s.o.NoCallbackAnswer {
		return
	}
	answerer, _ := s.o.Sink.(CallbackAnswerer)
	for _, id := range ids {
		p := tgbotapi.Params{"callback_query_id": id}
		if answerer != nil {
			if text, alert := answerer.CallbackAnswer(id); text != "" {
				p["text"] = text
				if alert {
					p["show_alert"] = "true"
				}
			}
		}
		if _, err := s.call(ctx, bot, "answerCallbackQuery", p, s.o.RequestTimeout); err != nil && ctx.Err() == nil {
			s.log.Info("cannot answer a button press", "callback", id, "err", err)
		}
	}
}

// fail records a failed session in Health and the log.
func (s *TelegramSource) fail(err error, retryIn time.Duration) {
	sp := s.health.failed(err, s.o.Now(), s.o.FailingAfter)
	failures := sp.failures
	s.metrics.errors.Inc()
	var e *tgbotapi.Error
	switch {
	case errors.As(err, &e) && e.Code == http.StatusUnauthorized:
		s.log.Error("telegram bot token rejected", "retry_in", retryIn, "failures", failures, "err", err)
	case sp.sustained:
		s.log.Warn("telegram source failing", "since", sp.since, "failures", failures, "err", err)
	default:
		s.log.Info("telegram polling failed; retrying", "retry_in", retryIn, "failures", failures, "err", err)
	}
}

// succeed records a successful getUpdates.
func (s *TelegramSource) succeed() {
	if failing, warned := s.health.succeeded(s.o.Now(), "long-poll"); failing || warned {
		s.log.Info("telegram source recovered")
	}
}

// telegramMetrics are one source's series.
type telegramMetrics struct {
	updates prometheus.Counter
	batches prometheus.Counter
	retries prometheus.Counter
	errors  prometheus.Counter
	panics  prometheus.Counter
	files   *prometheus.CounterVec // kept: "true" / "false"
	lag     prometheus.Gauge
}

func newTelegramMetrics(reg prometheus.Registerer, source string) (telegramMetrics, error) {
	labels := prometheus.Labels{"source": source}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "complaintbot", Subsystem: "ingest_telegram", Name: name, Help: help, ConstLabels: labels,
		})
	}
	m := telegramMetrics{
		updates: counter("updates_delivered_total", "Updates committed through the sink."),
		batches: counter("batches_delivered_total", "Batches committed through the sink."),
		retries: counter("retries_total", "Sessions started again after a failure."),
		errors:  counter("errors_total", "Failed sessions (API, network, download or sink errors)."),
		panics:  counter("normalizer_panics_total", "Updates quarantined because the normaliser panicked."),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "complaintbot", Subsystem: "ingest_telegram", Name: "files_total",
			Help: "Files of updates, by whether their bytes were kept.", ConstLabels: labels,
		}, []string{"kept"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "complaintbot", Subsystem: "ingest_telegram", Name: "lag_seconds",
			Help: "Commit time minus the date of the newest committed update.", ConstLabels: labels,
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.updates, m.batches, m.retries, m.errors, m.panics, m.files, m.lag} {
		if err := reg.Register(c); err != nil {
			return m, err
		}
	}
	return m, nil
}

func (m telegramMetrics) delivered(n int, lag time.Duration) {
	m.updates.Add(float64(n))
	m.batches.Inc()
	m.lag.Set(lag.Seconds())
}
