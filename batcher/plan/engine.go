package plan

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"scimigrate/batcher"
	"scimigrate/mapping"
	"scimigrate/scim"
)

// target is the current state a plan matches against: users by position,
// with their identity fields at hand and their documents loaded on demand.
// A loaded Snapshot and a SnapshotIndex (a file read on use) are targets.
type target interface {
	source() string
	size() int
	entry(i int32) (emp, un string, active bool)
	load(i int32) (*Current, error)
}

// memTarget is a Snapshot held in memory.
type memTarget struct{ s *Snapshot }

func (m memTarget) source() string {
	if m.s == nil {
		return ""
	}
	return m.s.Source
}

func (m memTarget) size() int {
	if m.s == nil {
		return 0
	}
	return len(m.s.Users)
}

func (m memTarget) entry(i int32) (string, string, bool) {
	c := m.s.Users[i]
	return c.EmployeeNumber, c.UserName, c.Active()
}

func (m memTarget) load(i int32) (*Current, error) { return m.s.Users[i], nil }

// vuser is a target user in the virtual state the plan builds: ID changes
// are applied to it before the input's users are matched.
type vuser struct {
	i       int32
	cur     *Current
	doc     scim.Value
	emp, un string
	renamed bool
	intent  []Change
	intSrc  []batcher.Source
}

// planner plans employees against a target. ID changes (intent) come
// first and change the virtual state; then user may be called from many
// goroutines at once: it only reads the state, and records its claim on
// the matched user under a lock. finish resolves the claims (the first
// employee in input order keeps a user matched twice), plans the rest and
// builds the operations.
type planner struct {
	t      target
	o      Options
	byEmp  map[string][]int32
	byUser map[string][]int32
	over   map[int32]*vuser // users changed by ID changes, documents loaded

	mu sync.Mutex
	// owner[i] is the first employee that matched target user i; the
	// employees of users matched more than once are in shared.
	owner    []*UserPlan
	shared   map[int32][]*UserPlan
	users    []*UserPlan
	modes    map[string]bool
	identity bool // some input user has an identity record
	// sp, when set, takes each user's changes and operation as soon as it
	// is planned (see seal): the plan is streamed, and the converter
	// reuses the documents the changes point into.
	sp  *spool
	err error
}

func newPlanner(t target, o Options) *planner {
	if o.Now == nil {
		o.Now = time.Now
	}
	n := t.size()
	pl := &planner{t: t, o: o, byEmp: make(map[string][]int32, n), byUser: make(map[string][]int32, n),
		over: map[int32]*vuser{}, owner: make([]*UserPlan, n), shared: map[int32][]*UserPlan{}, modes: map[string]bool{}}
	for i := 0; i < n; i++ {
		emp, un, _ := t.entry(int32(i))
		pl.index(int32(i), emp, un)
	}
	return pl
}

func (pl *planner) index(i int32, emp, un string) {
	if emp != "" {
		k := strings.ToLower(emp)
		pl.byEmp[k] = append(pl.byEmp[k], i)
	}
	if un != "" {
		k := strings.ToLower(un)
		pl.byUser[k] = append(pl.byUser[k], i)
	}
}

func (pl *planner) unindex(i int32, emp, un string) {
	drop := func(m map[string][]int32, k string) {
		l := m[k]
		for n, x := range l {
			if x == i {
				m[k] = append(l[:n:n], l[n+1:]...)
				break
			}
		}
		if len(m[k]) == 0 {
			delete(m, k)
		}
	}
	if emp != "" {
		drop(pl.byEmp, strings.ToLower(emp))
	}
	if un != "" {
		drop(pl.byUser, strings.ToLower(un))
	}
}

// get returns target user i in the virtual state, loading its document.
func (pl *planner) get(i int32) (*vuser, error) {
	if v := pl.over[i]; v != nil {
		return v, nil
	}
	c, err := pl.t.load(i)
	if err != nil {
		return nil, err
	}
	return &vuser{i: i, cur: c, doc: c.Doc, emp: c.EmployeeNumber, un: c.UserName}, nil
}

