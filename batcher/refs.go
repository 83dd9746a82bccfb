package batcher

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// Schema URNs of the messages a Bulk request carries; the User schema URNs
// are scimpath's.
const (
	URNPatchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	URNBulkReq = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
)

// referenceNames are the complex attributes that name another employee by
// employeeNumber: every Approver list's approver, every Delegate product
// list's delegate, the enterprise and travel manager and the spend
// biManager.
func isReferenceName(name string) bool {
	switch strings.ToLower(name) {
	case "approver", "delegate", "manager", "bimanager":
		return true
	}
	return false
}

// collectRefs walks v (found under attribute name) and adds the
// employeeNumber of every reference object in it.
func collectRefs(name string, v scim.Value, add func(string)) {
	switch v.Kind {
	case scim.ObjectKind:
		if isReferenceName(name) {
			if en, ok := v.Obj.Get("employeeNumber"); ok && en.Kind == scim.String && en.Str != "" {
				add(en.Str)
			}
		}
		for _, m := range v.Obj.Members {
			collectRefs(m.Name, m.Value, add)
		}
	case scim.Array:
		for _, e := range v.Arr {
			collectRefs(name, e, add)
		}
	}
}

func sortedSet(seen map[string]bool) []string {
	if len(seen) == 0 {
		return nil
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Refs returns the sorted, distinct employeeNumbers a SCIM User document
// references: every Approver list's approver, every Delegate product list's
// delegate, the enterprise manager, the spend biManager and the travel
// manager. References by UUID only (value without employeeNumber) are not
// returned: they name users that already exist.
func Refs(data json.RawMessage) []string {
	doc, err := scim.Decode(data)
	if err != nil || doc.Kind != scim.ObjectKind {
		return nil
	}
	seen := map[string]bool{}
	add := func(s string) { seen[s] = true }
	// Only where SplitReferences looks (attribute names compared without
	// case, as SCIM does), so that a split identity never references.
	for _, m := range doc.Obj.Members {
		switch {
		case strings.EqualFold(m.Name, scimpath.SpendApprover), strings.EqualFold(m.Name, scimpath.SpendDelegate):
			collectRefs("", m.Value, add)
		case m.Value.Kind != scim.ObjectKind:
		default:
			if key := singleReference(m.Name); key != "" {
				for _, a := range m.Value.Obj.Members {
					if strings.EqualFold(a.Name, key) {
						collectRefs(a.Name, a.Value, add)
					}
				}
			}
		}
	}
	return sortedSet(seen)
}

// singleReferences are the single reference attributes per schema: the
// enterprise manager, the spend biManager and the travel manager.
var singleReferences = []struct{ urn, key string }{
	{scimpath.EnterpriseUser, "manager"},
	{scimpath.SpendUser, "biManager"},
	{scimpath.TravelUser, "manager"},
}

// singleReference is the reference attribute of the extension urn ("" for
// none).
func singleReference(urn string) string {
	for _, r := range singleReferences {
		if strings.EqualFold(urn, r.urn) {
			return r.key
		}
	}
	return ""
}

// PatchOpRefs returns the sorted, distinct employeeNumbers the values of a
// PATCH reference: operations without a path carry a partial User document;
// a path names the attribute its value belongs to (its last attribute or
// sub-attribute, filters included: "…:Approver:report[approver.employeeNumber
// eq "A"].approver" carries an approver). Removals reference nothing.
func PatchOpRefs(ops []scim.PatchOperation) []string {
	seen := map[string]bool{}
	add := func(s string) { seen[s] = true }
	for _, op := range ops {
		if strings.EqualFold(op.Op, "remove") || op.Value.Kind == scim.Null {
			continue
		}
		name := ""
		if op.Path != "" {
			pp, err := scimpath.Parse(op.Path)
			if err != nil {
				continue
			}
			switch {
			case len(pp.Sub) > 0:
				name = pp.Sub[len(pp.Sub)-1]
			case len(pp.Attr) > 0:
				name = pp.Attr[len(pp.Attr)-1]
			}
		}
		collectRefs(name, op.Value, add)
	}
	return sortedSet(seen)
}

// PatchRefs is PatchOpRefs of an encoded PatchOp message (nil when it does
// not decode).
func PatchRefs(data json.RawMessage) []string {
	ops, err := scim.DecodePatchOp(data)
	if err != nil {
		return nil
	}
	return PatchOpRefs(ops)
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value"`
}

type patchMsg struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

// SplitReferences splits a SCIM User document into the identity without any
// reference to another employee and a PatchOp message that adds the
// references back once the referenced employees exist. The Approver and
// Delegate extensions move to the patch whole (they hold nothing but
// references); the enterprise manager, spend biManager and travel manager move
// as single attributes. An extension left empty is dropped, and so is its URN
// in "schemas". refPatch is nil when the document holds no reference.
func SplitReferences(data json.RawMessage) (identityOnly, refPatch json.RawMessage, err error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, nil, fmt.Errorf("split references: %w", err)
	}
	var ops []patchOp
	var whole map[string]json.RawMessage
	dropped := map[string]bool{}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.EqualFold(k, scimpath.SpendApprover) || strings.EqualFold(k, scimpath.SpendDelegate) {
			if whole == nil {
				whole = map[string]json.RawMessage{}
			}
			whole[k] = top[k]
			delete(top, k)
			dropped[k] = true
		}
	}
	if whole != nil {
		ops = append(ops, patchOp{Op: "replace", Value: whole})
	}
	for _, k := range keys {
		ref := singleReference(k)
		ext, ok := top[k]
		if ref == "" || !ok {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(ext, &obj); err != nil {
			if bytes.Equal(bytes.TrimSpace(ext), []byte("null")) {
				continue
			}
			return nil, nil, fmt.Errorf("split references: %s: %w", k, err)
		}
		names := make([]string, 0, len(obj))
		for name, v := range obj {
			if strings.EqualFold(name, ref) && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			ops = append(ops, patchOp{Op: "replace", Path: k + ":" + name, Value: obj[name]})
			delete(obj, name)
		}
		if len(names) == 0 {
			continue
		}
		if len(obj) == 0 {
			delete(top, k)
			dropped[k] = true
			continue
		}
		if top[k], err = json.Marshal(obj); err != nil {
			return nil, nil, err
		}
	}
	if len(ops) == 0 {
		return data, nil, nil
	}
	if raw, ok := top["schemas"]; ok && len(dropped) > 0 {
		var schemas []string
		if json.Unmarshal(raw, &schemas) == nil {
			kept := schemas[:0]
			for _, s := range schemas {
				if !dropped[s] {
					kept = append(kept, s)
				}
			}
			if top["schemas"], err = json.Marshal(kept); err != nil {
				return nil, nil, err
			}
		}
	}
	if identityOnly, err = json.Marshal(top); err != nil {
		return nil, nil, err
	}
	if refPatch, err = json.Marshal(patchMsg{Schemas: []string{URNPatchOp}, Operations: ops}); err != nil {
		return nil, nil, err
	}
	return identityOnly, refPatch, nil
}
