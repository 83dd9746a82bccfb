package mapping

import (
	"fmt"
	"strings"

	"scimigrate/scim/schema"
)

// Uses a column can have instead of a target.
var uses = map[string]string{
	"type": "the record type column",
	"key":  "the employee ID that groups records per user",
	"gate": "a Y/N column that switches other columns on (their \"when\")",
	"var":  "a value used in path templates (vars)",
}

// Check verifies a compiled table: every column position 1..width exactly
// once, each with a target, a use or a reason; a key; known options; gates and
// fallbacks that exist; no two columns on one target.
func Check(t *Table, set *Set) Problems {
	var probs Problems
	tableProblem := func(format string, args ...any) {
		probs = append(probs, Problem{File: t.File, Line: t.Line, Msg: fmt.Sprintf(format, args...)})
	}
	add := func(c *Column, format string, args ...any) {
		probs = append(probs, problemAt(c.From, fmt.Sprintf("%s: ", c.Position())+fmt.Sprintf(format, args...)))
	}
	if t.Key.Col == 0 && t.Key.Field == "" {
		tableProblem("record %s: missing key (the column or field holding the employee ID)", t.Record)
	}
	seen := map[int]*Column{}
	seenName := map[string]*Column{}
	for _, c := range t.Columns {
		switch {
		case c.Col > 0 && c.Field != "":
			add(c, "give col or field, not both")
		case c.Col > 0:
			if prev, ok := seen[c.Col]; ok {
				add(c, "column %d is listed twice (also at %s)", c.Col, prev.From)
			}
			seen[c.Col] = c
			if t.Width > 0 && c.Col > t.Width {
				add(c, "column %d is beyond the record's width %d", c.Col, t.Width)
			}
		case c.Field != "":
			k := strings.ToLower(c.Field)
			if prev, ok := seenName[k]; ok {
				add(c, "field %s is listed twice (also at %s)", c.Field, prev.From)
			}
			seenName[k] = c
		default:
			add(c, "a row needs col (a position) or field (a name)")
		}
		if c.Name == "" {
			add(c, "missing name")
		}
		kinds := 0
		for _, s := range []string{c.To, c.Unsupported, c.Use} {
			if s != "" {
				kinds++
			}
		}
		if c.Ignore != "" && c.To == "" && c.Unsupported == "" && c.Use == "" {
			kinds++
		}
		if kinds == 0 {
			add(c, "says neither where the value goes (to), why it is not sent (unsupported), nor its use")
		}
		if c.To != "" && c.Unsupported != "" && c.Option == "" {
			// An optional row carries both: its target when the option is
			// on, its reason when it is off.
			add(c, "has both a target and an unsupported reason (only an optional row may)")
		}
		if c.Use != "" {
			if _, ok := uses[c.Use]; !ok {
				add(c, "unknown use %q (known: type, key, gate, var)", c.Use)
			}
		}
		if c.Option != "" {
			if _, ok := KnownOptions[c.Option]; !ok {
				add(c, "unknown option %q", c.Option)
			}
			if c.Unsupported == "" {
				add(c, "an optional row needs an unsupported reason for when its option is off")
			}
		} else if c.Refuse {
			add(c, "refuse: only an optional row (option) can refuse a value while its option is off")
		}
		for _, ref := range []struct {
			name string
			col  int
		}{{"when", c.When}, {"unless", c.Unless}, {"until", c.Until}, {"requires", c.Requires}, {"distinct", c.Distinct}} {
			if ref.col == 0 {
				continue
			}
			g, ok := seenOrLater(t, ref.col)
			if !ok {
				add(c, "%s: column %d is not in the table", ref.name, ref.col)
			} else if ref.name == "when" && g.Use != "gate" {
				add(c, "when: column %d is not a gate (use: gate)", ref.col)
			} else if ref.name == "until" && (g.When != c.When || !isDateTransform(c.As) || !isDateTransform(g.As)) {
				add(c, "until: columns %d and %d must both be dates (as: date, datetime or enddatetime) under the same gate", c.Col, ref.col)
			}
		}
		if c.path != nil {
			if err := schema.CheckPath(c.path); err != nil {
				add(c, "%v", err)
			}
		}
	}
	if t.Width > 0 {
		var missing []string
		for i := 1; i <= t.Width; i++ {
			if seen[i] == nil {
				missing = append(missing, fmt.Sprint(i))
			}
		}
		if len(missing) > 0 {
			tableProblem("record %s: columns %s are not in the table (every position must be mapped or marked unsupported)", t.Record, strings.Join(missing, ", "))
		}
		if t.Key.Col > 0 && (seen[t.Key.Col] == nil || seen[t.Key.Col].Use != "key") {
			tableProblem("record %s: key column %d must be listed with use: key", t.Record, t.Key.Col)
		}
	} else if !t.Named() {
		tableProblem("record %s: a positional table needs width", t.Record)
	}
	// Two columns on one target (an optional row counts: its option may be on).
	targets := map[string]*Column{}
	for _, c := range t.Columns {
		optional := c.Option != "" && c.Ignore == ""
		if !c.Mapped() && !optional && c.Use != "key" || c.template && c.path == nil {
			continue
		}
		if c.To == "" || c.template || c.path == nil { // nil: the path did not parse (reported)
			continue
		}
		k := strings.ToLower(c.path.String())
		if prev, ok := targets[k]; ok {
			if c.Unless != prev.Col && prev.Unless != c.Col {
				add(c, "same target %s as %s (%s); two columns on one target would overwrite each other", c.To, prev.Position(), prev.From)
			}
			continue
		}
		targets[k] = c
	}
	return probs
}

func isDateTransform(as string) bool {
	return as == "date" || as == "datetime" || as == "enddatetime"
}

func seenOrLater(t *Table, col int) (*Column, bool) {
	c, ok := t.byCol[col]
	return c, ok
}
