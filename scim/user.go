package scim

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"scimigrate/scim/scimpath"
)

// Origin says where a value came from.
type Origin struct {
	File   string // input file
	Line   int    // line of the record (1-based)
	Col    int    // byte column of the field in the line (1-based)
	Column int    // field position in the record (1-based); 0 when the source is not positional
	Field  string // field name as the mapping table calls it
	Record string // record type: "305", "UserProfile", …
}

func (o Origin) String() string {
	return fmt.Sprintf("%s:%d:%d", o.File, o.Line, o.Col)
}

// origin is an Origin without the strings a record's values share.
type origin struct {
	field             string
	line, col, column int32
	src               int32 // index in User.sources
}

// originSource is what the values of one record have in common.
type originSource struct{ file, record string }

// Membership is a Y/N assertion about an element of a multi-valued attribute
// (a role, an entitlement): present or absent. Blank asserts nothing and is
// not recorded.
type Membership struct {
	Path    *scimpath.Path // the element, e.g. roles[roleName eq "EXP_APPROVER"]
	Present bool
	Origin  int32
}

// User is one converted employee: the resource being built, the memberships
// asserted absent (which a create omits and a plan removes), and where each
// value came from.
type User struct {
	Key      string // employeeNumber
	Identity bool   // an identity record (300/305/310, UserProfile, …) is among its records
	Doc      Object // the resource; extensions are members named by their URN
	Absent   []Membership

	// Origins, compactly: most of a record's values share its file and
	// record type, kept once in sources; OriginOf rebuilds an Origin.
	origins []origin
	sources []originSource

	root Value // the Doc as a value, for path walks

	// Slabs the tree's objects and member lists are cut from: a user holds
	// dozens of small objects. Reset keeps the slabs for the next user.
	objSlabs [][]Object
	memSlabs [][]Member
	valSlabs [][]Value
	lastURN  string // the extension container found last, for container
	lastExt  Value
	objCur   int // index of the slab being filled
	memCur   int
	valCur   int
}

// values returns an empty value list with room for n, cut from a slab.
func (u *User) values(n int) []Value {
	for {
		if u.valCur < len(u.valSlabs) {
			s := &u.valSlabs[u.valCur]
			if l := len(*s); cap(*s)-l >= n {
				*s = (*s)[:l+n]
				return (*s)[l : l : l+n]
			}
			u.valCur++
			continue
		}
		u.valSlabs = append(u.valSlabs, make([]Value, 0, max(128, n)))
	}
}

func (u *User) newObject(n int) *Object {
	for {
		if u.objCur < len(u.objSlabs) {
			s := &u.objSlabs[u.objCur]
			if len(*s) < cap(*s) {
				*s = append(*s, Object{Members: u.members(n)})
				return &(*s)[len(*s)-1]
			}
			u.objCur++
			continue
		}
		u.objSlabs = append(u.objSlabs, make([]Object, 0, 32))
	}
}

// members returns an empty member list with room for n; growing past n
// reallocates it on its own.
func (u *User) members(n int) []Member {
	for {
		if u.memCur < len(u.memSlabs) {
			s := &u.memSlabs[u.memCur]
			if l := len(*s); cap(*s)-l >= n {
				*s = (*s)[:l+n]
				return (*s)[l : l : l+n]
			}
			u.memCur++
			continue
		}
		u.memSlabs = append(u.memSlabs, make([]Member, 0, max(128, n)))
	}
}

// addMember appends an empty member called name to o and returns its value.
// A full member list of a slab object moves to a bigger piece of a slab
// (the old piece stays unused until Reset); the document's own list is an
// ordinary slice, since Reset keeps it while it reuses the slabs.
func (u *User) addMember(o *Object, name string) *Value {
	if len(o.Members) == cap(o.Members) && o != &u.Doc {
		ms := u.members(max(8, 2*len(o.Members)))
		o.Members = append(ms, o.Members...)
	}
	o.Members = append(o.Members, Member{Name: name})
	return &o.Members[len(o.Members)-1].Value
}

