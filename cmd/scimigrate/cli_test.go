package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs a command in-process, through the same dispatch as main, in
// dir (t.Chdir: such tests cannot be parallel; "." keeps the working
// directory and allows t.Parallel).
func runCLI(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return runCLIIn(t, dir, nil, args...)
}

// runCLIIn is runCLI with standard input.
func runCLIIn(t *testing.T, dir string, stdin io.Reader, args ...string) result {
	t.Helper()
	return runCLICtx(t.Context(), t, dir, stdin, nil, args...)
}

// runCLICtx is runCLI with a context (cancelled to stand for a signal) and
// an environment (nil: the process's).
func runCLICtx(ctx context.Context, t *testing.T, dir string, stdin io.Reader, env map[string]string, args ...string) result {
	t.Helper()
	if dir != "" && dir != "." {
		t.Chdir(dir)
	}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errb bytes.Buffer
	cio := &IO{In: stdin, Out: &out, Err: &errb, Env: os.Getenv}
	if env != nil {
		cio.Env = func(k string) string { return env[k] }
	}
	code := run(ctx, args, cio)
	return result{code, out.String(), errb.String()}
}

var diagLine = regexp.MustCompile(`^[^:]+:\d+:\d+: (error|warning): `)

func TestConvertSample(t *testing.T) {
	r := runCLI(t, "../../fixtures/flat", "convert", "--config", "config.yaml", "sample.txt")
	if r.code != 1 {
		t.Fatalf("exit %d (want 1: employee 1004 fails validation)\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d resources, want 4", len(lines))
	}
	for _, l := range lines {
		var u struct {
			Schemas  []string `json:"schemas"`
			UserName string   `json:"userName"`
		}
		if err := json.Unmarshal([]byte(l), &u); err != nil || u.UserName == "" || u.Schemas[0] != "urn:ietf:params:scim:schemas:core:2.0:User" {
			t.Fatalf("bad resource %s: %v", l, err)
		}
	}
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "sample.txt:") && !diagLine.MatchString(l) {
			t.Errorf("diagnostic not in FILE:LINE:COL: severity: form: %s", l)
		}
	}
	if !strings.Contains(r.stderr, "users emitted:       4 to create, 1 update-only (kept for plan), 1 rejected by validation") {
		t.Errorf("summary missing:\n%s", r.stderr)
	}
}

func TestConvertExitCodes(t *testing.T) {
	dir := "../../fixtures/flat"
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"convert", "errors.txt"}, 1, `errors.txt:3:75: error: Active (column 15): "maybe" is not Y or N`},
		{[]string{"validate", "errors.txt"}, 1, "records read:        16"},
		{[]string{"convert", "no-settings.txt"}, 2, "the first record must be the 100"},
		{[]string{"convert"}, 2, "no input files"},
		{[]string{"convert", "does-not-exist.txt"}, 2, "no such file"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"convert", "--config", "nope.yaml", "sample.txt"}, 2, "nope.yaml"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, dir, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d (want %d), stderr:\n%s\nwant it to contain %q", r.code, tt.code, r.stderr, tt.stderr)
			}
			if tt.args[0] == "validate" && r.stdout != "" {
				t.Errorf("validate wrote to stdout: %s", r.stdout)
			}
		})
	}
}

func TestMappingsCommands(t *testing.T) {
	t.Parallel()
	r := runCLI(t, ".", "mappings", "show", "305")
	if r.code != 0 || !strings.Contains(r.stdout, "custom21") || !strings.Contains(r.stdout, "embedded:305.yaml:") {
		t.Errorf("show 305: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "305.yaml"), []byte("record: \"305\"\ncolumns:\n  - col: 22\n    to: 'urn:ietf:params:scim:schemas:extension:spend:2.0:User:customData[id eq \"custom9\"].value'\n    colour: red\n"), 0o644)
	r = runCLI(t, ".", "mappings", "check", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "305.yaml:5: field colour") {
		t.Errorf("check bad override: exit %d\n%s", r.code, r.stderr)
	}
	os.WriteFile(filepath.Join(dir, "305.yaml"), []byte("record: \"305\"\ncolumns:\n  - col: 22\n    ignore: we do not send custom 1\n"), 0o644)
	r = runCLI(t, ".", "mappings", "check", dir)
	if r.code != 0 {
		t.Errorf("check good override: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, ".", "mappings", "show", "--mappings", dir, "305")
	if !strings.Contains(r.stdout, filepath.Join(dir, "305.yaml")+":3 (ignore)") {
		t.Errorf("show with override lacks provenance:\n%s", r.stdout)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	r := runCLI(t, ".", "demo")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "file,line,record,employee_number,bulk_id") || strings.Count(r.stdout, ",success,") != 10 ||
		!strings.Contains(r.stderr, "sample.txt:5:1: error: employee 1004 is rejected") ||
		!strings.Contains(r.stdout, "sample.txt,5,,,,,,rejected,") || !strings.Contains(r.stderr, "the simulated tenant now holds 4 users") {
		t.Errorf("demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, ".", "demo", "--convert-only")
	if r.code != 1 || strings.Count(r.stdout, "\n") != 4 || !strings.Contains(r.stderr, "sample.txt:2:44: warning: Password") {
		t.Errorf("demo --convert-only: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestConfigDefaults: v3 user lists carry no currency or locale, which UPS
// needs with a spend profile; the config's defaults fill them for users to
// create, only in extensions they already carry.
func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := "../../fixtures/v3/v31-users-page1.json"
	r := runCLI(t, ".", "convert", "--company-id", "11111111-2222-3333-4444-555555555555", in)
	if r.code != 1 || !strings.Contains(r.stderr, "required attribute reimbursementCurrency is missing") {
		t.Fatalf("without defaults: exit %d\n%s", r.code, r.stderr)
	}
	cfg := filepath.Join(dir, "site.yaml")
	os.WriteFile(cfg, []byte(`defaults:
  'urn:ietf:params:scim:schemas:extension:spend:2.0:User:reimbursementCurrency': USD
  'urn:ietf:params:scim:schemas:extension:spend:2.0:User:locale': en-US
  'urn:ietf:params:scim:schemas:extension:travel:2.0:User:ruleClass.name': Standard
`), 0o600)
	r = runCLI(t, ".", "convert", "--config", cfg, "--company-id", "11111111-2222-3333-4444-555555555555", in)
	if r.code != 0 || strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stdout, `"reimbursementCurrency":"USD"`) ||
		strings.Contains(r.stdout, "travel:2.0:User") || !strings.Contains(r.stderr, "values defaulted:    4 filled") {
		t.Errorf("with defaults: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	os.WriteFile(cfg, []byte("defaults:\n  'urn:ietf:params:scim:schemas:extension:spend:2.0:User:currency': USD\n"), 0o600)
	r = runCLI(t, ".", "convert", "--config", cfg, in)
	if r.code != 2 || !strings.Contains(r.stderr, "defaults:") || !strings.Contains(r.stderr, "currency") {
		t.Errorf("bad default path: exit %d\n%s", r.code, r.stderr)
	}
}
