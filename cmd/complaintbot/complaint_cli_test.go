package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"complaintbot/cmd/complaintbot/api"
	"complaintbot/configs"
	"complaintbot/router"
	"complaintbot/store"
)

const cliToken = "cli-test-token"

// cliWorld is a router over a real store behind the real API handler.
type cliWorld struct {
	st     *store.Bolt
	r      *router.Router
	srv    *httptest.Server
	number string
}

func newCLIWorld(t *testing.T) *cliWorld {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "cb.db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := router.New(router.Options{Store: st, Secret: []byte("cli-test-secret-0123456789"), Workflow: &router.Workflow{Bonuses: []string{"coffee voucher"}},
		Assignment: &router.Assignment{
			Staff: []router.Staff{
				{ID: "anna", Name: "Anna", Email: "anna@acme.test", Teams: []string{"care"}, Languages: []string{"en"}},
				{ID: "rasa", Name: "Rasa", Email: "rasa@acme.test", Teams: []string{"care"}, Languages: []string{"en"}, Role: router.RoleHead},
			},
			Teams: []router.Team{{Name: "care", Head: "rasa"}}, DefaultOwner: "anna",
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Options{Store: st, Token: cliToken, Actor: routerActor{r}}))
	t.Cleanup(srv.Close)
	w := &cliWorld{st: st, r: r, srv: srv}
	w.deliver(t, inMail("ivan@example.com", "i1@example.com", "Broken kettle", "It leaks."))
	err = st.View(context.Background(), func(tx store.Tx) error {
		return tx.ForEachComplaint(func(c *store.Complaint) error { w.number = c.Number; return nil })
	})
	if err != nil || w.number == "" {
		t.Fatalf("no complaint: %v", err)
	}
	return w
}

func inMail(from, id, subject, text string) *store.Message {
	h := sha256.Sum256([]byte(from + id + subject + text))
	return &store.Message{Direction: store.DirectionIn, Channel: store.ChannelEmail, MessageID: id,
		From: store.Address{Email: from}, Subject: subject, Text: text, Status: store.StatusRecorded,
		ContentHash: hex.EncodeToString(h[:]), ReceivedAt: time.Now()}
}

func (w *cliWorld) deliver(t *testing.T, m *store.Message) {
	t.Helper()
	if err := w.r.Deliver(context.Background(), store.Batch{Source: "inbox", Messages: []*store.Message{m}}); err != nil {
		t.Fatal(err)
	}
}

// cli runs a complaint subcommand against the world's API.
func (w *cliWorld) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := runComplaintCLI(context.Background(), args, &out, func(string) (*apiClient, error) {
		return newAPIClient(w.srv.URL, cliToken), nil
	})
	return out.String(), err
}

func (w *cliWorld) mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := w.cli(t, args...)
	if err != nil {
		t.Fatalf("complaint %v: %v", args, err)
	}
	return out
}

