package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scimigrate/batcher/plan"
	"scimigrate/fixtures/gen"
	"scimigrate/upsim"
)

const planFixtures = "../../fixtures/plan"

// goldenPlan reads a golden human plan without its diagnostics section
// (diagnostics go to stderr).
func goldenPlan(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(planFixtures, "golden", name, "plan.txt"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.HasPrefix(s, "# diagnostics\n") {
		_, s, _ = strings.Cut(s, "\n\n")
	}
	return s
}

// TestPlanCommandGolden runs `scimigrate plan --snapshot` on the fixture
// cases: stdout is the golden plan, --out writes plan.json and the golden
// Bulk bodies, which load back.
func TestPlanCommandGolden(t *testing.T) {
	t.Parallel()
	var env map[string]string // the process's
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"create", []string{"create.txt"}, 2},
		{"update", []string{"update.txt"}, 1}, // employee 9999 is rejected
		{"remove", []string{"remove.txt"}, 2},
		{"idchange", []string{"idchange-320.txt", "idchange-305.txt"}, 2},
		{"idchange-only", []string{"idchange-320.txt"}, 2},
		{"replace", []string{"replace.txt"}, 2},
		{"replace-override", []string{"--existing", "REPLACE", "remove.txt"}, 2},
		{"deactivate", []string{"--deactivate-missing", "--max-deactivate", "1", "--termination-date", "2026-05-04", "deactivate.txt"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			args := append([]string{"plan", "--config", "config.yaml", "--snapshot", "snapshot.ndjson", "--detailed-exitcode", "--out", out}, c.args...)
			r := runAt(t, planFixtures, env, args...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, c.code, r.stderr)
			}
			if want := goldenPlan(t, c.name); r.stdout != want {
				t.Errorf("stdout differs from golden/%s/plan.txt:\n%s", c.name, r.stdout)
			}
			if strings.Contains(r.stdout, "\x1b[") {
				t.Error("colour on a pipe")
			}
			saved, err := plan.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			for i := range saved.Requests {
				want, err := os.ReadFile(filepath.Join(planFixtures, "golden", c.name, plan.BulkFile(i)))
				if err != nil {
					t.Fatal(err)
				}
				body, err := saved.Body(i)
				if err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				json.Indent(&got, body, "", "  ")
				got.WriteByte('\n')
				if got.String() != string(want) {
					t.Errorf("%s differs from the golden body", plan.BulkFile(i))
				}
			}
			f := saved.File
			if f.Mapping.Version == "" || !strings.HasPrefix(f.Mapping.Version, "sha256:") || f.Target.Kind != "snapshot" ||
				len(f.Inputs) == 0 || f.Inputs[0].SHA256 == "" || f.Target.SnapshotSHA256 == "" {
				t.Errorf("plan.json header: %+v", f)
			}
		})
	}
}

// TestPlanDetailedExitcode: 0 no changes, 2 changes, 1 error.
func TestPlanDetailedExitcode(t *testing.T) {
	t.Parallel()
	var env map[string]string // the process's
	base := []string{"plan", "--config", "config.yaml", "--snapshot", "snapshot.ndjson", "--detailed-exitcode"}
	if r := runAt(t, planFixtures, env, append(base, "deactivate.txt")...); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Errorf("no changes: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runAt(t, planFixtures, env, append(base, "create.txt")...); r.code != 2 {
		t.Errorf("changes: exit %d\n%s", r.code, r.stderr)
	}
	for _, bad := range [][]string{
		{"plan", "--config", "config.yaml", "--snapshot", "missing.ndjson", "--detailed-exitcode", "create.txt"},
		{"plan", "--config", "config.yaml", "--detailed-exitcode", "create.txt"}, // no current state
		append(base, "--deactivate-missing", "--max-deactivate", "0", "deactivate.txt"),
		append(base, "--existing", "MERGE", "create.txt"),
	} {
		if r := runAt(t, planFixtures, env, bad...); r.code != 1 {
			t.Errorf("%v: exit %d, want 1\n%s", bad, r.code, r.stderr)
		}
	}
	// Without --detailed-exitcode a plan with changes succeeds.
	if r := runAt(t, planFixtures, env, "plan", "--config", "config.yaml", "--snapshot", "snapshot.ndjson", "create.txt"); r.code != 0 {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
}

// TestPlanDeactivateGuard: beyond --max-deactivate the plan fails and lists
// the users.
func TestPlanDeactivateGuard(t *testing.T) {
	t.Parallel()
	var env map[string]string // the process's
	r := runAt(t, planFixtures, env, "plan", "--config", "config.yaml", "--snapshot", "snapshot.ndjson",
		"--deactivate-missing", "--max-deactivate", "0%", "deactivate.txt")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "would deactivate 1 of the target's 6 users") ||
		!strings.Contains(r.stderr, "  1008 pat.gone@example.com [00000000-0000-4000-8000-000000001008]") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
}

