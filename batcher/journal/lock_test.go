package journal

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestSecondOpenInProcessRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(path)
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: err = %v, want a *LockedError", err)
	}
	for _, want := range []string{path, fmt.Sprintf("pid %d", os.Getpid()), "since "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if h := Holder(path); !strings.Contains(h, fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("Holder while held = %q", h)
	}
	// Readers are not runs: status and reports work while a run holds it.
	r, err := OpenExisting(path)
	if err != nil {
		t.Fatalf("OpenExisting while a run holds the journal: %v", err)
	}
	r.Close()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if h := Holder(path); h != "" {
		t.Errorf("Holder after Close = %q", h)
	}
	j2, err := Open(path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	j2.Close()
	if fi, err := os.Stat(LockPath(path)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v %v", fi, err)
	}
}

const envLockChild = "SCIMIGRATE_TEST_LOCK_CHILD"

// TestLockChild is the child process of TestSecondProcessRefused: it opens
// the journal, says so, and holds it until killed or its stdin closes.
func TestLockChild(t *testing.T) {
	path := os.Getenv(envLockChild)
	if path == "" {
		t.Skip("child process of TestSecondProcessRefused")
	}
	j, err := Open(path)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n')
	j.Close()
	os.Exit(0)
}

func TestSecondProcessRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	path := filepath.Join(t.TempDir(), "journal.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockChild$")
	cmd.Env = append(os.Environ(), envLockChild+"="+path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	_, err = Open(path)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while another process runs: err = %v", err)
	}
	host, _ := os.Hostname()
	for _, want := range []string{path, fmt.Sprintf("pid %d", cmd.Process.Pid), "on host " + host} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// The holder dies without releasing anything: its lock is stale and
	// the next run takes the journal over.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	j, err := Open(path)
	if err != nil {
		t.Fatalf("Open after the holder was killed: %v", err)
	}
	defer j.Close()
	if h := readHolder(LockPath(path)); !strings.Contains(h, fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("holder after takeover = %q", h)
	}
}
