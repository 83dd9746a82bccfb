package converter_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// flatRow builds a record of the given width from column=value pairs.
func flatRow(typ string, width int, cols map[int]string) string {
	f := make([]string, width)
	f[0] = typ
	for c, v := range cols {
		f[c-1] = v
	}
	return strings.Join(f, ",")
}

// emp305 is a valid 305 record of employee id; extra columns override.
func emp305(id string, extra map[int]string) string {
	cols := map[int]string{2: "Ann", 4: "Lee", 5: id, 6: strings.ToLower(id) + "@example.com", 8: strings.ToLower(id) + "@example.com",
		9: "en_US", 10: "US", 12: "DEFAULT", 13: "USD", 15: "Y"}
	for c, v := range extra {
		cols[c] = v
	}
	return flatRow("305", 137, cols)
}

func delegate(typ string, cols map[int]string) string {
	base := map[int]string{2: "E1", 3: "E2", 4: "EXP", 5: "Y"}
	for c, v := range cols {
		base[c] = v
	}
	width := 11
	if typ == "550" {
		width = 18
	}
	return flatRow(typ, width, base)
}

// TestMappingFidelity covers issue 12: each case converts a small flat file
// through the embedded tables, the validator and the pipeline, and checks the
// resources, the diagnostics and the counts.
func TestMappingFidelity(t *testing.T) {
	const company = "companyId: 11111111-2222-3333-4444-555555555555\n"
	tests := []struct {
		name     string
		config   string // after companyId
		lines    []string
		want     []string // substrings of the NDJSON
		not      []string // must not be in the NDJSON
		diags    []string // substrings of the diagnostics
		notDiags []string
		emitted  int
		rejected int // records
		dropped  int
	}{
		// 1. Temporary delegation (500/550 columns 8-10).
		{name: "delegation: To date covers its last day",
			lines: []string{emp305("E1", nil), delegate("500", map[int]string{8: "Y", 9: "2026-03-01", 10: "2026-03-31"})},
			want:  []string{`"temporaryDelegationFromDate":"2026-03-01T00:00:00.000Z","temporaryDelegationToDate":"2026-03-31T23:59:59.999Z"`},
			not:   []string{"2026-03-31T00:00:00.000Z"}, emitted: 1},
		{name: "delegation: a To date-time is kept",
			lines: []string{emp305("E1", nil), delegate("550", map[int]string{8: "Y", 9: "2026-03-01", 10: "2026-03-31T12:00:00Z"})},
			want:  []string{`"temporaryDelegationToDate":"2026-03-31T12:00:00.000Z"`}, emitted: 1},
		{name: "delegation: one day, from and to the same date",
			lines: []string{emp305("E1", nil), delegate("500", map[int]string{8: "Y", 9: "2026-03-05", 10: "2026-03-05"})},
			want:  []string{`"temporaryDelegationFromDate":"2026-03-05T00:00:00.000Z","temporaryDelegationToDate":"2026-03-05T23:59:59.999Z"`}, emitted: 1},
		{name: "delegation: Y with only the From date is an error",
			lines:   []string{emp305("E1", nil), delegate("500", map[int]string{8: "Y", 9: "2026-03-01"})},
			not:     []string{"temporaryDelegation"},
			diags:   []string{":3:", "error: Temporary Approval Delegation To Date (column 10): blank, but column 9 (Temporary Approval Delegation From Date) is given"},
			emitted: 1, rejected: 1},
		{name: "delegation: Y with only the To date is an error (550)",
			lines:   []string{emp305("E1", nil), delegate("550", map[int]string{8: "Y", 10: "2026-03-01"})},
			not:     []string{"temporaryDelegation"},
			diags:   []string{"error: Temporary Approval Delegation From Date (column 9): blank, but column 10 (Temporary Approval Delegation To Date) is given"},
			emitted: 1, rejected: 1},
		{name: "delegation: From after To is an error",
			lines:   []string{emp305("E1", nil), delegate("500", map[int]string{8: "Y", 9: "2026-03-05", 10: "2026-03-01"})},
			not:     []string{"temporaryDelegation"},
			diags:   []string{"error: Temporary Approval Delegation From Date (column 9): 2026-03-05 is after 2026-03-01"},
			emitted: 1, rejected: 1},
		{name: "delegation: Y with no dates is warned about and counted",
			lines:   []string{emp305("E1", nil), delegate("500", map[int]string{8: "Y"})},
			want:    []string{`"delegate":{"employeeNumber":"E2"},"canPrepare":true`},
			not:     []string{"temporaryDelegation"},
			diags:   []string{"warning: Can Temporarily Approve Reports (column 8): not sent: Y, but columns 9 (Temporary Approval Delegation From Date), 10 (Temporary Approval Delegation To Date) are blank"},
			emitted: 1, dropped: 1},
		{name: "delegation: column 8 X is an error like every Y/N column",
			lines:   []string{emp305("E1", nil), delegate("550", map[int]string{8: "X", 9: "2026-03-01", 10: "2026-03-02"})},
			not:     []string{"temporaryDelegation", `"E2"`},
			diags:   []string{`error: Can Temporarily Approve Reports (column 8): "X" is not Y or N`},
			emitted: 1, rejected: 1},
		{name: "delegation: N with dates is switched off, as before",
			lines:   []string{emp305("E1", nil), delegate("500", map[int]string{8: "N", 9: "2026-03-01", 10: "2026-03-02"})},
			not:     []string{"temporaryDelegation"},
			diags:   []string{"ignored: Can Temporarily Approve Reports (column 8) is not Y"},
			emitted: 1},
		// 2. Column 81 with paymentRequestAssigned.
		{name: "col 81 with col 51 filled: warned and counted",
			config:  "options: {paymentRequestAssigned: true}\n",
			lines:   []string{emp305("E1", map[int]string{51: "N", 81: "Y"})},
			want:    []string{`"emailStatusChangeOnPayment":false`},
			diags:   []string{"warning: A Payment Request has been Assigned (column 81): not sent: column 51 (Send email when the payment status changes) gives the same attribute"},
			emitted: 1, dropped: 1},
		{name: "col 81 with col 51 filled: its value is checked",
			config:  "options: {paymentRequestAssigned: true}\n",
			lines:   []string{emp305("E1", map[int]string{51: "N", 81: "maybe"})},
			diags:   []string{`error: A Payment Request has been Assigned (column 81): "maybe" is not Y or N`},
			emitted: 0, rejected: 1},
		{name: "col 81 with col 51 blank fills the attribute",
			config: "options: {paymentRequestAssigned: true}\n",
			lines:  []string{emp305("E1", map[int]string{81: "Y"})},
			want:   []string{`"emailStatusChangeOnPayment":true`}, emitted: 1},
		// 3. Column 68 is never sent (the option is retired; see mapping tests).
		{name: "col 68 is warned about, the user goes through",
			lines:   []string{emp305("E1", map[int]string{68: "Y"})},
			not:     []string{"EXP_AUTH_REQUEST_APPROVER"},
			diags:   []string{"warning: Authorization Request Approver (column 68): not sent: the page's role EXP_AUTH_REQUEST_APPROVER"},
			emitted: 1},
		// 5. 350 work phone extension.
		{name: "350 extension without a work phone: dropped with a warning",
			lines:   []string{emp305("E1", nil), flatRow("350", 67, map[int]string{2: "E1", 12: "42", 14: "+1 555 0102"})},
			want:    []string{`"phoneNumbers":[{"type":"home","value":"+1 555 0102"}]`},
			not:     []string{"workExtension"},
			diags:   []string{"warning: Work Phone Extension (column 12): not sent: it needs column 11 (Work Phone)"},
			emitted: 1, dropped: 1},
		{name: "350 extension with the work phone of an earlier record",
			lines: []string{emp305("E1", nil), flatRow("350", 67, map[int]string{2: "E1", 11: "+1 555 0100"}), flatRow("350", 67, map[int]string{2: "E1", 12: "42"})},
			want:  []string{`{"type":"work","value":"+1 555 0100","workExtension":"42"}`}, emitted: 1},
		// 6. The same employee as primary and second approver.
		{name: "second report approver equal to the primary: warned, sent once",
			lines:   []string{emp305("E1", map[int]string{59: "E7", 80: "E7"})},
			want:    []string{`"report":[{"primary":true,"approver":{"employeeNumber":"E7"}}]`},
			not:     []string{`"primary":false`},
			diags:   []string{`warning: Expense Report Approver Employee ID 2 (column 80): not sent: the same employee "E7" as column 59`},
			emitted: 1, dropped: 1},
		{name: "second request approver equal to the primary of an earlier record",
			lines:   []string{emp305("E1", map[int]string{61: "E7"}), emp305("E1", map[int]string{88: "e7"})},
			not:     []string{`"primary":false`},
			diags:   []string{"warning: Request Approver Employee ID 2 (column 88): not sent: the same employee"},
			emitted: 1, dropped: 1},
		{name: "different approvers are both sent",
			lines: []string{emp305("E1", map[int]string{59: "E7", 80: "E8"})},
			want:  []string{`"report":[{"primary":true,"approver":{"employeeNumber":"E7"}},{"primary":false,"approver":{"employeeNumber":"E8"}}]`}, emitted: 1},
		// 7. 400 segments without roleGroupsFromSegments.
		{name: "400 segment without roleGroupsFromSegments is refused",
			lines:   []string{emp305("E1", nil), flatRow("400", 13, map[int]string{2: "E1", 3: "EXP_PROCESSOR", 4: "R&D"})},
			not:     []string{"EXP_PROCESSOR"},
			diags:   []string{":3:", "error: Segment 1 (column 4): refused: a segment limits the role to a group", "roleGroupsFromSegments: true"},
			emitted: 1, rejected: 1},
		{name: "400 segment with roleGroupsFromSegments",
			config: "options: {roleGroupsFromSegments: true}\n",
			lines:  []string{emp305("E1", nil), flatRow("400", 13, map[int]string{2: "E1", 3: "EXP_PROCESSOR", 4: "R&D", 5: "QA"})},
			want:   []string{`{"roleName":"EXP_PROCESSOR","roleGroups":["R\u0026D-QA"]}`}, emitted: 1},
		{name: "400 segment of a role code UPS grants as an entitlement",
			lines:   []string{emp305("E1", nil), flatRow("400", 13, map[int]string{2: "E1", 3: "EXP_USER", 4: "R&D"})},
			want:    []string{`"entitlements":["Expense"]`},
			not:     []string{"roleGroups", `"roleName":"Expense"`},
			diags:   []string{`warning: Segment 1 (column 4): not sent: {role} is the UPS entitlement Expense, which has no groups`},
			emitted: 1, dropped: 1},
		{name: "400 segment of an entitlement code with roleGroupsFromSegments",
			config:  "options: {roleGroupsFromSegments: true}\n",
			lines:   []string{emp305("E1", nil), flatRow("400", 13, map[int]string{2: "E1", 3: "EXP_USER", 4: "R&D", 5: "QA"})},
			want:    []string{`"entitlements":["Expense"]`},
			not:     []string{"roleGroups", `"roleName":"Expense"`},
			emitted: 1, dropped: 2},
		{name: "400 without segments goes to the global group",
			lines: []string{emp305("E1", nil), flatRow("400", 13, map[int]string{2: "E1", 3: "EXP_PROCESSOR"})},
			want:  []string{`{"roleName":"EXP_PROCESSOR","roleGroups":[]}`}, emitted: 1},
		// 8. §4 #19 and column 66 at run time.
		{name: "col 66 and col 77 warn when they carry a value",
			lines:   []string{emp305("E1", map[int]string{66: "Y", 77: "E9"})},
			want:    []string{`"roleName":"SHD_IMPORT_EXTRACT_ADMIN"`, `"biManager":{"employeeNumber":"E9"}`},
			diags:   []string{"warning: Integration Administrator (Import/Extract Administrator) (column 66): sent as on the page, but", "warning: BI Manager Employee ID (column 77): sent as biManager.employeeNumber, but the public mapping page marks this target \"(TBD)\""},
			emitted: 1},
		{name: "cols 66 and 77 blank: no warning",
			lines:    []string{emp305("E1", nil)},
			notDiags: []string{"warning"}, emitted: 1},
		// 9. Required attributes name the remedy.
		{name: "310-only employee: the error names the defaults key",
			lines: []string{flatRow("310", 24, map[int]string{2: "E3", 3: "c@example.com", 4: "C", 6: "D", 7: "c@example.com", 9: "en_US", 15: "Y"})},
			diags: []string{`required attribute reimbursementCurrency is missing (supply it in the input, or set one value for every user to create: --default 'urn:ietf:params:scim:schemas:extension:spend:2.0:User:reimbursementCurrency=VALUE' or, in the config file, defaults: {"urn:ietf:params:scim:schemas:extension:spend:2.0:User:reimbursementCurrency": "VALUE"})`,
				`required attribute country is missing (supply it in the input, or set one value`},
			rejected: 1},
		{name: "the named default fills it",
			config: "defaults: {\"urn:ietf:params:scim:schemas:extension:spend:2.0:User:reimbursementCurrency\": GBP, \"urn:ietf:params:scim:schemas:extension:spend:2.0:User:country\": GB}\n",
			lines:  []string{flatRow("310", 24, map[int]string{2: "E3", 3: "c@example.com", 4: "C", 6: "D", 7: "c@example.com", 9: "en_US", 15: "Y"})},
			want:   []string{`"reimbursementCurrency":"GBP"`}, emitted: 1},
		// 10. onInvalidOptional.
		{name: "UK subdivision rejects the user by default",
			lines:   []string{emp305("E1", map[int]string{10: "GB", 11: "GB-LND", 13: "GBP", 59: "E7"})},
			diags:   []string{"error: Country Sub Code (column 11): longer than 2 characters (3)", "employee E1 is rejected"},
			emitted: 0, rejected: 1},
		{name: "UK subdivision dropped under onInvalidOptional: drop",
			config:  "onInvalidOptional: drop\n",
			lines:   []string{emp305("E1", map[int]string{10: "GB", 11: "GB-LND", 13: "GBP", 59: "E7"}), emp305("E2", map[int]string{10: "GB", 11: "GB-LND", 13: "GBP"})},
			want:    []string{`"employeeNumber":"E1"`, `"country":"GB"`, `"report":[{"primary":true,"approver":{"employeeNumber":"E7"}}]`},
			not:     []string{"stateProvince", "LND"},
			diags:   []string{":2:", "warning: Country Sub Code (column 11): not sent: urn:ietf:params:scim:schemas:extension:spend:2.0:User:stateProvince: longer than 2 characters (3) (onInvalidOptional: drop; the rest of employee E1 is sent)"},
			emitted: 2, dropped: 2},
		{name: "drop: an invalid optional Y/N column is dropped, the record kept",
			config:  "onInvalidOptional: drop\n",
			lines:   []string{emp305("E1", map[int]string{45: "maybe", 46: "Y"})},
			want:    []string{`"emailAwaitApprovalOnReport":true`},
			not:     []string{"emailStatusChangeOnReport"},
			diags:   []string{`warning: Send email when the report status changes (column 45): "maybe" is not Y or N (onInvalidOptional: drop)`},
			emitted: 1, dropped: 1},
		{name: "drop: an invalid gate is dropped with the columns it switches on",
			config:  "onInvalidOptional: drop\n",
			lines:   []string{emp305("E1", nil), delegate("500", map[int]string{8: "X", 9: "2026-03-01", 10: "2026-03-02"})},
			want:    []string{`"delegate":{"employeeNumber":"E2"},"canPrepare":true`},
			not:     []string{"temporaryDelegation"},
			diags:   []string{`warning: Can Temporarily Approve Reports (column 8): "X" is not Y or N (onInvalidOptional: drop; columns it switches on are not sent)`, "ignored: Can Temporarily Approve Reports (column 8) is not Y"},
			emitted: 1, dropped: 1},
		{name: "drop: a required attribute still rejects",
			config:   "onInvalidOptional: drop\n",
			lines:    []string{emp305("E1", map[int]string{10: "GBR", 11: "GB-LND"})},
			diags:    []string{`error: Country Code (column 10): "GBR" does not match`, "error: Country Sub Code (column 11): longer than 2 characters", "employee E1 is rejected"},
			notDiags: []string{"warning"},
			emitted:  0, rejected: 1},
		{name: "drop: an identity key still rejects",
			config:   "onInvalidOptional: drop\n",
			lines:    []string{emp305("E1", map[int]string{6: strings.Repeat("a", 130) + "@example.com"})},
			diags:    []string{"error: Login ID (column 6): longer than 128 characters", "employee E1 is rejected"},
			notDiags: []string{"warning"},
			rejected: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "config.yaml")
			in := filepath.Join(dir, "in.txt")
			if err := os.WriteFile(cfg, []byte(company+tt.config), 0o600); err != nil {
				t.Fatal(err)
			}
			data := "100,0,SSO,UPDATE,EN,N,N\n" + strings.Join(tt.lines, "\n") + "\n"
			if err := os.WriteFile(in, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			out, diags, st, err := convertFiles(t, cfg, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %s\noutput: %s\ndiags:\n%s", w, out, diags)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %s\noutput: %s", n, out)
				}
			}
			for _, w := range tt.diags {
				if !strings.Contains(diags, w) {
					t.Errorf("diagnostics lack %q:\n%s", w, diags)
				}
			}
			for _, n := range tt.notDiags {
				if strings.Contains(diags, n) {
					t.Errorf("diagnostics have %q:\n%s", n, diags)
				}
			}
			if st.UsersEmitted != tt.emitted || st.RecordsRejected != tt.rejected || st.Values.Dropped != tt.dropped {
				t.Errorf("emitted %d, records rejected %d, values dropped %d; want %d %d %d\ndiags:\n%s",
					st.UsersEmitted, st.RecordsRejected, st.Values.Dropped, tt.emitted, tt.rejected, tt.dropped, diags)
			}
			if st.Accounted() != st.Total() {
				t.Errorf("%d records read, %d accounted for", st.Total(), st.Accounted())
			}
		})
	}
}
