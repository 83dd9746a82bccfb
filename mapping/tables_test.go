package mapping

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"scimigrate/scim/scimpath"
)

// The flat-file record tables shipped in the binary, with their shape.
var flatTables = []struct {
	record   string
	width    int
	key      int
	identity bool
	intent   string
}{
	{"300", 86, 5, true, ""},
	{"305", 137, 5, true, ""},
	{"310", 24, 2, true, ""},
	{"320", 9, 2, false, "idchange"},
	{"350", 67, 2, false, ""},
	{"370", 30, 2, false, ""},
	{"400", 13, 2, false, ""},
	{"500", 11, 2, false, ""},
	{"550", 18, 2, false, ""},
}

func loadEmbeddedForTest(t *testing.T) *Set {
	t.Helper()
	set, err := Load("", nil)
	if err != nil {
		t.Fatalf("Load(\"\", nil):\n%v", err)
	}
	return set
}

func TestEmbeddedTablesLoadWithoutProblems(t *testing.T) {
	set := loadEmbeddedForTest(t)
	for _, ft := range flatTables {
		tb := set.Table(ft.record)
		if tb == nil {
			t.Errorf("record %s: no table", ft.record)
			continue
		}
		if tb.Width != ft.width || tb.Key.Col != ft.key || tb.Identity != ft.identity || tb.Intent != ft.intent {
			t.Errorf("record %s: width %d key %d identity %v intent %q; want %d %d %v %q",
				ft.record, tb.Width, tb.Key.Col, tb.Identity, tb.Intent, ft.width, ft.key, ft.identity, ft.intent)
		}
		kc := tb.ColumnAt(ft.key)
		if kc == nil || kc.Use != "key" || !kc.Required {
			t.Errorf("record %s: key column %d must be use: key and required", ft.record, ft.key)
			continue
		}
		wantTo := "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
		if ft.intent == "idchange" {
			wantTo = "" // the current ID only finds the user; column 3 is the new one
		}
		if kc.To != wantTo {
			t.Errorf("record %s: key column to %q, want %q", ft.record, kc.To, wantTo)
		}
	}
}

// Independent of Check: read each embedded file raw and count positions.
func TestEmbeddedTablesListEveryPositionOnce(t *testing.T) {
	for _, ft := range flatTables {
		data, err := fs.ReadFile(Embedded(), ft.record+".yaml")
		if err != nil {
			t.Fatal(err)
		}
		var raw struct {
			Width   int `yaml:"width"`
			Columns []struct {
				Col         int    `yaml:"col"`
				Name        string `yaml:"name"`
				To          string `yaml:"to"`
				Use         string `yaml:"use"`
				Unsupported string `yaml:"unsupported"`
			} `yaml:"columns"`
		}
		if err := yaml.Unmarshal(data, &raw); err != nil {
			t.Fatalf("%s.yaml: %v", ft.record, err)
		}
		if raw.Width != ft.width {
			t.Errorf("%s.yaml: width %d, want %d", ft.record, raw.Width, ft.width)
		}
		count := map[int]int{}
		for _, c := range raw.Columns {
			count[c.Col]++
			if c.Col < 1 || c.Col > ft.width {
				t.Errorf("%s.yaml: column %d outside 1..%d", ft.record, c.Col, ft.width)
			}
			if c.Name == "" {
				t.Errorf("%s.yaml: column %d has no name", ft.record, c.Col)
			}
			if c.To == "" && c.Use == "" && c.Unsupported == "" {
				t.Errorf("%s.yaml: column %d has no to, use or unsupported", ft.record, c.Col)
			}
		}
		for i := 1; i <= ft.width; i++ {
			if count[i] != 1 {
				t.Errorf("%s.yaml: position %d listed %d times, want once", ft.record, i, count[i])
			}
		}
	}
}

