package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// Mode says which users a document describes.
type Mode int

const (
	// Create: a user to be created; required attributes apply.
	Create Mode = iota
	// Update: a partial document of a user that only receives updates; no
	// attribute is required.
	Update
)

func (m Mode) String() string {
	if m == Update {
		return "update"
	}
	return "create"
}

// Violation is a broken rule.
type Violation struct {
	// Path is the SCIM path of the offending attribute, e.g.
	// emails[type eq "work"].value or
	// urn:ietf:params:scim:schemas:extension:spend:2.0:User:country. Elements
	// are named by their key attribute (the schema's x-key); an element
	// without one is named by its 0-based index: phoneNumbers[2].
	Path string
	// Origin is the offending value's Value.Origin, or the nearest enclosing
	// value's; 0 if none.
	Origin int32
	// Rule is the JSON Schema keyword ("type", "required", "maxLength",
	// "enum", "pattern", "format", "additionalProperties", "duplicate", …) or
	// the name of a rule of rules.go ("userName", "country", "currency",
	// "locale", "dateRange", "adp", "primary", "unique", "reference").
	Rule string
	// Msg says what is wrong, for people.
	Msg string
}

func (v Violation) String() string { return v.Path + ": " + v.Msg + " (" + v.Rule + ")" }

// Validate checks a user as the encoder writes it (scim.User.AppendResource:
// the schemas list, then the members without empty values) against the
// schema and the rules of rules.go. It returns nil when the user is valid.
func Validate(u *scim.User, mode Mode) []Violation {
	var w walker
	w.init(u, mode, false)
	w.resource()
	return w.out
}

// validateWithPointers is Validate that also returns, per violation, the JSON
// location gojsonschema would report (segments joined by \x00), for the
// differential tests. Rules of rules.go are left out when schemaOnly.
func validateWithPointers(u *scim.User, mode Mode, schemaOnly bool) ([]Violation, []string) {
	var w walker
	w.init(u, mode, true)
	w.schemaOnly = schemaOnly
	w.resource()
	return w.out, w.ptrs
}

// emissionOrder returns the indexes of the top-level members the encoder
// writes, in the order it writes them (read back from its output, so that it
// follows whatever order scim.User.AppendResource uses).
func emissionOrder(u *scim.User) []int {
	dec := json.NewDecoder(bytes.NewReader(u.AppendResource(nil)))
	var names []string
	if t, err := dec.Token(); err == nil && t == json.Delim('{') {
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				break
			}
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				break
			}
			if name, ok := t.(string); ok {
				names = append(names, name)
			}
		}
	}
	used := make([]bool, len(u.Doc.Members))
	var out []int
	for _, name := range names {
		for i := range u.Doc.Members {
			m := &u.Doc.Members[i]
			if used[i] || m.Name == "schemas" || empty(&m.Value) || sanitize(m.Name) != name {
				continue
			}
			used[i] = true
			out = append(out, i)
			break
		}
	}
	return out
}

// prune says how the encoder writes a value (see scim.User.AppendResource).
type prune uint8

const (
	raw    prune = iota // everything, nulls and empty objects included (scim.AppendJSON)
	pruned              // objects without their empty members, arrays raw (appendPruned)
	elems               // an array whose elements are written pruned
)

const maxFrames = 32

// frame is one step of the path from the resource to the value at hand.
type frame struct {
	name string      // attribute name (canonical when known); for a synthesised string element (schemas), its value
	val  *scim.Value // the value; nil for the synthesised schemas list and its elements
	elem int         // element index, -1 for an attribute
}

type walker struct {
	u          *scim.User
	mode       Mode
	out        []Violation
	ptrs       []string
	wantPtr    bool
	schemaOnly bool
	self       int // violations reported at the current value itself
	depth      int
	frames     [maxFrames]frame
	st         ruleState
}

func (w *walker) init(u *scim.User, mode Mode, wantPtr bool) {
	w.u, w.mode, w.wantPtr = u, mode, wantPtr
}

