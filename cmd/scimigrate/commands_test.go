package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"scimigrate/upsim"
)

// everyCommand lists every command and subcommand by its words.
func everyCommand() [][]string {
	var all [][]string
	for _, c := range commands() {
		all = append(all, []string{c.name})
		for _, s := range c.subs {
			all = append(all, []string{c.name, s.name})
		}
	}
	return all
}

// TestHelp: -h and --help on every command and subcommand print the usage
// line, the description and the flags to stdout and exit 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		if c.desc == "" || c.usage == "" || c.summary == "" || (c.run == nil && len(c.subs) == 0) {
			t.Errorf("command %q lacks a part of its shape: %+v", c.name, c)
		}
		for _, s := range c.subs {
			if s.desc == "" || s.usage == "" || s.summary == "" || s.run == nil {
				t.Errorf("subcommand %q %q lacks a part of its shape", c.name, s.name)
			}
		}
	}
	for _, words := range everyCommand() {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string(nil), words...), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				t.Parallel()
				r := runCLI(t, ".", args...)
				desc := strings.Fields(describe(words))
				if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "usage: scimigrate "+strings.Join(words, " ")) ||
					!strings.Contains(strings.Join(strings.Fields(r.stdout), " "), strings.Join(desc, " ")) {
					t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
				}
			})
		}
	}
	// The flags are listed.
	if r := runCLI(t, ".", "plan", "-h"); !strings.Contains(r.stdout, "-detailed-exitcode") || !strings.Contains(r.stdout, "-snapshot string") {
		t.Errorf("plan -h lacks its flags:\n%s", r.stdout)
	}
	if r := runCLI(t, ".", "mappings", "-h"); !strings.Contains(r.stdout, "  check ") {
		t.Errorf("mappings -h lacks its subcommands:\n%s", r.stdout)
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		if r := runCLI(t, ".", args...); r.code != 0 || !strings.Contains(r.stdout, "  apply ") {
			t.Errorf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	if r := runCLI(t, ".", "version"); r.code != 0 || r.stdout != version+"\n" {
		t.Errorf("version: exit %d, %q", r.code, r.stdout)
	}
	if r := runCLI(t, ".", "help", "export"); r.code != 0 || !strings.HasPrefix(r.stdout, "usage: scimigrate export") {
		t.Errorf("help export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// describe returns the description of the command named by words.
func describe(words []string) string {
	for _, c := range commands() {
		if c.name != words[0] {
			continue
		}
		if len(words) == 1 {
			return c.desc
		}
		for _, s := range c.subs {
			if s.name == words[1] {
				return s.desc
			}
		}
	}
	return "no such command"
}

// TestUsageErrors: usage errors exit 2 and print one line naming the
// command, except under plan --detailed-exitcode, where 2 means "changes
// present" and every error exits 1.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "scimigrate: missing command"},
		{[]string{"frobnicate"}, 2, `scimigrate: unknown command "frobnicate"`},
		{[]string{"mappings"}, 2, "scimigrate mappings: missing subcommand (show, list, check)"},
		{[]string{"mappings", "frob"}, 2, `scimigrate mappings: unknown subcommand "frob"`},
		{[]string{"mappings", "check"}, 2, "scimigrate mappings check: want exactly one directory"},
		{[]string{"mappings", "show", "999"}, 2, `scimigrate mappings show: no mapping table for record "999"`},
		{[]string{"version", "extra"}, 2, `scimigrate version: unexpected argument "extra"`},
		{[]string{"plan", "--detailed-exitcode", "--bogus"}, 1, "scimigrate plan: flag provided but not defined: -bogus"},
		{[]string{"plan", "--bogus", "--detailed-exitcode"}, 1, "scimigrate plan: flag provided but not defined: -bogus"},
		{[]string{"plan", "--detailed-exitcode=true", "x.txt"}, 1, "scimigrate plan: give the current state with exactly one of"},
		{[]string{"plan", "--detailed-exitcode=false", "x.txt"}, 2, "scimigrate plan: give the current state with exactly one of"},
		{[]string{"plan", "--snapshot", "s", "x.txt"}, 2, ""},
		{[]string{"plan", "x.txt"}, 2, "scimigrate plan: give the current state with exactly one of"},
		// After the first file the flag package stops: --detailed-exitcode is a file name there.
		{[]string{"plan", "x.txt", "--detailed-exitcode"}, 2, "scimigrate plan: give the current state with exactly one of"},
		{[]string{"plan", "--detailed-exitcode", "--bogus=1", "--detailed-exitcode=false"}, 2, "scimigrate plan: flag provided but not defined: -bogus"},
		{[]string{"apply", "--existing", "MERGE", "--base-url", "http://127.0.0.1:1", "x.txt"}, 2, `--existing "MERGE": want UPDATE or REPLACE`},
		{[]string{"export", "--base-url", "http://127.0.0.1:1"}, 2, "scimigrate export: --base-url URL (or the --token-file of 'scimigrate login') and -o FILE are required"},
	}
	// An unknown flag is a usage error on every command and subcommand.
	for _, words := range everyCommand() {
		tests = append(tests, struct {
			args []string
			code int
			msg  string
		}{append(append([]string(nil), words...), "--bogus"), 2, "scimigrate " + strings.Join(words, " ") + ": flag provided but not defined: -bogus"})
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, ".", tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
				t.Errorf("exit %d (want %d)\nstderr %s\nwant it to contain %q", r.code, tt.code, r.stderr, tt.msg)
			}
			if first, _, _ := strings.Cut(r.stderr, "\n"); tt.msg != "" && strings.Count(r.stderr, first) != 1 {
				t.Errorf("error printed more than once:\n%s", r.stderr)
			}
			if strings.Contains(r.stderr, "INTERNAL ERROR") || strings.Contains(r.stderr, "Usage of") {
				t.Errorf("stderr:\n%s", r.stderr)
			}
		})
	}
}

