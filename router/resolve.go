package router

import (
	"math/big"
	"regexp"
	"slices"
	"strings"

	"complaintbot/store"
)

// maxResolutionText bounds the root cause and the prevention proposal.
const maxResolutionText = 4000

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// resolve settles the complaint: the resolution must be complete (kind,
// root cause, prevention proposal, and the amount when the kind carries
// one), and an amount above the actor's tier needs an approval first.
func (r *Router) resolve(x *acting) error {
	if err := x.transition(store.StageResolved); err != nil {
		return err
	}
	if err := x.mayManage(); err != nil {
		return err
	}
	res, err := r.checkResolution(x.a.Resolution)
	if err != nil {
		return err
	}
	if err := r.checkApproved(x, res); err != nil {
		return err
	}
	res.By, res.At = x.s.ID, x.now
	x.c.Resolution = res
	fields := map[string]string{"kind": res.Kind, "root_cause": res.RootCause, "prevention": res.Prevention}
	for k, v := range map[string]string{"bonus": res.Bonus, "amount": res.Amount, "currency": res.Currency} {
		if v != "" {
			fields[k] = v
		}
	}
	return r.move(x, store.StageResolved, EventResolved, fields)
}

// checkResolution returns a cleaned copy of in, or the refusal naming
// every missing field, or the first wrong one.
func (r *Router) checkResolution(in *store.Resolution) (*store.Resolution, error) {
	if in == nil {
		return nil, refuse(ErrInvalidAction, ActionResolve, "resolution", "missing: give kind, root_cause, prevention (and amount when the kind carries one)")
	}
	res := &store.Resolution{
		Kind:       strings.ToLower(strings.TrimSpace(in.Kind)),
		Bonus:      cleanHeader(in.Bonus),
		Amount:     strings.TrimSpace(in.Amount),
		Currency:   strings.ToUpper(strings.TrimSpace(in.Currency)),
		RootCause:  truncateRunes(cleanText(in.RootCause), maxResolutionText),
		Prevention: truncateRunes(cleanText(in.Prevention), maxResolutionText),
	}
	kind, known := r.wf.kinds[res.Kind]
	var missing []string
	for _, f := range []struct {
		name  string
		empty bool
	}{
		{"resolution.kind", res.Kind == ""},
		{"resolution.amount", known && kind.Amount && res.Amount == ""},
		{"resolution.bonus", known && kind.Bonus && res.Bonus == ""},
		{"resolution.root_cause", res.RootCause == ""},
		{"resolution.prevention", res.Prevention == ""},
	} {
		if f.empty {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, refuse(ErrInvalidAction, ActionResolve, strings.Join(missing, ", "), "required to resolve")
	}
	if err := r.checkResolutionValues(res, kind, known); err != nil {
		return nil, err
	}
	return res, nil
}

func (r *Router) checkResolutionValues(res *store.Resolution, kind ResolutionKind, known bool) error {
	switch {
	case !known:
		return refuse(ErrInvalidAction, ActionResolve, "resolution.kind", "unknown kind %q (one of %s)", res.Kind, r.wf.kindNames())
	case kind.Bonus && len(r.wf.bonuses) == 0:
		return refuse(ErrInvalidAction, ActionResolve, "resolution.bonus", "no consolation bonuses are configured (workflow.bonuses)")
	case kind.Bonus && !slices.Contains(r.wf.bonuses, res.Bonus):
		return refuse(ErrInvalidAction, ActionResolve, "resolution.bonus", "%q is not on the list (%s)", res.Bonus, strings.Join(r.wf.bonuses, "; "))
	}
	if res.Amount == "" {
		res.Currency = ""
		return nil
	}
	if _, ok := parseDecimal(res.Amount); !ok {
		return refuse(ErrInvalidAction, ActionResolve, "resolution.amount", "%q is not a decimal amount such as 120.50", res.Amount)
	}
	res.Currency = cmpOr(res.Currency, r.tierRules().currency)
	if !currencyRE.MatchString(res.Currency) {
		return refuse(ErrInvalidAction, ActionResolve, "resolution.currency", "%q is not an ISO 4217 code such as EUR", res.Currency)
	}
	return nil
}

func (r *Router) tierRules() tierRules {
	if r.dir != nil {
		return r.dir.tiers
	}
	return defaultTierRules
}

// tierRank orders the tiers and the roles that may settle them.
func tierRank(tierOrRole string) int {
	switch tierOrRole {
	case TierHead: // == RoleHead
		return 1
	case TierTop: // == RoleTop
		return 2
	}
	return 0
}

// checkApproved lets a resolution through when its amount is within the
// actor's own tier, or an approval recorded on the complaint covers it
// (by a role of that tier, for at least the amount). Otherwise the
// refusal says who must approve.
func (r *Router) checkApproved(x *acting, res *store.Resolution) error {
	rules := r.tierRules()
	tier, why := rules.tier(res.Amount, res.Currency)
	if tierRank(x.s.Role) >= tierRank(tier) {
		return nil
	}
	amount, _ := rules.convert(res.Amount, res.Currency)
	for _, ap := range x.c.Approvals {
		approved, ok := rules.convert(ap.Amount, ap.Currency)
		if ok && tierRank(ap.Role) >= tierRank(tier) && amount != nil && approved.Cmp(amount) >= 0 {
			return nil
		}
	}
	return refuse(ErrNeedsApproval, ActionResolve, "", "%s %s is in the %s tier (%s): it needs an approval first by %s",
		res.Amount, res.Currency, tier, why, r.approvers(tier, x.c.Team))
}

// convert turns amount in currency into the tiers' currency; false when
// it cannot (unreadable, or no rate).
func (t tierRules) convert(amount, currency string) (*big.Rat, bool) {
	v, ok := parseDecimal(amount)
	if !ok {
		return nil, false
	}
	currency = strings.ToUpper(strings.TrimSpace(currency))
	if currency == "" || currency == t.currency {
		return v, true
	}
	rate, ok := t.rates[currency]
	if !ok {
		return nil, false
	}
	return v.Mul(v, rate), true
}

// approvers names who may approve a claim of tier on a complaint of team,
// by staff id (what the CLI and the API take).
func (r *Router) approvers(tier, team string) string {
	var top []string
	for _, s := range r.dir.top {
		top = append(top, s.ID)
	}
	tops := "top management (" + cmpOr(strings.Join(top, ", "), "nobody configured") + ")"
	if tier == TierTop {
		return tops
	}
	if head := r.dir.teams[team].Head; head != "" {
		return "the head of " + team + " (" + head + ") or " + tops
	}
	return "a head of department or " + tops
}

// approve records the actor's consent to settle the complaint for up to
// the amount of the action's resolution (or the amount claimed). Only top
// managers approve the top tier; the head tier also the head of the
// complaint's team (or a head in it).
func (r *Router) approve(x *acting) error {
	if !x.c.Open() {
		return refuse(ErrConflict, ActionApprove, "", "%s is %s; approvals are for open complaints", x.c.Number, x.c.Stage)
	}
	amount, currency := x.c.Amount, x.c.Currency
	if res := x.a.Resolution; res != nil && strings.TrimSpace(res.Amount) != "" {
		amount, currency = strings.TrimSpace(res.Amount), res.Currency
	}
	if amount == "" {
		return refuse(ErrInvalidAction, ActionApprove, "resolution.amount", "the amount to approve is required (the complaint names none)")
	}
	if _, ok := parseDecimal(amount); !ok {
		return refuse(ErrInvalidAction, ActionApprove, "resolution.amount", "%q is not a decimal amount", amount)
	}
	currency = cmpOr(strings.ToUpper(strings.TrimSpace(currency)), r.tierRules().currency)
	tier, _ := r.tierRules().tier(amount, currency)
	if err := r.mayApprove(x, tier); err != nil {
		return err
	}
	x.c.Approvals = append(x.c.Approvals, store.Approval{By: x.s.ID, Role: x.s.Role, Amount: amount, Currency: currency, At: x.now})
	if err := x.putComplaint(); err != nil {
		return err
	}
	fields := map[string]string{"amount": amount, "currency": currency, "role": x.s.Role, "tier": tier}
	return appendEventText(x.tx, x.c.ID, x.now, x.actor(), EventApproved, x.a.Text, fields)
}

func (r *Router) mayApprove(x *acting, tier string) error {
	s, team := x.s, x.c.Team
	switch {
	case s.Role == RoleTop:
		return nil
	case s.Role != RoleHead:
		return refuse(ErrForbidden, ActionApprove, "actor", "%s is frontline staff; approvals come from %s", s.ID, r.approvers(TierHead, team))
	case tier == TierTop:
		return refuse(ErrForbidden, ActionApprove, "actor", "an amount in the top tier is approved by %s, not a head of department", r.approvers(TierTop, team))
	case team != "" && r.dir.teams[team].Head != s.ID && !slices.Contains(s.Teams, team):
		return refuse(ErrForbidden, ActionApprove, "actor", "%s is not the head of team %s; approvals come from %s", s.ID, team, r.approvers(TierHead, team))
	}
	return nil
}
