package upsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBulkAcceptedThenCompleted(t *testing.T) {
	for _, delay := range []time.Duration{0, 5 * time.Millisecond} {
		t.Run(fmt.Sprint("delay=", delay), func(t *testing.T) {
			opts := baseOpts()
			opts.CompletionDelay = delay
			c := newTC(t, opts)
			b, _ := json.Marshal(bulkBody(createOp("r1", "a@example.com", "1", nil), createOp("r2", "b@example.com", "2", nil)))
			resp, raw, err := c.raw("POST", "/profile/v4/Bulk", b, map[string]string{"concur-correlationid": "corr-1"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d: %s", resp.StatusCode, raw)
			}
			var acc map[string]any
			if err := json.Unmarshal(raw, &acc); err != nil {
				t.Fatal(err)
			}
			id := acc["id"].(string)
			want := map[string]any{"total": 2.0, "success": 0.0, "failed": 0.0, "pending": 2.0}
			if fmt.Sprint(acc["operationsCount"]) != fmt.Sprint(want) {
				t.Errorf("operationsCount = %v", acc["operationsCount"])
			}
			st := acc["status"].(map[string]any)
			if st["completed"] != false || st["success"] != nil {
				t.Errorf("status = %v (want completed false, success null)", st)
			}
			meta := acc["meta"].(map[string]any)
			if meta["location"] != c.base+"/profile/v4/provisions/"+id+"/status" || meta["provisionType"] != "Bulk" ||
				meta["resourceType"] != "ProvisionRequest" || meta["correlationId"] != "corr-1" {
				t.Errorf("meta = %v", meta)
			}
			if resp.Header.Get("Location") != meta["location"] || resp.Header.Get("concur-correlationid") != "corr-1" {
				t.Errorf("headers %v", resp.Header)
			}
			if acc["schemas"].([]any)[0] != urnProvisionStatus {
				t.Errorf("schemas %v", acc["schemas"])
			}
			done := c.wait(id)
			if done["status"].(map[string]any)["success"] != true {
				t.Errorf("final status %v", done)
			}
			if _, ok := done["meta"].(map[string]any)["completed"]; !ok {
				t.Errorf("no meta.completed in %v", done["meta"])
			}
			if _, ok := done["operations"]; ok {
				t.Error("summary status must not list operations")
			}
			ops := c.operations(id, "")
			if len(ops) != 2 || ops[0]["id"] != "1" || ops[1]["bulkId"] != "r2" || opCodeOf(ops[0]) != "200" {
				t.Fatalf("operations %v", ops)
			}
			res := ops[0]["resource"].(map[string]any)
			if res["type"] != "User" || res["id"] == "" {
				t.Errorf("resource %v", res)
			}
			if code, result, _ := extCode(t, ops[0], urnCore); code != "200" || result != "success" {
				t.Errorf("core ext %s %s", code, result)
			}
			if _, result, _ := extCode(t, ops[0], urnTravel); result != "no-op" {
				t.Errorf("travel ext %s", result)
			}
			if len(c.s.Users()) != 2 {
				t.Errorf("users: %d", len(c.s.Users()))
			}
		})
	}
}

func TestStatusPagingAndStateFilter(t *testing.T) {
	opts := baseOpts()
	opts.PageSize = 4
	c := newTC(t, opts)
	seedUser(t, c.s, "taken@example.com", "taken", nil)
	var ops []map[string]any
	for i := 1; i <= 25; i++ {
		if i%5 == 0 { // 5 duplicates of the seeded userName
			ops = append(ops, createOp(fmt.Sprint("b", i), "TAKEN@example.com", fmt.Sprint(i), nil))
			continue
		}
		ops = append(ops, createOp(fmt.Sprint("b", i), fmt.Sprintf("u%d@example.com", i), fmt.Sprint(i), nil))
	}
	id := c.submit(ops...)
	sum := c.wait(id)
	if fmt.Sprint(sum["operationsCount"]) != fmt.Sprint(map[string]any{"total": 25.0, "success": 20.0, "failed": 5.0, "pending": 0.0}) {
		t.Fatalf("counts %v", sum["operationsCount"])
	}
	if sum["status"].(map[string]any)["success"] != false {
		t.Errorf("success should be false: %v", sum["status"])
	}

	tests := []struct {
		query                          string
		total, items, start, firstOpID int
	}{
		{"attributes=operations", 25, 4, 1, 1}, // default count = PageSize
		{"attributes=operations&count=10&startIndex=11", 25, 10, 11, 11},
		{"attributes=operations&count=10&startIndex=21", 25, 5, 21, 21},
		{"attributes=operations&count=10&startIndex=30", 25, 0, 30, 0},
		{"attributes=operations&count=0", 25, 0, 1, 0},
		{"attributes=operations&state=failed&count=100", 5, 5, 1, 5},
		{"attributes=operations&state=success&count=3&startIndex=5", 20, 3, 5, 6},
		{"attributes=operations&state=pending", 0, 0, 1, 0},
		{"attributes=operations&state=success,failed&count=100", 25, 25, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			st, body := c.call("GET", "/profile/v4/provisions/"+id+"/status?"+tt.query, nil)
			if st != 200 {
				t.Fatalf("%d %v", st, body)
			}
			got := []int{int(body["totalResults"].(float64)), int(body["itemsPerPage"].(float64)), int(body["startIndex"].(float64))}
			if fmt.Sprint(got) != fmt.Sprint([]int{tt.total, tt.items, tt.start}) {
				t.Errorf("total/items/start = %v", got)
			}
			ops := body["operations"].([]any)
			if len(ops) != tt.items {
				t.Fatalf("%d operations", len(ops))
			}
			if tt.firstOpID > 0 && ops[0].(map[string]any)["id"] != fmt.Sprint(tt.firstOpID) {
				t.Errorf("first op id %v", ops[0].(map[string]any)["id"])
			}
		})
	}
	// Walking pages of failed operations yields each failure once.
	failed := c.operations(id, "failed")
	if len(failed) != 5 {
		t.Fatalf("%d failed", len(failed))
	}
	for _, op := range failed {
		if opCodeOf(op) != "409" {
			t.Errorf("failed op code %s", opCodeOf(op))
		}
	}
	if st, _ := c.call("GET", "/profile/v4/provisions/"+id+"/status?attributes=operations&state=bogus", nil); st != 400 {
		t.Errorf("bad state: %d", st)
	}
	if st, body := c.call("GET", "/profile/v4/provisions/00000000-0000-0000-0000-000000000000/status", nil); st != 404 || body["status"] != "404" {
		t.Errorf("unknown provision: %d %v", st, body)
	}
}

