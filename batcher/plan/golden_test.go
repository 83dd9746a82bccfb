package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scimigrate/converter"
	"scimigrate/converter/source"
	"scimigrate/mapping"
)

var update = flag.Bool("update", false, "rewrite the golden plans under fixtures/plan/golden")

// fixtureDir is where the plan fixtures live, relative to this package.
const fixtureDir = "../../fixtures/plan"

var fixedNow = time.Date(2026, 5, 4, 15, 30, 0, 0, time.UTC)

type planCase struct {
	name     string
	inputs   []string
	existing string
	deact    string // --max-deactivate; "" = no --deactivate-missing
}

var planCases = []planCase{
	{name: "create", inputs: []string{"create.txt"}},
	{name: "update", inputs: []string{"update.txt"}},
	{name: "remove", inputs: []string{"remove.txt"}},
	{name: "idchange", inputs: []string{"idchange-320.txt", "idchange-305.txt"}},
	{name: "idchange-only", inputs: []string{"idchange-320.txt"}},
	{name: "replace", inputs: []string{"replace.txt"}},
	{name: "replace-override", inputs: []string{"remove.txt"}, existing: "REPLACE"},
	{name: "deactivate", inputs: []string{"deactivate.txt"}, deact: "1"},
}

type built struct {
	set  *mapping.Set
	d    *Desired
	snap *Snapshot
	plan *Plan
	diag string
}

func loadSet(t testing.TB) *mapping.Set {
	t.Helper()
	cfg, err := mapping.LoadConfig("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := converter.LoadMappings("", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func readSnapshotFile(t testing.TB, name string) *Snapshot {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ReadSnapshot(f, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func collect(t testing.TB, set *mapping.Set, files []string) (*Desired, string) {
	t.Helper()
	inputs, err := converter.OpenInputsFormat(files, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, in := range inputs {
			in.Close()
		}
	}()
	var diag strings.Builder
	d, err := Collect(context.Background(), inputs, CollectOptions{Set: set, CompanyID: set.Config.CompanyID, Workers: 2,
		Diag: func(dg source.Diagnostic) { diag.WriteString(dg.String() + "\n") }})
	if err != nil {
		t.Fatal(err)
	}
	return d, diag.String()
}

// build plans c in the fixture directory (the test must have changed to it).
func build(t testing.TB, c planCase, snap *Snapshot) (*built, error) {
	t.Helper()
	b := &built{set: loadSet(t)}
	b.d, b.diag = collect(t, b.set, c.inputs)
	if snap == nil {
		snap = readSnapshotFile(t, "snapshot.ndjson")
	}
	b.snap = snap
	o := Options{Set: b.set, Existing: c.existing, Now: func() time.Time { return fixedNow }}
	if c.deact != "" {
		lim, err := ParseLimit(c.deact)
		if err != nil {
			t.Fatal(err)
		}
		o.DeactivateMissing, o.MaxDeactivate = true, lim
	}
	p, err := Make(b.d, snap, o)
	b.plan = p
	return b, err
}

func saveInfo(c planCase) SaveInfo {
	return SaveInfo{Tool: "test", Created: fixedNow, Inputs: c.inputs, Snapshot: "snapshot.ndjson",
		Target:  TargetInfo{Kind: "snapshot", Snapshot: "snapshot.ndjson", Users: 6},
		Mapping: MappingInfo{Version: "sha256:fixed-in-tests"}}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./batcher/plan -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./batcher/plan -update and review the diff)\n--- got\n%s", path, got)
	}
}

// TestGoldenPlans plans every fixture case against the fixture snapshot and
// compares the human plan, plan.json and the Bulk bodies with the golden
// files.
func TestGoldenPlans(t *testing.T) {
	t.Chdir(fixtureDir)
	for _, c := range planCases {
		t.Run(c.name, func(t *testing.T) {
			b, err := build(t, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("golden", c.name)
			var txt bytes.Buffer
			if b.diag != "" {
				txt.WriteString("# diagnostics\n" + b.diag + "\n")
			}
			if err := b.plan.Render(&txt, RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(dir, "plan.txt"), txt.Bytes())
			out := t.TempDir()
			if _, err := b.plan.Save(out, saveInfo(c)); err != nil {
				t.Fatal(err)
			}
			ents, _ := os.ReadDir(out)
			var names []string
			for _, e := range ents {
				data, err := os.ReadFile(filepath.Join(out, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, e.Name())
				if e.Name() != PlanFile {
					data = indentJSON(t, data)
				}
				golden(t, filepath.Join(dir, e.Name()), data)
			}
			if !*update {
				gents, _ := os.ReadDir(dir)
				if len(gents) != len(names)+1 {
					t.Errorf("golden dir %s has %d files, the plan %d (+plan.txt)", dir, len(gents), len(names))
				}
			}
		})
	}
}

// indentJSON pretty-prints a Bulk body for review (the saved file is
// compact; Load checks the compact bytes).
func indentJSON(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// TestDeactivateThreshold: beyond --max-deactivate the plan fails with the
// list of users it would deactivate.
func TestDeactivateThreshold(t *testing.T) {
	t.Chdir(fixtureDir)
	for _, lim := range []string{"0", "10%"} { // 10% of 6 users is 0
		_, err := build(t, planCase{inputs: []string{"deactivate.txt"}, deact: lim}, nil)
		var le *DeactivationLimitError
		if !errors.As(err, &le) {
			t.Fatalf("--max-deactivate %s: err = %v, want a DeactivationLimitError", lim, err)
		}
		if len(le.Candidates) != 1 || !strings.HasPrefix(le.Candidates[0], "1008 pat.gone@example.com") {
			t.Errorf("candidates %v", le.Candidates)
		}
		if !strings.Contains(err.Error(), "1008 pat.gone@example.com [00000000-0000-4000-8000-000000001008]") {
			t.Errorf("message does not list the user: %v", err)
		}
	}
	for _, lim := range []string{"1", "17%"} {
		b, err := build(t, planCase{inputs: []string{"deactivate.txt"}, deact: lim}, nil)
		if err != nil {
			t.Fatalf("--max-deactivate %s: %v", lim, err)
		}
		if b.plan.Counts.Deactivate != 1 {
			t.Errorf("--max-deactivate %s: %d deactivations", lim, b.plan.Counts.Deactivate)
		}
	}
	// Only an update file: not a full input.
	if _, err := build(t, planCase{inputs: []string{"idchange-320.txt"}, deact: "5"}, nil); err == nil || !strings.Contains(err.Error(), "full input file") {
		t.Errorf("an update-only input with --deactivate-missing: %v", err)
	}
}