const (
	tEnt   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	tPay   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:Payroll:"
	tSpend = "urn:ietf:params:scim:schemas:extension:spend:2.0:User:"
	tRole  = "urn:ietf:params:scim:schemas:extension:spend:2.0:Role:"
	tAppr  = "urn:ietf:params:scim:schemas:extension:spend:2.0:Approver:"
	tDel   = "urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate:"
	tUP    = "urn:ietf:params:scim:schemas:extension:spend:2.0:UserPreference:"
	tWF    = "urn:ietf:params:scim:schemas:extension:spend:2.0:WorkflowPreference:"
	tTr    = "urn:ietf:params:scim:schemas:extension:travel:2.0:User:"
	tDelEl = tDel + `{product}[delegate.employeeNumber eq "{delegate}"].`
)

// The corrections of the public mapping pages (flat-file spec §4) applied by
// the tables: each row must carry the target and a note saying why.
var corrections = []struct {
	records string // space-separated
	col     int
	to      string // "" = not sent
	as      string
	option  string
	unless  int
	when    int
	// issue 12: run-time checks of the rows
	until, requires, distinct int
	warn, refuse              bool
}{
	{records: "300 305", col: 8, to: `emails[type eq "work"].value`},                                                   // §4 #17
	{records: "300 305", col: 42, to: tSpend + `customData[id eq "custom21"].value`},                                   // §4 #1
	{records: "300 305", col: 56, to: tUP + "allowReceiptImageAvailEmails", as: "yesno"},                               // §4 #2
	{records: "300 305", col: 62, to: tAppr + "invoice[primary eq true].approver.employeeNumber"},                      // §4 #14
	{records: "300 305", col: 66, to: tRole + `roles[roleName eq "SHD_IMPORT_EXTRACT_ADMIN"]`, as: "flag", warn: true}, // §4 #9
	{records: "300 305", col: 68}, // §4 #9: never sent (UPS lists no such role)
	{records: "300 305", col: 77, to: tSpend + "biManager.employeeNumber", warn: true}, // §4 #19
	{records: "300 305", col: 80, to: tAppr + "report[primary eq false].approver.employeeNumber", distinct: 59},
	{records: "305", col: 88, to: tAppr + "request[primary eq false].approver.employeeNumber", distinct: 61},
	{records: "300 305", col: 81, to: tWF + "emailStatusChangeOnPayment", as: "yesno", option: "paymentRequestAssigned", unless: 51}, // §4 #3
	{records: "300 305", col: 82}, // §4 #12
	{records: "300 305", col: 83}, // §4 #12
	{records: "300 305", col: 86, to: tRole + `roles[roleName eq "TRAVEL_USER"]`, as: "flag"}, // §4 #10
	{records: "305", col: 90, to: tSpend + "reimbursementType", as: "code:reimbursementType"}, // §4 #5
	{records: "305", col: 91, to: tPay + "adp.employeeFileNumber"},                            // §4 #18
	{records: "305", col: 92, to: tPay + "adp.companyCode"},
	{records: "305", col: 93, to: tPay + "adp.deductionCode"},
	{records: "310", col: 7, to: `emails[type eq "work"].value`},                                              // §4 #17
	{records: "310", col: 14, to: tRole + `roles[roleName eq "TRAVEL_USER"]`, as: "flag"},                     // §4 #10
	{records: "310", col: 16, to: tTr + "name.hasNoMiddleName", as: "yesno"},                                  // §4 #11
	{records: "310", col: 17, to: `entitlements[value eq "Locate"]`, as: "flag", option: "locateEntitlement"}, // §4 #22
	{records: "310", col: 18},                                           // §4 #22
	{records: "310", col: 19},                                           // §4 #12
	{records: "320", col: 2},                                            // current ID: key only
	{records: "320", col: 5},                                            // §4 #12
	{records: "350", col: 8, to: "dateOfBirth", as: "date"},             // §4 #6
	{records: "350", col: 9, to: tTr + "manager.employeeNumber"},        // §4 #7
	{records: "350", col: 10, to: "title"},                              // §4 #6
	{records: "350", col: 11, to: `phoneNumbers[type eq "work"].value`}, // §4 #23
	{records: "350", col: 12, to: `phoneNumbers[type eq "work"].workExtension`, requires: 11},
	{records: "350", col: 13, to: `phoneNumbers[type eq "fax"].value`},
	{records: "350", col: 14, to: `phoneNumbers[type eq "home"].value`},
	{records: "350", col: 15, to: `phoneNumbers[type eq "mobile"].value`},
	{records: "350", col: 16, to: `phoneNumbers[type eq "pager"].value`},
	{records: "350", col: 18, to: tTr + "ruleClass.name"},
	{records: "350", col: 21, to: `addresses[type eq "home"].streetAddress`},
	{records: "350", col: 22, to: `addresses[type eq "home"].locality`},
	{records: "350", col: 23, to: `addresses[type eq "home"].region`},
	{records: "350", col: 24, to: `addresses[type eq "home"].postalCode`},
	{records: "350", col: 25, to: `addresses[type eq "home"].country`, as: "upper"},
	{records: "350", col: 26, to: `addresses[type eq "work"].streetAddress`},
	{records: "350", col: 30, to: `addresses[type eq "work"].country`, as: "upper"},
	{records: "350", col: 31, to: `emails[type eq "{cfg:email2Type}"].value`},
	{records: "350", col: 32, to: `emails[type eq "{cfg:email3Type}"].value`},
	{records: "350", col: 33, to: tTr + `customFields[name eq "{cfg:travelCustom1}"].value`}, // §4 #8
	{records: "350", col: 57, to: tTr + `customFields[name eq "{cfg:travelCustom25}"].value`},
	{records: "350", col: 58, to: tTr + "xmlProfileSyncId", option: "xmlProfileSyncId"},                      // §4 #13
	{records: "350", col: 59, to: tTr + "permissions.ProfileUser", as: "yesno", option: "travelPermissions"}, // §4 #21
	{records: "350", col: 61, to: tTr + "permissions.OpenBookingUser", as: "yesno", option: "travelPermissions"},
	{records: "400", col: 3, to: tRole + `roles[roleName eq "{value}"]`, as: "role"},
	{records: "400", col: 4, to: tRole + `roles[roleName eq "{role}"].roleGroups`, as: "segment", option: "roleGroupsFromSegments", refuse: true}, // §4 #20
	{records: "400", col: 13, to: tRole + `roles[roleName eq "{role}"].roleGroups`, as: "segment", option: "roleGroupsFromSegments", refuse: true},
	{records: "500 550", col: 4},                                                                                                     // §4 #16
	{records: "500 550", col: 9, to: tDelEl + "temporaryDelegation.temporaryDelegationFromDate", as: "datetime", when: 8, until: 10}, // §4 #15
	{records: "500 550", col: 10, to: tDelEl + "temporaryDelegation.temporaryDelegationToDate", as: "enddatetime", when: 8},
	{records: "500 550", col: 8},
	{records: "550", col: 15, to: tDelEl + "canSubmitTravelRequest", as: "yesno"}, // §4 #4
}

