package flatfile

import (
	"fmt"
	"strconv"
	"strings"

	"scimigrate/converter/source"
)

// Settings is the 100 (Import Settings) record that must open every file.
type Settings struct {
	File                 string
	Line                 int
	ErrorThreshold       int    // column 2: rejected records tolerated before the job fails (0 = no limit)
	PasswordGeneration   string // column 3: EMPID, LOGINID, TEXT, SSO — UPS takes no passwords; reported only
	Existing             string // column 4: UPDATE or REPLACE
	Language             string // column 5: language of the import; not the users' locale
	ValidateExpenseGroup bool   // column 6
	ValidatePaymentGroup bool   // column 7
}

// SettingsWidth is the number of columns of the 100 record.
const SettingsWidth = 7

// ParseSettings reads a 100 record. Any problem is an error: the flat-file
// importer does not read a file whose 100 record is missing or malformed.
func ParseSettings(rec *source.Record) (Settings, []source.Diagnostic) {
	s := Settings{File: rec.File, Line: rec.Line}
	var diags []source.Diagnostic
	bad := func(i int, field, msg string) {
		diags = append(diags, rec.At(i, source.Error, field, msg))
	}
	if rec.Type != "100" {
		bad(0, "Transaction Type", fmt.Sprintf("the first record must be the 100 (Import Settings) record, found %q", rec.Type))
		return s, diags
	}
	if n := rec.Width(); n != SettingsWidth {
		bad(min(n, SettingsWidth+1)-1, "", fmt.Sprintf("the 100 record has %d columns; it must have %d (100,threshold,password generation,UPDATE|REPLACE,language,Y|N,Y|N)", n, SettingsWidth))
		if n < SettingsWidth {
			return s, diags
		}
	}
	v := func(i int) string { return strings.TrimSpace(rec.Fields[i].Value) }
	if n, err := strconv.Atoi(v(1)); err != nil || n < 0 {
		bad(1, "Error Threshold", fmt.Sprintf("%q is not a whole number ≥ 0", v(1)))
	} else {
		s.ErrorThreshold = n
	}
	switch p := strings.ToUpper(v(2)); p {
	case "EMPID", "LOGINID", "TEXT", "SSO":
		s.PasswordGeneration = p
	default:
		bad(2, "Password Generation", fmt.Sprintf("%q is not one of EMPID, LOGINID, TEXT, SSO", v(2)))
	}
	switch x := strings.ToUpper(v(3)); x {
	case "UPDATE", "REPLACE":
		s.Existing = x
	default:
		bad(3, "Existing Record Handling", fmt.Sprintf("%q is not UPDATE or REPLACE", v(3)))
	}
	s.Language = v(4)
	if s.Language == "" {
		bad(4, "Language Code", "required, but blank")
	}
	for i, dst := range []*bool{&s.ValidateExpenseGroup, &s.ValidatePaymentGroup} {
		col := 5 + i
		switch strings.ToUpper(v(col)) {
		case "Y":
			*dst = true
		case "N":
		default:
			bad(col, []string{"Validate Expense Group", "Validate Payment Group"}[i], fmt.Sprintf("%q is not Y or N", v(col)))
		}
	}
	return s, diags
}

// Unsupported record types of the Employee Import specification: counted and
// reported, never converted.
var Unsupported = map[string]string{
	"315":  "SAP Global Identification",
	"360":  "Invoice Employee Import",
	"600":  "Company Card Account",
	"650":  "Company Card Account (extended)",
	"700":  "Authorized Approver",
	"710":  "Cost Object Approver",
	"720":  "Invoice Approver",
	"730":  "Purchase Request Approver",
	"750":  "Request Approver",
	"760":  "Invoice Approver (payment)",
	"770":  "Approver",
	"800":  "Employee Bank (EFT)",
	"810":  "Employee Bank (EFT) extended",
	"820":  "Employee Bank (EFT) additional",
	"900":  "Car Configuration",
	"910":  "Car Configuration (extended)",
	"1000": "Analytics Bursting",
	"1100": "Analytics Bursting (extended)",
}