// ids lists the target ids of users (for messages).
func (pl *planner) ids(is []int32) (string, error) {
	out := make([]string, len(is))
	for n, i := range is {
		v, err := pl.get(i)
		if err != nil {
			return "", err
		}
		out[n] = v.cur.ID
	}
	return strings.Join(out, ", "), nil
}

func (pl *planner) fail(err error) {
	pl.mu.Lock()
	if pl.err == nil {
		pl.err = err
	}
	pl.mu.Unlock()
}

func (pl *planner) add(up *UserPlan) {
	pl.mu.Lock()
	pl.users = append(pl.users, up)
	pl.mu.Unlock()
}

// Make computes the plan of d against the target state cur.
func Make(d *Desired, cur *Snapshot, o Options) (*Plan, error) {
	pl := newPlanner(memTarget{cur}, o)
	var cfg *mapping.Config
	if o.Set != nil {
		cfg = o.Set.Config
	}
	for _, it := range d.Intents {
		pl.intent(it)
	}
	for _, du := range d.Users {
		pl.user(du, d.existingFor(du, o.Existing, cfg))
	}
	return pl.finish(d)
}

// fillMatch copies the matched user's identity into the plan (copies: the
// strings of a loaded document share its memory).
func fillMatch(up *UserPlan, v *vuser) {
	up.ID = strings.Clone(v.cur.ID)
	up.TargetEmployee = strings.Clone(v.cur.EmployeeNumber)
	up.Version = strings.Clone(v.cur.Version)
	up.LastModified = strings.Clone(v.cur.LastModified)
}

// intent applies an ID change to the virtual state. Not concurrent.
func (pl *planner) intent(it *Intent) {
	reject := func(msg string) {
		pl.add(&UserPlan{Action: Reject, EmployeeNumber: it.Current, Reasons: []string{msg},
			Sources: []batcher.Source{it.Source}, Op: -1, RefsOp: -1, seq: -1 << 20})
	}
	hits := pl.byEmp[strings.ToLower(it.Current)]
	if len(hits) > 1 {
		reject(fmt.Sprintf("ID change %s: %d users of the target have employeeNumber %q; not guessing which", it.Source, len(hits), it.Current))
		return
	}
	if len(hits) == 0 {
		if it.NewEmployee != "" {
			if done := pl.byEmp[strings.ToLower(it.NewEmployee)]; len(done) == 1 {
				v, err := pl.get(done[0])
				if err != nil {
					pl.fail(err)
					return
				}
				if it.NewUserName == "" || strings.EqualFold(v.un, it.NewUserName) {
					return // applied already: the user is matched (and shown) by its new ID
				}
			}
		}
		reject(fmt.Sprintf("ID change %s: no user of the target has employeeNumber %q", it.Source, it.Current))
		return
	}
	v, err := pl.get(hits[0])
	if err != nil {
		pl.fail(err)
		return
	}
	var ops []scim.PatchOperation
	var changes []Change
	if it.NewEmployee != "" && it.NewEmployee != v.emp {
		if other := pl.byEmp[strings.ToLower(it.NewEmployee)]; len(other) > 0 && other[0] != v.i {
			o, err := pl.get(other[0])
			if err != nil {
				pl.fail(err)
				return
			}
			reject(fmt.Sprintf("ID change %s: employeeNumber %q already belongs to user %s", it.Source, it.NewEmployee, o.cur.ID))
			return
		}
		c := Change{Kind: '~', Schema: pathEmployeeURN, Path: pathEmployee, Old: scim.Str(v.emp), New: scim.Str(it.NewEmployee)}
		if v.emp == "" {
			c.Kind, c.Old = '+', scim.Value{}
		}
		c.Ops = []scim.PatchOperation{{Op: "replace", Path: pathEmployee, Value: c.New}}
		changes, ops = append(changes, c), append(ops, c.Ops...)
	}
	if it.NewUserName != "" && it.NewUserName != v.un {
		if other := pl.byUser[strings.ToLower(it.NewUserName)]; len(other) > 0 && other[0] != v.i {
			o, err := pl.get(other[0])
			if err != nil {
				pl.fail(err)
				return
			}
			reject(fmt.Sprintf("ID change %s: userName %q already belongs to user %s", it.Source, it.NewUserName, o.cur.ID))
			return
		}
		c := Change{Kind: '~', Path: "userName", Old: scim.Str(v.un), New: scim.Str(it.NewUserName)}
		c.Ops = []scim.PatchOperation{{Op: "replace", Path: "userName", Value: c.New}}
		changes, ops = append(changes, c), append(ops, c.Ops...)
	}
	v.renamed = true
	pl.over[v.i] = v
	v.intSrc = append(v.intSrc, it.Source)
	if len(ops) == 0 {
		return
	}
	doc, err := scim.ApplyPatch(v.doc, ops)
	if err != nil {
		reject(fmt.Sprintf("ID change %s: %v", it.Source, err))
		return
	}
	pl.unindex(v.i, v.emp, v.un)
	v.doc = doc
	if it.NewEmployee != "" {
		v.emp = it.NewEmployee
	}
	if it.NewUserName != "" {
		v.un = it.NewUserName
	}
	pl.index(v.i, v.emp, v.un)
	v.intent = mergeChanges(v.intent, changes)
}

