package schema

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// gen builds realistic users the way the converter does: scim.User.Set and
// Assert with paths from the mapping tables, each value with an origin.
type gen struct {
	r *rand.Rand
	u *scim.User
	n int // column counter for origins
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 305))} }

func (g *gen) origin() int32 {
	g.n++
	return g.u.AddOrigin(scim.Origin{File: "emp.txt", Line: 2, Col: g.n * 7, Column: g.n, Record: "305"})
}

func (g *gen) set(path string, v scim.Value) {
	v.Origin = g.origin()
	if _, err := g.u.Set(scimpath.MustParse(path), v); err != nil {
		panic(path + ": " + err.Error())
	}
}

func (g *gen) str(path, s string) { g.set(path, scim.Str(s)) }
func (g *gen) flag(path string)   { g.set(path, scim.BoolValue(g.r.IntN(2) == 0)) }

func (g *gen) assert(path string) {
	if err := g.u.Assert(scimpath.MustParse(path), true, g.origin()); err != nil {
		panic(path + ": " + err.Error())
	}
}

func (g *gen) pick(s ...string) string { return s[g.r.IntN(len(s))] }

var (
	givenNames  = []string{"Chris", "Anna", "José", "Zoë", "Li", "Mary-Jane", "Oğuz", "Søren"}
	familyNames = []string{"Doe", "Müller", "O'Neil", "García", "Nguyen", "Smith", "Łukasiewicz"}
)

const spend = scimpath.SpendUser + ":"
const ent = scimpath.EnterpriseUser + ":"

