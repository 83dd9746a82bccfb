package plan

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"scimigrate/scim/scimpath"
)

// AttributeSummary is one line of a plan's summary by attribute: how many
// users get an attribute path added, replaced or removed, with the first
// employees (in plan order) as examples.
type AttributeSummary struct {
	Schema   string   `json:"schema,omitempty"` // extension URN ("" for core)
	Path     string   `json:"path"`             // path below the schema, as the per-user blocks show it
	Kind     string   `json:"kind"`             // "+" added, "~" replaced, "-" removed
	Users    int      `json:"users"`
	Examples []string `json:"examples"`
}

// SummaryExamples is how many example employees a summary line names.
const SummaryExamples = 3

// DetailThreshold is the number of changed users past which the plan on
// standard output is the summary only; the per-user blocks go to plan.txt
// (or are shown with --detail).
const DetailThreshold = 200

// entityKey matches the filter that picks one approver or delegate entry by
// the employee it names. The summary groups such entries under one line
// (examples name the users), so that a change of approvers across a company
// is one line per attribute, not one line per approver.
var entityKey = regexp.MustCompile(`\[((?:approver|delegate)\.employeeNumber) eq "(?:[^"\\]|\\.)*"\]`)

// SummaryPath is the path under which a change is counted in the summary:
// the change's path with an approver's or delegate's employeeNumber
// replaced by "…".
func SummaryPath(path string) string {
	if !strings.Contains(path, "employeeNumber eq") {
		return path
	}
	return entityKey.ReplaceAllString(path, "[$1 eq …]")
}

// summarizer counts users per (schema, path, kind).
type summarizer struct {
	lines map[string]*AttributeSummary
}

func (s *summarizer) user(emp string, kinds []byte, schemas, paths []string) {
	if s.lines == nil {
		s.lines = map[string]*AttributeSummary{}
	}
	seen := map[string]bool{}
	for i := range paths {
		paths[i] = SummaryPath(paths[i])
		k := schemas[i] + "\x00" + paths[i] + "\x00" + string(kinds[i])
		if seen[k] {
			continue
		}
		seen[k] = true
		l := s.lines[k]
		if l == nil {
			l = &AttributeSummary{Schema: schemas[i], Path: paths[i], Kind: string(kinds[i])}
			s.lines[k] = l
		}
		l.Users++
		if len(l.Examples) < SummaryExamples {
			l.Examples = append(l.Examples, orNone(emp))
		}
	}
}

// sorted lists the lines: core first, then the extensions in the order of
// scimpath.KnownURNs (others by name); by path, then added, replaced,
// removed.
func (s *summarizer) sorted() []AttributeSummary {
	out := make([]AttributeSummary, 0, len(s.lines))
	for _, l := range s.lines {
		out = append(out, *l)
	}
	kindRank := func(k string) int { return strings.Index("+~-", k) }
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := schemaRank(a.Schema), schemaRank(b.Schema); ra != rb {
			return ra < rb
		}
		if a.Schema != b.Schema {
			return a.Schema < b.Schema
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return kindRank(a.Kind) < kindRank(b.Kind)
	})
	return out
}

func schemaRank(s string) int {
	if s == "" {
		return -1
	}
	for i, u := range scimpath.KnownURNs {
		if u == s {
			return i
		}
	}
	return len(scimpath.KnownURNs)
}

// Summary is the plan by attribute: for each attribute path the users that
// get it added, replaced or removed (updates and deactivations; a created
// user gets everything it holds).
func (p *Plan) Summary() []AttributeSummary {
	// A plan does not change once made: the summary is computed once (a
	// streamed plan reads every changed user back from its spool for it).
	p.summaryOnce.Do(func() { p.summary = p.summarize() })
	return p.summary
}

func (p *Plan) summarize() []AttributeSummary {
	var s summarizer
	var kinds []byte
	var schemas, paths []string
	for _, u := range p.Users {
		if u.Action != Update && u.Action != Deactivate {
			continue
		}
		kinds, schemas, paths = kinds[:0], schemas[:0], paths[:0]
		for _, c := range u.shown() {
			kinds = append(kinds, c.Kind)
			schemas = append(schemas, c.Schema)
			paths = append(paths, strings.TrimPrefix(c.Path, c.Schema+":"))
		}
		s.user(u.EmployeeNumber, kinds, schemas, paths)
	}
	return s.sorted()
}

// RenderSummary writes the summary by attribute, grouped by extension:
//
//	Changes by attribute (number of users, first employees):
//	    ~ 20058  name.middleName  e.g. E0000012, E0000031, E0000044, …
//	    urn:ietf:params:scim:schemas:extension:spend:2.0:User
//	      + 120  customData[id eq "custom1"].value  e.g. E0000007, …
//
// Nothing is written when no attribute changes.
func RenderSummary(w io.Writer, lines []AttributeSummary, color bool) error {
	if len(lines) == 0 {
		return nil
	}
	bw := bufio.NewWriter(w)
	pt := painter(color)
	width := 0
	for _, l := range lines {
		width = max(width, len(fmt.Sprint(l.Users)))
	}
	fmt.Fprintln(bw, pt.paint(ansiBold, "Changes by attribute (number of users, first employees):"))
	schema := ""
	for _, l := range lines {
		indent := "    "
		if l.Schema != schema {
			schema = l.Schema
			if schema != "" {
				fmt.Fprintf(bw, "    %s\n", schema)
			}
		}
		if schema != "" {
			indent = "      "
		}
		ex := strings.Join(l.Examples, ", ")
		if l.Users > len(l.Examples) {
			ex += ", …"
		}
		k := byte('?')
		if l.Kind != "" {
			k = l.Kind[0]
		}
		fmt.Fprintf(bw, "%s%s %*d  %s  e.g. %s\n", indent, pt.paint(markColor(k), l.Kind), width, l.Users, l.Path, ex)
	}
	bw.WriteByte('\n')
	return bw.Flush()
}