func TestEmbeddedTablesApplyTheCorrections(t *testing.T) {
	set := loadEmbeddedForTest(t)
	for _, tc := range corrections {
		for _, rec := range strings.Fields(tc.records) {
			c := set.Table(rec).ColumnAt(tc.col)
			where := fmt.Sprintf("record %s column %d", rec, tc.col)
			if c == nil {
				t.Errorf("%s: missing", where)
				continue
			}
			if c.Note == "" {
				t.Errorf("%s: a correction of the page needs a note", where)
			}
			if c.To != tc.to {
				t.Errorf("%s: to %q, want %q", where, c.To, tc.to)
			}
			if tc.to == "" && c.Unsupported == "" && c.Use == "" {
				t.Errorf("%s: not sent, so it needs a reason or a use", where)
			}
			if tc.as != "" && c.As != tc.as {
				t.Errorf("%s: as %q, want %q", where, c.As, tc.as)
			}
			if c.Option != tc.option {
				t.Errorf("%s: option %q, want %q", where, c.Option, tc.option)
			}
			if tc.option != "" && c.Unsupported == "" {
				t.Errorf("%s: an optional row needs its reason for when the option is off", where)
			}
			if c.Until != tc.until || c.Requires != tc.requires || c.Distinct != tc.distinct || (c.Warn != "") != tc.warn || c.Refuse != tc.refuse {
				t.Errorf("%s: until %d requires %d distinct %d warn %q refuse %v, want %d %d %d %v %v", where,
					c.Until, c.Requires, c.Distinct, c.Warn, c.Refuse, tc.until, tc.requires, tc.distinct, tc.warn, tc.refuse)
			}
			if c.Unless != tc.unless || c.When != tc.when {
				t.Errorf("%s: unless %d when %d, want %d %d", where, c.Unless, c.When, tc.unless, tc.when)
			}
		}
	}
	// Writing defaultReportPrintFormat from the faxed-receipts flag is the
	// page's mistake (§4 #2); nothing may target it.
	for _, r := range set.Records() {
		for _, c := range set.Table(r).Columns {
			for _, bad := range []string{"defaultReportPrintFormat", "temporaryDelegatation", "jobTitle"} {
				if strings.Contains(c.To, bad) {
					t.Errorf("record %s column %d targets %s", r, c.Col, bad)
				}
			}
		}
	}
}

