// Package plan computes what a migration would change in a SAP Concur
// target: it diffs the users the inputs describe against the target's
// current state (a snapshot file or live reads) and produces a plan, a value
// that a renderer shows (terraform style), a saved plan directory holds
// (plan.json plus the exact Bulk request bodies) and `apply` executes
// verbatim after checking that the target has not changed since.
//
// Diff rules, for an employee found in the target (by employeeNumber, else
// by userName; an ambiguous match is rejected, never guessed):
//
//   - a changed single value is a "replace" of its path (name.givenName,
//     urn:…:spend:2.0:User:locale);
//   - keyed multi-valued attributes change entry by entry through a filter
//     on the entry's key: customData by id, emails/phoneNumbers/addresses by
//     type, roles by roleName, approvers by kind (the attribute) and
//     approver.employeeNumber (a new primary approver replaces the old
//     one, a secondary entry is demoted before), delegates by product (the attribute) and
//     delegate.employeeNumber, travel customFields by name, entitlements by
//     value; a new entry is an "add" of the attribute with a one-entry list;
//   - an extension the user lacks is added whole, in one operation without
//     a path, so a strict server sees its required attributes together
//     (spend User: reimbursementCurrency, country, locale; travel User:
//     ruleClass);
//   - references (manager, biManager, approver, delegate, ruleClass) are
//     replaced whole, never merged with a stale UUID;
//   - Y/N memberships asserted absent (roles, entitlements) that are present
//     are removed with a "remove" of their filtered path;
//   - a multi-valued attribute is replaced without a filter only when it has
//     no key, i.e. the input owns the whole list;
//   - equal values, and values the input does not supply (defaults of
//     created entries, the companyId injected on create), give no operation.
//
// Existing-record handling UPDATE compares only the supplied attributes;
// REPLACE also removes the attributes the input's record types map but
// leave blank. ID changes (320, NewEmployeeID) patch employeeNumber and
// userName of the user found by the current ID. --deactivate-missing
// deactivates (active=false, terminationDate) the users of the target the
// input does not name, within a --max-deactivate guard.
package plan

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"scimigrate/batcher"
	"scimigrate/mapping"
	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// Action is what the plan does to one user.
type Action byte

// Actions, as the human plan marks them.
const (
	Create     Action = '+'
	Update     Action = '~'
	Deactivate Action = '-'
	Reject     Action = '!'
	NoChange   Action = '='
)

func (a Action) String() string {
	switch a {
	case Create:
		return "create"
	case Update:
		return "update"
	case Deactivate:
		return "deactivate"
	case Reject:
		return "rejected"
	case NoChange:
		return "unchanged"
	}
	return "?"
}

// ParseAction reads Action.String.
func ParseAction(s string) (Action, bool) {
	for _, a := range []Action{Create, Update, Deactivate, Reject, NoChange} {
		if a.String() == s {
			return a, true
		}
	}
	return 0, false
}

// UserPlan is the plan for one employee.
type UserPlan struct {
	Action         Action
	EmployeeNumber string // as the input names it (the new ID after an ID change)
	UserName       string
	// Matched user, if any.
	ID             string
	TargetEmployee string // employeeNumber the target holds now
	MatchedBy      string // "employeeNumber", "userName" or "id change"
	Version        string // meta.version seen
	LastModified   string // meta.lastModified seen
	Changes        []Change
	Resource       scim.Value // creates: the resource sent
	Reasons        []string   // rejected: why
	Notes          []string
	Sources        []batcher.Source
	Op             int // index into Plan.Ops, -1 when none
	// RefsOp indexes the reference patch of a creation split out of a
	// reference cycle (Resource is then the identity sent without its
	// references); -1 when none.
	RefsOp     int
	refsPatch  *batcher.Operation
	seq        int
	createJSON []byte
}

// Counts are the plan's summary numbers.
type Counts struct {
	Create, Update, Deactivate, Unchanged, Rejected int
}