func (w *walker) push(f frame) bool {
	if w.depth == maxFrames {
		return false
	}
	w.frames[w.depth] = f
	w.depth++
	return true
}

func (w *walker) pop() { w.depth-- }

// resource walks the top level: the schemas list the encoder adds, then each
// member that is not empty.
func (w *walker) resource() {
	root := std.root
	var seen uint64
	if i := root.index("schemas"); i >= 0 {
		seen |= 1 << i
		w.push(frame{name: "schemas", elem: -1})
		w.schemasList(root.props[i].node)
		w.pop()
	}
	// The encoder may reorder the top-level members (scim.User.order). The
	// order matters only when a name is given twice: the first one written
	// is the one that counts. So the members are looked up first, and only
	// if a name repeats are they walked in the order the encoder writes them.
	members := w.u.Doc.Members
	var idx [64]int8
	dup := len(members) > len(idx)
	var probe uint64 = seen
	for i := range members {
		m := &members[i]
		if dup {
			break
		}
		if m.Name == "schemas" || empty(&m.Value) {
			idx[i] = -2
			continue
		}
		j := root.index(m.Name)
		idx[i] = int8(j)
		if j >= 0 {
			dup = probe&(1<<j) != 0
			probe |= 1 << j
		}
	}
	if !dup {
		for i := range members {
			if idx[i] != -2 {
				w.memberAt(root, &seen, &members[i], int(idx[i]), pruned)
			}
		}
	} else {
		for _, i := range emissionOrder(w.u) {
			w.memberAt(root, &seen, &members[i], root.index(members[i].Name), pruned)
		}
	}
	w.checkRequired(root, seen)
	if !w.schemaOnly {
		w.resourceRules()
	}
}

// member validates one member of an object of schema n.
func (w *walker) member(n *Node, seen *uint64, m *scim.Member, childMode prune) {
	w.memberAt(n, seen, m, n.index(m.Name), childMode)
}

// memberAt is member with the property index j of m.Name (-1: unknown).
func (w *walker) memberAt(n *Node, seen *uint64, m *scim.Member, j int, childMode prune) {
	if j < 0 {
		if !n.AdditionalProperties {
			w.reportChild(m.Name, "additionalProperties", &m.Value, noSuchAttribute(w, n, m.Name))
		}
		return
	}
	name := n.props[j].name
	if *seen&(1<<j) != 0 {
		w.reportChild(name, "duplicate", &m.Value, fmt.Sprintf("%s is given more than once (SCIM names are case-insensitive)", name))
		return
	}
	*seen |= 1 << j
	if !w.push(frame{name: name, elem: -1, val: &m.Value}) {
		return
	}
	w.value(n.props[j].node, &m.Value, childMode)
	w.pop()
}

func noSuchAttribute(w *walker, n *Node, name string) string {
	where := w.where()
	if where == "" {
		return fmt.Sprintf("the resource has no attribute %q", name)
	}
	return fmt.Sprintf("%s has no attribute %q", where, name)
}

// schemasList validates the list the encoder writes: the core URN, then each
// extension member ("urn:…") that is not empty.
func (w *walker) schemasList(n *Node) {
	saved := w.self
	w.self = 0
	w.schemasItems(n)
	w.self = saved
}

func (w *walker) schemasItems(n *Node) {
	if n.types != 0 && n.types&kArray == 0 {
		w.report("type", "expected "+n.Type+", got array")
		return
	}
	members := w.u.Doc.Members
	var names [16]string
	var valid [16]bool
	names[0], valid[0] = scimpath.CoreUser, true
	count := 1
	if n.Items != nil {
		w.schemaItem(n, 0, scimpath.CoreUser)
	}
	for i := range members {
		m := &members[i]
		if !strings.HasPrefix(m.Name, "urn:") || empty(&m.Value) {
			continue
		}
		if n.Items != nil {
			w.schemaItem(n, count, m.Name)
		}
		if n.UniqueItems {
			ok := utf8.ValidString(m.Name)
			k := min(count, len(names))
			for j := 0; j < k; j++ {
				if names[j] == m.Name || !(ok && valid[j]) && sameString(names[j], m.Name) {
					w.report("uniqueItems", fmt.Sprintf("%q is listed twice", m.Name))
					break
				}
			}
			if count < len(names) {
				names[count], valid[count] = m.Name, ok
			}
		}
		count++
	}
	w.counts(n, count)
}

