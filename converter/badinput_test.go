package converter_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scimigrate/converter"
)

// Records of the tests below (column counts as the tables want them).
const (
	settings100 = "100,0,SSO,UPDATE,EN,N,N\n"
	rec305E1    = "305,Ann,,Lee,E1,ann@example.com,,ann@example.com,en_US,US,,DEFAULT,USD,,Y\n"
	rec305E2    = "305,Bo,,Kim,E2,bo@example.com,,bo@example.com,en_US,US,,DEFAULT,USD,,Y\n"
)

func writeInput(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// cols returns a record of n columns: typ, then vals at their 1-based
// column numbers, blank elsewhere.
func cols(n int, vals map[int]string) string {
	f := make([]string, n)
	for c, v := range vals {
		f[c-1] = v
	}
	return strings.Join(f, ",") + "\n"
}

// TestStrayQuoteRejectsTheRecord: a quoting error in a column that pass 1
// does not parse (after the employee ID) rejects that record in pass 2,
// naming file, line, column and the table's field name; the run goes on and
// every record is accounted for.
func TestStrayQuoteRejectsTheRecord(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantDiag string
		emitted  int
		rejected int
	}{
		{"350 column 11", settings100 + rec305E1 + cols(67, map[int]string{1: "350", 2: "E1", 11: `ab"cd`}) + rec305E2,
			`:3:18: error: Work Phone (column 11): a quote inside an unquoted field`, 2, 1},
		{"305 column 21", settings100 + rec305E1 + cols(137, map[int]string{1: "305", 2: "Al", 4: "Di", 5: "E3", 6: "al@example.com", 8: "al@example.com", 21: `ab"cd`}) + rec305E2,
			`:3:60: error: Organizational Unit 6 (column 21): a quote inside an unquoted field`, 2, 1},
		{"320 column 8", settings100 + rec305E1 + cols(9, map[int]string{1: "320", 2: "E1", 3: "E9", 8: `x"y`}) + rec305E2,
			`:3:16: error: Future Use 4 (column 8): a quote inside an unquoted field`, 2, 1},
		{"350 unexpected text after a closing quote", settings100 + rec305E1 + cols(67, map[int]string{1: "350", 2: "E1", 10: `"Boss"x`}) + rec305E2,
			`:3:21: error: Job Title (column 10): unexpected 'x' after a closing quote`, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeInput(t, "in.txt", tt.in)
			_, diags, st, err := convertFiles(t, "../fixtures/flat/config.yaml", path)
			if err != nil {
				t.Fatalf("fatal: %v\n%s", err, diags)
			}
			if !strings.Contains(diags, path+tt.wantDiag) {
				t.Errorf("diagnostics lack %q:\n%s", path+tt.wantDiag, diags)
			}
			if st.UsersEmitted != tt.emitted || st.RecordsRejected != tt.rejected {
				t.Errorf("emitted %d users, rejected %d records; want %d, %d\n%s", st.UsersEmitted, st.RecordsRejected, tt.emitted, tt.rejected, diags)
			}
			if st.Accounted() != st.Total() {
				t.Errorf("%d records read, %d accounted for", st.Total(), st.Accounted())
			}
		})
	}
}

func TestStdinTwiceIsAUsageError(t *testing.T) {
	_, err := converter.OpenInputs([]string{"-", "-"}, strings.NewReader(settings100+rec305E1))
	if !errors.Is(err, converter.ErrUsage) || !strings.Contains(err.Error(), "standard input (-) is named more than once") {
		t.Fatalf("err = %v, want a usage error about - given twice", err)
	}
}

// TestSettingsRecordWidth: the 100 record is read like the others (pass 1
// parses only its first columns): a wider one is an error, and a file
// without a valid 100 record is not converted.
func TestSettingsRecordWidth(t *testing.T) {
	for _, tt := range []struct{ first, want string }{
		{"100,0,SSO,UPDATE,EN,N,N,extra\n", ":1:25: error: column 8: the 100 record has 8 columns; it must have 7"},
		{"100,0,SSO,UPDATE,EN,N,N,,,\n", ":1:25: error: column 8: the 100 record has 10 columns; it must have 7"},
		{"100,0,SSO,UPDATE,EN,N\n", ":1:21: error: column 6: the 100 record has 6 columns; it must have 7"},
	} {
		path := writeInput(t, "in.txt", tt.first+rec305E1)
		_, diags, _, err := convertFiles(t, "../fixtures/flat/config.yaml", path)
		if !errors.Is(err, converter.ErrFatal) {
			t.Errorf("%q: err = %v, want ErrFatal", tt.first, err)
		}
		if !strings.Contains(diags, path+tt.want) {
			t.Errorf("%q: diagnostics lack %q:\n%s", tt.first, tt.want, diags)
		}
	}
}

