package mapping_test

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"scimigrate/mapping"
	"scimigrate/scim/schema"
	"scimigrate/scim/scimpath"
)

// TestMappingTablePaths checks every target of the embedded mapping tables
// against the schema: to, also and element paths (templates expanded with
// the values their variables can take) and the keys of element objects.
func TestMappingTablePaths(t *testing.T) {
	fsys := mapping.Embedded()
	codes := readCodes(t, fsys)
	names, _ := fs.Glob(fsys, "*.yaml")
	checked := 0
	for _, name := range names {
		if name == "codes.yaml" {
			continue
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := mapping.ParseTable(data, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		check := func(where, tmpl, element string) {
			for _, p := range expand(tbl, codes, tmpl) {
				checked++
				path, err := scimpath.Parse(p)
				if err != nil {
					t.Errorf("%s: %s: %v", where, p, err)
					continue
				}
				if err := schema.CheckPath(path); err != nil {
					t.Errorf("%s: %s: %v", where, p, err)
					continue
				}
				if element != "" {
					checkElement(t, where, path, element)
				}
			}
		}
		if tbl.Element != "" {
			check(name+" element", tbl.Element, tbl.ElementInit)
		}
		for _, c := range tbl.Columns {
			where := name + " " + c.Position()
			if c.From != "" {
				where = c.From
			}
			if c.To != "" {
				check(where, c.To, c.Element)
			}
			if c.Also != "" {
				check(where+" (also)", c.Also, "")
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d paths checked", checked)
	}
	t.Logf("%d paths checked", checked)
}

// TestMappingLoadChecksSchema loads the tables as the converter does: every
// target is checked against the schema by mapping itself.
func TestMappingLoadChecksSchema(t *testing.T) {
	if _, err := mapping.Load("", nil); err != nil {
		t.Error(err)
	}
}

// checkElement verifies the keys of an element object (element: or
// elementInit:) exist on the elements the path selects.
func checkElement(t *testing.T, where string, p *scimpath.Path, element string) {
	var obj map[string]any
	if err := json.Unmarshal([]byte(element), &obj); err != nil {
		t.Errorf("%s: element %s: %v", where, element, err)
		return
	}
	el, ok := schema.Lookup(p.Element())
	if !ok {
		t.Errorf("%s: element of %s not found", where, p)
		return
	}
	for k := range obj {
		if _, _, ok := el.Property(k); !ok {
			t.Errorf("%s: element key %q is not an attribute of the elements of %s", where, k, p.Element())
		}
	}
}

var placeholderRe = regexp.MustCompile(`\{(cfg:)?[A-Za-z][A-Za-z0-9]*\}`)

// expand instantiates a path template with every value its variables can
// take: the target values of a variable's code table, a sample otherwise.
func expand(tbl *mapping.Table, codes map[string]map[string]string, tmpl string) []string {
	out := []string{tmpl}
	for {
		loc := placeholderRe.FindStringIndex(out[0])
		if loc == nil {
			return out
		}
		ph := out[0][loc[0]:loc[1]]
		name := strings.TrimSuffix(strings.TrimPrefix(ph, "{"), "}")
		values := []string{"X"}
		if v, ok := tbl.Vars[name]; ok {
			if table, ok := strings.CutPrefix(v.As, "code:"); ok {
				set := map[string]bool{}
				for _, target := range codes[table] {
					set[target] = true
				}
				values = values[:0]
				for target := range set {
					values = append(values, target)
				}
				sort.Strings(values)
			}
		}
		var next []string
		for _, s := range out {
			for _, v := range values {
				next = append(next, strings.Replace(s, ph, v, 1))
			}
		}
		out = next
	}
}

func readCodes(t *testing.T, fsys fs.FS) map[string]map[string]string {
	data, err := fs.ReadFile(fsys, "codes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Codes map[string]map[string]string `yaml:"codes"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f.Codes
}

// TestMappingTableFilterValues checks the literals of the tables' filters
// against the enums of the attributes they compare: a literal outside the
// enum makes every user the row applies to invalid. Known cases are listed
// in knownBadLiterals with the reason they are kept.
func TestMappingTableFilterValues(t *testing.T) {
	fsys := mapping.Embedded()
	codes := readCodes(t, fsys)
	names, _ := fs.Glob(fsys, "*.yaml")
	for _, name := range names {
		if name == "codes.yaml" {
			continue
		}
		data, _ := fs.ReadFile(fsys, name)
		tbl, err := mapping.ParseTable(data, name)
		if err != nil {
			continue
		}
		for _, c := range tbl.Columns {
			for _, tmpl := range []string{c.To, c.Also} {
				if tmpl == "" {
					continue
				}
				for _, p := range expand(tbl, codes, tmpl) {
					path, err := scimpath.Parse(p)
					if err != nil || path.Filter == nil {
						continue
					}
					arr, ok := schema.Lookup(&scimpath.Path{URN: path.URN, Attr: path.Attr})
					if !ok || arr.Items == nil {
						continue
					}
					eqs, err := path.Filter.Equalities()
					if err != nil {
						continue
					}
					for _, eq := range eqs {
						n := arr.Items
						if len(eq.Attr) == 1 && eq.Attr[0] == "value" && !n.IsObject() {
							// primitive elements
						} else if n, ok = schema.Lookup(&scimpath.Path{URN: path.URN, Attr: path.Attr, Filter: path.Filter, Sub: eq.Attr}); !ok {
							continue
						}
						if n.Enum == nil || eq.Value.Kind != scimpath.String || eq.Value.Str == "X" || n.InEnum(eq.Value.Str) {
							continue
						}
						where := c.From + " " + p
						if reason, ok := knownBadLiterals[eq.Value.Str]; ok {
							t.Logf("%s: %q is not one of the values of %s (known: %s)", where, eq.Value.Str, strings.Join(eq.Attr, "."), reason)
							continue
						}
						t.Errorf("%s: %q is not one of the values of %s", where, eq.Value.Str, strings.Join(eq.Attr, "."))
					}
				}
			}
		}
	}
}

// knownBadLiterals are filter values of the tables that the schema rejects,
// kept because the public mapping pages list them (notes/flatfile-spec.md
// §4 #9): the validator flags the users that assert them.
var knownBadLiterals = map[string]string{
	"EXP_AUTH_REQUEST_APPROVER": "300/305 column 68; on neither the role-code page nor the swagger enum",
}
