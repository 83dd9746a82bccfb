package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"scimigrate/batcher/journal"
	"scimigrate/batcher/plan"
)

// The live plan of standard input (issue 11): standard input is read once
// into a private temporary file that both conversions read (the employees'
// IDs, then the streaming plan against the target's state), so it plans
// as a file does and in the same memory.

// runStdin runs a command in-process with the file in as its standard
// input, the other arguments naming files of dir made absolute (as runAt).
func runStdin(t *testing.T, ctx context.Context, in string, env map[string]string, dir string, args ...string) result {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return runCLICtx(ctx, t, ".", f, env, absArgs(t, dir, args)...)
}

// absArgs makes the arguments that name files of dir absolute.
func absArgs(t *testing.T, dir string, args []string) []string {
	t.Helper()
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "" || strings.HasPrefix(a, "-") || filepath.IsAbs(a) {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, a)); err == nil {
			p, err := filepath.Abs(filepath.Join(dir, a))
			if err != nil {
				t.Fatal(err)
			}
			out[i] = p
		}
	}
	return out
}

// asStdin replaces the name of the input file (as given) by the name
// standard input has in diagnostics and plans.
func asStdin(s, file string) string { return strings.ReplaceAll(s, file, "<stdin>") }

// TestLivePlanStdinSameAsFile: a live plan of standard input prints the
// plan, the diagnostics and the exit code of the live plan of the same
// file, the file's name aside, for every input format.
func TestLivePlanStdinSameAsFile(t *testing.T) {
	t.Parallel()
	s, env := seededSim(t)
	flatCfg, err := filepath.Abs("../../fixtures/flat/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, dir, file string
		flags           []string
		code            int
	}{
		{"update", planFixtures, "update.txt", []string{"--config", "config.yaml"}, 1},
		{"remove", planFixtures, "remove.txt", []string{"--config", "config.yaml", "--detailed-exitcode"}, 2},
		{"idchange", planFixtures, "idchange-320.txt", []string{"--config", "config.yaml"}, 0},
		{"deactivate", planFixtures, "deactivate.txt", []string{"--config", "config.yaml", "--deactivate-missing", "--max-deactivate", "1", "--termination-date", "2026-05-04"}, 0},
		{"deactivate-limit", planFixtures, "deactivate.txt", []string{"--config", "config.yaml", "--deactivate-missing", "--max-deactivate", "0"}, 1},
		{"flat-errors", "../../fixtures/flat", "errors.txt", []string{"--config", flatCfg}, 1},
		{"flat-sample", "../../fixtures/flat", "sample.txt", []string{"--config", flatCfg}, 1},
		{"v1", "../../fixtures/v1", "batch.xml", []string{"--config", flatCfg}, 1},
		{"v3", "../../fixtures/v3", "v31-users-page1.json", []string{"--config", flatCfg}, 1},
		{"v3-forced", "../../fixtures/v3", "v30-users-page1.json", []string{"--config", flatCfg, "--format", "v3"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"plan", "--base-url", s.URL()}, c.flags...)
			file := absArgs(t, c.dir, []string{c.file})[0]
			fromFile := runCLICtx(t.Context(), t, ".", nil, env, append(absArgs(t, c.dir, args), file)...)
			fromStdin := runStdin(t, t.Context(), file, env, c.dir, append(args, "-")...)
			if fromFile.code != c.code {
				t.Fatalf("from the file: exit %d, want %d\n%s\n%s", fromFile.code, c.code, fromFile.stdout, fromFile.stderr)
			}
			if fromStdin.code != fromFile.code {
				t.Errorf("exit %d from standard input, %d from the file\n%s", fromStdin.code, fromFile.code, fromStdin.stderr)
			}
			if want := asStdin(fromFile.stdout, file); fromStdin.stdout != want {
				t.Errorf("stdout from standard input:\n%s\nwant (as from the file):\n%s", fromStdin.stdout, want)
			}
			if want := asStdin(fromFile.stderr, file); fromStdin.stderr != want {
				t.Errorf("stderr from standard input:\n%s\nwant (as from the file):\n%s", fromStdin.stderr, want)
			}
		})
	}
}