// TestTargetUnreachable: a target that cannot be reached or authenticated
// is fatal (exit 2) the same way in apply, export and plan (1 under plan
// --detailed-exitcode, where 2 means "changes").
func TestTargetUnreachable(t *testing.T) {
	t.Parallel()
	in, err := filepath.Abs(filepath.Join(planFixtures, "update.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := filepath.Abs(filepath.Join(planFixtures, "config.yaml"))
	sim := upsim.NewServer(upsim.Options{Seed: 1, AccessToken: "the-right-token"})
	t.Cleanup(sim.Close) // after the parallel subtests
	// A port nothing listens on: take one and close it. A refresh grant
	// against it fails on the first call (the token endpoint).
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	targets := []struct {
		name string
		url  string
		env  map[string]string
		msg  string
	}{
		{"wrong token", sim.URL(), map[string]string{"SCIMIGRATE_ACCESS_TOKEN": "a-wrong-token"}, "401"},
		{"no credentials", sim.URL(), map[string]string{}, "no credentials"},
		{"refresh against nothing", closedURL, map[string]string{"SCIMIGRATE_CLIENT_ID": "id", "SCIMIGRATE_CLIENT_SECRET": "shh-secret",
			"SCIMIGRATE_REFRESH_TOKEN": "refresh-secret"}, "authenticating with"},
	}
	for _, tg := range targets {
		for _, c := range []struct {
			name string
			args []string
			code int
		}{
			{"apply", []string{"apply", "--config", cfg, "--base-url", tg.url, "--journal", "J", in}, 2},
			{"apply --create-only", []string{"apply", "--create-only", "--config", cfg, "--base-url", tg.url, "--journal", "J", in}, 2},
			{"export", []string{"export", "--config", cfg, "--base-url", tg.url, "-o", "O", in}, 2},
			{"plan", []string{"plan", "--config", cfg, "--base-url", tg.url, in}, 2},
			{"plan --detailed-exitcode", []string{"plan", "--detailed-exitcode", "--config", cfg, "--base-url", tg.url, in}, 1},
		} {
			t.Run(tg.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				// A short retry bound: the closed port is retried as any
				// unreachable service is, but the test need not wait the
				// default ten minutes' worth of attempts.
				args := append(append([]string(nil), c.args[0]), "--retry-for", "3s")
				args = append(args, c.args[1:]...)
				for i, a := range args {
					if a == "J" || a == "O" {
						args[i] = filepath.Join(dir, a)
					}
				}
				r := runCLICtx(t.Context(), t, ".", nil, tg.env, args...)
				if r.code != c.code || !strings.Contains(r.stderr, "scimigrate "+strings.Fields(c.name)[0]+": ") || !strings.Contains(r.stderr, tg.msg) {
					t.Errorf("exit %d (want %d)\n%s", r.code, c.code, r.stderr)
				}
				for _, secret := range []string{"a-wrong-token", "shh-secret", "refresh-secret"} {
					if strings.Contains(r.stderr, secret) {
						t.Errorf("a secret in stderr:\n%s", r.stderr)
					}
				}
				if _, err := os.Stat(filepath.Join(dir, "O")); err == nil {
					t.Error("export wrote a snapshot")
				}
			})
		}
	}
}

// TestApplyCancelled: cancelling the context (what SIGINT or SIGTERM does)
// stops a long apply cleanly: it returns, says how to resume, exits 2, and
// the same command with the same journal then finishes the job, every
// employee created exactly once.
func TestApplyCancelled(t *testing.T) {
	t.Parallel()
	// Operations complete only long after the run is cancelled.
	sim := upsim.NewServer(upsim.Options{Seed: 1, AccessToken: "tok", CompletionDelay: 50 * time.Millisecond})
	defer sim.Close()
	in, _ := filepath.Abs(filepath.Join(planFixtures, "create.txt"))
	cfg, _ := filepath.Abs(filepath.Join(planFixtures, "config.yaml"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// A proxy in front of the simulator cancels the run as the first Bulk
	// request goes through, so the run is cut between sending and knowing
	// the outcome.
	target, _ := url.Parse(sim.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	var once sync.Once
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/Bulk") {
			once.Do(cancel)
		}
		rp.ServeHTTP(w, req)
	}))
	defer proxy.Close()
	journal := filepath.Join(t.TempDir(), "j.db")
	env := map[string]string{"SCIMIGRATE_ACCESS_TOKEN": "tok"}
	args := []string{"apply", "--create-only", "--config", cfg, "--journal", journal, "--poll-interval", "1h"}
	r := runCLICtx(ctx, t, ".", nil, env, append(args, "--base-url", proxy.URL, in)...)
	if r.code != 2 || !strings.Contains(r.stderr, "scimigrate apply: interrupted") ||
		!strings.Contains(r.stderr, "run the same command again with --journal "+journal+" to resume") {
		t.Fatalf("cancelled apply: exit %d\n%s", r.code, r.stderr)
	}
	// Resume against the target itself: nothing is sent twice.
	args[len(args)-1] = "10ms"
	r = runCLICtx(t.Context(), t, ".", nil, env, append(args, "--base-url", sim.URL(), in)...)
	if r.code != 0 || len(sim.Users()) != 3 {
		t.Errorf("resume: exit %d, %d users (want the 3 of create.txt, once each)\n%s", r.code, len(sim.Users()), r.stderr)
	}
}

