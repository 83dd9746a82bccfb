package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"scimigrate/batcher"
	"scimigrate/scim/scimpath"
	"scimigrate/upsim"
)

// quickClock is the wall clock with every wait shortened to at most 1 ms,
// so retries and polling run at test speed without changing their logic.
type quickClock struct{}

func (quickClock) Now() time.Time { return time.Now() }
func (quickClock) Sleep(ctx context.Context, d time.Duration) error {
	d = min(d, time.Millisecond)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// user builds a SCIM User for employee emp whose expense-report approvers
// are refs.
func user(emp string, refs ...string) json.RawMessage {
	u := map[string]any{
		"schemas":               []string{scimpath.CoreUser, scimpath.EnterpriseUser, scimpath.SpendUser},
		"userName":              strings.ToLower(emp) + "@example.com",
		"active":                true,
		"name":                  map[string]any{"givenName": "Given", "familyName": "Family " + emp},
		"emails":                []any{map[string]any{"value": strings.ToLower(emp) + "@example.com", "type": "work"}},
		scimpath.EnterpriseUser: map[string]any{"employeeNumber": emp},
		scimpath.SpendUser:      map[string]any{"reimbursementCurrency": "USD", "country": "US", "locale": "en-US"},
	}
	if len(refs) > 0 {
		var list []any
		for i, r := range refs {
			list = append(list, map[string]any{"approver": map[string]any{"employeeNumber": r}, "primary": i == 0})
		}
		u[scimpath.SpendApprover] = map[string]any{"report": list}
		u["schemas"] = append(u["schemas"].([]string), scimpath.SpendApprover)
	}
	b, _ := json.Marshal(u)
	return b
}

func createOp(file string, line int, emp string, refs ...string) batcher.Operation {
	src := batcher.Source{File: file, Line: line, Record: "305"}
	data := user(emp, refs...)
	return batcher.Operation{BulkID: batcher.BulkID(src, 0), Method: "POST", Path: "/Users", EmployeeNumber: emp,
		UserName: strings.ToLower(emp) + "@example.com", Data: data, Refs: batcher.Refs(data), Sources: []batcher.Source{src}}
}

// population returns n creations: every employee but the first ten is
// approved by an earlier one (chains), E0003 and E0004 approve each other
// (a cycle), and E0005 approves itself.
func population(n int) []batcher.Operation {
	var ops []batcher.Operation
	for i := 0; i < n; i++ {
		emp := fmt.Sprintf("E%04d", i)
		var refs []string
		switch {
		case i == 3:
			refs = []string{"E0004"}
		case i == 4:
			refs = []string{"E0003"}
		case i == 5:
			refs = []string{"E0005"}
		case i >= 10:
			refs = []string{fmt.Sprintf("E%04d", i/2)}
		}
		ops = append(ops, createOp("employees.txt", i+2, emp, refs...))
	}
	// Reverse so most references point forward in the input.
	for i, j := 0, len(ops)-1; i < j; i, j = i+1, j-1 {
		ops[i], ops[j] = ops[j], ops[i]
	}
	return ops
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Logf(f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, f+"\n", a...)
}

func (l *logBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

const (
	testClientID     = "client-id-1"
	testClientSecret = "client-secret-XYZ123"
	testRefresh      = "refresh-token-ABC789"
	testAccess       = "static-access-token-QWE456"
)

func testOptions(t *testing.T, sim *upsim.Server, dir string, logs *logBuf) Options {
	t.Helper()
	env := map[string]string{"SCIMIGRATE_ACCESS_TOKEN": testAccess}
	base := ""
	if sim != nil {
		base = sim.URL()
	}
	return Options{
		BaseURL:         base,
		JournalPath:     filepath.Join(dir, "journal.db"),
		Concurrency:     3,
		PollInterval:    time.Millisecond,
		MaxPollInterval: 4 * time.Millisecond,
		ReconcileDelay:  time.Millisecond,
		Settle:          time.Second,
		StatusPageSize:  7,
		Env:             func(k string) string { return env[k] },
		Clock:           quickClock{},
		Logf:            logs.Logf,
		HTTPClient:      &http.Client{Timeout: 5 * time.Second},
	}
}

func refreshEnv(k string) string {
	return map[string]string{"SCIMIGRATE_CLIENT_ID": testClientID, "SCIMIGRATE_CLIENT_SECRET": testClientSecret,
		"SCIMIGRATE_REFRESH_TOKEN": testRefresh}[k]
}

// checkUsers asserts every creation in ops exists exactly once in the
// simulator, with its approvers.
func checkUsers(t *testing.T, sim *upsim.Server, ops []batcher.Operation) {
	t.Helper()
	count := map[string]int{}
	for _, raw := range sim.Users() {
		var u map[string]json.RawMessage
		json.Unmarshal(raw, &u)
		var ent struct{ EmployeeNumber string }
		json.Unmarshal(u[scimpath.EnterpriseUser], &ent)
		count[ent.EmployeeNumber]++
	}
	for _, op := range ops {
		if op.Method != "POST" {
			continue
		}
		if count[op.EmployeeNumber] != 1 {
			t.Errorf("employee %s exists %d times", op.EmployeeNumber, count[op.EmployeeNumber])
			continue
		}
		raw, _ := sim.UserByEmployeeNumber(op.EmployeeNumber)
		got := batcher.Refs(raw)
		if want := batcher.Refs(op.Data); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("employee %s references %v, want %v", op.EmployeeNumber, got, want)
		}
	}
}

func noSecrets(t *testing.T, where string, data []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("%s contains the secret %q", where, s)
		}
	}
}

