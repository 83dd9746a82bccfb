package schema

import (
	"fmt"
	"math/big"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"scimigrate/scim/scimpath"
)

// Node is a compiled schema: what a value at some attribute path must be.
// Nodes are shared where the documents use $ref (every UserReference is the
// same node), and must be treated as read-only.
type Node struct {
	Type        string   // JSON Schema type ("string", "boolean", "integer", "object", "array", …; "a|b" for several); "" when any
	Title       string   // title annotation
	Description string   // description annotation
	ReadOnly    bool     // readOnly annotation
	Enum        []string // allowed values; nil when any
	Const       *string  // the only allowed value; nil when any
	MinLength   int      // in characters (runes); -1 when not set
	MaxLength   int      // in characters (runes); -1 when not set
	Pattern     string   // regular expression (RE2, unanchored as in JSON Schema)
	Format      string   // "date", "date-time", "email" or ""
	Minimum     string   // number literal; "" when not set
	Maximum     string   // number literal; "" when not set
	Items       *Node    // element schema of an array
	MinItems    int      // -1 when not set
	MaxItems    int      // -1 when not set
	UniqueItems bool
	// Key lists the sub-attribute paths that identify an element of this
	// multi-valued attribute (x-key), e.g. ["type"] for emails.
	Key []string
	// Required lists the properties required when a user is created.
	Required []string
	// AdditionalProperties is false when only the listed properties may
	// appear.
	AdditionalProperties bool

	source   string // "file#pointer", for messages
	types    kindMask
	props    []prop
	required []int // indexes into props
	pattern  *regexp.Regexp
	fixed    []runeClass // pattern as a fixed sequence of classes (matchPattern)
	fixedEnd bool
	format   func(string) bool
	minimum  *big.Rat
	maximum  *big.Rat
	keys     [][]string
	hooks    []hook              // rules a schema cannot say (rules.go)
	ptab     [128]uint8          // exact property lookup: 1 + index into props, 0 empty
	enumSet  map[string]struct{} // for long enums
}

// eqFast is a == b, looking at the lengths and the last bytes first: the
// names compared (URNs, attribute names) often share long prefixes.
func eqFast(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || a[len(a)-1] == b[len(b)-1]) && a == b
}

// propHash spreads property names over Node.ptab.
func propHash(s string) int {
	return len(s)*131 + int(s[0])*31 + int(s[len(s)-1])*7 + int(s[len(s)/2])
}

// buildIndex fills the open-addressing table of exact property names.
func (n *Node) buildIndex() {
	for i, p := range n.props {
		if p.name == "" {
			continue
		}
		h := propHash(p.name)
		for k := range len(n.ptab) {
			slot := (h + k) & (len(n.ptab) - 1)
			if n.ptab[slot] == 0 {
				n.ptab[slot] = uint8(i + 1)
				break
			}
		}
	}
	if len(n.Enum) > 32 {
		n.enumSet = make(map[string]struct{}, len(n.Enum))
		for _, e := range n.Enum {
			n.enumSet[e] = struct{}{}
		}
	}
}

// inEnum reports whether s (as the encoder writes it) is an allowed value.
func (n *Node) inEnum(s string) bool {
	if n.enumSet != nil {
		if _, ok := n.enumSet[s]; ok {
			return true
		}
	} else {
		for _, e := range n.Enum {
			if eqFast(e, s) {
				return true
			}
		}
	}
	if !utf8.ValidString(s) {
		return n.inEnum(sanitize(s))
	}
	return false
}

type prop struct {
	name string
	node *Node
}

// index finds a property: an exact match first, then a case-insensitive one
// (SCIM attribute names are case-insensitive, RFC 7643 §2.1).
func (n *Node) index(name string) int {
	if len(name) > 0 && len(n.props) > 0 {
		h := propHash(name)
		for k := range len(n.ptab) {
			e := n.ptab[(h+k)&(len(n.ptab)-1)]
			if e == 0 {
				break
			}
			if eqFast(n.props[e-1].name, name) {
				return int(e - 1)
			}
		}
	}
	for i := range n.props {
		if strings.EqualFold(n.props[i].name, name) {
			return i
		}
	}
	return -1
}

