package main

import (
	"context"
	"errors"
	"net/http"

	"complaintbot/cmd/complaintbot/api"
	"complaintbot/configs"
	"complaintbot/router"
	"complaintbot/store"
)

// routerActor lets the HTTP API perform staff actions through the router
// (api does not import router), marking each refusal with its status.
type routerActor struct{ r *router.Router }

func (a routerActor) Act(ctx context.Context, x api.Action) (*store.Complaint, error) {
	c, err := a.r.Act(ctx, router.Action{Number: x.Number, Actor: x.Actor, Kind: x.Kind, Text: x.Text,
		To: x.To, Resolution: x.Resolution, DuplicateOf: x.DuplicateOf})
	if err != nil {
		return nil, refusalStatus(err)
	}
	return c, nil
}

// refusalStatus maps the router's refusal classes to HTTP statuses;
// anything else (a store failure) is returned as it is.
func refusalStatus(err error) error {
	for _, m := range []struct {
		class  error
		status int
	}{
		{router.ErrUnknownActor, http.StatusForbidden},
		{router.ErrForbidden, http.StatusForbidden},
		{router.ErrInvalidAction, http.StatusBadRequest},
		{router.ErrNeedsApproval, http.StatusConflict},
		{router.ErrConflict, http.StatusConflict},
		{store.ErrNotFound, http.StatusNotFound},
	} {
		if errors.Is(err, m.class) {
			return api.Refuse(m.status, err)
		}
	}
	return err
}

// routerWorkflow turns the workflow section's staff-action keys into the
// router's Workflow.
func routerWorkflow(a configs.WorkflowActions) *router.Workflow {
	w := &router.Workflow{Bonuses: a.Bonuses}
	for _, k := range a.ResolutionKinds {
		w.ResolutionKinds = append(w.ResolutionKinds, router.ResolutionKind{Name: k.Name, Amount: k.Amount, Bonus: k.Bonus})
	}
	for _, h := range a.Handoffs {
		w.Handoffs = append(w.Handoffs, router.Handoff{Stage: h.Stage, FromTeam: h.FromTeam, Team: h.Team, Owner: h.Owner})
	}
	return w
}