// appendValue is append for the arrays of the tree, growing them in slabs.
func (u *User) appendValue(arr []Value, v Value) []Value {
	if len(arr) == cap(arr) {
		arr = append(u.values(max(8, 2*len(arr))), arr...)
	}
	return append(arr, v)
}

// Empty reports whether nothing has been set or asserted on u yet.
func (u *User) Empty() bool {
	return len(u.Doc.Members) == 0 && len(u.Absent) == 0 && len(u.origins) == 0 && !u.Identity
}

// Reset empties u for reuse by another employee, keeping its allocations.
// Nothing may still refer to the previous tree.
//
// The slabs are truncated, not cleared: every piece cut from them is written
// whole before it is read (newObject, addMember, appendValue append), so the
// old contents only keep the previous employee's strings from the collector
// until they are overwritten.
func (u *User) Reset() {
	for i := range u.objSlabs {
		u.objSlabs[i] = u.objSlabs[i][:0]
	}
	for i := range u.memSlabs {
		u.memSlabs[i] = u.memSlabs[i][:0]
	}
	for i := range u.valSlabs {
		u.valSlabs[i] = u.valSlabs[i][:0]
	}
	u.objCur, u.memCur, u.valCur = 0, 0, 0
	clear(u.Doc.Members)
	u.Doc.Members = u.Doc.Members[:0]
	clear(u.origins)
	u.origins = u.origins[:0]
	clear(u.sources)
	u.sources = u.sources[:0]
	u.Absent = u.Absent[:0]
	u.Key, u.Identity, u.root = "", false, Value{}
	u.lastURN, u.lastExt = "", Value{}
}

// AddOrigin records o and returns the reference to store in Value.Origin.
func (u *User) AddOrigin(o Origin) int32 {
	return u.AddOriginOf(o.File, o.Record, o.Field, o.Line, o.Col, o.Column)
}

// AddOriginOf is AddOrigin with the Origin's fields as arguments: the
// engine records one per value, and consecutive ones share file and record.
func (u *User) AddOriginOf(file, record, field string, line, col, column int) int32 {
	n := len(u.sources)
	if n == 0 || u.sources[n-1].file != file || u.sources[n-1].record != record {
		u.sources = append(u.sources, originSource{file: file, record: record})
		n++
	}
	if u.origins == nil {
		u.origins = make([]origin, 0, 128)
	}
	u.origins = append(u.origins, origin{field: field, line: int32(line), col: int32(col), column: int32(column), src: int32(n - 1)})
	return int32(len(u.origins))
}

// OriginOf returns the origin of a value, if it has one.
func (u *User) OriginOf(ref int32) (Origin, bool) {
	if ref <= 0 || int(ref) > len(u.origins) {
		return Origin{}, false
	}
	o := &u.origins[ref-1]
	src := &u.sources[o.src]
	return Origin{File: src.file, Line: int(o.line), Col: int(o.col), Column: int(o.column), Field: o.field, Record: src.record}, true
}

// Conflict reports that a value was replaced by a different one.
type Conflict struct {
	Path     string
	Old, New Value
}

// Set assigns v at path, creating objects and keyed elements as needed. A
// filter in the path must be a conjunction of eq terms: it selects the element
// with those values, or creates it. It returns a non-nil *Conflict when a
// different value was already there (the new value wins).
func (u *User) Set(p *scimpath.Path, v Value) (*Conflict, error) {
	slot, err := u.slot(p, true)
	if err != nil {
		return nil, err
	}
	if len(p.Sub) == 0 && p.Filter != nil {
		return nil, fmt.Errorf("%s: a value needs a sub-attribute after the filter", p)
	}
	var c *Conflict
	if slot.Kind != Null && !Equal(*slot, v) {
		c = &Conflict{Path: p.String(), Old: *slot, New: v}
	}
	*slot = v
	return c, nil
}

