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
	"iter"
	"strconv"
	"strings"
	"sync"
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
	Resource       scim.Value // creates: the resource sent, when set (else parsed from its JSON when shown)
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
	// A streamed plan's user keeps its changes and its operation's JSON in
	// the plan's spool: chg (Changes is then nil) and data (the PATCH
	// body or the created resource), with the operation's references.
	sp   *spool
	chg  sref
	data sref
	refs []string
	// What matching a target user added (see planner.finish).
	matchNotes, intSources int32
	nameFromTarget         bool
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
	// Rejected are the input records that send nothing: those the
	// conversion rejected and those of rejected users, by file and line.
	// Every apply path reports them.
	Rejected []RejectedRecord
	// TargetUsers is the number of users the target state holds.
	TargetUsers int
	Warnings    []string

	// A streamed plan (Stream) keeps its users' changes and its
	// operations' JSON in a spool: Ops[i].Data is then nil and opRef[i]
	// says where it is (OpData), and Requests[i].Body is nil (Body builds
	// it). lim are the limits the requests were packed with.
	sp    *spool
	opRef []sref
	lim   batcher.Limits

	summaryOnce sync.Once
	summary     []AttributeSummary
}

// changeJSON is a change as the plan shows and saves it: its old and new
// values as JSON (pruned: as sent; nil for none).
type changeJSON struct {
	Kind         byte
	Schema, Path string
	Old, New     []byte
}

// shown returns the user's changes as the plan shows them: read back from
// the plan's spool when the plan was streamed (no value is parsed),
// encoded from Changes otherwise.
func (u *UserPlan) shown() []changeJSON {
	if !u.chg.ok() {
		out := make([]changeJSON, len(u.Changes))
		for i, c := range u.Changes {
			out[i] = changeJSON{Kind: c.Kind, Schema: c.Schema, Path: c.Path, Old: prunedJSON(c.Old), New: prunedJSON(c.New)}
		}
		return out
	}
	cs, err := decodeChanges(u.sp.read(u.chg))
	if err != nil {
		u.sp.fail(err)
		return nil
	}
	return cs
}

func prunedJSON(v scim.Value) []byte {
	if v.Kind == scim.Null {
		return nil
	}
	b, _ := appendPruned(nil, v)
	return b
}

// ChangeList returns the user's changes (read back from the plan's spool,
// and parsed, when the plan was streamed: the values are then pruned, and
// the PATCH operations are in the plan's operation).
func (u *UserPlan) ChangeList() []Change {
	if !u.chg.ok() {
		return u.Changes
	}
	cs := u.shown()
	out := make([]Change, len(cs))
	for i, c := range cs {
		out[i] = Change{Kind: c.Kind, Schema: c.Schema, Path: c.Path, Old: mustDecode(c.Old), New: mustDecode(c.New)}
	}
	return out
}

// OpData returns the JSON of operation i (read back from the spool when
// the plan was streamed).
func (p *Plan) OpData(i int) ([]byte, error) {
	if d := p.Ops[i].Data; d != nil || p.sp == nil {
		return d, nil
	}
	d := p.sp.read(p.opRef[i])
	if err := p.sp.Err(); err != nil {
		return nil, err
	}
	return d, nil
}

// Body returns the Bulk request body i (built from its operations when
// the plan was streamed, as batcher.Bodies builds every body of a plan
// made in memory).
func (p *Plan) Body(i int) ([]byte, error) {
	r := p.Requests[i]
	if r.Body != nil {
		return r.Body, nil
	}
	ops := make([]batcher.Operation, len(r.Ops))
	for n, k := range r.Ops {
		ops[n] = p.Ops[k]
		var err error
		if ops[n].Data, err = p.OpData(k); err != nil {
			return nil, err
		}
	}
	reqs, err := batcher.Bodies(ops, p.lim)
	if err != nil {
		return nil, err
	}
	if len(reqs) != 1 {
		return nil, fmt.Errorf("request %d: its operations pack into %d bodies", i+1, len(reqs))
	}
	return reqs[0].Body, nil
}

// Operations returns the plan's operations in the order they are sent,
// each with its JSON.
func (p *Plan) Operations() iter.Seq2[batcher.Operation, error] {
	return func(yield func(batcher.Operation, error) bool) {
		for i := range p.Ops {
			op := p.Ops[i]
			var err error
			op.Data, err = p.OpData(i)
			if !yield(op, err) || err != nil {
				return
			}
		}
	}
}

// Err is the first error reading back a streamed plan's spool (rendering
// and saving check it).
func (p *Plan) Err() error { return p.sp.Err() }

// Close releases a streamed plan's spool; the plan cannot be rendered or
// saved after. A plan made in memory has nothing to release.
func (p *Plan) Close() error { return p.sp.close() }

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

var (
	pathEmployeeURN = scimpath.EnterpriseUser
	pathEmployee    = scimpath.EnterpriseUser + ":employeeNumber"
	pathTermDate    = scimpath.EnterpriseUser + ":terminationDate"
)

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

// resource is the resource a create sends, parsed when shown (a plan keeps
// only its JSON).
func (u *UserPlan) resource() scim.Value {
	if u.Resource.Kind == scim.Null && u.createJSON != nil {
		return mustDecode(u.createJSON)
	}
	if u.Resource.Kind == scim.Null && u.data.ok() {
		return mustDecode(u.sp.read(u.data))
	}
	return u.Resource
}

func mustDecode(b []byte) scim.Value {
	if len(b) == 0 {
		return scim.Value{}
	}
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
	v, ok := scim.Find(doc.Obj, p)
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
