// Package scim is the document model of a converted user: an ordered JSON tree
// built by applying attribute paths (package scimpath), with the origin of
// every leaf (file, line, column) kept for diagnostics, and the tri-state of
// Y/N memberships (asserted present, asserted absent, not said).
//
// The tree keeps insertion order, so output follows the mapping tables and
// golden files are stable, and it encodes itself to JSON without reflection.
package scim

import (
	"strconv"
	"strings"
)

// Kind is the JSON type of a Value.
type Kind uint8

// Value kinds.
const (
	Null Kind = iota
	String
	Bool
	Number // Str holds the literal
	ObjectKind
	Array
)

func (k Kind) String() string {
	return [...]string{"null", "string", "boolean", "number", "object", "array"}[k]
}

// Value is a JSON value. Origin, when non-zero, is 1 + the index of the
// value's origin in the owning User (see User.OriginOf).
type Value struct {
	Kind   Kind
	Bool   bool
	Origin int32
	Str    string
	Obj    *Object
	Arr    []Value
}

// Str returns a string value.
func Str(s string) Value { return Value{Kind: String, Str: s} }

// BoolValue returns a boolean value.
func BoolValue(b bool) Value { return Value{Kind: Bool, Bool: b} }

// Num returns a number value from its literal.
func Num(lit string) Value { return Value{Kind: Number, Str: lit} }

// Int returns a number value.
func Int(n int64) Value { return Value{Kind: Number, Str: strconv.FormatInt(n, 10)} }

// Obj returns an object value.
func Obj(o *Object) Value { return Value{Kind: ObjectKind, Obj: o} }

// Member is a named value of an object.
type Member struct {
	Name  string
	Value Value
}

// Object is a JSON object whose members keep insertion order.
type Object struct {
	Members []Member
}

// Get returns the member called name; SCIM attribute names are
// case-insensitive (RFC 7643 §2.1), so an exact match is tried first and then
// a case-folded one.
func (o *Object) Get(name string) (*Value, bool) {
	if o == nil {
		return nil, false
	}
	// One pass: an exact match wins wherever it is, else the first
	// case-folded one. Attribute names are ASCII: equal length is necessary.
	// Names that share a long prefix (extension URNs) mostly differ at the
	// end: the last byte is compared first.
	fold := -1
	n := len(name)
	for i := range o.Members {
		m := &o.Members[i]
		if len(m.Name) != n {
			continue
		}
		if n == 0 || m.Name[n-1] == name[n-1] && m.Name == name {
			return &m.Value, true
		}
		if fold < 0 && foldEqual(m.Name, name) {
			fold = i
		}
	}
	if fold >= 0 {
		return &o.Members[fold].Value, true
	}
	return nil, false
}

// Set sets member name to v, keeping its position when it exists.
func (o *Object) Set(name string, v Value) {
	if p, ok := o.Get(name); ok {
		*p = v
		return
	}
	o.Members = append(o.Members, Member{Name: name, Value: v})
}

// Delete removes member name and reports whether it was there.
func (o *Object) Delete(name string) bool {
	for i := range o.Members {
		if strings.EqualFold(o.Members[i].Name, name) {
			o.Members = append(o.Members[:i], o.Members[i+1:]...)
			return true
		}
	}
	return false
}

// Len returns the number of members.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.Members)
}

// Equal reports whether a and b hold the same JSON value (member order and
// origins ignored; array order significant).
func Equal(a, b Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case Null:
		return true
	case String, Number:
		return a.Str == b.Str
	case Bool:
		return a.Bool == b.Bool
	case ObjectKind:
		if a.Obj.Len() != b.Obj.Len() {
			return false
		}
		for _, m := range a.Obj.Members {
			bv, ok := b.Obj.Get(m.Name)
			if !ok || !Equal(m.Value, *bv) {
				return false
			}
		}
		return true
	case Array:
		if len(a.Arr) != len(b.Arr) {
			return false
		}
		for i := range a.Arr {
			if !Equal(a.Arr[i], b.Arr[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// Clone returns a deep copy of v.
func Clone(v Value) Value {
	switch v.Kind {
	case ObjectKind:
		o := &Object{Members: make([]Member, len(v.Obj.Members))}
		for i, m := range v.Obj.Members {
			o.Members[i] = Member{Name: m.Name, Value: Clone(m.Value)}
		}
		v.Obj = o
	case Array:
		arr := make([]Value, len(v.Arr))
		for i := range v.Arr {
			arr[i] = Clone(v.Arr[i])
		}
		v.Arr = arr
	}
	return v
}

// ToAny converts v to the encoding/json generic form (map[string]any,
// []any, string, bool, float64 via json.Number-free parsing, nil).
func ToAny(v Value) any {
	switch v.Kind {
	case String:
		return v.Str
	case Bool:
		return v.Bool
	case Number:
		f, _ := strconv.ParseFloat(v.Str, 64)
		return f
	case ObjectKind:
		m := make(map[string]any, len(v.Obj.Members))
		for _, mem := range v.Obj.Members {
			m[mem.Name] = ToAny(mem.Value)
		}
		return m
	case Array:
		a := make([]any, len(v.Arr))
		for i := range v.Arr {
			a[i] = ToAny(v.Arr[i])
		}
		return a
	}
	return nil
}
