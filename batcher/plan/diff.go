package plan

import (
	"strings"
	"time"
	"unicode/utf8"

	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// Change is one attribute change of a user: what the plan shows
// (Kind, Path, Old, New) and the PATCH operations that make it (usually one;
// a reference replaced whole is a remove then an add).
type Change struct {
	Kind   byte   // '+' added, '~' changed, '-' removed
	Schema string // schema URN of the path ("" for core)
	Path   string // full SCIM path, as sent
	Old    scim.Value
	New    scim.Value
	Ops    []scim.PatchOperation
}

// Key specifications of the multi-valued attributes whose entries are
// changed one by one: the sub-attributes that identify an entry. "*" stands
// for every attribute of the schema (Approver kinds, Delegate products).
var keySpecs = map[string]map[string][]string{
	scimpath.CoreUser: {
		"emails": {"type"}, "phonenumbers": {"type"}, "addresses": {"type"},
		"ims": {"type"}, "photos": {"type"}, "entitlements": {"value"},
	},
	scimpath.SpendUser:     {"customdata": {"id"}},
	scimpath.SpendRole:     {"roles": {"roleName"}},
	scimpath.SpendApprover: {"*": {"approver.employeeNumber"}},
	scimpath.SpendDelegate: {"*": {"delegate.employeeNumber"}},
	scimpath.TravelUser:    {"customfields": {"name"}},
}

func keyOf(urn, attr string) []string {
	m := keySpecs[urn]
	if m == nil {
		return nil
	}
	var k []string
	var ok bool
	if isASCII(attr) && len(attr) <= 64 {
		// strings.ToLower(attr), lowered on the stack (looked up, not kept).
		var buf [64]byte
		b := buf[:len(attr)]
		for i := 0; i < len(attr); i++ {
			c := attr[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b[i] = c
		}
		k, ok = m[string(b)]
	} else {
		k, ok = m[strings.ToLower(attr)]
	}
	if ok {
		return k
	}
	return m["*"]
}

// referenceAttrs are complex attributes that name another object (a user,
// a rule class): they change as a whole, never one sub-attribute at a time,
// so that a stale "value" (UUID) never survives next to a new employeeNumber.
var referenceAttrs = map[string]bool{"manager": true, "bimanager": true, "ruleclass": true, "approver": true, "delegate": true}

func isReference(name string) bool { return referenceAttrs[strings.ToLower(name)] }

// supplied reports whether v (or anything below it) came from the input:
// values without an origin are defaults of a created element
// ("roleGroups": []) or injected on create (companyId), and are not
// compared with an existing user.
func supplied(v scim.Value) bool {
	if v.Origin != 0 {
		return true
	}
	switch v.Kind {
	case scim.ObjectKind:
		for _, m := range v.Obj.Members {
			if supplied(m.Value) {
				return true
			}
		}
	case scim.Array:
		for _, e := range v.Arr {
			if supplied(e) {
				return true
			}
		}
	}
	return false
}

// sameValue compares two leaves: JSON equality, and equal instants for
// date-times written differently (2026-12-01T00:00:00.000Z and
// 2026-12-01T00:00:00Z).
func sameValue(a, b scim.Value) bool {
	if scim.Equal(a, b) {
		return true
	}
	if a.Kind == scim.String && b.Kind == scim.String && len(a.Str) >= 20 && len(b.Str) >= 20 {
		ta, ea := time.Parse(time.RFC3339Nano, a.Str)
		tb, eb := time.Parse(time.RFC3339Nano, b.Str)
		return ea == nil && eb == nil && ta.Equal(tb)
	}
	return false
}

// covers reports whether cur holds everything des supplies: objects
// member by member (cur may have more), lists element by element, leaves
// by sameValue.
func covers(cur, des scim.Value) bool {
	switch des.Kind {
	case scim.ObjectKind:
		if cur.Kind != scim.ObjectKind {
			return false
		}
		for _, m := range des.Obj.Members {
			cm, ok := cur.Obj.Get(m.Name)
			if !ok {
				if m.Value.Kind == scim.Null {
					continue
				}
				return false
			}
			if !covers(*cm, m.Value) {
				return false
			}
		}
		return true
	case scim.Array:
		if cur.Kind != scim.Array || len(cur.Arr) != len(des.Arr) {
			return false
		}
		for i := range des.Arr {
			if !covers(cur.Arr[i], des.Arr[i]) {
				return false
			}
		}
		return true
	}
	return sameValue(cur, des)
}

// differ computes the changes that make cur hold what des supplies.
type differ struct {
	all     bool // every value of des counts as supplied (no origins: creates, tests)
	entKnow bool // the current state lists entitlements
	out     []Change
	keys    []*scim.Value // a keyed list's key view (view), reused
	head    []int32
	next    []int32
	// First memory of keys, head and next: most lists are short.
	keys0 [48]*scim.Value
	head0 [128]int32
	next0 [48]int32
}

func (d *differ) isSupplied(v scim.Value) bool { return d.all || supplied(v) }

func (d *differ) add(c Change) { d.out = append(d.out, c) }

func prefixOf(urn string) string {
	if urn == "" || urn == scimpath.CoreUser {
		return ""
	}
	return urn + ":"
}

// fullPath is prefixOf(urn) + path, in one allocation.
func fullPath(urn, path string) string {
	if urn == "" || urn == scimpath.CoreUser {
		return path
	}
	return urn + ":" + path
}

func schemaOf(urn string) string {
	if urn == scimpath.CoreUser {
		return ""
	}
	return urn
}

// diffDoc compares two resources: des's members in order, extensions by
// their URN.
func (d *differ) diffDoc(cur, des scim.Value) {
	for _, m := range des.Obj.Members {
		if notCompared(m.Name) {
			continue
		}
		if lowerHasPrefix(m.Name, "urn:") {
			if m.Value.Kind != scim.ObjectKind {
				continue
			}
			urn := canonicalURN(m.Name)
			var ext *scim.Value
			if e, ok := cur.Obj.Get(m.Name); ok && e.Kind == scim.ObjectKind {
				ext = e
			}
			if ext == nil {
				d.addExtension(urn, m.Value)
				continue
			}
			for _, em := range m.Value.Obj.Members {
				var c *scim.Value
				if ext != nil {
					c, _ = ext.Obj.Get(em.Name)
				}
				d.diffAttr(urn, em.Name, c, em.Value)
			}
			continue
		}
		c, _ := cur.Obj.Get(m.Name)
		d.diffAttr(scimpath.CoreUser, m.Name, c, m.Value)
	}
}

// addExtension adds an extension the current user lacks in one operation,
// with every attribute the input supplies: a strict server checks an
// extension's required attributes (spend User: reimbursementCurrency,
// country, locale; travel User: ruleClass) after each operation, so adding
// them one at a time fails every one. The operation has no path and a
// partial User as its value (RFC 7644 3.5.2.1).
func (d *differ) addExtension(urn string, des scim.Value) {
	val := &scim.Object{}
	for _, m := range des.Obj.Members {
		if d.isSupplied(m.Value) && m.Value.Kind != scim.Null {
			val.Members = append(val.Members, scim.Member{Name: m.Name, Value: m.Value})
		}
	}
	if len(val.Members) == 0 {
		return
	}
	v := prune(scim.Obj(val))
	if v.Obj.Len() == 0 {
		return
	}
	wrap := &scim.Object{Members: []scim.Member{{Name: urn, Value: v}}}
	d.add(Change{Kind: '+', Schema: urn, Path: urn, New: v,
		Ops: []scim.PatchOperation{{Op: "add", Value: scim.Obj(wrap)}}})
}

// notCompared reports whether a resource's member is one the diff skips:
// strings.ToLower(name) is schemas, id or meta.
func notCompared(name string) bool {
	if !isASCII(name) {
		switch strings.ToLower(name) {
		case "schemas", "id", "meta":
			return true
		}
		return false
	}
	switch len(name) {
	case 7:
		return strings.EqualFold(name, "schemas")
	case 2:
		return strings.EqualFold(name, "id")
	case 4:
		return strings.EqualFold(name, "meta")
	}
	return false
}

// lowerHasPrefix reports whether strings.ToLower(name) begins with prefix
// (lower case ASCII), without lowering a name that begins with ASCII.
func lowerHasPrefix(name, prefix string) bool {
	if len(name) >= len(prefix) && isASCII(name[:len(prefix)]) {
		return strings.EqualFold(name[:len(prefix)], prefix)
	}
	return strings.HasPrefix(strings.ToLower(name), prefix)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func canonicalURN(s string) string {
	// No two known URNs differ only in case (TestKnownURNsDistinct): an
	// exact match is the one the folded comparison finds.
	for _, u := range scimpath.KnownURNs {
		if u == s {
			return u
		}
	}
	for _, u := range scimpath.KnownURNs {
		if strings.EqualFold(u, s) {
			return u
		}
	}
	return s
}

func present(v *scim.Value) bool { return v != nil && v.Kind != scim.Null }

func (d *differ) replace(urn, path string, old *scim.Value, val scim.Value) {
	c := Change{Kind: '~', Schema: schemaOf(urn), Path: fullPath(urn, path), New: prune(val)}
	if present(old) {
		c.Old = *old
	} else {
		c.Kind = '+'
	}
	c.Ops = []scim.PatchOperation{{Op: "replace", Path: c.Path, Value: c.New}}
	d.add(c)
}

// diffAttr compares one attribute (top level of the core schema or of an
// extension).
func (d *differ) diffAttr(urn, attr string, cur *scim.Value, des scim.Value) {
	if !d.isSupplied(des) {
		return
	}
	switch des.Kind {
	case scim.Array:
		if key := keyOf(urn, attr); key != nil {
			d.diffKeyed(urn, attr, cur, des, key)
			return
		}
		// A list without a key is owned whole by the input.
		if !present(cur) || !covers(*cur, des) {
			d.replace(urn, attr, cur, des)
		}
	case scim.ObjectKind:
		switch {
		case !present(cur) || cur.Kind != scim.ObjectKind:
			d.replace(urn, attr, cur, des)
		case isReference(attr):
			if covers(*cur, des) {
				return
			}
			d.replaceWhole(urn, attr, cur, des)
		default:
			for _, s := range des.Obj.Members {
				if !d.isSupplied(s.Value) {
					continue
				}
				cs, _ := cur.Obj.Get(s.Name)
				if present(cs) && covers(*cs, s.Value) {
					continue
				}
				if s.Value.Kind == scim.ObjectKind && present(cs) && isReference(s.Name) {
					d.replaceWhole(urn, attr+"."+s.Name, cs, s.Value)
					continue
				}
				d.replace(urn, attr+"."+s.Name, cs, s.Value)
			}
		}
	default:
		if !present(cur) || !sameValue(*cur, des) {
			d.replace(urn, attr, cur, des)
		}
	}
}

// replaceWhole replaces a complex attribute without merging: when the
// current value has sub-attributes the new one lacks (a reference's
// "value"), it is removed first, since "replace" keeps sub-attributes it is
// not given.
func (d *differ) replaceWhole(urn, path string, cur *scim.Value, des scim.Value) {
	full := fullPath(urn, path)
	val := prune(des)
	c := Change{Kind: '~', Schema: schemaOf(urn), Path: full, Old: *cur, New: val}
	extra := false
	if cur.Kind == scim.ObjectKind {
		for _, m := range cur.Obj.Members {
			if _, ok := val.Obj.Get(m.Name); !ok {
				extra = true
				break
			}
		}
	}
	if extra {
		c.Ops = append(c.Ops, scim.PatchOperation{Op: "remove", Path: full})
	}
	c.Ops = append(c.Ops, scim.PatchOperation{Op: "replace", Path: full, Value: val})
	d.add(c)
}

// keyPaths are the key specifications' sub-attribute paths, split once.
var keyPaths = func() map[string][]string {
	m := map[string][]string{}
	for _, specs := range keySpecs {
		for _, key := range specs {
			for _, k := range key {
				m[k] = strings.Split(k, ".")
			}
		}
	}
	return m
}()

func keyPath(k string) []string {
	if p, ok := keyPaths[k]; ok {
		return p
	}
	return strings.Split(k, ".")
}

// keyTerms builds the equality terms that identify element el.
func keyTerms(el scim.Value, key []string) ([]scimpath.Equality, bool) {
	return appendKeyTerms(nil, el, key)
}

// appendKeyTerms is keyTerms appending to dst. The terms' Attr are shared
// (keyPaths): read only.
func appendKeyTerms(dst []scimpath.Equality, el scim.Value, key []string) ([]scimpath.Equality, bool) {
	if key[0] == "value" && el.Kind == scim.String {
		return append(dst, scimpath.Equality{Attr: keyPath("value"), Value: scimpath.Value{Kind: scimpath.String, Str: el.Str}}), true
	}
	if el.Kind != scim.ObjectKind {
		return nil, false
	}
	for _, k := range key {
		names := keyPath(k)
		cur := el
		for _, n := range names {
			if cur.Kind != scim.ObjectKind {
				return nil, false
			}
			next, ok := cur.Obj.Get(n)
			if !ok {
				return nil, false
			}
			cur = *next
		}
		var lit scimpath.Value
		switch cur.Kind {
		case scim.String:
			lit = scimpath.Value{Kind: scimpath.String, Str: cur.Str}
		case scim.Bool:
			lit = scimpath.Value{Kind: scimpath.Bool, Bool: cur.Bool}
		case scim.Number:
			lit = scimpath.Value{Kind: scimpath.Number, Str: cur.Str}
		default:
			return nil, false
		}
		dst = append(dst, scimpath.Equality{Attr: names, Value: lit})
	}
	return dst, true
}

// lazyFilter returns *f, building it from eqs first when empty: most
// entries of a keyed list are unchanged, and their filter is never needed.
func lazyFilter(f *string, eqs []scimpath.Equality) string {
	if *f == "" {
		*f = "[" + filterString(eqs) + "]"
	}
	return *f
}

func filterString(eqs []scimpath.Equality) string {
	var b strings.Builder
	for i, eq := range eqs {
		if i > 0 {
			b.WriteString(" and ")
		}
		b.WriteString(strings.Join(eq.Attr, "."))
		b.WriteString(" eq ")
		b.WriteString(eq.Value.String())
	}
	return b.String()
}

// isKeyMember reports whether member name of an element is (the head of)
// a key attribute.
func isKeyMember(name string, key []string) bool {
	for _, k := range key {
		head, _, _ := strings.Cut(k, ".")
		if strings.EqualFold(head, name) {
			return true
		}
	}
	return false
}

// diffKeyed changes a keyed multi-valued attribute entry by entry: a new
// entry is added, a changed one is changed through a filter on its key.
func (d *differ) diffKeyed(urn, attr string, cur *scim.Value, des scim.Value, key []string) {
	var curArr []scim.Value
	if present(cur) && cur.Kind == scim.Array {
		curArr = cur.Arr
	}
	// The attribute's full path, made when a change needs it: most lists
	// are unchanged.
	var full string
	base := func() string {
		if full == "" {
			full = fullPath(urn, attr)
		}
		return full
	}
	entries := des.Arr
	approvers := urn == scimpath.SpendApprover
	if approvers {
		d.replacedPrimary(urn, base, curArr, des, key)
		// Secondary approvers first: a demotion precedes the promotion,
		// so the list never holds two primaries.
		entries = make([]scim.Value, 0, len(des.Arr))
		for _, pass := range []bool{false, true} {
			for _, el := range des.Arr {
				if isPrimary(el) == pass {
					entries = append(entries, el)
				}
			}
		}
	}
	kv := d.view(curArr, key)
	var terms [2]scimpath.Equality
	for _, el := range entries {
		eqs, ok := appendKeyTerms(terms[:0], el, key)
		// An element without supplied values (a membership asserted
		// present has only its key and defaults) still counts when it is
		// missing.
		if !d.isSupplied(el) && !(ok && kv.find(eqs, 0) < 0) {
			continue
		}
		if !ok {
			// No key: the entry is added unless an equal one is there.
			if !containsCovered(curArr, el) {
				d.addEntry(urn, base(), base(), el)
			}
			continue
		}
		filter := ""                    // "[key filter]", built when a change needs it (lazyFilter)
		if el.Kind != scim.ObjectKind { // entitlements
			if urn == scimpath.CoreUser && strings.EqualFold(attr, "entitlements") && !d.entKnow {
				d.addEntry(urn, base(), base()+lazyFilter(&filter, eqs), el)
				continue
			}
			if kv.find(eqs, 0) < 0 {
				d.addEntry(urn, base(), base()+lazyFilter(&filter, eqs), el)
			}
			continue
		}
		i := kv.find(eqs, 0)
		if i < 0 {
			d.addEntry(urn, base(), base()+lazyFilter(&filter, eqs), el)
			continue
		}
		if !kv.unique(eqs, i) {
			// The key is not unique in the target (UPS allows several
			// mobile phone numbers): a filter on it would change every
			// match. Narrow it by the entry's value, else add the entry.
			if containsCovered(curArr, el) {
				continue
			}
			j := -1
			if v, ok := el.Obj.Get("value"); ok && v.Kind == scim.String {
				eqs = append(eqs[:len(eqs):len(eqs)], scimpath.Equality{Attr: []string{"value"}, Value: scimpath.Value{Kind: scimpath.String, Str: v.Str}})
				j = kv.find(eqs, 0)
			}
			if j < 0 || !kv.unique(eqs, j) {
				d.addEntry(urn, base(), base()+lazyFilter(&filter, eqs), el)
				continue
			}
			i, filter = j, "["+filterString(eqs)+"]"
		}
		c := curArr[i]
		if c.Kind != scim.ObjectKind {
			continue
		}
		var diffs []scim.Member
		whole := false
		for _, m := range el.Obj.Members {
			// An approver entry the input supplies says whether it is the
			// primary one, even when the flag is the mapping's default.
			if !d.isSupplied(m.Value) && !(approvers && strings.EqualFold(m.Name, "primary") && d.isSupplied(el)) {
				continue
			}
			cm, ok := c.Obj.Get(m.Name)
			if ok && covers(*cm, m.Value) {
				continue
			}
			if isKeyMember(m.Name, key) && m.Value.Kind == scim.ObjectKind {
				continue // the key matched; other sub-attributes of a key object are the target's
			}
			diffs = append(diffs, m)
			if m.Value.Kind == scim.ObjectKind {
				whole = true
			}
		}
		if len(diffs) == 0 {
			continue
		}
		if whole {
			merged := scim.Clone(c)
			for _, m := range diffs {
				merged.Obj.Set(m.Name, prune(m.Value))
			}
			path := base() + lazyFilter(&filter, eqs)
			d.add(Change{Kind: '~', Schema: schemaOf(urn), Path: path, Old: c, New: merged,
				Ops: []scim.PatchOperation{{Op: "replace", Path: path, Value: merged}}})
			continue
		}
		for _, m := range diffs {
			cm, _ := c.Obj.Get(m.Name)
			path := base() + lazyFilter(&filter, eqs) + "." + m.Name
			ch := Change{Kind: '~', Schema: schemaOf(urn), Path: path, New: prune(m.Value)}
			if present(cm) {
				ch.Old = *cm
			} else {
				ch.Kind = '+'
			}
			ch.Ops = []scim.PatchOperation{{Op: "replace", Path: path, Value: ch.New}}
			d.add(ch)
		}
	}
}

// replacedPrimary removes the current primary approver of a list when the
// input names another employee as primary and does not list the current
// one: a list has one primary approver, and the new one is added by its
// own key (approver.employeeNumber) afterwards.
func (d *differ) replacedPrimary(urn string, base func() string, cur []scim.Value, des scim.Value, key []string) {
	// The last primary entry the input supplies (with a key).
	var newPrimary []scimpath.Equality
	var terms [2]scimpath.Equality
	for k := len(des.Arr) - 1; k >= 0 && newPrimary == nil; k-- {
		if el := des.Arr[k]; isPrimary(el) && d.isSupplied(el) {
			if eqs, ok := appendKeyTerms(terms[:0], el, key); ok {
				newPrimary = eqs
			}
		}
	}
	if newPrimary == nil {
		return
	}
	for _, c := range cur {
		if !isPrimary(c) || scim.Matches(c, newPrimary) {
			continue
		}
		eqs, ok := keyTerms(c, key)
		if !ok {
			continue
		}
		listed := false
		for _, el := range des.Arr {
			if scim.Matches(el, eqs) {
				listed = true
			}
		}
		if listed {
			continue
		}
		path := base() + "[" + filterString(eqs) + "]"
		d.add(Change{Kind: '-', Schema: schemaOf(urn), Path: path, Old: c,
			Ops: []scim.PatchOperation{{Op: "remove", Path: path}}})
	}
}

func isPrimary(v scim.Value) bool {
	if v.Kind != scim.ObjectKind {
		return false
	}
	p, ok := v.Obj.Get("primary")
	return ok && p.Kind == scim.Bool && p.Bool
}

func (d *differ) addEntry(urn, base, shown string, el scim.Value) {
	v := prune(el)
	d.add(Change{Kind: '+', Schema: schemaOf(urn), Path: shown, New: v,
		Ops: []scim.PatchOperation{{Op: "add", Path: base, Value: scim.Value{Kind: scim.Array, Arr: []scim.Value{v}}}}})
}

func containsCovered(arr []scim.Value, el scim.Value) bool {
	for _, e := range arr {
		if covers(e, el) {
			return true
		}
	}
	return false
}

// prune returns a copy of v without origins, nulls and empty objects
// (as a resource is sent); empty lists are kept ("roleGroups": []).
func prune(v scim.Value) scim.Value {
	switch v.Kind {
	case scim.ObjectKind:
		o := &scim.Object{Members: make([]scim.Member, 0, len(v.Obj.Members))}
		for _, m := range v.Obj.Members {
			if m.Value.Kind == scim.Null {
				continue
			}
			pv := prune(m.Value)
			if pv.Kind == scim.ObjectKind && pv.Obj.Len() == 0 {
				continue
			}
			o.Members = append(o.Members, scim.Member{Name: m.Name, Value: pv})
		}
		return scim.Obj(o)
	case scim.Array:
		arr := make([]scim.Value, len(v.Arr))
		for i := range v.Arr {
			arr[i] = prune(v.Arr[i])
		}
		return scim.Value{Kind: scim.Array, Arr: arr}
	}
	v.Origin = 0
	return v
}