// Changes reports whether anything would be sent.
func (c Counts) Changes() bool { return c.Create+c.Update+c.Deactivate > 0 }

// Plan is the whole plan.
type Plan struct {
	Users []*UserPlan
	Ops   []batcher.Operation // in the order they are sent
	// Requests are the Bulk request bodies (batcher.Pack), in order; their
	// Ops index Ops. Waves[i] is the dependency wave of Requests[i]: a
	// request waits for every request of the previous waves to complete.
	Requests []batcher.Request
	Waves    []int
	Counts   Counts
	// Existing is the existing-record handling in force ("UPDATE",
	// "REPLACE", or "mixed" when files differ).
	Existing string
	Target   string
	Warnings []string
	// Rejected are the input records that send nothing: those the
	// conversion rejected and those of rejected users, by file and line.
	// Every apply path reports them.
	Rejected []RejectedRecord
}

// Limit is a --max-deactivate guard: N users or P percent of the target.
type Limit struct {
	N         int
	Percent   float64
	IsPercent bool
	Set       bool
}

// ParseLimit reads "N" or "P%".
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f < 0 || f > 100 {
			return Limit{}, fmt.Errorf("--max-deactivate %q: a percentage must be between 0%% and 100%%", s)
		}
		return Limit{Percent: f, IsPercent: true, Set: true}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return Limit{}, fmt.Errorf("--max-deactivate %q: want a number of users or a percentage (10 or 5%%)", s)
	}
	return Limit{N: n, Set: true}, nil
}