// schemaItem validates one URN of the schemas list (a string element that
// is not in the document, hence lit instead of val).
func (w *walker) schemaItem(n *Node, i int, urn string) {
	if !w.push(frame{elem: i, name: urn}) {
		return
	}
	saved := w.self
	w.self = 0
	it := n.Items
	if it.types != 0 && it.types&kString == 0 {
		w.report("type", "expected "+it.Type+", got string")
	} else {
		w.str(it, urn)
		if it.Enum != nil && !it.inEnum(urn) {
			w.report("enum", fmt.Sprintf("%q is not one of %s", urn, enumList(it.Enum)))
		}
		if it.Const != nil && !sameString(*it.Const, urn) {
			w.report("const", fmt.Sprintf("%q is not %q", urn, *it.Const))
		}
	}
	w.self = saved
	w.pop()
}

// value validates v against n; mode says how the encoder writes it.
func (w *walker) value(n *Node, v *scim.Value, mode prune) {
	saved := w.self
	w.self = 0
	if !typeOK(n.types, v) {
		w.report("type", fmt.Sprintf("expected %s, got %s", n.Type, kindName(v)))
		w.self = saved
		return
	}
	switch v.Kind {
	case scim.String:
		w.str(n, v.Str)
	case scim.Number:
		w.num(n, v.Str)
	case scim.ObjectKind:
		w.object(n, v.Obj, mode == pruned)
	case scim.Array:
		w.array(n, v.Arr, mode)
	}
	if n.Enum != nil && !(v.Kind == scim.String && n.inEnum(v.Str)) {
		w.report("enum", fmt.Sprintf("%s is not one of %s", show(v), enumList(n.Enum)))
	}
	if n.Const != nil && !(v.Kind == scim.String && sameString(*n.Const, v.Str)) {
		w.report("const", fmt.Sprintf("%s is not %q", show(v), *n.Const))
	}
	if w.self == 0 && len(n.hooks) > 0 && !w.schemaOnly {
		for _, h := range n.hooks {
			w.runHook(h, n, v)
		}
	}
	w.self = saved
}

func (w *walker) str(n *Node, s string) {
	// Lengths count characters (runes) as gojsonschema does; the encoder's
	// U+FFFD for an invalid byte is one character too, so the raw string
	// counts the same. A string no longer in bytes than the maximum is
	// short enough without counting.
	if n.MinLength > 0 && len(s) < 4*n.MinLength {
		if c := utf8.RuneCountInString(s); c < n.MinLength {
			if n.MinLength == 1 {
				w.report("minLength", "must not be empty")
			} else {
				w.report("minLength", fmt.Sprintf("shorter than %d characters (%d)", n.MinLength, c))
			}
		}
	}
	if n.MaxLength >= 0 && len(s) > n.MaxLength {
		if c := utf8.RuneCountInString(s); c > n.MaxLength {
			w.report("maxLength", fmt.Sprintf("longer than %d characters (%d)", n.MaxLength, c))
		}
	}
	if n.pattern == nil && n.format == nil {
		return
	}
	if !utf8.ValidString(s) {
		// Pattern and format see the text the encoder writes.
		s = sanitize(s)
	}
	if n.pattern != nil && !n.matchPattern(s) {
		w.report("pattern", fmt.Sprintf("%q does not match %s", s, n.Pattern))
	}
	if n.format != nil && !n.format(s) {
		w.report("format", fmt.Sprintf("%q is not a valid %s", s, formatDesc[n.Format]))
	}
}

var formatDesc = map[string]string{
	"date":      "date (YYYY-MM-DD)",
	"date-time": "date-time (YYYY-MM-DDThh:mm:ssZ)",
	"email":     "email address",
}

