package mapping

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"scimigrate/scim/scimpath"
)

//go:embed tables/*.yaml
var embedded embed.FS

// Embedded returns the tables shipped in the binary.
func Embedded() fs.FS {
	sub, _ := fs.Sub(embedded, "tables")
	return sub
}

// Problem is a finding about a table file, with its line.
type Problem struct {
	File string
	Line int
	Msg  string
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Problems is a list of problems; it is an error when non-empty.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

// codesFile is the YAML shape of codes.yaml.
type codesFile struct {
	Codes Codes `yaml:"codes"`
}

// Load reads the embedded tables, overlays the files of overrideDir (if not
// ""), compiles every path and transform, and checks the result. cfg may be
// nil (defaults).
func Load(overrideDir string, cfg *Config) (*Set, error) {
	var over fs.FS
	if overrideDir != "" {
		st, err := os.Stat(overrideDir)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("--mappings %s: not a directory", overrideDir)
		}
		over = os.DirFS(overrideDir)
	}
	return LoadFS(Embedded(), "embedded:", over, overrideDir, cfg)
}

// LoadFS is Load over arbitrary file systems; basePrefix and overName label
// where rows came from.
func LoadFS(base fs.FS, basePrefix string, over fs.FS, overName string, cfg *Config) (*Set, error) {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	set := &Set{Tables: map[string]*Table{}, Codes: Codes{}, Config: cfg}
	var probs Problems
	if err := readCodes(base, basePrefix+"codes.yaml", "codes.yaml", set.Codes); err != nil {
		probs = append(probs, asProblems(err)...)
	}
	tables, err := readTables(base, func(n string) string { return basePrefix + n })
	probs = append(probs, asProblems(err)...)
	for _, t := range tables {
		set.Tables[t.Record] = t
	}
	if over != nil {
		label := func(n string) string { return filepath.Join(overName, n) }
		if _, err := fs.Stat(over, "codes.yaml"); err == nil {
			if err := readCodes(over, label("codes.yaml"), "codes.yaml", set.Codes); err != nil {
				probs = append(probs, asProblems(err)...)
			}
		}
		overs, err := readTables(over, label)
		probs = append(probs, asProblems(err)...)
		for _, o := range overs {
			probs = append(probs, overlay(set, o)...)
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	for _, t := range set.Tables {
		probs = append(probs, compile(t, set)...)
	}
	sortProblems(probs)
	if len(probs) > 0 {
		return nil, probs
	}
	return set, nil
}

func asProblems(err error) Problems {
	if err == nil {
		return nil
	}
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	return Problems{{Msg: err.Error()}}
}

func sortProblems(ps Problems) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
}

func readCodes(fsys fs.FS, label, name string, into Codes) error {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return Problems{{File: label, Msg: err.Error()}}
	}
	var cf codesFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cf); err != nil {
		return yamlProblem(label, err)
	}
	for tbl, m := range cf.Codes {
		if into[tbl] == nil {
			into[tbl] = map[string]string{}
		}
		for k, v := range m {
			into[tbl][k] = v
		}
	}
	return nil
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlProblem turns a yaml.v3 error ("yaml: line 5: field x not found in
// type mapping.Column") into problems with lines.
func yamlProblem(label string, err error) error {
	var te *yaml.TypeError
	var ps Problems
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			ps = append(ps, lineProblem(label, e))
		}
		return ps
	}
	return Problems{lineProblem(label, strings.TrimPrefix(err.Error(), "yaml: "))}
}

func lineProblem(label, msg string) Problem {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		var n int
		fmt.Sscan(m[1], &n)
		msg = m[2]
		msg = strings.Replace(msg, "not found in type mapping.Column", "is not a column key (known: col, field, aliases, name, to, as, required, default, when, unless, option, element, also, alsoOption, use, unsupported, ignore, note)", 1)
		msg = strings.Replace(msg, "not found in type mapping.Table", "is not a table key (known: record, title, format, identity, intent, key, width, vars, element, elementInit, columns)", 1)
		return Problem{File: label, Line: n, Msg: msg}
	}
	return Problem{File: label, Msg: msg}
}

