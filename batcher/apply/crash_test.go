package apply

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"scimigrate/batcher"
	"scimigrate/batcher/journal"
	"scimigrate/upsim"
)

// The crash test re-executes the test binary as a child that runs Run and
// kills itself with SIGKILL at a named point of the run.
const (
	envCrashAt      = "SCIMIGRATE_TEST_CRASH_AT" // point:n (the n-th time the point is reached)
	envCrashURL     = "SCIMIGRATE_TEST_CRASH_URL"
	envCrashJournal = "SCIMIGRATE_TEST_CRASH_JOURNAL"
	envCrashVariant = "SCIMIGRATE_TEST_CRASH_VARIANT" // "" or "unknown-approver"
	crashOps        = 180
)

func TestMain(m *testing.M) {
	if at := os.Getenv(envCrashAt); at != "" {
		os.Exit(crashChild(at))
	}
	os.Exit(m.Run())
}

func crashOptions(url, journalPath string, logf func(string, ...any)) Options {
	return Options{
		BaseURL:         url,
		JournalPath:     journalPath,
		Concurrency:     3,
		PollInterval:    time.Millisecond,
		MaxPollInterval: 2 * time.Millisecond,
		ReconcileDelay:  time.Millisecond,
		Settle:          time.Second,
		StatusPageSize:  4,
		Limits:          batcher.Limits{MaxOps: 15},
		Env:             func(k string) string { return map[string]string{"SCIMIGRATE_ACCESS_TOKEN": testAccess}[k] },
		Clock:           quickClock{},
		Logf:            logf,
		HTTPClient:      &http.Client{Timeout: 5 * time.Second},
	}
}

func crashChild(at string) int {
	point, nth, _ := strings.Cut(at, ":")
	n, _ := strconv.Atoi(nth)
	var hits atomic.Int32
	opts := crashOptions(os.Getenv(envCrashURL), os.Getenv(envCrashJournal), func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, f+"\n", a...)
	})
	opts.hook = func(p string) {
		if p == point && int(hits.Add(1)) == n {
			fmt.Fprintf(os.Stderr, "crash child: SIGKILL at %s #%d\n", p, n)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Hour)
		}
	}
	s, err := Run(context.Background(), opts, crashPopulation(os.Getenv(envCrashVariant)))
	fmt.Fprintf(os.Stderr, "crash child: finished without reaching %s: %v %v\n", at, s, err)
	return 3
}

// crashPopulation is the input of a crash test: population(crashOps),
// after (variant "unknown-approver") a creation whose approver does not
// exist, first so that it goes in the first request.
func crashPopulation(variant string) []batcher.Operation {
	ops := population(crashOps)
	if variant == "unknown-approver" {
		ops = append([]batcher.Operation{createOp("employees.txt", 1, "X0001", "NOBODY")}, ops...)
	}
	return ops
}

// runCrashChild runs a child killed at point at (see crashChild).
func runCrashChild(t *testing.T, simURL, jpath, at, variant string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envCrashAt+"="+at, envCrashURL+"="+simURL, envCrashJournal+"="+jpath, envCrashVariant+"="+variant)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child (%s): %v\n%s", at, err, out)
	}
	ws, _ := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child (%s) was not killed: %v\n%s", at, err, out)
	}
}

// TestResumeAfterSIGKILLReportsLostFailures: the run is killed after the
// first Bulk request left, before its provisionId was committed, while the
// service still works on it; that request carries a creation whose approver
// does not exist. The resumed run waits for the service to settle, finds
// every creation (none re-sent), re-plans the users against their live
// state, and reports INVALID_USER again: the run, and every later resume,
// exits 1.
func TestResumeAfterSIGKILLReportsLostFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	sim := newSim(t, upsim.Options{Seed: 150, PageSize: 4, CompletionDelay: 300 * time.Millisecond})
	jpath := filepath.Join(t.TempDir(), "journal.db")
	runCrashChild(t, sim.URL(), jpath, "sent:1", "unknown-approver")
	logs := &logBuf{}
	opts := crashOptions(sim.URL(), jpath, logs.Logf)
	opts.Settle = 10 * time.Second // ends as soon as every creation is found
	ops := crashPopulation("unknown-approver")
	for run := 1; run <= 2; run++ {
		s, err := Run(context.Background(), opts, ops)
		if err != nil {
			t.Fatalf("resume %d: %v\n%s", run, err, logs)
		}
		if !s.Resumed || s.ExitCode() != 1 || s.Partial != 1 || s.Unfinished != 0 || s.Succeeded+s.Reconciled != crashOps {
			t.Fatalf("resume %d: summary %s\n%s", run, s, logs)
		}
		if f := s.Failures[0]; f.EmployeeNumber != "X0001" || !strings.Contains(fmt.Sprint(f.Errors), "INVALID_USER") {
			t.Errorf("resume %d: failure %+v does not report INVALID_USER", run, f)
		}
	}
	checkUsers(t, sim, ops[1:])
	if st := sim.Stats(); st.DuplicateAttempts != 0 || st.Creates != len(ops) {
		t.Errorf("%d creations re-sent (refused as duplicates), %d users created for %d creations", st.DuplicateAttempts, st.Creates, len(ops))
	}
}

func TestResumeAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	tests := []struct {
		name    string
		crashes []string // successive runs, each killed at a point
		delay   time.Duration
	}{
		{"after journal write, before send", []string{"prepared:2"}, 0},
		{"after send, before provisionId commit", []string{"sent:1"}, 0},
		// The service finishes the lost request only after the resumed run
		// looked for its employees: the re-sent creations collide with it
		// and are recognised as done.
		{"after send, service still busy", []string{"sent:1"}, 300 * time.Millisecond},
		{"mid-polling", []string{"polling:3"}, 100 * time.Millisecond},
		{"mid-outcome recording", []string{"recorded:2"}, 0},
		{"killed again while resuming", []string{"sent:2", "prepared:1", "recorded:5", "sent:1", "polling:2"}, 50 * time.Millisecond},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, upsim.Options{Seed: int64(100 + i), PageSize: 4, CompletionDelay: 15*time.Millisecond + tt.delay})
			jpath := filepath.Join(t.TempDir(), "journal.db")
			for _, at := range tt.crashes {
				runCrashChild(t, sim.URL(), jpath, at, "")
			}
			logs := &logBuf{}
			opts := crashOptions(sim.URL(), jpath, logs.Logf)
			ops := population(crashOps)
			s, err := Run(context.Background(), opts, ops)
			if err != nil {
				t.Fatalf("resume: %v\n%s", err, logs)
			}
			if !s.Resumed || !s.OK() || s.Unfinished != 0 || s.Succeeded+s.Reconciled != crashOps {
				t.Fatalf("summary: %+v\n%s", s, logs)
			}
			checkUsers(t, sim, ops)
			j, err := journal.OpenExisting(jpath)
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			c, _ := j.Counts(context.Background())
			if c.Sent != 0 || c.Ready != 0 || c.Waiting != 0 || c.Requests[journal.ReqPrepared]+c.Requests[journal.ReqAccepted]+c.Requests[journal.ReqUnconfirmed] != 0 {
				t.Errorf("journal not settled: %+v", c)
			}
			t.Logf("requests %v; reconciled %d; duplicates refused by the service %d", c.Requests, s.Reconciled, sim.Stats().DuplicateAttempts)
		})
	}
}
