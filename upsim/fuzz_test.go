package upsim

import (
	"encoding/json"
	"testing"
	"time"
)

func FuzzPatchPath(f *testing.F) {
	for _, s := range []string{
		"active", "name.givenName", `emails[type eq "work"].value`, `emails[primary eq true]`,
		urnSpendUser + `:customData[id eq "custom1"].value`, urnRole + `:roles[roleName eq "X"]`,
		urnRole + ":", urnApproverLimit + `:authorizedApprover[approvalType eq "report" and approvalGroup eq "g"]`,
		`entitlements[value eq "Expense"]`, urnApprover + `:report[approver.value eq "u"]`,
		`emails[type eq "w\"x"]`, `a[(b eq 1) or not (c pr)].d`, "[", `x["]`,
	} {
		f.Add(s, "replace", `"v"`)
		f.Add(s, "remove", ``)
		f.Add(s, "add", `{"k":[1,{"a":null}]}`)
	}
	f.Fuzz(func(t *testing.T, path, op, value string) {
		p, err := parsePatchPath(path)
		if err != nil {
			return
		}
		_ = p.schemaPath()
		var v any
		if value != "" {
			if v, err = decodeValue([]byte(value)); err != nil {
				return
			}
		}
		doc := copyObject(richUser())
		if e := applyPatchOp(doc, op, p, v); e == nil {
			if _, err := json.Marshal(doc); err != nil {
				t.Fatalf("patched doc does not marshal: %v", err)
			}
		} else if e.status == 0 || e.code == "" {
			t.Fatalf("error without status/code: %+v", e)
		}
	})
}

func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "a"`, `employeeNumber eq "1" or employeeNumber eq "2"`,
		urnEnterprise + `:employeeNumber eq "3"`, `emails[type eq "work" and value co "@"]`,
		`not (active eq true) and meta.lastModified gt "2020"`, `n ge 1.5e3`, `title pr`,
	} {
		f.Add(s)
	}
	doc := copyObject(richUser())
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseFilter(s, true)
		if err != nil {
			return
		}
		evalFilter(n, doc)
		eqTerms(n)
	})
}

// FuzzBulk decodes arbitrary Bulk bodies and runs whatever is accepted
// through operation processing.
func FuzzBulk(f *testing.F) {
	ok := mustJSON(bulkBody(
		createOp("a", "a@example.com", "1", map[string]any{urnSpendUser: map[string]any{"reimbursementCurrency": "USD", "country": "US", "locale": "en-US"}}),
		patchOp("b", "00000000-0000-4000-8000-000000000001", op("replace", "active", false)),
		map[string]any{"method": "PUT", "path": "/Users/x", "data": map[string]any{"id": "x"}},
		map[string]any{"method": "DELETE", "path": "/Users/x"},
	))
	f.Add([]byte(ok))
	f.Add([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"PATCH","path":"/Users/00000000-0000-4000-8000-000000000001","data":{"Operations":[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:spend:2.0:Role:roles":[{"roleName":"X"}]}}]}}]}`))
	f.Add([]byte(`{"Operations":[{}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ops, herr := decodeBulk(body, 100)
		if herr != nil {
			if herr.status != 400 && herr.status != 413 {
				t.Fatalf("status %d", herr.status)
			}
			return
		}
		s := New(Options{Seed: 1})
		if err := s.Seed(mustJSON(map[string]any{"id": "00000000-0000-4000-8000-000000000001", "userName": "s@example.com",
			urnEnterprise: map[string]any{"employeeNumber": "S"}})); err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		p := &provision{id: "p", pending: len(ops)}
		for i, o := range ops {
			p.ops = append(p.ops, &bulkOp{index: i + 1, method: o.method, path: o.path, bulkID: o.bulkID, data: o.data})
		}
		for _, op := range p.ops {
			s.runOp(p, op, time.Unix(0, 0))
		}
		b := mustJSON(s.statusBody(p, "", &opsPage{startIndex: 1, count: 1000}))
		if p.pending != 0 || p.succeeded+p.failed != len(ops) || len(b) == 0 {
			t.Fatalf("bad provision state %+v", p)
		}
		for _, u := range s.users {
			mustJSON(u.fullView(""))
		}
	})
}
