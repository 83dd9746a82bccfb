package schema

import (
	"embed"
	"fmt"
	"io/fs"
	"math/big"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

//go:embed schemas/*.json
var schemaFS embed.FS

// rootFile is the document that composes the others.
const rootFile = "resource.json"

// Keywords the fast validator implements. Anything else in a schema object
// makes the compiler fail, so the two validators cannot drift apart.
var validationKeywords = map[string]bool{
	"type": true, "properties": true, "required": true, "additionalProperties": true,
	"enum": true, "const": true, "minLength": true, "maxLength": true, "pattern": true,
	"format": true, "items": true, "minItems": true, "maxItems": true, "uniqueItems": true,
	"minimum": true, "maximum": true, "$ref": true, "definitions": true,
}

// Annotations carry no validation; x-key names the sub-attribute(s) that
// identify an element of a multi-valued attribute in violation paths
// (emails[type eq "work"]).
var annotationKeywords = map[string]bool{
	"$schema": true, "$id": true, "$comment": true, "title": true, "description": true,
	"default": true, "examples": true, "readOnly": true, "x-key": true,
}

// Formats the fast validator implements exactly as gojsonschema does.
var formats = map[string]func(string) bool{
	"date":      isDate,
	"date-time": isDateTime,
	"email":     isEmail,
}

// kind bits for "type".
type kindMask uint8

const (
	kNull kindMask = 1 << iota
	kBool
	kString
	kNumber
	kInteger
	kObject
	kArray
)

var typeNames = map[string]kindMask{
	"null": kNull, "boolean": kBool, "string": kString, "number": kNumber,
	"integer": kInteger, "object": kObject, "array": kArray,
}

// schemaSet is a compiled set of schema documents.
type schemaSet struct {
	root  *Node
	urns  []string         // extension URNs in document order (core first)
	byURN map[string]*Node // lower-case URN → node holding its attributes
	docs  map[string]*scim.Value
	files []string // document names, sorted
}

// std is the embedded schema, compiled once. A document the compiler cannot
// handle is a programming error: the package refuses to start.
var std = mustCompile()

func mustCompile() *schemaSet {
	s, err := compileFS(schemaFS, "schemas")
	if err != nil {
		panic("schema: " + err.Error())
	}
	attachRules(s)
	return s
}

// compileFS reads every *.json document of dir in fsys and compiles the
// composition rooted at resource.json. It fails on any keyword, format or
// keyword value the fast validator does not implement.
func compileFS(fsys fs.FS, dir string) (*schemaSet, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	s := &schemaSet{docs: map[string]*scim.Value{}, byURN: map[string]*Node{}}
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		v, err := scim.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path.Base(n), err)
		}
		if v.Kind != scim.ObjectKind {
			return nil, fmt.Errorf("%s: a schema document must be an object", path.Base(n))
		}
		s.docs[path.Base(n)] = &v
		s.files = append(s.files, path.Base(n))
	}
	sort.Strings(s.files)
	if s.docs[rootFile] == nil {
		return nil, fmt.Errorf("no %s", rootFile)
	}
	c := &compiler{set: s, memo: map[string]*Node{}}
	// Every document is compiled in full, definitions included, so an
	// unsupported keyword anywhere is found even if nothing refers to it yet.
	for _, f := range s.files {
		if _, err := c.node(f, "", s.docs[f]); err != nil {
			return nil, err
		}
	}
	s.root = c.memo[rootFile+"#"]
	if s.root.types != kObject {
		return nil, fmt.Errorf("%s: the resource must be of type object", rootFile)
	}
	s.urns = []string{scimpath.CoreUser}
	s.byURN[strings.ToLower(scimpath.CoreUser)] = s.root
	for _, p := range s.root.props {
		if strings.HasPrefix(p.name, "urn:") {
			s.urns = append(s.urns, p.name)
			s.byURN[strings.ToLower(p.name)] = p.node
		}
	}
	return s, nil
}

type compiler struct {
	set  *schemaSet
	memo map[string]*Node // "file#pointer" → node; nil while being compiled
}

// node compiles the schema object v found at file#ptr.
func (c *compiler) node(file, ptr string, v *scim.Value) (*Node, error) {
	key := file + "#" + ptr
	if n, ok := c.memo[key]; ok {
		if n == nil {
			return nil, fmt.Errorf("%s: $ref cycle", key)
		}
		return n, nil
	}
	c.memo[key] = nil
	n, err := c.compile(file, ptr, v)
	if err != nil {
		return nil, err
	}
	c.memo[key] = n
	return n, nil
}

func (c *compiler) errf(file, ptr, format string, args ...any) error {
	return fmt.Errorf("%s#%s: %s", file, ptr, fmt.Sprintf(format, args...))
}

