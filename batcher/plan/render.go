package plan

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// RenderOptions configure the human plan.
type RenderOptions struct {
	Color bool // ANSI colours (only on a terminal)
	// MaxUnchanged bounds the unchanged employees listed by number
	// (default 20; the count is always shown).
	MaxUnchanged int
	// SummaryOnly leaves out the per-user blocks: the summary by attribute,
	// the unchanged count, the warnings and the closing line.
	SummaryOnly bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
	ansiDim    = "\x1b[2m"
)

type painter bool

func (p painter) paint(code, s string) string {
	if !p {
		return s
	}
	return code + s + ansiReset
}

func markColor(k byte) string {
	switch k {
	case '+':
		return ansiGreen
	case '~':
		return ansiYellow
	case '-':
		return ansiRed
	case '!':
		return ansiBold + ansiRed
	}
	return ""
}

// Render writes the human plan: the summary by attribute (see
// RenderSummary), then one block per user that changes or is rejected (+ create, ~ update, - deactivate, ! rejected) with its attribute
// lines grouped by extension, the unchanged users summarised, and the
// closing line "Plan: N to create, N to update, N to deactivate, N
// unchanged, N rejected."
func (p *Plan) Render(w io.Writer, o RenderOptions) error {
	if o.MaxUnchanged <= 0 {
		o.MaxUnchanged = 20
	}
	bw := bufio.NewWriter(w)
	pt := painter(o.Color)
	if err := RenderSummary(bw, p.Summary(), o.Color); err != nil {
		return err
	}
	var unchanged []string
	for _, u := range p.Users {
		if u.Action == NoChange {
			unchanged = append(unchanged, u.EmployeeNumber)
			continue
		}
		if o.SummaryOnly {
			continue
		}
		renderUser(bw, pt, u)
		bw.WriteByte('\n')
	}
	if len(unchanged) > 0 {
		list := unchanged
		more := ""
		if len(list) > o.MaxUnchanged {
			list, more = list[:o.MaxUnchanged], fmt.Sprintf(", … (%d more)", len(unchanged)-o.MaxUnchanged)
		}
		fmt.Fprintf(bw, "= %d unchanged: %s%s\n\n", len(unchanged), strings.Join(list, ", "), more)
	}
	for _, s := range p.Warnings {
		fmt.Fprintf(bw, "Warning: %s\n\n", s)
	}
	if !p.Counts.Changes() && p.Counts.Rejected == 0 {
		fmt.Fprintln(bw, pt.paint(ansiBold, "No changes.")+" The target matches the input.")
	}
	fmt.Fprintln(bw, pt.paint(ansiBold, p.Counts.Line()))
	if err := p.Err(); err != nil {
		return err
	}
	return bw.Flush()
}

// Changed is the number of users the plan shows a block for: created,
// updated, deactivated or rejected.
func (c Counts) Changed() int { return c.Create + c.Update + c.Deactivate + c.Rejected }

// Line is the closing line of a plan.
func (c Counts) Line() string {
	return fmt.Sprintf("Plan: %d to create, %d to update, %d to deactivate, %d unchanged, %d rejected.",
		c.Create, c.Update, c.Deactivate, c.Unchanged, c.Rejected)
}

// renderHead writes the first lines of a user's block: the action, the
// employee, how it was matched, the reasons and the notes. The plan
// (renderUser) and a saved plan (renderEntry) share it.
func renderHead(w *bufio.Writer, pt painter, mark byte, action, emp, userName, id, matchedBy string, reasons, notes []string) {
	head := fmt.Sprintf("%c %s %s", mark, action, orNone(emp))
	if userName != "" {
		head += " " + userName
	}
	var info []string
	if id != "" {
		info = append(info, "id "+id)
	}
	switch matchedBy {
	case "":
	case "not in the input":
		info = append(info, matchedBy)
	default:
		info = append(info, "matched by "+matchedBy)
	}
	if len(info) > 0 {
		head += "  (" + strings.Join(info, ", ") + ")"
	}
	fmt.Fprintln(w, pt.paint(markColor(mark), head))
	for _, r := range reasons {
		fmt.Fprintf(w, "    %s\n", r)
	}
	for _, n := range notes {
		fmt.Fprintf(w, "    %s\n", pt.paint(ansiDim, "# "+n))
	}
}

