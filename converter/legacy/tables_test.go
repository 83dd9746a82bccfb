package legacy_test

import (
	"strconv"
	"strings"
	"testing"

	"scimigrate/converter"
	"scimigrate/mapping"
)

const (
	enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	spendUser  = "urn:ietf:params:scim:schemas:extension:spend:2.0:User:"
	spendRole  = "urn:ietf:params:scim:schemas:extension:spend:2.0:Role:"
	travelUser = "urn:ietf:params:scim:schemas:extension:travel:2.0:User:"
)

func loadSet(t *testing.T) *mapping.Set {
	t.Helper()
	set, err := converter.LoadMappings("", mapping.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// Every row of the public pages is in the tables, mapped or with a reason,
// and the corrected rows say why in a note.
func TestTablesCoverPublicPages(t *testing.T) {
	set := loadSet(t)
	pages := map[string][]string{
		"v1": {"loginID", "Active", "FirstName", "LastName", "Mi", "EmailAddress", "EmpId", "LedgerName", "LocaleName",
			"OrgUnit1", "OrgUnit2", "OrgUnit3", "OrgUnit4", "OrgUnit5", "OrgUnit6",
			"CtryCode", "CashAdvanceAccountCode", "CrnCode", "CtrySubCode", "ExpenseUser", "ExpenseApprover", "TripUser",
			"InvoiceUser", "InvoiceApprover", "ExpenseApproverEmployeeID", "IsTestEmp",
			// Not on the page, in the V1 docs and samples.
			"FeedRecordNumber", "Password", "LedgerKey", "CrnKey", "EmployeeID", "LoginId", "BiHierNodeKey"},
		"v1-idchange": {"EmpId", "NewEmployeeID", "NewLoginID"},
		"v3": {"Total", "Offset", "Limit", "Filter", "Active", "CellPhoneNumber", "EmployeeID", "FirstName", "ID",
			"LastName", "LoginID", "MiddleName", "OrginzationUnit", "PrimaryEmail",
			"OrganizationUnit", "CountryCode", "Emails[1]", "Emails[2]", "URI", "NextPage"},
	}
	for i := 1; i <= 21; i++ {
		pages["v1"] = append(pages["v1"], "Custom"+strconv.Itoa(i))
	}
	for rec, fields := range pages {
		tbl := set.Table(rec)
		if tbl == nil {
			t.Fatalf("no table %s", rec)
		}
		if !tbl.Named() || tbl.Format == "" {
			t.Errorf("%s: not a named table with a format", rec)
		}
		for _, f := range fields {
			c := tbl.ColumnNamed(f)
			if c == nil {
				t.Errorf("%s: %s is not in the table", rec, f)
				continue
			}
			if !c.Mapped() && c.Unsupported == "" && c.Use == "" {
				t.Errorf("%s: %s neither mapped nor unsupported", rec, f)
			}
		}
	}
	// Corrections of the pages.
	for _, c := range []struct{ rec, field, to, note string }{
		{"v1", "EmpId", enterprise + "employeeNumber", "enterprise"},
		{"v1", "InvoiceApprover", spendRole + `roles[roleName eq "INV_APPROVER"]`, "INV_APPROVER"},
		{"v1", "TripUser", `entitlements[value eq "Travel"]`, "Travel"},
		{"v1", "LedgerName", spendUser + "ledgerCode", "LedgerKey"},
		{"v1", "CrnCode", spendUser + "reimbursementCurrency", "CrnKey"},
		{"v3", "OrginzationUnit", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "core:2.0:User"},
		{"v3", "ID", "", "v4 UUID"},
		{"v3", "Total", "", "totalResults"},
	} {
		col := set.Table(c.rec).ColumnNamed(c.field)
		if col.To != c.to {
			t.Errorf("%s %s → %s, want %s", c.rec, c.field, col.To, c.to)
		}
		if !strings.Contains(col.Note, c.note) {
			t.Errorf("%s %s: note %q does not mention %q", c.rec, c.field, col.Note, c.note)
		}
	}
	if c := set.Table("v1").ColumnNamed("Password"); c.Unsupported == "" {
		t.Error("v1 Password is not unsupported")
	}
}

// The legacy tables send a concept to the same SCIM target as the flat-file
// tables.
func TestTablesSameTargetsAsFlat(t *testing.T) {
	set := loadSet(t)
	for _, c := range []struct {
		rec, field string
		flat       string
		col        int
	}{
		{"v1", "EmpId", "305", 5}, {"v1", "LoginId", "305", 6}, {"v1", "EmailAddress", "305", 8},
		{"v1", "FirstName", "305", 2}, {"v1", "LastName", "305", 4},
		{"v1", "LocaleName", "305", 9}, {"v1", "CtryCode", "305", 10}, {"v1", "CtrySubCode", "305", 11},
		{"v1", "LedgerKey", "305", 12}, {"v1", "CrnKey", "305", 13}, {"v1", "CashAdvanceAccountCode", "305", 14},
		{"v1", "Active", "305", 15}, {"v1", "OrgUnit1", "305", 16}, {"v1", "OrgUnit6", "305", 21},
		{"v1", "Custom1", "305", 22}, {"v1", "Custom21", "305", 42},
		{"v1", "ExpenseApproverEmployeeID", "305", 59}, {"v1", "ExpenseUser", "305", 63},
		{"v1", "ExpenseApprover", "305", 64}, {"v1", "InvoiceUser", "305", 73}, {"v1", "InvoiceApprover", "305", 74},
		{"v1-idchange", "NewEmployeeID", "320", 3}, {"v1-idchange", "NewLoginID", "320", 4},
		{"v3", "EmployeeID", "305", 5}, {"v3", "LoginID", "305", 6}, {"v3", "PrimaryEmail", "305", 8},
		{"v3", "FirstName", "305", 2}, {"v3", "MiddleName", "305", 3}, {"v3", "LastName", "305", 4},
		{"v3", "CountryCode", "305", 10}, {"v3", "Active", "305", 15},
		{"v3", "CellPhoneNumber", "350", 15},
		{"v3", "Emails[1]", "350", 31}, {"v3", "Emails[2]", "350", 32},
	} {
		got := set.Table(c.rec).ColumnNamed(c.field)
		want := set.Table(c.flat).ColumnAt(c.col)
		if got.To != want.To || got.As != want.As && !(got.As == "listcode" && want.As == "") {
			t.Errorf("%s %s → %s (as %q); %s column %d → %s (as %q)", c.rec, c.field, got.To, got.As, c.flat, c.col, want.To, want.As)
		}
	}
}

func TestListCode(t *testing.T) {
	for in, want := range map[string]string{
		"(SBS AU)SBS Australia":  "SBS AU",
		"(1234) Project 1234":    "1234",
		"( DE01 )Deutschland":    "DE01",
		"(555) 123-4567":         "(555) 123-4567",
		"R&D":                    "R&D",
		"()Empty":                "()Empty",
		"(a(b)c":                 "(a(b)c",
		"(X)":                    "(X)",
		"Name (CODE)":            "Name (CODE)",
		"(CC-4711) Cost Ctr 1":   "CC-4711",
		"(Ü1)Übersee Abteilung":  "Ü1",
		"(12)34 Zürich Branch 5": "12",
	} {
		out, err := mapping.ListCode(in)
		if err != nil || out.Value.Str != want {
			t.Errorf("ListCode(%q) = %q, %v; want %q", in, out.Value.Str, err, want)
		}
	}
	if _, err := mapping.LookupTransform("listcode", nil); err != nil {
		t.Error(err)
	}
}

// V1 FeedRecordNumber must be a whole number: the profile is rejected with
// the element's position otherwise.
func TestV1FeedRecordNumberChecked(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "b.xml", "<batch>\n<UserProfile><EmpId>1</EmpId><LoginId>a@x.com</LoginId>\n <FeedRecordNumber>one</FeedRecordNumber></UserProfile></batch>")
	r := convert(t, "", p)
	if len(r.users) != 0 || len(r.diags) != 1 || !strings.Contains(r.diags[0], "b.xml:3:2: error: FeedRecordNumber:") {
		t.Errorf("%v %v", r.users, r.diags)
	}
}