func (l Limit) String() string {
	if l.IsPercent {
		return strconv.FormatFloat(l.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(l.N)
}

// Of returns the number of users the limit allows out of total.
func (l Limit) Of(total int) int {
	if l.IsPercent {
		return int(float64(total) * l.Percent / 100)
	}
	return l.N
}

// DeactivationLimitError is a --deactivate-missing plan beyond its guard.
type DeactivationLimitError struct {
	Limit      Limit
	Allowed    int
	Total      int // users in the target
	Candidates []string
}

func (e *DeactivationLimitError) Error() string {
	return fmt.Sprintf("--deactivate-missing would deactivate %d of %d users, more than --max-deactivate %s allows (%d): %s",
		len(e.Candidates), e.Total, e.Limit, e.Allowed, strings.Join(e.Candidates, ", "))
}

// Options configure Make.
type Options struct {
	Set *mapping.Set
	// Existing overrides the 100 records' existing-record handling
	// ("UPDATE" or "REPLACE"; "" keeps them).
	Existing          string
	DeactivateMissing bool
	MaxDeactivate     Limit
	// TerminationDate is set on deactivated users that have none
	// (YYYY-MM-DDThh:mm:ssZ); default: today, 00:00 UTC, from Now.
	TerminationDate string
	Now             func() time.Time
	Limits          batcher.Limits
	// State is what scimigrate last applied of the attributes the target
	// does not return (entitlements); nil knows nothing. StateName names
	// it in the plan's notes.
	State     *State
	StateName string
}

// vuser is a target user in the virtual state the plan builds: ID changes
// are applied to it before the input's users are matched.
type vuser struct {
	cur     *Current
	doc     scim.Value
	emp, un string
	claimed bool
	renamed bool
	intent  []Change
	intSrc  []batcher.Source
	plan    *UserPlan
}

type state struct {
	users  []*vuser
	byEmp  map[string][]*vuser
	byUser map[string][]*vuser
}

func newState(s *Snapshot) *state {
	st := &state{byEmp: map[string][]*vuser{}, byUser: map[string][]*vuser{}}
	if s == nil {
		return st
	}
	for _, c := range s.Users {
		v := &vuser{cur: c, doc: c.Doc, emp: c.EmployeeNumber, un: c.UserName}
		st.users = append(st.users, v)
		st.index(v)
	}
	return st
}

func (st *state) index(v *vuser) {
	if v.emp != "" {
		k := strings.ToLower(v.emp)
		st.byEmp[k] = append(st.byEmp[k], v)
	}
	if v.un != "" {
		k := strings.ToLower(v.un)
		st.byUser[k] = append(st.byUser[k], v)
	}
}

func (st *state) unindex(v *vuser) {
	drop := func(m map[string][]*vuser, k string) {
		l := m[k]
		for i, x := range l {
			if x == v {
				m[k] = append(l[:i:i], l[i+1:]...)
				break
			}
		}
		if len(m[k]) == 0 {
			delete(m, k)
		}
	}
	if v.emp != "" {
		drop(st.byEmp, strings.ToLower(v.emp))
	}
	if v.un != "" {
		drop(st.byUser, strings.ToLower(v.un))
	}
}

var (
	pathEmployee = scimpath.EnterpriseUser + ":employeeNumber"
	pathTermDate = scimpath.EnterpriseUser + ":terminationDate"
)

// Make computes the plan of d against the target state cur.
func Make(d *Desired, cur *Snapshot, o Options) (*Plan, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &Plan{}
	if cur != nil {
		p.Target = cur.Source
	}
	st := newState(cur)
	var cfg *mapping.Config
	if o.Set != nil {
		cfg = o.Set.Config
	}

	// 1. ID changes, in input order, on the virtual state.
	for _, it := range d.Intents {
		planIntent(p, st, it)
	}

	// 2. The input's users.
	modes := map[string]bool{}
	rejectedKeys := map[string]bool{}
	for _, r := range d.Rejected {
		rejectedKeys[strings.ToLower(r.Key)] = true
	}
	for _, du := range d.Users {
		mode := d.existingFor(du, o.Existing, cfg)
		modes[mode] = true
		planUser(p, st, du, mode, o.Set, o.State, o.StateName)
	}
	for _, r := range d.Rejected {
		p.Users = append(p.Users, &UserPlan{Action: Reject, EmployeeNumber: r.Key, Reasons: r.Reasons, Op: -1, RefsOp: -1, seq: 1 << 30})
	}
	switch {
	case len(modes) > 1:
		p.Existing = "mixed"
	case modes["REPLACE"]:
		p.Existing = "REPLACE"
	default:
		p.Existing = "UPDATE"
	}

	// 3. ID changes of users the input does not otherwise name.
	for _, v := range st.users {
		if v.renamed && v.plan == nil {
			up := &UserPlan{Action: Update, EmployeeNumber: v.emp, UserName: v.un, MatchedBy: "id change", Op: -1, RefsOp: -1, seq: 1 << 29}
			fillMatch(up, v)
			up.Changes = v.intent
			up.Sources = v.intSrc
			if len(up.Changes) == 0 {
				up.Action = NoChange
				up.Notes = append(up.Notes, "the ID change is already applied")
			}
			v.plan = up
			p.Users = append(p.Users, up)
		}
	}

	// 4. Users of the target the input does not name.
	if o.DeactivateMissing {
		if err := planDeactivations(p, st, d, o, rejectedKeys); err != nil {
			return nil, err
		}
	}

	sort.SliceStable(p.Users, func(i, j int) bool { return p.Users[i].seq < p.Users[j].seq })
	for _, u := range p.Users {
		switch u.Action {
		case Create:
			p.Counts.Create++
		case Update:
			p.Counts.Update++
		case Deactivate:
			p.Counts.Deactivate++
		case NoChange:
			p.Counts.Unchanged++
		case Reject:
			p.Counts.Rejected++
		}
	}
	p.Rejected = rejectedOf(d, p.Users)
	if err := p.buildOps(o.Limits); err != nil {
		return nil, err
	}
	return p, nil
}

// rejectedOf lists the conversion's rejected records, then the records of
// the users the plan rejects (ambiguous matches, updates of users that do
// not exist, ID changes that cannot apply).
func rejectedOf(d *Desired, users []*UserPlan) []RejectedRecord {
	var r rejectedRecords
	for _, rr := range d.RejectedRecords {
		r.add(rr)
	}
	for _, u := range users {
		if u.Action != Reject {
			continue
		}
		for _, s := range u.Sources {
			r.add(RejectedRecord{File: s.File, Line: s.Line, Record: s.Record, EmployeeNumber: u.EmployeeNumber, Message: strings.Join(u.Reasons, "; ")})
		}
	}
	return r.list
}

func fillMatch(up *UserPlan, v *vuser) {
	up.ID = v.cur.ID
	up.TargetEmployee = v.cur.EmployeeNumber
	up.Version = v.cur.Version
	up.LastModified = v.cur.LastModified
}

func planIntent(p *Plan, st *state, it *Intent) {
	reject := func(msg string) {
		p.Users = append(p.Users, &UserPlan{Action: Reject, EmployeeNumber: it.Current, Reasons: []string{msg},
			Sources: []batcher.Source{it.Source}, Op: -1, RefsOp: -1, seq: -1 << 20})
	}
	hits := st.byEmp[strings.ToLower(it.Current)]
	if len(hits) > 1 {
		reject(fmt.Sprintf("ID change %s: %d users of the target have employeeNumber %q; not guessing which", it.Source, len(hits), it.Current))
		return
	}
	if len(hits) == 0 {
		if it.NewEmployee != "" {
			if done := st.byEmp[strings.ToLower(it.NewEmployee)]; len(done) == 1 &&
				(it.NewUserName == "" || strings.EqualFold(done[0].un, it.NewUserName)) {
				return // applied already: the user is matched (and shown) by its new ID
			}
		}
		reject(fmt.Sprintf("ID change %s: no user of the target has employeeNumber %q", it.Source, it.Current))
		return
	}
	v := hits[0]
	var ops []scim.PatchOperation
	var changes []Change
	if it.NewEmployee != "" && it.NewEmployee != v.emp {
		if other := st.byEmp[strings.ToLower(it.NewEmployee)]; len(other) > 0 && other[0] != v {
			reject(fmt.Sprintf("ID change %s: employeeNumber %q already belongs to user %s", it.Source, it.NewEmployee, other[0].cur.ID))
			return
		}
		c := Change{Kind: '~', Schema: scimpath.EnterpriseUser, Path: pathEmployee, Old: scim.Str(v.emp), New: scim.Str(it.NewEmployee)}
		if v.emp == "" {
			c.Kind, c.Old = '+', scim.Value{}
		}
		c.Ops = []scim.PatchOperation{{Op: "replace", Path: pathEmployee, Value: c.New}}
		changes, ops = append(changes, c), append(ops, c.Ops...)
	}
	if it.NewUserName != "" && it.NewUserName != v.un {
		if other := st.byUser[strings.ToLower(it.NewUserName)]; len(other) > 0 && other[0] != v {
			reject(fmt.Sprintf("ID change %s: userName %q already belongs to user %s", it.Source, it.NewUserName, other[0].cur.ID))
			return
		}
		c := Change{Kind: '~', Path: "userName", Old: scim.Str(v.un), New: scim.Str(it.NewUserName)}
		c.Ops = []scim.PatchOperation{{Op: "replace", Path: "userName", Value: c.New}}
		changes, ops = append(changes, c), append(ops, c.Ops...)
	}
	v.renamed = true
	v.intSrc = append(v.intSrc, it.Source)
	if len(ops) == 0 {
		return
	}
	doc, err := scim.ApplyPatch(v.doc, ops)
	if err != nil {
		reject(fmt.Sprintf("ID change %s: %v", it.Source, err))
		return
	}
	st.unindex(v)
	v.doc = doc
	if it.NewEmployee != "" {
		v.emp = it.NewEmployee
	}
	if it.NewUserName != "" {
		v.un = it.NewUserName
	}
	st.index(v)
	v.intent = mergeChanges(v.intent, changes)
}

// mergeChanges appends later changes, folding a second change of the same
// path into the first (X→Y then Y→Z shows X→Z).
func mergeChanges(a, b []Change) []Change {
	for _, c := range b {
		folded := false
		for i := range a {
			if a[i].Path == c.Path {
				a[i].New, a[i].Ops = c.New, c.Ops
				folded = true
			}
		}
		if !folded {
			a = append(a, c)
		}
	}
	return a
}

func planUser(p *Plan, st *state, du *DesiredUser, mode string, set *mapping.Set, applied *State, stateName string) {
	up := &UserPlan{EmployeeNumber: du.Key, UserName: du.UserName, Sources: sourcesOf(du.Records), Op: -1, RefsOp: -1, seq: du.Seq}
	p.Users = append(p.Users, up)
	reject := func(msg string) {
		up.Action = Reject
		up.MatchedBy = ""
		up.Reasons = append(up.Reasons, msg)
	}
	var v *vuser
	hits := st.byEmp[strings.ToLower(du.Key)]
	switch {
	case len(hits) > 1:
		reject(fmt.Sprintf("%d users of the target have employeeNumber %q (ids %s); not guessing which", len(hits), du.Key, ids(hits)))
		return
	case len(hits) == 1:
		v = hits[0]
		up.MatchedBy = "employeeNumber"
		if v.renamed {
			up.MatchedBy = "id change"
		}
	case du.UserName != "":
		byName := st.byUser[strings.ToLower(du.UserName)]
		if len(byName) > 1 {
			reject(fmt.Sprintf("no user has employeeNumber %q and %d users have userName %q (ids %s); not guessing which", du.Key, len(byName), du.UserName, ids(byName)))
			return
		}
		if len(byName) == 1 {
			v = byName[0]
			up.MatchedBy = "userName"
			if v.emp != "" && !strings.EqualFold(v.emp, du.Key) {
				up.Notes = append(up.Notes, fmt.Sprintf("matched by userName; the target's employeeNumber %q becomes %q", v.emp, du.Key))
			}
		}
	}
	if v != nil && v.claimed {
		reject(fmt.Sprintf("user %s of the target is also matched by employee %s; not guessing which", v.cur.ID, v.plan.EmployeeNumber))
		return
	}
	if v == nil {
		if !du.Identity {
			reject(fmt.Sprintf("no user of the target has employeeNumber %q: its record(s) only update an existing user", du.Key))
			return
		}
		up.Action = Create
		up.Resource = mustDecode(du.JSON)
		up.createJSON = du.JSON
		return
	}
	v.claimed = true
	v.plan = up
	fillMatch(up, v)
	if up.UserName == "" {
		up.UserName = v.un
	}
	up.Sources = append(append([]batcher.Source(nil), v.intSrc...), up.Sources...)
	changes := append([]Change(nil), v.intent...)
	df := &differ{}
	cur := v.doc
	if _, ok := cur.Obj.Get("entitlements"); ok {
		df.entKnow = true
	} else if su := applied.Lookup(v.cur.ID, v.cur.EmployeeNumber); su != nil && supplies(du, "entitlements") {
		// The target never returns entitlements: compare with what
		// scimigrate last applied.
		cur = withEntitlements(cur, su.Entitlements)
		df.entKnow = true
		up.Notes = append(up.Notes, fmt.Sprintf("the target does not return entitlements: compared with those scimigrate applied on %s (%s: %s)",
			su.Applied, orNone(stateName), orNone(strings.Join(su.Entitlements, ", "))))
	}
	df.diffDoc(cur, scim.Obj(&du.User.Doc))
	changes = append(changes, df.out...)
	changes = append(changes, removals(cur, du, mode, set, df.entKnow, changes)...)
	up.Changes = changes
	if !df.entKnow && hasEntitlementAdd(changes) {
		up.Notes = append(up.Notes, "the target does not return entitlements and no applied state (--state) knows this user's: "+
			"the ones the input asserts are added (an add of a held entitlement changes nothing)")
	}
	if !df.entKnow {
		var gone []string
		for _, m := range du.User.Absent {
			if p := m.Path; p.URN == "" && len(p.Attr) == 1 && strings.EqualFold(p.Attr[0], "entitlements") {
				if eqs, err := p.KeyTerms(); err == nil && len(eqs) == 1 {
					gone = append(gone, eqs[0].Value.Str)
				}
			}
		}
		if len(gone) > 0 {
			up.Notes = append(up.Notes, fmt.Sprintf("the target does not return entitlements: %s, asserted absent, cannot be checked and is not removed", strings.Join(gone, ", ")))
		}
	}
	if len(changes) == 0 {
		up.Action = NoChange
	} else {
		up.Action = Update
	}
}

// supplies reports whether the input says anything about a core
// attribute (a value, or a membership asserted absent).
func supplies(du *DesiredUser, attr string) bool {
	if _, ok := du.User.Doc.Get(attr); ok {
		return true
	}
	for _, m := range du.User.Absent {
		if m.Path.URN == "" && len(m.Path.Attr) == 1 && strings.EqualFold(m.Path.Attr[0], attr) {
			return true
		}
	}
	return false
}

func hasEntitlementAdd(cs []Change) bool {
	for _, c := range cs {
		if c.Kind == '+' && strings.HasPrefix(c.Path, "entitlements") {
			return true
		}
	}
	return false
}

func ids(vs []*vuser) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.cur.ID
	}
	return strings.Join(out, ", ")
}

