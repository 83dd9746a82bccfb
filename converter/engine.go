// Package converter turns source records into SCIM users: the mapping engine
// (this file), the per-employee merge, validation, and the streaming pipeline
// that reads inputs in two passes (index, then convert in parallel).
package converter

import (
	"fmt"
	"slices"
	"strings"

	"scimigrate/converter/source"
	"scimigrate/mapping"
	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// Counts of what happened to values, summed into Stats.
type valueCounts struct {
	Unsupported int // supplied values in unsupported columns: not sent, warned
	Ignored     int // values in columns an override ignores
	Gated       int // values ignored because their gate column is not Y
	Conflicts   int // values that replaced a different value from another record
	Defaulted   int // values filled from the config's defaults
	Dropped     int // values checked and not sent, each with a warning saying why (see Engine.drop)
}

func (c *valueCounts) add(o valueCounts) {
	c.Unsupported += o.Unsupported
	c.Ignored += o.Ignored
	c.Gated += o.Gated
	c.Conflicts += o.Conflicts
	c.Defaulted += o.Defaulted
	c.Dropped += o.Dropped
}

func (c valueCounts) sub(o valueCounts) valueCounts {
	return valueCounts{Unsupported: c.Unsupported - o.Unsupported, Ignored: c.Ignored - o.Ignored, Gated: c.Gated - o.Gated,
		Conflicts: c.Conflicts - o.Conflicts, Defaulted: c.Defaulted - o.Defaulted, Dropped: c.Dropped - o.Dropped}
}

// assignment is one pending change of a record, applied only when the whole
// record converted without error.
type assignment struct {
	path    *scimpath.Path
	value   scim.Value
	init    string // JSON merged into a created element
	origin  valueOrigin
	member  int // mapping.AssertPresent / AssertAbsent / NoMembership
	segment bool
}

// valueOrigin is where an assignment's value is in its record; the file and
// record type are the record's.
type valueOrigin struct {
	field             string
	line, col, column int32
}

// Engine applies mapping tables to records. An Engine is not safe for
// concurrent use: each worker has its own.
type Engine struct {
	set      *mapping.Set
	cfg      *mapping.Config
	paths    map[string]*scimpath.Path // compiled path templates
	pending  []assignment
	direct   bool                // applying straight to an empty user
	u        *scim.User          // the user of the record being converted
	deferred []source.Diagnostic // warnings of direct mode, emitted if the record converts
	vars     map[string]string
	entVars  []string // vars whose code UPS models as an entitlement (400 EXP_USER → Expense)
	skip     []int    // columns of the record not to convert (a range dropped whole)
	counts   valueCounts
	failed   bool // the current record has an error
	inits    map[string]scim.Value
}

// NewEngine returns an engine over a loaded mapping set.
func NewEngine(set *mapping.Set) *Engine {
	return &Engine{set: set, cfg: set.Config, paths: map[string]*scimpath.Path{}, vars: map[string]string{}}
}

// Intent is a change of identifiers (record 320, V1 NewEmployeeID/NewLoginID):
// the user found by Current gets the attributes in Changes.
type Intent struct {
	Current string
	Changes *scim.User
	Record  source.Record
}

// Convert applies the record's table to u. It reports diagnostics through
// diag and returns false when the record is rejected (then u is unchanged).
// Records of intent tables fill intent instead of u.
func (e *Engine) Convert(rec *source.Record, t *mapping.Table, u *scim.User, diag source.Sink) bool {
	e.pending = e.pending[:0]
	// The first record of an employee meets an empty user: its assignments
	// are applied as they are made, and a failure empties the user again.
	// Later records go through pending, so a rejected one leaves nothing.
	e.direct, e.u, e.deferred = u.Empty(), u, e.deferred[:0]
	clear(e.vars)
	e.entVars = e.entVars[:0]
	e.skip = e.skip[:0]
	ok := true
	e.failed = false
	fail := func(d source.Diagnostic) {
		d.Severity = source.Error
		diag(d)
		ok = false
		e.failed = true
	}
	// Shape.
	if !t.Named() && t.Width > 0 {
		if n := len(rec.Fields); n > t.Width {
			fail(rec.At(t.Width, source.Error, "", fmt.Sprintf("record %s has %d columns, more than its %d; the record is rejected", t.Record, n, t.Width)))
			return false
		}
	}
	// Vars.
	for name, v := range t.Vars {
		val, i := e.fieldValue(rec, t, v.Col, v.Field)
		if val == "" {
			e.vars[name] = ""
			continue
		}
		if v.As != "" {
			c := t.ColumnAt(v.Col)
			out, err := e.transform(c, v.As, val)
			if err != nil {
				e.vars[name] = ""
				if c == nil || c.Use == "var" {
					fail(rec.At(i, source.Error, colName(c), err.Error()))
				} else {
					ok = false // the column's own row reports it
					e.failed = true
				}
				continue
			}
			if out.Entitlement != "" {
				val = out.Entitlement
				e.entVars = append(e.entVars, name)
			} else {
				val = out.Value.Str
			}
		}
		e.vars[name] = val
	}
	// Columns.
	if t.Named() {
		for i := range rec.Fields {
			f := &rec.Fields[i]
			c := t.ColumnNamed(f.Name)
			if c == nil {
				diag(rec.At(i, source.Warning, f.Name, fmt.Sprintf("unknown field in %s; not converted", t.Record)))
				e.counts.Unsupported++
				continue
			}
			if !e.column(rec, t, c, i, strings.TrimSpace(f.Value), diag, fail) {
				ok = false
			}
		}
		for _, c := range t.Columns {
			if c.Required || c.Default != "" {
				if _, i := e.fieldValue(rec, t, 0, c.Field); i < 0 {
					if !e.column(rec, t, c, -1, "", diag, fail) {
						ok = false
					}
				}
			}
		}
	} else {
		// Date ranges (500/550 temporary delegation): both dates or
		// neither, the first not after the second.
		for _, c := range t.Ranges() {
			if !e.checkRange(rec, t, c, diag, fail) {
				ok = false
			}
		}
		for _, c := range t.Columns {
			if len(e.skip) > 0 && slices.Contains(e.skip, c.Col) {
				continue
			}
			i := c.Col - 1
			val := ""
			if i < len(rec.Fields) {
				val = strings.TrimSpace(rec.Fields[i].Value)
			}
			if val == "" && !c.Required && c.Default == "" {
				continue // blank, and nothing to do for blank (see column)
			}
			if !e.column(rec, t, c, i, val, diag, fail) {
				ok = false
			}
		}
	}
	// The element every record of the table creates (500/550 delegates).
	if t.Element != "" && ok {
		p, err := e.expand(t.Element, "")
		if err != nil {
			fail(rec.Diag(source.Error, err.Error()))
		} else if p != nil {
			e.add(rec, assignment{path: p, member: mapping.AssertPresent, init: t.ElementInit,
				origin: valueOrigin{line: int32(rec.Line), col: int32(max(rec.Col, 1))}}, fail)
		}
	}
	if !ok {
		if e.direct {
			key := u.Key
			u.Reset()
			u.Key = key
		}
		return false
	}
	if t.Identity {
		u.Identity = true
	}
	if e.direct {
		for _, d := range e.deferred {
			diag(d)
		}
		return ok
	}
	for i := range e.pending {
		e.applyOne(rec, u, &e.pending[i], diag, fail)
	}
	return ok
}

func (e *Engine) diagAt(rec *source.Record, a *assignment, msg string) source.Diagnostic {
	return source.Diagnostic{File: rec.File, Line: int(a.origin.line), Col: int(a.origin.col), Severity: source.Error,
		Field: a.origin.field, Column: int(a.origin.column), Msg: msg}
}

func display(v scim.Value) string {
	return string(scim.AppendJSON(nil, v))
}

func colName(c *mapping.Column) string {
	if c == nil {
		return ""
	}
	return c.Name
}

// fieldValue returns the trimmed value of a column or named field and its
// index in rec.Fields (-1 when absent).
func (e *Engine) fieldValue(rec *source.Record, t *mapping.Table, col int, field string) (string, int) {
	if field != "" {
		c := t.ColumnNamed(field)
		for i := range rec.Fields {
			if strings.EqualFold(rec.Fields[i].Name, field) || c != nil && t.ColumnNamed(rec.Fields[i].Name) == c {
				return strings.TrimSpace(rec.Fields[i].Value), i
			}
		}
		return "", -1
	}
	if col < 1 || col > len(rec.Fields) {
		return "", -1
	}
	return strings.TrimSpace(rec.Fields[col-1].Value), col - 1
}

// column handles one row for one value. It returns false on an error.
func (e *Engine) column(rec *source.Record, t *mapping.Table, c *mapping.Column, i int, val string, diag, fail source.Sink) bool {
	at := func(sev source.Severity, msg string) source.Diagnostic {
		d := rec.At(i, sev, c.Name, msg)
		if i < 0 || i >= len(rec.Fields) {
			d.Column = c.Col
		}
		return d
	}
	if val == "" {
		if c.Required {
			fail(at(source.Error, "required, but blank"))
			return false
		}
		if c.Default == "" {
			return true
		}
		val = c.Default
	}
	if len(e.entVars) > 0 && c.Templated() {
		for _, name := range e.entVars {
			if strings.Contains(c.To, "{"+name+"}") {
				// 400 segments of EXP_USER: UPS grants the entitlement
				// Expense, which has no groups.
				e.drop(at, diag, fmt.Sprintf("not sent: {%s} is the UPS entitlement %s, which has no groups or sub-attributes (value %q)", name, e.vars[name], redact(c, val)))
				return true
			}
		}
	}
	switch {
	case c.Use == "gate":
		return e.gate(rec, t, c, val, at, diag, fail)
	case c.Use == "type" || c.Use == "var":
		return true
	case c.Ignore != "":
		e.counts.Ignored++
		return true
	case c.Option != "" && !e.cfg.Option(c.Option) && c.Refuse:
		fail(at(source.Error, fmt.Sprintf("refused: %s (value %q); the record is rejected", c.Unsupported, redact(c, val))))
		return false
	case c.Option != "" && !e.cfg.Option(c.Option), c.Unsupported != "" && c.Option == "":
		e.counts.Unsupported++
		diag(at(source.Warning, fmt.Sprintf("not sent: %s (value %q)", c.Unsupported, redact(c, val))))
		return true
	case c.To == "":
		return true
	}
	if c.When > 0 {
		g, _ := e.fieldValue(rec, t, c.When, "")
		on, err := mapping.ParseYN(g)
		if err != nil && g != "" && e.failed {
			return false // the gate's own value is invalid and reported
		}
		if err != nil || !on {
			e.counts.Gated++
			gate := t.ColumnAt(c.When)
			diag(at(source.Warning, fmt.Sprintf("ignored: %s (column %d) is not Y", colName(gate), c.When)))
			return true
		}
	}
	// The commonest transforms are called directly (they are what
	// mapping.LookupTransform returns for these names), the others through
	// the column's Transform.
	var out mapping.Out
	var err error
	switch c.As {
	case "", "string":
		out.Value = scim.Str(val)
	case "yesno":
		out, err = mapping.YesNo(val)
	case "flag":
		out, err = mapping.Flag(val)
	default:
		out, err = c.Transform().Apply(val)
	}
	if err != nil {
		if !c.Required && e.cfg.DropInvalidOptional() {
			e.drop(at, diag, fmt.Sprintf("%s (onInvalidOptional: drop)", err))
			return true
		}
		fail(at(source.Error, err.Error()))
		return false
	}
	if c.Unless > 0 {
		if other, _ := e.fieldValue(rec, t, c.Unless, ""); other != "" {
			// The primary column supplied the value: this one, checked
			// above, is not sent.
			e.drop(at, diag, fmt.Sprintf("not sent: column %d (%s) gives the same attribute (value %q)", c.Unless, colName(t.ColumnAt(c.Unless)), redact(c, val)))
			return true
		}
	}
	if c.Requires > 0 && !e.hasValue(rec, t, c.Requires) {
		e.drop(at, diag, fmt.Sprintf("not sent: it needs column %d (%s), which is blank here and not on the user (value %q)", c.Requires, colName(t.ColumnAt(c.Requires)), redact(c, val)))
		return true
	}
	if c.Distinct > 0 && e.sameValue(rec, t, c.Distinct, val) {
		e.drop(at, diag, fmt.Sprintf("not sent: the same employee %q as column %d (%s), which is sent", redact(c, val), c.Distinct, colName(t.ColumnAt(c.Distinct))))
		return true
	}
	if c.Warn != "" {
		diag(at(source.Warning, c.Warn))
	}
	var p *scimpath.Path
	switch {
	case out.Entitlement != "":
		p, err = e.parse(`entitlements[value eq "` + mapping.EscapeLiteral(out.Entitlement) + `"]`)
	case c.Templated():
		p, err = e.expand(c.To, out.Value.Str)
	default:
		p = c.Path()
	}
	if err != nil {
		if _, bad := err.(missingVar); bad && e.failed {
			return false // the var's own column was blank or invalid and is reported
		}
		var miss *missingConfig
		if asMissing(err, &miss) {
			e.counts.Unsupported++
			diag(at(source.Warning, "not sent: "+miss.Error()))
			return true
		}
		fail(at(source.Error, err.Error()))
		return false
	}
	a := &assignment{path: p, value: out.Value, member: out.Membership, segment: c.As == "segment",
		origin: valueOrigin{field: c.Name, line: int32(rec.Line), col: int32(max(rec.Col, 1)), column: int32(c.Col)}}
	if i >= 0 && i < len(rec.Fields) {
		a.origin.line, a.origin.col = int32(rec.Fields[i].Line), int32(rec.Fields[i].Col)
	}
	if out.Membership == mapping.AssertPresent && out.Entitlement == "" && c.As == "role" {
		a.value = scim.Value{} // the role name is in the filter
	}
	if out.Membership != mapping.NoMembership {
		a.init = c.Element
		if out.Entitlement != "" {
			a.init = ""
		}
	}
	also := c.AlsoPath() != nil && out.Membership != mapping.NoMembership && (c.AlsoOption == "" || e.cfg.Option(c.AlsoOption))
	var second assignment
	if also {
		second = *a
		second.path, second.init = c.AlsoPath(), ""
	}
	e.add(rec, *a, fail)
	if also {
		e.add(rec, second, fail)
	}
	return true
}

// drop reports a value that is checked but not sent, with the reason, and
// counts it (values not sent).
func (e *Engine) drop(at func(source.Severity, string) source.Diagnostic, diag source.Sink, msg string) {
	e.counts.Dropped++
	diag(at(source.Warning, msg))
}

// gate checks a Y/N column that switches others on: another value is an
// error (dropped with a warning under onInvalidOptional: drop), and Y with
// every column it switches on blank sends nothing, which is warned about.
func (e *Engine) gate(rec *source.Record, t *mapping.Table, c *mapping.Column, val string, at func(source.Severity, string) source.Diagnostic, diag, fail source.Sink) bool {
	on, err := mapping.ParseYN(val)
	if err != nil {
		if e.cfg.DropInvalidOptional() {
			e.drop(at, diag, fmt.Sprintf("%s (onInvalidOptional: drop; columns it switches on are not sent)", err))
			return true
		}
		fail(at(source.Error, err.Error()))
		return false
	}
	if !on {
		return true
	}
	gated := t.Gated(c.Col)
	if len(gated) == 0 {
		return true
	}
	var names []string
	for _, g := range gated {
		if v, _ := e.fieldValue(rec, t, g, ""); v != "" {
			return true
		}
		names = append(names, fmt.Sprintf("%d (%s)", g, colName(t.ColumnAt(g))))
	}
	e.drop(at, diag, fmt.Sprintf("not sent: Y, but columns %s are blank, so there is nothing it switches on", strings.Join(names, ", ")))
	return true
}

// checkRange checks a date range whose first column is c and last c.Until:
// both or neither (when their gate is Y), and the first not after the last
// (the last date covers its whole day).
//
// Under onInvalidOptional: drop, a range with an invalid date is dropped
// whole (both columns, each with a warning): half a range is never sent.
func (e *Engine) checkRange(rec *source.Record, t *mapping.Table, c *mapping.Column, diag, fail source.Sink) bool {
	from, i := e.fieldValue(rec, t, c.Col, "")
	to, j := e.fieldValue(rec, t, c.Until, "")
	if from == "" && to == "" {
		return true
	}
	if c.When > 0 {
		if g, _ := e.fieldValue(rec, t, c.When, ""); g != "Y" && g != "y" {
			return true // not switched on: warned about per column
		}
	}
	last := t.ColumnAt(c.Until)
	if from == "" || to == "" {
		blank, bi, given := c, i, last
		if to == "" {
			blank, bi, given = last, j, c
		}
		d := rec.At(bi, source.Error, blank.Name, fmt.Sprintf("blank, but column %d (%s) is given: the two dates go together; the record is rejected", given.Col, given.Name))
		if bi < 0 || bi >= len(rec.Fields) {
			d.Column = blank.Col
		}
		fail(d)
		return false
	}
	ft, err1 := mapping.ParseDate(from)
	tt, err2 := mapping.ParseEndDate(to)
	if err1 != nil || err2 != nil {
		if !e.cfg.DropInvalidOptional() {
			return true // reported by the columns, which reject the record
		}
		for _, x := range []struct {
			col   *mapping.Column
			i     int
			err   error
			other *mapping.Column
		}{{c, i, err1, last}, {last, j, err2, c}} {
			msg := fmt.Sprintf("not sent: column %d (%s) is invalid, and the two dates go together (onInvalidOptional: drop)", x.other.Col, x.other.Name)
			if x.err != nil {
				msg = fmt.Sprintf("%s (onInvalidOptional: drop; column %d (%s) is not sent either)", x.err, x.other.Col, x.other.Name)
			}
			e.counts.Dropped++
			diag(rec.At(x.i, source.Warning, x.col.Name, msg))
			e.skip = append(e.skip, x.col.Col)
		}
		return true
	}
	if ft.After(tt) {
		fail(rec.At(i, source.Error, c.Name, fmt.Sprintf("%s is after %s, the %s (column %d); the record is rejected", from, to, last.Name, last.Col)))
		return false
	}
	return true
}

// hasValue reports whether column col of the record is non-blank, or the
// attribute it fills already holds a value on the user (an earlier record).
func (e *Engine) hasValue(rec *source.Record, t *mapping.Table, col int) bool {
	if v, _ := e.fieldValue(rec, t, col, ""); v != "" {
		return true
	}
	if o := t.ColumnAt(col); o != nil && o.Path() != nil {
		if v, ok := e.u.Lookup(o.Path()); ok && v.Kind != scim.Null {
			return true
		}
	}
	return false
}

// sameValue reports whether val equals column col's value in the record, or
// the value the user already holds at that column's attribute.
func (e *Engine) sameValue(rec *source.Record, t *mapping.Table, col int, val string) bool {
	if v, _ := e.fieldValue(rec, t, col, ""); v != "" {
		return strings.EqualFold(v, val)
	}
	if o := t.ColumnAt(col); o != nil && o.Path() != nil {
		if v, ok := e.u.Lookup(o.Path()); ok && v.Kind == scim.String {
			return strings.EqualFold(v.Str, val)
		}
	}
	return false
}

// add applies an assignment at once (first record of an employee) or keeps
// it until the whole record has converted.
func (e *Engine) add(rec *source.Record, a assignment, fail source.Sink) {
	if e.direct {
		e.applyOne(rec, e.u, &a, func(d source.Diagnostic) { e.deferred = append(e.deferred, d) }, fail)
		return
	}
	e.pending = append(e.pending, a)
}

// applyOne applies one assignment to u. Conflict warnings go to warn.
func (e *Engine) applyOne(rec *source.Record, u *scim.User, a *assignment, warn, fail source.Sink) {
	ref := u.AddOriginOf(rec.File, rec.Type, a.origin.field, int(a.origin.line), int(a.origin.col), int(a.origin.column))
	switch {
	case a.member == mapping.AssertAbsent:
		if err := u.Assert(a.path, false, ref); err != nil {
			fail(e.diagAt(rec, a, err.Error()))
		}
	case a.member == mapping.AssertPresent:
		if err := u.Assert(a.path, true, ref); err != nil {
			fail(e.diagAt(rec, a, err.Error()))
			return
		}
		if a.init != "" {
			if err := e.mergeInit(u, a.path, a.init); err != nil {
				fail(e.diagAt(rec, a, err.Error()))
			}
		}
		if a.value.Kind != scim.Null && len(a.path.Sub) > 0 {
			a.value.Origin = ref
			u.Set(a.path, a.value)
		}
	case a.segment:
		if err := appendSegment(u, a.path, a.value.Str, ref); err != nil {
			fail(e.diagAt(rec, a, err.Error()))
		}
	default:
		a.value.Origin = ref
		conflict, err := u.Set(a.path, a.value)
		if err != nil {
			fail(e.diagAt(rec, a, err.Error()))
			return
		}
		if conflict != nil {
			e.counts.Conflicts++
			d := e.diagAt(rec, a, "")
			d.Severity = source.Warning
			d.Msg = fmt.Sprintf("replaces %s given by an earlier record of employee %s", display(conflict.Old), u.Key)
			warn(d)
		}
	}
}

// redact hides values of columns that must never be echoed (passwords).
func redact(c *mapping.Column, v string) string {
	if strings.Contains(strings.ToLower(c.Name), "password") {
		return "***"
	}
	if len(v) > 40 {
		return v[:37] + "..."
	}
	return v
}

func (e *Engine) transform(c *mapping.Column, as, val string) (mapping.Out, error) {
	if c != nil && c.As == as && c.Transform() != nil {
		return c.Transform().Apply(val)
	}
	xf, err := mapping.LookupTransform(as, e.set.Codes)
	if err != nil {
		return mapping.Out{}, err
	}
	return xf.Apply(val)
}

// missingVar: a path template needs a var whose column is blank or invalid.
type missingVar string

func (m missingVar) Error() string { return fmt.Sprintf("no value for {%s}", string(m)) }

type missingConfig struct{ name string }

func (m *missingConfig) Error() string {
	if n, ok := strings.CutPrefix(m.name, "travelCustom"); ok {
		return fmt.Sprintf("no travel custom field name is configured for Custom %s (set travelCustomFields: {%s: \"<field name>\"} in the config file)", n, n)
	}
	return fmt.Sprintf("the config file does not set %s", m.name)
}

func asMissing(err error, target **missingConfig) bool {
	m, ok := err.(*missingConfig)
	if ok {
		*target = m
	}
	return ok
}

// expand fills a path template and parses it (cached).
func (e *Engine) expand(tmpl, value string) (*scimpath.Path, error) {
	path, err := mapping.Expand(tmpl, func(name string) (string, error) {
		switch {
		case name == "value":
			return value, nil
		case strings.HasPrefix(name, "cfg:"):
			v, ok := e.cfg.Value(name[4:])
			if !ok {
				return "", &missingConfig{name: name[4:]}
			}
			return v, nil
		}
		v, ok := e.vars[name]
		if !ok || v == "" {
			return "", missingVar(name)
		}
		return v, nil
	})
	if err != nil {
		return nil, err
	}
	return e.parse(path)
}

func (e *Engine) parse(s string) (*scimpath.Path, error) {
	if p, ok := e.paths[s]; ok {
		return p, nil
	}
	p, err := scimpath.Parse(s)
	if err != nil {
		return nil, err
	}
	if len(e.paths) > 4096 {
		clear(e.paths)
	}
	e.paths[s] = p
	return p, nil
}

// mergeInit merges a JSON object into the element a filtered path selects,
// without replacing members already there.
func (e *Engine) mergeInit(u *scim.User, p *scimpath.Path, init string) error {
	el, ok := u.Lookup(p)
	if !ok || el.Kind != scim.ObjectKind {
		return nil
	}
	v, ok := e.inits[init]
	if !ok {
		var err error
		v, err = scim.Decode([]byte(init))
		if err != nil || v.Kind != scim.ObjectKind {
			return fmt.Errorf("element init %s is not a JSON object", init)
		}
		if e.inits == nil {
			e.inits = map[string]scim.Value{}
		}
		e.inits[init] = v
	}
	for _, m := range v.Obj.Members {
		if _, ok := el.Obj.Get(m.Name); !ok {
			el.Obj.Set(m.Name, scim.Clone(m.Value))
		}
	}
	return nil
}

// appendSegment joins group-hierarchy segments with '-' into the single
// roleGroups entry at p (400 Segment 1–10).
func appendSegment(u *scim.User, p *scimpath.Path, seg string, origin int32) error {
	slot, ok := u.Lookup(p)
	if !ok || slot.Kind == scim.Null {
		_, err := u.Set(p, scim.Value{Kind: scim.Array, Arr: []scim.Value{{Kind: scim.String, Str: seg, Origin: origin}}})
		return err
	}
	if slot.Kind != scim.Array {
		return fmt.Errorf("%s is not a list", p)
	}
	if len(slot.Arr) == 0 {
		slot.Arr = append(slot.Arr, scim.Value{Kind: scim.String, Str: seg, Origin: origin})
		return nil
	}
	slot.Arr[0].Str += "-" + seg
	return nil
}
