package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"scimigrate/batcher"
	"scimigrate/upsim"
)

// bulkInterceptor sits in front of a simulator and answers the Bulk POSTs
// that answer picks (by their 1-based number) itself, without forwarding
// them: the service never sees them.
type bulkInterceptor struct {
	posts  atomic.Int32
	answer func(n int) (status int, body string, intercept bool)
	srv    *httptest.Server
}

func newInterceptor(t *testing.T, sim *upsim.Server, answer func(n int) (int, string, bool)) *bulkInterceptor {
	bi := &bulkInterceptor{answer: answer}
	h := sim.Handler()
	bi.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/Bulk") {
			n := int(bi.posts.Add(1))
			if status, body, ok := bi.answer(n); ok {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				w.Write([]byte(body))
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(bi.srv.Close)
	return bi
}

// renameOp builds a PATCH of an existing user replacing its family name.
func renameOp(file string, line int, emp, id, family string) batcher.Operation {
	src := batcher.Source{File: file, Line: line, Record: "305"}
	data, _ := json.Marshal(map[string]any{"schemas": []string{batcher.URNPatchOp},
		"Operations": []any{map[string]any{"op": "replace", "path": "name.familyName", "value": family}}})
	return batcher.Operation{BulkID: batcher.BulkID(src, 0), Method: "PATCH", Path: "/Users/" + id, EmployeeNumber: emp,
		Data: data, Sources: []batcher.Source{src}}
}

func familyName(t *testing.T, sim *upsim.Server, emp string) string {
	t.Helper()
	raw, ok := sim.UserByEmployeeNumber(emp)
	if !ok {
		t.Fatalf("employee %s does not exist", emp)
	}
	var u struct{ Name struct{ FamilyName string } }
	json.Unmarshal(raw, &u)
	return u.Name.FamilyName
}

func userID(t *testing.T, sim *upsim.Server, emp string) string {
	t.Helper()
	raw, ok := sim.UserByEmployeeNumber(emp)
	if !ok {
		t.Fatalf("employee %s does not exist", emp)
	}
	var u struct{ ID string }
	json.Unmarshal(raw, &u)
	return u.ID
}

// TestUnknownOutcomes covers requests whose outcome the run never learns:
// the answer lost after the service accepted it (a creation, a PATCH, a
// request carrying a reference cycle, an approver that does not exist), a
// request the service never accepted, and a journal lost between runs.
// Every case must converge: each employee created once, with its
// references, nothing re-sent that the service had applied, and failures
// the service reported reported again with their code.
func TestUnknownOutcomes(t *testing.T) {
	type env struct {
		sim  *upsim.Server
		url  string
		ops  []batcher.Operation
		opts Options
	}
	dropFirst := upsim.Faults{DropAfterAccept: 1, MaxFaults: 1}
	tests := []struct {
		name  string
		sim   upsim.Options
		setup func(t *testing.T, e *env)
		check func(t *testing.T, e *env, s *Summary)
		// badRefs: the input references an employee that does not exist.
		badRefs bool
	}{
		{
			name: "lost response of creations, service still busy at the first look",
			sim:  upsim.Options{CompletionDelay: 300 * time.Millisecond, Faults: dropFirst},
			setup: func(t *testing.T, e *env) {
				e.ops = population(30)
				e.opts.Settle = 10 * time.Second // ends as soon as every creation is found
			},
			check: func(t *testing.T, e *env, s *Summary) {
				if !s.OK() || s.Reconciled == 0 {
					t.Errorf("summary: %s", s)
				}
			},
		},
		{
			// The identity answer omits entitlements: those of a creation
			// found applied came with it and are not sent again.
			name: "lost response of creations carrying entitlements",
			sim:  upsim.Options{CompletionDelay: 20 * time.Millisecond, Faults: dropFirst},
			setup: func(t *testing.T, e *env) {
				for i := range 4 {
					op := createOp("f.txt", i+1, fmt.Sprintf("N%d", i))
					var u map[string]any
					json.Unmarshal(op.Data, &u)
					u["entitlements"] = []string{"Expense", "Invoice"}
					op.Data, _ = json.Marshal(u)
					e.ops = append(e.ops, op)
				}
			},
			check: func(t *testing.T, e *env, s *Summary) {
				if !s.OK() || s.Reconciled != len(e.ops) {
					t.Errorf("summary: %s", s)
				}
				if n := e.sim.Stats().Operations; n != len(e.ops) {
					t.Errorf("the service received %d operations, want %d (nothing to converge)", n, len(e.ops))
				}
			},
		},
		{
			name: "lost response of a creation whose approver does not exist",
			sim:  upsim.Options{CompletionDelay: 20 * time.Millisecond, Faults: dropFirst},
			setup: func(t *testing.T, e *env) {
				e.ops = []batcher.Operation{createOp("f.txt", 1, "X1", "NOBODY"), createOp("f.txt", 2, "X2"), createOp("f.txt", 3, "X3", "X2")}
			},
			check: func(t *testing.T, e *env, s *Summary) {
				if s.OK() || s.ExitCode() != 1 || s.Partial != 1 || len(s.Failures) != 1 {
					t.Fatalf("summary: %s", s)
				}
				f := s.Failures[0]
				if f.EmployeeNumber != "X1" || f.UUID == "" || !strings.Contains(fmt.Sprint(f.Errors), "INVALID_USER") {
					t.Errorf("failure %+v does not report INVALID_USER on X1", f)
				}
			},
			badRefs: true,
		},
		{
			name: "lost response of a PATCH, service still busy at the first look",
			sim:  upsim.Options{CompletionDelay: 300 * time.Millisecond, Faults: dropFirst},
			setup: func(t *testing.T, e *env) {
				e.opts.Settle = 10 * time.Second // ends as soon as every PATCH is found applied
				if err := e.sim.Seed(user("P1"), user("P2")); err != nil {
					t.Fatal(err)
				}
				e.ops = []batcher.Operation{renameOp("f.txt", 1, "P1", userID(t, e.sim, "P1"), "Renamed1"),
					renameOp("f.txt", 2, "P2", userID(t, e.sim, "P2"), "Renamed2"), createOp("f.txt", 3, "P3", "P1")}
			},
			check: func(t *testing.T, e *env, s *Summary) {
				if !s.OK() {
					t.Errorf("summary: %s", s)
				}
				if a, b := familyName(t, e.sim, "P1"), familyName(t, e.sim, "P2"); a != "Renamed1" || b != "Renamed2" {
					t.Errorf("family names %q %q", a, b)
				}
				// The lost request was applied: found so, nothing re-sent.
				if n := e.sim.Stats().Operations; n != len(e.ops) {
					t.Errorf("the service received %d operations, want %d (the PATCHes were applied already)", n, len(e.ops))
				}
			},
		},
		{
			name: "lost response of a request carrying a reference cycle",
			sim:  upsim.Options{CompletionDelay: 20 * time.Millisecond, Faults: dropFirst},
			setup: func(t *testing.T, e *env) {
				e.ops = []batcher.Operation{createOp("f.txt", 1, "C1", "C2"), createOp("f.txt", 2, "C2", "C1"),
					createOp("f.txt", 3, "C3", "C3"), createOp("f.txt", 4, "C4", "C1")}
			},
			check: func(t *testing.T, e *env, s *Summary) {
				if !s.OK() {
					t.Errorf("summary: %s", s)
				}
			},
		},
		{
			name: "request never accepted (504 from a gateway)",
			sim:  upsim.Options{CompletionDelay: 20 * time.Millisecond},
			setup: func(t *testing.T, e *env) {
				e.ops = population(12)
				bi := newInterceptor(t, e.sim, func(n int) (int, string, bool) {
					return http.StatusGatewayTimeout, `<html>gateway timeout</html>`, n == 1
				})
				e.url = bi.srv.URL
				e.opts.Settle = 200 * time.Millisecond
			},
			check: func(t *testing.T, e *env, s *Summary) {
				if !s.OK() || s.Reconciled != 0 {
					t.Errorf("summary: %s", s)
				}
			},
		},
		{
			name: "journal lost: every employee exists already, one changed since",
			sim:  upsim.Options{CompletionDelay: 5 * time.Millisecond},
			setup: func(t *testing.T, e *env) {
				first := population(25)
				opts := e.opts
				opts.BaseURL = e.sim.URL()
				opts.JournalPath = filepath.Join(t.TempDir(), "first.db")
				if s, err := Run(context.Background(), opts, first); err != nil || !s.OK() {
					t.Fatalf("first run: %v %v", err, s)
				}
				e.ops = population(25)
				for i := range e.ops {
					if e.ops[i].EmployeeNumber == "E0012" {
						e.ops[i].Data = json.RawMessage(strings.Replace(string(e.ops[i].Data), "Family E0012", "Changed E0012", 1))
					}
				}
			},
			check: func(t *testing.T, e *env, s *Summary) {
				if !s.OK() || s.Reconciled != len(e.ops) {
					t.Errorf("summary: %s", s)
				}
				if got := familyName(t, e.sim, "E0012"); got != "Changed E0012" {
					t.Errorf("E0012 family name %q: the change was not sent", got)
				}
			},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.sim
			o.Seed, o.PageSize = int64(200+i), 5
			sim := newSim(t, o)
			logs := &logBuf{}
			e := &env{sim: sim, url: sim.URL(), opts: testOptions(t, sim, t.TempDir(), logs)}
			e.opts.Limits = batcher.Limits{MaxOps: 10}
			tt.setup(t, e)
			e.opts.BaseURL = e.url
			before := sim.Stats()
			s, err := Run(context.Background(), e.opts, e.ops)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, logs)
			}
			tt.check(t, e, s)
			if !tt.badRefs {
				checkUsers(t, sim, e.ops)
			}
			st := sim.Stats()
			creates := 0
			for _, op := range e.ops {
				if op.Method == "POST" {
					creates++
				}
			}
			if dup := st.DuplicateAttempts - before.DuplicateAttempts; dup != 0 && !strings.HasPrefix(tt.name, "journal lost") {
				t.Errorf("%d creations re-sent although the service had applied them", dup)
			}
			if got := st.Creates - before.Creates; !strings.HasPrefix(tt.name, "journal lost") && got != creates {
				t.Errorf("%d users created, want %d", got, creates)
			}
			if t.Failed() {
				t.Logf("%s", logs)
			}
		})
	}
}

