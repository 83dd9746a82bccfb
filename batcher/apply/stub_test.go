package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"scimigrate/batcher"
	"scimigrate/batcher/journal"
	"scimigrate/scim/scimpath"
	"scimigrate/upsim"
)

// extStub is a minimal UPS whose spend User extension fails with a 5xx for
// the first failSpend attempts of every employee, and whose travel
// extension fails with a data error when travelBad is set.
type extStub struct {
	mu         sync.Mutex
	failSpend  int
	travelBad  bool
	attempts   map[string]int // employee → spend attempts
	provisions map[string][]map[string]any
	patches    []string
	srv        *httptest.Server
}

func newExtStub(t *testing.T, failSpend int, travelBad bool) *extStub {
	s := &extStub{failSpend: failSpend, travelBad: travelBad, attempts: map[string]int{}, provisions: map[string][]map[string]any{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func ext(name string, code int, result string, msgs ...map[string]any) map[string]any {
	e := map[string]any{"name": name, "status": map[string]any{"completed": true, "success": code < 300, "code": fmt.Sprint(code), "result": result}}
	if len(msgs) > 0 {
		e["messages"] = msgs
	}
	return e
}

func (s *extStub) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == "POST" && r.URL.Path == "/profile/v4/Bulk":
		var req struct {
			Operations []struct {
				Method, Path, BulkID string
				Data                 json.RawMessage
			}
		}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &req)
		id := fmt.Sprintf("prov-%d", len(s.provisions)+1)
		var results []map[string]any
		for i, op := range req.Operations {
			emp, uuid := "", ""
			if op.Method == "POST" {
				var u map[string]json.RawMessage
				json.Unmarshal(op.Data, &u)
				var ent struct{ EmployeeNumber string }
				json.Unmarshal(u[scimpath.EnterpriseUser], &ent)
				emp, uuid = ent.EmployeeNumber, "uuid-"+ent.EmployeeNumber
			} else {
				uuid = strings.TrimPrefix(op.Path, "/Users/")
				emp = strings.TrimPrefix(uuid, "uuid-")
				s.patches = append(s.patches, string(op.Data))
			}
			var exts []any
			if op.Method == "POST" {
				exts = append(exts, ext(scimpath.CoreUser, 200, "success"), ext(scimpath.EnterpriseUser, 200, "success"))
			}
			code := 200
			if strings.Contains(string(op.Data), scimpath.SpendUser) {
				s.attempts[emp]++
				if s.attempts[emp] <= s.failSpend {
					code = 207
					exts = append(exts, ext(scimpath.SpendUser, 503, "error", map[string]any{"code": "SERVICE_UNAVAILABLE", "message": "spend is down", "type": "error"}))
				} else {
					exts = append(exts, ext(scimpath.SpendUser, 200, "success"))
				}
			}
			if s.travelBad && op.Method == "POST" {
				code = 207
				exts = append(exts, ext(scimpath.TravelUser, 400, "error", map[string]any{"code": "INVALID_VALUE", "message": "Invalid ruleClass", "schemaPath": scimpath.TravelUser + ":ruleClass", "type": "error"}))
			}
			results = append(results, map[string]any{"id": fmt.Sprint(i + 1), "bulkId": op.BulkID,
				"status":   map[string]any{"completed": true, "success": code == 200, "code": fmt.Sprint(code)},
				"resource": map[string]any{"id": uuid, "type": "User"}, "extensions": exts})
		}
		s.provisions[id] = results
		w.WriteHeader(202)
		json.NewEncoder(w).Encode(map[string]any{"id": id, "status": map[string]any{"completed": false, "success": nil}})
	case strings.HasPrefix(r.URL.Path, "/profile/v4/provisions/"):
		id := strings.Split(r.URL.Path, "/")[4]
		ops := s.provisions[id]
		body := map[string]any{"id": id, "status": map[string]any{"completed": true, "success": false},
			"operationsCount": map[string]any{"total": len(ops)}}
		if r.URL.Query().Get("attributes") == "operations" {
			var start, count int
			fmt.Sscan(r.URL.Query().Get("startIndex"), &start)
			fmt.Sscan(r.URL.Query().Get("count"), &count)
			lo, hi := min(start-1, len(ops)), min(start-1+count, len(ops))
			body["operations"] = ops[lo:hi]
			body["totalResults"] = len(ops)
			body["startIndex"] = start
		}
		json.NewEncoder(w).Encode(body)
	default:
		http.NotFound(w, r)
	}
}

