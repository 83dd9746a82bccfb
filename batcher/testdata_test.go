package batcher

import (
	"encoding/json"
	"fmt"
	"strings"

	"scimigrate/scim/scimpath"
)

// sampleUser returns a realistic SCIM User for employee n of roughly size
// bytes (padding goes into spend customData), referencing refs as its
// expense-report approver and enterprise manager.
func sampleUser(n int, size int, refs ...string) json.RawMessage {
	u := map[string]any{
		"schemas":               []string{scimpath.CoreUser, scimpath.EnterpriseUser, scimpath.SpendUser, scimpath.SpendApprover, scimpath.TravelUser},
		"userName":              fmt.Sprintf("user%06d@example.com", n),
		"active":                true,
		"name":                  map[string]any{"givenName": "Given", "familyName": fmt.Sprintf("Family%d", n)},
		"emails":                []any{map[string]any{"value": fmt.Sprintf("user%06d@example.com", n), "type": "work"}},
		"entitlements":          []string{"Expense", "Travel"},
		scimpath.EnterpriseUser: map[string]any{"employeeNumber": fmt.Sprint(n), "companyId": "aa076ada-80a9-4f57-8e98-9300b1c3171d"},
		scimpath.SpendUser:      map[string]any{"reimbursementCurrency": "USD", "country": "US", "locale": "en-US"},
		scimpath.TravelUser:     map[string]any{"ruleClass": map[string]any{"name": "Default"}},
	}
	if len(refs) > 0 {
		u[scimpath.SpendApprover] = map[string]any{"report": []any{map[string]any{"approver": map[string]any{"employeeNumber": refs[0]}, "primary": true}}}
		u[scimpath.EnterpriseUser].(map[string]any)["manager"] = map[string]any{"employeeNumber": refs[0]}
	}
	b, _ := json.Marshal(u)
	if pad := size - len(b) - 60; pad > 0 {
		var cd []any
		for i := 1; pad > 0 && i <= 22; i++ {
			chunk := min(pad, 40)
			cd = append(cd, map[string]any{"id": fmt.Sprintf("custom%d", i), "value": strings.Repeat("x", chunk)})
			pad -= chunk + 28
		}
		for i := 1; pad > 0; i++ {
			chunk := min(pad, 200)
			u[scimpath.TravelUser].(map[string]any)["customFields"] = append(asSlice(u[scimpath.TravelUser].(map[string]any)["customFields"]),
				map[string]any{"name": fmt.Sprintf("F%d", i), "value": strings.Repeat("y", chunk)})
			pad -= chunk + 30
		}
		u[scimpath.SpendUser].(map[string]any)["customData"] = cd
		b, _ = json.Marshal(u)
	}
	return b
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func sampleOps(count, size int) []Operation {
	ops := make([]Operation, count)
	for i := range ops {
		src := Source{File: "/in/employees.txt", Line: i + 2, Record: "305"}
		ops[i] = Operation{
			BulkID: BulkID(src, 0), Method: "POST", Path: "/Users",
			EmployeeNumber: fmt.Sprint(i), UserName: fmt.Sprintf("user%06d@example.com", i),
			Data: sampleUser(i, size+(i*37)%1000-500), Sources: []Source{src},
		}
	}
	return ops
}
