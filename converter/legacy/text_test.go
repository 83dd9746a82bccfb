package legacy_test

import (
	"testing"

	"scimigrate/converter/legacy"
	"scimigrate/converter/source"
)

// TestV3Text: encoding/json would replace bytes that are not UTF-8 by
// U+FFFD and keep an escaped NUL; both reject their item instead, with the
// position and the field, and the other items are read. A declared
// Windows-1252 document is decoded.
func TestV3Text(t *testing.T) {
	tests := []struct {
		name, enc, doc string
		wantDiag       string // of item 1; "" = none
		wantFirst      string // FirstName of item 1 when no diagnostic
	}{
		{"not UTF-8", "", "{\"Items\": [\n {\"EmployeeID\": \"1\", \"FirstName\": \"J\xfcrgen\"},\n {\"EmployeeID\": \"2\"}]}",
			`in.json:2:37: error: FirstName: byte 0xFC is not UTF-8 (not text); read as Windows-1252 it is "Jürgen": if the file is Windows-1252, declare it with --encoding windows-1252; the user is not converted`, ""},
		{"escaped NUL", "", "{\"Items\": [\n {\"EmployeeID\": \"1\", \"FirstName\": \"Jo\\u0000\"},\n {\"EmployeeID\": \"2\"}]}",
			`in.json:2:22: error: FirstName: a NUL byte (0x00) is not text (written as an escape in the JSON string); the user is not converted`, ""},
		{"declared windows-1252", "windows-1252", "{\"Items\": [\n {\"EmployeeID\": \"1\", \"FirstName\": \"J\xfcrgen\"},\n {\"EmployeeID\": \"2\"}]}",
			"", "Jürgen"},
		{"UTF-8", "", "{\"Items\": [\n {\"EmployeeID\": \"1\", \"FirstName\": \"Jürgen\\n\"},\n {\"EmployeeID\": \"2\"}]}",
			"", "Jürgen\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := source.LookupEncoding(tt.enc)
			if err != nil {
				t.Fatal(err)
			}
			d, err := legacy.ReadV3Enc("in.json", []byte(tt.doc), enc)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Records) != 2 || d.Syntax[1] != nil {
				t.Fatalf("records %+v syntax %v", d.Records, d.Syntax)
			}
			if tt.wantDiag != "" {
				if d.Syntax[0] == nil || d.Syntax[0].String() != tt.wantDiag {
					t.Errorf("diagnostic %v\nwant       %s", d.Syntax[0], tt.wantDiag)
				}
				return
			}
			if d.Syntax[0] != nil {
				t.Fatalf("unexpected %v", d.Syntax[0])
			}
			if f, ok := field(d.Records[0], "FirstName"); !ok || f.Value != tt.wantFirst {
				t.Errorf("FirstName %+v, want %q", f, tt.wantFirst)
			}
		})
	}
}

// TestV1Text: a byte that is not text (not UTF-8, NUL) rejects the
// UserProfile holding it, with position and field, and the profiles after
// it are read (the strict XML decoder alone would stop at it and drop the
// rest of the file); --encoding decodes a document without an XML
// declaration of its own.
func TestV1Text(t *testing.T) {
	doc := "<batch xmlns=\"" + legacy.Namespace + "\">\n<UserProfile><EmpId>1</EmpId><FirstName>J\xfcrgen</FirstName></UserProfile>\n" +
		"<UserProfile><EmpId>2</EmpId><LastName>Ok</LastName></UserProfile>\n<UserProfile><EmpId>3\x00</EmpId></UserProfile></batch>"
	d, err := legacy.ReadV1("in.xml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Records) != 3 || d.Syntax[1] != nil {
		t.Fatalf("records %+v syntax %v", d.Records, d.Syntax)
	}
	for i, want := range []string{
		`in.xml:2:42: error: FirstName: byte 0xFC is not UTF-8 (not text); read as Windows-1252 it is "Jürgen": if the file is Windows-1252, declare it with --encoding windows-1252; the user is not converted`,
		`in.xml:4:22: error: EmpId: a NUL byte (0x00) is not text; the user is not converted`,
	} {
		if s := d.Syntax[i*2]; s == nil || s.String() != want {
			t.Errorf("profile %d: %v\nwant %s", i*2+1, s, want)
		}
	}
	enc, _ := source.LookupEncoding("windows-1252")
	d, err = legacy.ReadV1Enc("in.xml", []byte(doc), enc)
	if err != nil || d.Syntax[0] != nil {
		t.Fatalf("%v %v", err, d.Syntax)
	}
	if f, ok := field(d.Records[0], "FirstName"); !ok || f.Value != "Jürgen" {
		t.Errorf("FirstName %+v", f)
	}
	// The document's own declaration wins (decoded once, not twice).
	decl := "<?xml version=\"1.0\" encoding=\"windows-1252\"?>" + doc
	d, err = legacy.ReadV1Enc("in.xml", []byte(decl), enc)
	if err != nil || d.Syntax[0] != nil {
		t.Fatalf("%v %v", err, d.Syntax)
	}
	if f, ok := field(d.Records[0], "FirstName"); !ok || f.Value != "Jürgen" {
		t.Errorf("FirstName with a declaration %+v", f)
	}
}