// TestLivePlanStdinErrorsOnce: the conversion of standard input runs
// twice, but each diagnostic is reported once, naming <stdin> and the
// line; an input that cannot be read at all is one fatal error (exit 2).
func TestLivePlanStdinErrorsOnce(t *testing.T) {
	t.Parallel()
	s, env := seededSim(t)
	dir := t.TempDir()
	cfg, _ := filepath.Abs("../../fixtures/flat/config.yaml")
	for _, cmd := range []string{"plan", "apply"} {
		args := []string{cmd, "--config", cfg, "--base-url", s.URL()}
		if cmd == "apply" {
			args = append(args, "--journal", filepath.Join(dir, "j.db"), "--poll-interval", "10ms")
		}
		r := runStdin(t, t.Context(), "../../fixtures/flat/errors.txt", env, ".", append(args, "-")...)
		if r.code != exitRejected {
			t.Errorf("%s errors.txt: exit %d, want %d\n%s", cmd, r.code, exitRejected, r.stderr)
		}
		for _, want := range []string{
			"<stdin>:4:17: error: Employee ID (column 5): required, but blank",
			"<stdin>:8:5: error: First Name (column 2): quoted field is not closed (bad quoting)",
			"<stdin>:15:1: error: Transaction Type (column 1): a second 100 record",
		} {
			if n := strings.Count(r.stderr, want); n != 1 {
				t.Errorf("%s: %q reported %d times, want once:\n%s", cmd, want, n, r.stderr)
			}
		}
		garbage := writeTemp(t, "garbage.txt", "garbage\n")
		r = runStdin(t, t.Context(), garbage, env, ".", append(args, "-")...)
		const want = "<stdin>: unknown input format (first line \"garbage\")"
		if r.code != exitUsage || strings.Count(r.stderr, want) != 1 {
			t.Errorf("%s garbage: exit %d (want %d), want %q once:\n%s", cmd, r.code, exitUsage, want, r.stderr)
		}
	}
}

// recordingProxy is a proxy in front of target that keeps the Bulk bodies
// sent and calls seen (may be nil) on every other request before passing
// it on.
func recordingProxy(t *testing.T, target string, seen func(*http.Request)) (proxyURL string, bodies func() [][]byte) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sent [][]byte
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/Bulk") {
			b, _ := io.ReadAll(req.Body)
			mu.Lock()
			sent = append(sent, b)
			mu.Unlock()
			req.Body = io.NopCloser(bytes.NewReader(b))
		} else if seen != nil {
			seen(req)
		}
		httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, req)
	}))
	t.Cleanup(p.Close)
	return p.URL, func() [][]byte {
		mu.Lock()
		defer mu.Unlock()
		return append([][]byte(nil), sent...)
	}
}

// bulkIDs matches a bulkId (the input's name, sanitised, and the record's
// line), as a field or in a path.
var bulkIDs = regexp.MustCompile(`(bulkId":"|bulkId:)[^"]*-(\d+)`)

// TestApplyStdinSendsSame: apply FILE... of standard input plans and sends
// what apply of the same file sends, request by request (the file's name
// in bulkIds aside).
func TestApplyStdinSendsSame(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"update.txt", "create.txt", "idchange-305.txt"} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			file := absArgs(t, planFixtures, []string{in})[0]
			var sent [2][][]byte
			var res [2]result
			var journals [2]string
			for i, stdin := range []bool{false, true} {
				s, env := seededSim(t)
				proxy, bodies := recordingProxy(t, s.URL(), nil)
				journals[i] = filepath.Join(t.TempDir(), "j.db")
				args := absArgs(t, planFixtures, []string{"apply", "--config", "config.yaml", "--base-url", proxy,
					"--journal", journals[i], "--poll-interval", "10ms"})
				if stdin {
					res[i] = runStdin(t, t.Context(), file, env, ".", append(args, "-")...)
				} else {
					res[i] = runCLICtx(t.Context(), t, ".", nil, env, append(args, file)...)
				}
				sent[i] = bodies()
			}
			if res[0].code != res[1].code || len(sent[0]) == 0 || len(sent[0]) != len(sent[1]) {
				t.Fatalf("from the file: exit %d, %d request(s); from standard input: exit %d, %d request(s)\n%s\n---\n%s",
					res[0].code, len(sent[0]), res[1].code, len(sent[1]), res[0].stderr, res[1].stderr)
			}
			for j := range sent[0] {
				want, got := bulkIDs.ReplaceAllString(string(sent[0][j]), "${1}INPUT-$2"), bulkIDs.ReplaceAllString(string(sent[1][j]), "${1}INPUT-$2")
				if !strings.Contains(string(sent[1][j]), `"bulkId":"_stdin_-`) {
					t.Errorf("request %d from standard input has no bulkId naming it: %s", j+1, sent[1][j])
				}
				if got != want {
					t.Errorf("request %d from standard input:\n%s\nwant (as from the file):\n%s", j+1, got, want)
				}
			}
			// The journal knows standard input by its hash, as it knows the file.
			var inputs [2][]journal.InputHash
			for i, path := range journals {
				j, err := journal.OpenExisting(path)
				if err != nil {
					t.Fatal(err)
				}
				ri, _, err := j.RunInfo()
				j.Close()
				if err != nil || len(ri.Inputs) != 1 {
					t.Fatalf("run info %+v, %v", ri, err)
				}
				inputs[i] = ri.Inputs
			}
			if f, s := inputs[0][0], inputs[1][0]; s.File != "<stdin>" || s.SHA256 == "" || s.SHA256 != f.SHA256 || s.Bytes != f.Bytes {
				t.Errorf("standard input recorded as %+v; the file as %+v", s, f)
			}
		})
	}
}

// tempEntry is a file seen in the temporary directory during a run.
type tempEntry struct {
	name string
	mode fs.FileMode
}

