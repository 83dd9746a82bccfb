package upsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A small SCIM filter language (RFC 7644 §3.4.2.2) used by the identity
// search endpoints and by PATCH value-selection filters:
//
//	filter   = or
//	or       = and *("or" and)
//	and      = unary *("and" unary)
//	unary    = "not" unary / "(" filter ")" / attrExp
//	attrExp  = attrPath "pr" / attrPath compOp compValue / attrPath "[" filter "]"
//	compOp   = eq ne co sw ew gt ge lt le
//	compValue= "string" / number / true / false / null
//
// attrPath is [URN ":"] attr *("." sub). Keywords are case-insensitive;
// string comparisons are case-insensitive (caseExact=false everywhere).

const (
	maxFilterLen   = 64 << 10
	maxFilterDepth = 32
)

type tokKind int

const (
	tokWord tokKind = iota
	tokString
	tokLParen
	tokRParen
	tokLBrack
	tokRBrack
)

type token struct {
	kind tokKind
	text string // word text, or the decoded string literal
}

func lexFilter(s string) ([]token, error) {
	if len(s) > maxFilterLen {
		return nil, errors.New("filter too long")
	}
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{kind: tokLParen})
			i++
		case c == ')':
			toks = append(toks, token{kind: tokRParen})
			i++
		case c == '[':
			toks = append(toks, token{kind: tokLBrack})
			i++
		case c == ']':
			toks = append(toks, token{kind: tokRBrack})
			i++
		case c == '"':
			j, err := scanString(s, i)
			if err != nil {
				return nil, err
			}
			var v string
			if err := json.Unmarshal([]byte(s[i:j]), &v); err != nil {
				return nil, fmt.Errorf("bad string literal at %d", i)
			}
			toks = append(toks, token{kind: tokString, text: v})
			i = j
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()[]\"", rune(s[j])) {
				j++
			}
			toks = append(toks, token{kind: tokWord, text: s[i:j]})
			i = j
		}
	}
	return toks, nil
}

// scanString returns the index just past the closing quote of the string
// literal starting at s[i] == '"'.
func scanString(s string, i int) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at %d", i)
}

// attrRef is a parsed attribute path. urn is "" for paths relative to an
// element of a multi-valued attribute.
type attrRef struct {
	urn   string
	parts []string // attr, then sub-attributes
}

func (a attrRef) String() string {
	p := strings.Join(a.parts, ".")
	if a.urn != "" && a.urn != urnCore {
		return a.urn + ":" + p
	}
	return p
}

type filterNode interface{ isFilter() }

type fAnd struct{ l, r filterNode }
type fOr struct{ l, r filterNode }
type fNot struct{ x filterNode }
type fPresent struct{ ref attrRef }
type fCmp struct {
	ref attrRef
	op  string
	val any // string, float64, bool or nil
}
type fValuePath struct {
	ref   attrRef
	inner filterNode
}

func (fAnd) isFilter()       {}
func (fOr) isFilter()        {}
func (fNot) isFilter()       {}
func (fPresent) isFilter()   {}
func (fCmp) isFilter()       {}
func (fValuePath) isFilter() {}

type filterParser struct {
	toks     []token
	pos      int
	depth    int
	resource bool // attribute names are resource-level (resolve URNs/short names)
}

// parseFilter parses a filter. With resource set, un-prefixed names are
// resolved against the core and enterprise schemas; otherwise they are
// relative to an element of a multi-valued attribute.
func parseFilter(s string, resource bool) (filterNode, error) {
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, errors.New("empty filter")
	}
	p := &filterParser{toks: toks, resource: resource}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected token %q", p.toks[p.pos].text)
	}
	return n, nil
}

func (p *filterParser) peekWord(w string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == tokWord && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *filterParser) parseOr() (filterNode, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.peekWord("or") {
		p.pos++
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = fOr{l, r}
	}
	return l, nil
}

func (p *filterParser) parseAnd() (filterNode, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.peekWord("and") {
		p.pos++
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		l = fAnd{l, r}
	}
	return l, nil
}