// TestLostOutcomesAreBounded: a service that never confirms a Bulk request
// (504 every time, or 200 without a provisionId) gets each operation a
// bounded number of times, then the run stops with a *GaveUpError naming
// the journal; the next run against a healthy service finishes the job.
func TestLostOutcomesAreBounded(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"504 on every Bulk POST", http.StatusGatewayTimeout, `<html>504</html>`},
		{"200 without a provisionId", http.StatusOK, `{}`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, upsim.Options{Seed: int64(300 + i), CompletionDelay: 5 * time.Millisecond})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			bi := newInterceptor(t, sim, func(n int) (int, string, bool) {
				if n > 50 {
					cancel() // far past any sane bound: stop an endless loop
				}
				return tt.status, tt.body, true
			})
			logs := &logBuf{}
			opts := testOptions(t, sim, t.TempDir(), logs)
			opts.BaseURL = bi.srv.URL
			opts.Settle = 20 * time.Millisecond
			opts.MaxBlindSends = 3
			ops := population(8)
			_, err := Run(ctx, opts, ops)
			var g *GaveUpError
			if !errors.As(err, &g) {
				t.Fatalf("err = %v, want a *GaveUpError\n%s", err, logs)
			}
			if !strings.Contains(err.Error(), opts.JournalPath) || !strings.Contains(err.Error(), "run the same command again") || g.Unfinished != len(ops) {
				t.Errorf("message %q (unfinished %d)", err, g.Unfinished)
			}
			if n := int(bi.posts.Load()); n != opts.MaxBlindSends {
				t.Errorf("%d Bulk POSTs, want %d", n, opts.MaxBlindSends)
			}
			opts.BaseURL = sim.URL()
			s, err := Run(context.Background(), opts, ops)
			if err != nil || !s.OK() || !s.Resumed {
				t.Fatalf("resume against a healthy service: %v %v\n%s", err, s, logs)
			}
			checkUsers(t, sim, ops)
		})
	}
}