func (w *cliWorld) events(t *testing.T) []*store.Event {
	t.Helper()
	var es []*store.Event
	err := w.st.View(context.Background(), func(tx store.Tx) error {
		c, err := tx.ComplaintByNumber(w.number)
		if err != nil {
			return err
		}
		es, err = tx.Events(c.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestComplaintCLIWorkflow(t *testing.T) {
	w := newCLIWorld(t)
	n := w.number
	if out := w.mustCLI(t, "list", "-owner", "anna"); !strings.Contains(out, n) || !strings.Contains(out, "Broken kettle") || !strings.Contains(out, "1 of 1") {
		t.Errorf("list:\n%s", out)
	}
	if out := w.mustCLI(t, "list", "-owner", "rasa"); strings.Contains(out, n) {
		t.Errorf("list -owner rasa shows anna's complaint:\n%s", out)
	}
	if out := w.mustCLI(t, "advance", strings.ToLower(n), "-as", "anna", "-text", "looking"); !strings.Contains(out, "stage analysis") {
		t.Errorf("advance: %s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"note", n, "-as", "ghost", "-text", "x"}, "403"},
		{[]string{"resolve", n, "-as", "anna", "-kind", "refund", "-amount", "20"}, "resolution.root_cause, resolution.prevention"},
		{[]string{"resolve", n, "-as", "anna", "-kind", "refund", "-amount", "500", "-root-cause", "seal", "-prevention", "test seals"}, "409"},
		{[]string{"note", n, "-text", "x"}, "-as STAFF_ID is required"},
		{[]string{"note", "C-2026-999999", "-as", "anna", "-text", "x"}, "404"},
		{[]string{"frobnicate", n}, "unknown subcommand"},
	} {
		if _, err := w.cli(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want it to say %q", tc.args, err, tc.want)
		}
	}
	w.mustCLI(t, "approve", n, "-as", "rasa", "-amount", "500", "-currency", "EUR")
	w.mustCLI(t, "reply", n, "-as", "anna", "-text", "We refund you.")
	if out := w.mustCLI(t, "resolve", n, "-as", "anna", "-kind", "refund", "-amount", "500", "-currency", "EUR",
		"-root-cause", "bad seal batch", "-prevention", "test every seal batch"); !strings.Contains(out, "stage resolved") {
		t.Errorf("resolve: %s", out)
	}
	show := w.mustCLI(t, "show", n)
	for _, want := range []string{"stage resolved", "root cause: bad seal batch", "prevention: test every seal batch",
		"approved up to 500 EUR by rasa (head)", "staff:anna", "reply_queued", "resolved"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	if out := w.mustCLI(t, "proposals"); !strings.Contains(out, "prevention: test every seal batch") || !strings.Contains(out, n) {
		t.Errorf("proposals:\n%s", out)
	}
	if out := w.mustCLI(t, "proposals", "-category", "nothing"); !strings.Contains(out, "0 proposal(s)") {
		t.Errorf("proposals -category nothing:\n%s", out)
	}
	funnel := w.mustCLI(t, "funnel")
	for _, want := range []string{"resolved", "total"} {
		if !strings.Contains(funnel, want) {
			t.Errorf("funnel lacks %q:\n%s", want, funnel)
		}
	}
	if out := w.mustCLI(t, "funnel", "-json"); !strings.Contains(out, `"resolved": 1`) {
		t.Errorf("funnel -json:\n%s", out)
	}
}

// TestSameNoteFromAPIAndEmail: a note through the API (the CLI) and the
// same note by email reply to the owner's notification give the same event.
func TestSameNoteFromAPIAndEmail(t *testing.T) {
	w := newCLIWorld(t)
	w.mustCLI(t, "note", w.number, "-as", "anna", "-text", "Called the customer.")
	es := w.events(t)
	byAPI := es[len(es)-1]
	var assignedID string
	err := w.st.View(context.Background(), func(tx store.Tx) error {
		return tx.ForEachNotification(func(n *store.Notification) error {
			if n.Kind == router.KindAssigned {
				assignedID = n.MessageID
			}
			return nil
		})
	})
	if err != nil || assignedID == "" {
		t.Fatalf("no assigned mail: %v", err)
	}
	m := inMail("anna@acme.test", "a1@acme.test", "Re: Complaint is yours", "Called the customer.")
	m.InReplyTo, m.References = []string{assignedID}, []string{assignedID}
	w.deliver(t, m)
	es = w.events(t)
	byMail := es[len(es)-1]
	if byMail.Kind != router.EventNote || byAPI.Kind != byMail.Kind || byAPI.Actor != byMail.Actor || byAPI.Text != byMail.Text || !reflect.DeepEqual(byAPI.Fields, byMail.Fields) {
		t.Errorf("by API %+v\nby mail %+v", byAPI, byMail)
	}
}

func TestRouterWorkflowFromConfig(t *testing.T) {
	w := routerWorkflow(configs.WorkflowActions{
		ResolutionKinds: []configs.ResolutionKind{{Name: "refund", Amount: true}, {Name: "voucher", Bonus: true}},
		Bonuses:         []string{"mug"},
		Handoffs:        []configs.Handoff{{Stage: "corrective_action", FromTeam: "sales", Team: "service", Owner: "rasa"}},
	})
	want := &router.Workflow{
		ResolutionKinds: []router.ResolutionKind{{Name: "refund", Amount: true}, {Name: "voucher", Bonus: true}},
		Bonuses:         []string{"mug"},
		Handoffs:        []router.Handoff{{Stage: "corrective_action", FromTeam: "sales", Team: "service", Owner: "rasa"}},
	}
	if !reflect.DeepEqual(w, want) {
		t.Errorf("got %+v", w)
	}
}
