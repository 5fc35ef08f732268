package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"complaintbot/cmd/complaintbot/api"
	"complaintbot/configs"
	"complaintbot/store"
)

const complaintUsage = `usage: complaintbot complaint <sub> -config FILE [flags]

Works through the running daemon's API (http.listen, http.token of the config).

  list [-stage S] [-owner ID] [-category C] [-overdue] [-customer EMAIL] [-limit N]
  show NUMBER
  funnel [-since DATE] [-until DATE]
  proposals [-category C] [-since DATE]
  take NUMBER -as ID [-text WHY]
  note NUMBER -as ID -text TEXT
  advance NUMBER -as ID [-to STAGE] [-text WHY]
  resolve NUMBER -as ID -kind KIND [-amount N -currency CUR] [-bonus B] -root-cause TEXT -prevention TEXT [-text WHY]
  approve NUMBER -as ID [-amount N -currency CUR] [-text WHY]
  reassign NUMBER -as ID -to STAFF_ID [-text WHY]
  drop NUMBER -as ID -reason unfounded|clarified|duplicate [-duplicate-of NUMBER] [-text WHY]
  reopen NUMBER -as ID -text WHY
  reply NUMBER -as ID -text TEXT

-as names the staff member the action is done for; -json prints the API's JSON.
`

// complaintFlags are every flag of the complaint subcommands (each uses
// the ones that make sense for it).
type complaintFlags struct {
	config, stage, owner, category, customer string
	since, until                             string
	overdue, json                            bool
	limit                                    int
	as, text, to, reason, duplicateOf        string
	kind, amount, currency, bonus            string
	rootCause, prevention                    string
}

func (f *complaintFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "config file (YAML)")
	fs.StringVar(&f.stage, "stage", "", "list: only this stage")
	fs.StringVar(&f.owner, "owner", "", "list: only this owner (staff id)")
	fs.StringVar(&f.category, "category", "", "list, proposals: only this category")
	fs.StringVar(&f.customer, "customer", "", "list: only this customer's email")
	fs.BoolVar(&f.overdue, "overdue", false, "list: only open complaints past their due time")
	fs.IntVar(&f.limit, "limit", 0, "list: at most this many")
	fs.StringVar(&f.since, "since", "", "funnel, proposals: from this date (YYYY-MM-DD or RFC 3339)")
	fs.StringVar(&f.until, "until", "", "funnel: before this date")
	fs.BoolVar(&f.json, "json", false, "print the API's JSON")
	fs.StringVar(&f.as, "as", "", "actions: the staff id acting")
	fs.StringVar(&f.text, "text", "", "actions: the note, the reply, or why")
	fs.StringVar(&f.to, "to", "", "advance: the stage; reassign: the new owner")
	fs.StringVar(&f.reason, "reason", "", "drop: unfounded, clarified or duplicate")
	fs.StringVar(&f.duplicateOf, "duplicate-of", "", "drop: the complaint this one duplicates")
	fs.StringVar(&f.kind, "kind", "", "resolve: refund, replacement, repair, explanation, discount, compensation, consolation_bonus")
	fs.StringVar(&f.amount, "amount", "", "resolve, approve: the amount")
	fs.StringVar(&f.currency, "currency", "", "resolve, approve: ISO 4217 code")
	fs.StringVar(&f.bonus, "bonus", "", "resolve: the consolation bonus from the list")
	fs.StringVar(&f.rootCause, "root-cause", "", "resolve: the root cause")
	fs.StringVar(&f.prevention, "prevention", "", "resolve: the proposal to prevent it happening again")
}

// apiClient talks to the daemon's API with the bearer token.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// clientFromConfig reads the config at path: the API's address and token.
func clientFromConfig(path string) (*apiClient, error) {
	if path == "" {
		return nil, errors.New("-config FILE is required")
	}
	cfg, err := configs.Load(path)
	if err != nil {
		return nil, err
	}
	if !cfg.HTTP.Token.Set() {
		return nil, errors.New("http.token is not configured: the daemon's API refuses every request")
	}
	return newAPIClient("http://"+cfg.HTTP.Listen, cfg.HTTP.Token.Value()), nil
}