func (w *walker) num(n *Node, lit string) {
	if n.minimum == nil && n.maximum == nil {
		return
	}
	r, ok := new(big.Rat).SetString(lit)
	if !ok {
		return
	}
	if n.maximum != nil && r.Cmp(n.maximum) > 0 {
		w.report("maximum", fmt.Sprintf("%s is greater than %s", lit, n.Maximum))
	}
	if n.minimum != nil && r.Cmp(n.minimum) < 0 {
		w.report("minimum", fmt.Sprintf("%s is less than %s", lit, n.Minimum))
	}
}

func (w *walker) object(n *Node, o *scim.Object, prunes bool) {
	var seen uint64
	if o != nil {
		for i := range o.Members {
			m := &o.Members[i]
			childMode := raw
			if prunes {
				if empty(&m.Value) && !(m.Name == "roleGroups" && m.Value.Kind == scim.Array) {
					continue
				}
				childMode = pruned
				if m.Value.Kind == scim.Array {
					childMode = elems
				}
			}
			w.member(n, &seen, m, childMode)
		}
	}
	w.checkRequired(n, seen)
}

func (w *walker) checkRequired(n *Node, seen uint64) {
	if w.mode != Create {
		return
	}
	for _, j := range n.required {
		if seen&(1<<j) == 0 {
			name := n.props[j].name
			w.reportChild(name, "required", nil, "required attribute "+name+" is missing")
		}
	}
}

func (w *walker) array(n *Node, arr []scim.Value, mode prune) {
	elemMode := raw
	if mode == elems {
		elemMode = pruned
	}
	if n.Items != nil {
		for i := range arr {
			if w.push(frame{elem: i, val: &arr[i]}) {
				w.value(n.Items, &arr[i], elemMode)
				w.pop()
			}
		}
	}
	w.counts(n, len(arr))
	if n.UniqueItems && len(arr) > 1 {
		w.unique(arr, elemMode)
	}
}

func (w *walker) counts(n *Node, count int) {
	if n.MinItems >= 0 && count < n.MinItems {
		w.report("minItems", fmt.Sprintf("fewer than %d elements", n.MinItems))
	}
	if n.MaxItems >= 0 && count > n.MaxItems {
		w.report("maxItems", fmt.Sprintf("more than %d element(s)", n.MaxItems))
	}
}

// unique reports each element equal to an earlier one, as gojsonschema
// compares them: by their JSON encoding with numbers normalised.
func (w *walker) unique(arr []scim.Value, mode prune) {
	allStrings := true
	for i := range arr {
		if arr[i].Kind != scim.String {
			allStrings = false
			break
		}
	}
	if allStrings {
		allValid := true
		for i := range arr {
			if !utf8.ValidString(arr[i].Str) {
				allValid = false
				break
			}
		}
		for j := 1; j < len(arr); j++ {
			for i := 0; i < j; i++ {
				if arr[i].Str == arr[j].Str || !allValid && sameString(arr[i].Str, arr[j].Str) {
					w.report("uniqueItems", fmt.Sprintf("%s is listed twice", show(&arr[j])))
					break
				}
			}
		}
		return
	}
	keys := make([]string, len(arr))
	for i := range arr {
		keys[i] = canonicalJSON(&arr[i], mode)
	}
	for j := 1; j < len(arr); j++ {
		for i := 0; i < j; i++ {
			if keys[i] == keys[j] {
				w.report("uniqueItems", fmt.Sprintf("element %d repeats element %d", j, i))
				break
			}
		}
	}
}

// canonicalJSON is gojsonschema's marshalWithoutNumber of the encoded value:
// encode, decode into interface{} (numbers become float64), encode again.
func canonicalJSON(v *scim.Value, mode prune) string {
	var b []byte
	if mode == pruned {
		b = appendPruned(nil, v)
	} else {
		b = scim.AppendJSON(nil, *v)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return "\x00invalid:" + string(b)
	}
	out, _ := json.Marshal(x)
	return string(out)
}

