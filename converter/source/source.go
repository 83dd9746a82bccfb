// Package source holds what every input reader produces: records of fields,
// each field knowing where it stood, and the diagnostics that point back there.
package source

import (
	"fmt"
	"strconv"
	"strings"
)

// Field is one value of a record and where it stood.
type Field struct {
	Value string
	Line  int32  // line of the field's first byte (1-based)
	Col   int32  // byte column of the field's first byte (1-based)
	Name  string // field name for named sources (XML elements, JSON keys); "" for positional ones
}

// Record is one input record: a flat-file line, a UserProfile element, a
// JSON user object.
type Record struct {
	File   string
	Line   int    // line where the record starts
	Col    int    // column where it starts (1 for flat files)
	Type   string // "305", "UserProfile", "v3User", …
	Fields []Field
	// NumFields is the number of fields the record has, when a reader
	// parsed only the first ones (flat-file indexing); 0 means len(Fields).
	NumFields int
	// Seq is the record's position in its source (record number, or the V1
	// FeedRecordNumber when given); used for stable bulkIds.
	Seq int
}

// Severity of a diagnostic.
type Severity uint8

// Severities.
const (
	Warning Severity = iota
	Error
)

func (s Severity) String() string {
	if s == Error {
		return "error"
	}
	return "warning"
}

// Diagnostic is a message about an input position:
//
//	FILE:LINE:COL: error|warning: <field name> (column N): <what is wrong>
type Diagnostic struct {
	File     string
	Line     int
	Col      int
	Severity Severity
	Field    string // field name, "" when about the whole record
	Column   int    // 1-based field position; 0 when not positional
	Msg      string
	// Rule names the rule broken when a reader knows it (RuleQuote, …);
	// not printed. Tools cap the diagnostics they echo per rule.
	Rule string
}

func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(d.Line))
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(max(d.Col, 1)))
	b.WriteString(": ")
	b.WriteString(d.Severity.String())
	b.WriteString(": ")
	if d.Field != "" {
		b.WriteString(d.Field)
		if d.Column > 0 {
			fmt.Fprintf(&b, " (column %d)", d.Column)
		}
		b.WriteString(": ")
	} else if d.Column > 0 {
		fmt.Fprintf(&b, "column %d: ", d.Column)
	}
	b.WriteString(d.Msg)
	return b.String()
}

func (d Diagnostic) Error() string { return d.String() }

// At returns a diagnostic about field i (0-based) of r.
func (r *Record) At(i int, sev Severity, field, msg string) Diagnostic {
	d := Diagnostic{File: r.File, Line: r.Line, Col: r.Col, Severity: sev, Field: field, Msg: msg}
	if i >= 0 && i < len(r.Fields) {
		f := r.Fields[i]
		d.Line, d.Col = int(f.Line), int(f.Col)
		if f.Name == "" {
			d.Column = i + 1
		} else if field == "" {
			d.Field = f.Name
		}
	}
	return d
}

// Diag returns a diagnostic about the whole record.
func (r *Record) Diag(sev Severity, msg string) Diagnostic {
	return Diagnostic{File: r.File, Line: r.Line, Col: max(r.Col, 1), Severity: sev, Msg: msg}
}

// Width returns the number of fields of the record.
func (r *Record) Width() int { return max(r.NumFields, len(r.Fields)) }

// Sink receives diagnostics.
type Sink func(Diagnostic)
