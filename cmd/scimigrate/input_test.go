package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input at the command line (issue 10).

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFatalInputHasNoInternalError: a fatal input error ends with the error
// and a summary that accounts for the records read, not an INTERNAL ERROR.
func TestFatalInputHasNoInternalError(t *testing.T) {
	r := runCLI(t, "../../fixtures/flat", "convert", "--config", "config.yaml", "sample.txt", "no-settings.txt")
	if r.code != exitUsage {
		t.Fatalf("exit %d, want %d\n%s", r.code, exitUsage, r.stderr)
	}
	if strings.Contains(r.stderr, "INTERNAL ERROR") {
		t.Errorf("stderr has an INTERNAL ERROR line:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "not converted (a fatal error stopped the run)") || !strings.Contains(r.stderr, "scimigrate: fatal input error") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

func TestStdinTwiceIsAUsageError(t *testing.T) {
	for _, cmd := range []string{"convert", "validate"} {
		r := runCLI(t, ".", cmd, "-", "-")
		if r.code != exitUsage || !strings.Contains(r.stderr, "standard input (-) is named more than once") {
			t.Errorf("%s - -: exit %d\n%s", cmd, r.code, r.stderr)
		}
	}
}

// TestExportWithoutCompanyID: export reads the employees the input names;
// without a company ID the users to create would fail validation, which
// used to leave nothing to look up: an empty snapshot and exit 0.
func TestExportWithoutCompanyID(t *testing.T) {
	s := seededSim(t)
	snap := filepath.Join(t.TempDir(), "snap.ndjson")
	r := runCLI(t, planFixtures, "export", "--base-url", s.URL(), "-o", snap, "update.txt")
	if r.code != 0 || !strings.Contains(r.stderr, "saved 3 user(s)") {
		t.Fatalf("export: exit %d\n%s", r.code, r.stderr)
	}
	data, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range []string{`"1001"`, `"1002"`, `"1003"`} {
		if !strings.Contains(string(data), en) {
			t.Errorf("snapshot lacks employee %s:\n%s", en, data)
		}
	}
}

// TestEncodingFlag: a Windows-1252 file is rejected record by record with
// a hint when undeclared, and decoded with --encoding windows-1252.
func TestEncodingFlag(t *testing.T) {
	in := writeTemp(t, "cp1252.txt", "100,0,SSO,UPDATE,EN,N,N\n305,J\xfcrgen,,M\xfcller,E2,j@example.com,,j@example.com,de_DE,DE,,DEFAULT,EUR,,Y\n")
	r := runCLI(t, ".", "convert", "--company-id", "11111111-2222-3333-4444-555555555555", in)
	if r.code != exitRejected || strings.Contains(r.stdout, "\ufffd") ||
		!strings.Contains(r.stderr, "cp1252.txt:2:6: error: First Name (column 2): byte 0xFC is not UTF-8") ||
		!strings.Contains(r.stderr, "if it is, run again with --encoding windows-1252") {
		t.Fatalf("undeclared: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, ".", "convert", "--company-id", "11111111-2222-3333-4444-555555555555", "--encoding", "windows-1252", in)
	if r.code != exitOK || !strings.Contains(r.stdout, `"givenName":"Jürgen"`) || !strings.Contains(r.stdout, `"familyName":"Müller"`) {
		t.Fatalf("declared: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, ".", "validate", "--encoding", "ebcdic", in)
	if r.code != exitUsage || !strings.Contains(r.stderr, `unknown encoding "ebcdic"`) {
		t.Fatalf("unknown encoding: exit %d\n%s", r.code, r.stderr)
	}
}
