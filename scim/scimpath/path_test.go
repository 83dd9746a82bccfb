package scimpath

import (
	"errors"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in     string
		urn    string
		attr   []string
		filter string
		sub    []string
		canon  string // "" = same as in
	}{
		{in: "active", attr: []string{"active"}},
		{in: "name.givenName", attr: []string{"name", "givenName"}},
		{in: `emails[type eq "work"].value`, attr: []string{"emails"}, filter: `type eq "work"`, sub: []string{"value"}},
		{in: SpendUser + `:customData[id eq "custom7"].value`, urn: SpendUser, attr: []string{"customData"}, filter: `id eq "custom7"`, sub: []string{"value"}},
		{in: SpendApprover + `:report[primary eq true].approver.employeeNumber`, urn: SpendApprover, attr: []string{"report"}, filter: "primary eq true", sub: []string{"approver", "employeeNumber"}},
		{in: SpendRole + `:roles[roleName eq "EXP_APPROVER"]`, urn: SpendRole, attr: []string{"roles"}, filter: `roleName eq "EXP_APPROVER"`},
		{in: SpendDelegate + `:expense[delegate.employeeNumber eq "E1"].canPrepare`, urn: SpendDelegate, attr: []string{"expense"}, filter: `delegate.employeeNumber eq "E1"`, sub: []string{"canPrepare"}},
		{in: EnterpriseUser + ":employeeNumber", urn: EnterpriseUser, attr: []string{"employeeNumber"}},
		{in: EnterprisePayroll + ":adp.companyCode", urn: EnterprisePayroll, attr: []string{"adp", "companyCode"}},
		{in: SpendRole, urn: SpendRole},
		{in: `entitlements[value eq "Expense"]`, attr: []string{"entitlements"}, filter: `value eq "Expense"`},
		{in: `emails[type eq "work" and primary eq true]`, attr: []string{"emails"}, filter: `type eq "work" and primary eq true`},
		{in: `emails[type EQ "work" OR (value co "@x" AND primary eq false)]`, attr: []string{"emails"},
			filter: `type eq "work" or value co "@x" and primary eq false`,
			canon:  `emails[type eq "work" or value co "@x" and primary eq false]`},
		{in: `emails[not (type eq "home")]`, attr: []string{"emails"}, filter: `not (type eq "home")`},
		{in: `x[a pr]`, attr: []string{"x"}, filter: "a pr"},
		{in: `x[n ge -1.5e3]`, attr: []string{"x"}, filter: "n ge -1.5e3"},
		{in: `x[s eq "a\"b"]`, attr: []string{"x"}, filter: `s eq "a\"b"`},
		{in: `x[s eq null]`, attr: []string{"x"}, filter: `s eq null`},
		{in: "urn:example:custom:1.0:User:thing", urn: "urn:example:custom:1.0:User", attr: []string{"thing"}},
		{in: `members[value eq "1"].$ref`, attr: []string{"members"}, filter: `value eq "1"`, sub: []string{"$ref"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if p.URN != tt.urn || !reflect.DeepEqual(p.Attr, tt.attr) || !reflect.DeepEqual(p.Sub, tt.sub) {
				t.Errorf("got urn=%q attr=%q sub=%q", p.URN, p.Attr, p.Sub)
			}
			got := ""
			if p.Filter != nil {
				got = p.Filter.String()
			}
			if got != tt.filter {
				t.Errorf("filter = %q, want %q", got, tt.filter)
			}
			canon := tt.canon
			if canon == "" {
				canon = tt.in
			}
			if p.String() != canon {
				t.Errorf("String() = %q, want %q", p.String(), canon)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"", "1abc", "name.", "emails[", `emails[type eq "work"`, `emails[type eq]`, `emails[type zz "a"]`,
		`emails[type eq "unterminated]`, `emails[type eq "a"]x`, "urn:x", `[type eq "a"]`, `a[b eq tru]`,
		`emails[type eq "a"].`, `a[(b eq 1]`, "urn:ietf:params:scim:schemas:extension:spend:2.0:User:",
		"A[A eq \"\xb1\"]", "a[b eq \"x\\n\xff\"]", "a[b eq \"\xe2\x82\"]", // not UTF-8: no canonical form
	} {
		_, err := Parse(in)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want *Error", in, err)
			continue
		}
		if pe.Offset < 0 || pe.Offset > len(in) {
			t.Errorf("Parse(%q): offset %d out of range", in, pe.Offset)
		}
	}
}

func TestEqualities(t *testing.T) {
	p := MustParse(SpendDelegate + `:expense[delegate.employeeNumber eq "E1" and primary eq true]`)
	eq, err := p.Filter.Equalities()
	if err != nil {
		t.Fatal(err)
	}
	want := []Equality{
		{Attr: []string{"delegate", "employeeNumber"}, Value: Value{Kind: String, Str: "E1"}},
		{Attr: []string{"primary"}, Value: Value{Kind: Bool, Bool: true}},
	}
	if !reflect.DeepEqual(eq, want) {
		t.Fatalf("got %+v", eq)
	}
	for _, in := range []string{`a[b ne "1"]`, `a[b eq "1" or c eq "2"]`, `a[not (b eq "1")]`, `a[b eq null]`} {
		if _, err := MustParse(in).Filter.Equalities(); !errors.Is(err, ErrNotEqualities) {
			t.Errorf("%s: err = %v", in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"active", `emails[type eq "work"].value`, SpendApprover + `:report[primary eq true].approver.employeeNumber`,
		`a[b eq "x" and (c pr or not (d gt 2))]`, SpendRole, `x[s eq "\u00e9\n"]`,
		"A[A eq \"\xb1\"]", `a[b eq "\ud800"]`, "a[b eq \"\ufffd\"]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Parse(in)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Offset < 0 || pe.Offset > len(in) {
				t.Fatalf("error without a valid position: %v", err)
			}
			return
		}
		// Canonical form is a fixed point.
		s := p.String()
		q, err := Parse(s)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", s, in, err)
		}
		if q.String() != s {
			t.Fatalf("canonical form not stable: %q -> %q", s, q.String())
		}
	})
}