func mustDecode(b []byte) scim.Value {
	v, err := scim.Decode(b)
	if err != nil {
		return scim.Value{}
	}
	return v
}

// lookup finds the value at p in a resource (nil when absent).
func lookup(doc scim.Value, p *scimpath.Path) *scim.Value {
	if doc.Kind != scim.ObjectKind {
		return nil
	}
	u := &scim.User{Doc: *doc.Obj}
	v, ok := u.Lookup(p)
	if !ok || v.Kind == scim.Null {
		return nil
	}
	return v
}

// removals are the "remove" operations: memberships asserted absent that
// the target holds, and under REPLACE the mapped attributes the input
// leaves blank.
func removals(cur scim.Value, du *DesiredUser, mode string, set *mapping.Set, entKnow bool, already []Change) []Change {
	var out []Change
	done := map[string]bool{}
	for _, c := range already {
		done[c.Path] = true
	}
	want := scim.Obj(&du.User.Doc)
	removeAt := func(p *scimpath.Path, old scim.Value) {
		s := p.String()
		if done[s] {
			return
		}
		done[s] = true
		out = append(out, Change{Kind: '-', Schema: schemaOf(p.Schema()), Path: s, Old: old,
			Ops: []scim.PatchOperation{{Op: "remove", Path: s}}})
	}
	isEnt := func(p *scimpath.Path) bool {
		return p.URN == "" && len(p.Attr) == 1 && strings.EqualFold(p.Attr[0], "entitlements")
	}
	for _, m := range du.User.Absent {
		p := m.Path
		if isEnt(p) && !entKnow {
			continue
		}
		if v := lookup(cur, p); v != nil {
			removeAt(p, *v)
		}
	}
	if mode != "REPLACE" || set == nil {
		return out
	}
	// Element paths whose sub-attributes are blanked: remove the element
	// when nothing but its key would remain.
	type elemRemoval struct {
		path *scimpath.Path
		subs []string
	}
	var elems []*elemRemoval
	byElem := map[string]*elemRemoval{}
	for _, p := range replacePaths(du, set) {
		if lookup(want, p) != nil {
			continue
		}
		switch {
		case p.Filter != nil && len(p.Sub) == 0: // a membership left blank
			if isEnt(p) && !entKnow {
				continue
			}
			if v := lookup(cur, p); v != nil {
				removeAt(p, *v)
			}
		case p.Filter != nil:
			ep := p.Element()
			if lookup(want, ep) != nil {
				// The input keeps the entry: remove the blank sub-attribute only.
				sp := mustPath(ep.String() + "." + p.Sub[0])
				if v := lookup(cur, sp); v != nil {
					removeAt(sp, *v)
				}
				continue
			}
			if lookup(cur, ep) == nil {
				continue
			}
			k := ep.String()
			e := byElem[k]
			if e == nil {
				e = &elemRemoval{path: mustPath(k)}
				byElem[k] = e
				elems = append(elems, e)
			}
			e.subs = append(e.subs, p.Sub[0])
		default:
			target := p
			if len(p.Attr) > 1 && isReference(p.Attr[0]) {
				target = mustPath(prefixOf(p.Schema()) + p.Attr[0])
			}
			if v := lookup(cur, target); v != nil {
				removeAt(target, *v)
			}
		}
	}
	for _, e := range elems {
		el := lookup(cur, e.path)
		eqs, _ := e.path.KeyTerms()
		keep := 0
		if el.Kind == scim.ObjectKind {
			for _, m := range el.Obj.Members {
				if isKeyTerm(m.Name, eqs) || containsFold(e.subs, m.Name) {
					continue
				}
				keep++
			}
		}
		if keep == 0 {
			removeAt(e.path, *el)
			continue
		}
		for _, s := range e.subs {
			sp := mustPath(e.path.String() + "." + s)
			if v := lookup(cur, sp); v != nil {
				removeAt(sp, *v)
			}
		}
	}
	return out
}