func TestPendingStateBeforeCompletion(t *testing.T) {
	opts := baseOpts()
	opts.CompletionDelay = time.Hour
	c := newTC(t, opts)
	id := c.submit(createOp("a", "a@example.com", "1", nil), createOp("b", "b@example.com", "2", nil))
	pending := c.operations(id, "pending")
	if len(pending) != 2 {
		t.Fatalf("pending %v", pending)
	}
	if st := pending[0]["status"].(map[string]any); st["completed"] != false || st["success"] != nil {
		t.Errorf("pending op status %v", st)
	}
	if got := c.operations(id, "success"); len(got) != 0 {
		t.Errorf("success before completion: %v", got)
	}
	if len(c.s.Users()) != 0 {
		t.Error("users created before CompletionDelay")
	}
	c.s.CompletePending()
	if got := c.operations(id, "success"); len(got) != 2 {
		t.Errorf("after CompletePending: %v", got)
	}
}

func TestBulkRejected(t *testing.T) {
	c := newTC(t, baseOpts())
	many := make([]map[string]any, 101)
	for i := range many {
		many[i] = createOp(fmt.Sprint("b", i), fmt.Sprintf("u%d@example.com", i), fmt.Sprint(i), nil)
	}
	big := createOp("big", "big@example.com", "big", nil)
	big["data"].(map[string]any)["title"] = strings.Repeat("x", 409600)
	enc := func(v any) []byte { b, _ := json.Marshal(v); return b }
	tests := []struct {
		name   string
		body   []byte
		ctype  string
		status int
		want   string
	}{
		{"101 operations", enc(bulkBody(many...)), "", 413, "TOO_MANY_OPERATIONS"},
		{"over 409600 bytes", enc(bulkBody(big)), "", 413, "PAYLOAD_TOO_LARGE"},
		{"malformed JSON", []byte(`{"schemas":[`), "", 400, "invalidSyntax"},
		{"trailing data", []byte(`{"schemas":["` + urnBulkRequest + `"],"Operations":[]} {}`), "", 400, "invalidSyntax"},
		{"no schemas", enc(map[string]any{"Operations": []any{createOp("a", "a@example.com", "1", nil)}}), "", 400, "schemas"},
		{"no operations", enc(bulkBody()), "", 400, "at least one"},
		{"missing bulkId on POST", enc(bulkBody(map[string]any{"method": "POST", "path": "/Users", "data": userData("a@example.com", "1", nil)})), "", 400, "bulkId"},
		{"duplicate bulkId", enc(bulkBody(createOp("x", "a@example.com", "1", nil), createOp("x", "b@example.com", "2", nil))), "", 400, "already used"},
		{"bad method", enc(bulkBody(map[string]any{"method": "GET", "path": "/Users/1", "bulkId": "x"})), "", 400, "unsupported method"},
		{"POST to id path", enc(bulkBody(map[string]any{"method": "POST", "path": "/Users/1", "bulkId": "x", "data": map[string]any{}})), "", 400, "POST path"},
		{"data not object", enc(bulkBody(map[string]any{"method": "PATCH", "path": "/Users/1", "data": []any{}})), "", 400, "data must be an object"},
		{"bad failOnErrors", []byte(`{"schemas":["` + urnBulkRequest + `"],"failOnErrors":"x","Operations":[]}`), "", 400, ""},
		{"form content type", enc(bulkBody(createOp("a", "a@example.com", "1", nil))), "application/x-www-form-urlencoded", 415, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.ctype != "" {
				hdr["Content-Type"] = tt.ctype
			}
			resp, body, err := c.raw("POST", "/profile/v4/Bulk/", tt.body, hdr)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tt.status, body)
			}
			mustContain(t, string(body), fmt.Sprintf(`"status":"%d"`, tt.status))
			mustContain(t, string(body), tt.want)
		})
	}
	// Exactly 100 operations, and exactly 409600 bytes, are accepted.
	if st, body := c.call("POST", "/profile/v4/Bulk", bulkBody(many[:100]...)); st != 202 {
		t.Fatalf("100 ops: %d %v", st, body)
	}
	exact := enc(bulkBody(createOp("exact", "exact@example.com", "exact", nil)))
	exact = append(exact, []byte(strings.Repeat(" ", 409600-len(exact)))...)
	if resp, body, err := c.raw("POST", "/profile/v4/Bulk", exact, nil); err != nil || resp.StatusCode != 202 {
		t.Fatalf("409600 bytes: %v %.200s", err, body)
	}
	st := c.s.Stats()
	if st.BulkRejected != len(tests) || st.BulkAccepted != 2 || st.Operations != 101 {
		t.Errorf("stats %+v", st)
	}
}

