package schema

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/xeipuuv/gojsonschema"

	"scimigrate/scim"
)

// The reference validator: gojsonschema over the same documents. It is slow
// (tens of µs per user) and meant for tests and debugging.

var (
	refOnce    sync.Once
	refSchemas [2]*gojsonschema.Schema // by Mode
	refErr     error
)

func referenceSchemas() ([2]*gojsonschema.Schema, error) {
	refOnce.Do(func() {
		for _, mode := range []Mode{Create, Update} {
			sl := gojsonschema.NewSchemaLoader()
			sl.Draft = gojsonschema.Draft7
			sl.AutoDetect = false
			for _, f := range std.files {
				if f == rootFile {
					continue
				}
				if err := sl.AddSchemas(gojsonschema.NewBytesLoader(schemaBytes(std.docs[f], mode))); err != nil {
					refErr = fmt.Errorf("%s: %v", f, err)
					return
				}
			}
			s, err := sl.Compile(gojsonschema.NewBytesLoader(schemaBytes(std.docs[rootFile], mode)))
			if err != nil {
				refErr = fmt.Errorf("%s: %v", rootFile, err)
				return
			}
			refSchemas[mode] = s
		}
	})
	return refSchemas, refErr
}

// schemaBytes encodes a schema document; in Update mode without any
// "required" keyword.
func schemaBytes(doc *scim.Value, mode Mode) []byte {
	v := *doc
	if mode == Update {
		v = scim.Clone(v)
		stripRequired(&v)
	}
	return scim.AppendJSON(nil, v)
}

// stripRequired removes the required keyword from a schema and its
// subschemas.
func stripRequired(s *scim.Value) {
	if s.Kind != scim.ObjectKind {
		return
	}
	s.Obj.Delete("required")
	for i := range s.Obj.Members {
		m := &s.Obj.Members[i]
		switch m.Name {
		case "items":
			stripRequired(&m.Value)
		case "properties", "definitions":
			if m.Value.Kind == scim.ObjectKind {
				for j := range m.Value.Obj.Members {
					stripRequired(&m.Value.Obj.Members[j].Value)
				}
			}
		}
	}
}

// ValidateJSON validates an encoded resource (scim.User.AppendResource) with
// gojsonschema against the same schema documents Validate compiles. Only the
// schema is checked, not the rules of rules.go. Member names are matched
// case-insensitively first, as SCIM wants and gojsonschema does not: they
// are renamed to the schema's spelling, and a name given twice is a
// "duplicate" violation (the first occurrence is kept). Origins are 0.
func ValidateJSON(doc []byte, mode Mode) ([]Violation, error) {
	out, _, err := reference(doc, mode)
	return out, err
}

// reference is ValidateJSON returning the JSON locations too.
func reference(doc []byte, mode Mode) ([]Violation, []string, error) {
	schemas, err := referenceSchemas()
	if err != nil {
		return nil, nil, err
	}
	v, err := scim.Decode(doc)
	if err != nil {
		return nil, nil, err
	}
	var out []Violation
	var ptrs []string
	c := canonicalizer{docs: std.docs}
	root := std.docs[rootFile]
	c.walk(rootFile, root, &v, nil, func(segs []string) {
		out = append(out, Violation{Path: pathFromSegments(&v, segs), Rule: "duplicate",
			Msg: segs[len(segs)-1] + " is given more than once (SCIM names are case-insensitive)"})
		ptrs = append(ptrs, strings.Join(segs, "\x00"))
	})
	res, err := schemas[mode].Validate(gojsonschema.NewBytesLoader(scim.AppendJSON(nil, v)))
	if err != nil {
		return nil, nil, err
	}
	for _, e := range res.Errors() {
		segs := contextSegments(e.Context())
		rule, ok := ruleOf[e.Type()]
		if !ok {
			rule = "jsonschema:" + e.Type()
		}
		if rule == "required" || rule == "additionalProperties" {
			if p, ok := e.Details()["property"].(string); ok {
				segs = append(segs, p)
			}
		}
		out = append(out, Violation{Path: pathFromSegments(&v, segs), Rule: rule, Msg: e.Description()})
		ptrs = append(ptrs, pointerOf(&v, segs))
	}
	return out, ptrs, nil
}

// pointerOf joins segments, naming an element of schemas by its value (the
// encoder's order of the list is not the fast validator's concern).
func pointerOf(doc *scim.Value, segs []string) string {
	if len(segs) >= 2 && segs[0] == "schemas" && doc.Kind == scim.ObjectKind {
		if list, ok := doc.Obj.Get("schemas"); ok && list.Kind == scim.Array {
			if i, err := strconv.Atoi(segs[1]); err == nil && i < len(list.Arr) && list.Arr[i].Kind == scim.String {
				segs = append([]string{"schemas", "=" + list.Arr[i].Str}, segs[2:]...)
			}
		}
	}
	return strings.Join(segs, "\x00")
}

