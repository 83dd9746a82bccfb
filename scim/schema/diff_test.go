package schema

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"scimigrate/scim"
)

// The differential tests: for every document, the fast validator (schema part
// only) and gojsonschema must agree on validity and on the set of failing
// (location, keyword) pairs.

type finding struct{ ptr, rule string }

func findingSet(vs []Violation, ptrs []string) map[finding]bool {
	set := map[finding]bool{}
	for i, v := range vs {
		set[finding{ptrs[i], v.Rule}] = true
	}
	return set
}

func showSet(s map[finding]bool) string {
	var out []string
	for f := range s {
		out = append(out, strings.ReplaceAll(f.ptr, "\x00", "/")+" "+f.rule)
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// compare validates u both ways and reports a disagreement as an error
// string ("" when they agree). skip is true when gojsonschema itself failed
// (it panics on some degenerate documents).
func compare(u *scim.User, mode Mode) (msg string, valid bool, skip bool) {
	fast, fptrs := validateWithPointers(u, mode, true)
	doc := u.AppendResource(nil)
	var ref []Violation
	var rptrs []string
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				skip = true
			}
		}()
		ref, rptrs, err = reference(doc, mode)
	}()
	if skip {
		return "", false, true
	}
	if err != nil {
		return fmt.Sprintf("reference failed: %v on %s", err, doc), false, false
	}
	fs, rs := findingSet(fast, fptrs), findingSet(ref, rptrs)
	same := len(fs) == len(rs)
	for f := range fs {
		if !rs[f] {
			same = false
		}
	}
	if same && (len(fast) == 0) == (len(ref) == 0) {
		return "", len(fast) == 0, false
	}
	return fmt.Sprintf("%s: fast {%s} ≠ gojsonschema {%s}\ndoc: %s", mode, showSet(fs), showSet(rs), doc), false, false
}

// mutation changes the value at a position (target, inside parent at idx);
// it returns false when it does not apply.
type mutation struct {
	name string
	f    func(r *rand.Rand, parent *scim.Value, idx int, target *scim.Value) bool
}

func strMut(name string, f func(s string) string) mutation {
	return mutation{name, func(_ *rand.Rand, _ *scim.Value, _ int, t *scim.Value) bool {
		if t.Kind != scim.String {
			return false
		}
		t.Str = f(t.Str)
		return true
	}}
}

func setMut(name string, v scim.Value, kinds ...scim.Kind) mutation {
	return mutation{name, func(_ *rand.Rand, _ *scim.Value, _ int, t *scim.Value) bool {
		ok := len(kinds) == 0
		for _, k := range kinds {
			ok = ok || t.Kind == k
		}
		if !ok {
			return false
		}
		o := t.Origin
		*t = scim.Clone(v)
		t.Origin = o
		return true
	}}
}

