package schema

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"

	"scimigrate/converter/scimpath"
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
	format   func(string) bool
	minimum  *big.Rat
	maximum  *big.Rat
	keys     [][]string
	hooks    []hook // rules a schema cannot say (rules.go)
}

type prop struct {
	name string
	node *Node
}

// index finds a property: an exact match first, then a case-insensitive one
// (SCIM attribute names are case-insensitive, RFC 7643 §2.1).
func (n *Node) index(name string) int {
	for i := range n.props {
		if n.props[i].name == name {
			return i
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
func Schema(urn string) (*Node, bool) {
	n, ok := std.byURN[strings.ToLower(urn)]
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
	n, err := resolve(p)
	return n, err == nil
}

// CheckPath reports whether a mapping-table path exists in the schema: its
// schema URN, each attribute and sub-attribute (case-insensitive), the
// attributes its filter compares (on the elements), and that a filter is
// applied to a multi-valued attribute. The error names the missing piece.
func CheckPath(p *scimpath.Path) error {
	_, err := resolve(p)
	return err
}

func resolve(p *scimpath.Path) (*Node, error) {
	urn := p.Schema()
	n, ok := Schema(urn)
	if !ok {
		return nil, fmt.Errorf("unknown schema %q (known: %s)", urn, strings.Join(std.urns, ", "))
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
