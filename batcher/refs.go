package batcher

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Schema URNs that carry references to other employees.
const (
	URNCore       = "urn:ietf:params:scim:schemas:core:2.0:User"
	URNEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	URNSpendUser  = "urn:ietf:params:scim:schemas:extension:spend:2.0:User"
	URNApprover   = "urn:ietf:params:scim:schemas:extension:spend:2.0:Approver"
	URNDelegate   = "urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate"
	URNTravelUser = "urn:ietf:params:scim:schemas:extension:travel:2.0:User"
	URNPatchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	URNBulkReq    = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
)

type userRef struct {
	EmployeeNumber string `json:"employeeNumber"`
}

// listRefs collects item[key].employeeNumber from every list of an extension
// object such as the Approver ({"report":[{"approver":{…}}], …}) or Delegate.
func listRefs(ext json.RawMessage, key string, add func(string)) {
	var lists map[string]json.RawMessage
	if json.Unmarshal(ext, &lists) != nil {
		return
	}
	for _, raw := range lists {
		var items []map[string]json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			continue
		}
		for _, it := range items {
			var r userRef
			if json.Unmarshal(it[key], &r) == nil {
				add(r.EmployeeNumber)
			}
		}
	}
}

// memberRef returns ext[key].employeeNumber.
func memberRef(ext json.RawMessage, key string, add func(string)) {
	var m map[string]json.RawMessage
	if json.Unmarshal(ext, &m) != nil {
		return
	}
	var r userRef
	if json.Unmarshal(m[key], &r) == nil {
		add(r.EmployeeNumber)
	}
}

// Refs returns the sorted, distinct employeeNumbers a SCIM User document
// references: every Approver list's approver, every Delegate product list's
// delegate, the enterprise manager, the spend biManager and the travel
// manager. References by UUID only (value without employeeNumber) are not
// returned: they name users that already exist.
func Refs(data json.RawMessage) []string {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return nil
	}
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" {
			seen[s] = true
		}
	}
	if ext, ok := top[URNApprover]; ok {
		listRefs(ext, "approver", add)
	}
	if ext, ok := top[URNDelegate]; ok {
		listRefs(ext, "delegate", add)
	}
	if ext, ok := top[URNEnterprise]; ok {
		memberRef(ext, "manager", add)
	}
	if ext, ok := top[URNSpendUser]; ok {
		memberRef(ext, "biManager", add)
	}
	if ext, ok := top[URNTravelUser]; ok {
		memberRef(ext, "manager", add)
	}
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
	for _, urn := range []string{URNApprover, URNDelegate} {
		if ext, ok := top[urn]; ok {
			if whole == nil {
				whole = map[string]json.RawMessage{}
			}
			whole[urn] = ext
			delete(top, urn)
			dropped[urn] = true
		}
	}
	if whole != nil {
		ops = append(ops, patchOp{Op: "replace", Value: whole})
	}
	for _, m := range []struct{ urn, key string }{
		{URNEnterprise, "manager"},
		{URNSpendUser, "biManager"},
		{URNTravelUser, "manager"},
	} {
		ext, ok := top[m.urn]
		if !ok {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(ext, &obj); err != nil {
			return nil, nil, fmt.Errorf("split references: %s: %w", m.urn, err)
		}
		v, ok := obj[m.key]
		if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			continue
		}
		ops = append(ops, patchOp{Op: "replace", Path: m.urn + ":" + m.key, Value: v})
		delete(obj, m.key)
		if len(obj) == 0 {
			delete(top, m.urn)
			dropped[m.urn] = true
			continue
		}
		if top[m.urn], err = json.Marshal(obj); err != nil {
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

// PatchRefs returns the sorted, distinct employeeNumbers a PatchOp message
// adds or replaces at the reference locations Refs knows: operations
// without a path carry a partial User document; a path naming an extension
// ("…:spend:2.0:Approver") or one of its attributes ("…:Approver:report",
// "…:enterprise:2.0:User:manager") carries that part of it. Paths with
// value filters are not followed.
func PatchRefs(data json.RawMessage) []string {
	var msg struct {
		Operations []struct {
			Op    string          `json:"op"`
			Path  string          `json:"path"`
			Value json.RawMessage `json:"value"`
		} `json:"Operations"`
	}
	if json.Unmarshal(data, &msg) != nil {
		return nil
	}
	seen := map[string]bool{}
	for _, o := range msg.Operations {
		if o.Op == "remove" || len(o.Value) == 0 {
			continue
		}
		doc := o.Value
		if o.Path != "" {
			doc = nil
			for _, urn := range []string{URNApprover, URNDelegate, URNEnterprise, URNSpendUser, URNTravelUser} {
				switch {
				case o.Path == urn:
					doc, _ = json.Marshal(map[string]json.RawMessage{urn: o.Value})
				case len(o.Path) > len(urn)+1 && o.Path[:len(urn)+1] == urn+":":
					attr := o.Path[len(urn)+1:]
					if bytes.ContainsAny([]byte(attr), "[.") {
						continue
					}
					inner, _ := json.Marshal(map[string]json.RawMessage{attr: o.Value})
					doc, _ = json.Marshal(map[string]json.RawMessage{urn: inner})
				}
			}
		}
		for _, r := range Refs(doc) {
			seen[r] = true
		}
	}
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