func newAPIClient(base, token string) *apiClient {
	return &apiClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// call sends a request and decodes a 200 answer into out (and keeps the
// raw JSON in raw when it is not nil). Other answers become errors with
// the server's message; the token never appears in them.
func (c *apiClient) call(ctx context.Context, method, path string, query url.Values, body any, out any, raw *[]byte) error {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s %s: is the daemon running? %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		msg := strings.ReplaceAll(cmpOr(e.Error, strings.TrimSpace(string(data))), c.token, "[redacted]")
		return fmt.Errorf("%s: %s", resp.Status, msg)
	}
	if raw != nil {
		*raw = data
	}
	return json.Unmarshal(data, out)
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// cmdComplaint runs `complaintbot complaint <sub> ...`.
func cmdComplaint(ctx context.Context, args []string, stdout io.Writer) error {
	return runComplaintCLI(ctx, args, stdout, clientFromConfig)
}

// runComplaintCLI is cmdComplaint with the way to reach the API injected
// (tests point it at an httptest server).
func runComplaintCLI(ctx context.Context, args []string, stdout io.Writer, connect func(configPath string) (*apiClient, error)) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, complaintUsage)
		return flag.ErrHelp
	}
	sub, rest := args[0], args[1:]
	number := ""
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		number, rest = rest[0], rest[1:]
	}
	var f complaintFlags
	fs := newFlags("complaint " + sub)
	f.register(fs)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if number == "" && fs.NArg() > 0 {
		number = fs.Arg(0)
	}
	run, ok := complaintSubs[sub]
	if !ok {
		return fmt.Errorf("unknown subcommand %q\n\n%s", sub, complaintUsage)
	}
	client, err := connect(f.config)
	if err != nil {
		return err
	}
	return run(&cliRun{c: client, f: &f, number: strings.ToUpper(number), sub: sub, out: stdout}, ctx)
}

// cliRun is one complaint subcommand under way.
type cliRun struct {
	c      *apiClient
	f      *complaintFlags
	number string
	sub    string
	out    io.Writer
}

var complaintSubs = map[string]func(*cliRun, context.Context) error{
	"list": (*cliRun).list, "show": (*cliRun).show, "funnel": (*cliRun).funnel, "proposals": (*cliRun).proposals,
	"take": (*cliRun).act, "note": (*cliRun).act, "advance": (*cliRun).act, "resolve": (*cliRun).act,
	"approve": (*cliRun).act, "reassign": (*cliRun).act, "drop": (*cliRun).act, "reopen": (*cliRun).act,
	"reply": (*cliRun).act,
}

// printJSON prints raw when -json was given and reports whether it did.
func (r *cliRun) printJSON(raw []byte) bool {
	if !r.f.json {
		return false
	}
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		b.Write(raw)
	}
	fmt.Fprintln(r.out, b.String())
	return true
}

func (r *cliRun) list(ctx context.Context) error {
	q := url.Values{}
	for k, v := range map[string]string{"stage": r.f.stage, "owner": r.f.owner, "category": r.f.category, "customer": r.f.customer} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if r.f.overdue {
		q.Set("overdue", "true")
	}
	if r.f.limit > 0 {
		q.Set("limit", fmt.Sprint(r.f.limit))
	}
	var list struct {
		Complaints []struct {
			store.Complaint
			CustomerEmail string `json:"customer_email"`
		} `json:"complaints"`
		Total int `json:"total"`
	}
	var raw []byte
	if err := r.c.call(ctx, http.MethodGet, "/api/complaints", q, nil, &list, &raw); err != nil || r.printJSON(raw) {
		return err
	}
	tw := tabwriter.NewWriter(r.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NUMBER\tSTAGE\tOWNER\tCATEGORY\tDUE\tCUSTOMER\tSUBJECT")
	for _, c := range list.Complaints {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Number, c.Stage, dash(c.OwnerID), dash(c.Category),
			when(c.DueAt), dash(terminalSafe(c.CustomerEmail, 60)), terminalSafe(c.Subject, 60))
	}
	fmt.Fprintf(tw, "%d of %d\n", len(list.Complaints), list.Total)
	return tw.Flush()
}

func (r *cliRun) show(ctx context.Context) error {
	if r.number == "" {
		return errors.New("show NUMBER: the complaint number is required")
	}
	var rec api.Record
	var raw []byte
	if err := r.c.call(ctx, http.MethodGet, "/api/complaints/"+url.PathEscape(r.number), nil, nil, &rec, &raw); err != nil || r.printJSON(raw) {
		return err
	}
	c := rec.Complaint
	w := r.out
	fmt.Fprintf(w, "%s  %s\n", c.Number, terminalSafe(c.Subject, 200))
	fmt.Fprintf(w, "stage %s, owner %s (team %s), due %s\n", c.Stage, dash(c.OwnerID), dash(c.Team), when(c.DueAt))
	if rec.Customer != nil {
		fmt.Fprintf(w, "customer %s %s\n", terminalSafe(rec.Customer.Name, 80), terminalSafe(strings.Join(rec.Customer.Emails, ", "), 200))
	}
	fmt.Fprintf(w, "category %s, cause %s, claim %s, tier %s\n", dash(c.Category), dash(c.Cause), dash(strings.TrimSpace(c.Amount+" "+c.Currency)), dash(c.Tier))
	if c.DropReason != "" {
		fmt.Fprintf(w, "dropped (%s) from %s%s\n", c.DropReason, c.DroppedFrom, map[bool]string{true: ", duplicate of " + c.DuplicateOf}[c.DuplicateOf != ""])
	}
	if res := c.Resolution; res != nil {
		fmt.Fprintf(w, "resolution %s %s by %s at %s\n  root cause: %s\n  prevention: %s\n", res.Kind,
			strings.TrimSpace(res.Bonus+" "+res.Amount+" "+res.Currency), res.By, when(res.At),
			terminalSafe(res.RootCause, 500), terminalSafe(res.Prevention, 500))
	}
	for _, a := range c.Approvals {
		fmt.Fprintf(w, "approved up to %s %s by %s (%s) at %s\n", a.Amount, a.Currency, a.By, a.Role, when(a.At))
	}
	fmt.Fprintf(w, "\nevents:\n")
	for _, e := range rec.Events {
		fmt.Fprintf(w, "  %s  %-14s %-18s %s\n", when(e.At), e.Actor, e.Kind, terminalSafe(e.Text, 200))
	}
	return nil
}

