package mapping

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Show writes one effective table (embedded rows with the user's overrides
// applied) as readable text, for `scimigrate mappings show 305`: a header,
// then one line per row with its position, name, target (or why it is not
// sent), transform, flags and where the row came from (From: the embedded
// file and line, then "← override-file:line (changed keys)" for each
// override), then the rows' notes.
func Show(w io.Writer, t *Table) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Record %s — %s\n", t.Record, t.Title)
	if t.File != "" {
		fmt.Fprintf(bw, "Table:    %s\n", fileLine(t.File, t.Line))
	}
	var shape []string
	if t.Width > 0 {
		shape = append(shape, fmt.Sprintf("%d columns", t.Width))
	}
	shape = append(shape, "key "+t.Key.String())
	if t.Identity {
		shape = append(shape, "identity record")
	}
	if t.Intent != "" {
		shape = append(shape, "intent "+t.Intent)
	}
	fmt.Fprintf(bw, "Shape:    %s\n", strings.Join(shape, ", "))
	for _, name := range sortedVarNames(t) {
		v := t.Vars[name]
		as := ""
		if v.As != "" {
			as = " as " + v.As
		}
		fmt.Fprintf(bw, "Variable: {%s} = %s%s\n", name, varSource(v), as)
	}
	if t.Element != "" {
		fmt.Fprintf(bw, "Element:  %s", t.Element)
		if t.ElementInit != "" {
			fmt.Fprintf(bw, " init %s", t.ElementInit)
		}
		fmt.Fprintln(bw)
	}
	fmt.Fprintln(bw)

	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POS\tNAME\tTARGET\tAS\tFLAGS\tFROM")
	for _, c := range t.Columns {
		as := transformName(c)
		if as == "" {
			as = "-"
		}
		flags := showFlags(c)
		if flags == "" {
			flags = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			oneLine(position(c)), oneLine(c.Name), oneLine(showTarget(t, c)), as, oneLine(flags), oneLine(c.From))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	first := true
	for _, c := range t.Columns {
		if c.Note == "" {
			continue
		}
		if first {
			fmt.Fprintf(bw, "\nNotes:\n")
			first = false
		}
		fmt.Fprintf(bw, "  %s %s: %s\n", positionLabel(c), oneLine(c.Name), oneLine(c.Note))
	}
	return bw.Flush()
}

func fileLine(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

func positionLabel(c *Column) string {
	if c.Field != "" {
		return "field " + c.Field
	}
	return fmt.Sprintf("column %d", c.Col)
}

// showTarget is targetMarkdown without Markdown.
func showTarget(t *Table, c *Column) string {
	switch {
	case c.Ignore != "":
		return "ignored: " + c.Ignore
	case c.Use != "":
		s := strings.ReplaceAll(useText(t, c), "`", "")
		if c.To != "" {
			s += " → " + c.To
		}
		return s
	case c.Option != "" && c.Refuse:
		return c.To + " (option " + c.Option + "; off: refused: " + c.Unsupported + ")"
	case c.Option != "":
		return c.To + " (option " + c.Option + "; off: not sent: " + c.Unsupported + ")"
	case c.Unsupported != "":
		return "not sent: " + c.Unsupported
	case c.Also != "" && c.AlsoOption != "":
		return c.To + " (and " + c.Also + " with option " + c.AlsoOption + ")"
	case c.Also != "":
		return c.To + " (and " + c.Also + ")"
	}
	return c.To
}

// showFlags lists the conditions and extras of a row.
func showFlags(c *Column) string {
	var f []string
	if c.Required {
		f = append(f, "required")
	}
	if c.Default != "" {
		f = append(f, "default="+c.Default)
	}
	if c.When != 0 {
		f = append(f, fmt.Sprintf("when=%d", c.When))
	}
	if c.Unless != 0 {
		f = append(f, fmt.Sprintf("unless=%d", c.Unless))
	}
	for _, x := range []struct {
		name string
		col  int
	}{{"until", c.Until}, {"requires", c.Requires}, {"distinct", c.Distinct}} {
		if x.col != 0 {
			f = append(f, fmt.Sprintf("%s=%d", x.name, x.col))
		}
	}
	if c.Warn != "" {
		f = append(f, "warn")
	}
	if c.Option != "" {
		f = append(f, "option="+c.Option)
	}
	if c.Element != "" {
		f = append(f, "element="+c.Element)
	}
	if len(c.Aliases) > 0 {
		f = append(f, "aliases="+strings.Join(c.Aliases, ","))
	}
	return strings.Join(f, " ")
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = strings.ReplaceAll(s, "\t", " ")
	return strings.ReplaceAll(s, "\n", " ")
}
