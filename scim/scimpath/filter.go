package scimpath

import (
	"encoding/json"
	"strings"
)

// CompareOp is a filter operator (RFC 7644 §3.4.2.2), or a logical one.
type CompareOp string

// Operators. Has is a nested value filter inside a filter (emails[type eq "work"]).
const (
	Eq  CompareOp = "eq"
	Ne  CompareOp = "ne"
	Co  CompareOp = "co"
	Sw  CompareOp = "sw"
	Ew  CompareOp = "ew"
	Gt  CompareOp = "gt"
	Ge  CompareOp = "ge"
	Lt  CompareOp = "lt"
	Le  CompareOp = "le"
	Pr  CompareOp = "pr"
	And CompareOp = "and"
	Or  CompareOp = "or"
	Not CompareOp = "not"
	Has CompareOp = "has"
)

// Kind is the type of a comparison value.
type Kind uint8

// Comparison value kinds.
const (
	String Kind = iota
	Number
	Bool
	Null
)

// Value is a comparison value: a string, a number literal, a boolean or null.
type Value struct {
	Kind Kind
	Str  string // String: the text; Number: the literal
	Bool bool
}

// String renders v as a filter literal.
func (v Value) String() string {
	switch v.Kind {
	case Number:
		return v.Str
	case Bool:
		if v.Bool {
			return "true"
		}
		return "false"
	case Null:
		return "null"
	}
	b, _ := json.Marshal(v.Str)
	return string(b)
}

// Filter is a node of a filter expression. Comparisons have Attr (and Value
// unless Op is Pr); And/Or have Left and Right; Not has Left; Has has Attr
// with its own Filter.
type Filter struct {
	Op          CompareOp
	Attr        *Path
	Value       Value
	Left, Right *Filter
}

// String renders the filter canonically (lower-case operators, minimal
// parentheses).
func (f *Filter) String() string {
	var b strings.Builder
	f.write(&b, 0)
	return b.String()
}

func prec(op CompareOp) int {
	switch op {
	case Or:
		return 1
	case And:
		return 2
	}
	return 3
}

func (f *Filter) write(b *strings.Builder, parent int) {
	switch f.Op {
	case Or, And:
		p := prec(f.Op)
		if p < parent {
			b.WriteByte('(')
		}
		f.Left.write(b, p)
		b.WriteByte(' ')
		b.WriteString(string(f.Op))
		b.WriteByte(' ')
		f.Right.write(b, p+1)
		if p < parent {
			b.WriteByte(')')
		}
	case Not:
		b.WriteString("not (")
		f.Left.write(b, 0)
		b.WriteByte(')')
	case Has:
		b.WriteString(f.Attr.String())
	case Pr:
		b.WriteString(f.Attr.String())
		b.WriteString(" pr")
	default:
		b.WriteString(f.Attr.String())
		b.WriteByte(' ')
		b.WriteString(string(f.Op))
		b.WriteByte(' ')
		b.WriteString(f.Value.String())
	}
}

// Equality is one "attr eq value" term of a key filter.
type Equality struct {
	Attr  []string // sub-attribute path inside the element: ["type"], ["delegate","employeeNumber"]
	Value Value
}

// Equalities returns the terms of a filter that is a conjunction of eq
// comparisons on sub-attributes (type eq "work" and primary eq true). Such a
// filter identifies one element of a multi-valued attribute, and a builder
// can create the element from it. Any other filter gives ErrNotEqualities.
func (f *Filter) Equalities() ([]Equality, error) {
	var out []Equality
	var walk func(*Filter) error
	walk = func(f *Filter) error {
		switch f.Op {
		case And:
			if err := walk(f.Left); err != nil {
				return err
			}
			return walk(f.Right)
		case Eq:
			if f.Attr.URN != "" || f.Attr.Filter != nil || f.Value.Kind == Null {
				return ErrNotEqualities
			}
			out = append(out, Equality{Attr: f.Attr.Attr, Value: f.Value})
			return nil
		}
		return ErrNotEqualities
	}
	if err := walk(f); err != nil {
		return nil, err
	}
	return out, nil
}