func TestDuplicates(t *testing.T) {
	c := newTC(t, baseOpts())
	seedUser(t, c.s, "Chris.Doe@example.com", "100", nil)
	ops := c.run(
		createOp("dup-name", "chris.doe@EXAMPLE.com", "200", nil),
		createOp("dup-emp", "other@example.com", "100", nil),
		createOp("in-request-1", "pat@example.com", "300", nil),
		createOp("in-request-2", "PAT@example.com", "301", nil),
	)
	tests := []struct {
		op       int
		code     string
		ext      string
		extCode  string
		msg      string
		resource bool
	}{
		{0, "409", urnCore, "409", "UNIQUENESS", false},
		{1, "409", urnEnterprise, "409", "UNIQUENESS", false},
		{2, "200", urnCore, "200", "", true},
		{3, "409", urnCore, "409", "UNIQUENESS", false},
	}
	for _, tt := range tests {
		op := ops[tt.op]
		if opCodeOf(op) != tt.code {
			t.Errorf("op %d code %s, want %s", tt.op, opCodeOf(op), tt.code)
		}
		code, _, msg := extCode(t, op, tt.ext)
		if code != tt.extCode || msg != tt.msg {
			t.Errorf("op %d ext %s: %s %s", tt.op, tt.ext, code, msg)
		}
		if _, has := op["resource"]; has != tt.resource {
			t.Errorf("op %d resource present=%v", tt.op, has)
		}
		if tt.code == "409" {
			// Other extensions are not processed.
			if _, result, _ := extCode(t, op, urnSpendUser); result != "no-op" {
				t.Errorf("spend ext %s", result)
			}
		}
	}
	if n := len(c.s.Users()); n != 2 {
		t.Errorf("%d users, want 2", n)
	}
	if d := c.s.Stats().DuplicateAttempts; d != 3 {
		t.Errorf("DuplicateAttempts = %d", d)
	}
}

