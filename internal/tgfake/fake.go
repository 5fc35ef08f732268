// Package tgfake is an in-process fake of the Telegram Bot API, served by
// net/http/httptest on 127.0.0.1, for tests and the demo.
//
// It behaves like the real API where a client can tell the difference:
//   - Methods are served at /bot<token>/<method> (names case-insensitive),
//     with parameters in the query string, a form, a multipart form or a
//     JSON body; files download from /file/bot<token>/<file_path>.
//   - Every answer is {"ok":true,"result":…} or Telegram's error object
//     {"ok":false,"error_code":N,"description":"…"} with the same HTTP status,
//     and "parameters":{"retry_after":N} on 429.
//   - getUpdates long-polls: it holds until an update at or above offset
//     exists or timeout seconds pass. An offset confirms every update below
//     it: those are forgotten and never returned again. A second getUpdates
//     ends a waiting one with 409 Conflict, as Telegram does.
//   - Sending is rate limited per chat and overall with token buckets; a
//     request over the limit gets 429 with retry_after and is not recorded.
//   - HTML parse mode is checked the way Telegram checks it: an unknown tag,
//     a tag left open or a bare '<' or '&' is a 400 "can't parse entities".
//
// The test side pushes updates (PushText, PushCommand, PushPhoto, …),
// reads what the bot sent (Sent), and arranges failures (Block, FailNext).
// All methods are safe for concurrent use.
package tgfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. Zero fields mean the defaults given.
type Options struct {
	// Token is the one token accepted; default "123456789:TEST-fake-token".
	// Its part before the colon is the bot's user id.
	Token string
	// BotUsername is the bot's @username; default "complaint_test_bot".
	BotUsername string
	// PerChatRate and PerChatBurst limit messages sent to one chat;
	// defaults 1/s with a burst of 3 (Telegram asks for about one per
	// second per chat and tolerates short bursts).
	PerChatRate  float64
	PerChatBurst int
	// GlobalRate and GlobalBurst limit all messages sent; defaults 30/s
	// and 30.
	GlobalRate  float64
	GlobalBurst int
	// NoRateLimit turns the limiters off (benchmarks of other parts).
	NoRateLimit bool
	// MaxDownload is the largest file getFile serves; default 20 MiB, the
	// Bot API's limit. Larger files get 400 "file is too big".
	MaxDownload int64
	// FirstUpdateID is the id of the first update; default 500000001
	// (real ids are large, which catches offset arithmetic on small ints).
	FirstUpdateID int64
	// Now is the clock for dates and the limiters; default time.Now.
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if o.Token == "" {
		o.Token = "123456789:TEST-fake-token"
	}
	if o.BotUsername == "" {
		o.BotUsername = "complaint_test_bot"
	}
	if o.PerChatRate <= 0 {
		o.PerChatRate = 1
	}
	if o.PerChatBurst <= 0 {
		o.PerChatBurst = 3
	}
	if o.GlobalRate <= 0 {
		o.GlobalRate = 30
	}
	if o.GlobalBurst <= 0 {
		o.GlobalBurst = 30
	}
	if o.MaxDownload <= 0 {
		o.MaxDownload = 20 << 20
	}
	if o.FirstUpdateID <= 0 {
		o.FirstUpdateID = 500000001
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Server is a running fake. Close it when done.
type Server struct {
	o     Options
	botID int64
	srv   *httptest.Server

	mu       sync.Mutex
	updates  []update // not yet confirmed, in id order
	nextID   int64
	arrived  chan struct{} // closed and replaced when an update is pushed
	poll     chan struct{} // closed when a newer getUpdates takes over
	users    map[int64]User
	chats    map[int64]*chat
	files    map[string]*file // by file_id
	paths    map[string]*file // by file_path
	fileSeq  int
	queries  map[string]*callbackQuery
	querySeq int
	answers  []CallbackAnswer
	failures map[string][]failure // by lower-cased method
	calls    map[string]int       // by lower-cased method
	limited  int                  // 429s given by the limiters
	perChat  map[int64]*bucket
	global   *bucket
}

// New starts a fake on a loopback port.
func New(o Options) *Server {
	o.setDefaults()
	id, _ := strconv.ParseInt(strings.SplitN(o.Token, ":", 2)[0], 10, 64)
	s := &Server{
		o:        o,
		botID:    id,
		nextID:   o.FirstUpdateID,
		arrived:  make(chan struct{}),
		users:    map[int64]User{},
		chats:    map[int64]*chat{},
		files:    map[string]*file{},
		paths:    map[string]*file{},
		queries:  map[string]*callbackQuery{},
		failures: map[string][]failure{},
		calls:    map[string]int{},
		perChat:  map[int64]*bucket{},
		global:   newBucket(o.GlobalRate, o.GlobalBurst),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// Close stops the server; waiting long polls end.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// URL is the server's base URL, "http://127.0.0.1:port".
func (s *Server) URL() string { return s.srv.URL }

// APIEndpoint is the method endpoint in telegram-bot-api's format
// ("…/bot%s/%s": token, method).
func (s *Server) APIEndpoint() string { return s.srv.URL + "/bot%s/%s" }

// FileEndpoint is the download endpoint in the same format (token, path).
func (s *Server) FileEndpoint() string { return s.srv.URL + "/file/bot%s/%s" }

// Token is the token the server accepts.
func (s *Server) Token() string { return s.o.Token }

// BotID is the bot's own user id.
func (s *Server) BotID() int64 { return s.botID }

// Client is an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// apiError is an error answer in Telegram's format.
type apiError struct {
	code       int
	desc       string
	retryAfter int
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.code, e.desc) }

func badRequest(format string, args ...any) *apiError {
	return &apiError{code: 400, desc: "Bad Request: " + fmt.Sprintf(format, args...)}
}

func tooMany(retryAfter int) *apiError {
	return &apiError{code: 429, desc: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter), retryAfter: retryAfter}
}

var (
	errUnauthorized = &apiError{code: 401, desc: "Unauthorized"}
	errNotFound     = &apiError{code: 404, desc: "Not Found"}
	errBlocked      = &apiError{code: 403, desc: "Forbidden: bot was blocked by the user"}
	errConflict     = &apiError{code: 409, desc: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
)

// response is the envelope of every answer.
type response struct {
	OK          bool            `json:"ok"`
	Result      any             `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  *responseParams `json:"parameters,omitempty"`
}

type responseParams struct {
	RetryAfter int `json:"retry_after,omitempty"`
}

func writeResult(w http.ResponseWriter, result any) {
	writeJSON(w, http.StatusOK, response{OK: true, Result: result})
}

func writeError(w http.ResponseWriter, e *apiError) {
	r := response{ErrorCode: e.code, Description: e.desc}
	if e.retryAfter > 0 {
		r.Parameters = &responseParams{RetryAfter: e.retryAfter}
	}
	writeJSON(w, e.code, r)
}

// writeJSON writes v with no trailing newline, as Telegram does: a client
// that decodes one JSON value and closes the body (telegram-bot-api does)
// then has read it all, and its connection is reused.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, status = []byte(`{"ok":false,"error_code":500,"description":"Internal Server Error"}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// handler serves one method with its parameters.
type handler func(r *http.Request, p params) (any, *apiError)

func (s *Server) handlers() map[string]handler {
	return map[string]handler{
		"getme":                  s.getMe,
		"getupdates":             s.getUpdates,
		"sendmessage":            s.sendMessage,
		"senddocument":           s.sendDocument,
		"sendphoto":              s.sendPhoto,
		"answercallbackquery":    s.answerCallbackQuery,
		"editmessagereplymarkup": s.editMessageReplyMarkup,
		"getfile":                s.getFile,
		"deletewebhook":          func(*http.Request, params) (any, *apiError) { return true, nil },
		"setmycommands":          func(*http.Request, params) (any, *apiError) { return true, nil },
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"); ok {
		s.serveFile(w, rest)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		writeError(w, errNotFound)
		return
	}
	if token != s.o.Token {
		writeError(w, errUnauthorized)
		return
	}
	method = strings.ToLower(method)
	h, ok := s.handlers()[method]
	if !ok {
		writeError(w, errNotFound)
		return
	}
	if e := s.injected(method); e != nil {
		writeError(w, e)
		return
	}
	p, err := parseParams(r)
	if err != nil {
		writeError(w, badRequest("%v", err))
		return
	}
	result, e := h(r, p)
	if e != nil {
		writeError(w, e)
		return
	}
	writeResult(w, result)
}

// failure is an error FailNext arranged for a method.
type failure struct {
	code       int
	retryAfter int
}

// FailNext makes the next call of method (e.g. "sendMessage") fail with
// code, before the call has any effect. retryAfter is sent with 429 (and
// with any code when positive). Calls queue: FailNext twice fails two calls.
func (s *Server) FailNext(method string, code, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := strings.ToLower(method)
	s.failures[m] = append(s.failures[m], failure{code: code, retryAfter: retryAfter})
}

// injected counts the call and returns the arranged failure, if any.
func (s *Server) injected(method string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
	q := s.failures[method]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	s.failures[method] = q[1:]
	return failureError(f)
}

func failureError(f failure) *apiError {
	e := &apiError{code: f.code, retryAfter: f.retryAfter}
	switch f.code {
	case 400:
		e.desc = "Bad Request: injected failure"
	case 401:
		e.desc = errUnauthorized.desc
	case 403:
		e.desc = errBlocked.desc
	case 409:
		e.desc = errConflict.desc
	case 429:
		e.retryAfter = max(f.retryAfter, 1)
		e.desc = fmt.Sprintf("Too Many Requests: retry after %d", e.retryAfter)
	case 502:
		e.desc = "Bad Gateway"
	default:
		e.desc = http.StatusText(f.code)
	}
	return e
}

// Calls is how many times method was called (whatever the outcome).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[strings.ToLower(method)]
}

// RateLimited is how many requests the rate limiters refused with 429.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited
}

func (s *Server) getMe(*http.Request, params) (any, *apiError) {
	return map[string]any{
		"id": s.botID, "is_bot": true, "first_name": "Complaint bot", "username": s.o.BotUsername,
		"can_join_groups": false, "can_read_all_group_messages": false, "supports_inline_queries": false,
	}, nil
}
