package plan

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// Current is one user as the target holds it: the identity resource with
// its id and meta, the spend and travel extensions merged in.
type Current struct {
	ID             string
	EmployeeNumber string
	UserName       string
	Version        string // meta.version as seen (an ETag such as W/"3")
	LastModified   string // meta.lastModified as seen
	Doc            scim.Value
	Line           int // line in the snapshot file (0 for live reads)
}

// Active reports whether the user is active (an absent "active" counts as
// active, as UPS defaults it).
func (c *Current) Active() bool {
	v, ok := c.Doc.Obj.Get("active")
	return !ok || v.Kind != scim.Bool || v.Bool
}

// Snapshot is the current state of (part of) a target.
type Snapshot struct {
	Source string // snapshot file name or base URL, for messages
	Users  []*Current
}

// SnapshotError is a snapshot line that cannot be read.
type SnapshotError struct {
	File string
	Line int
	Msg  string
}

func (e *SnapshotError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// ReadSnapshot reads an NDJSON snapshot: one SCIM user per line, as Concur
// returns them (identity with "id" and "meta", spend and travel extension
// objects merged in under their URNs). Blank lines are skipped. Every user
// needs a non-empty "id"; ids must be distinct.
func ReadSnapshot(r io.Reader, name string) (*Snapshot, error) {
	s := &Snapshot{Source: name}
	br := bufio.NewReaderSize(r, 64<<10)
	seen := map[string]int{}
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			c, perr := ParseUser(b)
			if perr != nil {
				return nil, &SnapshotError{File: name, Line: line, Msg: perr.Error()}
			}
			if prev, dup := seen[strings.ToLower(c.ID)]; dup {
				return nil, &SnapshotError{File: name, Line: line, Msg: fmt.Sprintf("user id %q is also on line %d", c.ID, prev)}
			}
			seen[strings.ToLower(c.ID)] = line
			c.Line = line
			s.Users = append(s.Users, c)
		}
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// ParseUser reads one user resource.
func ParseUser(b []byte) (*Current, error) {
	v, err := scim.Decode(bytes.TrimSpace(b))
	if err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	return NewCurrent(v)
}

// NewCurrent wraps a user resource.
func NewCurrent(v scim.Value) (*Current, error) {
	c := &Current{}
	if err := c.set(v); err != nil {
		return nil, err
	}
	return c, nil
}

// set makes c the user resource v.
func (c *Current) set(v scim.Value) error {
	if v.Kind != scim.ObjectKind {
		return errors.New("a user must be a JSON object")
	}
	*c = Current{Doc: v}
	id, ok := v.Obj.Get("id")
	if !ok || id.Kind != scim.String || strings.TrimSpace(id.Str) == "" {
		return errors.New(`the user has no "id" (a snapshot holds users as the target returns them)`)
	}
	c.ID = id.Str
	if un, ok := v.Obj.Get("userName"); ok {
		if un.Kind != scim.String {
			return errors.New(`"userName" is not a string`)
		}
		c.UserName = un.Str
	}
	if ent, ok := v.Obj.Get(scimpath.EnterpriseUser); ok {
		if ent.Kind != scim.ObjectKind {
			return fmt.Errorf("%s is not an object", scimpath.EnterpriseUser)
		}
		if en, ok := ent.Obj.Get("employeeNumber"); ok {
			if en.Kind != scim.String {
				return errors.New(`"employeeNumber" is not a string`)
			}
			c.EmployeeNumber = en.Str
		}
	}
	if a, ok := v.Obj.Get("active"); ok && a.Kind != scim.Bool && a.Kind != scim.Null {
		return errors.New(`"active" is not a boolean`)
	}
	if m, ok := v.Obj.Get("meta"); ok && m.Kind == scim.ObjectKind {
		if x, ok := m.Obj.Get("version"); ok && x.Kind == scim.String {
			c.Version = x.Str
		}
		if x, ok := m.Obj.Get("lastModified"); ok && x.Kind == scim.String {
			c.LastModified = x.Str
		}
	}
	return nil
}

// Write writes the snapshot as NDJSON.
func (s *Snapshot) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	var b []byte
	for _, u := range s.Users {
		b = scim.AppendJSON(b[:0], u.Doc)
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// MergeProfiles merges the spend and travel profiles of a user into its
// identity resource: every extension object (a member named "urn:…") of
// the profiles that the identity does not already hold. Either profile may
// be the zero Value (the user has none).
func MergeProfiles(identity scim.Value, profiles ...scim.Value) scim.Value {
	out := scim.Clone(identity)
	for _, p := range profiles {
		if p.Kind != scim.ObjectKind {
			continue
		}
		for _, m := range p.Obj.Members {
			if !strings.HasPrefix(strings.ToLower(m.Name), "urn:") || m.Value.Kind != scim.ObjectKind {
				continue
			}
			if _, ok := out.Obj.Get(m.Name); ok {
				continue
			}
			out.Obj.Members = append(out.Obj.Members, scim.Member{Name: m.Name, Value: scim.Clone(m.Value)})
			if sch, ok := out.Obj.Get("schemas"); ok && sch.Kind == scim.Array {
				sch.Arr = append(sch.Arr, scim.Str(m.Name))
			}
		}
	}
	return out
}