func renderUser(w *bufio.Writer, pt painter, u *UserPlan) {
	renderHead(w, pt, byte(u.Action), u.Action.String(), u.EmployeeNumber, u.UserName, u.ID, u.MatchedBy, u.Reasons, u.Notes)
	if u.Action == Create {
		renderResource(w, u.resource())
		if r := u.refsPatch; r != nil {
			fmt.Fprintf(w, "    then PATCH %s (request %d), once every employee it names exists:\n", r.Path, r.Request)
			if ops, err := scim.DecodePatchOp(r.Data); err == nil {
				for _, op := range ops {
					path := op.Path
					if path == "" {
						path = "(no path)"
					}
					fmt.Fprintf(w, "      %s %s: %s\n", op.Op, path, display(op.Value))
				}
			}
		}
		return
	}
	groups, order := groupChanges(u.shown())
	for _, schema := range order {
		indent := "    "
		if schema != "" {
			fmt.Fprintf(w, "    %s\n", schema)
			indent = "      "
		}
		for _, c := range groups[schema] {
			path := strings.TrimPrefix(c.Path, schema+":")
			old, nu := displayJSON(c.Old), displayJSON(c.New)
			switch c.Kind {
			case '+':
				old = "(none)"
			case '-':
				nu = "(none)"
			}
			fmt.Fprintf(w, "%s%s %s: %s → %s\n", indent, pt.paint(markColor(c.Kind), string(c.Kind)), path, old, nu)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "(no employeeNumber)"
	}
	return s
}

// groupChanges groups changes by schema: core first, then the extensions in
// the order of scimpath.KnownURNs, then others by name.
func groupChanges(cs []changeJSON) (map[string][]changeJSON, []string) {
	groups := map[string][]changeJSON{}
	for _, c := range cs {
		groups[c.Schema] = append(groups[c.Schema], c)
	}
	order := make([]string, 0, len(groups))
	for s := range groups {
		order = append(order, s)
	}
	rank := func(s string) int {
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
	sort.Slice(order, func(i, j int) bool {
		ri, rj := rank(order[i]), rank(order[j])
		if ri != rj {
			return ri < rj
		}
		return order[i] < order[j]
	})
	return groups, order
}

// displayJSON is display of a value given as its pruned JSON.
func displayJSON(b []byte) string {
	if b == nil {
		return "(none)"
	}
	return string(b)
}

func display(v scim.Value) string {
	if v.Kind == scim.Null {
		return "(none)"
	}
	return string(scim.AppendJSON(nil, prune(v)))
}

// renderResource lists a created resource's values, one path per line,
// grouped by extension.
func renderResource(w *bufio.Writer, res scim.Value) {
	if res.Kind != scim.ObjectKind {
		return
	}
	var core []string
	for _, m := range res.Obj.Members {
		if m.Name == "schemas" || strings.HasPrefix(strings.ToLower(m.Name), "urn:") {
			continue
		}
		core = flatten(core, scimpath.CoreUser, m.Name, m.Value)
	}
	for _, l := range core {
		fmt.Fprintf(w, "    + %s\n", l)
	}
	for _, m := range res.Obj.Members {
		if !strings.HasPrefix(strings.ToLower(m.Name), "urn:") || m.Value.Kind != scim.ObjectKind {
			continue
		}
		var lines []string
		for _, e := range m.Value.Obj.Members {
			lines = flatten(lines, canonicalURN(m.Name), e.Name, e.Value)
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(w, "    %s\n", m.Name)
		for _, l := range lines {
			fmt.Fprintf(w, "      + %s\n", l)
		}
	}
}

// flatten renders attribute attr as "path: value" lines; keyed lists
// become one group of lines per entry, addressed by its key filter.
func flatten(out []string, urn, path string, v scim.Value) []string {
	switch v.Kind {
	case scim.ObjectKind:
		if isReference(lastName(path)) {
			return append(out, path+": "+display(v))
		}
		for _, m := range v.Obj.Members {
			out = flatten(out, urn, path+"."+m.Name, m.Value)
		}
		return out
	case scim.Array:
		key := keyOf(urn, path)
		if key == nil || len(v.Arr) == 0 || key[0] == "value" {
			return append(out, path+": "+display(v))
		}
		for _, el := range v.Arr {
			eqs, ok := keyTerms(el, key)
			if !ok || el.Kind != scim.ObjectKind {
				out = append(out, path+"[]: "+display(el))
				continue
			}
			ep := path + "[" + filterString(eqs) + "]"
			n := 0
			for _, m := range el.Obj.Members {
				if isKeyMember(m.Name, key) && (m.Value.Kind != scim.ObjectKind || len(m.Value.Obj.Members) <= 1) {
					continue
				}
				out = flatten(out, urn, ep+"."+m.Name, m.Value)
				n++
			}
			if n == 0 {
				out = append(out, ep+": "+display(el))
			}
		}
		return out
	}
	return append(out, path+": "+display(v))
}

func lastName(path string) string {
	if i := strings.LastIndexAny(path, ".]"); i >= 0 {
		return path[i+1:]
	}
	return path
}
