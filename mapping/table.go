// Package mapping holds the YAML mapping tables that say where every column of
// every source record type goes in the SCIM User resource, their loader (the
// embedded tables plus the user's overrides), their checker, and the named
// transforms a table can apply to a value.
//
// A table (mapping/tables/305.yaml):
//
//	record: "305"                 # record type: flat-file code, or UserProfile / v3User
//	title: Employee Import (enhanced)
//	identity: true                # its records identify (create) a user
//	key: 5                        # column (or field) holding the Employee ID
//	width: 137                    # flat files: number of columns
//	vars:                         # per-record values used as {name} in paths
//	  product: {col: 4, as: "code:delegateProduct"}
//	columns:
//	  - col: 2
//	    name: First Name
//	    to: name.givenName
//	  - col: 63
//	    name: Expense User
//	    to: 'entitlements[value eq "Expense"]'
//	    as: flag                    # Y asserts presence, N absence, blank nothing
//	  - col: 7
//	    name: Password
//	    unsupported: UPS has no password attribute
//
// Every column position appears once: mapped (to), unsupported (a reason), or
// used (the record type and key columns are consumed by the reader).
package mapping

import (
	"fmt"
	"sort"
	"strings"

	"scimigrate/scim/scimpath"
)

// Table maps one record type (or legacy format) to SCIM attributes.
type Table struct {
	Record   string         `yaml:"record"`
	Title    string         `yaml:"title"`
	Format   string         `yaml:"format,omitempty"` // "flat" (default), "v1", "v3"
	Identity bool           `yaml:"identity,omitempty"`
	Intent   string         `yaml:"intent,omitempty"` // "idchange" for 320-style records
	Key      Ref            `yaml:"key"`
	Width    int            `yaml:"width,omitempty"`
	Vars     map[string]Var `yaml:"vars,omitempty"`
	// Element is a path template naming the element each record creates
	// (500/550: one delegate object per product and delegate).
	Element     string    `yaml:"element,omitempty"`
	ElementInit string    `yaml:"elementInit,omitempty"` // JSON object merged into that element when created
	Columns     []*Column `yaml:"columns"`

	File string `yaml:"-"` // where the table came from
	Line int    `yaml:"-"`

	byCol  map[int]*Column
	byName map[string]*Column
	gated  map[int][]int // gate column → the columns it switches on
	ranges []*Column     // columns with until
}

// Gated returns the columns a gate column switches on (their "when").
func (t *Table) Gated(gate int) []int { return t.gated[gate] }

// Ranges returns the columns that start a date range (until).
func (t *Table) Ranges() []*Column { return t.ranges }

// Ref names a source field: a column position for flat files or an element /
// key name for named sources. In YAML it is a number or a string.
type Ref struct {
	Col   int
	Field string
}

// UnmarshalYAML accepts 5 or "LoginId".
func (r *Ref) UnmarshalYAML(unmarshal func(any) error) error {
	var n int
	if err := unmarshal(&n); err == nil {
		r.Col = n
		return nil
	}
	var s string
	if err := unmarshal(&s); err != nil {
		return fmt.Errorf("key must be a column number or a field name")
	}
	r.Field = s
	return nil
}

// MarshalYAML writes the number or the name.
func (r Ref) MarshalYAML() (any, error) {
	if r.Field != "" {
		return r.Field, nil
	}
	return r.Col, nil
}

func (r Ref) String() string {
	if r.Field != "" {
		return r.Field
	}
	return fmt.Sprintf("column %d", r.Col)
}

// Var is a per-record value a path template can use as {name}.
type Var struct {
	Col   int    `yaml:"col,omitempty"`
	Field string `yaml:"field,omitempty"`
	As    string `yaml:"as,omitempty"`
}

