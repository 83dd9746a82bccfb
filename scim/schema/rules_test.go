package schema

import (
	"fmt"
	"strings"
	"testing"

	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// baseUser is a valid user with the travel addendum and an ACCOUNTS_PAYABLE
// reimbursement type (no Payroll extension).
func baseUser(t *testing.T) *scim.User {
	g := newGen(99)
	for i := 0; i < 100; i++ {
		u := g.user(i)
		_, travel := u.Doc.Get(scimpath.TravelUser)
		_, payroll := u.Doc.Get(scimpath.EnterprisePayroll)
		if travel && !payroll {
			if v := Validate(u, Create); len(v) != 0 {
				t.Fatalf("base user invalid: %v", v)
			}
			return u
		}
	}
	t.Fatal("no suitable user")
	return nil
}

func set(u *scim.User, path string, v scim.Value) {
	if _, err := u.Set(scimpath.MustParse(path), v); err != nil {
		panic(err)
	}
}

func del(u *scim.User, path string) {
	p := scimpath.MustParse(path)
	parent := &scim.Value{Kind: scim.ObjectKind, Obj: &u.Doc}
	if p.URN != "" {
		parent, _ = u.Doc.Get(p.URN)
	}
	for _, a := range p.Attr[:len(p.Attr)-1] {
		parent, _ = parent.Obj.Get(a)
	}
	parent.Obj.Delete(p.Attr[len(p.Attr)-1])
}

// appendElement adds a copy of the array's first element, changed by f.
func appendElement(u *scim.User, path string, f func(el *scim.Value)) {
	arr, ok := u.Lookup(scimpath.MustParse(path))
	if !ok || arr.Kind != scim.Array {
		panic(path)
	}
	el := scim.Clone(arr.Arr[0])
	f(&el)
	arr.Arr = append(arr.Arr, el)
}

func member(el *scim.Value, name string, v scim.Value) { el.Obj.Set(name, v) }

func TestRules(t *testing.T) {
	const appr = scimpath.SpendApprover + ":"
	tests := []struct {
		name   string
		mode   Mode
		change func(u *scim.User)
		want   []string // "rule path"; empty: valid
	}{
		{"valid", Create, func(*scim.User) {}, nil},
		{"userName without @", Create, func(u *scim.User) { set(u, "userName", scim.Str("chris.doe")) },
			[]string{"userName userName"}},
		{"userName with space", Create, func(u *scim.User) { set(u, "userName", scim.Str("chris doe@x.com")) },
			[]string{"userName userName"}},
		{"userName with tab", Create, func(u *scim.User) { set(u, "userName", scim.Str("chris\tdoe@x.com")) },
			[]string{"userName userName"}},
		{"userName with non-breaking space", Create, func(u *scim.User) { set(u, "userName", scim.Str("chris\u00a0doe@x.com")) },
			[]string{"userName userName"}},
		{"userName with %", Create, func(u *scim.User) { set(u, "userName", scim.Str("chris%doe@x.com")) },
			[]string{"userName userName"}},
		{"userName with +", Create, func(u *scim.User) { set(u, "userName", scim.Str("chris+tag@x.com")) },
			[]string{"userName userName"}},
		{"userName with pipe", Create, func(u *scim.User) { set(u, "userName", scim.Str("chris|doe@x.com")) },
			[]string{"userName userName"}},
		{"userName with apostrophe", Create, func(u *scim.User) { set(u, "userName", scim.Str("o'neil@x.com")) },
			[]string{"userName userName"}},
		{"userName allowed characters", Create, func(u *scim.User) { set(u, "userName", scim.Str("Chris.O-Neil_2@sub.example.co.uk")) }, nil},
		{"userName with non-ASCII letter", Create, func(u *scim.User) { set(u, "userName", scim.Str("jürgen@example.de")) }, nil},
		{"userName too long: schema only", Create, func(u *scim.User) { set(u, "userName", scim.Str(strings.Repeat("a", 130))) },
			[]string{"maxLength userName"}},
		{"unknown country", Create, func(u *scim.User) { set(u, spend+"country", scim.Str("XX")) },
			[]string{"country " + spend + "country"}},
		{"3-letter country: pattern only", Create, func(u *scim.User) { set(u, spend+"country", scim.Str("USX")) },
			[]string{"pattern " + spend + "country"}},
		{"budget country", Create, func(u *scim.User) { set(u, spend+"budgetCountryCode", scim.Str("UK")) },
			[]string{"country " + spend + "budgetCountryCode"}},
		{"address country", Create, func(u *scim.User) { set(u, `addresses[type eq "home"].country`, scim.Str("EU")) },
			[]string{`country addresses[type eq "home"].country`}},
		{"phone issuing country", Create, func(u *scim.User) { set(u, `phoneNumbers[type eq "mobile"].issuingCountry`, scim.Str("QQ")) },
			[]string{`country phoneNumbers[type eq "mobile"].issuingCountry`}},
		{"unknown currency", Create, func(u *scim.User) { set(u, spend+"reimbursementCurrency", scim.Str("EUD")) },
			[]string{"currency " + spend + "reimbursementCurrency"}},
		{"withdrawn fund code", Create, func(u *scim.User) { set(u, spend+"reimbursementCurrency", scim.Str("XAU")) },
			[]string{"currency " + spend + "reimbursementCurrency"}},
		{"lower-case currency: pattern only", Create, func(u *scim.User) { set(u, spend+"reimbursementCurrency", scim.Str("usd")) },
			[]string{"pattern " + spend + "reimbursementCurrency"}},
		{"unsupported language", Create, func(u *scim.User) { set(u, spend+"locale", scim.Str("ar-AE")) },
			[]string{"locale " + spend + "locale"}},
		{"unknown region", Create, func(u *scim.User) { set(u, spend+"locale", scim.Str("en-XX")) },
			[]string{"locale " + spend + "locale"}},
		{"supported locale", Create, func(u *scim.User) { set(u, spend+"locale", scim.Str("pt-PT")) }, nil},
		{"underscore locale: pattern only", Create, func(u *scim.User) { set(u, spend+"locale", scim.Str("en_US")) },
			[]string{"pattern " + spend + "locale"}},
		{"birth before 1900", Create, func(u *scim.User) { set(u, "dateOfBirth", scim.Str("1899-12-31")) },
			[]string{"dateRange dateOfBirth"}},
		{"birth on 1900-01-01", Create, func(u *scim.User) { set(u, "dateOfBirth", scim.Str("1900-01-01")) }, nil},
		{"start date after 2079-06-06", Create, func(u *scim.User) { set(u, ent+"startDate", scim.Str("2079-06-07T00:00:00Z")) },
			[]string{"dateRange " + ent + "startDate"}},
		{"termination on 2079-06-06", Create, func(u *scim.User) { set(u, ent+"terminationDate", scim.Str("2079-06-06T23:59:59Z")) }, nil},
		{"leave before 1900", Create, func(u *scim.User) {
			set(u, ent+`leavesOfAbsence[type eq "voluntary"].startDate`, scim.Str("1899-01-01"))
		}, []string{"dateRange " + ent + `leavesOfAbsence[startDate eq "1899-01-01"].startDate`}},
		{"delegation until 2100", Create, func(u *scim.User) {
			set(u, scimpath.SpendDelegate+`:expense[delegate.employeeNumber eq "E1"].temporaryDelegation.temporaryDelegationToDate`, scim.Str("2100-01-01T00:00:00.000Z"))
		}, []string{"dateRange " + scimpath.SpendDelegate + `:expense[delegate.employeeNumber eq "E1"].temporaryDelegation.temporaryDelegationToDate`}},
		{"ADP_PAYROLL without payroll", Create, func(u *scim.User) { set(u, spend+"reimbursementType", scim.Str("ADP_PAYROLL")) },
			[]string{"adp " + scimpath.EnterprisePayroll + ":adp.employeeFileNumber", "adp " + scimpath.EnterprisePayroll + ":adp.companyCode",
				"adp " + scimpath.EnterprisePayroll + ":adp.deductionCode"}},
		{"ADP_PAYROLL without payroll, update", Update, func(u *scim.User) { set(u, spend+"reimbursementType", scim.Str("ADP_PAYROLL")) }, nil},
		{"ADP_PAYROLL with two fields", Create, func(u *scim.User) {
			set(u, spend+"reimbursementType", scim.Str("ADP_PAYROLL"))
			set(u, scimpath.EnterprisePayroll+":adp.employeeFileNumber", scim.Str("1"))
			set(u, scimpath.EnterprisePayroll+":adp.companyCode", scim.Str("C"))
		}, []string{"required " + scimpath.EnterprisePayroll + ":adp.deductionCode"}}, // reported once, by the schema
		{"payroll without ADP_PAYROLL", Create, func(u *scim.User) {
			set(u, scimpath.EnterprisePayroll+":adp.employeeFileNumber", scim.Str("1"))
			set(u, scimpath.EnterprisePayroll+":adp.companyCode", scim.Str("C"))
			set(u, scimpath.EnterprisePayroll+":adp.deductionCode", scim.Str("D"))
		}, []string{"adp " + scimpath.EnterprisePayroll}},
		{"two primary report approvers", Create, func(u *scim.User) {
			appendElement(u, appr+"report", func(el *scim.Value) {
				a, _ := el.Obj.Get("approver")
				a.Obj.Set("employeeNumber", scim.Str("E77"))
			})
		}, []string{"primary " + appr + `report[approver.employeeNumber eq "E77"].primary`}},
		{"non-primary cash advance approver", Create, func(u *scim.User) {
			set(u, appr+`cashAdvance[primary eq false].approver.employeeNumber`, scim.Str("E78"))
		}, []string{"primary " + appr + `cashAdvance[approver.employeeNumber eq "E78"].primary`}},
		{"non-primary request approver", Create, func(u *scim.User) {
			set(u, appr+`request[primary eq false].approver.employeeNumber`, scim.Str("E78"))
		}, nil},
		{"two work emails", Create, func(u *scim.User) {
			appendElement(u, "emails", func(el *scim.Value) { member(el, "value", scim.Str("x@example.com")) })
		}, []string{`unique emails[type eq "work"]`}},
		{"two work phones", Create, func(u *scim.User) { appendElement(u, "phoneNumbers", func(*scim.Value) {}) },
			[]string{`unique phoneNumbers[type eq "work"]`}},
		{"two mobile phones", Create, func(u *scim.User) {
			arr, _ := u.Doc.Get("phoneNumbers")
			arr.Arr = append(arr.Arr, scim.Clone(arr.Arr[1]))
		}, nil},
		{"two primary phones", Create, func(u *scim.User) {
			set(u, `phoneNumbers[type eq "mobile"].primary`, scim.BoolValue(true))
			set(u, `phoneNumbers[type eq "work"].primary`, scim.BoolValue(true))
		}, []string{`primary phoneNumbers[type eq "mobile"].primary`}},
		{"custom field twice", Create, func(u *scim.User) {
			appendElement(u, spend+"customData", func(*scim.Value) {})
		}, []string{`unique ` + spend + `customData[id eq "orgUnit1"]`}},
		{"bi manager without employee number or value", Create, func(u *scim.User) {
			del(u, spend+"biManager.employeeNumber")
			set(u, spend+"biManager.displayName", scim.Str("Boss"))
		}, []string{"reference " + spend + "biManager"}},
		{"approver by UUID", Create, func(u *scim.User) {
			arr, _ := u.Lookup(scimpath.MustParse(appr + "report"))
			a, _ := arr.Arr[0].Obj.Get("approver")
			a.Obj.Members = []scim.Member{{Name: "value", Value: scim.Str("824CCAA3-DDAF-4912-B46A-BBEB4ED1D089")}}
		}, nil},
		{"update needs nothing", Update, func(u *scim.User) {
			del(u, "userName")
			del(u, spend+"country")
			del(u, scimpath.TravelUser+":ruleClass")
		}, nil},
		{"create needs required", Create, func(u *scim.User) {
			del(u, "userName")
			del(u, spend+"country")
			del(u, scimpath.TravelUser+":ruleClass")
		}, []string{"required " + spend + "country", "required " + scimpath.TravelUser + ":ruleClass", "required userName"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := baseUser(t)
			tc.change(u)
			var got []string
			for _, v := range Validate(u, tc.mode) {
				got = append(got, v.Rule+" "+v.Path)
				if v.Msg == "" {
					t.Errorf("%s: empty message", v.Path)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestViolationOrigin(t *testing.T) {
	u := baseUser(t)
	o := u.AddOrigin(scim.Origin{File: "emp.txt", Line: 9, Col: 40, Column: 10, Record: "305"})
	v := scim.Str("XX")
	v.Origin = o
	set(u, spend+"country", v)
	// A required attribute is missing: the origin is its object's, or 0.
	del(u, "name.givenName")
	got := Validate(u, Create)
	if len(got) != 2 {
		t.Fatalf("got %v", got)
	}
	if got[0].Path != "name.givenName" || got[0].Rule != "required" {
		t.Errorf("first: %+v", got[0])
	}
	if got[1].Origin != o || got[1].Msg != `"XX" is not an ISO 3166 country code` {
		t.Errorf("country violation: %+v", got[1])
	}
	// The origin of an element's value, or of its nearest enclosing value.
	u = baseUser(t)
	e, _ := u.Lookup(scimpath.MustParse(`emails[type eq "work"].value`))
	e.Str = "not an email"
	got = Validate(u, Create)
	if len(got) != 1 || got[0].Origin != e.Origin || got[0].Origin == 0 || got[0].Path != `emails[type eq "work"].value` {
		t.Errorf("email: %+v (value origin %d)", got, e.Origin)
	}
	arr, _ := u.Doc.Get("emails")
	arr.Arr[0].Obj.Delete("type")
	got = Validate(u, Create)
	if len(got) != 1 || got[0].Path != `emails[0].value` {
		t.Errorf("element without key: %+v", got)
	}
}

func TestViolationMessages(t *testing.T) {
	u := baseUser(t)
	set(u, ent+"employeeNumber", scim.Str(strings.Repeat("9", 49)))
	set(u, spend+"reimbursementType", scim.Str("PAY_PAL"))
	set(u, "active", scim.Str("Y"))
	set(u, "bogus", scim.Str("x"))
	set(u, spend+"custmData", scim.Str("x"))
	var got []string
	for _, v := range Validate(u, Create) {
		got = append(got, fmt.Sprintf("%s | %s | %s", v.Path, v.Rule, v.Msg))
	}
	want := []string{
		"active | type | expected boolean, got string",
		`bogus | additionalProperties | the resource has no attribute "bogus"`,
		spend + "reimbursementType | enum | \"PAY_PAL\" is not one of ACCOUNTS_PAYABLE, ADP_PAYROLL, CONCUR_PAY, OTHER",
		spend + `custmData | additionalProperties | spend:2.0:User has no attribute "custmData"`,
		ent + "employeeNumber | maxLength | longer than 48 characters (49)",
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("missing %q in\n%s", w, strings.Join(got, "\n"))
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
}
