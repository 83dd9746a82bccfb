package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCPUProfile: SCIMIGRATE_CPUPROFILE writes a CPU profile of the run,
// mode 0600; unset, nothing is written.
func TestCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	t.Setenv("SCIMIGRATE_CPUPROFILE", path)
	stop := startProfile()
	for i := 0; i < 1e6; i++ {
		_ = i * i
	}
	stop()
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("profile %v: %v", fi, err)
	}
	t.Setenv("SCIMIGRATE_CPUPROFILE", "")
	startProfile()()
}