func (p *filterParser) parseUnary() (filterNode, error) {
	if p.pos >= len(p.toks) {
		return nil, errors.New("unexpected end of filter")
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxFilterDepth {
		return nil, errors.New("filter nested too deeply")
	}
	t := p.toks[p.pos]
	switch {
	case t.kind == tokWord && strings.EqualFold(t.text, "not"):
		p.pos++
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return fNot{x}, nil
	case t.kind == tokLParen:
		p.pos++
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != tokRParen {
			return nil, errors.New("missing )")
		}
		p.pos++
		return x, nil
	case t.kind != tokWord:
		return nil, fmt.Errorf("expected attribute path, got %q", t.text)
	}
	ref, err := parseAttrRef(t.text, p.resource)
	if err != nil {
		return nil, err
	}
	p.pos++
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("missing operator after %q", t.text)
	}
	if p.toks[p.pos].kind == tokLBrack {
		p.pos++
		sub := &filterParser{toks: p.toks, pos: p.pos, depth: p.depth}
		inner, err := sub.parseOr()
		if err != nil {
			return nil, err
		}
		p.pos = sub.pos
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != tokRBrack {
			return nil, errors.New("missing ]")
		}
		p.pos++
		return fValuePath{ref, inner}, nil
	}
	opTok := p.toks[p.pos]
	if opTok.kind != tokWord {
		return nil, fmt.Errorf("expected operator after %q", t.text)
	}
	op := strings.ToLower(opTok.text)
	p.pos++
	switch op {
	case "pr":
		return fPresent{ref}, nil
	case "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le":
	default:
		return nil, fmt.Errorf("unsupported operator %q", opTok.text)
	}
	if p.pos >= len(p.toks) {
		return nil, errors.New("missing comparison value")
	}
	vt := p.toks[p.pos]
	p.pos++
	var val any
	switch {
	case vt.kind == tokString:
		val = vt.text
	case vt.kind == tokWord && strings.EqualFold(vt.text, "true"):
		val = true
	case vt.kind == tokWord && strings.EqualFold(vt.text, "false"):
		val = false
	case vt.kind == tokWord && strings.EqualFold(vt.text, "null"):
		val = nil
	case vt.kind == tokWord:
		f, err := strconv.ParseFloat(vt.text, 64)
		if err != nil {
			return nil, fmt.Errorf("bad comparison value %q", vt.text)
		}
		val = f
	default:
		return nil, errors.New("bad comparison value")
	}
	if (op == "co" || op == "sw" || op == "ew") && !isString(val) {
		return nil, fmt.Errorf("operator %s needs a string", op)
	}
	return fCmp{ref, op, val}, nil
}

func isString(v any) bool { _, ok := v.(string); return ok }