// appendPruned mirrors the encoder's pruned form of a value.
func appendPruned(b []byte, v *scim.Value) []byte {
	if v.Kind != scim.ObjectKind {
		return scim.AppendJSON(b, *v)
	}
	b = append(b, '{')
	first := true
	if v.Obj != nil {
		for i := range v.Obj.Members {
			m := &v.Obj.Members[i]
			if empty(&m.Value) && !(m.Name == "roleGroups" && m.Value.Kind == scim.Array) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = scim.AppendString(b, m.Name)
			b = append(b, ':')
			if m.Value.Kind == scim.Array {
				b = append(b, '[')
				for j := range m.Value.Arr {
					if j > 0 {
						b = append(b, ',')
					}
					b = appendPruned(b, &m.Value.Arr[j])
				}
				b = append(b, ']')
				continue
			}
			b = appendPruned(b, &m.Value)
		}
	}
	return append(b, '}')
}

// empty is the encoder's test for a value it leaves out.
func empty(v *scim.Value) bool {
	switch v.Kind {
	case scim.Null:
		return true
	case scim.ObjectKind:
		if v.Obj == nil {
			return true
		}
		for i := range v.Obj.Members {
			if !empty(&v.Obj.Members[i].Value) {
				return false
			}
		}
		return true
	case scim.Array:
		return len(v.Arr) == 0
	}
	return false
}

func typeOK(types kindMask, v *scim.Value) bool {
	if types == 0 {
		return true
	}
	switch v.Kind {
	case scim.Null:
		return types&kNull != 0
	case scim.Bool:
		return types&kBool != 0
	case scim.String:
		return types&kString != 0
	case scim.Number:
		return types&kNumber != 0 || types&kInteger != 0 && isInteger(v.Str)
	case scim.ObjectKind:
		return types&kObject != 0
	case scim.Array:
		return types&kArray != 0
	}
	return false
}

// isInteger is gojsonschema's checkJSONInteger: the literal is a whole
// number (1, 1.0, 1e3).
func isInteger(lit string) bool {
	i := 0
	if i < len(lit) && lit[i] == '-' {
		i++
	}
	if i == len(lit) {
		return false
	}
	for ; i < len(lit); i++ {
		if lit[i] < '0' || lit[i] > '9' {
			r, ok := new(big.Rat).SetString(lit)
			return ok && r.IsInt()
		}
	}
	return true
}

func kindName(v *scim.Value) string {
	if v.Kind == scim.Number && isInteger(v.Str) {
		return "integer"
	}
	return v.Kind.String()
}

func enumList(enum []string) string {
	if len(enum) > 8 {
		return strings.Join(enum[:8], ", ") + fmt.Sprintf(", … (%d values)", len(enum))
	}
	return strings.Join(enum, ", ")
}

// sameString compares two strings as their JSON encodings do (invalid UTF-8
// bytes become U+FFFD).
func sameString(a, b string) bool {
	if a == b {
		return true
	}
	if utf8.ValidString(a) && utf8.ValidString(b) {
		return false
	}
	return sanitize(a) == sanitize(b)
}

// sanitize replaces each invalid UTF-8 byte by U+FFFD, as scim.AppendString
// does.
func sanitize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// show renders a value for messages.
func show(v *scim.Value) string {
	switch v.Kind {
	case scim.String:
		s := v.Str
		if utf8.RuneCountInString(s) > 60 {
			s = string([]rune(s)[:57]) + "…"
		}
		return strconv.Quote(s)
	case scim.ObjectKind:
		return "an object"
	case scim.Array:
		return "an array"
	}
	return string(scim.AppendJSON(nil, *v))
}

// report records a violation at the value of the innermost frame.
func (w *walker) report(rule, msg string) {
	w.self++
	w.add("", false, rule, msg, nil)
}

// reportChild records a violation at attribute name of the innermost frame's
// value (missing, unknown or duplicate); v is the child value, if any.
func (w *walker) reportChild(name, rule string, v *scim.Value, msg string) {
	w.add(name, true, rule, msg, v)
}