// TestSimulateCancelled: simulate serves until its context is cancelled,
// then stops cleanly (exit 0).
func TestSimulateCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan result, 1)
	go func() {
		var out strings.Builder
		cio := &IO{In: strings.NewReader(""), Out: &out, Err: pw, Env: func(string) string { return "" }}
		code := run(ctx, []string{"simulate", "--listen", "127.0.0.1:0", "--delay", "1ms"}, cio)
		pw.Close()
		done <- result{code: code, stdout: out.String()}
	}()
	buf := make([]byte, 4096)
	var seen strings.Builder
	for !strings.Contains(seen.String(), "listening on http://127.0.0.1:") {
		n, err := pr.Read(buf)
		if err != nil {
			t.Fatalf("simulate ended before listening: %v\n%s", err, seen.String())
		}
		seen.Write(buf[:n])
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if r := <-done; r.code != 0 {
		t.Errorf("simulate after cancel: exit %d\n%s", r.code, seen.String())
	}
}

// TestTerminal: the IO value says whether stdout and stderr are terminals,
// and the commands follow it: colour in the plan on a terminal (not with
// NO_COLOR or TERM=dumb), a progress bar instead of progress lines.
func TestTerminal(t *testing.T) {
	t.Parallel()
	snap, _ := filepath.Abs(filepath.Join(planFixtures, "snapshot.ndjson"))
	cfg, _ := filepath.Abs(filepath.Join(planFixtures, "config.yaml"))
	in, _ := filepath.Abs(filepath.Join(planFixtures, "create.txt"))
	exec := func(args []string, outTTY, errTTY bool, env map[string]string) result {
		var out, errb strings.Builder
		cio := &IO{In: strings.NewReader(""), Out: &out, Err: &errb, OutTTY: outTTY, ErrTTY: errTTY,
			Env: func(k string) string { return env[k] }}
		code := run(t.Context(), args, cio)
		return result{code, out.String(), errb.String()}
	}
	plan := []string{"plan", "--config", cfg, "--snapshot", snap, in}
	for _, tt := range []struct {
		name   string
		tty    bool
		env    map[string]string
		colour bool
	}{
		{"terminal", true, nil, true},
		{"pipe", false, nil, false},
		{"NO_COLOR", true, map[string]string{"NO_COLOR": "1"}, false},
		{"TERM=dumb", true, map[string]string{"TERM": "dumb"}, false},
	} {
		r := exec(plan, tt.tty, false, tt.env)
		if r.code != 0 || strings.Contains(r.stdout, "\x1b[") != tt.colour {
			t.Errorf("plan, %s: exit %d, colour %v (want %v)\n%s", tt.name, r.code, !tt.colour, tt.colour, r.stdout)
		}
	}
	// demo applies with progress on stderr: lines on a pipe, a bar on a terminal.
	if r := exec([]string{"demo"}, false, false, nil); r.code != 0 || !strings.Contains(r.stderr, "\nprogress: ") {
		t.Errorf("demo on a pipe: exit %d, no progress line\n%s", r.code, r.stderr)
	}
	if r := exec([]string{"demo"}, false, true, nil); r.code != 0 || strings.Contains(r.stderr, "\nprogress: ") || !strings.Contains(r.stderr, "requests sent") {
		t.Errorf("demo on a terminal: exit %d, want a bar, not progress lines\n%s", r.code, r.stderr)
	}
}