var mutations = []mutation{
	{"wrongType", func(_ *rand.Rand, _ *scim.Value, _ int, t *scim.Value) bool {
		switch t.Kind {
		case scim.String:
			*t = scim.Int(42)
		case scim.Bool:
			*t = scim.Str("true")
		case scim.Number:
			*t = scim.Str("42")
		case scim.ObjectKind:
			*t = scim.Str("x")
		case scim.Array:
			*t = scim.Obj(&scim.Object{Members: []scim.Member{{Name: "value", Value: scim.Str("x")}}})
		default:
			return false
		}
		return true
	}},
	strMut("tooLong", func(string) string { return strings.Repeat("é", 300) }),
	strMut("tooLongASCII", func(s string) string { return s + strings.Repeat("x", 60) }),
	strMut("badEnum", func(string) string { return "bogus-value" }),
	strMut("lowerCase", strings.ToLower),
	strMut("empty", func(string) string { return "" }),
	strMut("badDate", func(string) string { return "2020-02-30" }),
	strMut("oldDate", func(string) string { return "1899-12-31" }),
	strMut("dateOnly", func(string) string { return "2020-02-03" }),
	strMut("spaceDateTime", func(string) string { return "2020-01-01 10:00:00" }),
	strMut("timeOnly", func(string) string { return "10:00:00" }),
	strMut("dateTimeOffset", func(string) string { return "2020-01-01T10:00:00+02:00" }),
	strMut("badEmail", func(string) string { return "a@@b" }),
	strMut("namedEmail", func(string) string { return "Chris <c@example.com>" }),
	strMut("invalidUTF8", func(s string) string { return "\xff\xfe" + s }),
	strMut("controlChar", func(s string) string { return s + "\x01" }),
	strMut("lowerLocale", func(string) string { return "en-us" }),
	strMut("country3", func(string) string { return "USX" }),
	strMut("uuidUpper", func(string) string { return "7C0B3EF2-1F3A-4C47-9C3E-2F3B3A5D8E11" }),
	setMut("null", scim.Value{}),
	setMut("float", scim.Num("1.5"), scim.Number, scim.String),
	setMut("intAsFloat", scim.Num("1.0"), scim.Number, scim.String),
	setMut("exponent", scim.Num("1e2"), scim.Number, scim.String),
	setMut("emptyObject", scim.Obj(&scim.Object{}), scim.ObjectKind, scim.String),
	setMut("emptyArray", scim.Value{Kind: scim.Array, Arr: []scim.Value{}}, scim.Array),
	{"flip", func(_ *rand.Rand, _ *scim.Value, _ int, t *scim.Value) bool {
		if t.Kind != scim.Bool {
			return false
		}
		t.Bool = !t.Bool
		return true
	}},
	{"delete", func(_ *rand.Rand, p *scim.Value, idx int, _ *scim.Value) bool {
		switch p.Kind {
		case scim.ObjectKind:
			p.Obj.Members = append(p.Obj.Members[:idx], p.Obj.Members[idx+1:]...)
		case scim.Array:
			p.Arr = append(p.Arr[:idx], p.Arr[idx+1:]...)
		default:
			return false
		}
		return true
	}},
	{"extraProperty", func(_ *rand.Rand, _ *scim.Value, _ int, t *scim.Value) bool {
		if t.Kind != scim.ObjectKind {
			return false
		}
		t.Obj.Members = append(t.Obj.Members, scim.Member{Name: "bogusAttr", Value: scim.Str("x")})
		return true
	}},
	{"unknownExtension", func(_ *rand.Rand, p *scim.Value, _ int, t *scim.Value) bool {
		if p != nil {
			return false
		}
		ext := scim.Obj(&scim.Object{Members: []scim.Member{{Name: "authorizedApprover", Value: scim.Str("x")}}})
		t.Obj.Members = append(t.Obj.Members, scim.Member{Name: "urn:ietf:params:scim:schemas:extension:spend:2.0:ApproverLimit", Value: ext})
		return true
	}},
	{"renameUpper", func(_ *rand.Rand, p *scim.Value, idx int, _ *scim.Value) bool {
		if p.Kind != scim.ObjectKind {
			return false
		}
		p.Obj.Members[idx].Name = strings.ToUpper(p.Obj.Members[idx].Name)
		return true
	}},
	{"duplicateCase", func(_ *rand.Rand, p *scim.Value, idx int, t *scim.Value) bool {
		if p.Kind != scim.ObjectKind {
			return false
		}
		m := p.Obj.Members[idx]
		p.Obj.Members = append(p.Obj.Members, scim.Member{Name: strings.ToUpper(m.Name[:1]) + m.Name[1:], Value: scim.Clone(m.Value)})
		return true
	}},
	{"duplicateExact", func(_ *rand.Rand, p *scim.Value, idx int, t *scim.Value) bool {
		if p.Kind != scim.ObjectKind {
			return false
		}
		m := p.Obj.Members[idx]
		p.Obj.Members = append(p.Obj.Members, scim.Member{Name: m.Name, Value: scim.Str("second")})
		return true
	}},
	{"duplicateElement", func(_ *rand.Rand, _ *scim.Value, _ int, t *scim.Value) bool {
		if t.Kind != scim.Array || len(t.Arr) == 0 {
			return false
		}
		t.Arr = append(t.Arr, scim.Clone(t.Arr[0]))
		return true
	}},
	{"nullElement", func(_ *rand.Rand, _ *scim.Value, _ int, t *scim.Value) bool {
		if t.Kind != scim.Array {
			return false
		}
		t.Arr = append(t.Arr, scim.Value{})
		return true
	}},
	{"emptyElement", func(_ *rand.Rand, _ *scim.Value, _ int, t *scim.Value) bool {
		if t.Kind != scim.Array {
			return false
		}
		t.Arr = append(t.Arr, scim.Obj(&scim.Object{}))
		return true
	}},
	{"elementWithNull", func(_ *rand.Rand, _ *scim.Value, _ int, t *scim.Value) bool {
		if t.Kind != scim.Array || len(t.Arr) == 0 || t.Arr[0].Kind != scim.ObjectKind {
			return false
		}
		el := scim.Clone(t.Arr[0])
		el.Obj.Members = append(el.Obj.Members, scim.Member{Name: "value"})
		t.Arr = append(t.Arr, el)
		return true
	}},
}

