package legacy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scimigrate/converter"
	"scimigrate/converter/legacy"
	"scimigrate/mapping"
)

func TestSniff(t *testing.T) {
	utf16le := func(s string) []byte {
		b := []byte{0xFF, 0xFE}
		for _, r := range s {
			b = append(b, byte(r), byte(r>>8))
		}
		return b
	}
	for _, c := range []struct {
		head string
		want string
	}{
		{"100,0,SSO,UPDATE,EN,N,N\n305,...", "flat"},
		{"\ufeff100,0,SSO,UPDATE,EN,N,N\r\n", "flat"},
		{"\r\n\r\n100,0\n", "flat"},
		{`"100",0,SSO`, "flat"},
		{"305,Chris,J,Doe\n", "flat"}, // the flat reader reports the missing 100 record
		{"", "flat"},
		{`<batch xmlns="http://www.concursolutions.com/api/user/2011/02">`, "v1"},
		{"\ufeff<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- archive -->\n<Batch>", "v1"},
		{"<!DOCTYPE batch>\n<u:UserProfile xmlns:u=\"x\">", "v1"},
		{"  <USERPROFILE/>", "v1"},
		{string(utf16le(`<?xml version="1.0" encoding="utf-16"?><batch>`)), "v1"},
		{`{"Items": [], "NextPage": null}`, "v3"},
		{"\ufeff{\n  \"total\": 2, \"offset\": 0, \"limit\": 100, \"company\": {}, \"items\" : []}", "v3"},
		{`{"total": 2}`, ""},
		{`[{"EmployeeID": "1"}]`, ""},
		{"<user-batch-result/>", ""},
		{"<?xml version=\"1.0\"?>", ""},
		{"EmployeeID,FirstName\n1,Chris\n", ""},
		{"1001,Chris\n", ""},
	} {
		got, seen := legacy.Sniff([]byte(c.head))
		if got != c.want {
			t.Errorf("Sniff(%q) = %q (%s), want %q", c.head, got, seen, c.want)
		}
		if got == "" && seen == "" {
			t.Errorf("Sniff(%q): no description", c.head)
		}
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenInputsFormat(t *testing.T) {
	dir := t.TempDir()
	flat := root + "fixtures/flat/sample.txt"
	v1 := root + "fixtures/v1/batch.xml"
	v3 := root + "fixtures/v3/v31-users-page1.json"
	ins, err := converter.OpenInputs([]string{flat, v1, v3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"flat", "v1", "v3"} {
		if ins[i].Format() != want || ins[i].Name() == "" {
			t.Errorf("input %d: format %s, want %s", i, ins[i].Format(), want)
		}
		ins[i].Close()
	}

	// Neither format: an error naming the file.
	junk := write(t, dir, "users.csv", "EmployeeID,FirstName\n1,Chris\n")
	_, err = converter.OpenInputs([]string{v1, junk}, nil)
	if err == nil || !strings.Contains(err.Error(), junk+": unknown input format") || !strings.Contains(err.Error(), "--format") {
		t.Errorf("junk: %v", err)
	}
	// A sniffed V1/v3 file that cannot be read at all: the error has a position.
	bad := write(t, dir, "bad.json", "{\n \"Items\": 3}")
	if _, err = converter.OpenInputs([]string{bad}, nil); err == nil || !strings.HasPrefix(err.Error(), bad+":2:11: error:") {
		t.Errorf("bad v3: %v", err)
	}
	// The format override wins over the content.
	if _, err = converter.OpenInputsFormat([]string{v1}, nil, "v3"); err == nil || !strings.Contains(err.Error(), "batch.xml:1:1: error: not a readable v3 user list") {
		t.Errorf("override v3 on XML: %v", err)
	}
	ins, err = converter.OpenInputsFormat([]string{junk}, nil, "flat")
	if err != nil || ins[0].Format() != "flat" {
		t.Errorf("override flat: %v", err)
	} else {
		ins[0].Close()
	}
	if _, err = converter.OpenInputsFormat([]string{v1}, nil, "xml"); err == nil || !strings.Contains(err.Error(), `unknown input format "xml" (known: flat, v1, v3)`) {
		t.Errorf("unknown format: %v", err)
	}
	if _, err = converter.OpenInputs([]string{filepath.Join(dir, "missing.xml")}, nil); err == nil {
		t.Error("missing file opened")
	}
}

// Standard input is sniffed too; the flat reader still gets every byte.
func TestOpenStdin(t *testing.T) {
	set, err := converter.LoadMappings("", mapping.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file, format string
		users        int
	}{
		{"fixtures/v1/batch.xml", "v1", 4},
		{"fixtures/v3/v30-users-page1.json", "v3", 2},
		{"fixtures/v1/equivalent-flat.txt", "flat", 3},
	} {
		data, err := os.ReadFile(root + c.file)
		if err != nil {
			t.Fatal(err)
		}
		ins, err := converter.OpenInputs([]string{"-"}, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if ins[0].Format() != c.format || ins[0].Name() != "<stdin>" {
			t.Errorf("%s: %s %s", c.file, ins[0].Format(), ins[0].Name())
		}
		r := convertInputs(t, set, ins)
		ins[0].Close()
		if len(r.users) != c.users {
			t.Errorf("%s: %d users, want %d: %v", c.file, len(r.users), c.users, r.diags)
		}
	}
}

// Flat, V1 and v3 inputs convert in one run; an employee found in two of them
// is merged.
func TestMixedRun(t *testing.T) {
	dir := t.TempDir()
	x := write(t, dir, "a.xml", `<batch><UserProfile><EmpId>E1</EmpId><LoginId>e1@x.com</LoginId><FirstName>Eve</FirstName><LastName>Ames</LastName><Active>Y</Active><EmailAddress>e1@x.com</EmailAddress></UserProfile><Comment>x</Comment></batch>`)
	j := write(t, dir, "b.json", `{"Items": [{"EmployeeID": "E1", "LoginID": "e1@x.com", "CellPhoneNumber": "555"}, {"EmployeeID": "E2", "LoginID": "e2@x.com", "FirstName": "Al", "LastName": "Bo", "Active": true, "PrimaryEmail": "e2@x.com"}]}`)
	r := convert(t, "", x, j)
	if len(r.users) != 2 || r.st.Errors != 0 {
		t.Fatalf("%v %v", r.users, r.diags)
	}
	if r.st.RecordsUnsupported != 1 || !strings.Contains(strings.Join(r.diags, "\n"), "element <Comment> is not supported") {
		t.Errorf("other batch child: %v", r.diags)
	}
	if !strings.Contains(r.users[0], `"givenName":"Eve"`) || !strings.Contains(r.users[0], `"value":"555"`) {
		t.Errorf("not merged: %s", r.users[0])
	}
}