// columnRow is what the comment tests read of a table row.
type columnRow struct {
	Col  int    `yaml:"col"`
	Note string `yaml:"note"`
}

// eachEmbeddedRow calls fn with every column row of the embedded flat-file
// tables, as a YAML node (for its comments and line) and decoded.
func eachEmbeddedRow(t *testing.T, fn func(record string, item *yaml.Node, c columnRow)) {
	t.Helper()
	for _, ft := range flatTables {
		data, err := fs.ReadFile(Embedded(), ft.record+".yaml")
		if err != nil {
			t.Fatal(err)
		}
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			t.Fatal(err)
		}
		doc := root.Content[0]
		for i := 0; i+1 < len(doc.Content); i += 2 {
			if doc.Content[i].Value != "columns" {
				continue
			}
			for _, item := range doc.Content[i+1].Content {
				var c columnRow
				if err := item.Decode(&c); err != nil {
					t.Fatal(err)
				}
				fn(ft.record, item, c)
			}
		}
	}
}

// Every row with a note also has a YAML comment above it.
func TestEmbeddedNotesHaveComments(t *testing.T) {
	eachEmbeddedRow(t, func(record string, item *yaml.Node, c columnRow) {
		if c.Note != "" && strings.TrimSpace(item.HeadComment) == "" {
			t.Errorf("%s.yaml:%d: column %d has a note but no # comment", record, item.Line, c.Col)
		}
	})
}

// A "# §4 #N: departs from the page" comment sits only above a row that does
// depart from it: never above one whose note says it is as on the page (305
// columns 92-93 said so of the Payroll extension, which the page already has).
func TestEmbeddedCommentsAgreeWithNotes(t *testing.T) {
	eachEmbeddedRow(t, func(record string, item *yaml.Node, c columnRow) {
		if strings.Contains(item.HeadComment, "departs from the page") && strings.Contains(c.Note, "as on the page") {
			t.Errorf("%s.yaml:%d: column %d: the comment says it departs from the page, the note that it is as on the page:\n%s\n%s",
				record, item.Line, c.Col, item.HeadComment, c.Note)
		}
	})
}