// TestExitCode: the one mapping from a command's error to the exit status.
func TestExitCode(t *testing.T) {
	t.Parallel()
	usage := usageErrorf("bad flag")
	for _, tt := range []struct {
		name     string
		err      error
		detailed bool
		want     int
	}{
		{"ok", nil, false, 0},
		{"ok, detailed", nil, true, 0},
		{"usage", usage, false, 2},
		{"usage in a subcommand", &pathError{"scimigrate mappings check", usage}, false, 2},
		{"usage, detailed", usage, true, 1},
		{"fatal", fatal(os.ErrNotExist), false, 2},
		{"fatal, detailed", fatal(os.ErrNotExist), true, 1},
		{"untyped is fatal", os.ErrPermission, false, 2},
		{"interrupted", fatal(context.Canceled), false, 2},
		{"rejected", errRejected, false, 1},
		{"rejected with a message", &rejectedError{os.ErrExist}, false, 1},
		{"rejected, detailed", errRejected, true, 1},
		{"changes", changesPresent{}, false, 0},
		{"changes, detailed", changesPresent{}, true, 2},
	} {
		if got := exitCode(tt.err, tt.detailed); got != tt.want {
			t.Errorf("%s: exit %d, want %d", tt.name, got, tt.want)
		}
	}
	if !silent(errRejected) || !silent(changesPresent{}) || silent(usage) || silent(&rejectedError{os.ErrExist}) {
		t.Error("silent: only already-reported rejections and 'changes present' print nothing")
	}
}
