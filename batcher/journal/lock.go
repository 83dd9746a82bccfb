package journal

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A run holds the journal for its whole length: Open takes an exclusive
// flock(2) on a sidecar file, JOURNAL.lock, and writes the holder (pid,
// host, start time) into it; Close releases it. A second Open, in another
// process or in the same one, fails at once with a *LockedError naming the
// journal and the holder.
//
// Why a flock on a sidecar rather than a lock row checked against a live
// pid: the kernel drops a flock when its holder dies, however it dies
// (SIGKILL, power loss of a container), so a stale lock cannot exist and
// taking over needs no guess — no pid liveness check, no pid reuse, no
// clock, no race between "is it dead?" and "take it". The holder written
// in the file is only for the message. The sidecar is never removed:
// unlinking a lock file lets two processes lock two different inodes.
// SQLite's own locks are held per transaction, not for a run, so they
// cannot say "another run owns this journal".

// LockedError reports a journal held by another run.
type LockedError struct {
	Path   string // the journal
	Holder string // "pid 123 on host h since 2026-12-01T23:00:00Z", or "" if unknown
}

func (e *LockedError) Error() string {
	h := e.Holder
	if h == "" {
		h = "another process (holder unknown)"
	}
	return fmt.Sprintf("journal %s is in use by %s; only one run may use a journal at a time (wait for it to finish, or stop it)", e.Path, h)
}

// ErrLocked matches a *LockedError with errors.Is.
var ErrLocked = errors.New("journal in use by another run")

// Is makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// LockPath is the sidecar lock file of a journal.
func LockPath(journal string) string { return journal + ".lock" }

type runLock struct{ f *os.File }

// lock takes the run lock of the journal at path without waiting.
func lock(path string) (*runLock, error) {
	lp := LockPath(path)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal %s: lock file: %w", path, err)
	}
	for try := 1; ; try++ {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("journal %s: locking %s: %w", path, lp, err)
		}
		// A run writes its name right after taking the lock; a lock
		// without a name is a run starting this instant or Holder's
		// momentary probe: look again shortly, a bounded number of times.
		h := readHolder(lp)
		if h != "" || try == 3 {
			f.Close()
			return nil, &LockedError{Path: path, Holder: h}
		}
		time.Sleep(20 * time.Millisecond)
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("pid=%d\nhost=%s\nstarted=%s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(info), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: writing the lock holder to %s: %w", path, lp, err)
	}
	return &runLock{f: f}, nil
}

// readHolder describes the holder recorded in a lock file.
func readHolder(lp string) string {
	b, err := os.ReadFile(lp)
	if err != nil {
		return ""
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = v
		}
	}
	pid, err := strconv.Atoi(kv["pid"])
	if err != nil {
		return ""
	}
	s := fmt.Sprintf("pid %d", pid)
	if kv["host"] != "" {
		s += " on host " + kv["host"]
	}
	if kv["started"] != "" {
		s += " since " + kv["started"]
	}
	return s
}

func (l *runLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	// Clear the holder first: once unlocked, another run may write its own.
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing the last descriptor drops the flock
	l.f = nil
	return err
}

// Holder describes the run holding the journal at path ("pid 123 on host h
// since …"), or "" when no run holds it. It probes with a shared lock
// released at once (a run starting in that instant looks again, see lock).
func Holder(path string) string {
	f, err := os.OpenFile(LockPath(path), os.O_RDWR, 0)
	if err != nil {
		return "" // never locked
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return ""
	}
	if h := readHolder(LockPath(path)); h != "" {
		return h
	}
	return "another process (holder unknown)"
}