// 305 repeats the 300 layout in columns 1-86.
func TestEmbedded305Extends300(t *testing.T) {
	set := loadEmbeddedForTest(t)
	a, b := set.Table("300"), set.Table("305")
	for col := 1; col <= 86; col++ {
		x, y := *a.ColumnAt(col), *b.ColumnAt(col)
		x.From, y.From = "", ""
		if x.Name != y.Name || x.To != y.To || x.As != y.As || x.Use != y.Use || x.Unsupported != y.Unsupported ||
			x.Required != y.Required || x.Option != y.Option || x.Unless != y.Unless || x.Distinct != y.Distinct || x.Warn != y.Warn || x.Element != y.Element || x.Note != y.Note {
			t.Errorf("column %d differs between 300 and 305:\n%+v\n%+v", col, x, y)
		}
	}
}

// Role rows create the element UPS requires ({"roleGroups": []}); every
// element is a JSON object.
func TestEmbeddedElementsAreJSONObjects(t *testing.T) {
	set := loadEmbeddedForTest(t)
	for _, r := range set.Records() {
		tb := set.Table(r)
		if tb.ElementInit != "" {
			var m map[string]any
			if err := json.Unmarshal([]byte(tb.ElementInit), &m); err != nil {
				t.Errorf("record %s: elementInit: %v", r, err)
			}
		}
		for _, c := range tb.Columns {
			if strings.Contains(c.To, tRole+"roles[") && !strings.HasSuffix(c.To, ".roleGroups") && c.Element != `{"roleGroups": []}` {
				t.Errorf("record %s column %d: a role row needs element {\"roleGroups\": []}", r, c.Col)
			}
			if c.Element == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(c.Element), &m); err != nil {
				t.Errorf("record %s column %d: element: %v", r, c.Col, err)
			}
		}
	}
}

// The attributes the tables may target, from the UPS v4 reference pages
// (v4.user-provisioning, spend and travel extensions) and, where marked, the
// UPS Swagger. Paths are written without filters; {product} stands for any
// Delegate product key.
var knownTargets = map[string][]string{
	"": {"name.givenName", "name.middleName", "name.familyName", "name.honorificPrefix", "name.honorificSuffix",
		"userName", "active", "nickName", "dateOfBirth", "title", "entitlements", "emails.value",
		"phoneNumbers.value", "phoneNumbers.workExtension", // workExtension: Swagger only
		"addresses.streetAddress", "addresses.locality", "addresses.region", "addresses.postalCode", "addresses.country"},
	scimpath.EnterpriseUser:    {"employeeNumber"},
	scimpath.EnterprisePayroll: {"adp.employeeFileNumber", "adp.companyCode", "adp.deductionCode"},
	scimpath.SpendUser: {"locale", "country", "stateProvince", "ledgerCode", "reimbursementCurrency", "reimbursementType",
		"cashAdvanceAccountCode", "nonEmployee", "biManager.employeeNumber", "customData.value"},
	scimpath.SpendRole: {"roles", "roles.roleGroups"},
	scimpath.SpendApprover: {"report.approver.employeeNumber", "cashAdvance.approver.employeeNumber",
		"request.approver.employeeNumber", "invoice.approver.employeeNumber", "statement.approver.employeeNumber",
		"budget.approver.employeeNumber"},
	scimpath.SpendDelegate: {"{product}.canPrepare", "{product}.canSubmit", "{product}.canApprove", "{product}.canViewReceipt",
		"{product}.canReceiveEmail", "{product}.canReceiveApprovalEmail", "{product}.canUseBi", "{product}.canSubmitTravelRequest",
		"{product}.canPrepareForApproval", "{product}.temporaryDelegation.temporaryDelegationFromDate",
		"{product}.temporaryDelegation.temporaryDelegationToDate", "{product}"},
	scimpath.SpendUserPreference: {"promptForCardTransactionsOnReport", "allowCreditCardTransArrivalEmails",
		"allowReceiptImageAvailEmails", "showInstructHelpPanel", "showImagingIntro", "expenseAuditRequired"},
	scimpath.SpendWorkflowPreference: {"emailStatusChangeOnCashAdvance", "emailAwaitApprovalOnCashAdvance",
		"emailStatusChangeOnReport", "emailAwaitApprovalOnReport", "promptForApproverOnReportSubmit",
		"emailStatusChangeOnTravelRequest", "emailAwaitApprovalOnTravelRequest", "promptForApproverOnTravelRequestSubmit",
		"emailStatusChangeOnPayment", "emailAwaitApprovalOnPayment", "promptForApproverOnPaymentSubmit"},
	scimpath.TravelUser: {"name.hasNoMiddleName", "gender", "manager.employeeNumber", "travelNameRemark", "ruleClass.name",
		"travelCrsName", "orgUnit", "customFields.value",
		"xmlProfileSyncId", "permissions.ProfileUser", "permissions.OpenBookingUser"}, // the last three: Swagger only
}