func (c *compiler) compile(file, ptr string, v *scim.Value) (*Node, error) {
	if v.Kind != scim.ObjectKind {
		return nil, c.errf(file, ptr, "a schema must be an object (boolean schemas are not supported)")
	}
	n := &Node{MinLength: -1, MaxLength: -1, MinItems: -1, MaxItems: -1, AdditionalProperties: true, source: file + "#" + ptr}
	var ref string
	for _, m := range v.Obj.Members {
		if !validationKeywords[m.Name] && !annotationKeywords[m.Name] {
			return nil, c.errf(file, ptr, "keyword %q is not implemented by the fast validator", m.Name)
		}
		if m.Name == "$ref" {
			if m.Value.Kind != scim.String {
				return nil, c.errf(file, ptr, "$ref must be a string")
			}
			ref = m.Value.Str
		}
	}
	if ref != "" {
		// draft-07: $ref ignores its siblings; allow only annotations there.
		for _, m := range v.Obj.Members {
			if m.Name != "$ref" && validationKeywords[m.Name] && m.Name != "definitions" {
				return nil, c.errf(file, ptr, "%s beside $ref is ignored by JSON Schema; move it into the referenced schema", m.Name)
			}
		}
		if def, ok := v.Obj.Get("definitions"); ok {
			if err := c.definitions(file, ptr, def); err != nil {
				return nil, err
			}
		}
		tf, tp, err := c.resolveRef(file, ref)
		if err != nil {
			return nil, c.errf(file, ptr, "%v", err)
		}
		target, err := pointerGet(c.set.docs[tf], tp)
		if err != nil {
			return nil, c.errf(file, ptr, "$ref %s: %v", ref, err)
		}
		return c.node(tf, tp, target)
	}
	var required []string
	var properties *scim.Value
	for i := range v.Obj.Members {
		m := &v.Obj.Members[i]
		val := &m.Value
		at := ptr + "/" + m.Name
		switch m.Name {
		case "type":
			names, err := stringOrStrings(val)
			if err != nil {
				return nil, c.errf(file, at, "%v", err)
			}
			for _, t := range names {
				k, ok := typeNames[t]
				if !ok {
					return nil, c.errf(file, at, "unknown type %q", t)
				}
				n.types |= k
			}
			n.Type = strings.Join(names, "|")
		case "properties":
			if val.Kind != scim.ObjectKind {
				return nil, c.errf(file, at, "properties must be an object")
			}
			properties = val
		case "required":
			names, err := strings1(val)
			if err != nil {
				return nil, c.errf(file, at, "%v", err)
			}
			required = names
		case "additionalProperties":
			if val.Kind != scim.Bool {
				return nil, c.errf(file, at, "only boolean additionalProperties is implemented")
			}
			n.AdditionalProperties = val.Bool
		case "enum":
			if val.Kind != scim.Array || len(val.Arr) == 0 {
				return nil, c.errf(file, at, "enum must be a non-empty array")
			}
			for _, e := range val.Arr {
				if e.Kind != scim.String {
					return nil, c.errf(file, at, "only string enum values are implemented")
				}
				n.Enum = append(n.Enum, e.Str)
			}
		case "const":
			if val.Kind != scim.String {
				return nil, c.errf(file, at, "only a string const is implemented")
			}
			s := val.Str
			n.Const = &s
		case "minLength", "maxLength", "minItems", "maxItems":
			k, err := nonNegInt(val)
			if err != nil {
				return nil, c.errf(file, at, "%v", err)
			}
			switch m.Name {
			case "minLength":
				n.MinLength = k
			case "maxLength":
				n.MaxLength = k
			case "minItems":
				n.MinItems = k
			case "maxItems":
				n.MaxItems = k
			}
		case "pattern":
			if val.Kind != scim.String {
				return nil, c.errf(file, at, "pattern must be a string")
			}
			re, err := regexp.Compile(val.Str)
			if err != nil {
				return nil, c.errf(file, at, "%v", err)
			}
			n.Pattern, n.pattern = val.Str, re
			n.fixed, n.fixedEnd, _ = fixedPattern(val.Str)
		case "format":
			if val.Kind != scim.String {
				return nil, c.errf(file, at, "format must be a string")
			}
			f, ok := formats[val.Str]
			if !ok {
				return nil, c.errf(file, at, "format %q is not implemented (date, date-time, email are)", val.Str)
			}
			n.Format, n.format = val.Str, f
		case "items":
			if val.Kind != scim.ObjectKind {
				return nil, c.errf(file, at, "only a single items schema is implemented")
			}
			it, err := c.node(file, at, val)
			if err != nil {
				return nil, err
			}
			n.Items = it
		case "uniqueItems":
			if val.Kind != scim.Bool {
				return nil, c.errf(file, at, "uniqueItems must be a boolean")
			}
			n.UniqueItems = val.Bool
		case "minimum", "maximum":
			if val.Kind != scim.Number {
				return nil, c.errf(file, at, "%s must be a number", m.Name)
			}
			r, ok := new(big.Rat).SetString(val.Str)
			if !ok {
				return nil, c.errf(file, at, "bad number %s", val.Str)
			}
			if m.Name == "minimum" {
				n.Minimum, n.minimum = val.Str, r
			} else {
				n.Maximum, n.maximum = val.Str, r
			}
		case "definitions":
			if err := c.definitions(file, ptr, val); err != nil {
				return nil, err
			}
		case "description":
			if val.Kind == scim.String {
				n.Description = val.Str
			}
		case "title":
			if val.Kind == scim.String {
				n.Title = val.Str
			}
		case "readOnly":
			n.ReadOnly = val.Kind == scim.Bool && val.Bool
		case "x-key":
			keys, err := stringOrStrings(val)
			if err != nil {
				return nil, c.errf(file, at, "%v", err)
			}
			for _, k := range keys {
				n.Key = append(n.Key, k)
				n.keys = append(n.keys, strings.Split(k, "."))
			}
		}
	}
	if properties != nil {
		if len(properties.Obj.Members) > 64 {
			return nil, c.errf(file, ptr+"/properties", "more than 64 properties")
		}
		for i := range properties.Obj.Members {
			m := &properties.Obj.Members[i]
			for _, p := range n.props {
				if strings.EqualFold(p.name, m.Name) {
					return nil, c.errf(file, ptr+"/properties", "properties %q and %q differ only in case; SCIM names are case-insensitive", p.name, m.Name)
				}
			}
			child, err := c.node(file, ptr+"/properties/"+m.Name, &m.Value)
			if err != nil {
				return nil, err
			}
			n.props = append(n.props, prop{name: m.Name, node: child})
		}
	}
	for _, r := range required {
		i := n.index(r)
		if i < 0 || n.props[i].name != r {
			return nil, c.errf(file, ptr+"/required", "required %q is not among the properties", r)
		}
		n.Required = append(n.Required, r)
		n.required = append(n.required, i)
	}
	n.buildIndex()
	if len(n.keys) > 0 && (n.Items == nil || n.types != kArray) {
		return nil, c.errf(file, ptr, "x-key on a schema without items")
	}
	return n, nil
}