func TestExtensionRetry(t *testing.T) {
	withTravel := func(o batcher.Operation) batcher.Operation {
		var u map[string]any
		json.Unmarshal(o.Data, &u)
		u[scimpath.TravelUser] = map[string]any{"ruleClass": map[string]any{"name": "Nope"}}
		o.Data, _ = json.Marshal(u)
		return o
	}
	tests := []struct {
		name      string
		failSpend int
		travelBad bool
		wantOut   string
		wantCode  []string
		patches   int
	}{
		{"transient spend failure retried alone", 1, false, journal.OutcomeSuccess, nil, 2},
		{"retries used up", 10, false, journal.OutcomePartial, []string{"SERVICE_UNAVAILABLE"}, 6},
		{"data error reported, not retried", 0, true, journal.OutcomePartial, []string{"INVALID_VALUE"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := newExtStub(t, tt.failSpend, tt.travelBad)
			logs := &logBuf{}
			opts := testOptions(t, nil, t.TempDir(), logs)
			opts.BaseURL = stub.srv.URL
			ops := []batcher.Operation{withTravel(createOp("f.txt", 1, "A")), withTravel(createOp("f.txt", 2, "B"))}
			s, err := Run(context.Background(), opts, ops)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, logs)
			}
			out := map[string]int{journal.OutcomeSuccess: s.Succeeded, journal.OutcomePartial: s.Partial, journal.OutcomeFailed: s.Failed}
			if out[tt.wantOut] != 2 {
				t.Fatalf("summary: %s", s)
			}
			for _, f := range s.Failures {
				var codes []string
				for _, e := range f.Errors {
					codes = append(codes, e.Code)
				}
				if fmt.Sprint(codes) != fmt.Sprint(tt.wantCode) || f.UUID != "uuid-"+f.EmployeeNumber {
					t.Errorf("%s: errors %v uuid %s, want %v", f.EmployeeNumber, codes, f.UUID, tt.wantCode)
				}
			}
			if len(stub.patches) != tt.patches {
				t.Errorf("%d PATCH retries, want %d", len(stub.patches), tt.patches)
			}
			for _, p := range stub.patches {
				var msg struct {
					Operations []struct {
						Op    string
						Path  string
						Value map[string]json.RawMessage
					}
				}
				json.Unmarshal([]byte(p), &msg)
				if len(msg.Operations) != 1 || msg.Operations[0].Op != "replace" || len(msg.Operations[0].Value) != 1 || msg.Operations[0].Value[scimpath.SpendUser] == nil {
					t.Errorf("retry PATCH should carry only the spend User extension: %s", p)
				}
			}
		})
	}
}

func TestSplitOn413(t *testing.T) {
	sim := newSim(t, upsim.Options{Seed: 6, MaxBytes: 6000})
	big := createOp("f.txt", 99, "BIG")
	var u map[string]any
	json.Unmarshal(big.Data, &u)
	u["name"].(map[string]any)["formatted"] = strings.Repeat("x", 7000)
	big.Data, _ = json.Marshal(u)
	ops := []batcher.Operation{big}
	for i := 0; i < 40; i++ {
		ops = append(ops, createOp("f.txt", i+1, fmt.Sprintf("S%02d", i)))
	}
	logs := &logBuf{}
	opts := testOptions(t, sim, t.TempDir(), logs)
	s, err := Run(context.Background(), opts, ops)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, logs)
	}
	if s.Succeeded != 40 || s.Failed != 1 || len(s.Failures) != 1 {
		t.Fatalf("summary: %s", s)
	}
	f := s.Failures[0]
	if f.EmployeeNumber != "BIG" || f.Errors[0].Code != "PAYLOAD_TOO_LARGE" || !strings.Contains(f.Errors[0].Message, "f.txt:99") {
		t.Errorf("failure: %+v", f)
	}
	checkUsers(t, sim, ops[1:])
	j, _ := journal.OpenExisting(opts.JournalPath)
	defer j.Close()
	c, _ := j.Counts(context.Background())
	if c.Requests[journal.ReqSplit] == 0 {
		t.Errorf("no request was split: %v", c.Requests)
	}
	t.Logf("requests: %v", c.Requests)
}