func isKeyTerm(name string, eqs []scimpath.Equality) bool {
	for _, eq := range eqs {
		if strings.EqualFold(eq.Attr[0], name) {
			return true
		}
	}
	return false
}

func containsFold(l []string, s string) bool {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func mustPath(s string) *scimpath.Path {
	p, err := scimpath.Parse(s)
	if err != nil {
		panic(fmt.Sprintf("plan: path %q: %v", s, err))
	}
	return p
}

// keptOnReplace are attributes UPS requires: REPLACE never removes them.
var keptOnReplace = map[string]bool{}

func init() {
	for _, s := range []string{
		scimpath.CoreUser + ":userName", scimpath.CoreUser + ":active",
		scimpath.CoreUser + ":name.givenName", scimpath.CoreUser + ":name.familyName",
		scimpath.SpendUser + ":reimbursementCurrency", scimpath.SpendUser + ":country", scimpath.SpendUser + ":locale",
		scimpath.TravelUser + ":ruleClass", scimpath.TravelUser + ":ruleClass.name", scimpath.TravelUser + ":ruleClass.id",
	} {
		keptOnReplace[strings.ToLower(s)] = true
	}
}

// replacePaths lists the paths the record types of a user map (the columns
// that send a value, with their configuration placeholders filled in;
// columns whose path depends on per-record values are left out).
func replacePaths(du *DesiredUser, set *mapping.Set) []*scimpath.Path {
	seenType := map[string]bool{}
	seen := map[string]bool{}
	var out []*scimpath.Path
	add := func(p *scimpath.Path) {
		if p == nil || seen[p.String()] {
			return
		}
		if p.URN == scimpath.EnterpriseUser && len(p.Attr) == 1 && (strings.EqualFold(p.Attr[0], "employeeNumber") || strings.EqualFold(p.Attr[0], "companyId")) {
			return
		}
		if keptOnReplace[strings.ToLower(p.Schema()+":"+strings.Join(p.Attr, "."))] {
			return
		}
		seen[p.String()] = true
		out = append(out, p)
	}
	for _, r := range du.Records {
		if r.Failed || seenType[r.Type] {
			continue
		}
		seenType[r.Type] = true
		t := set.Table(r.Type)
		if t == nil || t.Intent != "" {
			continue
		}
		for _, c := range t.Columns {
			if !c.Mapped() || c.Required || c.Default != "" {
				continue
			}
			if c.Option != "" && !set.Config.Option(c.Option) {
				continue
			}
			if c.Templated() {
				add(expandConfig(c.To, set.Config))
			} else {
				add(c.Path())
			}
			if ap := c.AlsoPath(); ap != nil && (c.AlsoOption == "" || set.Config.Option(c.AlsoOption)) {
				add(ap)
			}
		}
	}
	return out
}

// expandConfig fills {cfg:name} placeholders; any other placeholder (a
// per-record value) gives nil.
func expandConfig(tmpl string, cfg *mapping.Config) *scimpath.Path {
	errPerRecord := errors.New("per-record placeholder")
	path, err := mapping.Expand(tmpl, func(name string) (string, error) {
		n, ok := strings.CutPrefix(name, "cfg:")
		if !ok {
			return "", errPerRecord
		}
		v, ok := cfg.Value(n)
		if !ok {
			return "", errPerRecord
		}
		return v, nil
	})
	if err != nil {
		return nil
	}
	p, err := scimpath.Parse(path)
	if err != nil {
		return nil
	}
	return p
}

func planDeactivations(p *Plan, st *state, d *Desired, o Options, rejected map[string]bool) error {
	full := false
	for _, u := range d.Users {
		if u.Identity {
			full = true
			break
		}
	}
	if !full {
		return fmt.Errorf("--deactivate-missing needs a full input file (identity records such as 300/305/310 or V1 UserProfile); the input only updates users")
	}
	if !o.MaxDeactivate.Set {
		return fmt.Errorf("--deactivate-missing needs --max-deactivate N or P%%")
	}
	date := o.TerminationDate
	if date == "" {
		date = o.Now().UTC().Truncate(24 * time.Hour).Format("2006-01-02T15:04:05Z")
	}
	var cands []*vuser
	for _, v := range st.users {
		if v.claimed || v.renamed || !v.cur.Active() {
			continue
		}
		if rejected[strings.ToLower(v.emp)] {
			continue // named by the input, but rejected: not missing
		}
		cands = append(cands, v)
	}
	allowed := o.MaxDeactivate.Of(len(st.users))
	if len(cands) > allowed {
		e := &DeactivationLimitError{Limit: o.MaxDeactivate, Allowed: allowed, Total: len(st.users)}
		for _, v := range cands {
			e.Candidates = append(e.Candidates, describe(v))
		}
		return e
	}
	for i, v := range cands {
		up := &UserPlan{Action: Deactivate, EmployeeNumber: v.emp, UserName: v.un, MatchedBy: "not in the input", Op: -1, RefsOp: -1, seq: 1<<30 + 1 + i}
		fillMatch(up, v)
		old, _ := v.doc.Obj.Get("active")
		c := Change{Kind: '~', Path: "active", New: scim.BoolValue(false),
			Ops: []scim.PatchOperation{{Op: "replace", Path: "active", Value: scim.BoolValue(false)}}}
		if present(old) {
			c.Old = *old
		} else {
			c.Kind = '+'
		}
		up.Changes = append(up.Changes, c)
		if lookup(v.doc, mustPath(pathTermDate)) == nil {
			up.Changes = append(up.Changes, Change{Kind: '+', Schema: scimpath.EnterpriseUser, Path: pathTermDate, New: scim.Str(date),
				Ops: []scim.PatchOperation{{Op: "replace", Path: pathTermDate, Value: scim.Str(date)}}})
		}
		v.plan = up
		p.Users = append(p.Users, up)
	}
	return nil
}

func describe(v *vuser) string {
	s := v.emp
	if s == "" {
		s = "(no employeeNumber)"
	}
	if v.un != "" {
		s += " " + v.un
	}
	return s + " [" + v.cur.ID + "]"
}