// readTables parses every *.yaml except codes.yaml.
func readTables(fsys fs.FS, label func(string) string) ([]*Table, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	var out []*Table
	var probs Problems
	for _, n := range names {
		if n == "codes.yaml" {
			continue
		}
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			probs = append(probs, Problem{File: label(n), Msg: err.Error()})
			continue
		}
		t, err := ParseTable(data, label(n))
		if err != nil {
			probs = append(probs, asProblems(err)...)
			continue
		}
		if base := strings.TrimSuffix(path.Base(n), ".yaml"); base != t.Record {
			probs = append(probs, Problem{File: label(n), Line: t.Line, Msg: fmt.Sprintf("file %s holds record %q; name it %s.yaml", n, t.Record, t.Record)})
			continue
		}
		out = append(out, t)
	}
	if len(probs) > 0 {
		return out, probs
	}
	return out, nil
}

// ParseTable decodes one table file, rejecting unknown keys, and records the
// line of each column row.
func ParseTable(data []byte, label string) (*Table, error) {
	t := &Table{File: label}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(t); err != nil {
		return nil, yamlProblem(label, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil && len(root.Content) > 0 {
		doc := root.Content[0]
		t.Line = doc.Line
		for i := 0; i+1 < len(doc.Content); i += 2 {
			if doc.Content[i].Value == "columns" {
				for j, item := range doc.Content[i+1].Content {
					if j < len(t.Columns) {
						t.Columns[j].From = fmt.Sprintf("%s:%d", label, item.Line)
					}
				}
			}
		}
	}
	if t.Record == "" {
		return nil, Problems{{File: label, Line: 1, Msg: "missing \"record\""}}
	}
	return t, nil
}

// overlay applies a user table to the set: fields given in the override
// replace the base row's; a new record type must be a whole table.
func overlay(set *Set, o *Table) Problems {
	base, ok := set.Tables[o.Record]
	if !ok {
		set.Tables[o.Record] = o
		return nil
	}
	var probs Problems
	if o.Title != "" {
		base.Title = o.Title
	}
	for k, v := range o.Vars {
		if base.Vars == nil {
			base.Vars = map[string]Var{}
		}
		base.Vars[k] = v
	}
	base.index()
	for _, oc := range o.Columns {
		var bc *Column
		switch {
		case oc.Col > 0:
			bc = base.byCol[oc.Col]
		case oc.Field != "":
			bc = base.byName[strings.ToLower(oc.Field)]
		}
		if bc == nil {
			if oc.Col > 0 && base.Width > 0 && oc.Col > base.Width {
				probs = append(probs, problemAt(oc.From, fmt.Sprintf("column %d is beyond record %s's %d columns", oc.Col, o.Record, base.Width)))
				continue
			}
			if oc.Col == 0 && oc.Field == "" {
				probs = append(probs, problemAt(oc.From, "an override row needs col or field"))
				continue
			}
			if !base.Named() {
				probs = append(probs, problemAt(oc.From, fmt.Sprintf("column %d is not in record %s", oc.Col, o.Record)))
				continue
			}
			base.Columns = append(base.Columns, oc) // a new named field
			continue
		}
		var changed []string
		set := func(name string, dst *string, v string) {
			if v != "" {
				*dst = v
				changed = append(changed, name)
			}
		}
		set("name", &bc.Name, oc.Name)
		if oc.To != "" {
			bc.To = oc.To
			if bc.Option == "" { // an optional row keeps its reason for when the option is off
				bc.Unsupported = ""
			}
			bc.Ignore = ""
			changed = append(changed, "to")
		}
		set("as", &bc.As, oc.As)
		set("default", &bc.Default, oc.Default)
		set("option", &bc.Option, oc.Option)
		set("element", &bc.Element, oc.Element)
		set("note", &bc.Note, oc.Note)
		if oc.Ignore != "" {
			bc.Ignore = oc.Ignore
			changed = append(changed, "ignore")
		}
		if oc.Unsupported != "" {
			bc.Unsupported = oc.Unsupported
			changed = append(changed, "unsupported")
		}
		if oc.Required {
			bc.Required = true
			changed = append(changed, "required")
		}
		if oc.When != 0 {
			bc.When = oc.When
			changed = append(changed, "when")
		}
		for _, f := range []struct {
			name     string
			dst, src *int
		}{{"until", &bc.Until, &oc.Until}, {"requires", &bc.Requires, &oc.Requires}, {"distinct", &bc.Distinct, &oc.Distinct}} {
			if *f.src != 0 {
				*f.dst = *f.src
				changed = append(changed, f.name)
			}
		}
		set("warn", &bc.Warn, oc.Warn)
		if oc.Refuse {
			bc.Refuse = true
			changed = append(changed, "refuse")
		}
		if len(changed) == 0 {
			probs = append(probs, problemAt(oc.From, "override row changes nothing"))
			continue
		}
		bc.From += " ← " + oc.From + " (" + strings.Join(changed, ", ") + ")"
	}
	return probs
}

func problemAt(from, msg string) Problem {
	file, line := splitFrom(from)
	return Problem{File: file, Line: line, Msg: msg}
}

func splitFrom(from string) (string, int) {
	if i := strings.Index(from, " ← "); i >= 0 {
		from = from[strings.LastIndex(from, " ← ")+len(" ← "):]
		if j := strings.Index(from, " ("); j >= 0 {
			from = from[:j]
		}
	}
	i := strings.LastIndexByte(from, ':')
	if i < 0 {
		return from, 0
	}
	var n int
	if _, err := fmt.Sscan(from[i+1:], &n); err != nil {
		return from, 0
	}
	return from[:i], n
}

var placeholder = regexp.MustCompile(`\{(cfg:)?[A-Za-z][A-Za-z0-9]*\}`)

// compile indexes a table, compiles transforms and paths, and checks it.
func compile(t *Table, set *Set) Problems {
	t.index()
	var probs Problems
	add := func(c *Column, format string, args ...any) {
		probs = append(probs, problemAt(c.From, fmt.Sprintf("%s: ", c.Position())+fmt.Sprintf(format, args...)))
	}
	for _, c := range t.Columns {
		xf, err := LookupTransform(c.As, set.Codes)
		if err != nil {
			add(c, "%v", err)
			continue
		}
		c.xf = xf
		if c.To == "" {
			continue
		}
		c.template = placeholder.MatchString(c.To)
		probe := c.To
		if c.template {
			probe = placeholder.ReplaceAllStringFunc(c.To, func(s string) string {
				if strings.HasPrefix(s, "{cfg:") {
					return "cfgvalue"
				}
				name := s[1 : len(s)-1]
				if name == "value" {
					return "VALUE"
				}
				if _, ok := t.Vars[name]; !ok {
					add(c, "path uses {%s}, which is not in vars", name)
				}
				return "var"
			})
		}
		p, err := scimpath.Parse(probe)
		if err != nil {
			add(c, "%v", err)
			continue
		}
		if !c.template {
			c.path = p
		}
		member := c.As == "flag" || c.As == "present" || c.As == "role"
		if member && (p.Filter == nil || len(p.Sub) != 0) {
			add(c, "transform %q asserts a membership: its path must end with a filter, like roles[roleName eq \"X\"]", c.As)
		}
		if !member && p.Filter != nil && len(p.Sub) == 0 {
			add(c, "path %s selects an element; name the sub-attribute that receives the value (or use as: flag)", c.To)
		}
		if p.Filter != nil {
			if _, err := p.Filter.Equalities(); err != nil {
				add(c, "path %s: the filter must be a conjunction of eq terms so the element can be built", c.To)
			}
		}
		if c.Also != "" {
			ap, err := scimpath.Parse(c.Also)
			switch {
			case err != nil:
				add(c, "also: %v", err)
			case c.As != "flag" || ap.Filter == nil || len(ap.Sub) != 0:
				add(c, "also: only flag rows can assert a second membership, and its path must end with a filter")
			default:
				c.also = ap
			}
			if c.AlsoOption != "" {
				if _, ok := KnownOptions[c.AlsoOption]; !ok {
					add(c, "alsoOption: unknown option %q", c.AlsoOption)
				}
			}
		}
		if c.Element != "" && p.Filter == nil {
			add(c, "element: only paths with a filter create elements")
		}
	}
	for name, v := range t.Vars {
		if _, err := LookupTransform(v.As, set.Codes); err != nil {
			probs = append(probs, Problem{File: t.File, Line: t.Line, Msg: fmt.Sprintf("vars.%s: %v", name, err)})
		}
	}
	probs = append(probs, Check(t, set)...)
	return probs
}
