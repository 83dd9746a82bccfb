package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"scimigrate/scim/scimpath"
)

// PatchOpURN is the schema of a SCIM PatchOp message.
const PatchOpURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// PatchOperation is one operation of a SCIM PatchOp message
// (RFC 7644 §3.5.2): op is add, replace or remove; Path is an attribute path
// ("" only for add/replace with an object value whose keys are paths or
// extension URNs); Value is Null for remove.
type PatchOperation struct {
	Op    string
	Path  string
	Value Value
}

// AppendPatchOp appends the PatchOp message {"schemas":[…],"Operations":[…]}
// holding ops, as compact JSON.
func AppendPatchOp(b []byte, ops []PatchOperation) []byte {
	b = append(b, `{"schemas":[`...)
	b = AppendString(b, PatchOpURN)
	b = append(b, `],"Operations":[`...)
	for i, op := range ops {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"op":`...)
		b = AppendString(b, op.Op)
		if op.Path != "" {
			b = append(b, `,"path":`...)
			b = AppendString(b, op.Path)
		}
		if !strings.EqualFold(op.Op, "remove") {
			b = append(b, `,"value":`...)
			b = AppendJSON(b, op.Value)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// DecodePatchOp reads a PatchOp message.
func DecodePatchOp(data []byte) ([]PatchOperation, error) {
	v, err := Decode(bytes.TrimSpace(data))
	if err != nil {
		return nil, err
	}
	if v.Kind != ObjectKind {
		return nil, fmt.Errorf("a PatchOp message is a JSON object")
	}
	raw, ok := v.Obj.Get("Operations")
	if !ok || raw.Kind != Array {
		return nil, fmt.Errorf("a PatchOp message needs an Operations array")
	}
	out := make([]PatchOperation, 0, len(raw.Arr))
	for i, e := range raw.Arr {
		if e.Kind != ObjectKind {
			return nil, fmt.Errorf("Operations[%d] is not an object", i)
		}
		var op PatchOperation
		if o, ok := e.Obj.Get("op"); ok && o.Kind == String {
			op.Op = o.Str
		}
		if p, ok := e.Obj.Get("path"); ok {
			if p.Kind != String {
				return nil, fmt.Errorf("Operations[%d]: path is not a string", i)
			}
			op.Path = p.Str
		}
		if val, ok := e.Obj.Get("value"); ok {
			op.Value = *val
		}
		out = append(out, op)
	}
	return out, nil
}

// PatchError is an operation that cannot be applied.
type PatchError struct {
	Index int // position in the message
	Op    PatchOperation
	Msg   string
}

func (e *PatchError) Error() string {
	return fmt.Sprintf("Operations[%d] %s %q: %s", e.Index, e.Op.Op, e.Op.Path, e.Msg)
}

// ApplyPatch applies ops in order to a User resource (core attributes at the
// top level, each extension an object member named by its URN) and returns
// the result; doc itself is not modified. The semantics are RFC 7644 §3.5.2
// as SAP Concur documents them:
//
//   - add: a multi-valued attribute gets the values not already there, a
//     complex attribute gets the given sub-attributes, anything else is set;
//   - replace: a multi-valued attribute without a filter is replaced whole,
//     a complex attribute keeps the sub-attributes not given, anything else
//     is set; a filter replaces the matching values (or, with a
//     sub-attribute, that sub-attribute of each);
//   - remove: deletes the attribute, the matching values, or the
//     sub-attribute of each matching value; a target that does not exist is
//     an error;
//   - add/replace of attr[k eq "v"].sub with no matching value creates the
//     value {k: "v", sub: value} (how customData and emails paths are used).
//
// Filters must be conjunctions of eq terms (scimpath.Filter.Equalities).
func ApplyPatch(doc Value, ops []PatchOperation) (Value, error) {
	out := Clone(doc)
	if out.Kind != ObjectKind {
		return doc, fmt.Errorf("the resource is not a JSON object")
	}
	for i, op := range ops {
		if err := applyOne(&out, op); err != nil {
			return doc, &PatchError{Index: i, Op: op, Msg: err.Error()}
		}
	}
	return out, nil
}

func applyOne(doc *Value, op PatchOperation) error {
	kind := strings.ToLower(op.Op)
	switch kind {
	case "add", "replace", "remove":
	default:
		return fmt.Errorf("unsupported op")
	}
	if op.Path == "" {
		if kind == "remove" {
			return fmt.Errorf("remove needs a path")
		}
		if op.Value.Kind != ObjectKind {
			return fmt.Errorf("an operation without a path needs an object value")
		}
		for _, m := range op.Value.Obj.Members {
			if err := applyOne(doc, PatchOperation{Op: kind, Path: m.Name, Value: m.Value}); err != nil {
				return err
			}
		}
		return nil
	}
	if kind != "remove" && op.Value.Kind == Null {
		return fmt.Errorf("%s needs a value", kind)
	}
	p, err := scimpath.Parse(op.Path)
	if err != nil {
		return err
	}
	// The container: the resource for core attributes, else the extension.
	container := doc
	if p.URN != "" && !strings.EqualFold(p.URN, scimpath.CoreUser) {
		ext, ok := doc.Obj.Get(p.URN)
		if !ok || ext.Kind == Null {
			if kind == "remove" {
				return fmt.Errorf("no %s extension", p.URN)
			}
			doc.Obj.Set(p.URN, Obj(&Object{}))
			ext, _ = doc.Obj.Get(p.URN)
		}
		if ext.Kind != ObjectKind {
			return fmt.Errorf("%s is not an object", p.URN)
		}
		container = ext
		if len(p.Attr) == 0 { // the whole extension
			if kind == "remove" {
				doc.Obj.Delete(p.URN)
				return nil
			}
			if op.Value.Kind != ObjectKind {
				return fmt.Errorf("the value for a whole extension must be an object")
			}
			for _, m := range op.Value.Obj.Members {
				setMember(container.Obj, m.Name, kind, m.Value)
			}
			return nil
		}
	}
	if len(p.Attr) == 0 {
		return fmt.Errorf("no attribute")
	}
	if p.Filter == nil {
		return applyPlain(container, p.Attr, kind, op.Value)
	}
	return applyFiltered(container, p, kind, op.Value)
}

// applyPlain handles attr, attr.sub, … without a filter.
func applyPlain(container *Value, names []string, kind string, val Value) error {
	parent := container
	for _, n := range names[:len(names)-1] {
		next, ok := parent.Obj.Get(n)
		if !ok || next.Kind == Null {
			if kind == "remove" {
				return fmt.Errorf("no target")
			}
			parent.Obj.Set(n, Obj(&Object{}))
			next, _ = parent.Obj.Get(n)
		}
		if next.Kind != ObjectKind {
			return fmt.Errorf("%q is not a complex attribute", n)
		}
		parent = next
	}
	last := names[len(names)-1]
	if kind == "remove" {
		if !parent.Obj.Delete(last) {
			return fmt.Errorf("no target")
		}
		return nil
	}
	setMember(parent.Obj, last, kind, val)
	return nil
}

// setMember applies add or replace of val to member name of o.
func setMember(o *Object, name, kind string, val Value) {
	cur, ok := o.Get(name)
	if !ok || cur.Kind == Null {
		o.Set(name, Clone(val))
		return
	}
	switch {
	case cur.Kind == Array && kind == "add":
		vals := val.Arr
		if val.Kind != Array {
			vals = []Value{val}
		}
		for _, v := range vals {
			if !containsEqual(cur.Arr, v) {
				cur.Arr = append(cur.Arr, Clone(v))
			}
		}
	case cur.Kind == ObjectKind && val.Kind == ObjectKind:
		for _, m := range val.Obj.Members {
			cur.Obj.Set(m.Name, Clone(m.Value))
		}
	default:
		*cur = Clone(val)
	}
}

func containsEqual(arr []Value, v Value) bool {
	for _, e := range arr {
		if Equal(e, v) {
			return true
		}
	}
	return false
}

// applyFiltered handles attr[filter] and attr[filter].sub….
func applyFiltered(container *Value, p *scimpath.Path, kind string, val Value) error {
	eqs, err := p.KeyTerms()
	if err != nil {
		return err
	}
	parent := container
	names := p.Attr
	for _, n := range names[:len(names)-1] {
		next, ok := parent.Obj.Get(n)
		if !ok || next.Kind != ObjectKind {
			return fmt.Errorf("no target")
		}
		parent = next
	}
	last := names[len(names)-1]
	arr, ok := parent.Obj.Get(last)
	if ok && arr.Kind != Array && arr.Kind != Null {
		return fmt.Errorf("%q is not multi-valued", last)
	}
	var hits []int
	if ok {
		for i := range arr.Arr {
			if Matches(arr.Arr[i], eqs) {
				hits = append(hits, i)
			}
		}
	}
	if len(hits) == 0 {
		if kind != "remove" && len(p.Sub) > 0 {
			el := Obj(&Object{})
			for _, eq := range eqs {
				slot := walkCreate(&el, eq.Attr)
				*slot = literalValue(eq.Value)
			}
			*walkCreate(&el, p.Sub) = Clone(val)
			if !ok || arr.Kind == Null {
				parent.Obj.Set(last, Value{Kind: Array, Arr: []Value{el}})
			} else {
				arr.Arr = append(arr.Arr, el)
			}
			return nil
		}
		return fmt.Errorf("no value matches the filter")
	}
	switch {
	case kind == "remove" && len(p.Sub) == 0:
		kept := arr.Arr[:0:0]
		j := 0
		for i, e := range arr.Arr {
			if j < len(hits) && hits[j] == i {
				j++
				continue
			}
			kept = append(kept, e)
		}
		if len(kept) == 0 {
			parent.Obj.Delete(last)
		} else {
			arr.Arr = kept
		}
	case kind == "remove":
		removed := false
		for _, i := range hits {
			if removeAt(&arr.Arr[i], p.Sub) {
				removed = true
			}
		}
		if !removed {
			return fmt.Errorf("no target")
		}
	case len(p.Sub) > 0:
		for _, i := range hits {
			el := &arr.Arr[i]
			if el.Kind != ObjectKind {
				return fmt.Errorf("values of %q have no sub-attributes", last)
			}
			slot := walkCreate(el, p.Sub[:len(p.Sub)-1])
			if slot.Kind != ObjectKind {
				return fmt.Errorf("cannot descend into %q", strings.Join(p.Sub, "."))
			}
			name := p.Sub[len(p.Sub)-1]
			if kind == "add" {
				setMember(slot.Obj, name, kind, val)
			} else {
				slot.Obj.Set(name, Clone(val))
			}
		}
	case kind == "add":
		if val.Kind != ObjectKind {
			return fmt.Errorf("add to selected values needs an object value")
		}
		for _, i := range hits {
			el := &arr.Arr[i]
			if el.Kind != ObjectKind {
				return fmt.Errorf("values of %q are not objects", last)
			}
			for _, m := range val.Obj.Members {
				el.Obj.Set(m.Name, Clone(m.Value))
			}
		}
	default: // replace the matching values
		for _, i := range hits {
			arr.Arr[i] = Clone(val)
		}
	}
	return nil
}

// walkCreate returns the slot at names below v, creating objects.
func walkCreate(v *Value, names []string) *Value {
	cur := v
	for _, n := range names {
		if cur.Kind != ObjectKind {
			*cur = Obj(&Object{})
		}
		next, ok := cur.Obj.Get(n)
		if !ok {
			cur.Obj.Members = append(cur.Obj.Members, Member{Name: n})
			next = &cur.Obj.Members[len(cur.Obj.Members)-1].Value
		}
		cur = next
	}
	return cur
}

func removeAt(v *Value, names []string) bool {
	cur := v
	for _, n := range names[:len(names)-1] {
		if cur.Kind != ObjectKind {
			return false
		}
		next, ok := cur.Obj.Get(n)
		if !ok {
			return false
		}
		cur = next
	}
	if cur.Kind != ObjectKind {
		return false
	}
	return cur.Obj.Delete(names[len(names)-1])
}

// MarshalPatchOp is AppendPatchOp into a json.RawMessage.
func MarshalPatchOp(ops []PatchOperation) json.RawMessage {
	return AppendPatchOp(nil, ops)
}