func journalBytes(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err == nil {
			all = append(all, b...)
		}
	}
	return all
}

func newSim(t *testing.T, o upsim.Options) *upsim.Server {
	t.Helper()
	o.AccessToken = testAccess
	o.ClientID, o.ClientSecret, o.RefreshToken = testClientID, testClientSecret, testRefresh
	sim := upsim.NewServer(o)
	t.Cleanup(sim.Close)
	return sim
}

// observer sits in front of a simulator and checks the ordering rule: a
// Bulk operation may reference an employee created in the run only after a
// status page has reported that creation completed.
type observer struct {
	t         *testing.T
	mu        sync.Mutex
	completed map[string]bool // bulkIds seen completed in status pages
	creator   map[string]string
	requests  [][]string // bulkIds per Bulk request, in order
	srv       *httptest.Server
}

type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *teeWriter) Write(b []byte) (int, error) { w.buf.Write(b); return w.ResponseWriter.Write(b) }

func newObserver(t *testing.T, sim *upsim.Server, ops []batcher.Operation) *observer {
	o := &observer{t: t, completed: map[string]bool{}, creator: map[string]string{}}
	for _, op := range ops {
		if op.Method == "POST" {
			o.creator[op.EmployeeNumber] = op.BulkID
		}
	}
	h := sim.Handler()
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/Bulk") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			o.checkBulk(body)
		}
		if strings.Contains(r.URL.Path, "/provisions/") && r.URL.Query().Get("attributes") == "operations" {
			tw := &teeWriter{ResponseWriter: w}
			h.ServeHTTP(tw, r)
			var st struct {
				Operations []struct {
					BulkID string
					Status struct{ Completed bool }
				}
			}
			json.Unmarshal(tw.buf.Bytes(), &st)
			o.mu.Lock()
			for _, op := range st.Operations {
				if op.Status.Completed {
					o.completed[op.BulkID] = true
				}
			}
			o.mu.Unlock()
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *observer) checkBulk(body []byte) {
	var req struct {
		Operations []struct {
			Method, BulkID string
			Data           json.RawMessage
		}
	}
	if err := json.Unmarshal(body, &req); err != nil {
		o.t.Errorf("bulk body: %v", err)
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var ids []string
	for _, op := range req.Operations {
		ids = append(ids, op.BulkID)
		refs := batcher.Refs(op.Data)
		if op.Method == "PATCH" {
			refs = batcher.PatchRefs(op.Data)
		}
		for _, r := range refs {
			if c, ok := o.creator[r]; ok && !o.completed[c] {
				o.t.Errorf("%s sent referencing %s before its creation %s completed", op.BulkID, r, c)
			}
		}
	}
	o.requests = append(o.requests, ids)
}
