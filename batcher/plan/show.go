package plan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"scimigrate/scim/scimpath"
)

// ShowOptions select what Show prints of a saved plan.
type ShowOptions struct {
	Attribute string // users whose changes touch this path (with or without its extension URN)
	Employee  string // one employee's block
	Color     bool
}

// ErrNotInPlan is returned by Show when the attribute or employee asked
// for is not in the plan.
type ErrNotInPlan struct{ What string }

func (e *ErrNotInPlan) Error() string { return e.What + " is not in the plan" }

// Show prints a saved plan's summary (counts and the summary by attribute),
// or drills into one attribute (every user that gets it changed, with old
// and new values) or one employee (the user's block).
func Show(w io.Writer, f *File, o ShowOptions) error {
	return show(w, f, func(fn func(*UserEntry) error) error {
		for i := range f.Users {
			if err := fn(&f.Users[i]); err != nil {
				return err
			}
		}
		return nil
	}, o)
}

// ShowDir is Show of the plan saved in dir, read user by user: a plan of
// any size is shown without holding its users.
func ShowDir(w io.Writer, dir string, o ShowOptions) error {
	f, err := readPlanDir(dir, nil, true, nil) // the head and the summary, before the users
	if err != nil {
		return err
	}
	return show(w, f, func(fn func(*UserEntry) error) error {
		_, err := readPlanDir(dir, fn, true, nil) // the operations after the users are not needed
		return err
	}, o)
}

func show(w io.Writer, f *File, each func(func(*UserEntry) error) error, o ShowOptions) error {
	bw := bufio.NewWriter(w)
	pt := painter(o.Color)
	counts := Counts(f.Summary)
	switch {
	case o.Employee != "":
		n := 0
		err := each(func(u *UserEntry) error {
			if !strings.EqualFold(u.EmployeeNumber, o.Employee) {
				return nil
			}
			renderEntry(bw, pt, u)
			bw.WriteByte('\n')
			n++
			return nil
		})
		if err != nil {
			return err
		}
		if n == 0 {
			return &ErrNotInPlan{What: fmt.Sprintf("employee %q", o.Employee)}
		}
	case o.Attribute != "":
		want := strings.ToLower(o.Attribute)
		n := 0
		err := each(func(u *UserEntry) error {
			for _, c := range u.Changes {
				if !pathMatches(c.Path, want) {
					continue
				}
				old, nu := compact(c.Old), compact(c.New)
				switch c.Kind {
				case "+":
					old = "(none)"
				case "-":
					nu = "(none)"
				}
				k := byte('?')
				if c.Kind != "" {
					k = c.Kind[0]
				}
				fmt.Fprintf(bw, "%s %s %s: %s → %s\n", pt.paint(markColor(k), c.Kind), orNone(u.EmployeeNumber), c.Path, orEmpty(old), orEmpty(nu))
				n++
			}
			return nil
		})
		if err != nil {
			return err
		}
		if n == 0 {
			return &ErrNotInPlan{What: fmt.Sprintf("attribute %q", o.Attribute)}
		}
		fmt.Fprintf(bw, "\n%d change(s) of %s\n", n, o.Attribute)
	default:
		if err := RenderSummary(bw, f.Attributes, o.Color); err != nil {
			return err
		}
		fmt.Fprintln(bw, pt.paint(ansiBold, counts.Line()))
	}
	return bw.Flush()
}

// compact is a saved value on one line (plan.json indents them).
func compact(raw []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

func orEmpty(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// pathMatches reports whether a change's full path is the path asked for
// (lower case): the same, the same below its extension URN, or an entry or
// sub-attribute of it (customData matches customData[id eq "x"].value).
func pathMatches(full, want string) bool {
	p := strings.ToLower(full)
	short := p
	for _, u := range scimpath.KnownURNs {
		if lu := strings.ToLower(u) + ":"; strings.HasPrefix(p, lu) {
			short = p[len(lu):]
			break
		}
	}
	for _, s := range []string{p, short} {
		if s == want || strings.HasPrefix(s, want) && len(s) > len(want) && strings.ContainsRune("[.", rune(s[len(want)])) {
			return true
		}
	}
	return false
}

// renderEntry writes a saved user's block, as Render shows it.
func renderEntry(w *bufio.Writer, pt painter, u *UserEntry) {
	a, _ := ParseAction(u.Action)
	renderHead(w, pt, byte(a), u.Action, u.EmployeeNumber, u.UserName, u.ID, u.MatchedBy, u.Reasons, u.Notes)
	if a == Create {
		fmt.Fprintf(w, "    (the resource is in the plan's Bulk request %s)\n", orEmpty(u.BulkID))
		return
	}
	// Grouped by schema as Render groups them: core first, then the
	// extensions in the order of scimpath.KnownURNs.
	schemaOfPath := func(path string) string {
		for _, urn := range scimpath.KnownURNs {
			if urn != scimpath.CoreUser && strings.HasPrefix(path, urn+":") {
				return urn
			}
		}
		return ""
	}
	groups := map[string][]ChangeEntry{}
	var order []string
	for _, c := range u.Changes {
		s := schemaOfPath(c.Path)
		if _, ok := groups[s]; !ok {
			order = append(order, s)
		}
		groups[s] = append(groups[s], c)
	}
	sort.SliceStable(order, func(i, j int) bool { return schemaRank(order[i]) < schemaRank(order[j]) })
	for _, s := range order {
		indent := "    "
		if s != "" {
			fmt.Fprintf(w, "    %s\n", s)
			indent = "      "
		}
		for _, c := range groups[s] {
			old, nu := orEmpty(compact(c.Old)), orEmpty(compact(c.New))
			k := byte('?')
			if c.Kind != "" {
				k = c.Kind[0]
			}
			fmt.Fprintf(w, "%s%s %s: %s → %s\n", indent, pt.paint(markColor(k), c.Kind), strings.TrimPrefix(c.Path, s+":"), old, nu)
		}
	}
}
