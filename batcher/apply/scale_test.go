package apply

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"scimigrate/upsim"
)

// TestScale runs 20,000 creations through the simulator when
// SCIMIGRATE_SCALE is set; it logs time and heap.
func TestScale(t *testing.T) {
	if os.Getenv("SCIMIGRATE_SCALE") == "" {
		t.Skip("set SCIMIGRATE_SCALE=1 to run")
	}
	sim := newSim(t, upsim.Options{Seed: 9, PageSize: 100, MaxProvisions: 100000})
	opts := testOptions(t, sim, t.TempDir(), &logBuf{})
	opts.StatusPageSize = 100
	ops := population(20000)
	start := time.Now()
	s, err := Run(context.Background(), opts, ops)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !s.OK() || s.Succeeded != len(ops) {
		t.Fatalf("summary: %s", s)
	}
	checkUsers(t, sim, ops)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%s in %v; heap %d MB", s, elapsed, ms.HeapAlloc>>20)
}
