package apply

import (
	"context"
	"os"
	"testing"

	"scimigrate/batcher/journal"
	"scimigrate/upsim"
)

func TestRunCreatesEveryoneInOrder(t *testing.T) {
	sim := newSim(t, upsim.Options{Seed: 1, PageSize: 10})
	dir := t.TempDir()
	logs := &logBuf{}
	opts := testOptions(t, sim, dir, logs)
	ops := population(250)
	s, err := Run(context.Background(), opts, ops)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, logs)
	}
	if !s.OK() || s.Succeeded != len(ops) {
		t.Fatalf("summary: %s\nlogs:\n%s", s, logs)
	}
	checkUsers(t, sim, ops)
	fi, err := os.Stat(opts.JournalPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v, %v", fi.Mode().Perm(), err)
	}
	// A second run with the same input resumes and sends nothing.
	before := sim.Stats().BulkReceived
	s2, err := Run(context.Background(), opts, ops)
	if err != nil || !s2.Resumed || !s2.OK() {
		t.Fatalf("re-run: %v %+v", err, s2)
	}
	if sim.Stats().BulkReceived != before {
		t.Errorf("re-run sent %d requests", sim.Stats().BulkReceived-before)
	}
	j, _ := journal.OpenExisting(opts.JournalPath)
	defer j.Close()
	c, _ := j.Counts(context.Background())
	t.Logf("requests %v, derived ops %d, stats %+v", c.Requests, c.Derived, sim.Stats())
}