var placeholderForTest = regexp.MustCompile(`\{[^}]*\}`)

// A light schema check (the converter installs the real one): every target
// names an attribute of the UPS documentation, so a typo fails here.
func TestEmbeddedTargetsAreKnownAttributes(t *testing.T) {
	set := loadEmbeddedForTest(t)
	known := map[string]bool{}
	for urn, attrs := range knownTargets {
		for _, a := range attrs {
			known[urn+"|"+a] = true
		}
	}
	check := func(r string, col int, to string) {
		product := strings.Contains(to, "{product}")
		probe := placeholderForTest.ReplaceAllString(to, "X")
		p, err := scimpath.Parse(probe)
		if err != nil {
			t.Errorf("record %s column %d: %v", r, col, err)
			return
		}
		attr := append(append([]string{}, p.Attr...), p.Sub...)
		if product && len(attr) > 0 {
			attr[0] = "{product}"
		}
		if !known[p.URN+"|"+strings.Join(attr, ".")] {
			t.Errorf("record %s column %d: %s is not a known UPS attribute", r, col, to)
		}
	}
	for _, r := range set.Records() {
		tb := set.Table(r)
		if tb.Format != "" && tb.Format != "flat" {
			continue // other sources are checked by their own tests
		}
		if tb.Element != "" {
			check(r, 0, tb.Element)
		}
		for _, c := range tb.Columns {
			if c.To != "" {
				check(r, c.Col, c.To)
			}
		}
	}
}

// The code tables translate the flat-file codes, and PAY_PAL is rejected
// (§4 #5).
func TestEmbeddedCodeTransforms(t *testing.T) {
	set := loadEmbeddedForTest(t)
	cases := []struct {
		record   string
		col      int
		in, want string
		fails    bool
	}{
		{"305", 90, "ADPPAYR", "ADP_PAYROLL", false},
		{"305", 90, "apcheck", "ACCOUNTS_PAYABLE", false},
		{"305", 90, "CONCUR_PAY", "CONCUR_PAY", false},
		{"305", 90, "PAY_PAL", "", true},
		{"305", 76, "ALW", "ALWAYS", false},
		{"305", 9, "en_US", "en-US", false},
		{"305", 11, "US-WA", "WA", false},
		{"305", 13, "usd", "USD", false},
		{"350", 7, "F", "Female", false},
		{"350", 8, "19800131", "1980-01-31", false},
		{"550", 9, "2025-03-01", "2025-03-01T00:00:00.000Z", false},
	}
	for _, tc := range cases {
		c := set.Table(tc.record).ColumnAt(tc.col)
		out, err := c.Transform().Apply(tc.in)
		if tc.fails {
			if err == nil {
				t.Errorf("%s/%d %q: want an error, got %v", tc.record, tc.col, tc.in, out.Value.Str)
			}
			continue
		}
		if err != nil || out.Value.Str != tc.want {
			t.Errorf("%s/%d %q: got %q, %v; want %q", tc.record, tc.col, tc.in, out.Value.Str, err, tc.want)
		}
	}
	// The 400 role code EXP_USER is an entitlement in UPS.
	out, err := set.Table("400").ColumnAt(3).Transform().Apply("exp_user")
	if err != nil || out.Entitlement != "Expense" {
		t.Errorf("400 EXP_USER: %+v, %v; want entitlement Expense", out, err)
	}
}