// seededSim is a simulator holding the users of the plan fixtures'
// snapshot, and the environment that authenticates against it.
func seededSim(t *testing.T) (*upsim.Server, map[string]string) {
	t.Helper()
	s := upsim.NewServer(upsim.Options{Seed: 3, AccessToken: "e2e-token"})
	t.Cleanup(s.Close)
	data, err := os.ReadFile(filepath.Join(planFixtures, "snapshot.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	var users []json.RawMessage
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		users = append(users, json.RawMessage(l))
	}
	if err := s.Seed(users...); err != nil {
		t.Fatal(err)
	}
	return s, map[string]string{"SCIMIGRATE_ACCESS_TOKEN": "e2e-token"}
}

// runAt runs a command in-process with the arguments that name files of
// dir made absolute (no chdir, so the test may be parallel) and env as the
// environment (nil: the process's).
func runAt(t *testing.T, dir string, env map[string]string, args ...string) result {
	t.Helper()
	abs := make([]string, len(args))
	for i, a := range args {
		abs[i] = a
		if a == "" || a == "-" || strings.HasPrefix(a, "-") || filepath.IsAbs(a) {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, a)); err == nil {
			p, err := filepath.Abs(filepath.Join(dir, a))
			if err != nil {
				t.Fatal(err)
			}
			abs[i] = p
		}
	}
	return runCLICtx(t.Context(), t, ".", nil, env, abs...)
}