// validName reports whether s is an ATTRNAME (ALPHA *(nameChar)); "$ref" is
// allowed too.
func validName(s string) bool {
	if s == "$ref" {
		return true
	}
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// splitURN separates a known schema URN prefix from an attribute path.
// ok is false when s starts with "urn:" but no known URN prefixes it.
func splitURN(s string) (urn, rest string, ok bool) {
	if len(s) < 4 || !strings.EqualFold(s[:4], "urn:") {
		return "", s, true
	}
	best := ""
	for u := range knownAttrs {
		if len(s) > len(u) && strings.EqualFold(s[:len(u)], u) && s[len(u)] == ':' && len(u) > len(best) {
			best = u
		}
	}
	if best == "" {
		return "", "", false
	}
	return best, s[len(best)+1:], true
}

func parseAttrRef(s string, resource bool) (attrRef, error) {
	urn, rest, ok := splitURN(s)
	if !ok {
		return attrRef{}, fmt.Errorf("unknown schema in %q", s)
	}
	parts := strings.Split(rest, ".")
	for _, pt := range parts {
		if !validName(pt) {
			return attrRef{}, fmt.Errorf("invalid attribute path %q", s)
		}
	}
	if resource && urn == "" {
		urn = shortToURN(parts[0])
	}
	return attrRef{urn: urn, parts: parts}, nil
}

// resolveValues returns the values an attribute path designates within ctx,
// flattening multi-valued attributes. For a primitive element of a
// multi-valued attribute the path "value" designates the element itself.
func resolveValues(ctx any, ref attrRef) []any {
	base := ctx
	if ref.urn != "" && ref.urn != urnCore {
		m, _ := ctx.(map[string]any)
		base = getCI(m, ref.urn)
		if base == nil {
			return nil
		}
	}
	cur := []any{base}
	for _, part := range ref.parts {
		var next []any
		for _, c := range cur {
			switch t := c.(type) {
			case map[string]any:
				next = appendFlat(next, getCI(t, part))
			case nil:
			default:
				if strings.EqualFold(part, "value") {
					next = append(next, t)
				}
			}
		}
		cur = next
	}
	return cur
}

func appendFlat(dst []any, v any) []any {
	switch t := v.(type) {
	case nil:
		return dst
	case []any:
		for _, e := range t {
			if e != nil {
				dst = append(dst, e)
			}
		}
		return dst
	default:
		return append(dst, v)
	}
}

// evalFilter reports whether ctx matches n.
func evalFilter(n filterNode, ctx any) bool {
	switch t := n.(type) {
	case fAnd:
		return evalFilter(t.l, ctx) && evalFilter(t.r, ctx)
	case fOr:
		return evalFilter(t.l, ctx) || evalFilter(t.r, ctx)
	case fNot:
		return !evalFilter(t.x, ctx)
	case fPresent:
		for _, v := range resolveValues(ctx, t.ref) {
			if s, ok := v.(string); ok && s == "" {
				continue
			}
			if m, ok := v.(map[string]any); ok && len(m) == 0 {
				continue
			}
			return true
		}
		return false
	case fValuePath:
		for _, v := range resolveValues(ctx, t.ref) {
			if evalFilter(t.inner, v) {
				return true
			}
		}
		return false
	case fCmp:
		vals := resolveValues(ctx, t.ref)
		if len(vals) == 0 {
			return (t.op == "eq" && t.val == nil) || (t.op == "ne" && t.val != nil)
		}
		for _, v := range vals {
			if compare(t.op, v, t.val) {
				return true
			}
		}
		return false
	}
	return false
}

func toFloat(v any) (float64, bool) {
	switch t := v.(type) {
	case float64:
		return t, true
	case json.Number:
		f, err := t.Float64()
		return f, err == nil
	case int:
		return float64(t), true
	}
	return 0, false
}

func compare(op string, v, lit any) bool {
	if op == "ne" {
		return !compare("eq", v, lit)
	}
	switch l := lit.(type) {
	case nil:
		return op == "eq" && v == nil
	case bool:
		b, ok := v.(bool)
		return ok && op == "eq" && b == l
	case float64:
		f, ok := toFloat(v)
		if !ok {
			return false
		}
		switch op {
		case "eq":
			return f == l
		case "gt":
			return f > l
		case "ge":
			return f >= l
		case "lt":
			return f < l
		case "le":
			return f <= l
		}
		return false
	case string:
		s, ok := v.(string)
		if !ok {
			return false
		}
		a, b := strings.ToLower(s), strings.ToLower(l)
		switch op {
		case "eq":
			return a == b
		case "co":
			return strings.Contains(a, b)
		case "sw":
			return strings.HasPrefix(a, b)
		case "ew":
			return strings.HasSuffix(a, b)
		case "gt":
			return a > b
		case "ge":
			return a >= b
		case "lt":
			return a < b
		case "le":
			return a <= b
		}
	}
	return false
}

// eqTerms returns the (attribute, value) pairs of a filter that is a pure
// or-chain of string equality tests, so lookups can use an index.
func eqTerms(n filterNode) ([]fCmp, bool) {
	switch t := n.(type) {
	case fOr:
		l, ok := eqTerms(t.l)
		if !ok {
			return nil, false
		}
		r, ok := eqTerms(t.r)
		if !ok {
			return nil, false
		}
		return append(l, r...), true
	case fCmp:
		if t.op == "eq" && isString(t.val) {
			return []fCmp{t}, true
		}
	}
	return nil, false
}