// TestTextInFlatFiles: a value that is not text (NUL, control character,
// bytes that are not UTF-8) rejects its record with file, line, column and
// field; never replaced by U+FFFD nor sent as \u0000. A declared
// Windows-1252 file is decoded.
func TestTextInFlatFiles(t *testing.T) {
	tests := []struct {
		name, enc string
		rec       string // the third line, after the 100 and E1's 305
		wantDiag  string // "" = no error
		wantJSON  string
	}{
		{"windows-1252 undeclared", "", "305,J\xfcrgen,,M\xfcller,E2,j@example.com,,j@example.com,de_DE,DE,,DEFAULT,EUR,,Y\n",
			`:3:6: error: First Name (column 2): byte 0xFC is not UTF-8 (not text); read as Windows-1252 it is "Jürgen": if the file is Windows-1252, declare it with --encoding windows-1252`, ""},
		{"windows-1252 declared", "windows-1252", "305,J\xfcrgen,,M\xfcller,E2,j@example.com,,j@example.com,de_DE,DE,,DEFAULT,EUR,,Y\n",
			"", `"givenName":"Jürgen"`},
		{"latin1 declared", "latin1", "305,J\xfcrgen,,M\xfcller \x80,E2,j@example.com,,j@example.com,de_DE,DE,,DEFAULT,EUR,,Y\n",
			"", `"familyName":"Müller €"`},
		{"utf-8 stays utf-8", "", "305,Jürgen,,Müller,E2,j@example.com,,j@example.com,de_DE,DE,,DEFAULT,EUR,,Y\n",
			"", `"givenName":"Jürgen"`},
		{"byte undefined in windows-1252", "windows-1252", "305,J\x81rgen,,M,E2,j@example.com,,j@example.com,de_DE,DE,,DEFAULT,EUR,,Y\n",
			`:3:6: error: First Name (column 2): byte 0x81 is not a character in windows-1252 (not text)`, ""},
		{"NUL in pass 1 columns", "", "305,Jo\x00,,M,E2,j@example.com,,j@example.com,de_DE,DE,,DEFAULT,EUR,,Y\n",
			`:3:7: error: First Name (column 2): a NUL byte (0x00) is not text`, ""},
		{"NUL in a quoted value after the key", "", cols(67, map[int]string{1: "350", 2: "E1", 10: "\"Boss\x00\""}),
			`:3:20: error: Job Title (column 10): a NUL byte (0x00) is not text`, ""},
		{"control character", "", cols(67, map[int]string{1: "350", 2: "E1", 10: "Bo\x01ss"}),
			`:3:17: error: Job Title (column 10): control character 0x01 is not text`, ""},
		{"truncated UTF-8 sequence", "", cols(67, map[int]string{1: "350", 2: "E1", 10: "Bo\xc3"}),
			`:3:17: error: Job Title (column 10): byte 0xC3 is not UTF-8 (not text)`, ""},
		{"tab is text", "", cols(67, map[int]string{1: "350", 2: "E1", 10: "Head\tof"}), "", `"title":"Head\tof"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeInput(t, "in.txt", settings100+rec305E1+tt.rec)
			out, diags, st, err := convertFilesWith(t, "../fixtures/flat/config.yaml", converter.OpenOptions{Encoding: tt.enc}, path)
			if err != nil {
				t.Fatalf("fatal: %v\n%s", err, diags)
			}
			if strings.Contains(out, `\u0000`) || strings.Contains(out, "\ufffd") {
				t.Errorf("output holds NUL or U+FFFD:\n%s", out)
			}
			if tt.wantDiag == "" {
				if st.Errors > 0 {
					t.Errorf("unexpected errors:\n%s", diags)
				}
				if !strings.Contains(out, tt.wantJSON) {
					t.Errorf("output lacks %s:\n%s", tt.wantJSON, out)
				}
			} else {
				if !strings.Contains(diags, path+tt.wantDiag) {
					t.Errorf("diagnostics lack %q:\n%s", path+tt.wantDiag, diags)
				}
				if st.RecordsRejected != 1 {
					t.Errorf("%d records rejected, want 1", st.RecordsRejected)
				}
				hint := strings.Contains(tt.wantDiag, "read as Windows-1252")
				if got := strings.Contains(diags, ":3:6: warning: 1 record(s) of this file, the first here, hold bytes that are not UTF-8 but read as Windows-1252 text: the file looks like Windows-1252; if it is, run again with --encoding windows-1252"); got != hint {
					t.Errorf("file warning given: %v, want %v\n%s", got, hint, diags)
				}
			}
			if st.Accounted() != st.Total() {
				t.Errorf("%d records read, %d accounted for", st.Total(), st.Accounted())
			}
		})
	}
}

// TestDeclaredEncodingOnUTF8: --encoding windows-1252 on a file that is
// UTF-8 would garble every accented name; the records are read as declared
// but one warning says the file looks like UTF-8.
func TestDeclaredEncodingOnUTF8(t *testing.T) {
	path := writeInput(t, "in.txt", settings100+rec305E1+"305,Jürgen,,Müller,E2,j@example.com,,j@example.com,de_DE,DE,,DEFAULT,EUR,,Y\n")
	_, diags, st, err := convertFilesWith(t, "../fixtures/flat/config.yaml", converter.OpenOptions{Encoding: "windows-1252"}, path)
	if err != nil {
		t.Fatal(err)
	}
	want := path + `:3:1: warning: 1 record(s), the first here, look like UTF-8 (windows-1252 reads "Jürgen" as "JÃ¼rgen"): if the file is UTF-8, run without --encoding`
	if !strings.Contains(diags, want+"\n") || st.Errors != 0 {
		t.Errorf("diagnostics lack %q:\n%s", want, diags)
	}
	// Not for a Windows-1252 file, nor without --encoding.
	path = writeInput(t, "in.txt", settings100+rec305E1+"305,J\xfcrgen,,M\xfcller,E2,j@example.com,,j@example.com,de_DE,DE,,DEFAULT,EUR,,Y\n")
	_, diags, _, _ = convertFilesWith(t, "../fixtures/flat/config.yaml", converter.OpenOptions{Encoding: "windows-1252"}, path)
	if strings.Contains(diags, "look like UTF-8") {
		t.Errorf("warning on a Windows-1252 file:\n%s", diags)
	}
}
