// Package scimpath parses SCIM attribute paths as RFC 7644 §3.5.2 defines them
// for PATCH ("path" attribute) and §3.4.2.2 for filters:
//
//	PATH      = attrPath / valuePath [subAttr]
//	attrPath  = [URI ":"] ATTRNAME *1subAttr
//	valuePath = attrPath "[" valFilter "]"
//	valFilter = attrExp / logExp / *1"not" "(" valFilter ")"
//	attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//	compValue = false / null / true / number / string
//
// One path language serves the mapping tables (where a column's value goes),
// the planner (which PATCH operation changes it) and the schema checker (does the
// target exist). Two liberties are taken, both used by Concur's own examples:
// a value path may be followed by more than one sub-attribute
// (report[primary eq true].approver.employeeNumber), and a path may name a whole
// extension by its schema URN.
package scimpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Path is a parsed attribute path.
//
//	urn:…:spend:2.0:User:customData[id eq "custom7"].value
//	└─ URN ─────────────┘└─ Attr ──┘└─ Filter ──────┘└Sub┘
type Path struct {
	URN    string   // schema URN; "" for the core User schema
	Attr   []string // attribute then sub-attributes before the filter: ["name","givenName"]; empty when the path names a whole extension
	Filter *Filter  // value filter selecting elements of the multi-valued attribute Attr
	Sub    []string // sub-attributes after the filter: ["value"], ["approver","employeeNumber"]

	canon string // String(), computed by Parse
	eqs   []Equality
	eqErr error
}

// KeyTerms returns the equality terms of the path's filter (see
// Filter.Equalities), computed once by Parse.
func (p *Path) KeyTerms() ([]Equality, error) {
	if p.Filter == nil {
		return nil, ErrNotEqualities
	}
	if p.eqs == nil && p.eqErr == nil {
		return p.Filter.Equalities()
	}
	return p.eqs, p.eqErr
}

// Error is a parse error with the byte offset where it was found.
type Error struct {
	Input  string
	Offset int
	Msg    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid SCIM path %q at offset %d: %s", e.Input, e.Offset, e.Msg)
}

// KnownURNs are the schema URNs a path may begin with. Because URNs contain
// dots and colons ("…:spend:2.0:User"), the longest known URN that prefixes the
// path wins; an unknown "urn:" prefix is split at its last colon.
var KnownURNs = []string{
	CoreUser,
	EnterpriseUser,
	EnterprisePayroll,
	SpendUser,
	SpendRole,
	SpendApprover,
	SpendDelegate,
	SpendUserPreference,
	SpendWorkflowPreference,
	TravelUser,
}

// Schema URNs of the UPS v4 User resource and its extensions.
const (
	CoreUser                = "urn:ietf:params:scim:schemas:core:2.0:User"
	EnterpriseUser          = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	EnterprisePayroll       = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:Payroll"
	SpendUser               = "urn:ietf:params:scim:schemas:extension:spend:2.0:User"
	SpendRole               = "urn:ietf:params:scim:schemas:extension:spend:2.0:Role"
	SpendApprover           = "urn:ietf:params:scim:schemas:extension:spend:2.0:Approver"
	SpendDelegate           = "urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate"
	SpendUserPreference     = "urn:ietf:params:scim:schemas:extension:spend:2.0:UserPreference"
	SpendWorkflowPreference = "urn:ietf:params:scim:schemas:extension:spend:2.0:WorkflowPreference"
	TravelUser              = "urn:ietf:params:scim:schemas:extension:travel:2.0:User"
)

// Parse parses a PATCH-style attribute path.
func Parse(s string) (*Path, error) {
	p := &parser{in: s}
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	if p.pos != len(s) {
		return nil, p.errf("unexpected %q", s[p.pos:])
	}
	path.canon = path.render()
	if path.Filter != nil {
		path.eqs, path.eqErr = path.Filter.Equalities()
	}
	return path, nil
}

