package scim

import (
	"encoding/json"
	"strings"
	"testing"

	"scimigrate/scim/scimpath"
)

func TestSetAndEncode(t *testing.T) {
	u := &User{}
	set := func(p string, v Value) {
		t.Helper()
		if _, err := u.Set(scimpath.MustParse(p), v); err != nil {
			t.Fatal(err)
		}
	}
	set(scimpath.EnterpriseUser+":employeeNumber", Str("E1"))
	set("name.givenName", Str("Chris"))
	set("userName", Str("c@x"))
	set(`emails[type eq "work"].value`, Str("c@x"))
	set(scimpath.SpendUser+`:customData[id eq "custom1"].value`, Str("<a&b>"))
	set(scimpath.SpendApprover+`:report[primary eq true].approver.employeeNumber`, Str("E2"))
	set(scimpath.SpendApprover+`:report[primary eq false].approver.employeeNumber`, Str("E3"))
	set("active", BoolValue(true))
	if err := u.Assert(scimpath.MustParse(`entitlements[value eq "Expense"]`), true, 0); err != nil {
		t.Fatal(err)
	}
	got := string(u.AppendResource(nil))
	want := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:ietf:params:scim:schemas:extension:spend:2.0:User","urn:ietf:params:scim:schemas:extension:spend:2.0:Approver"],` +
		`"userName":"c@x","active":true,"name":{"givenName":"Chris"},"emails":[{"type":"work","value":"c@x"}],"entitlements":["Expense"],` +
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E1"},` +
		`"urn:ietf:params:scim:schemas:extension:spend:2.0:User":{"customData":[{"id":"custom1","value":"\u003ca\u0026b\u003e"}]},` +
		`"urn:ietf:params:scim:schemas:extension:spend:2.0:Approver":{"report":[{"primary":true,"approver":{"employeeNumber":"E2"}},{"primary":false,"approver":{"employeeNumber":"E3"}}]}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Error("invalid JSON")
	}
	// Lookup is case-insensitive on attribute names and filter values.
	if v, ok := u.Lookup(scimpath.MustParse(`EMAILS[TYPE eq "Work"].Value`)); !ok || v.Str != "c@x" {
		t.Errorf("lookup: %v %v", v, ok)
	}
	// A different value is a conflict; the same value is not.
	c, _ := u.Set(scimpath.MustParse("userName"), Str("c@x"))
	if c != nil {
		t.Error("same value reported as conflict")
	}
	c, _ = u.Set(scimpath.MustParse("userName"), Str("d@x"))
	if c == nil || c.Old.Str != "c@x" {
		t.Errorf("conflict = %+v", c)
	}
	// Asserting absence removes the element and is remembered; Reset empties.
	u.Assert(scimpath.MustParse(`entitlements[value eq "Expense"]`), false, 0)
	if strings.Contains(string(u.AppendResource(nil)), "entitlements") || len(u.Absent) != 1 {
		t.Error("absent membership still emitted or not remembered")
	}
	u.Reset()
	if got := string(u.AppendResource(nil)); got != `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}` || len(u.Absent) != 0 {
		t.Errorf("after Reset: %s", got)
	}
}

func TestSetErrors(t *testing.T) {
	u := &User{}
	u.Set(scimpath.MustParse("name"), Str("flat"))
	if _, err := u.Set(scimpath.MustParse("name.givenName"), Str("x")); err == nil {
		t.Error("descending into a string accepted")
	}
	if _, err := u.Set(scimpath.MustParse(`emails[type ne "work"].value`), Str("x")); err == nil {
		t.Error("non-equality filter accepted for building")
	}
	if err := u.Assert(scimpath.MustParse("active"), true, 0); err == nil {
		t.Error("membership without filter accepted")
	}
}

// FuzzAppendString: the encoder agrees with encoding/json on every string.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\s`, "<&>", "\u2028\u2029", "\x00\x1f\x7f", "\xff\xfe", "Müller"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}

// FuzzDecode: Decode never panics, and what it accepts re-encodes to JSON
// that encoding/json reads as the same value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":[1,true,null,"x"],"b":{"c":-1.5e3}}`, `[]`, `"s"`, `{"a":1,"a":2}`, `{`, `[1,]`, `1 2`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Decode([]byte(s))
		if err != nil {
			return
		}
		out := AppendJSON(nil, v)
		var a, b any
		if err := useNumber(s, &a); err != nil {
			t.Fatalf("Decode accepted what encoding/json rejects: %q", s)
		}
		if err := useNumber(string(out), &b); err != nil {
			t.Fatalf("re-encoding is not JSON: %s", out)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Fatalf("round trip changed the value: %s -> %s", ja, jb)
		}
	})
}

func useNumber(s string, v *any) error {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	return d.Decode(v)
}

