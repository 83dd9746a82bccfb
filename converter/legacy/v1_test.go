package legacy_test

import (
	"errors"
	"strings"
	"testing"

	"scimigrate/converter/legacy"
	"scimigrate/converter/source"
)

func field(rec source.Record, name string) (source.Field, bool) {
	for _, f := range rec.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return source.Field{}, false
}

func mustV1(t *testing.T, doc string) *legacy.Doc {
	t.Helper()
	d, err := legacy.ReadV1("in.xml", []byte(doc))
	if err != nil {
		t.Fatalf("ReadV1: %v", err)
	}
	if len(d.Records) != len(d.Syntax) {
		t.Fatalf("%d records, %d syntax entries", len(d.Records), len(d.Syntax))
	}
	return d
}

func TestV1Positions(t *testing.T) {
	d := mustV1(t, "<?xml version=\"1.0\"?>\n<batch xmlns=\""+legacy.Namespace+"\">\n  <UserProfile>\n    <EmpId>1</EmpId><LoginId>a@x</LoginId>\n  </UserProfile>\n<UserProfile><EmpId>2</EmpId></UserProfile></batch>\n")
	if len(d.Records) != 2 {
		t.Fatalf("records: %+v", d.Records)
	}
	r := d.Records[0]
	if r.Type != legacy.TypeV1 || r.Line != 3 || r.Col != 3 || r.Seq != 1 {
		t.Errorf("record 1 at %d:%d type %s seq %d", r.Line, r.Col, r.Type, r.Seq)
	}
	for _, want := range []struct {
		name      string
		line, col int32
		value     string
	}{{"EmpId", 4, 5, "1"}, {"LoginId", 4, 21, "a@x"}} {
		f, ok := field(r, want.name)
		if !ok || f.Line != want.line || f.Col != want.col || f.Value != want.value {
			t.Errorf("%s: %+v, want %d:%d %q", want.name, f, want.line, want.col, want.value)
		}
	}
	if r := d.Records[1]; r.Line != 6 || r.Col != 1 || r.Seq != 2 || r.Fields[0].Col != 14 {
		t.Errorf("record 2: %+v", r)
	}
}

func TestV1Rules(t *testing.T) {
	d := mustV1(t, `<batch xmlns="`+legacy.Namespace+`" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
<UserProfile>
  <EmployeeID>10</EmployeeID>
  <FeedRecordNumber> 7 </FeedRecordNumber>
  <LoginID>old@example.com</LoginID>
  <Password>s3cret</Password>
  <LedgerKey>L1</LedgerKey>
  <LedgerName>Ledger One</LedgerName>
  <Custom1 i:nil="true">ignored</Custom1>
  <Custom2>a<b>c</b></Custom2>
  <NewEmployeeID>11</NewEmployeeID>
  <NewLoginID>new@example.com</NewLoginID>
</UserProfile>
<Comment>not a user</Comment>
<UserProfile><EmpId>12</EmpId><FeedRecordNumber>x</FeedRecordNumber><LedgerName>(L2)Ledger Two</LedgerName><NewLoginID/></UserProfile>
</batch>`)
	if len(d.Records) != 4 {
		t.Fatalf("records: %+v", d.Records)
	}
	p, idc, other, last := d.Records[0], d.Records[1], d.Records[2], d.Records[3]
	if p.Seq != 7 || idc.Seq != 7 {
		t.Errorf("FeedRecordNumber → Seq: %d, %d", p.Seq, idc.Seq)
	}
	if f, _ := field(p, "Password"); f.Value != "***" {
		t.Errorf("password kept: %q", f.Value)
	}
	if _, ok := field(p, "LedgerName"); ok {
		t.Error("LedgerName kept next to LedgerKey")
	}
	if f, _ := field(p, "Custom1"); f.Value != "" {
		t.Errorf("i:nil read as %q", f.Value)
	}
	if f, _ := field(p, "Custom2"); f.Value != "ac" {
		t.Errorf("nested text read as %q", f.Value)
	}
	if _, ok := field(p, "NewEmployeeID"); ok {
		t.Error("NewEmployeeID left in the profile")
	}
	// The profile carries the new IDs, at the positions of the New* elements.
	if f, _ := field(p, "EmployeeID"); f.Value != "11" || f.Line != 11 {
		t.Errorf("profile EmployeeID: %+v", f)
	}
	if f, _ := field(p, "LoginID"); f.Value != "new@example.com" || f.Line != 12 {
		t.Errorf("profile LoginID: %+v", f)
	}
	if idc.Type != legacy.TypeV1IDChange || idc.Line != 11 || idc.Col != 3 {
		t.Errorf("intent record: %+v", idc)
	}
	want := map[string]string{"EmployeeID": "10", "NewEmployeeID": "11", "NewLoginID": "new@example.com"}
	if len(idc.Fields) != len(want) {
		t.Errorf("intent fields: %+v", idc.Fields)
	}
	for n, v := range want {
		if f, ok := field(idc, n); !ok || f.Value != v {
			t.Errorf("intent %s: %+v", n, f)
		}
	}
	if other.Type != "<Comment>" || other.Line != 14 || len(other.Fields) != 0 {
		t.Errorf("other child: %+v", other)
	}
	// Invalid FeedRecordNumber: position as Seq, the field kept for the table
	// to reject; LedgerName alone is kept; a blank NewLoginID is no rename.
	if last.Seq != 3 || last.Type != legacy.TypeV1 {
		t.Errorf("last: %+v", last)
	}
	if f, ok := field(last, "FeedRecordNumber"); !ok || f.Value != "x" {
		t.Errorf("FeedRecordNumber: %+v", f)
	}
	if _, ok := field(last, "LedgerName"); !ok {
		t.Error("LedgerName dropped without LedgerKey")
	}
	for i, s := range d.Syntax {
		if s != nil {
			t.Errorf("record %d: %v", i, s)
		}
	}
}

