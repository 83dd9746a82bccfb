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
