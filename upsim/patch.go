package upsim

import (
	"fmt"
	"strings"
)

// opError is a per-operation (or per-extension) failure reported in the
// provision status.
type opError struct {
	status     int    // HTTP-style code: 400, 404, 409
	code       string // Concur message code: INVALID_PATH, INVALID_VALUE, …
	message    string
	schemaPath string
}

func (e *opError) Error() string { return e.code + ": " + e.message }

func errPath(path, format string, args ...any) *opError {
	return &opError{400, "INVALID_PATH", fmt.Sprintf(format, args...), path}
}

func errValue(path, format string, args ...any) *opError {
	return &opError{400, "INVALID_VALUE", fmt.Sprintf(format, args...), path}
}

func errInput(path, format string, args ...any) *opError {
	return &opError{400, "INVALID_INPUT", fmt.Sprintf(format, args...), path}
}

// patchPath is a parsed PATCH "path":
//
//	attr | attr.sub | URN:attr | URN:attr.sub | URN | URN:
//	attr[filter] | attr[filter].sub (each optionally URN-prefixed)
type patchPath struct {
	urn       string // canonical URN; urnCore for core attributes
	attr      string // "" addresses the whole extension
	sub       string // attr.sub (no filter)
	filter    filterNode
	filterSub string // attr[filter].sub
	raw       string
}

// schemaPath renders the path as Concur reports it in messages.
func (p *patchPath) schemaPath() string {
	s := p.urn
	if p.attr != "" {
		s += ":" + p.attr
	}
	if p.sub != "" {
		s += "." + p.sub
	}
	if p.filterSub != "" {
		s += "." + p.filterSub
	}
	return s
}

// parsePatchPath parses a SCIM PATCH path.
func parsePatchPath(raw string) (*patchPath, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, fmt.Errorf("empty path")
	}
	if u := canonicalURN(strings.TrimSuffix(s, ":")); u != "" {
		if u == urnCore {
			return nil, fmt.Errorf("path %q addresses the core schema as a whole", raw)
		}
		return &patchPath{urn: u, raw: raw}, nil
	}
	head, inner, tail := s, "", ""
	hasFilter := false
	if i := strings.IndexByte(s, '['); i >= 0 {
		j, err := matchBracket(s, i)
		if err != nil {
			return nil, err
		}
		head, inner, tail = s[:i], s[i+1:j], s[j+1:]
		hasFilter = true
		if tail != "" {
			if tail[0] != '.' || !validName(tail[1:]) {
				return nil, fmt.Errorf("invalid text after filter in %q", raw)
			}
			tail = tail[1:]
		}
	}
	urn, rest, ok := splitURN(head)
	if !ok {
		return nil, fmt.Errorf("unknown schema in path %q", raw)
	}
	if urn == "" {
		urn = urnCore
	}
	parts := strings.Split(rest, ".")
	if len(parts) > 2 || (hasFilter && len(parts) > 1) {
		return nil, fmt.Errorf("invalid attribute path %q", raw)
	}
	for _, pt := range parts {
		if !validName(pt) {
			return nil, fmt.Errorf("invalid attribute path %q", raw)
		}
	}
	p := &patchPath{urn: urn, attr: parts[0], raw: raw}
	if len(parts) == 2 {
		p.sub = parts[1]
	}
	if hasFilter {
		f, err := parseFilter(inner, false)
		if err != nil {
			return nil, fmt.Errorf("invalid filter in path %q: %v", raw, err)
		}
		p.filter, p.filterSub = f, tail
	}
	return p, nil
}

// matchBracket returns the index of the ']' closing the '[' at s[i],
// skipping string literals.
func matchBracket(s string, i int) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '"':
			k, err := scanString(s, j)
			if err != nil {
				return 0, err
			}
			j = k - 1
		case '[':
			return 0, fmt.Errorf("nested [ in path")
		case ']':
			return j, nil
		}
	}
	return 0, fmt.Errorf("missing ] in path")
}

var readOnlyCore = set("id", "meta", "schemas")