// Assert records a Y/N membership: present creates the element the path's
// filter describes (if missing); absent removes it if an earlier record made
// it and remembers the assertion.
func (u *User) Assert(p *scimpath.Path, present bool, origin int32) error {
	if p.Filter == nil || len(p.Sub) != 0 {
		return fmt.Errorf("%s: a membership path must end with a filter", p)
	}
	for i := range u.Absent {
		if q := u.Absent[i].Path; q == p || q.String() == p.String() {
			u.Absent = append(u.Absent[:i], u.Absent[i+1:]...)
			break
		}
	}
	if present {
		slot, err := u.slot(p, true)
		if err != nil {
			return err
		}
		if slot.Origin == 0 {
			slot.Origin = origin
		}
		return nil
	}
	u.remove(p)
	u.Absent = append(u.Absent, Membership{Path: p, Present: false, Origin: origin})
	return nil
}

// Lookup returns the value at path, if present. For a filtered path without
// sub-attributes it returns the first matching element.
func (u *User) Lookup(p *scimpath.Path) (*Value, bool) {
	slot, err := u.slot(p, false)
	if err != nil || slot == nil {
		return nil, false
	}
	return slot, true
}

// Find returns the value at path p in resource doc (core attributes at the
// top level, extensions under their URN), as User.Lookup does for a User
// whose Doc is doc, without making a User.
func Find(doc *Object, p *scimpath.Path) (*Value, bool) {
	var cur *Value
	names := p.Attr
	if p.URN == "" || len(p.URN) == len(scimpath.CoreUser) && strings.EqualFold(p.URN, scimpath.CoreUser) {
		if len(names) == 0 {
			root := Obj(doc)
			cur = &root
		} else {
			next, ok := doc.Get(names[0])
			if !ok {
				return nil, false
			}
			cur, names = next, names[1:]
		}
	} else {
		ext, ok := doc.Get(p.URN)
		if !ok || ext.Kind != ObjectKind {
			return nil, false
		}
		cur = ext
	}
	if cur = find(cur, names); cur == nil {
		return nil, false
	}
	if p.Filter == nil {
		return cur, true
	}
	eqs, err := p.KeyTerms()
	if err != nil || cur.Kind != Array {
		return nil, false
	}
	elem := findElement(cur.Arr, eqs)
	if elem < 0 {
		return nil, false
	}
	el := &cur.Arr[elem]
	if len(p.Sub) == 0 {
		return el, true
	}
	if el.Kind != ObjectKind {
		return nil, false
	}
	if cur = find(el, p.Sub); cur == nil {
		return nil, false
	}
	return cur, true
}