// ruleOf maps gojsonschema error types to Violation rules (JSON Schema
// keywords).
var ruleOf = map[string]string{
	"required":                        "required",
	"invalid_type":                    "type",
	"additional_property_not_allowed": "additionalProperties",
	"enum":                            "enum",
	"const":                           "const",
	"string_gte":                      "minLength",
	"string_lte":                      "maxLength",
	"pattern":                         "pattern",
	"format":                          "format",
	"array_min_items":                 "minItems",
	"array_max_items":                 "maxItems",
	"unique":                          "uniqueItems",
	"number_gte":                      "minimum",
	"number_lte":                      "maximum",
}

// contextSegments reads a gojsonschema context ("(root).emails.0.value") as
// its segments without splitting names that contain dots (URNs do).
func contextSegments(c *gojsonschema.JsonContext) []string {
	var rev []string
	v := reflect.ValueOf(c)
	for !v.IsNil() {
		e := v.Elem()
		rev = append(rev, e.FieldByName("head").String())
		v = e.FieldByName("tail")
	}
	segs := make([]string, 0, len(rev))
	for i := len(rev) - 1; i >= 0; i-- {
		if i == len(rev)-1 && rev[i] == "(root)" {
			continue
		}
		segs = append(segs, rev[i])
	}
	return segs
}

// canonicalizer renames members to the schema's spelling of their property
// and drops repeated ones, reading the raw documents (not the compiled
// nodes, so that it checks the compiler's case-insensitive lookup rather
// than repeating it).
type canonicalizer struct {
	docs map[string]*scim.Value
}

func (c canonicalizer) deref(file string, s *scim.Value) (string, *scim.Value) {
	for i := 0; i < 32 && s != nil && s.Kind == scim.ObjectKind; i++ {
		ref, ok := s.Obj.Get("$ref")
		if !ok || ref.Kind != scim.String {
			break
		}
		doc, frag, _ := strings.Cut(ref.Str, "#")
		if doc != "" {
			file = doc
		}
		t, err := pointerGet(c.docs[file], frag)
		if err != nil {
			return file, nil
		}
		s = t
	}
	return file, s
}

func allows(s *scim.Value, typ string) bool {
	t, ok := s.Obj.Get("type")
	if !ok {
		return true
	}
	if t.Kind == scim.String {
		return t.Str == typ
	}
	for _, e := range t.Arr {
		if e.Kind == scim.String && e.Str == typ {
			return true
		}
	}
	return false
}

func (c canonicalizer) walk(file string, s *scim.Value, v *scim.Value, segs []string, dup func([]string)) {
	file, s = c.deref(file, s)
	if s == nil || s.Kind != scim.ObjectKind {
		return
	}
	switch v.Kind {
	case scim.ObjectKind:
		if !allows(s, "object") {
			return
		}
		props, ok := s.Obj.Get("properties")
		if !ok || props.Kind != scim.ObjectKind {
			return
		}
		kept := make([]scim.Member, 0, len(v.Obj.Members))
		seen := map[string]bool{}
		for _, m := range v.Obj.Members {
			var ps *scim.Value
			for i := range props.Obj.Members {
				if props.Obj.Members[i].Name == m.Name {
					ps = &props.Obj.Members[i].Value
					break
				}
			}
			if ps == nil {
				for i := range props.Obj.Members {
					if strings.EqualFold(props.Obj.Members[i].Name, m.Name) {
						m.Name = props.Obj.Members[i].Name
						ps = &props.Obj.Members[i].Value
						break
					}
				}
			}
			if ps != nil {
				child := append(append([]string(nil), segs...), m.Name)
				if seen[m.Name] {
					dup(child)
					continue
				}
				seen[m.Name] = true
				c.walk(file, ps, &m.Value, child, dup)
			}
			kept = append(kept, m)
		}
		v.Obj.Members = kept
	case scim.Array:
		if !allows(s, "array") {
			return
		}
		items, ok := s.Obj.Get("items")
		if !ok {
			return
		}
		for i := range v.Arr {
			c.walk(file, items, &v.Arr[i], append(append([]string(nil), segs...), strconv.Itoa(i)), dup)
		}
	}
}

// pathFromSegments renders JSON location segments as a SCIM path, naming
// elements as Validate does.
func pathFromSegments(doc *scim.Value, segs []string) string {
	var b strings.Builder
	n := std.root
	cur := doc
	afterURN := false
	for depth, seg := range segs {
		if cur != nil && cur.Kind == scim.Array {
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(cur.Arr) {
				b.WriteByte('[')
				b.WriteString(elementFilter(n, &cur.Arr[i], i))
				b.WriteByte(']')
				cur = &cur.Arr[i]
				if n != nil {
					n = n.Items
				}
				continue
			}
		}
		if b.Len() > 0 && !afterURN {
			b.WriteByte('.')
		}
		b.WriteString(seg)
		afterURN = depth == 0 && strings.HasPrefix(seg, "urn:")
		if afterURN && depth < len(segs)-1 {
			b.WriteByte(':')
		} else {
			afterURN = false
		}
		var next *scim.Value
		if cur != nil && cur.Kind == scim.ObjectKind {
			next, _ = cur.Obj.Get(seg)
		}
		cur = next
		if n != nil {
			n, _, _ = n.Property(seg)
		}
	}
	return b.String()
}
