package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scimigrate/batcher/plan"
	"scimigrate/fixtures/gen"
	"scimigrate/upsim"
)

// TestApplyAgainstSimulatorWithFaults runs the built CLI against the UPS
// simulator on loopback with faults switched on (429 with Retry-After, 5xx,
// slow answers, dropped connections after acceptance, token expiry), then
// runs the same command again: the journal resumes and nothing is sent twice.
func TestApplyAgainstSimulatorWithFaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "employees.txt")
	f, _ := os.Create(in)
	if err := gen.Write(f, gen.Options{Rows: 60, Seed: 7, Mix: true}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	const token = "s3cr3t-static-token"
	sim := upsim.NewServer(upsim.Options{Seed: 3, AccessToken: token, CompletionDelay: 50 * time.Millisecond, PageSize: 7,
		Faults: upsim.Faults{RateLimit: 0.1, Unavailable: 0.08, Slow: 0.05, SlowDelay: 20 * time.Millisecond, DropAfterAccept: 0.1, ExpireTokens: 0.05, MaxFaults: 25}})
	defer sim.Close()
	journal := filepath.Join(dir, "journal.db")
	args := []string{"apply", "--base-url", sim.URL(), "--create-only", "--journal", journal, "--poll-interval", "20ms",
		"--concurrency", "3", "--company-id", "c0ffee00-0000-0000-0000-000000000001", in}
	env := map[string]string{"SCIMIGRATE_ACCESS_TOKEN": token}
	run := func() result { return runAt(t, ".", env, args...) }
	r := run()
	if r.code != 0 {
		t.Fatalf("apply exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "60 operations: ") || !strings.Contains(r.stderr, "0 partly applied, 0 failed") {
		t.Errorf("summary:\n%s", r.stderr)
	}
	// Every employee exactly once.
	seen := map[string]int{}
	for _, u := range sim.Users() {
		var v struct {
			Ent struct {
				EmployeeNumber string `json:"employeeNumber"`
			} `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
		}
		json.Unmarshal(u, &v)
		seen[v.Ent.EmployeeNumber]++
	}
	if len(seen) != 60 {
		t.Errorf("%d distinct employees in the tenant, want 60", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("employee %s created %d times", k, n)
		}
	}
	if st := sim.Stats(); st.FaultsInjected == 0 {
		t.Errorf("no faults were injected: %+v", st)
	}
	// The report: one row per source record, 0600.
	rep := journal + ".report.csv"
	st, err := os.Stat(rep)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("report %v %v", st, err)
	}
	rows, _ := csv.NewReader(mustOpen(t, rep)).ReadAll()
	if want := countRecords(t, in); len(rows)-1 != want {
		t.Errorf("report has %d rows, input has %d records", len(rows)-1, want)
	}
	// Secrets never reach logs, journal or report.
	for name, data := range map[string]string{"stderr": r.stderr, "report": readFile(t, rep), "journal": readFile(t, journal)} {
		if strings.Contains(data, token) {
			t.Errorf("the access token appears in the %s", name)
		}
	}
	// Same command again: resumes, sends nothing, still succeeds.
	before := sim.Stats().BulkReceived
	r = run()
	if r.code != 0 || sim.Stats().BulkReceived != before {
		t.Errorf("re-run: exit %d, %d new Bulk requests\n%s", r.code, sim.Stats().BulkReceived-before, r.stderr)
	}
	// status and report commands read the journal.
	r = runCLI(t, ".", "status", "--journal", journal)
	if r.code != 0 || !strings.Contains(r.stdout, "60") {
		t.Errorf("status: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, ".", "report", "--journal", journal, "--format", "json")
	var js []map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &js) != nil || len(js) == 0 {
		t.Errorf("report json: %d %s", r.code, r.stderr)
	}
}

func TestApplyUsage(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"apply", "x.txt"}, "--base-url URL (or the --token-file of 'scimigrate login') is required"},
		{[]string{"apply", "--base-url", "http://127.0.0.1:1", "x.txt"}, "x.txt"},
	} {
		r := runCLI(t, ".", tt.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d\n%s", tt.args, r.code, r.stderr)
		}
	}
}

func mustOpen(t *testing.T, p string) *os.File {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readFile(t *testing.T, p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// countRecords counts the records that end in a user (everything but the 100).
func countRecords(t *testing.T, p string) int {
	n := 0
	for _, l := range strings.Split(readFile(t, p), "\n") {
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "100,") {
			n++
		}
	}
	return n
}

// TestReportListsRejectedRecords: records the conversion or the plan
// rejected, or that --create-only cannot apply, are kept in the journal on
// every apply path (--create-only, planned, saved plan), so a later report
// accounts for every input record, sent or not.
func TestReportListsRejectedRecords(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"create-only", "planned", "saved"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			sim := upsim.NewServer(upsim.Options{Seed: 1, AccessToken: "tok", CompletionDelay: time.Millisecond})
			defer sim.Close()
			env := map[string]string{"SCIMIGRATE_ACCESS_TOKEN": "tok"}
			dir := t.TempDir()
			journal := filepath.Join(dir, "j.db")
			args := []string{"apply", "--base-url", sim.URL(), "--journal", journal, "--poll-interval", "10ms"}
			switch mode {
			case "create-only":
				args = append(args, "--create-only", "--config", "config.yaml", "sample.txt")
			case "planned":
				args = append(args, "--config", "config.yaml", "sample.txt")
			case "saved":
				planDir := filepath.Join(dir, "plan")
				r := runAt(t, "../../fixtures/flat", env, "plan", "--config", "config.yaml", "--base-url", sim.URL(), "--out", planDir, "sample.txt")
				if r.code != 1 {
					t.Fatalf("plan exit %d (want 1)\n%s", r.code, r.stderr)
				}
				// The sign-off document lists them too.
				if page := readFile(t, filepath.Join(planDir, plan.HTMLFile)); !strings.Contains(page, "record type 360 (Invoice Employee Import) is not supported") {
					t.Errorf("plan.html does not list the 360 record as not converted")
				}
				args = append(args, planDir)
			}
			r := runAt(t, "../../fixtures/flat", env, args...)
			if r.code != 1 {
				t.Fatalf("apply exit %d (want 1)\n%s", r.code, r.stderr)
			}
			r = runCLI(t, ".", "report", "--journal", journal, "--format", "json")
			var rows []struct {
				File    string `json:"file"`
				Line    int    `json:"line"`
				Outcome string `json:"outcome"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
				t.Fatalf("report: %v\n%s", err, r.stdout)
			}
			got := map[int]string{}
			for _, row := range rows {
				got[row.Line] = row.Outcome
			}
			// Line 5: employee 1004 fails validation; 13: update-only; 17: a
			// 320; 14 and 15: record types that are not supported (360, 700).
			for _, line := range []int{5, 13, 14, 15, 17} {
				if got[line] != "rejected" {
					t.Errorf("line %d: outcome %q, want rejected (rows %+v)", line, got[line], rows)
				}
			}
			for _, row := range rows {
				if (row.Line == 14 || row.Line == 15) && !strings.Contains(row.Message, "is not supported: not converted") {
					t.Errorf("line %d: message %q, want why it is not converted", row.Line, row.Message)
				}
			}
			if got[2] != "success" {
				t.Errorf("line 2: outcome %q", got[2])
			}
			// Every record but the 100 has a row: nothing is left out.
			if want := countRecords(t, "../../fixtures/flat/sample.txt"); len(got) != want {
				t.Errorf("report rows for %d lines, want %d: %+v", len(got), want, rows)
			}
		})
	}
}