// find is walk without create: nil when a name is missing or its parent is
// not an object.
func find(cur *Value, names []string) *Value {
	for _, name := range names {
		if cur.Kind != ObjectKind {
			return nil
		}
		next, ok := cur.Obj.Get(name)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

// container returns the object holding the path's attributes: the top level
// for the core schema, the extension object otherwise.
func (u *User) container(p *scimpath.Path, create bool) (*Value, error) {
	if p.URN == "" || len(p.URN) == len(scimpath.CoreUser) && strings.EqualFold(p.URN, scimpath.CoreUser) {
		if u.root.Obj == nil {
			u.root = Value{Kind: ObjectKind, Obj: &u.Doc}
		}
		return &u.root, nil
	}
	if u.lastExt.Obj != nil && u.lastURN == p.URN && len(p.Attr) > 0 {
		// Consecutive columns mostly target one extension. The cached
		// value only leads to the extension's Object (slab-allocated, it
		// never moves); callers with attributes never write through it.
		return &u.lastExt, nil
	}
	ext, ok := u.Doc.Get(p.URN)
	if !ok {
		if !create {
			return nil, nil
		}
		u.Doc.Members = append(u.Doc.Members, Member{Name: p.URN, Value: Obj(u.newObject(16))})
		ext = &u.Doc.Members[len(u.Doc.Members)-1].Value
	}
	if ext.Kind != ObjectKind {
		return nil, fmt.Errorf("%s is not an object", p.URN)
	}
	u.lastURN, u.lastExt = p.URN, Value{Kind: ObjectKind, Obj: ext.Obj}
	return ext, nil
}

// slot finds (or with create, makes) the value a path designates.
func (u *User) slot(p *scimpath.Path, create bool) (*Value, error) {
	cur, err := u.container(p, create)
	if err != nil || cur == nil {
		return nil, err
	}
	cur, err = u.walk(cur, p.Attr, create)
	if err != nil || cur == nil {
		return cur, err
	}
	if p.Filter == nil {
		return cur, nil
	}
	eqs, err := p.KeyTerms()
	if err != nil {
		if create {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return nil, nil
	}
	if cur.Kind == Null {
		if !create {
			return nil, nil
		}
		*cur = Value{Kind: Array, Arr: u.values(8)}
	}
	if cur.Kind != Array {
		return nil, fmt.Errorf("%s is not multi-valued", strings.Join(p.Attr, "."))
	}
	elem := findElement(cur.Arr, eqs)
	if elem < 0 {
		if !create {
			return nil, nil
		}
		nv, err := u.newElement(eqs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		cur.Arr = u.appendValue(cur.Arr, nv)
		elem = len(cur.Arr) - 1
	}
	el := &cur.Arr[elem]
	if len(p.Sub) == 0 {
		return el, nil
	}
	if el.Kind != ObjectKind {
		return nil, fmt.Errorf("%s: elements are not objects", p)
	}
	return u.walk(el, p.Sub, create)
}

func (u *User) walk(cur *Value, names []string, create bool) (*Value, error) {
	for _, name := range names {
		if cur.Kind == Null {
			if !create {
				return nil, nil
			}
			*cur = Obj(u.newObject(4))
		}
		if cur.Kind != ObjectKind {
			return nil, fmt.Errorf("cannot descend into %q: not an object", name)
		}
		next, ok := cur.Obj.Get(name)
		if !ok {
			if !create {
				return nil, nil
			}
			next = u.addMember(cur.Obj, name)
		}
		cur = next
	}
	return cur, nil
}

// primitiveKey reports whether eqs select an element of a primitive array:
// SCIM filters such arrays by "value" (entitlements[value eq "Expense"]).
func primitiveKey(eqs []Equality) bool {
	return len(eqs) == 1 && len(eqs[0].Attr) == 1 && eqs[0].Attr[0] == "value"
}

// Equality is re-exported for readability at call sites.
type Equality = scimpath.Equality

func findElement(arr []Value, eqs []Equality) int {
	if len(eqs) == 1 && len(eqs[0].Attr) == 1 && eqs[0].Value.Kind == scimpath.String {
		// The common key (id, type, roleName, value eq "…"): elements
		// made by newElement hold it as their first member.
		eq := &eqs[0]
		name, lit := eq.Attr[0], eq.Value.Str
		for i := range arr {
			el := &arr[i]
			if el.Kind == ObjectKind && len(el.Obj.Members) > 0 {
				if m := &el.Obj.Members[0]; m.Name == name {
					if m.Value.Kind == String && foldEqual(m.Value.Str, lit) {
						return i
					}
					continue
				}
			}
			if matches(el, eqs) {
				return i
			}
		}
		return -1
	}
	for i := range arr {
		if matches(&arr[i], eqs) {
			return i
		}
	}
	return -1
}

// Matches reports whether element el satisfies every equality.
func Matches(el Value, eqs []Equality) bool { return matches(&el, eqs) }

// KeyValue returns the value of element el that an equality on attr
// compares (Matches: el's sub-attribute at attr, or a primitive element
// itself for "value"), or nil when there is none: Matches(el, eqs) with
// one equality eq is KeyValue(el, eq.Attr) != nil &&
// LiteralEqual(KeyValue(el, eq.Attr), eq.Value).
func KeyValue(el *Value, attr []string) *Value {
	if el.Kind != ObjectKind {
		if len(attr) == 1 && attr[0] == "value" {
			return el
		}
		return nil
	}
	return find(el, attr)
}

// LiteralEqual reports whether v equals a filter literal as Matches
// compares them (strings case-insensitively).
func LiteralEqual(v *Value, lit *scimpath.Value) bool { return literalEqual(*v, *lit) }

func matches(el *Value, eqs []Equality) bool {
	if el.Kind != ObjectKind {
		return primitiveKey(eqs) && literalEqual(*el, eqs[0].Value)
	}
	for i := range eqs {
		eq := &eqs[i]
		cur := el
		for _, name := range eq.Attr {
			if cur.Kind != ObjectKind {
				return false
			}
			next, ok := cur.Obj.Get(name)
			if !ok {
				return false
			}
			cur = next
		}
		if !literalEqual(*cur, eq.Value) {
			return false
		}
	}
	return true
}

func literalEqual(v Value, lit scimpath.Value) bool {
	switch lit.Kind {
	case scimpath.String:
		// SCIM string comparison is case-insensitive unless caseExact (RFC
		// 7644 §3.4.2.2). Key values (types, ids, role names, employee
		// numbers) fold within their byte length, so unequal lengths differ.
		return v.Kind == String && foldEqual(v.Str, lit.Str)
	case scimpath.Bool:
		return v.Kind == Bool && v.Bool == lit.Bool
	case scimpath.Number:
		return v.Kind == Number && v.Str == lit.Str
	}
	return v.Kind == Null
}

// foldEqual is strings.EqualFold for key values, rejecting fast on length
// and on a differing last ASCII byte (most keys differ there: custom1…custom9).
func foldEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	if n := len(a); n > 0 {
		x, y := a[n-1], b[n-1]
		if x < utf8.RuneSelf && y < utf8.RuneSelf && lower(x) != lower(y) {
			return false
		}
	}
	return a == b || strings.EqualFold(a, b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// newElement builds the element an equality filter describes.
func (u *User) newElement(eqs []Equality) (Value, error) {
	if primitiveKey(eqs) && eqs[0].Value.Kind == scimpath.String {
		// Could be a primitive array; the caller decides by the array's
		// existing contents. Entitlements are strings in UPS.
		return Str(eqs[0].Value.Str), nil
	}
	el := Obj(u.newObject(len(eqs) + 3))
	for _, eq := range eqs {
		slot, err := u.walk(&el, eq.Attr, true)
		if err != nil {
			return Value{}, err
		}
		*slot = literalValue(eq.Value)
	}
	return el, nil
}

func literalValue(lit scimpath.Value) Value {
	switch lit.Kind {
	case scimpath.String:
		return Str(lit.Str)
	case scimpath.Bool:
		return BoolValue(lit.Bool)
	case scimpath.Number:
		return Num(lit.Str)
	}
	return Value{}
}

// remove deletes the elements a filtered path selects; it drops an array
// (and an extension object) that becomes empty.
func (u *User) remove(p *scimpath.Path) {
	cur, err := u.container(p, false)
	if err != nil || cur == nil {
		return
	}
	arr, err := u.walk(cur, p.Attr, false)
	if err != nil || arr == nil || arr.Kind != Array {
		return
	}
	eqs, err := p.KeyTerms()
	if err != nil {
		return
	}
	// Mostly nothing matches (an N for a role never given): compact the
	// array only from its first match on.
	first := findElement(arr.Arr, eqs)
	if first < 0 {
		return
	}
	kept := arr.Arr[:first]
	for i := first + 1; i < len(arr.Arr); i++ {
		if !matches(&arr.Arr[i], eqs) {
			kept = append(kept, arr.Arr[i])
		}
	}
	arr.Arr = kept
}

// Schemas returns the schema URNs the resource carries: core first, then each
// extension present, in order.
func (u *User) Schemas() []string {
	out := []string{scimpath.CoreUser}
	for _, m := range u.Doc.Members {
		if strings.HasPrefix(m.Name, "urn:") && m.Value.Kind == ObjectKind && m.Value.Obj.Len() > 0 {
			out = append(out, m.Name)
		}
	}
	return out
}

// AppendResource appends the resource as compact JSON: "schemas" first, then
// the members in insertion order. Empty arrays from removed memberships and
// empty extensions are left out.
func (u *User) AppendResource(b []byte) []byte {
	var buf [32]int
	order := u.order(buf[:0])
	b = append(b, `{"schemas":[`...)
	b = AppendString(b, scimpath.CoreUser)
	for _, i := range order {
		m := &u.Doc.Members[i]
		if strings.HasPrefix(m.Name, "urn:") && !empty(&m.Value) {
			b = append(b, ',')
			b = AppendString(b, m.Name)
		}
	}
	b = append(b, ']')
	for _, i := range order {
		m := &u.Doc.Members[i]
		if m.Name == "schemas" || m.Value.Kind == Null {
			continue
		}
		start := len(b)
		b = append(b, ',')
		b = AppendString(b, m.Name)
		b = append(b, ':')
		var full bool
		if b, full = appendPruned(b, &m.Value); !full {
			b = b[:start] // empty: left out
		}
	}
	return append(b, '}')
}

// topOrder is the order of top-level members in emitted resources: core
// attributes as the UPS reference lists them, then the extensions. Members
// not listed keep their insertion order after the listed core ones.
var topOrder = map[string]int{
	"id": 1, "externalId": 2, "userName": 3, "active": 4, "name": 5, "displayName": 6, "nickName": 7,
	"title": 8, "dateOfBirth": 9, "preferredLanguage": 10, "timezone": 11, "emails": 12, "phoneNumbers": 13,
	"addresses": 14, "entitlements": 15,
	scimpath.EnterpriseUser: 100, scimpath.EnterprisePayroll: 101, scimpath.SpendUser: 102, scimpath.SpendRole: 103,
	scimpath.SpendApprover: 104, scimpath.SpendDelegate: 105, scimpath.SpendUserPreference: 106,
	scimpath.SpendWorkflowPreference: 107, scimpath.TravelUser: 108,
}

// order appends the indexes of the top-level members in emission order.
func (u *User) order(idx []int) []int {
	start := len(idx)
	var buf [32]int
	ranks := buf[:0] // ranks[i] of idx[start+i], looked up once
	for i := range u.Doc.Members {
		idx = append(idx, i)
		ranks = append(ranks, rank(u.Doc.Members[i].Name))
	}
	// Insertion sort: stable, no allocation, a few dozen members at most.
	s := idx[start:]
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && ranks[j] < ranks[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
			ranks[j], ranks[j-1] = ranks[j-1], ranks[j]
		}
	}
	return idx
}

// rank is a top-level member's place in topOrder.
func rank(name string) int {
	if r, ok := topOrder[name]; ok {
		return r
	}
	if strings.HasPrefix(name, "urn:") {
		return 200
	}
	return 50
}

// empty reports whether v carries nothing worth sending. It stops at the
// first non-empty member, so it is cheap on the objects that are not.
func empty(v *Value) bool {
	switch v.Kind {
	case Null:
		return true
	case ObjectKind:
		for i := range v.Obj.Members {
			if !empty(&v.Obj.Members[i].Value) {
				return false
			}
		}
		return true
	case Array:
		return len(v.Arr) == 0
	}
	return false
}

// appendPruned appends v with empty members left out (see empty) and
// reports whether v is non-empty. An object is encoded in one pass: each
// member is written, then cut again if it turned out empty.
func appendPruned(b []byte, v *Value) ([]byte, bool) {
	switch v.Kind {
	case ObjectKind:
	case String:
		return AppendString(b, v.Str), true
	case Null:
		return AppendJSON(b, *v), false
	case Array:
		return AppendJSON(b, *v), len(v.Arr) > 0
	default:
		return AppendJSON(b, *v), true
	}
	b = append(b, '{')
	some := false // a member is non-empty
	first := true
	ms := v.Obj.Members
	for j := range ms {
		m := &ms[j]
		if m.Value.Kind == Null {
			continue
		}
		start := len(b)
		if !first {
			b = append(b, ',')
		}
		b = AppendString(b, m.Name)
		b = append(b, ':')
		var full bool
		if m.Value.Kind == Array {
			arr := m.Value.Arr
			full = len(arr) > 0
			b = append(b, '[')
			for i := range arr {
				if i > 0 {
					b = append(b, ',')
				}
				b, _ = appendPruned(b, &arr[i])
			}
			b = append(b, ']')
		} else {
			b, full = appendPruned(b, &m.Value)
		}
		if !full && !isRoleGroups(m) {
			b = b[:start]
			continue
		}
		some = some || full
		first = false
	}
	return append(b, '}'), some
}

// isRoleGroups keeps an explicitly empty roleGroups list: UPS reads
// "roleGroups": [] as "the global group".
func isRoleGroups(m *Member) bool { return m.Name == "roleGroups" && m.Value.Kind == Array }