// Column says what to do with one source field.
type Column struct {
	Col         int      `yaml:"col,omitempty"`
	Field       string   `yaml:"field,omitempty"`   // named sources
	Aliases     []string `yaml:"aliases,omitempty"` // other spellings of Field
	Name        string   `yaml:"name"`
	To          string   `yaml:"to,omitempty"`          // SCIM attribute path; may hold {var} and {cfg:name}
	As          string   `yaml:"as,omitempty"`          // transform; "" = string
	Required    bool     `yaml:"required,omitempty"`    // a blank value rejects the record
	Default     string   `yaml:"default,omitempty"`     // used when blank
	When        int      `yaml:"when,omitempty"`        // applies only when this column holds Y
	Unless      int      `yaml:"unless,omitempty"`      // applies only when this column is blank (a fallback for it); else warned, not sent
	Until       int      `yaml:"until,omitempty"`       // a date range from this column to that one: both or neither, from not after to
	Requires    int      `yaml:"requires,omitempty"`    // sent only when this column (or the attribute it fills) has a value; else warned, not sent
	Distinct    int      `yaml:"distinct,omitempty"`    // a value equal to this column's is warned about and not sent (sent once)
	Warn        string   `yaml:"warn,omitempty"`        // a warning given whenever the column holds a value (the value is still sent)
	Refuse      bool     `yaml:"refuse,omitempty"`      // optional row: a value while the option is off rejects the record (instead of a warning)
	Option      string   `yaml:"option,omitempty"`      // applies only when this config option is on
	Element     string   `yaml:"element,omitempty"`     // JSON object merged into an element the path creates
	Also        string   `yaml:"also,omitempty"`        // a second membership path asserted with the same Y/N (flag rows)
	AlsoOption  string   `yaml:"alsoOption,omitempty"`  // the config option that switches Also on ("" = always)
	Use         string   `yaml:"use,omitempty"`         // "type", "key", "gate", "var": consumed by the reader/engine
	Unsupported string   `yaml:"unsupported,omitempty"` // why it is not sent (a supplied value is warned about)
	Ignore      string   `yaml:"ignore,omitempty"`      // user override: drop silently-but-counted, with a reason
	Note        string   `yaml:"note,omitempty"`        // correction of the public mapping page, and why

	From string `yaml:"-"` // "embedded:305.yaml:42" or "overrides/305.yaml:7"

	path     *scimpath.Path // compiled To when it has no template
	also     *scimpath.Path
	template bool
	xf       Transform
}

// Path returns the compiled target path (nil for templates and unmapped rows).
func (c *Column) Path() *scimpath.Path { return c.path }

// AlsoPath returns the compiled second membership path, if any.
func (c *Column) AlsoPath() *scimpath.Path { return c.also }

// Templated reports whether To holds {placeholders}.
func (c *Column) Templated() bool { return c.template }

// Transform returns the compiled transform.
func (c *Column) Transform() Transform { return c.xf }

// Mapped reports whether the column sends a value.
func (c *Column) Mapped() bool {
	return c.To != "" && c.Unsupported == "" && c.Ignore == "" && c.Use == ""
}

// Position is the column number or field name, for messages.
func (c *Column) Position() string {
	if c.Field != "" {
		return c.Field
	}
	return fmt.Sprintf("column %d", c.Col)
}

// ColumnAt returns the row for a column position.
func (t *Table) ColumnAt(col int) *Column { return t.byCol[col] }

// ColumnNamed returns the row for a field name (case-insensitive, aliases too).
func (t *Table) ColumnNamed(name string) *Column { return t.byName[strings.ToLower(name)] }

// Named reports whether the table reads named fields (XML/JSON) rather than positions.
func (t *Table) Named() bool { return t.Key.Field != "" }

func (t *Table) index() {
	t.byCol = map[int]*Column{}
	t.byName = map[string]*Column{}
	t.gated = map[int][]int{}
	t.ranges = t.ranges[:0]
	sort.SliceStable(t.Columns, func(i, j int) bool { return t.Columns[i].Col < t.Columns[j].Col })
	for _, c := range t.Columns {
		if c.When > 0 {
			t.gated[c.When] = append(t.gated[c.When], c.Col)
		}
		if c.Until > 0 {
			t.ranges = append(t.ranges, c)
		}
		if c.Col > 0 {
			t.byCol[c.Col] = c
		}
		if c.Field != "" {
			t.byName[strings.ToLower(c.Field)] = c
			for _, a := range c.Aliases {
				t.byName[strings.ToLower(a)] = c
			}
		}
	}
}

// Set is the effective set of tables, by record type.
type Set struct {
	Tables map[string]*Table
	Codes  Codes
	Config *Config
}

// Table returns the table for a record type.
func (s *Set) Table(record string) *Table { return s.Tables[record] }

// Records returns the record types in a stable order (numeric codes first).
func (s *Set) Records() []string {
	out := make([]string, 0, len(s.Tables))
	for r := range s.Tables {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) && isDigits(out[i]) && isDigits(out[j]) {
			return len(out[i]) < len(out[j])
		}
		di, dj := isDigits(out[i]), isDigits(out[j])
		if di != dj {
			return di
		}
		return out[i] < out[j]
	})
	return out
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
