package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scimigrate/batcher/journal"
	"scimigrate/fixtures/gen"
	"scimigrate/upsim"
)

// TestApplyRefusesAJournalInUse: while a run holds the journal, a second
// apply on it stops at once (exit 2), names the journal and the holder, and
// sends nothing.
func TestApplyRefusesAJournalInUse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "employees.txt")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := gen.Write(f, gen.Options{Rows: 5, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	const token = "lock-test-token"
	sim := upsim.NewServer(upsim.Options{Seed: 5, AccessToken: token})
	defer sim.Close()
	jpath := filepath.Join(dir, "journal.db")
	held, err := journal.Open(jpath)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	r := runAt(t, ".", map[string]string{"SCIMIGRATE_ACCESS_TOKEN": token}, "apply", "--base-url", sim.URL(), "--create-only",
		"--company-id", "c0ffee00-0000-0000-0000-000000000001", "--journal", jpath, in)
	if r.code != 2 {
		t.Errorf("exit %d, want 2\n%s", r.code, r.stderr)
	}
	for _, want := range []string{jpath + " is in use by pid ", "on host ", "since "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
		}
	}
	if st := sim.Stats(); st.BulkReceived != 0 {
		t.Errorf("%d Bulk requests sent by the refused run", st.BulkReceived)
	}
}