// TestKeyValueMatches: with one equality, Matches is KeyValue then
// LiteralEqual (the plan finds key values once and compares many times).
func TestKeyValueMatches(t *testing.T) {
	els := []string{
		`"Expense"`, `"expense"`, `"EXPENSE "`, `7`, `true`, `null`, `{}`, `[]`,
		`{"value":"Expense"}`, `{"Value":"expense"}`, `{"type":"work","value":"a@x"}`, `{"TYPE":"Work"}`,
		`{"type":"work","Type":"home"}`, `{"Type":"home","type":"work"}`, `{"type":null}`, `{"type":1}`,
		`{"id":"custom1"}`, `{"id":"CUSTOM1"}`, `{"id":"\u212a"}`, `{"id":"k"}`, `{"id":"K"}`, `{"id":"straße"}`, `{"id":"STRASSE"}`,
		`{"approver":{"employeeNumber":"E1"}}`, `{"approver":{"EmployeeNumber":"e1"}}`, `{"approver":"E1"}`, `{"approver":{}}`,
		`{"primary":true}`, `{"n":2.50}`,
	}
	terms := []Equality{
		{Attr: []string{"value"}, Value: scimpath.Value{Kind: scimpath.String, Str: "Expense"}},
		{Attr: []string{"type"}, Value: scimpath.Value{Kind: scimpath.String, Str: "work"}},
		{Attr: []string{"type"}, Value: scimpath.Value{Kind: scimpath.String, Str: "HOME"}},
		{Attr: []string{"id"}, Value: scimpath.Value{Kind: scimpath.String, Str: "custom1"}},
		{Attr: []string{"id"}, Value: scimpath.Value{Kind: scimpath.String, Str: "k"}},
		{Attr: []string{"id"}, Value: scimpath.Value{Kind: scimpath.String, Str: "\u212a"}},
		{Attr: []string{"id"}, Value: scimpath.Value{Kind: scimpath.String, Str: "STRASSE"}},
		{Attr: []string{"approver", "employeeNumber"}, Value: scimpath.Value{Kind: scimpath.String, Str: "e1"}},
		{Attr: []string{"primary"}, Value: scimpath.Value{Kind: scimpath.Bool, Bool: true}},
		{Attr: []string{"n"}, Value: scimpath.Value{Kind: scimpath.Number, Str: "2.50"}},
		{Attr: []string{"type"}, Value: scimpath.Value{Kind: scimpath.Null}},
	}
	n := 0
	for _, s := range els {
		el, err := Decode([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		for _, eq := range terms {
			want := Matches(el, []Equality{eq})
			k := KeyValue(&el, eq.Attr)
			got := k != nil && LiteralEqual(k, &eq.Value)
			if got != want {
				t.Errorf("%s, %v eq %v: KeyValue+LiteralEqual %v, Matches %v", s, eq.Attr, eq.Value, got, want)
			}
			if want {
				n++
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d matches: the table tests little", n)
	}
}

// TestFindIsLookup: Find on a resource finds what User.Lookup finds (the
// same value), for present, missing and mistyped paths.
func TestFindIsLookup(t *testing.T) {
	doc, err := Decode([]byte(`{"userName":"c@x","name":{"givenName":"Chris"},"active":true,"nickName":null,` +
		`"emails":[{"type":"work","value":"c@x"},{"type":"home"}],"entitlements":["Expense","Travel"],"x":"s",` +
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E1","manager":{"employeeNumber":"E9"}},` +
		`"urn:ietf:params:scim:schemas:extension:spend:2.0:User":{"customData":[{"id":"custom1","value":"v"}]},` +
		`"urn:ietf:params:scim:schemas:extension:spend:2.0:Role":"oops",` +
		`"urn:ietf:params:scim:schemas:extension:spend:2.0:Approver":{"report":[{"primary":true,"approver":{"employeeNumber":"E2"}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"userName", "USERNAME", "name.givenName", "name.familyName", "name", "nickName", "nickName.x", "x.y", "active",
		`emails[type eq "work"]`, `emails[type eq "WORK"].value`, `emails[type eq "home"].value`, `emails[type eq "other"]`,
		`entitlements[value eq "expense"]`, `entitlements[value eq "Invoice"]`, `x[type eq "a"]`, `name[type eq "a"]`,
		scimpath.EnterpriseUser + ":employeeNumber", scimpath.EnterpriseUser + ":manager.employeeNumber", scimpath.EnterpriseUser + ":costCenter",
		scimpath.SpendUser + `:customData[id eq "custom1"].value`, scimpath.SpendUser + `:customData[id eq "custom2"].value`,
		scimpath.SpendRole + `:roles[roleName eq "A"]`, scimpath.SpendApprover + `:report[primary eq true].approver.employeeNumber`,
		scimpath.TravelUser + ":ruleClass", "urn:ietf:params:scim:schemas:core:2.0:User:userName",
	}
	found := 0
	for _, s := range paths {
		p := scimpath.MustParse(s)
		u := &User{Doc: *doc.Obj}
		want, wok := u.Lookup(p)
		got, ok := Find(doc.Obj, p)
		if ok != wok || got != want {
			t.Errorf("%s: Find %v %v, Lookup %v %v", s, got, ok, want, wok)
		}
		if ok {
			found++
		}
	}
	if found < 10 {
		t.Errorf("only %d paths found: the table tests little", found)
	}
}