func TestIdentityValidation(t *testing.T) {
	opts := baseOpts()
	opts.CompanyID = "company-1"
	opts.StrictRequired = true
	c := newTC(t, opts)
	noEmp := userData("x@example.com", "1", nil)
	delete(noEmp, urnEnterprise)
	badChar := userData("x,y@example.com", "2", nil)
	noAt := userData("nobody", "3", nil)
	otherCo := userData("co@example.com", "4", nil)
	otherCo[urnEnterprise].(map[string]any)["companyId"] = "company-2"
	noCo := userData("noco@example.com", "5", nil)
	delete(noCo[urnEnterprise].(map[string]any), "companyId")
	noGiven := userData("ng@example.com", "6", nil)
	noGiven["name"] = map[string]any{"familyName": "F"}
	unknownURN := userData("uu@example.com", "7", map[string]any{"urn:ietf:params:scim:schemas:extension:foo:2.0:User": map[string]any{}})
	unknownAttr := userData("ua@example.com", "8", map[string]any{"favouriteColour": "blue"})
	badEnt := userData("badent@example.com", "9", nil)
	badEnt["entitlements"] = []any{"Expense", "Golf"}
	post := func(id string, d map[string]any) map[string]any {
		return map[string]any{"method": "POST", "path": "/Users", "bulkId": id, "data": d}
	}
	ops := c.run(post("a", noEmp), post("b", badChar), post("c", noAt), post("d", otherCo), post("e", noCo),
		post("f", noGiven), post("g", unknownURN), post("h", unknownAttr), post("i", badEnt))
	want := []struct{ code, ext, msg string }{
		{"400", urnEnterprise, "INVALID_VALUE"},
		{"400", urnCore, "INVALID_VALUE"},
		{"400", urnCore, "INVALID_VALUE"},
		{"400", urnEnterprise, "INVALID_VALUE"},
		{"200", urnCore, ""},
		{"400", urnCore, "INVALID_VALUE"},
		{"400", urnCore, "INVALID_INPUT"},
		{"400", urnCore, "INVALID_INPUT"},
		{"400", urnCore, "INVALID_VALUE"},
	}
	for i, w := range want {
		if opCodeOf(ops[i]) != w.code {
			t.Errorf("op %d: code %s want %s: %v", i, opCodeOf(ops[i]), w.code, ops[i])
			continue
		}
		if _, _, msg := extCode(t, ops[i], w.ext); msg != w.msg {
			t.Errorf("op %d: message %q want %q", i, msg, w.msg)
		}
	}
	u, ok := c.s.UserByEmployeeNumber("5")
	if !ok {
		t.Fatal("user 5 missing")
	}
	mustContain(t, string(u), `"companyId":"company-1"`) // filled in
}

