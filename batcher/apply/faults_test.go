package apply

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scimigrate/batcher"
	"scimigrate/batcher/journal"
	"scimigrate/upsim"
)

func TestRunWithFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults upsim.Faults
		oauth  bool
	}{
		{"rate limits and outages", upsim.Faults{RateLimit: 0.15, Unavailable: 0.1}, false},
		{"lost responses", upsim.Faults{DropAfterAccept: 0.4}, false},
		{"slow answers time out", upsim.Faults{Slow: 0.1, SlowDelay: 250 * time.Millisecond}, false},
		{"expiring and rotating tokens", upsim.Faults{ExpireTokens: 0.1, RateLimit: 0.05}, true},
		{"everything", upsim.Faults{RateLimit: 0.1, Unavailable: 0.05, DropAfterAccept: 0.1, ExpireTokens: 0.05, Slow: 0.03, SlowDelay: 250 * time.Millisecond}, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, upsim.Options{Seed: int64(10 + i), PageSize: 9, CompletionDelay: 20 * time.Millisecond,
				Faults: tt.faults, RotateRefreshToken: tt.oauth})
			dir := t.TempDir()
			logs := &logBuf{}
			opts := testOptions(t, sim, dir, logs)
			opts.HTTPClient = &http.Client{Timeout: 120 * time.Millisecond}
			opts.MaxAttempts = 20
			opts.Limits = batcher.Limits{MaxOps: 20}
			if tt.oauth {
				opts.Env = refreshEnv
				opts.TokenFile = filepath.Join(dir, "token.json")
			}
			ops := population(300)
			s, err := Run(context.Background(), opts, ops)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, logs)
			}
			if !s.OK() {
				t.Fatalf("summary: %s\n%s", s, logs)
			}
			checkUsers(t, sim, ops)
			st := sim.Stats()
			t.Logf("faults %d (429 %d, 5xx %d, dropped %d, slow %d, tokens expired %d), grants %d, reconciled %d",
				st.FaultsInjected, st.RateLimited, st.Unavailable, st.Dropped, st.Slowed, st.TokensExpired, st.TokenGrants, s.Reconciled)
			if st.FaultsInjected == 0 {
				t.Error("no fault was injected")
			}
			secrets := []string{testAccess, testRefresh, testClientSecret}
			noSecrets(t, "logs", []byte(logs.String()), secrets...)
			noSecrets(t, "journal", journalBytes(t, opts.JournalPath), secrets...)
			for _, format := range []string{"csv", "json"} {
				var rep bytes.Buffer
				if err := Report(context.Background(), opts.JournalPath, format, &rep); err != nil {
					t.Fatal(err)
				}
				noSecrets(t, format+" report", rep.Bytes(), secrets...)
			}
			var status bytes.Buffer
			Status(context.Background(), opts.JournalPath, &status)
			noSecrets(t, "status", status.Bytes(), secrets...)
			if tt.oauth {
				b, err := os.ReadFile(opts.TokenFile)
				fi, _ := os.Stat(opts.TokenFile)
				if err != nil || fi.Mode().Perm() != 0o600 || !strings.Contains(string(b), "refresh_token") {
					t.Errorf("token file: %v %v", err, fi)
				}
			}
		})
	}
}

func TestJournalBelongsToInput(t *testing.T) {
	sim := newSim(t, upsim.Options{Seed: 4})
	logs := &logBuf{}
	opts := testOptions(t, sim, t.TempDir(), logs)
	ops := []batcher.Operation{createOp("f.txt", 1, "A"), createOp("f.txt", 2, "B", "A")}
	if _, err := Run(context.Background(), opts, ops); err != nil {
		t.Fatal(err)
	}
	other := []batcher.Operation{createOp("f.txt", 1, "A"), createOp("f.txt", 2, "B")}
	_, err := Run(context.Background(), opts, other)
	if !errors.Is(err, ErrJournalMismatch) || !strings.Contains(err.Error(), opts.JournalPath) {
		t.Fatalf("err = %v", err)
	}
	s, err := Run(context.Background(), opts, ops)
	if err != nil || !s.Resumed || !s.OK() {
		t.Fatalf("resume: %v %+v", err, s)
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	sim := newSim(t, upsim.Options{Seed: 5})
	tests := []struct {
		name string
		ops  []batcher.Operation
		want string
	}{
		{"duplicate bulkId", []batcher.Operation{createOp("f.txt", 1, "A"), createOp("f.txt", 1, "B")}, "duplicate bulkId"},
		{"no employee number", []batcher.Operation{func() batcher.Operation { o := createOp("f.txt", 1, "A"); o.EmployeeNumber = ""; return o }()}, "employeeNumber"},
		{"bad method", []batcher.Operation{func() batcher.Operation { o := createOp("f.txt", 1, "A"); o.Method = "PUT"; return o }()}, "method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t, sim, t.TempDir(), &logBuf{})
			_, err := Run(context.Background(), opts, tt.ops)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestSecondRunRefused: a run on a journal another run holds stops before
// sending anything, naming the journal and the holder.
func TestSecondRunRefused(t *testing.T) {
	sim := newSim(t, upsim.Options{Seed: 6})
	opts := testOptions(t, sim, t.TempDir(), &logBuf{})
	held, err := journal.Open(opts.JournalPath)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	_, err = Run(context.Background(), opts, []batcher.Operation{createOp("f.txt", 1, "A")})
	if !errors.Is(err, journal.ErrLocked) || !strings.Contains(err.Error(), opts.JournalPath) || !strings.Contains(err.Error(), "pid ") {
		t.Fatalf("err = %v, want the journal named as in use", err)
	}
	if st := sim.Stats(); st.BulkReceived != 0 {
		t.Errorf("%d Bulk requests sent by the refused run", st.BulkReceived)
	}
	// status works meanwhile and names the run in progress.
	var status bytes.Buffer
	if err := Status(context.Background(), opts.JournalPath, &status); err != nil || !strings.Contains(status.String(), "a run is importing them: pid ") {
		t.Errorf("status while held: %v\n%s", err, status.String())
	}
}
