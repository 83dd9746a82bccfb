package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"scimigrate/scim"
)

// StateFile is the default name of the applied state, kept beside the
// journal.
const StateFile = "scimigrate-state.json"

// State is what scimigrate last applied successfully for the attributes
// the target never returns (write-only: entitlements, "Request Only" in
// the UPS reference). A plan compares those attributes against it instead
// of against nothing, so a re-plan after a clean apply shows no change.
// apply updates it from its journal (RecordApplied); it is a small JSON
// file (mode 0600) that moves between machines with a plain copy.
type State struct {
	Format string                `json:"format"`
	Users  map[string]*StateUser `json:"users"` // by Concur id
	byEmp  map[string]*StateUser // by lower-cased employeeNumber
}

// StateUser is one user's applied write-only attributes.
type StateUser struct {
	ID             string   `json:"id"`
	EmployeeNumber string   `json:"employeeNumber"`
	Entitlements   []string `json:"entitlements"`
	Applied        string   `json:"applied"` // when (RFC 3339)
}

const stateFormat = "scimigrate-applied-state/1"

// NewState returns an empty state.
func NewState() *State {
	return &State{Format: stateFormat, Users: map[string]*StateUser{}, byEmp: map[string]*StateUser{}}
}

// ReadState reads the state at path; a missing file is an empty state when
// mustExist is false.
func ReadState(path string, mustExist bool) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !mustExist {
		return NewState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("applied state: %w", err)
	}
	s := NewState()
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("applied state %s: %w", path, err)
	}
	if s.Format != stateFormat {
		return nil, fmt.Errorf("applied state %s: format %q, want %q", path, s.Format, stateFormat)
	}
	if s.Users == nil {
		s.Users = map[string]*StateUser{}
	}
	for _, u := range s.Users {
		s.byEmp[strings.ToLower(u.EmployeeNumber)] = u
	}
	return s, nil
}

// Write saves the state atomically with mode 0600.
func (s *State) Write(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	return writeFile(path, append(b, '\n'))
}

// Lookup finds a user's applied state by id, else by employeeNumber.
func (s *State) Lookup(id, employeeNumber string) *StateUser {
	if s == nil {
		return nil
	}
	if u := s.Users[id]; u != nil && id != "" {
		return u
	}
	if employeeNumber != "" {
		return s.byEmp[strings.ToLower(employeeNumber)]
	}
	return nil
}

// Record updates the state with an operation the target applied: a
// creation sets the user's entitlements to those it sent; a PATCH applies
// its entitlement operations to what the state held. Operations that do
// not touch entitlements leave the state as it was.
func (s *State) Record(method, id, employeeNumber string, data []byte, at string) error {
	if id == "" {
		return nil
	}
	prev := s.Lookup(id, employeeNumber)
	if prev != nil && before(at, prev.Applied) {
		return nil // an older run replayed: the state already holds a later one
	}
	var ents []string
	switch method {
	case "POST":
		doc, err := scim.Decode(data)
		if err != nil {
			return err
		}
		if doc.Kind != scim.ObjectKind {
			return nil
		}
		v, ok := doc.Obj.Get("entitlements")
		if !ok {
			return nil
		}
		ents = stringsOf(*v)
	case "PATCH":
		ops, err := scim.DecodePatchOp(data)
		if err != nil {
			return err
		}
		var entOps []scim.PatchOperation
		for _, op := range ops {
			if isEntitlementOp(op) {
				entOps = append(entOps, op)
			}
		}
		if len(entOps) == 0 {
			return nil
		}
		cur := &scim.Object{}
		if prev != nil {
			arr := make([]scim.Value, len(prev.Entitlements))
			for i, e := range prev.Entitlements {
				arr[i] = scim.Str(e)
			}
			cur.Set("entitlements", scim.Value{Kind: scim.Array, Arr: arr})
		}
		doc, err := scim.ApplyPatch(scim.Obj(cur), entOps)
		if err != nil {
			return err
		}
		if v, ok := doc.Obj.Get("entitlements"); ok {
			ents = stringsOf(*v)
		}
	default:
		return nil
	}
	if ents == nil {
		ents = []string{}
	}
	sort.Strings(ents)
	if prev != nil && prev.ID != id {
		delete(s.Users, prev.ID)
	}
	u := &StateUser{ID: id, EmployeeNumber: employeeNumber, Entitlements: ents, Applied: at}
	s.Users[id] = u
	s.byEmp[strings.ToLower(employeeNumber)] = u
	return nil
}

func before(a, b string) bool {
	ta, ea := time.Parse(time.RFC3339Nano, a)
	tb, eb := time.Parse(time.RFC3339Nano, b)
	return ea == nil && eb == nil && ta.Before(tb)
}

func isEntitlementOp(op scim.PatchOperation) bool {
	p := strings.ToLower(op.Path)
	return p == "entitlements" || strings.HasPrefix(p, "entitlements[") ||
		p == "" && op.Value.Kind == scim.ObjectKind && hasMember(op.Value, "entitlements")
}

func hasMember(v scim.Value, name string) bool {
	_, ok := v.Obj.Get(name)
	return ok
}

func stringsOf(v scim.Value) []string {
	var out []string
	if v.Kind != scim.Array {
		return out
	}
	for _, e := range v.Arr {
		if e.Kind == scim.String {
			out = append(out, e.Str)
		}
	}
	return out
}

// withEntitlements returns doc with the entitlements the state holds.
func withEntitlements(doc scim.Value, ents []string) scim.Value {
	out := scim.Clone(doc)
	arr := make([]scim.Value, len(ents))
	for i, e := range ents {
		arr[i] = scim.Str(e)
	}
	out.Obj.Set("entitlements", scim.Value{Kind: scim.Array, Arr: arr})
	return out
}
