package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

var binary string

// The tests of this file run the built binary, as a user would: exit
// statuses, standard input, signals. Every other test runs the commands
// in-process (runCLI, cli_test.go).

// TestMain builds the real binary once.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "scimigrate-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "scimigrate")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBinary runs the built binary in dir, as a user would.
func runBinary(t *testing.T, dir string, stdin io.Reader, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func TestConvertOutputFileAndStdin(t *testing.T) {
	dir := t.TempDir()
	sample, _ := os.ReadFile("../../fixtures/flat/sample.txt")
	out := filepath.Join(dir, "users.ndjson")
	cmd := exec.Command(binary, "convert", "--company-id", "11111111-2222-3333-4444-555555555555", "-o", out, "-")
	cmd.Stdin = bytes.NewReader(sample)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err == nil || err.(*exec.ExitError).ExitCode() != 1 {
		t.Fatalf("%v (want exit 1: employee 1004 fails validation)\n%s", err, errb.String())
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("output mode %v, want 0600 (employee data)", st.Mode().Perm())
	}
	data, _ := os.ReadFile(out)
	if n := bytes.Count(data, []byte("\n")); n != 4 {
		t.Errorf("%d lines", n)
	}
	if !strings.Contains(errb.String(), "<stdin>:2:44: warning: Password (column 7)") {
		t.Errorf("stdin diagnostics: %s", errb.String())
	}
}

// TestBinaryExitCodes: the process's exit status is the one run returns.
func TestBinaryExitCodes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{[]string{"plan", "-h"}, 0, "usage: scimigrate plan", ""},
		{[]string{"version"}, 0, version, ""},
		{[]string{"plan", "--detailed-exitcode", "--bogus"}, 1, "", "scimigrate plan: flag provided but not defined: -bogus"},
		{[]string{"convert", "--bogus"}, 2, "", "scimigrate convert: flag provided but not defined: -bogus"},
		{nil, 2, "", "missing command"},
	} {
		r := runBinary(t, ".", nil, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stdout, tt.out) || !strings.Contains(r.stderr, tt.err) {
			t.Errorf("%v: exit %d (want %d)\nstdout %s\nstderr %s", tt.args, r.code, tt.code, r.stdout, r.stderr)
		}
	}
}

// TestBinarySignal: SIGINT reaches the one signal-aware context; simulate
// shuts its server down and exits 0.
func TestBinarySignal(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(binary, "simulate", "--listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var seen []string
	for sc.Scan() { // wait until it listens: the simulator logs its address
		seen = append(seen, sc.Text())
		if strings.Contains(sc.Text(), "listening on http://127.0.0.1:") {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stderr)
	err = cmd.Wait()
	if err != nil {
		t.Errorf("simulate after SIGINT: %v (want exit 0)\n%s", err, strings.Join(seen, "\n"))
	}
}