// positions lists every value of v as index paths (member or element
// indexes from the resource).
func positions(v *scim.Value, path []int, out *[][]int) {
	*out = append(*out, append([]int(nil), path...))
	switch v.Kind {
	case scim.ObjectKind:
		for i := range v.Obj.Members {
			positions(&v.Obj.Members[i].Value, append(path, i), out)
		}
	case scim.Array:
		for i := range v.Arr {
			positions(&v.Arr[i], append(path, i), out)
		}
	}
}

// at follows an index path; parent is nil for the resource itself.
func at(root *scim.Value, path []int) (parent *scim.Value, idx int, target *scim.Value) {
	target = root
	for _, i := range path {
		parent, idx = target, i
		if target.Kind == scim.ObjectKind {
			target = &target.Obj.Members[i].Value
		} else {
			target = &target.Arr[i]
		}
	}
	return parent, idx, target
}

func TestDifferentialMutations(t *testing.T) {
	users := 6
	if testing.Short() {
		users = 2
	}
	g := newGen(42)
	r := rand.New(rand.NewPCG(1, 2))
	applied, invalid := map[string]int{}, map[string]int{}
	docs, skipped, failures := 0, 0, 0
	for i := 0; i < users; i++ {
		base := g.user(i)
		for _, mode := range []Mode{Create, Update} {
			if msg, valid, _ := compare(base, mode); msg != "" || !valid {
				t.Fatalf("generated user %d is not valid in %s mode: %s %v", i, mode, msg, Validate(base, mode))
			}
		}
		root := scim.Obj(&base.Doc)
		var pos [][]int
		positions(&root, nil, &pos)
		for _, p := range pos {
			for _, m := range mutations {
				u := cloneUser(base)
				ur := scim.Obj(&u.Doc)
				parent, idx, target := at(&ur, p)
				if parent == nil && m.name != "extraProperty" && m.name != "unknownExtension" {
					continue
				}
				if !m.f(r, parent, idx, target) {
					continue
				}
				u.Doc = *ur.Obj
				applied[m.name]++
				for _, mode := range []Mode{Create, Update} {
					msg, valid, skip := compare(u, mode)
					docs++
					if skip {
						skipped++
						continue
					}
					if !valid {
						invalid[m.name]++
					}
					if msg != "" {
						failures++
						if failures <= 10 {
							t.Errorf("user %d, mutation %s at %v: %s", i, m.name, p, msg)
						}
					}
				}
			}
		}
	}
	t.Logf("%d documents compared, %d skipped (gojsonschema panicked), %d disagreements", docs, skipped, failures)
	for _, m := range mutations {
		if applied[m.name] > 0 {
			t.Logf("%-16s applied %5d, invalid %5d (of %d checks)", m.name, applied[m.name], invalid[m.name], 2*applied[m.name])
		}
	}
	for _, name := range []string{"wrongType", "tooLong", "badEnum", "delete", "extraProperty", "badDate", "null", "duplicateCase"} {
		if invalid[name] == 0 {
			t.Errorf("mutation %s never made a document invalid", name)
		}
	}
}

// TestDifferentialGenerated: the realistic users are valid for both.
func TestDifferentialGenerated(t *testing.T) {
	g := newGen(3)
	for i := 0; i < 200; i++ {
		u := g.user(i)
		for _, mode := range []Mode{Create, Update} {
			msg, valid, skip := compare(u, mode)
			if msg != "" || !valid || skip {
				t.Fatalf("user %d: %s", i, msg)
			}
			if v := Validate(u, mode); len(v) != 0 {
				t.Fatalf("user %d %s: %v", i, mode, v)
			}
		}
	}
}
