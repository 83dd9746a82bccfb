package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scimigrate/upsim"
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
	if !strings.Contains(r.stderr, "not converted (the run stopped before them)") || !strings.Contains(r.stderr, ": fatal input error: no-settings.txt:1") {
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
	s, env := seededSim(t)
	snap := filepath.Join(t.TempDir(), "snap.ndjson")
	r := runAt(t, planFixtures, env, "export", "--base-url", s.URL(), "-o", snap, "update.txt")
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

// TestOversizeInput: a line over the record bound is one error and the
// next record converts; a quoted field that runs over the bound across
// 10,001 lines does not flood stderr (each cause is echoed at most 20
// times), while the summary counts every rejected record.
func TestOversizeInput(t *testing.T) {
	const head = "100,0,SSO,UPDATE,EN,N,N\n"
	const ok305 = "305,Bo,,Kim,E2,bo@example.com,,bo@example.com,en_US,US,,DEFAULT,USD,,Y\n"
	var b strings.Builder
	b.WriteString(head)
	b.WriteString("305,Al,,Di,E1,al@example.com,,al@example.com,en_US,US,,DEFAULT,USD,,Y,," + strings.Repeat("x", 3<<20) + "\n")
	b.WriteString(ok305)
	b.WriteString("350,E2,,,,,,,,\"Notes: ")
	for i := 0; i < 10001; i++ {
		b.WriteString("line of a very long quoted note that goes on and on, as some HR exports do, with ,commas, too, and more words to pass the bound\n")
	}
	b.WriteString("end of note\"\n")
	in := writeTemp(t, "big.txt", b.String())
	r := runCLI(t, ".", "validate", "--company-id", "11111111-2222-3333-4444-555555555555", in)
	if r.code != exitRejected {
		t.Fatalf("exit %d\n%.3000s", r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, "\n"); n > 80 {
		t.Errorf("stderr has %d lines:\n%.3000s", n, r.stderr)
	}
	for _, want := range []string{
		"big.txt:2:1: error: the record is 3145800 bytes, over the bound of 1048576 bytes per record; it is rejected and reading goes on with the next record",
		"big.txt:4:15: error: Job Title (column 10): quoted field is not closed (bad quoting)",
		"more error(s) of rule record-type, from here on, not shown (the summary counts them)",
		"users emitted:       1 to create",
		"10003 rejected",
		"records read:        10005 (100×1, 305×2, 350×1, ?×10001) from 1 file(s)",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestApplyWithAStrayQuote: a stray quote in a column after the employee
// ID used to make the whole conversion fatal, so apply sent nothing. Now
// that record is rejected, the others are created, and the report has a
// row for every record, the rejected one with its reason.
func TestApplyWithAStrayQuote(t *testing.T) {
	dir := t.TempDir()
	in := writeTemp(t, "employees.txt", "100,0,SSO,UPDATE,EN,N,N\n"+
		"305,Ann,,Lee,E1,ann@example.com,,ann@example.com,en_US,US,,DEFAULT,USD,,Y\n"+
		"350,E1,,,,,,,,,+1 206 ab\"cd\n"+
		"305,Bo,,Kim,E2,bo@example.com,,bo@example.com,en_US,US,,DEFAULT,USD,,Y\n")
	const token = "stray-quote-token"
	sim := upsim.NewServer(upsim.Options{Seed: 1, AccessToken: token})
	defer sim.Close()
	journal := filepath.Join(dir, "journal.db")
	r := runCLICtx(t.Context(), t, ".", nil, map[string]string{"SCIMIGRATE_ACCESS_TOKEN": token}, "apply", "--base-url", sim.URL(), "--create-only", "--journal", journal, "--poll-interval", "20ms",
		"--company-id", "c0ffee00-0000-0000-0000-000000000001", in)
	if r.code != exitRejected {
		t.Fatalf("exit %d, want %d\n%s", r.code, exitRejected, r.stderr)
	}
	if !strings.Contains(r.stderr, "employees.txt:3:25: error: Work Phone (column 11): a quote inside an unquoted field") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if n := len(sim.Users()); n != 2 {
		t.Errorf("%d users created, want 2 (E1 without its 350, E2)\n%s", n, r.stderr)
	}
	rep := readFile(t, journal+".report.csv")
	if !strings.Contains(rep, "a quote inside an unquoted field") || strings.Count(strings.TrimSpace(rep), "\n") != 3 {
		t.Errorf("report:\n%s", rep)
	}
}

// TestUpdateOnlyWarningsAreCapped: the per-employee warning for records
// without an identity record goes through the same per-cause cap.
func TestUpdateOnlyWarningsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("100,0,SSO,UPDATE,EN,N,N\n")
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&b, "350,E%d,,,,,,,,Clerk\n", i)
	}
	in := writeTemp(t, "updates.txt", b.String())
	r := runCLI(t, ".", "convert", "--max-diagnostics", "5", in)
	if n := strings.Count(r.stderr, "has no identity record"); n != 5 {
		t.Errorf("%d update-only warnings shown, want 5:\n%s", n, r.stderr)
	}
	if !strings.Contains(r.stderr, "… and 25 more warning(s) of this kind") {
		t.Errorf("no '… and 25 more' line:\n%s", r.stderr)
	}
}
