package batcher

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"scimigrate/scim/scimpath"
)

func TestBulkID(t *testing.T) {
	tests := []struct {
		src  Source
		seq  int
		want string
	}{
		{Source{File: "/data/employees.txt", Line: 12}, 0, "employees.txt-12"},
		{Source{File: "employees.txt", Line: 12}, 2, "employees.txt-12-2"},
		{Source{File: `C:\in\Mon fichier (1).csv`, Line: 3}, 0, "Mon_fichier__1_.csv-3"},
		{Source{File: "", Line: 1}, 0, "input-1"},
		{Source{File: "/x/" + strings.Repeat("a", 100) + ".txt", Line: 7}, 0, strings.Repeat("a", 40) + "-7"},
		{Source{File: "émployés.txt", Line: 5}, 0, "_mploy_s.txt-5"},
	}
	safe := regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	for _, tt := range tests {
		got := BulkID(tt.src, tt.seq)
		if got != tt.want {
			t.Errorf("BulkID(%+v, %d) = %q, want %q", tt.src, tt.seq, got, tt.want)
		}
		if !safe.MatchString(got) {
			t.Errorf("BulkID %q has unsafe characters", got)
		}
		if again := BulkID(tt.src, tt.seq); again != got {
			t.Errorf("BulkID not stable: %q then %q", got, again)
		}
	}
	seen := map[string]bool{}
	for line := 1; line < 1000; line++ {
		for seq := 0; seq < 3; seq++ {
			id := BulkID(Source{File: "a.txt", Line: line}, seq)
			if seen[id] {
				t.Fatalf("duplicate bulkId %q", id)
			}
			seen[id] = true
		}
	}
}

const fullUser = `{
 "schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:spend:2.0:Approver","urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate"],
 "userName":"a@example.com",
 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"A","manager":{"employeeNumber":"M1"}},
 "urn:ietf:params:scim:schemas:extension:spend:2.0:User":{"country":"US","biManager":{"employeeNumber":"BI"}},
 "urn:ietf:params:scim:schemas:extension:travel:2.0:User":{"manager":{"employeeNumber":"TM"}},
 "urn:ietf:params:scim:schemas:extension:spend:2.0:Approver":{
   "report":[{"approver":{"employeeNumber":"R1"},"primary":true},{"approver":{"employeeNumber":"R2"},"primary":false}],
   "invoice":[{"approver":{"employeeNumber":"R1"},"primary":true}],
   "budget":[{"approver":{"value":"6b7f6b7a-0000-0000-0000-000000000000"},"primary":true}]},
 "urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate":{
   "expense":[{"delegate":{"employeeNumber":"D1"},"canApprove":true}],
   "purchaseRequest":[{"delegate":{"employeeNumber":"D2"}}]}
}`