// user plans one input employee. Safe for concurrent use once the intents
// are applied.
func (pl *planner) user(du *DesiredUser, mode string) {
	up, err := pl.planUser(du, mode)
	if err != nil {
		pl.fail(err)
		return
	}
	pl.mu.Lock()
	pl.users = append(pl.users, up)
	pl.modes[mode] = true
	if du.Identity {
		pl.identity = true
	}
	pl.mu.Unlock()
}

func (pl *planner) planUser(du *DesiredUser, mode string) (*UserPlan, error) {
	up := &UserPlan{EmployeeNumber: du.Key, UserName: du.UserName, Sources: sourcesOf(du.Records), Op: -1, RefsOp: -1, seq: du.Seq}
	reject := func(msg string) {
		up.Action = Reject
		up.MatchedBy = ""
		up.Reasons = append(up.Reasons, msg)
	}
	var v *vuser
	var err error
	hits := pl.byEmp[strings.ToLower(du.Key)]
	switch {
	case len(hits) > 1:
		ids, err := pl.ids(hits)
		if err != nil {
			return nil, err
		}
		reject(fmt.Sprintf("%d users of the target have employeeNumber %q (ids %s); not guessing which", len(hits), du.Key, ids))
		return up, nil
	case len(hits) == 1:
		if v, err = pl.get(hits[0]); err != nil {
			return nil, err
		}
		up.MatchedBy = "employeeNumber"
		if v.renamed {
			up.MatchedBy = "id change"
		}
	case du.UserName != "":
		byName := pl.byUser[strings.ToLower(du.UserName)]
		if len(byName) > 1 {
			ids, err := pl.ids(byName)
			if err != nil {
				return nil, err
			}
			reject(fmt.Sprintf("no user has employeeNumber %q and %d users have userName %q (ids %s); not guessing which", du.Key, len(byName), du.UserName, ids))
			return up, nil
		}
		if len(byName) == 1 {
			if v, err = pl.get(byName[0]); err != nil {
				return nil, err
			}
			up.MatchedBy = "userName"
			if v.emp != "" && !strings.EqualFold(v.emp, du.Key) {
				up.Notes = append(up.Notes, fmt.Sprintf("matched by userName; the target's employeeNumber %q becomes %q", v.emp, du.Key))
			}
		}
	}
	if v == nil {
		if !du.Identity {
			reject(fmt.Sprintf("no user of the target has employeeNumber %q: its record(s) only update an existing user", du.Key))
			return up, nil
		}
		up.Action = Create
		up.createJSON = du.JSON
		pl.seal(up)
		return up, nil
	}
	pl.mu.Lock()
	if first := pl.owner[v.i]; first == nil {
		pl.owner[v.i] = up
	} else {
		if len(pl.shared[v.i]) == 0 {
			pl.shared[v.i] = []*UserPlan{first}
		}
		pl.shared[v.i] = append(pl.shared[v.i], up)
	}
	pl.mu.Unlock()
	// What the match adds is remembered, so that finish can undo it if
	// another employee has the user.
	up.matchNotes = int32(len(up.Notes))
	up.intSources = int32(len(v.intSrc))
	fillMatch(up, v)
	if up.UserName == "" {
		up.UserName = strings.Clone(v.un)
		up.nameFromTarget = true
	}
	up.Sources = append(append([]batcher.Source(nil), v.intSrc...), up.Sources...)
	changes := append([]Change(nil), v.intent...)
	df := &differ{}
	cur := v.doc
	if _, ok := cur.Obj.Get("entitlements"); ok {
		df.entKnow = true
	} else if su := pl.o.State.Lookup(v.cur.ID, v.cur.EmployeeNumber); su != nil && supplies(du, "entitlements") {
		// The target never returns entitlements: compare with what
		// scimigrate last applied.
		cur = withEntitlements(cur, su.Entitlements)
		df.entKnow = true
		up.Notes = append(up.Notes, fmt.Sprintf("the target does not return entitlements: compared with those scimigrate applied on %s (%s: %s)",
			su.Applied, orNone(pl.o.StateName), orNone(strings.Join(su.Entitlements, ", "))))
	}
	df.diffDoc(cur, scim.Obj(&du.User.Doc))
	changes = append(changes, df.out...)
	changes = append(changes, removals(cur, du, mode, pl.o.Set, df.entKnow, changes)...)
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
	pl.seal(up)
	return up, nil
}

