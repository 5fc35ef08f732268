// Package api is complaintbot's HTTP face: GET /healthz, GET /metrics and a
// read-only JSON API under /api/ (complaints, messages, export), plus the
// export itself (Export) and its client (ExportVia) used by the CLI.
//
// Invariants:
//   - Every /api/ request is authenticated before any routing or store
//     access, so an unauthenticated caller learns nothing, not even which
//     paths exist. With no token configured /api/ refuses everything (503).
//     The bearer token is compared in constant time over SHA-256 digests
//     (neither its content nor its length leaks through timing) and is never
//     logged, echoed or put in an error.
//   - The API reads the store only in View transactions. Its one write,
//     POST /api/complaints/{number}/actions, goes through Options.Actor
//     (the router), never to the store directly.
//   - No store transaction is open while a client is being written to: pages
//     (bounded by limit) are built in memory first, and exports are written
//     in chunks between short transactions, so a slow client cannot hold up
//     the daemon's writers (bbolt has to wait for open readers before it can
//     grow its memory map).
//   - Attachment bytes never leave through the API or the export, only their
//     metadata. Raw bytes of quarantined mail leave only in the JSONL export.
//   - Errors are JSON {"error": "..."}; store failures are logged and the
//     client gets "internal error".
//
// /healthz and /metrics need no token. They are meant for the local
// supervisor and Prometheus: the daemon listens on loopback by default, and a
// deployer who binds elsewhere must restrict who reaches them (firewall or a
// reverse proxy).
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"complaintbot/store"
)

// Options configures New. A zero field takes its default; Store is required.
type Options struct {
	Store store.Store
	// Token is the bearer token for /api/. Empty: /api/ answers 503.
	Token string
	// Gatherer serves /metrics. Nil: prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Health reports the daemon's parts (ingest sources, notifier) for
	// /healthz. Nil: only the store is checked.
	Health func() []Check
	// Logger receives request failures. Nil: discard.
	Logger *slog.Logger
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Actor performs staff actions (POST .../actions). Nil: they answer 503.
	Actor Actor
}

// Check is one part's state on /healthz. Detail is any JSON-encodable value,
// e.g. an ingest.Health.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail any    `json:"detail,omitempty"`
}

// healthReport is the /healthz body.
type healthReport struct {
	OK     bool      `json:"ok"`
	Time   time.Time `json:"time"`
	Checks []Check   `json:"checks"`
}

// storeCheckTimeout bounds the store probe of /healthz.
const storeCheckTimeout = 2 * time.Second

type server struct {
	st       store.Store
	hasToken bool
	tokenSum [sha256.Size]byte
	health   func() []Check
	log      *slog.Logger
	now      func() time.Time
	actor    Actor
}

// New returns the handler for /healthz, /metrics and /api/. It panics if
// o.Store is nil (a wiring bug, not a runtime condition).
//
// The caller's http.Server should set ReadHeaderTimeout but no WriteTimeout
// (or a generous one): /api/export streams for as long as the export takes.
func New(o Options) http.Handler {
	if o.Store == nil {
		panic("api: Options.Store is nil")
	}
	s := &server{
		st:       o.Store,
		hasToken: o.Token != "",
		tokenSum: sha256.Sum256([]byte(o.Token)),
		health:   o.Health,
		log:      o.Logger,
		now:      o.Now,
		actor:    o.Actor,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	gatherer := o.Gatherer
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.Handle("/api/", s.authenticate(s.apiRoutes()))
	return mux
}

func (s *server) apiRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/complaints", s.listComplaints)
	mux.HandleFunc("GET /api/complaints/{number}", s.getComplaint)
	mux.HandleFunc("GET /api/messages", s.listMessages)
	mux.HandleFunc("GET /api/export", s.export)
	mux.HandleFunc("POST /api/complaints/{number}/actions", s.postAction)
	mux.HandleFunc("/api/complaints/{number}/actions", postOnly)
	mux.HandleFunc("GET /api/funnel", s.funnel)
	mux.HandleFunc("GET /api/proposals", s.proposals)
	mux.HandleFunc("/api/", s.noRoute)
	return mux
}

func (s *server) noRoute(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	writeError(w, http.StatusNotFound, "not found")
}

// authenticate lets a request through only with the right bearer token
// (RFC 6750 section 2.1).
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !s.hasToken {
			writeError(w, http.StatusServiceUnavailable, "API token not configured")
			return
		}
		given, present := bearerToken(r.Header.Get("Authorization"))
		givenSum := sha256.Sum256([]byte(given))
		if present && subtle.ConstantTimeCompare(givenSum[:], s.tokenSum[:]) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		s.refuse(w, r, present)
	})
}

// refuse answers 401; per RFC 6750 section 3 a wrong token is flagged
// invalid_token, a missing one gets the bare challenge.
func (s *server) refuse(w http.ResponseWriter, r *http.Request, tokenGiven bool) {
	challenge := `Bearer realm="complaintbot"`
	reason := "missing bearer token"
	if tokenGiven {
		challenge += `, error="invalid_token"`
		reason = "invalid bearer token"
	}
	s.log.Warn("api: request refused", "reason", reason,
		"method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
	w.Header().Set("WWW-Authenticate", challenge)
	writeError(w, http.StatusUnauthorized, reason)
}

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 9110 section 11.1).
func bearerToken(header string) (string, bool) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	report := healthReport{OK: true, Time: s.now().UTC(), Checks: []Check{s.storeCheck(r)}}
	if s.health != nil {
		report.Checks = append(report.Checks, s.health()...)
	}
	for _, c := range report.Checks {
		report.OK = report.OK && c.OK
	}
	status := http.StatusOK
	if !report.OK {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, report)
}

// storeCheck opens a read transaction: it fails when the store is closed or
// wedged.
func (s *server) storeCheck(r *http.Request) Check {
	ctx, cancel := context.WithTimeout(r.Context(), storeCheckTimeout)
	defer cancel()
	err := s.st.View(ctx, func(store.Tx) error { return nil })
	if err != nil {
		s.log.Error("api: health: store", "err", err)
		return Check{Name: "store", OK: false, Detail: err.Error()}
	}
	return Check{Name: "store", OK: true}
}

// writeJSON encodes v whole before sending, so an encoding failure can still
// become a 500.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// internalError logs err and tells the client only that something failed.
func (s *server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("api: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}