// TestLivePlanStdinSpool: while the target is read, standard input is in
// a private temporary file (0600), and the target's state in another,
// for the plan's second conversion; both are gone after the run, when it
// succeeds, fails or is cancelled.
func TestLivePlanStdinSpool(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // os.CreateTemp's directory; so not parallel
	s, env := seededSim(t)
	var mu sync.Mutex
	var seen [][]tempEntry // the temporary files at each request to the target
	proxy, _ := recordingProxy(t, s.URL(), func(*http.Request) {
		ents, err := os.ReadDir(tmp)
		if err != nil {
			t.Error(err)
			return
		}
		var got []tempEntry
		for _, e := range ents {
			if info, err := e.Info(); err == nil {
				got = append(got, tempEntry{e.Name(), info.Mode()})
			}
		}
		mu.Lock()
		seen = append(seen, got)
		mu.Unlock()
	})
	left := func() []string {
		ents, err := os.ReadDir(tmp)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	cases := []struct {
		name   string
		file   string
		env    map[string]string
		code   int
		want   string // in stderr
		reads  bool   // the target is read with the input spooled
		cancel bool   // the run is cancelled while standard input is read
	}{
		{name: "plan", file: "update.txt", env: env, code: exitRejected, want: "Plan: 0 to create, 3 to update", reads: true},
		{name: "v1", file: "../v1/batch.xml", env: env, code: exitRejected, want: "<stdin>:93:5: error: Active", reads: true},
		{name: "target refuses the token", file: "update.txt", env: map[string]string{"SCIMIGRATE_ACCESS_TOKEN": "wrong"}, code: exitUsage, want: "401"},
		{name: "conversion fails", file: "../../fixtures/plan/snapshot.ndjson", env: env, code: exitUsage, want: "<stdin>: unknown input format"},
		{name: "cancelled", file: "update.txt", env: env, code: exitUsage, want: "reading standard input: context canceled", cancel: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			ctx := t.Context()
			var r result
			args := absArgs(t, planFixtures, []string{"plan", "--config", "config.yaml", "--base-url", proxy, "-"})
			if c.cancel {
				cctx, cancel := context.WithCancel(ctx)
				defer cancel()
				data, err := os.ReadFile(filepath.Join(planFixtures, c.file))
				if err != nil {
					t.Fatal(err)
				}
				// The signal comes after the first half of the input.
				in := io.MultiReader(bytes.NewReader(data[:len(data)/2]), readerFunc(func([]byte) (int, error) {
					cancel()
					return 0, io.EOF
				}), bytes.NewReader(data[len(data)/2:]))
				r = runCLICtx(cctx, t, ".", in, c.env, args...)
			} else {
				r = runStdin(t, ctx, filepath.Join(planFixtures, c.file), c.env, ".", args...)
			}
			if r.code != c.code || !strings.Contains(r.stdout+r.stderr, c.want) {
				t.Errorf("exit %d, want %d and %q\n%s\n%s", r.code, c.code, c.want, r.stdout, r.stderr)
			}
			if names := left(); len(names) != 0 {
				t.Errorf("left in the temporary directory: %v", names)
			}
			if !c.reads {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			var spooled, state bool
			for _, ents := range seen {
				for _, e := range ents {
					if e.mode.Perm() != 0o600 {
						t.Errorf("%s has mode %v, want 0600", e.name, e.mode.Perm())
					}
					spooled = spooled || strings.HasPrefix(e.name, "scimigrate-stdin-")
					state = state || strings.HasPrefix(e.name, "scimigrate-state-")
				}
			}
			if len(seen) == 0 || !spooled || !state {
				t.Errorf("%d request(s) to the target; standard input spooled while it was read: %v; its state in a private snapshot: %v", len(seen), spooled, state)
			}
		})
	}
}

// readerFunc is an io.Reader of a function.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestSavedPlanFromStdin: plan --out DIR reads standard input once (so it
// can come from a decrypting pipe) and records it in plan.json by its
// SHA-256 and size, as it records a file; the saved plan loads.
func TestSavedPlanFromStdin(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // the stdin spool's directory; so not parallel
	file := absArgs(t, planFixtures, []string{"update.txt"})[0]
	out := filepath.Join(t.TempDir(), "plan")
	r := runStdin(t, t.Context(), file, nil, planFixtures, "plan", "--config", "config.yaml", "--snapshot", "snapshot.ndjson", "--out", out, "-")
	want := runAt(t, planFixtures, nil, "plan", "--config", "config.yaml", "--snapshot", "snapshot.ndjson", "update.txt")
	if r.code != want.code || r.stdout != want.stdout {
		t.Fatalf("from standard input: exit %d\n%s\n%s\nfrom the file: exit %d\n%s", r.code, r.stdout, r.stderr, want.code, want.stdout)
	}
	f, err := plan.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sum, n, err := plan.HashFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Inputs) != 1 || f.Inputs[0].File != "<stdin>" || f.Inputs[0].SHA256 != sum || f.Inputs[0].Bytes != n {
		t.Errorf("plan.json inputs %+v, want <stdin> with %s, %d bytes", f.Inputs, sum, n)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in the temporary directory: %v", left)
	}
	if _, err := plan.Load(out); err != nil {
		t.Fatalf("the saved plan does not load: %v", err)
	}
}