// applyPatchOp applies one SCIM PatchOp operation to doc (a full user
// resource). op is add, replace or remove (case-insensitive). p is nil for
// an operation without a path, in which case value must be an object whose
// keys are attribute paths or extension URNs.
func applyPatchOp(doc map[string]any, op string, p *patchPath, value any) *opError {
	op = strings.ToLower(op)
	switch op {
	case "add", "replace", "remove":
	default:
		return errInput("", "unsupported patch op %q", op)
	}
	if p == nil {
		if op == "remove" {
			return errPath("", "remove requires a path")
		}
		obj, ok := value.(map[string]any)
		if !ok {
			return errValue("", "an operation without a path needs an object value")
		}
		for _, k := range sortedKeys(obj) {
			kp, err := parsePatchPath(k)
			if err != nil {
				return errPath(k, "%v", err)
			}
			if e := applyPatchOp(doc, op, kp, obj[k]); e != nil {
				return e
			}
		}
		return nil
	}
	sp := p.schemaPath()
	if op != "remove" && value == nil {
		return errValue(sp, "%s of %q needs a value", op, p.raw)
	}
	if p.attr == "" { // whole extension
		if op == "remove" {
			if !deleteCI(doc, p.urn) {
				return errPath(sp, "no %s extension to remove", p.urn)
			}
			return nil
		}
		obj, ok := value.(map[string]any)
		if !ok {
			return errValue(sp, "value for %s must be an object", p.urn)
		}
		for _, k := range sortedKeys(obj) {
			if e := applyPatchOp(doc, op, &patchPath{urn: p.urn, attr: k, raw: p.urn + ":" + k}, obj[k]); e != nil {
				return e
			}
		}
		return nil
	}
	if !isKnownAttr(p.urn, p.attr) {
		return errPath(sp, "Invalid attribute path [%s]", p.raw)
	}
	if p.urn == urnCore && readOnlyCore[strings.ToLower(p.attr)] {
		return errInput(sp, "attribute %q is read-only", p.attr)
	}
	var container map[string]any
	if p.urn == urnCore {
		container = doc
	} else {
		container, _ = objectAt(doc, p.urn)
		if container == nil {
			if op == "remove" {
				return errPath(sp, "no %s extension", p.urn)
			}
			container = map[string]any{}
			doc[p.urn] = container
		}
	}
	if p.filter != nil {
		return applyFiltered(container, op, p, value)
	}
	cur := getCI(container, p.attr)
	if p.sub != "" {
		if op == "remove" {
			obj, ok := cur.(map[string]any)
			if !ok || !deleteCI(obj, p.sub) {
				return errPath(sp, "no target for %q", p.raw)
			}
			return nil
		}
		switch t := cur.(type) {
		case nil:
			setCI(container, p.attr, map[string]any{p.sub: value})
		case map[string]any:
			if op == "add" {
				setCI(t, p.sub, addValue(getCI(t, p.sub), value))
			} else {
				setCI(t, p.sub, value)
			}
		default:
			return errPath(sp, "%q is multi-valued or simple; use a filter", p.attr)
		}
		return nil
	}
	switch op {
	case "remove":
		if !deleteCI(container, p.attr) {
			return errPath(sp, "no target for %q", p.raw)
		}
	case "add":
		setCI(container, p.attr, addValue(cur, value))
	case "replace":
		setCI(container, p.attr, replaceValue(cur, value))
	}
	return nil
}

// applyFiltered handles attr[filter] and attr[filter].sub.
func applyFiltered(container map[string]any, op string, p *patchPath, value any) *opError {
	sp := p.schemaPath()
	cur := getCI(container, p.attr)
	arr, isArr := cur.([]any)
	if cur != nil && !isArr {
		return errPath(sp, "%q is not multi-valued", p.attr)
	}
	var hits []int
	for i, e := range arr {
		if evalFilter(p.filter, e) {
			hits = append(hits, i)
		}
	}
	if len(hits) == 0 {
		// Upsert: add/replace of attr[x eq "v"].sub with no match creates the
		// element {x: v, sub: value} (how Concur's customData and
		// emails[type eq "work"] paths are used in practice).
		if op != "remove" && p.filterSub != "" {
			if c, ok := p.filter.(fCmp); ok && c.op == "eq" && c.val != nil && len(c.ref.parts) == 1 {
				elem := map[string]any{c.ref.parts[0]: c.val, p.filterSub: value}
				setCI(container, p.attr, append(arr, elem))
				return nil
			}
		}
		return errPath(sp, "no value of %q matches the filter in %q", p.attr, p.raw)
	}
	switch {
	case op == "remove" && p.filterSub == "":
		keep := arr[:0:0]
		j := 0
		for i, e := range arr {
			if j < len(hits) && hits[j] == i {
				j++
				continue
			}
			keep = append(keep, e)
		}
		if len(keep) == 0 {
			deleteCI(container, p.attr)
		} else {
			setCI(container, p.attr, keep)
		}
	case op == "remove":
		removed := false
		for _, i := range hits {
			if m, ok := arr[i].(map[string]any); ok && deleteCI(m, p.filterSub) {
				removed = true
			}
		}
		if !removed {
			return errPath(sp, "no target for %q", p.raw)
		}
	case p.filterSub != "":
		for _, i := range hits {
			m, ok := arr[i].(map[string]any)
			if !ok {
				return errPath(sp, "values of %q have no sub-attributes", p.attr)
			}
			if op == "add" {
				setCI(m, p.filterSub, addValue(getCI(m, p.filterSub), value))
			} else {
				setCI(m, p.filterSub, value)
			}
		}
	case op == "add":
		v, ok := value.(map[string]any)
		for _, i := range hits {
			m, isObj := arr[i].(map[string]any)
			if !ok || !isObj {
				return errValue(sp, "add to %q needs an object value", p.raw)
			}
			for k, e := range v {
				setCI(m, k, deepCopy(e))
			}
		}
	default: // replace matching values
		for _, i := range hits {
			arr[i] = deepCopy(value)
		}
	}
	return nil
}

// addValue implements SCIM "add": values are appended to multi-valued
// attributes (without duplicates), sub-attributes are merged into complex
// ones, anything else is set.
func addValue(cur, value any) any {
	switch c := cur.(type) {
	case []any:
		out := append([]any(nil), c...)
		vals, ok := value.([]any)
		if !ok {
			vals = []any{value}
		}
		for _, v := range vals {
			dup := false
			for _, e := range out {
				if jsonEqual(e, v) {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, deepCopy(v))
			}
		}
		return out
	case map[string]any:
		if v, ok := value.(map[string]any); ok {
			for k, e := range v {
				setCI(c, k, deepCopy(e))
			}
			return c
		}
	}
	return deepCopy(value)
}

// replaceValue implements SCIM "replace": multi-valued attributes are
// replaced as a whole, complex ones keep the sub-attributes not given.
func replaceValue(cur, value any) any {
	if c, ok := cur.(map[string]any); ok {
		if v, ok := value.(map[string]any); ok {
			for k, e := range v {
				setCI(c, k, deepCopy(e))
			}
			return c
		}
	}
	return deepCopy(value)
}
