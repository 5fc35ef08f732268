package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"complaintbot/store"
)

// Action is the JSON body of POST /api/complaints/{number}/actions: one
// staff action (the router's Action; see router/action.go for the kinds).
//
// The bearer token authenticates a trusted client (the CLI, a bridge), not
// a person: the client acts on behalf of the staff member named in Actor,
// and the router refuses an Actor that is not a configured staff id. Give
// the token only to clients trusted to name the right person.
type Action struct {
	// Number is taken from the path; when the body has one it must agree.
	Number      string            `json:"number,omitempty"`
	Actor       string            `json:"actor"`
	Kind        string            `json:"kind"`
	Text        string            `json:"text,omitempty"`
	To          string            `json:"to,omitempty"`
	Resolution  *store.Resolution `json:"resolution,omitempty"`
	DuplicateOf string            `json:"duplicate_of,omitempty"`
}

// Actor performs staff actions. cmd adapts the router to it (api does not
// import router) and marks refusals with Refuse.
type Actor interface {
	Act(ctx context.Context, a Action) (*store.Complaint, error)
}

// Refusal is an action the Actor refused, with the HTTP status that says
// why: 400 a malformed or incomplete action, 403 an actor who may not,
// 404 no such complaint, 409 the complaint's state does not allow it.
type Refusal struct {
	Status int
	Err    error
}

func (r *Refusal) Error() string { return r.Err.Error() }
func (r *Refusal) Unwrap() error { return r.Err }

// Refuse wraps err as a refusal answered with status.
func Refuse(status int, err error) error { return &Refusal{Status: status, Err: err} }

// maxActionBody bounds the JSON of one action.
const maxActionBody = 1 << 20

// postAction serves POST /api/complaints/{number}/actions: the complaint
// as it is after the action, or a JSON error.
func (s *server) postAction(w http.ResponseWriter, r *http.Request) {
	if s.actor == nil {
		writeError(w, http.StatusServiceUnavailable, "staff actions are not available")
		return
	}
	a, err := decodeAction(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	c, err := s.actor.Act(r.Context(), a)
	var refusal *Refusal
	switch {
	case errors.As(err, &refusal):
		s.log.Info("api: staff action refused", "kind", a.Kind, "complaint", a.Number, "actor", a.Actor, "status", refusal.Status, "err", err)
		writeError(w, refusal.Status, err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no complaint "+a.Number)
	case err != nil:
		s.internalError(w, r, err)
	default:
		s.log.Info("api: staff action", "kind", a.Kind, "complaint", a.Number, "actor", a.Actor, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusOK, c)
	}
}

// postOnly answers any other method on the actions path.
func postOnly(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", "POST")
	writeError(w, http.StatusMethodNotAllowed, "method not allowed")
}

func decodeAction(r *http.Request) (Action, error) {
	var a Action
	dec := json.NewDecoder(io.LimitReader(r.Body, maxActionBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, fmt.Errorf("body is not an action: %v", err)
	}
	number := strings.ToUpper(strings.TrimSpace(r.PathValue("number")))
	if a.Number != "" && !strings.EqualFold(strings.TrimSpace(a.Number), number) {
		return a, fmt.Errorf("body names complaint %q, the path %q", a.Number, number)
	}
	a.Number = number
	if strings.TrimSpace(a.Actor) == "" {
		return a, errors.New("actor (a staff id) is required")
	}
	return a, nil
}
