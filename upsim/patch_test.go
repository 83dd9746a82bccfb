package upsim

import (
	"fmt"
	"strings"
	"testing"
)

func richUser() map[string]any {
	return userData("rich@example.com", "R1", map[string]any{
		"emails": []any{
			map[string]any{"type": "work", "value": "rich@example.com", "primary": true},
			map[string]any{"type": "home", "value": "rich@home.example"},
		},
		"entitlements": []any{"Expense", "Travel"},
		urnSpendUser: map[string]any{"reimbursementCurrency": "USD", "country": "US", "locale": "en-US",
			"customData": []any{map[string]any{"id": "custom1", "value": "a"}, map[string]any{"id": "custom2", "value": "b"}}},
		urnRole: map[string]any{"roles": []any{map[string]any{"roleName": "EXP_USER"}, map[string]any{"roleName": "SHD_BUDGET_APPROVER", "roleGroups": []any{"R&D-QA"}}}},
		urnTravel: map[string]any{"ruleClass": map[string]any{"name": "Default"},
			"customFields": []any{map[string]any{"name": "Canary ID", "value": "1"}}},
	})
}

// get walks a decoded user by keys/indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func op(o, path string, value any) map[string]any {
	m := map[string]any{"op": o}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

func TestPatch(t *testing.T) {
	sp := func(a string) string { return urnSpendUser + ":" + a }
	type extWant struct{ urn, code, msg string }
	tests := []struct {
		name  string
		ops   []map[string]any
		code  string
		exts  []extWant
		check func(t *testing.T, u map[string]any)
	}{
		{"replace active", []map[string]any{op("replace", "active", false)}, "200", []extWant{{urnCore, "200", ""}},
			func(t *testing.T, u map[string]any) {
				if u["active"] != false {
					t.Error(u["active"])
				}
			}},
		{"replace sub-attribute and Azure-style op case", []map[string]any{op("Replace", "name.givenName", "Jon")}, "200", nil,
			func(t *testing.T, u map[string]any) {
				if get(u, "name", "givenName") != "Jon" || get(u, "name", "familyName") != "Family" {
					t.Error(u["name"])
				}
			}},
		{"filtered email value", []map[string]any{op("replace", `emails[type eq "work"].value`, "new@example.com")}, "200", nil,
			func(t *testing.T, u map[string]any) {
				if get(u, "emails", 0, "value") != "new@example.com" || get(u, "emails", 1, "value") != "rich@home.example" {
					t.Error(u["emails"])
				}
			}},
		{"primary filter", []map[string]any{op("replace", `emails[primary eq true].value`, "p@example.com")}, "200", nil,
			func(t *testing.T, u map[string]any) {
				if get(u, "emails", 0, "value") != "p@example.com" {
					t.Error(u["emails"])
				}
			}},
		{"upsert email of a new type", []map[string]any{op("add", `emails[type eq "other"].value`, "o@example.com")}, "200", nil,
			func(t *testing.T, u map[string]any) {
				if get(u, "emails", 2, "type") != "other" || get(u, "emails", 2, "value") != "o@example.com" {
					t.Error(u["emails"])
				}
			}},
		{"remove filtered email", []map[string]any{op("remove", `emails[type eq "home"]`, nil)}, "200", nil,
			func(t *testing.T, u map[string]any) {
				if len(u["emails"].([]any)) != 1 {
					t.Error(u["emails"])
				}
			}},
		{"remove one entitlement", []map[string]any{op("remove", `entitlements[value eq "Expense"]`, nil)}, "200", nil,
			func(t *testing.T, u map[string]any) {
				if fmt.Sprint(u["entitlements"]) != "[Travel]" {
					t.Error(u["entitlements"])
				}
			}},
		{"add entitlements dedups", []map[string]any{op("add", "entitlements", []any{"Travel", "Request"})}, "200", nil,
			func(t *testing.T, u map[string]any) {
				if fmt.Sprint(u["entitlements"]) != "[Expense Travel Request]" {
					t.Error(u["entitlements"])
				}
			}},
		{"enterprise attribute", []map[string]any{op("add", urnEnterprise+":department", "Eng")}, "200", []extWant{{urnEnterprise, "200", ""}, {urnCore, "200", "no-op"}},
			func(t *testing.T, u map[string]any) {
				if get(u, urnEnterprise, "department") != "Eng" {
					t.Error(u[urnEnterprise])
				}
			}},
		{"add role", []map[string]any{op("add", urnRole+":roles", []any{map[string]any{"roleName": "SHD_ROLE_ADMIN", "roleGroups": []any{"R&D-QA-Exp"}}})}, "200", []extWant{{urnRole, "200", ""}},
			func(t *testing.T, u map[string]any) {
				if len(get(u, urnRole, "roles").([]any)) != 3 {
					t.Error(u[urnRole])
				}
			}},
		{"remove role by filter", []map[string]any{op("remove", urnRole+`:roles[roleName eq "SHD_BUDGET_APPROVER"]`, nil)}, "200", nil,
			func(t *testing.T, u map[string]any) {
				if len(get(u, urnRole, "roles").([]any)) != 1 || get(u, urnRole, "roles", 0, "roleName") != "EXP_USER" {
					t.Error(u[urnRole])
				}
			}},
		{"replace custom field", []map[string]any{op("replace", sp(`customData[id eq "custom2"].value`), "B")}, "200", []extWant{{urnSpendUser, "200", ""}},
			func(t *testing.T, u map[string]any) {
				if get(u, urnSpendUser, "customData", 1, "value") != "B" || get(u, urnSpendUser, "customData", 0, "value") != "a" {
					t.Error(u[urnSpendUser])
				}
			}},
		{"upsert custom field", []map[string]any{op("replace", sp(`customData[id eq "custom7"].value`), "seven")}, "200", nil,
			func(t *testing.T, u map[string]any) {
				if get(u, urnSpendUser, "customData", 2, "id") != "custom7" {
					t.Error(u[urnSpendUser])
				}
			}},
		{"remove custom field", []map[string]any{op("remove", sp(`customData[id eq "custom1"]`), nil)}, "200", nil,
			func(t *testing.T, u map[string]any) {
				if len(get(u, urnSpendUser, "customData").([]any)) != 1 {
					t.Error(u[urnSpendUser])
				}
			}},
		{"replace whole multi-valued attribute", []map[string]any{op("replace", sp("customData"), []any{map[string]any{"id": "custom3", "value": "c"}})}, "200", nil,
			func(t *testing.T, u map[string]any) {
				if fmt.Sprint(get(u, urnSpendUser, "customData")) != "[map[id:custom3 value:c]]" {
					t.Error(u[urnSpendUser])
				}
			}},
		{"travel custom field", []map[string]any{op("replace", urnTravel+`:customFields[name eq "Canary ID"].value`, "2")}, "200", []extWant{{urnTravel, "200", ""}},
			func(t *testing.T, u map[string]any) {
				if get(u, urnTravel, "customFields", 0, "value") != "2" {
					t.Error(u[urnTravel])
				}
			}},
		{"no path with extension object", []map[string]any{op("replace", "", map[string]any{
			urnWorkflowPref: map[string]any{"emailStatusChangeOnReport": false},
			"title":         "Director",
		})}, "200", []extWant{{urnWorkflowPref, "200", ""}, {urnCore, "200", ""}},
			func(t *testing.T, u map[string]any) {
				if u["title"] != "Director" || get(u, urnWorkflowPref, "emailStatusChangeOnReport") != false {
					t.Error(u)
				}
			}},
		{"remove whole extension (trailing colon)", []map[string]any{op("remove", urnRole+":", nil)}, "200", nil,
			func(t *testing.T, u map[string]any) {
				if _, ok := u[urnRole]; ok {
					t.Error(u[urnRole])
				}
			}},
		{"add approver by employeeNumber", []map[string]any{op("add", urnApprover+":report", []any{map[string]any{"approver": map[string]any{"employeeNumber": "BOSS"}, "primary": true}})}, "200", []extWant{{urnApprover, "200", ""}},
			func(t *testing.T, u map[string]any) {
				if get(u, urnApprover, "report", 0, "approver", "value") == nil {
					t.Error(u[urnApprover])
				}
			}},

		// Failures.
		{"identity path does not resolve", []map[string]any{op("remove", `emails[type eq "fax"]`, nil)}, "400", []extWant{{urnCore, "400", "INVALID_PATH"}}, nil},
		{"unknown attribute", []map[string]any{op("replace", "favouriteColour", "blue")}, "400", []extWant{{urnCore, "400", "INVALID_PATH"}}, nil},
		{"unknown schema", []map[string]any{op("replace", "urn:ietf:params:scim:schemas:extension:foo:2.0:User:x", "y")}, "400", []extWant{{urnCore, "400", "INVALID_PATH"}}, nil},
		{"bad filter syntax", []map[string]any{op("replace", `emails[type eq "work"`, "x")}, "400", []extWant{{urnCore, "400", "INVALID_PATH"}}, nil},
		{"remove without path", []map[string]any{op("remove", "", nil)}, "400", []extWant{{urnCore, "400", "INVALID_PATH"}}, nil},
		{"bad op", []map[string]any{op("move", "title", "x")}, "400", []extWant{{urnCore, "400", "INVALID_INPUT"}}, nil},
		{"read-only id", []map[string]any{op("replace", "id", "x")}, "400", []extWant{{urnCore, "400", "INVALID_INPUT"}}, nil},
		{"userName taken", []map[string]any{op("replace", "userName", "BOSS@example.com")}, "409", []extWant{{urnCore, "409", "UNIQUENESS"}}, nil},
		{"identity failure is atomic", []map[string]any{op("replace", "title", "T"), op("remove", "userName", nil)}, "400", []extWant{{urnCore, "400", "INVALID_VALUE"}},
			nil},
		{"spend path does not resolve", []map[string]any{op("remove", sp(`customData[id eq "custom9"]`), nil)}, "400", []extWant{{urnSpendUser, "400", "INVALID_PATH"}}, nil},
		{"partial: identity applied, role fails", []map[string]any{op("replace", "title", "CFO"), op("remove", urnRole+`:roles[roleName eq "NOPE"]`, nil)}, "207",
			[]extWant{{urnCore, "200", ""}, {urnRole, "400", "INVALID_PATH"}},
			func(t *testing.T, u map[string]any) {
				if u["title"] != "CFO" || len(get(u, urnRole, "roles").([]any)) != 2 {
					t.Error(u)
				}
			}},
		{"bad currency via patch", []map[string]any{op("replace", sp("reimbursementCurrency"), "usd")}, "400", []extWant{{urnSpendUser, "400", "INVALID_VALUE"}}, nil},
		{"testEmployee only at creation", []map[string]any{op("replace", sp("testEmployee"), true)}, "400", []extWant{{urnSpendUser, "400", "INVALID_VALUE"}}, nil},
		{"unknown approver via patch", []map[string]any{op("replace", urnApprover+":report", []any{map[string]any{"approver": map[string]any{"employeeNumber": "GHOST"}, "primary": true}})}, "404",
			[]extWant{{urnApprover, "404", "INVALID_USER"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTC(t, baseOpts())
			seedUser(t, c.s, "boss@example.com", "BOSS", nil)
			if err := c.s.Seed(mustJSON(richUser())); err != nil {
				t.Fatal(err)
			}
			before, _ := c.s.UserByEmployeeNumber("R1")
			id := decodeMap(t, before)["id"].(string)
			ops := c.run(patchOp("p", id, tt.ops...))
			got := ops[0]
			if opCodeOf(got) != tt.code {
				t.Fatalf("code %s, want %s: %v", opCodeOf(got), tt.code, got)
			}
			for _, e := range tt.exts {
				want := e.code
				code, result, msg := extCode(t, got, e.urn)
				if e.msg == "no-op" {
					if result != "no-op" {
						t.Errorf("%s: result %s, want no-op", e.urn, result)
					}
					continue
				}
				if code != want || msg != e.msg {
					t.Errorf("%s: %s %s, want %s %s", e.urn, code, msg, want, e.msg)
				}
			}
			after, _ := c.s.UserByEmployeeNumber("R1")
			u := decodeMap(t, after)
			if tt.check != nil {
				tt.check(t, u)
			}
			if tt.code == "400" || tt.code == "404" || tt.code == "409" {
				b, a := decodeMap(t, before), u
				if fmt.Sprint(b) != fmt.Sprint(a) {
					t.Errorf("failed PATCH changed the user:\nbefore %v\nafter  %v", b, a)
				}
			} else if v := get(u, "meta", "version"); v != `W/"2"` {
				t.Errorf("version %v", v)
			}
		})
	}
}

func TestPatchUnknownTarget(t *testing.T) {
	c := newTC(t, baseOpts())
	ops := c.run(patchOp("p", "3f1d5c9e-0000-4000-8000-000000000000", op("replace", "active", false)),
		map[string]any{"method": "PATCH", "path": "/Users/x", "bulkId": "q", "data": map[string]any{"Operations": "nope"}})
	if opCodeOf(ops[0]) != "404" {
		t.Fatalf("code %s", opCodeOf(ops[0]))
	}
	if code, _, msg := extCode(t, ops[0], urnCore); code != "404" || msg != "NOT_FOUND" {
		t.Errorf("%s %s", code, msg)
	}
	if _, has := ops[0]["resource"]; has {
		t.Error("resource for unknown user")
	}
	if opCodeOf(ops[1]) != "404" {
		t.Errorf("code %s", opCodeOf(ops[1]))
	}
}

func TestParsePatchPath(t *testing.T) {
	tests := []struct {
		in                        string
		urn, attr, sub, filterSub string
		filter, err               bool
	}{
		{"active", urnCore, "active", "", "", false, false},
		{"name.givenName", urnCore, "name", "givenName", "", false, false},
		{`emails[type eq "work"].value`, urnCore, "emails", "", "value", true, false},
		{`emails[type eq "work" and primary eq true]`, urnCore, "emails", "", "", true, false},
		{urnEnterprise + ":manager.value", urnEnterprise, "manager", "value", "", false, false},
		{urnSpendUser + `:customData[id eq "custom1"].value`, urnSpendUser, "customData", "", "value", true, false},
		{urnApprover + `:report[approver.value eq "x"]`, urnApprover, "report", "", "", true, false},
		{urnRole, urnRole, "", "", "", false, false},
		{urnRole + ":", urnRole, "", "", "", false, false},
		{strings.ToUpper(urnRole) + ":roles", urnRole, "roles", "", "", false, false},
		{"", "", "", "", "", false, true},
		{"a.b.c", "", "", "", "", false, true},
		{`emails[type eq "x"].value.x`, "", "", "", "", false, true},
		{`emails[type eq "x"]x`, "", "", "", "", false, true},
		{`emails[type eq "x"`, "", "", "", "", false, true},
		{`emails[[type eq "x"]]`, "", "", "", "", false, true},
		{"urn:x:y:z", "", "", "", "", false, true},
		{urnCore, "", "", "", "", false, true},
		{"1abc", "", "", "", "", false, true},
	}
	for _, tt := range tests {
		p, err := parsePatchPath(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("%q: err %v", tt.in, err)
			continue
		}
		if err != nil {
			continue
		}
		if p.urn != tt.urn || p.attr != tt.attr || p.sub != tt.sub || p.filterSub != tt.filterSub || (p.filter != nil) != tt.filter {
			t.Errorf("%q: %+v", tt.in, p)
		}
	}
}
