package legacy_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"scimigrate/converter"
	"scimigrate/converter/legacy"
	"scimigrate/converter/source"
)

func addSeeds(f *testing.F, files ...string) {
	for _, p := range files {
		data, err := os.ReadFile(root + p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// checkText: a value is text, or its record is rejected.
func checkText(t *testing.T, doc *legacy.Doc) {
	if doc == nil {
		return
	}
	for i, r := range doc.Records {
		for _, fl := range r.Fields {
			if doc.Syntax[i] == nil && (!utf8.ValidString(fl.Value) || strings.IndexByte(fl.Value, 0) >= 0) {
				t.Fatalf("record %d: field %s = %q is not text", i, fl.Name, fl.Value)
			}
		}
	}
}

// checkDoc: no panic; an error is a positioned diagnostic; every record,
// field and syntax diagnostic has a position.
func checkDoc(t *testing.T, doc *legacy.Doc, err error) {
	if err != nil {
		var d source.Diagnostic
		if !errors.As(err, &d) || d.Line < 1 || d.Col < 1 || d.File == "" {
			t.Fatalf("error without a position: %v", err)
		}
		if doc != nil {
			t.Fatal("a document and an error")
		}
		return
	}
	if len(doc.Records) != len(doc.Syntax) {
		t.Fatalf("%d records, %d syntax entries", len(doc.Records), len(doc.Syntax))
	}
	for i, r := range doc.Records {
		if r.Line < 1 || r.Col < 1 || r.Type == "" || r.File == "" {
			t.Fatalf("record %d without a position or type: %+v", i, r)
		}
		for _, f := range r.Fields {
			if f.Line < 1 || f.Col < 1 {
				t.Fatalf("record %d: field %q without a position", i, f.Name)
			}
		}
		if s := doc.Syntax[i]; s != nil && (s.Line < 1 || s.Col < 1 || s.Msg == "") {
			t.Fatalf("record %d: syntax diagnostic without a position: %+v", i, s)
		}
	}
}

func FuzzReadV1(f *testing.F) {
	addSeeds(f, "fixtures/v1/batch.xml", "fixtures/v1/get-user.xml", "fixtures/v1/equivalent.xml")
	f.Add([]byte(`<batch><UserProfile><EmpId>1</EmpId><NewEmployeeID>2</NewEmployeeID></UserProfile><X/></batch>`))
	f.Add([]byte("<batch><UserProfile><EmpId>1</EmpId><FirstName>J\xfcrgen</FirstName></UserProfile><UserProfile><EmpId>2\x00</EmpId></UserProfile></batch>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := legacy.ReadV1("f.xml", data)
		checkDoc(t, doc, err)
		checkText(t, doc)
		legacy.Sniff(data)
	})
}

func FuzzReadV3(f *testing.F) {
	addSeeds(f, "fixtures/v3/v30-users-page1.json", "fixtures/v3/v31-users-page1.json", "fixtures/v3/v31-users-page2.json")
	f.Add([]byte(`{"Items": [{"EmployeeID": 1, "Emails": ["a", 2, null], "X": {"y": [1]}}, 3], "offset": 5}`))
	f.Add([]byte("{\"Items\": [{\"EmployeeID\": \"1\", \"FirstName\": \"J\xfcrgen\"}, {\"EmployeeID\": \"2\\u0000\"}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := legacy.ReadV3("f.json", data)
		checkDoc(t, doc, err)
		checkText(t, doc)
		legacy.Sniff(data)
	})
}

// FuzzConvertLegacy drives sniffing, both readers and the pipeline: no panic,
// every diagnostic inside the input, every record accounted for.
func FuzzConvertLegacy(f *testing.F) {
	addSeeds(f, "fixtures/v1/batch.xml", "fixtures/v1/get-user.xml", "fixtures/v3/v31-users-page2.json", "fixtures/v3/v30-users-page1.json")
	set, err := converter.LoadMappings("", nil)
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "in")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		inputs, err := converter.OpenInputs([]string{path}, nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), path+":") {
				t.Fatalf("error not naming the file: %v", err)
			}
			return
		}
		defer inputs[0].Close()
		if inputs[0].Format() == "flat" {
			return
		}
		lines := bytes.Count(legacy.Normalize(data), []byte("\n")) + 1
		st, err := converter.Run(context.Background(), inputs, converter.Options{
			Set: set, Workers: 2, Validate: converter.ValidateSchema,
			Emit:   func(*converter.Result) error { return nil },
			Intent: func(*converter.Intent) error { return nil },
			Diag: func(d source.Diagnostic) {
				if d.File != path || d.Line < 1 || d.Line > lines || d.Col < 1 {
					t.Fatalf("diagnostic outside the input: %+v", d)
				}
			},
		})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if st.Accounted() != st.Total() {
			t.Fatalf("%d records read, %d accounted for", st.Total(), st.Accounted())
		}
	})
}
