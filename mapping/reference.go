package mapping

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteReference writes the Markdown mapping reference of a set: for every
// record its title, width and key, and a table of its columns (position,
// name, target or why it is not sent, transform, notes), followed by the
// options and the code tables. The output depends only on the set, so it is
// stable from run to run (docs/mapping-reference.md is generated with it).
func WriteReference(w io.Writer, set *Set) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }

	p("# Mapping reference\n\n")
	p("<!-- Generated from mapping/tables/*.yaml by `go test ./mapping/ -update`. Do not edit. -->\n\n")
	p("Where every column of every record type goes in the SCIM User sent to the User Provisioning Service.\n")
	p("A column that is *not sent* is warned about and counted when it holds a value. Blank values are not sent.\n")
	p("An invalid value rejects its record, unless the config sets `onInvalidOptional: drop`: then a value of a column that is not required\n")
	p("is dropped with a warning and counted instead (see docs/configuration.md).\n")
	p("**Notes** say where a row departs from SAP Concur's public mapping pages, and why.\n")
	p("Override any row with `--mappings DIR` (see `scimigrate mappings show RECORD`).\n\n")

	records := set.Records()
	for _, r := range records {
		t := set.Tables[r]
		p("- [%s — %s](#%s)\n", mdText(t.Record), mdText(t.Title), anchor(t))
	}
	p("- [Options](#options)\n- [Code tables](#code-tables)\n")

	for _, r := range records {
		writeTableReference(bw, set.Tables[r])
	}
	writeOptionsReference(bw)
	writeCodesReference(bw, set.Codes)
	return bw.Flush()
}

// anchor is the heading id GitHub derives for a record section.
func anchor(t *Table) string {
	var b strings.Builder
	for _, r := range strings.ToLower(t.Record + " — " + t.Title) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

func writeTableReference(w io.Writer, t *Table) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("\n## %s — %s\n\n", mdText(t.Record), mdText(t.Title))
	if t.Width > 0 {
		p("- Width: %d columns\n", t.Width)
	}
	key := t.Key.String()
	if t.Key.Col > 0 {
		if c := t.ColumnAt(t.Key.Col); c != nil {
			key += " (" + mdText(c.Name) + ")"
		}
	}
	p("- Key (employee ID): %s\n", key)
	if t.Identity {
		p("- Identity record: its records create or identify the user\n")
	}
	if t.Intent != "" {
		p("- Intent: `%s`%s\n", t.Intent, intentText(t.Intent))
	}
	for _, name := range sortedVarNames(t) {
		v := t.Vars[name]
		p("- Variable `{%s}`: %s%s\n", name, varSource(v), asText(v.As))
	}
	if t.Element != "" {
		p("- Every record creates the element %s", code(t.Element))
		if t.ElementInit != "" {
			p(" (initialised with %s)", code(t.ElementInit))
		}
		p("\n")
	}
	p("\n| Pos | Name | Target | Transform | Notes |\n|---:|---|---|---|---|\n")
	for _, c := range t.Columns {
		p("| %s | %s | %s | %s | %s |\n",
			mdCell(position(c)), mdCell(c.Name), mdCell(targetMarkdown(t, c)), mdCell(transformName(c)), mdCell(notesText(t, c)))
	}
}

func intentText(intent string) string {
	if intent == "idchange" {
		return " — changes the identifiers of the user found by the key"
	}
	return ""
}

