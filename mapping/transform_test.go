package mapping

import (
	"strings"
	"testing"

	"scimigrate/scim"
)

func TestTransforms(t *testing.T) {
	codes := Codes{
		"expenseAudit":      {"REQ": "REQUIRED", "ALW": "ALWAYS", "NVR": "NEVER"},
		"reimbursementType": {"APCHECK": "ACCOUNTS_PAYABLE", "ADPPAYR": "ADP_PAYROLL", "CNQRPAY": "CONCUR_PAY", "PMTSERV": "OTHER"},
		"delegateProduct":   {"EXP": "expense", "expense": "expense", "PAY": "payment"},
		"roleCodes":         {"EXP_USER": "entitlement:Expense"},
	}
	tests := []struct {
		as, in  string
		want    string // JSON of the value, or "+"/"-" for membership, "E:<name>" for an entitlement redirect
		wantErr string
	}{
		{"yesno", "Y", "true", ""}, {"yesno", "n", "false", ""}, {"yesno", "yes", "", "is not Y or N"},
		{"flag", "y", "+", ""}, {"flag", "N", "-", ""}, {"flag", "1", "", "is not Y or N"},
		{"locale", "en_US", `"en-US"`, ""}, {"locale", "fr-ca", `"fr-CA"`, ""}, {"locale", "english", "", "not a locale"}, {"locale", "e1_US", "", "not a locale"},
		{"subdivision", "US-WA", `"WA"`, ""}, {"subdivision", "ca-bc", `"BC"`, ""}, {"subdivision", "WA", `"WA"`, ""}, {"subdivision", "USA-WA", "", "not a subdivision"},
		{"upper", "usd", `"USD"`, ""},
		{"date", "1980-02-29", `"1980-02-29"`, ""}, {"date", "19800229", `"1980-02-29"`, ""}, {"date", "02/29/1980", `"1980-02-29"`, ""},
		{"date", "1981-02-29", "", "not a date"}, {"date", "1899-12-31", "", "outside 1900-01-01..2079-06-06"}, {"date", "2079-06-07", "", "outside"},
		{"date", "2079-06-06", `"2079-06-06"`, ""},
		{"datetime", "2026-12-01", `"2026-12-01T00:00:00.000Z"`, ""}, {"datetime", "2020-02-19T03:15:00.000Z", `"2020-02-19T03:15:00.000Z"`, ""},
		// The last day of a period is covered whole (issue 12).
		{"enddatetime", "2026-03-31", `"2026-03-31T23:59:59.999Z"`, ""}, {"enddatetime", "20260331", `"2026-03-31T23:59:59.999Z"`, ""},
		{"enddatetime", "03/31/2026", `"2026-03-31T23:59:59.999Z"`, ""}, {"enddatetime", "2020-02-19T03:59:00.000Z", `"2020-02-19T03:59:00.000Z"`, ""},
		{"enddatetime", "2079-06-06", `"2079-06-06T23:59:59.999Z"`, ""}, {"enddatetime", "2026-02-30", "", "not a date"},
		{"integer", "007", "7", ""}, {"integer", "0", "0", ""}, {"integer", "1.5", "", "not a whole number"},
		{"code:expenseAudit", "alw", `"ALWAYS"`, ""}, {"code:expenseAudit", "SOMETIMES", "", `"SOMETIMES" is not one of ALW, NVR, REQ`},
		{"code:reimbursementType", "ADPPAYR", `"ADP_PAYROLL"`, ""}, {"code:reimbursementType", "PAY_PAL", "", "is not one of"},
		{"code:delegateProduct", "Expense", `"expense"`, ""}, {"code:delegateProduct", "pay", `"payment"`, ""},
		{"role", "exp_processor", `"EXP_PROCESSOR"`, ""}, {"role", "EXP_USER", "E:Expense", ""}, {"role", "BAD ROLE", "", "not a role code"},
		{"segment", "QA", `"QA"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.as+"/"+tt.in, func(t *testing.T) {
			xf, err := LookupTransform(tt.as, codes)
			if err != nil {
				t.Fatal(err)
			}
			out, err := xf.Apply(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got string
			switch {
			case out.Entitlement != "":
				got = "E:" + out.Entitlement
			case out.Membership == AssertPresent && tt.as == "flag":
				got = "+"
			case out.Membership == AssertAbsent:
				got = "-"
			default:
				got = string(scim.AppendJSON(nil, out.Value))
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	if _, err := LookupTransform("nope", codes); err == nil {
		t.Error("unknown transform accepted")
	}
	if _, err := LookupTransform("code:nope", codes); err == nil {
		t.Error("unknown code table accepted")
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte("companyId: abc\ntravelCustomFields: {7: Canary ID}\noptions: {xmlProfileSyncId: true}\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Value("travelCustom7"); !ok || v != "Canary ID" || !c.Option("xmlProfileSyncId") || c.Email2Type != "work2" {
		t.Errorf("config %+v", c)
	}
	if c.DropInvalidOptional() || c.OnInvalidOptional != "reject" {
		t.Errorf("onInvalidOptional defaults to %q", c.OnInvalidOptional)
	}
	if c, err := ParseConfig([]byte("onInvalidOptional: drop\n"), "c.yaml"); err != nil || !c.DropInvalidOptional() {
		t.Errorf("onInvalidOptional: drop: %v %+v", err, c)
	}
	// --default PATH=VALUE: checked as defaults: are, and replacing one.
	c, _ = ParseConfig([]byte("defaults: {'urn:ietf:params:scim:schemas:extension:spend:2.0:User:locale': en-US}\n"), "c.yaml")
	if err := c.SetDefault("urn:ietf:params:scim:schemas:extension:spend:2.0:User:locale", "en-GB"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetDefault("urn:ietf:params:scim:schemas:extension:spend:2.0:User:country", "GB"); err != nil {
		t.Fatal(err)
	}
	if d := c.CompiledDefaults(); len(d) != 2 || d[0].Value != "en-GB" || d[1].Value != "GB" {
		t.Errorf("defaults after SetDefault: %+v", d)
	}
	for path, want := range map[string]string{
		"urn:ietf:params:scim:schemas:extension:spend:2.0:User:nope": "nope",
		`emails[type eq "work"]`:                                     "does not name a single value",
	} {
		if err := c.SetDefault(path, "x"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("SetDefault(%s): %v, want %q", path, err, want)
		}
	}
	if _, ok := KnownOptions["unlistedRoles"]; ok {
		t.Error("unlistedRoles is still an option")
	}
	for in, want := range map[string]string{
		"companyID: x\n":                   "line 1: field companyID not found",
		"travelCustomFields: {26: x}\n":    "custom field 26 is not between 1 and 25",
		"email2Type: office\n":             `email type "office"`,
		"options: {frobnicate: true}\n":    `unknown option "frobnicate"`,
		"existing: MERGE\n":                `"MERGE" is not UPDATE or REPLACE`,
		"options: {unlistedRoles: true}\n": "options: unlistedRoles was removed: it sent 300/305 column 68 as role EXP_AUTH_REQUEST_APPROVER",
		"onInvalidOptional: skip\n":        `onInvalidOptional: "skip" is not reject or drop`,
	} {
		if _, err := ParseConfig([]byte(in), "c.yaml"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
}