func TestRefs(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"all locations", fullUser, []string{"BI", "D1", "D2", "M1", "R1", "R2", "TM"}},
		{"none", `{"userName":"x"}`, nil},
		{"not json", `nope`, nil},
		{"uuid only", `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"u"}}}`, nil},
		{"wrong shapes ignored", `{"urn:ietf:params:scim:schemas:extension:spend:2.0:Approver":{"report":{"x":1}},"urn:ietf:params:scim:schemas:extension:travel:2.0:User":{"manager":"M"}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Refs(json.RawMessage(tt.data)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Refs = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPatchRefs(t *testing.T) {
	tests := []struct {
		name, data string
		want       []string
	}{
		{"whole extensions without a path", `{"Operations":[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:spend:2.0:Approver":{"report":[{"approver":{"employeeNumber":"R1"}}]}}}]}`, []string{"R1"}},
		{"approver list", `{"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:spend:2.0:Approver:report","value":[{"approver":{"employeeNumber":"R2"},"primary":true}]}]}`, []string{"R2"}},
		{"managers", `{"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"employeeNumber":"M"}},{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:travel:2.0:User:manager","value":{"employeeNumber":"T"}},{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:spend:2.0:User:biManager","value":{"employeeNumber":"B"}}]}`, []string{"B", "M", "T"}},
		{"delegate extension", `{"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate","value":{"expense":[{"delegate":{"employeeNumber":"D"}}]}}]}`, []string{"D"}},
		{"remove and unrelated", `{"Operations":[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"},{"op":"replace","path":"active","value":false}]}`, nil},
		{"filtered path", `{"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:spend:2.0:Approver:report[approver.employeeNumber eq \"A\"].approver","value":{"employeeNumber":"X"}}]}`, []string{"X"}},
		{"garbage", `[`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PatchRefs(json.RawMessage(tt.data)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PatchRefs = %v, want %v", got, tt.want)
			}
			op := Operation{Method: "PATCH", Data: json.RawMessage(tt.data)}
			if got := op.References(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("References = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSplitReferences(t *testing.T) {
	id, patch, err := SplitReferences(json.RawMessage(fullUser))
	if err != nil {
		t.Fatal(err)
	}
	if r := Refs(id); r != nil {
		t.Errorf("identity still references %v: %s", r, id)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(id, &top); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{scimpath.SpendApprover, scimpath.SpendDelegate, scimpath.TravelUser} {
		if _, ok := top[gone]; ok {
			t.Errorf("identity keeps %s", gone)
		}
	}
	if !strings.Contains(string(top[scimpath.EnterpriseUser]), `"employeeNumber":"A"`) || !strings.Contains(string(top[scimpath.SpendUser]), `"country":"US"`) {
		t.Errorf("identity lost data: %s", id)
	}
	if strings.Contains(string(top["schemas"]), "Approver") || !strings.Contains(string(top["schemas"]), "core:2.0:User") {
		t.Errorf("schemas not adjusted: %s", top["schemas"])
	}
	var msg struct {
		Schemas    []string
		Operations []struct {
			Op    string
			Path  string
			Value json.RawMessage
		}
	}
	if err := json.Unmarshal(patch, &msg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(msg.Schemas, []string{URNPatchOp}) || len(msg.Operations) != 4 {
		t.Fatalf("patch = %s", patch)
	}
	paths := []string{}
	var refs []string
	for _, o := range msg.Operations {
		paths = append(paths, o.Path)
		if o.Path == "" {
			refs = append(refs, Refs(o.Value)...)
		} else {
			refs = append(refs, strings.TrimPrefix(string(o.Value), `{"employeeNumber":`))
		}
	}
	wantPaths := []string{"", scimpath.EnterpriseUser + ":manager", scimpath.SpendUser + ":biManager", scimpath.TravelUser + ":manager"}
	if !reflect.DeepEqual(paths, wantPaths) {
		t.Errorf("paths = %q, want %q", paths, wantPaths)
	}
	if !reflect.DeepEqual(refs[:5], []string{"D1", "D2", "R1", "R2", `"M1"}`}) {
		t.Errorf("refs moved = %q", refs)
	}

	plain := json.RawMessage(`{"userName":"x"}`)
	id, patch, err = SplitReferences(plain)
	if err != nil || patch != nil || string(id) != string(plain) {
		t.Errorf("no refs: id=%s patch=%s err=%v", id, patch, err)
	}
	if _, _, err := SplitReferences(json.RawMessage(`[1]`)); err == nil {
		t.Error("want error for non-object")
	}
}

func TestEncodeOperation(t *testing.T) {
	op := Operation{BulkID: "f-1", Method: "POST", Path: "/Users", Data: json.RawMessage("{ \"userName\" : \"a<b\" }")}
	enc, err := EncodeOperation(&op)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"method":"POST","path":"/Users","bulkId":"f-1","data":{"userName":"a<b"}}`
	if string(enc) != want {
		t.Errorf("got %s\nwant %s", enc, want)
	}
	bad := []Operation{
		{BulkID: "x", Method: "GET", Path: "/Users", Data: json.RawMessage(`{}`)},
		{BulkID: "x", Method: "POST", Data: json.RawMessage(`{}`)},
		{Method: "POST", Path: "/Users", Data: json.RawMessage(`{}`)},
		{BulkID: "x", Method: "POST", Path: "/Users", Data: json.RawMessage(`{`), Sources: []Source{{File: "f", Line: 9}}},
	}
	for i, op := range bad {
		if _, err := EncodeOperation(&op); err == nil {
			t.Errorf("case %d: want error", i)
		}
	}
}

func checkRequests(t *testing.T, ops []Operation, reqs []Request, lim Limits) {
	t.Helper()
	seen := map[int]bool{}
	for ri, r := range reqs {
		if len(r.Body) > lim.MaxBytes {
			t.Errorf("request %d: %d bytes > %d", ri, len(r.Body), lim.MaxBytes)
		}
		if len(r.Ops) > lim.MaxOps || len(r.Ops) == 0 {
			t.Errorf("request %d: %d ops", ri, len(r.Ops))
		}
		var body struct {
			Schemas      []string
			FailOnErrors int
			Operations   []struct {
				Method, Path, BulkID string
				Data                 json.RawMessage
			}
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("request %d: invalid JSON: %v", ri, err)
		}
		if len(body.Operations) != len(r.Ops) || body.Schemas[0] != URNBulkReq || body.FailOnErrors == 0 {
			t.Fatalf("request %d: body/ops mismatch", ri)
		}
		prev := -1
		for k, i := range r.Ops {
			if seen[i] {
				t.Errorf("op %d packed twice", i)
			}
			seen[i] = true
			if i < prev {
				t.Errorf("request %d: order not kept", ri)
			}
			prev = i
			if body.Operations[k].BulkID != ops[i].BulkID {
				t.Errorf("request %d op %d: bulkId %s want %s", ri, k, body.Operations[k].BulkID, ops[i].BulkID)
			}
		}
	}
}

func TestPackLimits(t *testing.T) {
	tests := []struct {
		name    string
		count   int
		size    int
		lim     Limits
		wantErr bool
	}{
		{"count bound", 1000, 3500, DefaultLimits, false},
		{"byte bound", 600, 9000, DefaultLimits, false},
		{"tiny limits", 50, 1200, Limits{MaxOps: 7, MaxBytes: 6000}, false},
		{"one op per request", 10, 3000, Limits{MaxOps: 1, MaxBytes: 409600}, false},
		{"empty", 0, 1000, DefaultLimits, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops := sampleOps(tt.count, tt.size)
			reqs, err := Pack(ops, tt.lim)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			lim := tt.lim.withDefaults()
			checkRequests(t, ops, reqs, lim)
			total := 0
			for _, r := range reqs {
				total += len(r.Ops)
			}
			if total != tt.count {
				t.Fatalf("packed %d of %d", total, tt.count)
			}
			// Lower bound from both limits: every request carries the
			// envelope, and every operation its encoding plus a separator.
			overhead := len(bodyPrefix(lim)) + len(bodySuffix)
			opBytes := 0
			for i := range ops {
				enc, _ := EncodeOperation(&ops[i])
				opBytes += len(enc) + 1
			}
			bound := (tt.count + lim.MaxOps - 1) / lim.MaxOps
			if b := (opBytes + lim.MaxBytes - overhead - 1) / (lim.MaxBytes - overhead); b > bound {
				bound = b
			}
			if len(reqs) > bound+1 {
				t.Errorf("%d requests, lower bound %d", len(reqs), bound)
			}
			t.Logf("%d ops -> %d requests (lower bound %d)", tt.count, len(reqs), bound)
		})
	}
}

func TestPackOversize(t *testing.T) {
	ops := sampleOps(5, 2000)
	ops[2].Data = sampleUser(2, 20000)
	ops[2].Sources = []Source{{File: "big.txt", Line: 42, Record: "350"}}
	reqs, err := Pack(ops, Limits{MaxOps: 100, MaxBytes: 10000})
	var oe *OversizeError
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v, want OversizeError", err)
	}
	if oe.BulkID != ops[2].BulkID || !strings.Contains(err.Error(), "big.txt:42 (record 350)") {
		t.Errorf("error does not name the source: %v", err)
	}
	n := 0
	for _, r := range reqs {
		n += len(r.Ops)
		for _, i := range r.Ops {
			if i == 2 {
				t.Error("oversize op packed")
			}
		}
	}
	if n != 4 {
		t.Errorf("packed %d, want 4", n)
	}
}

func TestBuilderExactSize(t *testing.T) {
	b := NewBuilder(Limits{MaxOps: 3, MaxBytes: 8000})
	ops := sampleOps(4, 100)
	for i := range ops {
		enc, _ := EncodeOperation(&ops[i])
		size := b.Size()
		if b.Add(i, enc) != (i < 3) {
			t.Fatalf("Add %d", i)
		}
		if i < 3 && i > 0 && b.Size() != size+len(enc)+1 {
			t.Fatalf("size accounting off")
		}
	}
	want := b.Size()
	r := b.Finish()
	if len(r.Body) != want || !json.Valid(r.Body) {
		t.Errorf("body %d bytes, measured %d", len(r.Body), want)
	}
	if b.Len() != 0 {
		t.Error("not reset")
	}
}

func TestDependencies(t *testing.T) {
	post := func(n string, refs ...string) Node { return Node{Method: "POST", EmployeeNumber: n, Refs: refs} }
	tests := []struct {
		name  string
		nodes []Node
		deps  [][]int32
		split []bool
	}{
		{"chain A->B->C", []Node{post("A", "B"), post("B", "C"), post("C")},
			[][]int32{{1}, {2}, nil}, []bool{false, false, false}},
		{"cycle A<->B plus C->A", []Node{post("A", "B"), post("B", "A"), post("C", "A")},
			[][]int32{{1}, {0}, {0}}, []bool{true, true, false}},
		{"three-cycle", []Node{post("A", "B"), post("B", "C"), post("C", "A")},
			[][]int32{{1}, {2}, {0}}, []bool{true, true, true}},
		{"self reference", []Node{post("A", "A", "X")}, [][]int32{nil}, []bool{true}},
		{"patch and outside refs", []Node{{Method: "PATCH", EmployeeNumber: "P", Refs: []string{"A", "Z"}}, post("A", "P")},
			[][]int32{{1}, nil}, []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Dependencies(tt.nodes)
			if !reflect.DeepEqual(g.Deps, tt.deps) || !reflect.DeepEqual(g.Split, tt.split) {
				t.Errorf("got deps %v split %v, want %v %v", g.Deps, g.Split, tt.deps, tt.split)
			}
		})
	}
	// A long chain must not blow the stack.
	var nodes []Node
	for i := 0; i < 200000; i++ {
		nodes = append(nodes, post(fmt.Sprint(i), fmt.Sprint(i+1)))
	}
	nodes = append(nodes, post("200000", "0"))
	g := Dependencies(nodes)
	if !g.Split[0] || !g.Split[200000] {
		t.Error("long cycle not split")
	}
}

func BenchmarkPack(b *testing.B) {
	ops := sampleOps(10000, 3500)
	var bytes int64
	for i := range ops {
		bytes += int64(len(ops[i].Data))
	}
	b.SetBytes(bytes)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Pack(ops, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ops)*b.N)/b.Elapsed().Seconds(), "ops/s")
}

func FuzzSplitReferences(f *testing.F) {
	f.Add([]byte(fullUser))
	f.Add([]byte(`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, patch, err := SplitReferences(data)
		if err != nil {
			return
		}
		if r := Refs(id); len(r) != 0 {
			t.Fatalf("identity still references %v", r)
		}
		if len(Refs(data)) > 0 && patch == nil {
			t.Fatalf("references dropped without a patch")
		}
		if patch != nil && !json.Valid(patch) {
			t.Fatalf("invalid patch %s", patch)
		}
		if !json.Valid(id) {
			t.Fatalf("invalid identity %s", id)
		}
	})
}

// TestOrder: waves, split creations and their reference patches, last
// operations, and packing within each wave.
func TestOrder(t *testing.T) {
	post := func(emp string, refs ...string) Node { return Node{Method: "POST", EmployeeNumber: emp, Refs: refs} }
	tests := []struct {
		name  string
		nodes []Node
		lim   Limits
		want  string // requests: wave:items, items "i" or "i+refs"
	}{
		{"chain", []Node{post("A", "B"), post("B", "C"), post("C")}, Limits{}, "0:[2] 1:[1] 2:[0]"},
		{"cycle and a dependant", []Node{post("A", "B"), post("B", "A"), post("C", "A")}, Limits{}, "0:[0 1] 1:[2 0r 1r]"},
		{"self reference", []Node{post("D", "D")}, Limits{}, "0:[0] 1:[0r]"},
		{"deactivation last", []Node{{Method: "PATCH", EmployeeNumber: "X", Last: true}, post("A", "B"), post("B")}, Limits{}, "0:[2] 1:[1] 2:[0]"},
		{"packing by count", []Node{post("A"), post("B"), post("C")}, Limits{MaxOps: 2}, "0:[0 1] 0:[2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Order(tt.nodes, tt.lim, func(Item) (int, error) { return 10, nil }, func(Item, int) error { return errors.New("oversize") })
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for r := 0; r < s.Requests(); r++ {
				var items []string
				for _, st := range s.Steps {
					if st.Request != r {
						continue
					}
					it := fmt.Sprint(st.Op)
					if st.Refs {
						it += "r"
					}
					items = append(items, it)
				}
				parts = append(parts, fmt.Sprintf("%d:%v", s.Waves[r], items))
			}
			if got := strings.Join(parts, " "); got != tt.want {
				t.Errorf("schedule %s, want %s", got, tt.want)
			}
		})
	}
}

// TestWireSize: a reference patch is measured with the id its path gets.
func TestWireSize(t *testing.T) {
	op := Operation{Kind: KindRefs, Path: ParentRef + "f.txt-1", Parent: "f.txt-1"}
	if got := WireSize(&op, make([]byte, 100)); got != 100+IDLen-len("bulkId:f.txt-1") {
		t.Errorf("WireSize = %d", got)
	}
	op.Kind = ""
	if got := WireSize(&op, make([]byte, 100)); got != 100 {
		t.Errorf("WireSize of a plain operation = %d", got)
	}
}