func (r *cliRun) funnel(ctx context.Context) error {
	var f api.Funnel
	var raw []byte
	if err := r.c.call(ctx, http.MethodGet, "/api/funnel", r.span(), nil, &f, &raw); err != nil || r.printJSON(raw) {
		return err
	}
	tw := tabwriter.NewWriter(r.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tNOW\tREACHED")
	for _, s := range []string{store.StageRegistered, store.StageAnalysis, store.StageAction, store.StageResolved, store.StageClosed} {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", s, f.Stages[s], f.Reached[s])
	}
	fmt.Fprintf(tw, "dropped\t%d\t\n", f.Stages[store.StageDropped])
	for _, reason := range []string{store.DropUnfounded, store.DropClarified, store.DropDuplicate} {
		fmt.Fprintf(tw, "  %s\t%d\t\n", reason, f.Dropped[reason])
	}
	fmt.Fprintf(tw, "total\t%d\t(not complaints: %d)\n", f.Total, f.NotComplaint)
	return tw.Flush()
}

func (r *cliRun) span() url.Values {
	q := url.Values{}
	if r.f.since != "" {
		q.Set("since", r.f.since)
	}
	if r.f.until != "" {
		q.Set("until", r.f.until)
	}
	return q
}

func (r *cliRun) proposals(ctx context.Context) error {
	q := r.span()
	q.Del("until")
	if r.f.category != "" {
		q.Set("category", r.f.category)
	}
	q.Set("limit", "1000")
	var list struct {
		Proposals []api.Proposal `json:"proposals"`
		Total     int            `json:"total"`
	}
	var raw []byte
	if err := r.c.call(ctx, http.MethodGet, "/api/proposals", q, nil, &list, &raw); err != nil || r.printJSON(raw) {
		return err
	}
	for _, p := range list.Proposals {
		fmt.Fprintf(r.out, "%s  [%s]  %s by %s, %s\n  root cause: %s\n  prevention: %s\n", p.Number, dash(p.Category), p.Kind, p.By,
			when(p.At), terminalSafe(p.RootCause, 1000), terminalSafe(p.Prevention, 1000))
	}
	fmt.Fprintf(r.out, "%d proposal(s)\n", list.Total)
	return nil
}

// action builds the API action of a subcommand from the flags.
func (r *cliRun) action() (api.Action, error) {
	f := r.f
	a := api.Action{Number: r.number, Actor: f.as, Kind: r.sub, Text: f.text, To: f.to, DuplicateOf: f.duplicateOf}
	switch {
	case r.number == "":
		return a, fmt.Errorf("%s NUMBER: the complaint number is required", r.sub)
	case f.as == "":
		return a, fmt.Errorf("%s: -as STAFF_ID is required (who is acting)", r.sub)
	}
	switch r.sub {
	case "drop":
		a.To = f.reason
	case "resolve", "approve":
		if f.kind != "" || f.amount != "" || f.rootCause != "" || f.prevention != "" || f.bonus != "" {
			a.Resolution = &store.Resolution{Kind: f.kind, Amount: f.amount, Currency: f.currency, Bonus: f.bonus,
				RootCause: f.rootCause, Prevention: f.prevention}
		}
	}
	return a, nil
}

func (r *cliRun) act(ctx context.Context) error {
	a, err := r.action()
	if err != nil {
		return err
	}
	var c store.Complaint
	var raw []byte
	path := "/api/complaints/" + url.PathEscape(r.number) + "/actions"
	if err := r.c.call(ctx, http.MethodPost, path, nil, a, &c, &raw); err != nil || r.printJSON(raw) {
		return err
	}
	fmt.Fprintf(r.out, "%s %s: stage %s, owner %s\n", c.Number, r.sub, c.Stage, dash(c.OwnerID))
	return nil
}

func dash(s string) string { return cmpOr(s, "-") }

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04 MST")
}

// terminalSafe keeps what customers and staff wrote from steering the
// terminal: control characters (escape sequences) become spaces, and the
// text is cut to n runes.
func terminalSafe(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if rs := []rune(s); len(rs) > n {
		s = string(rs[:n]) + "…"
	}
	return s
}