// TestPlanLiveAndExport plans against the simulator over loopback, exports
// the employees of an input as a snapshot, and plans offline from it.
func TestPlanLiveAndExport(t *testing.T) {
	t.Parallel()
	s, env := seededSim(t)
	r := runAt(t, planFixtures, env, "plan", "--config", "config.yaml", "--base-url", s.URL(), "--detailed-exitcode", "remove.txt")
	if r.code != 2 || !strings.Contains(r.stdout, "- urn:ietf:params:scim:schemas:extension:spend:2.0:Role:roles") &&
		!strings.Contains(r.stdout, `- roles[roleName eq "INV_APPROVER"]`) {
		t.Fatalf("live plan: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "the target does not return entitlements") {
		t.Errorf("the live plan does not say that entitlements cannot be read:\n%s", r.stdout)
	}
	// v4 lookups give the same plan.
	if r4 := runAt(t, planFixtures, env, "plan", "--config", "config.yaml", "--base-url", s.URL(), "--v4-lookup", "remove.txt"); r4.code != 0 || r4.stdout != r.stdout {
		t.Errorf("--v4-lookup: exit %d\n%s", r4.code, r4.stdout)
	}

	dir := t.TempDir()
	snap := filepath.Join(dir, "snap.ndjson")
	r = runAt(t, planFixtures, env, "export", "--config", "config.yaml", "--base-url", s.URL(), "-o", snap, "update.txt")
	if r.code != 0 || !strings.Contains(r.stderr, "saved 3 user(s)") {
		t.Fatalf("export: exit %d\n%s", r.code, r.stderr)
	}
	off := runAt(t, planFixtures, env, "plan", "--config", "config.yaml", "--snapshot", snap, "update.txt")
	live := runAt(t, planFixtures, env, "plan", "--config", "config.yaml", "--base-url", s.URL(), "update.txt")
	if off.stdout != live.stdout || off.code != 1 || !strings.Contains(off.stdout, "Plan: 0 to create, 3 to update, 0 to deactivate, 0 unchanged, 1 rejected.") {
		t.Errorf("offline plan from the export differs from the live plan (exit %d/%d):\n%s\n---\n%s", off.code, live.code, off.stdout, live.stdout)
	}
	// Without input files every user is exported.
	r = runAt(t, planFixtures, env, "export", "--base-url", s.URL(), "-o", "-")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 6 {
		t.Errorf("export all: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// Live deactivation reads the whole company.
	r = runAt(t, planFixtures, env, "plan", "--config", "config.yaml", "--base-url", s.URL(), "--deactivate-missing", "--max-deactivate", "1", "deactivate.txt")
	if r.code != 0 || !strings.Contains(r.stdout, "- deactivate 1008 pat.gone@example.com") {
		t.Errorf("live deactivate: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestApplySavedPlan: plan against the live target, apply the saved plan
// through a journal, refuse the same plan once the target has moved on,
// and resume (without sending anything) with the journal of the first run.
func TestApplySavedPlan(t *testing.T) {
	t.Parallel()
	s, env := seededSim(t)
	dir := t.TempDir()
	planDir := filepath.Join(dir, "plan")
	r := runAt(t, planFixtures, env, "plan", "--config", "config.yaml", "--base-url", s.URL(), "--out", planDir, "update.txt")
	if r.code != 1 || !strings.Contains(r.stdout, "3 to update") {
		t.Fatalf("plan: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	journal := filepath.Join(dir, "j.db")
	// A recording proxy in front of the simulator keeps the Bulk bodies sent.
	proxy, bodies := recordingProxy(t, s.URL(), nil)
	r = runAt(t, planFixtures, env, "apply", "--base-url", proxy, "--journal", journal, "--poll-interval", "10ms", planDir)
	sentBodies := bodies()
	// Exit 1: the plan carries the fixture's rejected record, which the
	// report lists (as apply FILE... does).
	if r.code != 1 || !strings.Contains(r.stderr, "3 operations: 3 succeeded") {
		t.Fatalf("apply DIR: exit %d\n%s", r.code, r.stderr)
	}
	// Exactly the saved requests, byte for byte, in order.
	saved, _ := filepath.Glob(filepath.Join(planDir, "bulk-*.json"))
	if len(saved) == 0 || len(saved) != len(sentBodies) {
		t.Fatalf("%d saved request(s), %d sent", len(saved), len(sentBodies))
	}
	for i, f := range saved {
		want, _ := os.ReadFile(f)
		if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(sentBodies[i])) {
			t.Errorf("request %d differs from %s:\nsent  %s\nsaved %s", i+1, filepath.Base(f), sentBodies[i], want)
		}
	}
	// The saved bodies' operations reached the service unchanged: a new
	// plan finds those three users up to date.
	r = runAt(t, planFixtures, env, "plan", "--config", "config.yaml", "--base-url", s.URL(), "update.txt")
	if strings.Contains(r.stdout, "3 to update") {
		t.Errorf("after apply the plan still has the updates:\n%s", r.stdout)
	}
	// Same plan, fresh journal: the users changed since the plan → refused.
	r = runAt(t, planFixtures, env, "apply", "--base-url", s.URL(), "--journal", filepath.Join(dir, "other.db"), planDir)
	if r.code != 1 || !strings.Contains(r.stderr, "saved plan is stale") || !strings.Contains(r.stderr, "refusing to apply") {
		t.Errorf("stale plan: exit %d\n%s", r.code, r.stderr)
	}
	// A journal file that merely exists (empty, or holding another run)
	// is no resume: the plan is still checked, and refused.
	touched := filepath.Join(dir, "touched.db")
	if err := os.WriteFile(touched, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sent := s.Stats().BulkReceived
	r = runAt(t, planFixtures, env, "apply", "--base-url", s.URL(), "--journal", touched, planDir)
	if r.code != 1 || !strings.Contains(r.stderr, "saved plan is stale") || s.Stats().BulkReceived != sent {
		t.Errorf("stale plan with a pre-existing journal file: exit %d, %d requests sent\n%s", r.code, s.Stats().BulkReceived-sent, r.stderr)
	}
	// Same plan, same journal: a resume, nothing sent again.
	sent = s.Stats().BulkReceived
	r = runAt(t, planFixtures, env, "apply", "--base-url", s.URL(), "--journal", journal, planDir)
	if r.code != 1 || s.Stats().BulkReceived != sent || !strings.Contains(r.stderr, "resuming") {
		t.Errorf("resume: exit %d, %d new requests\n%s", r.code, s.Stats().BulkReceived-sent, r.stderr)
	}
}

// TestApplyPlansFirst: apply FILE... without --create-only plans against the
// live target, prints the plan and applies it.
func TestApplyPlansFirst(t *testing.T) {
	t.Parallel()
	s, env := seededSim(t)
	r := runAt(t, planFixtures, env, "apply", "--config", "config.yaml", "--base-url", s.URL(), "--journal", filepath.Join(t.TempDir(), "j.db"), "--poll-interval", "10ms", "update.txt")
	if r.code != 1 || !strings.Contains(r.stderr, "Plan: 0 to create, 3 to update") || !strings.Contains(r.stderr, "3 operations: 3 succeeded") {
		t.Errorf("apply FILE: exit %d (want 1: the fixture has a rejected employee)\n%s", r.code, r.stderr)
	}
}

// row305 is a 305 record of a new employee; approver (may be "") is its
// report approver (column 59).
func row305(emp, first, approver string) string {
	cols := make([]string, 137)
	login := strings.ToLower(first) + "@example.com"
	cols[0], cols[1], cols[3], cols[4], cols[5], cols[7] = "305", first, "Cycle", emp, login, login
	cols[8], cols[9], cols[11], cols[12], cols[14] = "en_US", "US", "DEFAULT", "USD", "Y"
	cols[58] = approver
	return strings.Join(cols, ",")
}

// TestApplySavedPlanWithCycle: three new employees, two approving each
// other. The plan shows and saves the cycle as it is sent (both created
// without approvers, then a reference patch for each), and apply DIR sends
// the saved bodies byte for byte and in order; the only bytes it changes
// are a reference patch's path, "/Users/bulkId:X" → the id X was given.
func TestApplySavedPlanWithCycle(t *testing.T) {
	t.Parallel()
	s, env := seededSim(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "cycle.txt")
	rows := []string{"100,0,SSO,UPDATE,EN,N,N", row305("5001", "Ann", "5002"), row305("5002", "Bob", "5001"), row305("5003", "Cy", "5001")}
	if err := os.WriteFile(in, []byte(strings.Join(rows, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := filepath.Abs(filepath.Join(planFixtures, "config.yaml"))
	planDir := filepath.Join(dir, "plan")
	r := runAt(t, dir, env, "plan", "--config", cfg, "--base-url", s.URL(), "--out", planDir, in)
	if r.code != 0 || !strings.Contains(r.stdout, "3 to create") {
		t.Fatalf("plan: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"in a reference cycle (5001, 5002)", "PATCH cycle.txt-2-refs (request 2, path /Users/bulkId:cycle.txt-2)",
		"PATCH cycle.txt-3-refs (request 2, path /Users/bulkId:cycle.txt-3)",
		"then PATCH /Users/bulkId:cycle.txt-2 (request 2), once every employee it names exists:\n      replace (no path): " +
			`{"urn:ietf:params:scim:schemas:extension:spend:2.0:Approver":{"report":[{"primary":true,"approver":{"employeeNumber":"5002"}}]}}`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the plan does not show %q:\n%s", want, r.stdout)
		}
	}
	saved, _ := filepath.Glob(filepath.Join(planDir, "bulk-*.json"))
	if len(saved) != 2 {
		t.Fatalf("%d saved requests, want 2 (identities; then 5003 and the reference patches)", len(saved))
	}
	proxy, bodies := recordingProxy(t, s.URL(), nil)
	r = runAt(t, dir, env, "apply", "--base-url", proxy, "--journal", filepath.Join(dir, "j.db"), "--poll-interval", "10ms", planDir)
	sentBodies := bodies()
	if r.code != 0 || !strings.Contains(r.stderr, "3 operations: 3 succeeded") {
		t.Fatalf("apply DIR: exit %d\n%s", r.code, r.stderr)
	}
	if len(sentBodies) != len(saved) {
		t.Fatalf("%d requests sent, %d saved", len(sentBodies), len(saved))
	}
	ids := map[string]string{}
	for _, emp := range []string{"5001", "5002", "5003"} {
		raw, ok := s.UserByEmployeeNumber(emp)
		var u struct {
			ID  string `json:"id"`
			Apr map[string][]struct {
				Approver struct {
					EmployeeNumber string `json:"employeeNumber"`
				} `json:"approver"`
			} `json:"urn:ietf:params:scim:schemas:extension:spend:2.0:Approver"`
		}
		if !ok || json.Unmarshal(raw, &u) != nil || len(u.Apr["report"]) != 1 {
			t.Fatalf("employee %s in the simulator: %s", emp, raw)
		}
		ids[emp] = u.ID
	}
	for i, f := range saved {
		want, _ := os.ReadFile(f)
		want = bytes.ReplaceAll(want, []byte(`"path":"/Users/bulkId:cycle.txt-2"`), []byte(`"path":"/Users/`+ids["5001"]+`"`))
		want = bytes.ReplaceAll(want, []byte(`"path":"/Users/bulkId:cycle.txt-3"`), []byte(`"path":"/Users/`+ids["5002"]+`"`))
		if !bytes.Equal(want, sentBodies[i]) {
			t.Errorf("request %d differs from %s:\nsent  %s\nsaved %s", i+1, filepath.Base(f), sentBodies[i], want)
		}
	}
}

// TestCreateThenReplanNoChanges: after apply --create-only, a plan against
// the same target shows no change and --detailed-exitcode exits 0: the
// entitlements the target never returns are compared with the applied
// state apply recorded beside its journal. Without the state the plan
// says it asserts them (and has changes).
func TestCreateThenReplanNoChanges(t *testing.T) {
	t.Parallel()
	s := upsim.NewServer(upsim.Options{Seed: 5, AccessToken: "e2e-token"})
	defer s.Close()
	env := map[string]string{"SCIMIGRATE_ACCESS_TOKEN": "e2e-token"}
	dir := t.TempDir()
	journal := filepath.Join(dir, "j.db")
	r := runAt(t, planFixtures, env, "apply", "--create-only", "--config", "config.yaml", "--base-url", s.URL(), "--journal", journal, "--poll-interval", "10ms", "create.txt")
	if r.code != 0 {
		t.Fatalf("apply --create-only: exit %d\n%s", r.code, r.stderr)
	}
	state := filepath.Join(dir, "scimigrate-state.json")
	if st, err := os.Stat(state); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("applied state %s: %v %v", state, st, err)
	}
	r = runAt(t, planFixtures, env, "plan", "--config", "config.yaml", "--base-url", s.URL(), "--state", state, "--detailed-exitcode", "create.txt")
	if r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Errorf("re-plan with the applied state: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runAt(t, planFixtures, env, "plan", "--config", "config.yaml", "--base-url", s.URL(), "--detailed-exitcode", "create.txt")
	if r.code != 2 || !strings.Contains(r.stdout, "no applied state (--state) knows this user's") {
		t.Errorf("re-plan without the applied state: exit %d (want 2: entitlements asserted)\n%s", r.code, r.stdout)
	}
}

// TestPlanLargeShowsSummary: past plan.DetailThreshold changed users the
// plan on stdout is the summary by attribute and the counts; --out writes
// every user's block to DIR/plan.txt, which 'plan show DIR --employee N'
// and '--attribute PATH' drill into; --detail prints the blocks.
func TestPlanLargeShowsSummary(t *testing.T) {
	dir := t.TempDir()
	const n = plan.DetailThreshold + 40
	base := filepath.Join(dir, "base.txt")
	changed := filepath.Join(dir, "changed.txt")
	writeGen := func(path string, changed float64) {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := gen.Write(f, gen.Options{Rows: n, Seed: 11, Changed: changed}); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	writeGen(base, 0)
	writeGen(changed, 1)
	company := "11111111-2222-3333-4444-555555555555"
	conv := runCLI(t, dir, "convert", "--company-id", company, "base.txt")
	if conv.code != 0 {
		t.Fatalf("convert: exit %d\n%s", conv.code, conv.stderr)
	}
	var snap bytes.Buffer
	if _, err := gen.WriteSnapshot(strings.NewReader(conv.stdout), &snap, 11); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "snap.ndjson"), snap.Bytes(), 0o600)

	r := runCLI(t, dir, "plan", "--company-id", company, "--snapshot", "snap.ndjson", "--out", "saved", "changed.txt")
	if r.code != 0 {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "Changes by attribute") || strings.Contains(r.stdout, "~ update ") ||
		!strings.Contains(r.stdout, fmt.Sprintf("Plan: 0 to create, %d to update", n)) {
		t.Errorf("stdout is not the summary:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "every user's block is in saved/plan.txt") {
		t.Errorf("stderr does not name plan.txt:\n%s", r.stderr)
	}
	detail, err := os.ReadFile(filepath.Join(dir, "saved", "plan.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(detail), "\n~ update "); got != n-1 { // the first line has no newline before it
		if !strings.HasPrefix(string(detail), "Changes by attribute") || got != n {
			t.Errorf("plan.txt has %d update blocks, want %d", got, n)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "saved", "plan.txt")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("plan.txt mode: %v %v", fi.Mode(), err)
	}
	show := runCLI(t, dir, "plan", "show", "saved")
	if show.code != 0 || !strings.HasPrefix(r.stdout, strings.TrimSuffix(show.stdout[:strings.Index(show.stdout, "Plan:")], "\n")) {
		t.Errorf("plan show: exit %d\n%s\nwant the plan's summary\n%s", show.code, show.stdout, r.stdout)
	}
	emp := runCLI(t, dir, "plan", "show", "saved", "--employee", "E0000007")
	if emp.code != 0 || !strings.HasPrefix(emp.stdout, "~ update E0000007 ") || !strings.Contains(string(detail), emp.stdout) {
		t.Errorf("plan show --employee: exit %d\n%s%s", emp.code, emp.stdout, emp.stderr)
	}
	attr := runCLI(t, dir, "plan", "show", "--attribute", "name.middleName", "saved")
	// Every user's middle name becomes "Q" (a few had it already).
	if k := strings.Count(attr.stdout, " name.middleName: "); attr.code != 0 || k < n-20 || !strings.HasSuffix(attr.stdout, fmt.Sprintf("\n%d change(s) of name.middleName\n", k)) {
		t.Errorf("plan show --attribute: exit %d\n%s%s", attr.code, attr.stdout, attr.stderr)
	}
	if miss := runCLI(t, dir, "plan", "show", "saved", "--employee", "nobody"); miss.code != 1 || !strings.Contains(miss.stderr, `employee "nobody" is not in the plan`) {
		t.Errorf("unknown employee: exit %d\n%s", miss.code, miss.stderr)
	}
	if bad := runCLI(t, dir, "plan", "show"); bad.code != 2 {
		t.Errorf("plan show without DIR: exit %d", bad.code)
	}
	full := runCLI(t, dir, "plan", "--company-id", company, "--snapshot", "snap.ndjson", "--detail", "changed.txt")
	if full.code != 0 || full.stdout != string(detail) {
		t.Errorf("--detail: exit %d, stdout differs from plan.txt", full.code)
	}
	// apply without a saved plan shows the plan it sends as plan does:
	// past the threshold, the summary only.
	sim := upsim.NewServer(upsim.Options{Seed: 3, AccessToken: "large-token", CompletionDelay: time.Millisecond})
	t.Cleanup(sim.Close)
	var users []json.RawMessage
	for _, l := range strings.Split(strings.TrimSpace(snap.String()), "\n") {
		users = append(users, json.RawMessage(l))
	}
	if err := sim.Seed(users...); err != nil {
		t.Fatal(err)
	}
	ap := runAt(t, dir, map[string]string{"SCIMIGRATE_ACCESS_TOKEN": "large-token"}, "apply", "--company-id", company,
		"--base-url", sim.URL(), "--journal", filepath.Join(dir, "j.db"), "--poll-interval", "10ms", "changed.txt")
	if ap.code != 0 || !strings.Contains(ap.stderr, "Changes by attribute") || strings.Contains(ap.stderr, "~ update ") ||
		!strings.Contains(ap.stderr, fmt.Sprintf("%d operations: %d succeeded", n, n)) {
		t.Errorf("apply: exit %d, want the summary only\n%s", ap.code, ap.stderr)
	}
}
