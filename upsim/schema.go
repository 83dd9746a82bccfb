package upsim

import "strings"

// SCIM schema and message URNs used by UPS v4.
const (
	urnCore          = "urn:ietf:params:scim:schemas:core:2.0:User"
	urnEnterprise    = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	urnPayroll       = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:Payroll"
	urnSAP           = "urn:ietf:params:scim:schemas:extension:sap:2.0:User"
	urnSpendUser     = "urn:ietf:params:scim:schemas:extension:spend:2.0:User"
	urnApprover      = "urn:ietf:params:scim:schemas:extension:spend:2.0:Approver"
	urnApproverLimit = "urn:ietf:params:scim:schemas:extension:spend:2.0:ApproverLimit"
	urnDelegate      = "urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate"
	urnRole          = "urn:ietf:params:scim:schemas:extension:spend:2.0:Role"
	urnUserPref      = "urn:ietf:params:scim:schemas:extension:spend:2.0:UserPreference"
	urnWorkflowPref  = "urn:ietf:params:scim:schemas:extension:spend:2.0:WorkflowPreference"
	urnInvoicePref   = "urn:ietf:params:scim:schemas:extension:spend:2.0:InvoicePreference"
	urnTravel        = "urn:ietf:params:scim:schemas:extension:travel:2.0:User"

	urnBulkRequest     = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	urnPatchOp         = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	urnListResponse    = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	urnError           = "urn:ietf:params:scim:api:messages:2.0:Error"
	urnConcurError     = "urn:ietf:params:scim:api:messages:concur:2.0:Error"
	urnSearchRequest   = "urn:ietf:params:scim:api:messages:concur:2.0:SearchRequest"
	urnProvisionStatus = "urn:ietf:params:scim:schemas:extension:concur:2.0:Provision:Status"
	urnSpendResource   = "urn:com.concur.spend.user.model.scim.ScimResource"
)

// statusExtensions is the order in which extensions are reported in an
// operation's status (every operation lists all of them; untouched ones are
// "no-op").
var statusExtensions = []string{
	urnCore, urnEnterprise,
	urnSpendUser, urnApprover, urnApproverLimit, urnDelegate, urnRole,
	urnUserPref, urnWorkflowPref, urnInvoicePref, urnPayroll,
	urnTravel,
}

// applyOrder is the order in which extension groups are applied: identity
// first, then Spend User (the foundation of the other spend extensions), the
// other spend extensions, and travel.
var applyOrder = []string{
	urnSpendUser, urnApprover, urnApproverLimit, urnDelegate, urnRole,
	urnUserPref, urnWorkflowPref, urnInvoicePref, urnPayroll, urnTravel,
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}

// knownAttrs lists the top-level attributes accepted per schema (lower-case).
// The core list holds the documented Concur attributes plus the standard
// SCIM core ones and the common read-only attributes.
var knownAttrs = map[string]map[string]bool{
	urnCore: set("schemas", "id", "externalId", "meta", "userName", "active", "name",
		"displayName", "nickName", "title", "emails", "phoneNumbers", "addresses",
		"emergencyContacts", "entitlements", "preferredLanguage", "timezone",
		"dateOfBirth", "localeOverrides", "gender", "profileUrl", "userType",
		"locale", "ims", "photos", "groups", "roles", "x509Certificates"),
	urnEnterprise: set("employeeNumber", "costCenter", "organization", "division",
		"department", "manager", "companyId", "startDate", "terminationDate",
		"leavesOfAbsence"),
	urnSAP: set("userUuid"),
	urnSpendUser: set("reimbursementCurrency", "reimbursementType", "ledgerCode",
		"country", "budgetCountryCode", "stateProvince", "locale",
		"cashAdvanceAccountCode", "testEmployee", "nonEmployee", "biManager",
		"biHierarchy", "customData"),
	urnApprover: set("report", "cashAdvance", "request", "invoice",
		"purchaseRequest", "statement", "budget"),
	urnApproverLimit: set("costObjectApprover", "authorizedApprover"),
	urnDelegate:      set("expense", "payment", "purchaseRequest"),
	urnRole:          set("roles"),
	urnUserPref: set("showImagingIntro", "expenseAuditRequired",
		"allowCreditCardTransArrivalEmails", "allowReceiptImageAvailEmails",
		"promptForCardTransactionsOnReport", "autoAddTripCardTransOnReport",
		"promptForReportPrintFormat", "defaultReportPrintFormat",
		"showTotalOnReport", "showExpenseOnReport", "showInstructHelpPanel",
		"useQuickItinAsDefault"),
	urnWorkflowPref: set("emailStatusChangeOnCashAdvance",
		"emailAwaitApprovalOnCashAdvance", "emailStatusChangeOnReport",
		"emailAwaitApprovalOnReport", "promptForApproverOnReportSubmit",
		"emailStatusChangeOnTravelRequest", "emailAwaitApprovalOnTravelRequest",
		"promptForApproverOnTravelRequestSubmit", "emailStatusChangeOnPayment",
		"emailAwaitApprovalOnPayment", "promptForApproverOnPaymentSubmit"),
	urnInvoicePref: set("emailOnPurchasingAssigned", "emailOnPurchasingSendBack",
		"emailOnFaxImageAvailablePaymentRequest", "promptNewLineItemsPaymentRequest",
		"displayInlineImage", "autoOpenImage"),
	urnPayroll: set("adp"),
	urnTravel: set("ruleClass", "travelNameRemark", "travelCrsName", "groups",
		"manager", "customFields", "gender", "orgUnit", "name"),
}

// canonicalURN returns the canonical spelling of a known schema URN
// (case-insensitive), or "" when s is not one.
func canonicalURN(s string) string {
	for u := range knownAttrs {
		if strings.EqualFold(u, s) {
			return u
		}
	}
	return ""
}

// isIdentityURN reports whether urn belongs to the identity part of a user
// (core, enterprise, SAP), which is validated and applied first.
func isIdentityURN(urn string) bool {
	return urn == urnCore || urn == urnEnterprise || urn == urnSAP
}

// isSpendDependent reports whether urn needs an existing Spend User.
func isSpendDependent(urn string) bool {
	switch urn {
	case urnApprover, urnApproverLimit, urnDelegate, urnRole, urnUserPref,
		urnWorkflowPref, urnInvoicePref, urnPayroll:
		return true
	}
	return false
}

// isKnownAttr reports whether attr is a top-level attribute of urn.
func isKnownAttr(urn, attr string) bool {
	return knownAttrs[urn][strings.ToLower(attr)]
}

// shortToURN resolves an un-prefixed attribute name used in a search filter:
// core attributes win, enterprise ones (employeeNumber, department, …) are
// accepted without their URN as Concur's v4 filter does.
func shortToURN(attr string) string {
	if isKnownAttr(urnCore, attr) {
		return urnCore
	}
	if isKnownAttr(urnEnterprise, attr) {
		return urnEnterprise
	}
	return urnCore
}
