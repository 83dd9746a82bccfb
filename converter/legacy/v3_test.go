package legacy_test

import (
	"errors"
	"strings"
	"testing"

	"scimigrate/converter/legacy"
	"scimigrate/converter/source"
)

func mustV3(t *testing.T, doc string) *legacy.Doc {
	t.Helper()
	d, err := legacy.ReadV3("in.json", []byte(doc))
	if err != nil {
		t.Fatalf("ReadV3: %v", err)
	}
	if len(d.Records) != len(d.Syntax) {
		t.Fatalf("%d records, %d syntax entries", len(d.Records), len(d.Syntax))
	}
	return d
}

func TestV3Values(t *testing.T) {
	d := mustV3(t, `{"total": 9, "limit": 2,
 "Items": [
  {"EmployeeID": "1", "Active": true, "IsX": false, "N": 12.50, "MiddleName": null,
   "PrimaryEmail": "a@x.com", "Emails": ["A@X.com", "b@x.com", "", null, "b@x.com", "c@x.com"]},
  {"EmployeeID": "2", "Emails": ["d@x.com"]}
 ],
 "offset": 4}`)
	if len(d.Records) != 2 {
		t.Fatalf("%+v", d.Records)
	}
	r := d.Records[0]
	if r.Type != legacy.TypeV3 || r.Line != 3 || r.Col != 3 || r.Seq != 5 || d.Records[1].Seq != 6 {
		t.Errorf("record: %d:%d %s seq %d, %d", r.Line, r.Col, r.Type, r.Seq, d.Records[1].Seq)
	}
	want := []struct {
		name, value string
		line, col   int32
	}{
		{"EmployeeID", "1", 3, 4}, {"Active", "Y", 3, 23}, {"IsX", "N", 3, 39}, {"N", "12.50", 3, 53},
		{"PrimaryEmail", "a@x.com", 4, 4}, {"Emails[1]", "b@x.com", 4, 53}, {"Emails[2]", "c@x.com", 4, 85},
	}
	if len(r.Fields) != len(want) {
		t.Errorf("fields: %+v", r.Fields)
	}
	for i, w := range want {
		if i >= len(r.Fields) {
			break
		}
		f := r.Fields[i]
		if f.Name != w.name || f.Value != w.value || f.Line != w.line || f.Col != w.col {
			t.Errorf("field %d: %+v, want %+v", i, f, w)
		}
	}
	// Without PrimaryEmail every address is a further one.
	if f, ok := field(d.Records[1], "Emails[1]"); !ok || f.Value != "d@x.com" {
		t.Errorf("record 2: %+v", d.Records[1].Fields)
	}
}

func TestV3TypeErrors(t *testing.T) {
	d := mustV3(t, `{"Items": [
 {"EmployeeID": "1", "Manager": {"EmployeeID": "9"}, "FirstName": "A"},
 {"EmployeeID": "2", "Emails": ["a@x", 3]},
 "not an object",
 null,
 {"EmployeeID": "3"}
], "NextPage": null}`)
	if len(d.Records) != 5 {
		t.Fatalf("%+v", d.Records)
	}
	for i, w := range []struct {
		line, col int
		field     string
		msg       string
	}{
		{2, 22, "Manager", "not an object"},
		{3, 40, "Emails", "entry 2 is not a string"},
		{4, 2, "", "item 3 of Items is not a JSON object"},
		{5, 2, "", "item 4 of Items is not a JSON object"},
	} {
		s := d.Syntax[i]
		if s == nil || s.Line != w.line || s.Col != w.col || s.Field != w.field || !strings.Contains(s.Msg, w.msg) {
			t.Errorf("item %d: %v, want %d:%d %s %q", i+1, s, w.line, w.col, w.field, w.msg)
		}
	}
	// The rest of a rejected item is still read (and the next item too).
	if f, _ := field(d.Records[0], "FirstName"); f.Value != "A" {
		t.Errorf("item 1 fields: %+v", d.Records[0].Fields)
	}
	if d.Syntax[4] != nil {
		t.Errorf("item 5: %v", d.Syntax[4])
	}
}

func TestV3NotAList(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{`[]`, "1:1: error: not a v3 user list"},
		{`{"total": 0}`, `1:1: error: no "Items" array`},
		{"{\n \"Items\": {}}", `2:11: error: "Items" is not an array`},
		{"{\"total\": 1,\n \"x\": tru}", "2:10: error: not a readable v3 user list: JSON syntax error"},
		{``, "not a readable v3 user list"},
		{`{"Items": [`, ""},
	} {
		_, err := legacy.ReadV3("f.json", []byte(c.doc))
		if c.want == "" {
			if err != nil {
				t.Errorf("%q: %v", c.doc, err)
			}
			continue
		}
		var d source.Diagnostic
		if !errors.As(err, &d) || d.Line < 1 || d.Col < 1 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.doc, err, c.want)
		}
	}
}

func TestV3SyntaxError(t *testing.T) {
	d := mustV3(t, "{\"Items\": [{\"EmployeeID\": \"1\"},\n {\"EmployeeID\": \"2\", \"FirstName\": \"A\" \"LastName\": \"B\"}]}")
	if len(d.Records) != 2 || d.Syntax[0] != nil || d.Syntax[1] == nil {
		t.Fatalf("%+v %v", d.Records, d.Syntax)
	}
	if s := d.Syntax[1]; s.Line != 2 || s.Col != 39 || !strings.Contains(s.Msg, "JSON syntax error") {
		t.Errorf("syntax: %v", s)
	}
	d = mustV3(t, "{\"Items\": []}\n{}")
	if len(d.Records) != 1 || d.Syntax[0] == nil || d.Syntax[0].Line != 2 {
		t.Errorf("trailer: %+v %v", d.Records, d.Syntax)
	}
	d = mustV3(t, `{"Items": null}`)
	if len(d.Records) != 0 {
		t.Errorf("null Items: %+v", d.Records)
	}
}

// OrganizationUnit (and the page's misspelling) go to the enterprise
// department: core has no orgUnit, and the travel orgUnit would need a rule
// class v3 does not carry.
func TestV3OrganizationUnit(t *testing.T) {
	r := convert(t, "", root+"fixtures/v3/v30-users-page1.json")
	if len(r.users) != 2 {
		t.Fatalf("users: %v %v", r.users, r.diags)
	}
	for i, want := range []string{"Engineering", "Finance"} {
		u := normalize(t, r.users[i]).(map[string]any)
		ent, _ := u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
		if ent["department"] != want {
			t.Errorf("user %d: enterprise department %v, want %s", i+1, ent["department"], want)
		}
		if _, ok := u["urn:ietf:params:scim:schemas:extension:travel:2.0:User"]; ok {
			t.Errorf("user %d: travel extension sent", i+1)
		}
		if _, ok := u["orgUnit"]; ok {
			t.Errorf("user %d: core orgUnit sent", i+1)
		}
	}
}