func (c *compiler) definitions(file, ptr string, v *scim.Value) error {
	if v.Kind != scim.ObjectKind {
		return c.errf(file, ptr+"/definitions", "definitions must be an object")
	}
	for i := range v.Obj.Members {
		m := &v.Obj.Members[i]
		if _, err := c.node(file, ptr+"/definitions/"+m.Name, &m.Value); err != nil {
			return err
		}
	}
	return nil
}

// resolveRef resolves "#/definitions/x", "other.json" and
// "other.json#/definitions/x" against the document file.
func (c *compiler) resolveRef(file, ref string) (string, string, error) {
	doc, frag, _ := strings.Cut(ref, "#")
	if doc == "" {
		doc = file
	}
	if strings.Contains(doc, "/") {
		return "", "", fmt.Errorf("$ref %q: only references to sibling documents are implemented", ref)
	}
	if c.set.docs[doc] == nil {
		return "", "", fmt.Errorf("$ref %q: no document %s", ref, doc)
	}
	return doc, frag, nil
}

// pointerGet follows a JSON pointer (without ~ escapes) inside v.
func pointerGet(v *scim.Value, ptr string) (*scim.Value, error) {
	if ptr == "" {
		return v, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("pointer %q does not start with /", ptr)
	}
	cur := v
	for _, seg := range strings.Split(ptr[1:], "/") {
		if strings.Contains(seg, "~") {
			return nil, fmt.Errorf("pointer escapes are not implemented")
		}
		if cur.Kind != scim.ObjectKind {
			return nil, fmt.Errorf("pointer %q: %q is not in an object", ptr, seg)
		}
		var next *scim.Value
		for i := range cur.Obj.Members {
			if cur.Obj.Members[i].Name == seg {
				next = &cur.Obj.Members[i].Value
				break
			}
		}
		if next == nil {
			return nil, fmt.Errorf("pointer %q: no %q", ptr, seg)
		}
		cur = next
	}
	return cur, nil
}

func stringOrStrings(v *scim.Value) ([]string, error) {
	if v.Kind == scim.String {
		return []string{v.Str}, nil
	}
	return strings1(v)
}

func strings1(v *scim.Value) ([]string, error) {
	if v.Kind != scim.Array || len(v.Arr) == 0 {
		return nil, fmt.Errorf("expected a non-empty array of strings")
	}
	out := make([]string, len(v.Arr))
	for i, e := range v.Arr {
		if e.Kind != scim.String {
			return nil, fmt.Errorf("expected a non-empty array of strings")
		}
		out[i] = e.Str
	}
	return out, nil
}

func nonNegInt(v *scim.Value) (int, error) {
	if v.Kind != scim.Number {
		return 0, fmt.Errorf("expected a non-negative integer")
	}
	k, err := strconv.Atoi(v.Str)
	if err != nil || k < 0 {
		return 0, fmt.Errorf("expected a non-negative integer, got %s", v.Str)
	}
	return k, nil
}
