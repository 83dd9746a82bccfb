package converter_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scimigrate/converter"
	"scimigrate/converter/source"
)

// FuzzConvert feeds arbitrary files through the whole conversion: it must
// not panic, every diagnostic must point inside the file, and every record
// read must be accounted for (converted, update, intent, rejected,
// unsupported or settings) unless the input is fatal.
func FuzzConvert(f *testing.F) {
	sample, _ := os.ReadFile("../fixtures/flat/sample.txt")
	errs, _ := os.ReadFile("../fixtures/flat/errors.txt")
	f.Add(string(sample))
	f.Add(string(errs))
	f.Add("100,0,SSO,UPDATE,EN,N,N\n305,a,,b,E1,a@x\n350,E1\n500,E1,E2,EXP,Y\n320,E1,E3\n")
	f.Add("100,0,SSO,UPDATE,EN,N,N\n400,E9,\"A,B\"\n999\n\"\n")
	// Issue 12: date ranges, gates, refused segments, dropped values.
	f.Add("100,0,SSO,UPDATE,EN,N,N\n305,a,,b,E1,a@x,,a@x,en_US,US,GB-LND,D,USD,,Y\n500,E1,E2,EXP,,,,Y,2026-03-05,2026-03-01\n550,E1,E3,EXP,,,,X,,2026-01-01\n500,E1,E4,EXP,,,,Y\n400,E1,EXP_USER,RD\n400,E1,EXP_APPROVER,RD\n350,E1,,,,,,,,,,,42\n")
	f.Add("100,0,SSO,UPDATE,EN,N,N\n305,a,,b,E1,a@x\n350,E1,,,,,,,,,ab\"cd\n320,E1,E2,,,,,x\"y\n")
	f.Add("100,0,SSO,UPDATE,EN,N,N\n305,J\xfcrgen,,b,E1,a@x\n350,E1,,,,,,,,\"T\x00\"\n305,a,,b,E\x002,a@x\n")
	f.Add("100,0,SSO,UPDATE,EN,N,N\n305,a,,b,E1,a@x\n350,E1,,,,,,,,\"open\nline,of text\n\"\"\n")
	set, err := converter.LoadMappings("", nil)
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in string) {
		path := filepath.Join(dir, "in.txt")
		if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
			t.Fatal(err)
		}
		// Inputs of odd length are read as declared Windows-1252, so the
		// decoding path is fuzzed too.
		enc := ""
		if len(in)%2 == 1 {
			enc = "windows-1252"
		}
		inputs, err := converter.OpenInputsWith([]string{path}, nil, converter.OpenOptions{Format: "flat", Encoding: enc})
		if err != nil {
			t.Skip(err)
		}
		defer inputs[0].Close()
		lines := strings.Count(in, "\n") + 1
		st, err := converter.Run(context.Background(), inputs, converter.Options{
			Set: set, Workers: 2, Validate: converter.ValidateSchema,
			Emit: func(r *converter.Result) error {
				if strings.Contains(string(r.JSON), `\u0000`) || !strings.Contains(in, "\ufffd") && strings.Contains(string(r.JSON), "\ufffd") {
					t.Fatalf("a value that is not text was sent: %s", r.JSON)
				}
				return nil
			},
			Diag: func(d source.Diagnostic) {
				if d.File != path || d.Line < 1 || d.Line > lines || d.Col < 1 {
					t.Fatalf("diagnostic outside the input: %+v", d)
				}
			},
		})
		if err != nil {
			// Only a file that does not open with a readable 100 record
			// stops the run; a bad record later is rejected on its own.
			if !errors.Is(err, converter.ErrFatal) || !strings.Contains(err.Error(), "100") {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if st.Accounted() != st.Total() {
			t.Fatalf("%d records read, %d accounted for: %+v", st.Total(), st.Accounted(), st)
		}
	})
}