func TestExtensionFailures(t *testing.T) {
	c := newTC(t, baseOpts())
	seedUser(t, c.s, "boss@example.com", "BOSS", nil)
	spend := func(cur string) map[string]any {
		return map[string]any{"reimbursementCurrency": cur, "country": "US", "locale": "en-US"}
	}
	approver := func(emp string) map[string]any {
		return map[string]any{"report": []any{map[string]any{"approver": map[string]any{"employeeNumber": emp}, "primary": true}}}
	}
	ops := c.run(
		// 0: unknown approver → 207, identity created, Approver INVALID_USER 404.
		createOp("unknown-approver", "a@example.com", "A", map[string]any{urnSpendUser: spend("USD"), urnApprover: approver("NOPE")}),
		// 1: known approver (seeded) and one created earlier in this request.
		createOp("known-approver", "b@example.com", "B", map[string]any{urnSpendUser: spend("EUR"),
			urnApprover: map[string]any{"report": []any{
				map[string]any{"approver": map[string]any{"employeeNumber": "BOSS"}, "primary": true},
				map[string]any{"approver": map[string]any{"employeeNumber": "A"}, "primary": false},
			}}}),
		// 2: invalid currency → Spend User 400, dependants blocked (no-op).
		createOp("bad-currency", "c@example.com", "C", map[string]any{urnSpendUser: spend("US1"), urnRole: map[string]any{"roles": []any{map[string]any{"roleName": "EXP_USER"}}}}),
		// 3: Approver without any Spend User → 400 INVALID_INPUT.
		createOp("no-spend-user", "d@example.com", "D", map[string]any{urnApprover: approver("BOSS")}),
		// 4: travel manager unknown, delegate unknown, biManager unknown.
		createOp("travel", "e@example.com", "E", map[string]any{
			urnTravel:    map[string]any{"ruleClass": map[string]any{"name": "Default"}, "manager": map[string]any{"employeeNumber": "NOPE"}},
			urnSpendUser: map[string]any{"reimbursementCurrency": "USD", "country": "US", "locale": "en-US", "biManager": map[string]any{"employeeNumber": "BOSS"}},
			urnDelegate:  map[string]any{"expense": []any{map[string]any{"delegate": map[string]any{"employeeNumber": "GHOST"}, "canApprove": true}}},
		}),
		// 5: enterprise manager unknown → identity fails, no user.
		createOp("bad-manager", "f@example.com", "F", map[string]any{urnEnterprise: map[string]any{"employeeNumber": "F", "manager": map[string]any{"employeeNumber": "NOPE"}}}),
		// 6: non-primary budget approver and missing travel ruleClass.
		createOp("bad-values", "g@example.com", "G", map[string]any{urnSpendUser: spend("USD"),
			urnApprover: map[string]any{"budget": []any{map[string]any{"approver": map[string]any{"employeeNumber": "BOSS"}, "primary": false}}},
			urnTravel:   map[string]any{"travelNameRemark": "x"}}),
	)
	type ext struct{ urn, code, result, msg string }
	tests := []struct {
		name string
		op   int
		code string
		exts []ext
		user string
	}{
		{"unknown approver", 0, "207", []ext{{urnCore, "200", "success", ""}, {urnSpendUser, "200", "success", ""}, {urnApprover, "404", "error", "INVALID_USER"}}, "A"},
		{"known approvers", 1, "200", []ext{{urnApprover, "200", "success", ""}}, "B"},
		{"bad currency", 2, "207", []ext{{urnSpendUser, "400", "error", "INVALID_VALUE"}, {urnRole, "200", "no-op", ""}}, "C"},
		{"no spend user", 3, "207", []ext{{urnApprover, "400", "error", "INVALID_INPUT"}}, "D"},
		{"travel and delegate", 4, "207", []ext{{urnTravel, "404", "error", "INVALID_USER"}, {urnDelegate, "404", "error", "INVALID_USER"}, {urnSpendUser, "200", "success", ""}}, "E"},
		{"enterprise manager", 5, "404", []ext{{urnEnterprise, "404", "error", "INVALID_USER"}}, ""},
		{"bad values", 6, "207", []ext{{urnApprover, "400", "error", "INVALID_VALUE"}, {urnTravel, "400", "error", "INVALID_VALUE"}}, "G"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := ops[tt.op]
			if opCodeOf(op) != tt.code {
				t.Fatalf("code %s, want %s: %v", opCodeOf(op), tt.code, op)
			}
			if tt.code != "200" && op["status"].(map[string]any)["success"] != false {
				t.Errorf("success should be false")
			}
			for _, e := range tt.exts {
				code, result, msg := extCode(t, op, e.urn)
				if code != e.code || result != e.result || msg != e.msg {
					t.Errorf("%s: %s %s %s, want %s %s %s", e.urn, code, result, msg, e.code, e.result, e.msg)
				}
			}
			if tt.user != "" {
				raw, ok := c.s.UserByEmployeeNumber(tt.user)
				if !ok {
					t.Fatalf("user %s not created", tt.user)
				}
				u := decodeMap(t, raw)
				if op["resource"].(map[string]any)["id"] != u["id"] {
					t.Errorf("resource id mismatch")
				}
			}
		})
	}
	// The failing Approver was not stored; the stored approver refs got their uuid.
	a, _ := c.s.UserByEmployeeNumber("A")
	if strings.Contains(string(a), urnApprover) {
		t.Errorf("failed approver extension stored: %s", a)
	}
	b, _ := c.s.UserByEmployeeNumber("B")
	bm := decodeMap(t, b)
	rep := bm[urnApprover].(map[string]any)["report"].([]any)
	boss, _ := c.s.UserByEmployeeNumber("BOSS")
	if rep[0].(map[string]any)["approver"].(map[string]any)["value"] != decodeMap(t, boss)["id"] {
		t.Errorf("approver value not resolved: %v", rep)
	}
	if _, _, msg := extCode(t, ops[0], urnApprover); msg != "INVALID_USER" {
		t.Error(msg)
	}
	mustContain(t, fmt.Sprint(extOf(t, ops[0], urnApprover)["messages"]), "Employee does not exist")
}