func sortedVarNames(t *Table) []string {
	names := make([]string, 0, len(t.Vars))
	for n := range t.Vars {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func varSource(v Var) string {
	if v.Field != "" {
		return "field " + v.Field
	}
	return fmt.Sprintf("column %d", v.Col)
}

func asText(as string) string {
	if as == "" {
		return ""
	}
	return " as `" + as + "`"
}

// position is the column number or the field name (with its aliases).
func position(c *Column) string {
	if c.Field != "" {
		if len(c.Aliases) > 0 {
			return c.Field + " (also " + strings.Join(c.Aliases, ", ") + ")"
		}
		return c.Field
	}
	return fmt.Sprint(c.Col)
}

// targetMarkdown says where the value goes, or why it does not.
func targetMarkdown(t *Table, c *Column) string {
	switch {
	case c.Ignore != "":
		return "ignored: " + c.Ignore
	case c.Use != "":
		s := useText(t, c)
		if c.To != "" {
			s += " → " + code(c.To)
		}
		return s
	case c.Option != "" && c.Refuse:
		return code(c.To) + " with option `" + c.Option + "`; otherwise a value rejects the record: " + c.Unsupported
	case c.Option != "":
		return code(c.To) + " with option `" + c.Option + "`; otherwise not sent: " + c.Unsupported
	case c.Unsupported != "":
		return "not sent: " + c.Unsupported
	case c.Also != "" && c.AlsoOption != "":
		return code(c.To) + ", and with option `" + c.AlsoOption + "` also " + code(c.Also)
	case c.Also != "":
		return code(c.To) + " and " + code(c.Also)
	}
	return code(c.To)
}

// useText describes a column the reader or engine consumes.
func useText(t *Table, c *Column) string {
	switch c.Use {
	case "type":
		return "record type"
	case "key":
		return "employee ID (key)"
	case "gate":
		var on []string
		for _, o := range t.Columns {
			if o.When != 0 && o.When == c.Col {
				on = append(on, fmt.Sprint(o.Col))
			}
		}
		if len(on) == 0 {
			return "gate (Y or N; another value is an error)"
		}
		return "gate (Y or N; another value is an error): Y switches on columns " + strings.Join(on, ", ") + "; Y with all of them blank is warned about and counted"
	case "var":
		var names []string
		for _, n := range sortedVarNames(t) {
			v := t.Vars[n]
			if v.Col != 0 && v.Col == c.Col || v.Field != "" && strings.EqualFold(v.Field, c.Field) {
				names = append(names, "`{"+n+"}`")
			}
		}
		if len(names) == 0 {
			return "variable"
		}
		return "variable " + strings.Join(names, ", ")
	}
	return "use: " + c.Use
}

// transformName is the transform of a row that sends a value.
func transformName(c *Column) string {
	if c.To == "" || c.Ignore != "" || (c.Unsupported != "" && c.Option == "") {
		return ""
	}
	if c.As == "" {
		return "string"
	}
	return c.As
}

// notesText lists a row's conditions, then its note.
func notesText(t *Table, c *Column) string {
	var parts []string
	if c.Required {
		parts = append(parts, "Required.")
	}
	if c.Default != "" {
		parts = append(parts, "Default "+code(c.Default)+".")
	}
	if c.When != 0 {
		parts = append(parts, fmt.Sprintf("Only when column %d%s is Y.", c.When, colLabel(t, c.When)))
	}
	if c.Unless != 0 {
		parts = append(parts, fmt.Sprintf("Only when column %d%s is blank; otherwise the value is checked, warned about and not sent.", c.Unless, colLabel(t, c.Unless)))
	}
	if c.Until != 0 {
		parts = append(parts, fmt.Sprintf("With column %d%s: both or neither, and this date not after that one (else the record is rejected); under onInvalidOptional: drop an invalid date drops both.", c.Until, colLabel(t, c.Until)))
	}
	if c.Requires != 0 {
		parts = append(parts, fmt.Sprintf("Only with column %d%s (in the record, or already on the user); otherwise warned about and not sent.", c.Requires, colLabel(t, c.Requires)))
	}
	if c.Distinct != 0 {
		parts = append(parts, fmt.Sprintf("The same value as column %d%s is warned about and sent once (there).", c.Distinct, colLabel(t, c.Distinct)))
	}
	if c.Warn != "" {
		parts = append(parts, "Warns when it holds a value: "+c.Warn+".")
	}
	if c.Element != "" {
		parts = append(parts, "Creates the element with "+code(c.Element)+".")
	}
	if c.Note != "" {
		parts = append(parts, c.Note)
	}
	return strings.Join(parts, " ")
}

func colLabel(t *Table, col int) string {
	if o := t.ColumnAt(col); o != nil && o.Name != "" {
		return " (" + o.Name + ")"
	}
	return ""
}

func writeOptionsReference(w io.Writer) {
	fmt.Fprintf(w, "\n## Options\n\n")
	fmt.Fprintf(w, "Switched on in the configuration file (`options: {name: true}`); rows marked \"with option\" above depend on them.\n\n")
	fmt.Fprintf(w, "| Option | Effect |\n|---|---|\n")
	for _, name := range optionNames() {
		fmt.Fprintf(w, "| `%s` | %s |\n", name, mdCell(KnownOptions[name]))
	}
}

func writeCodesReference(w io.Writer, codes Codes) {
	fmt.Fprintf(w, "\n## Code tables\n\n")
	fmt.Fprintf(w, "Used by `as: code:<table>` (and `as: role` for `roleCodes`); codes match case-insensitively.\n")
	tables := make([]string, 0, len(codes))
	for name := range codes {
		tables = append(tables, name)
	}
	sort.Strings(tables)
	for _, name := range tables {
		m := codes[name]
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(w, "\n### %s\n\n| Code | Sent as |\n|---|---|\n", name)
		for _, k := range keys {
			fmt.Fprintf(w, "| %s | %s |\n", mdCell(code(k)), mdCell(code(m[k])))
		}
	}
}

// code formats s as a Markdown code span.
func code(s string) string {
	if s == "" {
		return ""
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// mdCell makes s safe inside a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// mdText escapes characters Markdown would interpret in headings and links.
func mdText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, "`", "\\`")
	return r.Replace(s)
}