// MustParse is Parse for paths known at compile time; it panics on error.
func MustParse(s string) *Path {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// ParseFilter parses a standalone filter expression (as used in ?filter=).
func ParseFilter(s string) (*Filter, error) {
	p := &parser{in: s}
	f, err := p.filter()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(s) {
		return nil, p.errf("unexpected %q", s[p.pos:])
	}
	return f, nil
}

// String renders the path in canonical form; Parse(p.String()) equals p.
// Paths from Parse keep it, so String does not allocate for them.
func (p *Path) String() string {
	if p.canon != "" {
		return p.canon
	}
	return p.render()
}

func (p *Path) render() string {
	var b strings.Builder
	if p.URN != "" {
		b.WriteString(p.URN)
		if len(p.Attr) > 0 {
			b.WriteByte(':')
		}
	}
	b.WriteString(strings.Join(p.Attr, "."))
	if p.Filter != nil {
		b.WriteByte('[')
		b.WriteString(p.Filter.String())
		b.WriteByte(']')
	}
	for _, s := range p.Sub {
		b.WriteByte('.')
		b.WriteString(s)
	}
	return b.String()
}

// Schema returns the path's schema URN, CoreUser when it has none.
func (p *Path) Schema() string {
	if p.URN == "" {
		return CoreUser
	}
	return p.URN
}

// Parent returns the path without its trailing sub-attributes after the
// filter: the path of the selected element(s). It returns p when Sub is empty.
func (p *Path) Element() *Path {
	if len(p.Sub) == 0 {
		return p
	}
	q := *p
	q.Sub = nil
	q.canon = ""
	return &q
}

type parser struct {
	in  string
	pos int
}

func (p *parser) errf(format string, args ...any) error {
	return &Error{Input: p.in, Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) path() (*Path, error) {
	path := &Path{}
	if err := p.attrPath(path, true); err != nil {
		return nil, err
	}
	if p.pos < len(p.in) && p.in[p.pos] == '[' {
		if len(path.Attr) == 0 {
			return nil, p.errf("a filter needs an attribute before it")
		}
		f, err := p.bracket(0)
		if err != nil {
			return nil, err
		}
		path.Filter = f
		for p.pos < len(p.in) && p.in[p.pos] == '.' {
			p.pos++
			name, err := p.attrName()
			if err != nil {
				return nil, err
			}
			path.Sub = append(path.Sub, name)
		}
	}
	return path, nil
}

// attrPath reads [URI ":"] ATTRNAME *subAttr into path.URN and path.Attr.
// top allows a bare URN (a whole extension).
func (p *parser) attrPath(path *Path, top bool) error {
	rest := p.in[p.pos:]
	if len(rest) >= 4 && strings.EqualFold(rest[:4], "urn:") {
		end := strings.IndexAny(rest, "[ ")
		if end < 0 {
			end = len(rest)
		}
		head := rest[:end]
		urn := ""
		for _, u := range KnownURNs {
			if len(head) >= len(u) && strings.EqualFold(head[:len(u)], u) && len(u) > len(urn) &&
				(len(head) == len(u) || head[len(u)] == ':') {
				urn = u
			}
		}
		if urn == "" {
			i := strings.LastIndexByte(head, ':')
			if i <= 4 || i == len(head)-1 {
				return p.errf("cannot tell the schema URN from the attribute in %q", head)
			}
			// An unknown URN: the attribute (with sub-attributes) follows the last colon.
			urn = head[:i]
		} else {
			urn = rest[:len(urn)]
		}
		path.URN = urn
		p.pos += len(urn)
		if p.pos == len(p.in) || p.in[p.pos] != ':' {
			if top && (p.pos == len(p.in)) {
				return nil // whole extension
			}
			return p.errf("expected ':' and an attribute name after the schema URN")
		}
		p.pos++
	}
	name, err := p.attrName()
	if err != nil {
		return err
	}
	path.Attr = append(path.Attr, name)
	for p.pos < len(p.in) && p.in[p.pos] == '.' {
		p.pos++
		name, err := p.attrName()
		if err != nil {
			return err
		}
		path.Attr = append(path.Attr, name)
	}
	return nil
}

// attrName reads ATTRNAME = ALPHA *(nameChar); "$ref" is allowed as in RFC 7643.
func (p *parser) attrName() (string, error) {
	start := p.pos
	if strings.HasPrefix(p.in[p.pos:], "$ref") {
		p.pos += 4
		return "$ref", nil
	}
	if p.pos >= len(p.in) || !isAlpha(p.in[p.pos]) {
		return "", p.errf("expected an attribute name")
	}
	p.pos++
	for p.pos < len(p.in) && isNameChar(p.in[p.pos]) {
		p.pos++
	}
	return p.in[start:p.pos], nil
}

func isAlpha(c byte) bool    { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isNameChar(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' || c == '-' || c == '_' }

func (p *parser) skipSpace() {
	for p.pos < len(p.in) && p.in[p.pos] == ' ' {
		p.pos++
	}
}

// keyword reports whether the next word (case-insensitive) is kw followed by a
// non-name character, and consumes it.
func (p *parser) keyword(kw string) bool {
	rest := p.in[p.pos:]
	if len(rest) < len(kw) || !strings.EqualFold(rest[:len(kw)], kw) {
		return false
	}
	if len(rest) > len(kw) && isNameChar(rest[len(kw)]) {
		return false
	}
	p.pos += len(kw)
	return true
}

// Filter grammar, lowest precedence first: or, and, not/paren/attrExp.
func (p *parser) filter() (*Filter, error) { return p.orExpr(0) }

const maxDepth = 64

// bracket reads "[" valFilter "]" at p.pos.
func (p *parser) bracket(depth int) (*Filter, error) {
	p.pos++ // [
	f, err := p.orExpr(depth)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos >= len(p.in) || p.in[p.pos] != ']' {
		return nil, p.errf("expected ']'")
	}
	p.pos++
	return f, nil
}

func (p *parser) orExpr(depth int) (*Filter, error) { return p.binary(depth, Or, p.andExpr) }

func (p *parser) andExpr(depth int) (*Filter, error) { return p.binary(depth, And, p.unary) }

// binary reads operand (op operand)*, left-associative.
func (p *parser) binary(depth int, op CompareOp, operand func(int) (*Filter, error)) (*Filter, error) {
	left, err := operand(depth)
	if err != nil {
		return nil, err
	}
	for {
		save := p.pos
		p.skipSpace()
		if !p.keyword(string(op)) {
			p.pos = save
			return left, nil
		}
		p.skipSpace()
		right, err := operand(depth)
		if err != nil {
			return nil, err
		}
		left = &Filter{Op: op, Left: left, Right: right}
	}
}

func (p *parser) unary(depth int) (*Filter, error) {
	if depth > maxDepth {
		return nil, p.errf("filter nested too deeply")
	}
	p.skipSpace()
	save := p.pos
	if p.keyword("not") {
		p.skipSpace()
		if p.pos < len(p.in) && p.in[p.pos] == '(' {
			inner, err := p.paren(depth)
			if err != nil {
				return nil, err
			}
			return &Filter{Op: Not, Left: inner}, nil
		}
		p.pos = save // an attribute called "not…"
	}
	if p.pos < len(p.in) && p.in[p.pos] == '(' {
		return p.paren(depth)
	}
	return p.attrExp(depth)
}

func (p *parser) paren(depth int) (*Filter, error) {
	p.pos++ // (
	f, err := p.orExpr(depth + 1)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos >= len(p.in) || p.in[p.pos] != ')' {
		return nil, p.errf("expected ')'")
	}
	p.pos++
	return f, nil
}

func (p *parser) attrExp(depth int) (*Filter, error) {
	var ap Path
	if err := p.attrPath(&ap, false); err != nil {
		return nil, err
	}
	f := &Filter{Attr: &ap}
	// A nested value filter: emails[type eq "work" and value co "@x"] inside a filter.
	if p.pos < len(p.in) && p.in[p.pos] == '[' {
		inner, err := p.bracket(depth + 1)
		if err != nil {
			return nil, err
		}
		ap.Filter = inner
		f.Op = Has
		return f, nil
	}
	if p.pos >= len(p.in) || p.in[p.pos] != ' ' {
		return nil, p.errf("expected a space and an operator after %q", ap.String())
	}
	p.skipSpace()
	opStart := p.pos
	for p.pos < len(p.in) && isAlpha(p.in[p.pos]) {
		p.pos++
	}
	op := CompareOp(strings.ToLower(p.in[opStart:p.pos]))
	switch op {
	case Pr:
		f.Op = Pr
		return f, nil
	case Eq, Ne, Co, Sw, Ew, Gt, Ge, Lt, Le:
		f.Op = op
	default:
		p.pos = opStart
		return nil, p.errf("unknown operator %q", op)
	}
	if p.pos >= len(p.in) || p.in[p.pos] != ' ' {
		return nil, p.errf("expected a space and a value after %q", op)
	}
	p.skipSpace()
	v, err := p.compValue()
	if err != nil {
		return nil, err
	}
	f.Value = v
	return f, nil
}

func (p *parser) compValue() (Value, error) {
	if p.pos >= len(p.in) {
		return Value{}, p.errf("expected a value")
	}
	switch c := p.in[p.pos]; {
	case c == '"':
		return p.stringValue()
	case p.keyword("true"):
		return Value{Kind: Bool, Bool: true}, nil
	case p.keyword("false"):
		return Value{Kind: Bool}, nil
	case p.keyword("null"):
		return Value{Kind: Null}, nil
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		p.pos++
		for p.pos < len(p.in) && strings.IndexByte("0123456789.eE+-", p.in[p.pos]) >= 0 {
			p.pos++
		}
		lit := p.in[start:p.pos]
		if _, err := strconv.ParseFloat(lit, 64); err != nil {
			p.pos = start
			return Value{}, p.errf("invalid number %q", lit)
		}
		return Value{Kind: Number, Str: lit}, nil
	default:
		return Value{}, p.errf("expected a string, number, true, false or null")
	}
}

// stringValue reads a JSON string literal.
func (p *parser) stringValue() (Value, error) {
	start := p.pos
	p.pos++
	simple := true
	for p.pos < len(p.in) {
		switch c := p.in[p.pos]; {
		case c == '\\':
			simple = false
			p.pos += 2
			continue
		case c == '"':
			p.pos++
			lit := p.in[start:p.pos]
			if simple {
				return Value{Kind: String, Str: lit[1 : len(lit)-1]}, nil
			}
			var s string
			if err := json.Unmarshal([]byte(lit), &s); err != nil {
				p.pos = start
				return Value{}, p.errf("invalid string literal %s", lit)
			}
			return Value{Kind: String, Str: s}, nil
		case c < 0x20:
			return Value{}, p.errf("control character in string")
		case c >= utf8.RuneSelf:
			// A filter is text: bytes that are not UTF-8 have no canonical
			// form (JSON would print them as U+FFFD, a different string).
			r, n := utf8.DecodeRuneInString(p.in[p.pos:])
			if r == utf8.RuneError && n == 1 {
				return Value{}, p.errf("string is not valid UTF-8 (byte 0x%02x)", c)
			}
			p.pos += n
			continue
		}
		p.pos++
	}
	p.pos = start
	return Value{}, p.errf("unterminated string")
}

// ErrNotEqualities is returned by Equalities for filters that are not a
// conjunction of "eq" comparisons.
var ErrNotEqualities = errors.New("filter is not a conjunction of eq comparisons")