// Property returns the schema of the named property (case-insensitive) and
// its canonical spelling.
func (n *Node) Property(name string) (*Node, string, bool) {
	i := n.index(name)
	if i < 0 {
		return nil, "", false
	}
	return n.props[i].node, n.props[i].name, true
}

// Properties lists the property names in document order.
func (n *Node) Properties() []string {
	out := make([]string, len(n.props))
	for i, p := range n.props {
		out[i] = p.name
	}
	return out
}

// MultiValued reports whether the node is an array (a multi-valued attribute).
func (n *Node) MultiValued() bool { return n.types&kArray != 0 }

// IsObject reports whether the node's values may be objects.
func (n *Node) IsObject() bool { return n.types&kObject != 0 }

// InEnum reports whether s is one of the node's enumerated values (true when
// the node has no enum).
func (n *Node) InEnum(s string) bool { return n.inEnum(s) }

// IsRequired reports whether the property is required on create.
func (n *Node) IsRequired(name string) bool {
	i := n.index(name)
	for _, r := range n.required {
		if r == i {
			return true
		}
	}
	return false
}

// Source is where the node is defined: "spend-user.json#/properties/locale".
func (n *Node) Source() string { return n.source }

// URNs lists the schema URNs of the resource: core first, then the
// extensions.
func URNs() []string { return append([]string(nil), std.urns...) }

// Schema returns the node holding the attributes of a schema URN (for the
// core schema, the resource's top level). Case-insensitive.
func Schema(urn string) (*Node, bool) { return std.schema(urn) }

func (s *schemaSet) schema(urn string) (*Node, bool) {
	n, ok := s.byURN[strings.ToLower(urn)]
	return n, ok
}

// Resource returns the node of the whole resource (schemas, core
// attributes, extension members).
func Resource() *Node { return std.root }

// shortURN abbreviates a schema URN for messages: "spend:2.0:User".
func shortURN(urn string) string {
	s := strings.TrimPrefix(urn, "urn:ietf:params:scim:schemas:")
	return strings.TrimPrefix(s, "extension:")
}

// Lookup returns the compiled node a path designates: the attribute, the
// sub-attribute, or for a filtered path without sub-attributes the element
// schema. It reports false when any piece does not exist.
func Lookup(p *scimpath.Path) (*Node, bool) {
	n, err := std.resolve(p)
	return n, err == nil
}

// CheckPath reports whether a mapping-table path exists in the schema: its
// schema URN, each attribute and sub-attribute (case-insensitive), the
// attributes its filter compares (on the elements), and that a filter is
// applied to a multi-valued attribute. The error names the missing piece.
func CheckPath(p *scimpath.Path) error {
	_, err := std.resolve(p)
	return err
}

func (s *schemaSet) resolve(p *scimpath.Path) (*Node, error) {
	urn := p.Schema()
	n, ok := s.schema(urn)
	if !ok {
		return nil, fmt.Errorf("unknown schema %q (known: %s)", urn, strings.Join(s.urns, ", "))
	}
	where := shortURN(urn)
	if strings.EqualFold(urn, scimpath.CoreUser) {
		where = shortURN(scimpath.CoreUser)
	}
	n, where, err := descend(n, where, p.Attr, urn, true)
	if err != nil {
		return nil, err
	}
	if p.Filter != nil {
		if !n.MultiValued() || n.Items == nil {
			return nil, fmt.Errorf("%s is not multi-valued; it cannot take a filter [%s]", where, p.Filter)
		}
		if err := checkFilter(n.Items, where, p.Filter); err != nil {
			return nil, err
		}
		n = n.Items
		if len(p.Sub) > 0 && n.types&kObject == 0 {
			return nil, fmt.Errorf("the elements of %s are %ss; they have no sub-attribute '%s'", where, n.Type, p.Sub[0])
		}
		n, _, err = descend(n, where+"[…]", p.Sub, urn, false)
		if err != nil {
			return nil, err
		}
	}
	return n, nil
}