func TestPutAndDelete(t *testing.T) {
	c := newTC(t, baseOpts())
	id := seedUser(t, c.s, "p@example.com", "P", map[string]any{urnTravel: map[string]any{"ruleClass": map[string]any{"id": 5}}})
	full := userData("p2@example.com", "P", map[string]any{"id": id, urnSpendUser: map[string]any{"reimbursementCurrency": "USD", "country": "US", "locale": "en-US"}})
	wrongID := userData("p3@example.com", "P", map[string]any{"id": "other"})
	ops := c.run(
		map[string]any{"method": "PUT", "path": "/Users/" + id, "bulkId": "put", "data": full},
		map[string]any{"method": "PUT", "path": "/Users/" + id, "bulkId": "put-bad", "data": wrongID},
		map[string]any{"method": "PUT", "path": "/Users/nope", "bulkId": "put-404", "data": full},
	)
	if opCodeOf(ops[0]) != "200" || opCodeOf(ops[1]) != "400" || opCodeOf(ops[2]) != "404" {
		t.Fatalf("codes %s %s %s", opCodeOf(ops[0]), opCodeOf(ops[1]), opCodeOf(ops[2]))
	}
	u, _ := c.s.UserByEmployeeNumber("P")
	m := decodeMap(t, u)
	if m["userName"] != "p2@example.com" || m[urnTravel] != nil || m[urnSpendUser] == nil {
		t.Errorf("PUT did not replace: %v", m)
	}
	if m["meta"].(map[string]any)["version"] != `W/"2"` {
		t.Errorf("version %v", m["meta"])
	}
	ops = c.run(map[string]any{"method": "DELETE", "path": "/Users/" + id, "bulkId": "del"},
		map[string]any{"method": "DELETE", "path": "/Users/" + id, "bulkId": "del-again"})
	if opCodeOf(ops[0]) != "204" || opCodeOf(ops[1]) != "404" {
		t.Errorf("delete codes %s %s", opCodeOf(ops[0]), opCodeOf(ops[1]))
	}
	if len(c.s.Users()) != 0 {
		t.Error("user not deleted")
	}
}

// TestListOrderAfterDeletes: users are listed in creation order, kept as
// they are created (not sorted per page), without the deleted ones.
func TestListOrderAfterDeletes(t *testing.T) {
	c := newTC(t, baseOpts())
	var ids []string
	for _, e := range []string{"A", "B", "C"} {
		ids = append(ids, seedUser(t, c.s, strings.ToLower(e)+"@example.com", e, nil))
	}
	ops := c.run(map[string]any{"method": "DELETE", "path": "/Users/" + ids[1], "bulkId": "del"})
	if opCodeOf(ops[0]) != "204" {
		t.Fatalf("delete: %s", opCodeOf(ops[0]))
	}
	seedUser(t, c.s, "d@example.com", "D", nil)
	var got []string
	for _, u := range c.s.Users() {
		got = append(got, decodeMap(t, u)[urnEnterprise].(map[string]any)["employeeNumber"].(string))
	}
	if strings.Join(got, " ") != "A C D" {
		t.Errorf("users listed %v, want A C D", got)
	}
}