// TestExitReflectsEveryRun: a resumed run that has nothing left to do still
// reports the failures of earlier runs.
func TestExitReflectsEveryRun(t *testing.T) {
	sim := newSim(t, upsim.Options{Seed: 7})
	opts := testOptions(t, sim, t.TempDir(), &logBuf{})
	ops := []batcher.Operation{createOp("f.txt", 1, "A", "NOBODY"), createOp("f.txt", 2, "B")}
	s, err := Run(context.Background(), opts, ops)
	if err != nil || s.ExitCode() != 1 {
		t.Fatalf("first run: %v %v", err, s)
	}
	s, err = Run(context.Background(), opts, ops)
	if err != nil || !s.Resumed || s.ExitCode() != 1 || s.Partial != 1 {
		t.Fatalf("resumed run: %v %v", err, s)
	}
}

// TestPollingIsBounded: a provision that never completes is polled for
// MaxPollWait, then the run stops with a *GaveUpError; the request stays
// accepted and the next run polls it to the end.
func TestPollingIsBounded(t *testing.T) {
	sim := newSim(t, upsim.Options{Seed: 310, CompletionDelay: 5 * time.Millisecond})
	var polls atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := sim.Handler()
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" && strings.Contains(r.URL.Path, "/provisions/") {
			if polls.Add(1) > 5000 {
				cancel() // far past any sane bound: stop an endless loop
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":%q,"status":{"completed":false,"success":null},"operationsCount":{"total":2,"pending":2}}`, r.PathValue("id"))
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(stuck.Close)
	logs := &logBuf{}
	opts := testOptions(t, sim, t.TempDir(), logs)
	opts.BaseURL = stuck.URL
	opts.MaxPollWait = 30 * time.Millisecond
	ops := []batcher.Operation{createOp("f.txt", 1, "A"), createOp("f.txt", 2, "B")}
	_, err := Run(ctx, opts, ops)
	var g *GaveUpError
	if !errors.As(err, &g) || !strings.Contains(err.Error(), "still not completed") || g.Unfinished != 2 {
		t.Fatalf("err = %v, want a *GaveUpError about the provision\n%s", err, logs)
	}
	if polls.Load() == 0 {
		t.Fatal("the provision was never polled")
	}
	opts.BaseURL = sim.URL()
	s, err := Run(context.Background(), opts, ops)
	if err != nil || !s.OK() || s.Requests != 1 {
		t.Fatalf("resume: %v %v\n%s", err, s, logs)
	}
	checkUsers(t, sim, ops)
}

// TestLostReferencePatchIsReconciled: the answer to the request carrying a
// reference patch (the approvers of a creation split out of a cycle) is
// lost after the service applied it. Reconciliation reads the user the
// patch was sent to (its id, not the "bulkId:X" the journal names it by),
// finds it applied, and sends nothing again.
func TestLostReferencePatchIsReconciled(t *testing.T) {
	sim := newSim(t, upsim.Options{Seed: 300, PageSize: 5, CompletionDelay: 20 * time.Millisecond})
	h := sim.Handler()
	var dropped atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/Bulk") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte(`-refs"`)) && dropped.CompareAndSwap(false, true) {
				// Accepted (and applied when due) ...
				h.ServeHTTP(httptest.NewRecorder(), r.WithContext(context.WithoutCancel(r.Context())))
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close() // ... and the answer lost
				}
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	logs := &logBuf{}
	opts := testOptions(t, sim, t.TempDir(), logs)
	opts.BaseURL = srv.URL
	ops := []batcher.Operation{createOp("f.txt", 1, "C1", "C2"), createOp("f.txt", 2, "C2", "C1")}
	s, err := Run(context.Background(), opts, ops)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, logs)
	}
	if !dropped.Load() {
		t.Fatal("no request carried a reference patch")
	}
	if !s.OK() {
		t.Errorf("summary: %s\n%s", s, logs)
	}
	checkUsers(t, sim, ops)
	// Two creations and their two reference patches, each received once.
	if n := sim.Stats().Operations; n != 4 {
		t.Errorf("the service received %d operations, want 4 (the reference patches were applied already)\n%s", n, logs)
	}
}
