package apply

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"scimigrate/batcher/client"
	"scimigrate/batcher/journal"
	"scimigrate/upsim"
)

// TestRunRecordsTimeline: a run with a client built by the caller (as the
// CLI builds it) records in the journal every Bulk POST, every 429 and 5xx
// the simulator answered, and the run's start and end; the caller's own
// observer (Config.OnAttempt) still sees every attempt.
func TestRunRecordsTimeline(t *testing.T) {
	sim := upsim.NewServer(upsim.Options{Seed: 4, AccessToken: testAccess, CompletionDelay: time.Millisecond,
		Faults: upsim.Faults{RateLimit: 0.2, Unavailable: 0.1, RetryAfterMax: 1, MaxFaults: 12}})
	defer sim.Close()
	dir := t.TempDir()
	logs := &logBuf{}
	opts := testOptions(t, sim, dir, logs)
	var seen atomic.Int32
	c, err := client.New(client.Config{BaseURL: sim.URL(), Tokens: client.StaticToken(testAccess), Clock: quickClock{},
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, Concurrency: 1, OnAttempt: func(client.AttemptInfo) { seen.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	opts.Client, opts.Concurrency = c, 1
	ops := population(60)
	s, err := Run(context.Background(), opts, ops)
	if err != nil || !s.OK() {
		t.Fatalf("run: %v %v\n%s", err, s, logs)
	}
	j, err := journal.OpenExisting(opts.JournalPath)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var kinds []string
	throttled, failed, bulk := 0, 0, 0
	j.EachEvent(context.Background(), func(e journal.Event) error {
		switch {
		case e.Kind != journal.EventAttempt:
			kinds = append(kinds, e.Kind+":"+e.Detail)
		case e.HTTPCode == 429:
			throttled++
		case e.HTTPCode >= 500:
			failed++
		}
		if e.Call == client.CallBulk {
			bulk++
		}
		return nil
	})
	st := sim.Stats()
	if st.RateLimited == 0 || throttled != st.RateLimited || failed != st.Unavailable {
		t.Errorf("recorded %d 429s and %d 5xx; the simulator answered %d and %d", throttled, failed, st.RateLimited, st.Unavailable)
	}
	if bulk < st.BulkAccepted || st.BulkAccepted == 0 {
		t.Errorf("recorded %d Bulk POSTs, the simulator accepted %d", bulk, st.BulkAccepted)
	}
	if len(kinds) != 2 || kinds[0] != "run-start:new" || kinds[1] != "run-end:" {
		t.Errorf("run events %v", kinds)
	}
	if int(seen.Load()) < bulk {
		t.Errorf("the caller's observer saw %d attempts, fewer than the %d Bulk POSTs", seen.Load(), bulk)
	}
}