func TestV1GetForm(t *testing.T) {
	d := mustV1(t, "\ufeff<UserProfile xmlns=\""+legacy.Namespace+"\"><EmpId>1</EmpId></UserProfile>\n<!-- end -->\n")
	if len(d.Records) != 1 || d.Records[0].Seq != 1 || d.Syntax[0] != nil {
		t.Fatalf("%+v %v", d.Records, d.Syntax)
	}
}

func TestV1Encodings(t *testing.T) {
	// windows-1252 declared: ü is 0xFC.
	d := mustV1(t, "<?xml version=\"1.0\" encoding=\"windows-1252\"?><UserProfile><LastName>M\xfcller</LastName></UserProfile>")
	if f, _ := field(d.Records[0], "LastName"); f.Value != "Müller" {
		t.Errorf("windows-1252: %q", f.Value)
	}
	// utf-16 declared but saved as UTF-8 (.NET).
	d = mustV1(t, "<?xml version=\"1.0\" encoding=\"utf-16\"?><UserProfile><LastName>Müller</LastName></UserProfile>")
	if f, _ := field(d.Records[0], "LastName"); f.Value != "Müller" {
		t.Errorf("utf-16 label: %q", f.Value)
	}
	// Real UTF-16LE with a BOM.
	src := "<?xml version=\"1.0\" encoding=\"utf-16\"?>\r\n<UserProfile><LastName>Müller</LastName></UserProfile>"
	b := []byte{0xFF, 0xFE}
	for _, r := range src {
		b = append(b, byte(r), byte(r>>8))
	}
	d, err := legacy.ReadV1("u16.xml", b)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := field(d.Records[0], "LastName"); f.Value != "Müller" || f.Line != 2 {
		t.Errorf("UTF-16: %+v", f)
	}
	if _, err := legacy.ReadV1("x.xml", []byte(`<?xml version="1.0" encoding="ebcdic"?><batch/>`)); err == nil || !strings.Contains(err.Error(), "ebcdic") {
		t.Errorf("unknown encoding: %v", err)
	}
}

func TestV1NotADocument(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"", "1:1: error: no root element"},
		{"  \n<UserBatch><User/></UserBatch>", "2:1: error: root element <UserBatch> is not a Users V1 <batch> or <UserProfile>; password batches"},
		{"<user-batch-result/>", "1:1: error: root element <user-batch-result>"},
		{`<batch xmlns="urn:other"/>`, `namespace "urn:other"`},
		{"hello <batch/>", "text before the root element"},
		{"<batch", "1:7: error: not a readable Users V1 document"},
	} {
		_, err := legacy.ReadV1("f.xml", []byte(c.doc))
		var d source.Diagnostic
		if !errors.As(err, &d) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "f.xml:") {
			t.Errorf("%q: %v, want %q", c.doc, err, c.want)
		}
	}
}

// A syntax error ends the reading; what came before converts.
func TestV1SyntaxError(t *testing.T) {
	d := mustV1(t, "<batch>\n<UserProfile><EmpId>1</EmpId></UserProfile>\n<UserProfile><EmpId>2</EmpId>\n<FirstName>A</Firstname>\n</UserProfile></batch>")
	if len(d.Records) != 2 || d.Syntax[0] != nil || d.Syntax[1] == nil {
		t.Fatalf("%+v %v", d.Records, d.Syntax)
	}
	s := d.Syntax[1]
	if s.Line != 4 || s.Col < 2 || !strings.Contains(s.Msg, "XML syntax error") || d.Records[1].Line != 3 {
		t.Errorf("syntax: %v (record at line %d)", s, d.Records[1].Line)
	}
	if f, _ := field(d.Records[1], "EmpId"); f.Value != "2" {
		t.Errorf("partial record: %+v", d.Records[1])
	}
	// Truncated file, and content after the root.
	d = mustV1(t, "<batch><UserProfile><EmpId>1</EmpId>")
	if len(d.Records) != 1 || d.Syntax[0] == nil {
		t.Errorf("truncated: %+v %v", d.Records, d.Syntax)
	}
	d = mustV1(t, "<batch><UserProfile/></batch>\n<batch/>")
	if len(d.Records) != 2 || d.Syntax[1] == nil || d.Syntax[1].Line != 2 || !strings.Contains(d.Syntax[1].Msg, "after the end of the root element") {
		t.Errorf("trailer: %+v %v", d.Records, d.Syntax)
	}
}
