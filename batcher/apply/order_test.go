package apply

import (
	"context"
	"strings"
	"testing"

	"scimigrate/batcher"
	"scimigrate/batcher/journal"
	"scimigrate/upsim"
)

func TestOrdering(t *testing.T) {
	tests := []struct {
		name         string
		ops          []batcher.Operation
		wantRequests [][]string
		wantDerived  int
	}{
		{
			name: "chain A->B->C",
			ops: []batcher.Operation{
				createOp("f.txt", 1, "A", "B"),
				createOp("f.txt", 2, "B", "C"),
				createOp("f.txt", 3, "C"),
			},
			wantRequests: [][]string{{"f.txt-3"}, {"f.txt-2"}, {"f.txt-1"}},
		},
		{
			name: "cycle A<->B, C approved by A",
			ops: []batcher.Operation{
				createOp("f.txt", 1, "A", "B"),
				createOp("f.txt", 2, "B", "A"),
				createOp("f.txt", 3, "C", "A"),
			},
			// Identities of the cycle first, then C and the reference
			// patches together once A and B are complete.
			wantRequests: [][]string{{"f.txt-1", "f.txt-2"}, {"f.txt-3", "f.txt-1-refs", "f.txt-2-refs"}},
			wantDerived:  2,
		},
		{
			name: "three-cycle and a self reference",
			ops: []batcher.Operation{
				createOp("f.txt", 1, "A", "B"),
				createOp("f.txt", 2, "B", "C"),
				createOp("f.txt", 3, "C", "A"),
				createOp("f.txt", 4, "D", "D"),
			},
			wantRequests: [][]string{{"f.txt-1", "f.txt-2", "f.txt-3", "f.txt-4"}, {"f.txt-1-refs", "f.txt-2-refs", "f.txt-3-refs", "f.txt-4-refs"}},
			wantDerived:  4,
		},
		{
			name: "a PATCH of an existing employee waits for the approver it adds",
			ops: []batcher.Operation{
				{BulkID: "g.txt-1", Method: "PATCH", Path: "/Users/" + existingID, EmployeeNumber: "X-not-in-run",
					Data:    []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:spend:2.0:Approver:report","value":[{"approver":{"employeeNumber":"A"},"primary":true}]}]}`),
					Sources: []batcher.Source{{File: "g.txt", Line: 1, Record: "305"}}},
				createOp("f.txt", 1, "A"),
			},
			wantRequests: [][]string{{"f.txt-1"}, {"g.txt-1"}},
		},
		{
			name: "independent operations share a request",
			ops: []batcher.Operation{
				createOp("f.txt", 1, "A"),
				createOp("f.txt", 2, "B", "X-not-in-run"),
			},
			wantRequests: [][]string{{"f.txt-1", "f.txt-2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, upsim.Options{Seed: 2})
			seeded := []byte(strings.Replace(string(user("X-not-in-run")), "{", `{"id":"`+existingID+`",`, 1))
			if err := sim.Seed(seeded); err != nil {
				t.Fatal(err)
			}
			obs := newObserver(t, sim, tt.ops)
			logs := &logBuf{}
			opts := testOptions(t, sim, t.TempDir(), logs)
			opts.BaseURL = obs.srv.URL
			s, err := Run(context.Background(), opts, tt.ops)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, logs)
			}
			if !s.OK() {
				t.Fatalf("summary: %s\n%s", s, logs)
			}
			checkUsers(t, sim, tt.ops)
			if got, want := sortedReqs(obs.requests), sortedReqs(tt.wantRequests); got != want {
				t.Errorf("requests\n got %s\nwant %s", got, want)
			}
			j, _ := journal.OpenExisting(opts.JournalPath)
			defer j.Close()
			c, _ := j.Counts(context.Background())
			if c.Derived != tt.wantDerived {
				t.Errorf("derived operations %d, want %d", c.Derived, tt.wantDerived)
			}
		})
	}
}

const existingID = "6f1d2c3b-0000-4000-8000-000000000001"

func sortedReqs(reqs [][]string) string {
	var parts []string
	for _, r := range reqs {
		c := append([]string(nil), r...)
		for i := range c {
			for j := i + 1; j < len(c); j++ {
				if c[j] < c[i] {
					c[i], c[j] = c[j], c[i]
				}
			}
		}
		parts = append(parts, "["+strings.Join(c, " ")+"]")
	}
	return strings.Join(parts, " ")
}

func TestFailedDependency(t *testing.T) {
	sim := newSim(t, upsim.Options{Seed: 3})
	// B's userName is taken by an existing user: B's creation fails.
	taken := user("OTHER")
	taken = []byte(strings.Replace(string(taken), "other@example.com", "b@example.com", 2))
	if err := sim.Seed(taken); err != nil {
		t.Fatal(err)
	}
	ops := []batcher.Operation{
		createOp("f.txt", 1, "A", "B"),
		createOp("f.txt", 2, "B"),
		createOp("f.txt", 3, "C", "A"),
	}
	logs := &logBuf{}
	opts := testOptions(t, sim, t.TempDir(), logs)
	s, err := Run(context.Background(), opts, ops)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, logs)
	}
	if s.Failed != 1 || s.Partial != 1 || s.Succeeded != 1 || s.ExitCode() != 1 {
		t.Fatalf("summary: %s", s)
	}
	got := map[string]Failure{}
	for _, f := range s.Failures {
		got[f.EmployeeNumber] = f
	}
	if f := got["B"]; f.Outcome != "failed" || len(f.Errors) == 0 || f.Errors[0].Code != "UNIQUENESS" {
		t.Errorf("B: %+v", f)
	}
	a := got["A"]
	if a.Outcome != "partial" || a.UUID == "" || len(a.Errors) != 1 || a.Errors[0].Code != "DEPENDENCY_FAILED" || !strings.Contains(a.Errors[0].Message, "B") {
		t.Errorf("A: %+v", a)
	}
	if raw, ok := sim.UserByEmployeeNumber("A"); !ok || len(batcher.Refs(raw)) != 0 {
		t.Errorf("A should exist without references: %s", raw)
	}
	if _, ok := sim.UserByEmployeeNumber("C"); !ok {
		t.Error("C not created")
	}
}