// add records a violation at the innermost frame's value, or at its
// attribute child when isChild.
func (w *walker) add(child string, isChild bool, rule, msg string, v *scim.Value) {
	var origin int32
	if v != nil {
		origin = v.Origin
	}
	for i := w.depth - 1; i >= 0 && origin == 0; i-- {
		if w.frames[i].val != nil {
			origin = w.frames[i].val.Origin
		}
	}
	w.out = append(w.out, Violation{Path: w.path(child, isChild), Origin: origin, Rule: rule, Msg: msg})
	if w.wantPtr {
		w.ptrs = append(w.ptrs, w.pointer(child, isChild))
	}
}

// path renders the SCIM path of the innermost frame, plus child when
// isChild.
func (w *walker) path(child string, isChild bool) string {
	var b strings.Builder
	afterURN := false
	n := std.root
	for i := 0; i < w.depth; i++ {
		f := &w.frames[i]
		if f.elem >= 0 {
			b.WriteByte('[')
			if f.val == nil {
				b.WriteString("value eq " + string(scim.AppendString(nil, f.name)))
			} else {
				b.WriteString(elementFilter(n, f.val, f.elem))
			}
			b.WriteByte(']')
			if n != nil {
				n = n.Items
			}
			continue
		}
		if b.Len() > 0 && !afterURN {
			b.WriteByte('.')
		}
		b.WriteString(f.name)
		afterURN = i == 0 && strings.HasPrefix(f.name, "urn:")
		if afterURN {
			b.WriteByte(':')
		}
		if n != nil {
			n, _, _ = n.Property(f.name)
		}
	}
	if isChild {
		if b.Len() > 0 && !afterURN {
			b.WriteByte('.')
		}
		b.WriteString(child)
	} else if afterURN {
		return strings.TrimSuffix(b.String(), ":")
	}
	return b.String()
}

// where names the innermost frame's value for messages: "spend:2.0:User",
// "name", "emails[type eq \"work\"]".
func (w *walker) where() string {
	if w.depth == 1 && strings.HasPrefix(w.frames[0].name, "urn:") {
		return shortURN(w.frames[0].name)
	}
	return w.path("", false)
}

// elementFilter names an element by its key attribute(s):
// type eq "work", value eq "Expense", or its index.
func elementFilter(arr *Node, el *scim.Value, idx int) string {
	if el != nil {
		switch el.Kind {
		case scim.String, scim.Number, scim.Bool:
			return "value eq " + literal(el)
		case scim.ObjectKind:
			if arr != nil {
				for _, key := range arr.keys {
					if k := getPath(el, key); k != nil && (k.Kind == scim.String || k.Kind == scim.Number || k.Kind == scim.Bool) {
						return strings.Join(key, ".") + " eq " + literal(k)
					}
				}
			}
		}
	}
	return strconv.Itoa(idx)
}

func literal(v *scim.Value) string {
	if v.Kind == scim.String {
		return string(scim.AppendString(nil, v.Str))
	}
	return string(scim.AppendJSON(nil, *v))
}

func getPath(v *scim.Value, names []string) *scim.Value {
	for _, n := range names {
		if v.Kind != scim.ObjectKind {
			return nil
		}
		next, ok := v.Obj.Get(n)
		if !ok {
			return nil
		}
		v = next
	}
	return v
}

// pointer renders the JSON location of the innermost frame (plus child) as
// gojsonschema reports it: segments joined by \x00.
func (w *walker) pointer(child string, isChild bool) string {
	var segs []string
	for i := 0; i < w.depth; i++ {
		f := &w.frames[i]
		if f.elem >= 0 && f.val == nil {
			segs = append(segs, "="+sanitize(f.name)) // schemas: by value, the encoder may reorder
		} else if f.elem >= 0 {
			segs = append(segs, strconv.Itoa(f.elem))
		} else {
			segs = append(segs, sanitize(f.name))
		}
	}
	if isChild {
		segs = append(segs, sanitize(child))
	}
	return strings.Join(segs, "\x00")
}