// user returns the i-th realistic user: a 305 record with its optional
// 350 (travel), 500/550 (delegates), 400 (roles) companions.
func (g *gen) user(i int) *scim.User {
	g.u = &scim.User{Key: fmt.Sprintf("E%05d", i), Identity: true}
	g.n = 0
	given, family := g.pick(givenNames...), g.pick(familyNames...)
	login := strings.ToLower(strings.NewReplacer("'", "", " ", "").Replace(fmt.Sprintf("%s.%s%d@example.com", given, family, i)))
	login = strings.Map(func(r rune) rune {
		if r > 127 {
			return 'x'
		}
		return r
	}, login)
	g.str("name.givenName", given)
	if g.r.IntN(2) == 0 {
		g.str("name.middleName", g.pick("Lee", "Marie", "J"))
	}
	g.str("name.familyName", family)
	g.str(ent+"employeeNumber", g.u.Key)
	g.str("userName", login)
	g.str(`emails[type eq "work"].value`, login)
	g.set("active", scim.BoolValue(g.r.IntN(10) != 0))
	g.str(ent+"companyId", "7c0b3ef2-1f3a-4c47-9c3e-2f3b3a5d8e11")
	country, cur, loc := g.pick("US", "DE", "FR", "GB", "CA"), "", ""
	switch country {
	case "US":
		cur, loc = "USD", "en-US"
		g.str(spend+"stateProvince", g.pick("WA", "NY", "CA"))
	case "DE":
		cur, loc = "EUR", "de-DE"
	case "FR":
		cur, loc = "EUR", "fr-FR"
	case "GB":
		cur, loc = "GBP", "en-GB"
	case "CA":
		cur, loc = "CAD", "fr-CA"
		g.str(spend+"stateProvince", "QC")
	}
	g.str(spend+"locale", loc)
	g.str(spend+"country", country)
	g.str(spend+"ledgerCode", "DEFAULT")
	g.str(spend+"reimbursementCurrency", cur)
	if g.r.IntN(3) == 0 {
		g.str(spend+"cashAdvanceAccountCode", "CA-100")
	}
	for k := 1; k <= 3; k++ {
		g.str(fmt.Sprintf(`%scustomData[id eq "orgUnit%d"].value`, spend, k), fmt.Sprintf("OU%d-%d", k, g.r.IntN(50)))
	}
	for _, k := range []int{1, 2, 5, 21} {
		g.str(fmt.Sprintf(`%scustomData[id eq "custom%d"].value`, spend, k), g.pick("A1", "Sales", "R&D", "US"))
	}
	for _, p := range []string{"emailStatusChangeOnCashAdvance", "emailAwaitApprovalOnCashAdvance", "emailStatusChangeOnReport",
		"emailAwaitApprovalOnReport", "promptForApproverOnReportSubmit", "emailStatusChangeOnTravelRequest",
		"emailAwaitApprovalOnTravelRequest", "promptForApproverOnTravelRequestSubmit", "emailStatusChangeOnPayment",
		"emailAwaitApprovalOnPayment", "promptForApproverOnPaymentSubmit"} {
		g.flag(scimpath.SpendWorkflowPreference + ":" + p)
	}
	for _, p := range []string{"promptForCardTransactionsOnReport", "allowCreditCardTransArrivalEmails",
		"allowReceiptImageAvailEmails", "showInstructHelpPanel", "showImagingIntro"} {
		g.flag(scimpath.SpendUserPreference + ":" + p)
	}
	g.str(scimpath.SpendUserPreference+":expenseAuditRequired", g.pick("REQUIRED", "ALWAYS", "NEVER"))
	appr := scimpath.SpendApprover + ":"
	boss := fmt.Sprintf("E%05d", g.r.IntN(1000))
	g.str(appr+`report[primary eq true].approver.employeeNumber`, boss)
	if g.r.IntN(2) == 0 {
		g.str(appr+`report[primary eq false].approver.employeeNumber`, fmt.Sprintf("E%05d", g.r.IntN(1000)))
	}
	g.str(appr+`cashAdvance[primary eq true].approver.employeeNumber`, boss)
	g.str(appr+`request[primary eq true].approver.employeeNumber`, boss)
	if g.r.IntN(3) == 0 {
		g.str(appr+`budget[primary eq true].approver.employeeNumber`, boss)
	}
	g.assert(`entitlements[value eq "Expense"]`)
	if g.r.IntN(2) == 0 {
		g.assert(`entitlements[value eq "Request"]`)
	}
	role := scimpath.SpendRole + ":"
	for _, r := range []string{"EXP_APPROVER", "REQ_APPROVER", "SHD_BUDGET_VIEWER"}[:1+g.r.IntN(3)] {
		g.assert(role + `roles[roleName eq "` + r + `"]`)
		g.set(role+`roles[roleName eq "`+r+`"].roleGroups`, scim.Value{Kind: scim.Array, Arr: []scim.Value{}})
	}
	g.str(spend+"biManager.employeeNumber", boss)
	g.set(spend+"nonEmployee", scim.BoolValue(false))
	if g.r.IntN(3) == 0 {
		g.str(spend+"reimbursementType", "ADP_PAYROLL")
		g.str(scimpath.EnterprisePayroll+":adp.employeeFileNumber", fmt.Sprint(100000+i))
		g.str(scimpath.EnterprisePayroll+":adp.companyCode", "ACM")
		g.str(scimpath.EnterprisePayroll+":adp.deductionCode", "E")
	} else {
		g.str(spend+"reimbursementType", "ACCOUNTS_PAYABLE")
	}
	if g.r.IntN(2) == 0 { // 350 Travel Addendum
		tr := scimpath.TravelUser + ":"
		g.str("name.honorificPrefix", g.pick("Mr", "Ms", "Dr"))
		g.str("nickName", string([]rune(given)[:2]))
		g.str(tr+"gender", g.pick("Male", "Female"))
		g.str("dateOfBirth", fmt.Sprintf("19%02d-%02d-%02d", 50+g.r.IntN(50), 1+g.r.IntN(12), 1+g.r.IntN(28)))
		g.str(tr+"manager.employeeNumber", boss)
		g.str("title", "Engineer")
		g.str(`phoneNumbers[type eq "work"].value`, "+1 425 555 0100")
		g.str(`phoneNumbers[type eq "mobile"].value`, "+1 425 555 0199")
		g.str(tr+"ruleClass.name", "Default Travel Class")
		g.str(tr+"travelCrsName", strings.ToUpper(family))
		g.str(`addresses[type eq "home"].streetAddress`, "1 Main St")
		g.str(`addresses[type eq "home"].locality`, "Redmond")
		g.str(`addresses[type eq "home"].region`, "WA")
		g.str(`addresses[type eq "home"].postalCode`, "98052")
		g.str(`addresses[type eq "home"].country`, "US")
		g.str(`emails[type eq "work2"].value`, "alt."+login)
		g.str(tr+`customFields[name eq "Canary ID"].value`, fmt.Sprint(800000+i))
		g.set(tr+"name.hasNoMiddleName", scim.BoolValue(false))
	}
	if g.r.IntN(3) == 0 { // 550 delegate
		d := scimpath.SpendDelegate + `:expense[delegate.employeeNumber eq "` + boss + `"].`
		for _, p := range []string{"canPrepare", "canSubmit", "canApprove", "canViewReceipt", "canReceiveEmail"} {
			g.flag(d + p)
		}
		g.str(d+"temporaryDelegation.temporaryDelegationFromDate", "2024-01-01T00:00:00.000Z")
		g.str(d+"temporaryDelegation.temporaryDelegationToDate", "2024-03-31T00:00:00.000Z")
	}
	return g.u
}

// leaves counts the scalar values of a user (for the benchmark's size).
func leaves(v *scim.Value) int {
	switch v.Kind {
	case scim.ObjectKind:
		n := 0
		for i := range v.Obj.Members {
			n += leaves(&v.Obj.Members[i].Value)
		}
		return n
	case scim.Array:
		n := 0
		for i := range v.Arr {
			n += leaves(&v.Arr[i])
		}
		return n
	case scim.Null:
		return 0
	}
	return 1
}

// cloneUser deep-copies a user's document.
func cloneUser(u *scim.User) *scim.User {
	v := scim.Clone(scim.Obj(&u.Doc))
	c := *u
	c.Doc = *v.Obj
	return &c
}

func mustParse(p string) *scimpath.Path { return scimpath.MustParse(p) }