// seal moves a planned user's bulky part to the spool of a streamed plan:
// its changes, and the JSON of its operation (the PATCH of its changes,
// or the resource created) with the operation's references. What stays
// in memory shares nothing with the documents the plan was computed from.
func (pl *planner) seal(up *UserPlan) {
	if pl.sp == nil {
		return
	}
	up.sp = pl.sp
	switch up.Action {
	case Create:
		op := batcher.Operation{Method: "POST", Data: up.createJSON}
		up.data = pl.sp.add(up.createJSON)
		up.refs = cloneStrings(nonNilRefs(op.References()))
		up.createJSON = nil
	case Update, Deactivate:
		var wire []scim.PatchOperation
		for _, c := range up.Changes {
			wire = append(wire, c.Ops...)
		}
		if len(wire) > 0 {
			up.data = pl.sp.add(scim.AppendPatchOp(nil, wire))
			up.refs = cloneStrings(nonNilRefs(batcher.PatchOpRefs(wire)))
		}
	}
	if len(up.Changes) > 0 {
		up.chg = pl.sp.add(encodeChanges(nil, up.Changes))
		up.Changes = nil
	}
}

func cloneStrings(l []string) []string {
	if l == nil {
		return nil
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = strings.Clone(s)
	}
	return out
}

// finish resolves the claims, plans the ID changes of users the input does
// not name and the deactivations, and builds the operations.
func (pl *planner) finish(d *Desired) (*Plan, error) {
	rejected := d.Rejected
	if pl.err != nil {
		return nil, pl.err
	}
	p := &Plan{Target: pl.t.source(), TargetUsers: pl.t.size(), sp: pl.sp}
	// A target user matched by two employees belongs to the first (in
	// input order); the others are rejected.
	shared := make([]int32, 0, len(pl.shared))
	for i := range pl.shared {
		shared = append(shared, i)
	}
	sort.Slice(shared, func(a, b int) bool { return shared[a] < shared[b] })
	for _, i := range shared {
		cs := pl.shared[i]
		sort.Slice(cs, func(a, b int) bool { return cs[a].seq < cs[b].seq })
		v, err := pl.get(i)
		if err != nil {
			return nil, err
		}
		for _, c := range cs[1:] {
			un := c.UserName
			if c.nameFromTarget {
				un = ""
			}
			var notes []string
			if c.matchNotes > 0 {
				notes = c.Notes[:c.matchNotes:c.matchNotes]
			}
			*c = UserPlan{Action: Reject, EmployeeNumber: c.EmployeeNumber, UserName: un, Sources: c.Sources[c.intSources:],
				Notes: notes, Op: -1, RefsOp: -1, seq: c.seq,
				Reasons: []string{fmt.Sprintf("user %s of the target is also matched by employee %s; not guessing which", v.cur.ID, cs[0].EmployeeNumber)}}
		}
	}
	claimed := func(i int32) bool { return pl.owner[i] != nil }
	p.Users = pl.users
	for _, r := range rejected {
		p.Users = append(p.Users, &UserPlan{Action: Reject, EmployeeNumber: r.Key, Reasons: r.Reasons, Op: -1, RefsOp: -1, seq: 1 << 30})
	}
	switch {
	case len(pl.modes) > 1:
		p.Existing = "mixed"
	case pl.modes["REPLACE"]:
		p.Existing = "REPLACE"
	default:
		p.Existing = "UPDATE"
	}

	// ID changes of users the input does not otherwise name.
	renamed := make([]int32, 0, len(pl.over))
	for i, v := range pl.over {
		if v.renamed && !claimed(i) {
			renamed = append(renamed, i)
		}
	}
	sort.Slice(renamed, func(a, b int) bool { return renamed[a] < renamed[b] })
	for _, i := range renamed {
		v := pl.over[i]
		up := &UserPlan{Action: Update, EmployeeNumber: v.emp, UserName: v.un, MatchedBy: "id change", Op: -1, RefsOp: -1, seq: 1 << 29}
		fillMatch(up, v)
		up.Changes = v.intent
		up.Sources = v.intSrc
		if len(up.Changes) == 0 {
			up.Action = NoChange
			up.Notes = append(up.Notes, "the ID change is already applied")
		}
		pl.seal(up)
		p.Users = append(p.Users, up)
	}

	// Users of the target the input does not name.
	if pl.o.DeactivateMissing {
		rejectedKeys := map[string]bool{}
		for _, r := range rejected {
			rejectedKeys[strings.ToLower(r.Key)] = true
		}
		if err := pl.deactivations(p, claimed, rejectedKeys); err != nil {
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
	if err := p.buildOps(pl.o.Limits); err != nil {
		return nil, err
	}
	return p, nil
}

func (pl *planner) deactivations(p *Plan, claimed func(int32) bool, rejected map[string]bool) error {
	o := pl.o
	if !pl.identity {
		return fmt.Errorf("--deactivate-missing needs a full input file (identity records such as 300/305/310 or V1 UserProfile); the input only updates users")
	}
	if !o.MaxDeactivate.Set {
		return fmt.Errorf("--deactivate-missing needs --max-deactivate N or P%%")
	}
	date := o.TerminationDate
	if date == "" {
		date = o.Now().UTC().Truncate(24 * time.Hour).Format("2006-01-02T15:04:05Z")
	}
	var cands []int32
	n := pl.t.size()
	for i := int32(0); int(i) < n; i++ {
		emp, _, active := pl.t.entry(i)
		if claimed(i) || pl.over[i] != nil || !active {
			continue
		}
		if rejected[strings.ToLower(emp)] {
			continue // named by the input, but rejected: not missing
		}
		cands = append(cands, i)
	}
	allowed := o.MaxDeactivate.Of(n)
	if len(cands) > allowed {
		e := &DeactivationLimitError{Limit: o.MaxDeactivate, Allowed: allowed, Total: n}
		for _, i := range cands {
			v, err := pl.get(i)
			if err != nil {
				return err
			}
			e.Candidates = append(e.Candidates, describe(v))
		}
		return e
	}
	for k, i := range cands {
		v, err := pl.get(i)
		if err != nil {
			return err
		}
		up := &UserPlan{Action: Deactivate, EmployeeNumber: v.emp, UserName: v.un, MatchedBy: "not in the input", Op: -1, RefsOp: -1, seq: 1<<30 + 1 + k}
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
			up.Changes = append(up.Changes, Change{Kind: '+', Schema: pathEmployeeURN, Path: pathTermDate, New: scim.Str(date),
				Ops: []scim.PatchOperation{{Op: "replace", Path: pathTermDate, Value: scim.Str(date)}}})
		}
		pl.seal(up)
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