// descend follows attribute names from n; where names n in messages.
func descend(n *Node, where string, names []string, urn string, top bool) (*Node, string, error) {
	for i, name := range names {
		if n.types&kObject == 0 || len(n.props) == 0 {
			if n.MultiValued() {
				return nil, "", fmt.Errorf("%s is multi-valued; select an element with a filter before '%s'", where, name)
			}
			return nil, "", fmt.Errorf("%s is a %s; it has no sub-attribute '%s'", where, n.Type, name)
		}
		child, canon, ok := n.Property(name)
		if !ok || (top && i == 0 && strings.EqualFold(urn, scimpath.CoreUser) && (canon == "schemas" || strings.HasPrefix(canon, "urn:"))) {
			what := "sub-attribute"
			if top && i == 0 {
				what = "attribute"
			}
			return nil, "", fmt.Errorf("%s has no %s '%s'", where, what, name)
		}
		sep := "."
		if top && i == 0 {
			sep = ":"
		}
		where += sep + canon
		n = child
	}
	return n, where, nil
}

// checkFilter verifies the attributes a value filter compares exist on the
// elements (an element schema el of the multi-valued attribute where).
func checkFilter(el *Node, where string, f *scimpath.Filter) error {
	switch f.Op {
	case scimpath.And, scimpath.Or:
		if err := checkFilter(el, where, f.Left); err != nil {
			return err
		}
		return checkFilter(el, where, f.Right)
	case scimpath.Not:
		return checkFilter(el, where, f.Left)
	}
	a := f.Attr
	if a == nil {
		return fmt.Errorf("%s: empty filter term", where)
	}
	if a.URN != "" {
		return fmt.Errorf("%s: filter attribute %s names a schema; filters compare sub-attributes of the elements", where, a)
	}
	if el.types&kObject == 0 {
		// Primitive elements (entitlements) are compared as "value".
		if len(a.Attr) == 1 && strings.EqualFold(a.Attr[0], "value") && f.Op != scimpath.Has {
			return nil
		}
		return fmt.Errorf("the elements of %s are %ss; filter them by value, not '%s'", where, el.Type, a)
	}
	n, at, err := descend(el, where+" elements", a.Attr, "", false)
	if err != nil {
		return err
	}
	if f.Op == scimpath.Has {
		if !n.MultiValued() || n.Items == nil {
			return fmt.Errorf("%s is not multi-valued; it cannot take a filter", at)
		}
		return checkFilter(n.Items, at, a.Filter)
	}
	return nil
}

// matchPattern is n.pattern.MatchString(s), faster for the patterns that are
// a fixed sequence of characters from classes, anchored at the start: each
// class then consumes exactly one character, so a single pass decides.
func (n *Node) matchPattern(s string) bool {
	if n.fixed == nil {
		return n.pattern.MatchString(s)
	}
	i := 0
	for _, cls := range n.fixed {
		if i >= len(s) {
			return false
		}
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if !cls.has(r) {
			return false
		}
		i += size
	}
	return !n.fixedEnd || i == len(s)
}

// runeClass is a set of rune ranges (lo, hi pairs).
type runeClass []rune

func (c runeClass) has(r rune) bool {
	for i := 0; i+1 < len(c); i += 2 {
		if c[i] <= r && r <= c[i+1] {
			return true
		}
	}
	return false
}

// fixedPattern compiles a pattern of the form ^x1x2…xn or ^x1x2…xn$, each xi
// a literal or a character class repeated an exact number of times, into
// one class per character; ok is false for any other pattern.
func fixedPattern(pattern string) (classes []runeClass, anchoredEnd bool, ok bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false, false
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return nil, false, false
	}
	subs := re.Sub[1:]
	if last := subs[len(subs)-1]; last.Op == syntax.OpEndText {
		anchoredEnd = true
		subs = subs[:len(subs)-1]
	}
	var add func(*syntax.Regexp) bool
	add = func(x *syntax.Regexp) bool {
		switch x.Op {
		case syntax.OpLiteral:
			if x.Flags&syntax.FoldCase != 0 {
				return false
			}
			for _, r := range x.Rune {
				classes = append(classes, runeClass{r, r})
			}
			return true
		case syntax.OpCharClass:
			classes = append(classes, runeClass(append([]rune(nil), x.Rune...)))
			return true
		case syntax.OpConcat:
			for _, s := range x.Sub {
				if !add(s) {
					return false
				}
			}
			return true
		}
		return false
	}
	for _, x := range subs {
		if !add(x) {
			return nil, false, false
		}
	}
	if len(classes) == 0 {
		return nil, false, false
	}
	return classes, anchoredEnd, true
}
