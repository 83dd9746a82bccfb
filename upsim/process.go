package upsim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// provision is one accepted Bulk request.
type provision struct {
	id            string
	created       time.Time
	modified      time.Time
	completed     time.Time // zero until every operation is processed
	correlationID string
	ops           []*bulkOp
	pending       int
	succeeded     int
	failed        int
}

// bulkOp is one operation of a provision and, once processed, its result.
type bulkOp struct {
	index  int // 1-based, reported as operations[].id
	method string
	path   string
	bulkID string
	data   json.RawMessage // dropped once processed
	due    time.Time

	done       bool
	code       int
	resourceID string
	exts       []extResult // outcomes that are not a plain "no-op"
}

func (op *bulkOp) success() bool { return op.done && op.code < 300 && op.code != 207 }

// extResult is the outcome of one extension of an operation.
type extResult struct {
	urn    string
	code   int
	result string // success, no-op, error
	msgs   []message
}

type queued struct {
	p  *provision
	op *bulkOp
}

func extOK(urn string) extResult { return extResult{urn: urn, code: 200, result: "success"} }

func extNoop(urn string) extResult { return extResult{urn: urn, code: 200, result: "no-op"} }

func extFail(urn string, errs ...*opError) extResult {
	r := extResult{urn: urn, result: "error"}
	for _, e := range errs {
		if r.code == 0 || (e.status != 404 && r.code == 404) {
			r.code = e.status
		}
		r.msgs = append(r.msgs, message{Code: e.code, Message: e.message, SchemaPath: e.schemaPath, Type: "error"})
	}
	return r
}

// identityFail attributes an identity error to the core or enterprise
// extension according to its schema path.
func identityFail(e *opError) extResult {
	urn := urnCore
	if strings.HasPrefix(e.schemaPath, urnEnterprise) {
		urn = urnEnterprise
	}
	return extFail(urn, e)
}

// processDue processes, in acceptance order, every queued operation whose
// completion time has passed. The caller holds s.mu.
func (s *Server) processDue(now time.Time) {
	for len(s.queue) > 0 && !s.queue[0].op.due.After(now) {
		q := s.queue[0]
		s.queue[0] = queued{}
		s.queue = s.queue[1:]
		s.runOp(q.p, q.op, now)
	}
	if len(s.queue) == 0 {
		s.queue = nil
	}
}

// processAll processes every queued operation. The caller holds s.mu.
func (s *Server) processAll(now time.Time) {
	for _, q := range s.queue {
		s.runOp(q.p, q.op, now)
	}
	s.queue = nil
}

func (s *Server) runOp(p *provision, op *bulkOp, now time.Time) {
	var code int
	var rid string
	var exts []extResult
	switch op.method {
	case "POST":
		code, rid, exts = s.opCreate(op.data, now)
	case "PATCH":
		code, rid, exts = s.opPatch(op.path, op.data, now)
	case "PUT":
		code, rid, exts = s.opReplace(op.path, op.data, now)
	case "DELETE":
		code, rid, exts = s.opDelete(op.path)
	default:
		code, exts = 400, []extResult{extFail(urnCore, errInput("", "unsupported method %q", op.method))}
	}
	op.done, op.code, op.resourceID, op.exts, op.data = true, code, rid, exts, nil
	p.pending--
	p.modified = now
	s.stats.OperationsProcessed++
	if op.success() {
		p.succeeded++
		s.stats.OperationsSucceeded++
	} else {
		p.failed++
		s.stats.OperationsFailed++
		if code == 409 {
			s.stats.DuplicateAttempts++
		}
	}
	if p.pending == 0 {
		p.completed = now
	}
}

// opCode derives the operation code from its extension outcomes: 207 when
// something was applied and something failed, the failure's code when
// nothing was applied, else ok.
func opCode(ok int, exts []extResult) int {
	applied, failed := false, 0
	for _, e := range exts {
		switch e.result {
		case "success":
			applied = true
		case "error":
			if failed == 0 {
				failed = e.code
			}
		}
	}
	switch {
	case failed == 0:
		return ok
	case applied:
		return 207
	default:
		return failed
	}
}

// splitResource separates identity attributes (core at the top level plus
// enterprise and SAP objects) from the other extensions.
func splitResource(doc map[string]any) (identity map[string]any, exts map[string]any, e *opError) {
	identity, exts = map[string]any{}, map[string]any{}
	for _, k := range sortedKeys(doc) {
		v := doc[k]
		if len(k) >= 4 && strings.EqualFold(k[:4], "urn:") {
			u := canonicalURN(k)
			switch {
			case u == "":
				return nil, nil, errInput(k, "Invalid attribute path [%s]", k)
			case u == urnCore:
				obj, ok := v.(map[string]any)
				if !ok {
					return nil, nil, errValue(u, "%s must be an object", u)
				}
				for ck, cv := range obj {
					if !isKnownAttr(urnCore, ck) {
						return nil, nil, errInput(urnCore+":"+ck, "Invalid attribute path [%s]", ck)
					}
					identity[ck] = cv
				}
			case isIdentityURN(u):
				identity[u] = v
			default:
				exts[u] = v
			}
			continue
		}
		if !isKnownAttr(urnCore, k) {
			return nil, nil, errInput(urnCore+":"+k, "Invalid attribute path [%s]", k)
		}
		identity[k] = v
	}
	for _, k := range []string{"id", "meta", "schemas"} {
		deleteCI(identity, k)
	}
	return identity, exts, nil
}

// userNameForbidden are the characters Concur rejects in userName.
const userNameForbidden = "%[#!*&()~'{^}\\/?><,;:\"+=]|"

var entitlementValues = set("Expense", "Invoice", "Request", "Travel")

// validateIdentity checks identity attributes (in place: companyId may be
// filled in) for a create (self == nil) or an update of self.
func (s *Server) validateIdentity(doc map[string]any, self *user) *opError {
	for _, urn := range []string{urnEnterprise, urnSAP} {
		v := getCI(doc, urn)
		if v == nil {
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return errValue(urn, "%s must be an object", urn)
		}
		for _, k := range sortedKeys(obj) {
			if !isKnownAttr(urn, k) {
				return errInput(urn+":"+k, "Invalid attribute path [%s:%s]", urn, k)
			}
		}
	}
	userPath := urnCore + ":userName"
	un, isStr := getCI(doc, "userName").(string)
	switch {
	case getCI(doc, "userName") == nil || (isStr && strings.TrimSpace(un) == ""):
		return errValue(userPath, "Required attribute '%s' is missing", userPath)
	case !isStr:
		return errValue(userPath, "Invalid '%s' Type", userPath)
	case strings.ContainsAny(un, userNameForbidden) || strings.ContainsAny(un, " \t\r\n"):
		return errValue(userPath, "Invalid '%s' Value: forbidden character", userPath)
	}
	if at := strings.LastIndexByte(un, '@'); at <= 0 || at == len(un)-1 {
		return errValue(userPath, "Invalid '%s' Format: expected user@domain", userPath)
	}
	if v := getCI(doc, "active"); v != nil {
		if _, ok := v.(bool); !ok {
			return errValue(urnCore+":active", "Invalid '%s:active' Type", urnCore)
		}
	}
	if v := getCI(doc, "emails"); v != nil {
		arr, ok := v.([]any)
		if !ok {
			return errValue(urnCore+":emails", "Invalid '%s:emails' Type", urnCore)
		}
		for _, e := range arr {
			m, ok := e.(map[string]any)
			if !ok {
				return errValue(urnCore+":emails", "Invalid '%s:emails' Type", urnCore)
			}
			if val, ok := stringAt(m, "value"); !ok || val == "" {
				return errValue(urnCore+":emails.value", "Required attribute '%s:emails.value' is missing", urnCore)
			}
		}
	}
	if v := getCI(doc, "entitlements"); v != nil {
		arr, ok := v.([]any)
		if !ok {
			return errValue(urnCore+":entitlements", "Invalid '%s:entitlements' Type", urnCore)
		}
		for _, e := range arr {
			if es, ok := e.(string); !ok || !entitlementValues[strings.ToLower(es)] {
				return errValue(urnCore+":entitlements", "Invalid '%s:entitlements' Value %v", urnCore, e)
			}
		}
	}
	if s.opts.StrictRequired {
		if _, ok := getCI(doc, "active").(bool); !ok {
			return errValue(urnCore+":active", "Required attribute '%s:active' is missing", urnCore)
		}
		name, _ := objectAt(doc, "name")
		for _, k := range []string{"givenName", "familyName"} {
			if v, _ := stringAt(name, k); v == "" {
				return errValue(urnCore+":name."+k, "Required attribute '%s:name.%s' is missing", urnCore, k)
			}
		}
		if arr, _ := getCI(doc, "emails").([]any); len(arr) == 0 {
			return errValue(urnCore+":emails", "Required attribute '%s:emails' is missing", urnCore)
		}
	}

	ent, _ := objectAt(doc, urnEnterprise)
	empPath := urnEnterprise + ":employeeNumber"
	emp, isStr := getCI(ent, "employeeNumber").(string)
	if ent == nil || getCI(ent, "employeeNumber") == nil || (isStr && strings.TrimSpace(emp) == "") {
		return errValue(empPath, "Required attribute '%s' is missing", empPath)
	}
	if !isStr {
		return errValue(empPath, "Invalid '%s' Type", empPath)
	}
	cidPath := urnEnterprise + ":companyId"
	cid, hasCID := stringAt(ent, "companyId")
	if getCI(ent, "companyId") != nil && !hasCID {
		return errValue(cidPath, "Invalid '%s' Type", cidPath)
	}
	if self != nil {
		oldEnt, _ := objectAt(self.doc(), urnEnterprise)
		if old, _ := stringAt(oldEnt, "companyId"); old != "" && hasCID && !strings.EqualFold(old, cid) {
			return errValue(cidPath, "'%s' is immutable", cidPath)
		}
	}
	if s.opts.CompanyID != "" {
		switch {
		case !hasCID || cid == "":
			setCI(ent, "companyId", s.opts.CompanyID)
		case !strings.EqualFold(cid, s.opts.CompanyID):
			return errValue(cidPath, "Invalid '%s' Value: unknown company", cidPath)
		}
	}
	if m := getCI(ent, "manager"); m != nil {
		if _, e := s.resolveRef(m, urnEnterprise+":manager", self); e != nil {
			return e
		}
	}
	if other := s.byUserName[strings.ToLower(un)]; other != nil && other != self {
		return &opError{409, "UNIQUENESS", fmt.Sprintf("userName '%s' is already in use", un), userPath}
	}
	if other := s.byEmpNum[strings.ToLower(emp)]; other != nil && other != self {
		return &opError{409, "UNIQUENESS", fmt.Sprintf("employeeNumber '%s' is already in use in the company", emp), empPath}
	}
	return nil
}

// resolveRef resolves a UserReference ({value} and/or {employeeNumber}) to
// an existing user and fills in "value". self is the user being changed,
// which may reference itself.
func (s *Server) resolveRef(v any, path string, self *user) (*user, *opError) {
	ref, ok := v.(map[string]any)
	if !ok {
		return nil, errValue(path, "Invalid '%s' Type: expected a user reference", path)
	}
	id, _ := stringAt(ref, "value")
	emp, _ := stringAt(ref, "employeeNumber")
	if id == "" && emp == "" {
		return nil, errValue(path, "Invalid '%s': value or employeeNumber is required", path)
	}
	var byID, byEmp *user
	if id != "" {
		if byID = s.users[id]; byID == nil && !(self != nil && self.id == id) {
			return nil, &opError{404, "INVALID_USER", fmt.Sprintf("Employee does not exist: '%s'", id), path}
		}
	}
	if emp != "" {
		if byEmp = s.byEmpNum[strings.ToLower(emp)]; byEmp == nil {
			return nil, &opError{404, "INVALID_USER", fmt.Sprintf("Employee does not exist: employeeNumber '%s'", emp), path}
		}
	}
	if byID != nil && byEmp != nil && byID != byEmp {
		return nil, &opError{404, "INVALID_USER", fmt.Sprintf("value '%s' and employeeNumber '%s' are different employees", id, emp), path}
	}
	u := byID
	if u == nil {
		u = byEmp
	}
	if id == "" && u != nil {
		setCI(ref, "value", u.id)
	}
	return u, nil
}

var (
	reCurrency = regexp.MustCompile(`^[A-Z]{3}$`)
	reCountry  = regexp.MustCompile(`^[A-Z]{2}$`)
	reLocale   = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
	reCustomID = regexp.MustCompile(`^(?i:custom([1-9]|1[0-9]|2[0-2])|orgUnit[1-6])$`)
)

var reimbursementTypes = set("ACCOUNTS_PAYABLE", "ADP_PAYROLL", "CONCUR_PAY", "OTHER")

// validateExt validates an extension object as it would be stored. old is
// the previous value (nil on create). References are resolved in place.
func (s *Server) validateExt(urn string, ext, old map[string]any, self *user) []*opError {
	var errs []*opError
	add := func(e *opError) { errs = append(errs, e) }
	for _, k := range sortedKeys(ext) {
		if !isKnownAttr(urn, k) {
			add(errInput(urn+":"+k, "Invalid attribute path [%s:%s]", urn, k))
		}
	}
	p := func(attr string) string { return urn + ":" + attr }
	arrayOfObjects := func(attr string, v any) []map[string]any {
		arr, ok := v.([]any)
		if !ok {
			add(errValue(p(attr), "Invalid '%s' Type: expected an array", p(attr)))
			return nil
		}
		var out []map[string]any
		for _, e := range arr {
			m, ok := e.(map[string]any)
			if !ok {
				add(errValue(p(attr), "Invalid '%s' Type: expected objects", p(attr)))
				return nil
			}
			out = append(out, m)
		}
		return out
	}
	switch urn {
	case urnSpendUser:
		if len(ext) == 0 {
			add(errValue(urn, "Spend User extension must not be empty"))
			break
		}
		for _, k := range []string{"reimbursementCurrency", "country", "locale"} {
			if v, _ := stringAt(ext, k); v == "" {
				add(errValue(p(k), "Required attribute '%s' is missing", p(k)))
			}
		}
		if v, ok := stringAt(ext, "reimbursementCurrency"); ok && v != "" {
			if len(v) != 3 {
				add(errValue(p("reimbursementCurrency"), "Invalid '%s' Size", p("reimbursementCurrency")))
			} else if !reCurrency.MatchString(v) {
				add(errValue(p("reimbursementCurrency"), "Invalid '%s' Value", p("reimbursementCurrency")))
			}
		}
		for _, k := range []string{"country", "budgetCountryCode"} {
			if v, ok := stringAt(ext, k); ok && v != "" && !reCountry.MatchString(v) {
				add(errValue(p(k), "Invalid '%s' Value", p(k)))
			}
		}
		if v, ok := stringAt(ext, "locale"); ok && v != "" && !reLocale.MatchString(v) {
			add(errValue(p("locale"), "Invalid '%s' Value", p("locale")))
		}
		if v, ok := stringAt(ext, "reimbursementType"); ok && !reimbursementTypes[strings.ToLower(v)] {
			add(errValue(p("reimbursementType"), "Invalid '%s' Value", p("reimbursementType")))
		}
		if old != nil {
			was, _ := getCI(old, "testEmployee").(bool)
			is, _ := getCI(ext, "testEmployee").(bool)
			if was != is {
				add(errValue(p("testEmployee"), "'%s' can only be set at creation", p("testEmployee")))
			}
		}
		if v := getCI(ext, "biManager"); v != nil {
			if _, e := s.resolveRef(v, p("biManager"), self); e != nil {
				add(e)
			}
		}
		if v := getCI(ext, "customData"); v != nil {
			for _, m := range arrayOfObjects("customData", v) {
				id, _ := stringAt(m, "id")
				if !reCustomID.MatchString(id) {
					add(errValue(p("customData"), "Invalid '%s' id '%s'", p("customData"), id))
				}
			}
		}
	case urnApprover:
		for _, k := range sortedKeys(ext) {
			if !isKnownAttr(urn, k) || ext[k] == nil {
				continue
			}
			for _, m := range arrayOfObjects(k, ext[k]) {
				prim, ok := getCI(m, "primary").(bool)
				if !ok {
					add(errValue(p(k+".primary"), "Required attribute '%s' is missing", p(k+".primary")))
				} else if !prim && !strings.EqualFold(k, "report") && !strings.EqualFold(k, "request") {
					add(errValue(p(k+".primary"), "Only report and request support non-primary approvers"))
				}
				a := getCI(m, "approver")
				if a == nil {
					add(errValue(p(k+".approver"), "Required attribute '%s' is missing", p(k+".approver")))
				} else if _, e := s.resolveRef(a, p(k+".approver"), self); e != nil {
					add(e)
				}
			}
		}
	case urnDelegate:
		for _, k := range sortedKeys(ext) {
			if !isKnownAttr(urn, k) || ext[k] == nil {
				continue
			}
			for _, m := range arrayOfObjects(k, ext[k]) {
				d := getCI(m, "delegate")
				if d == nil {
					add(errValue(p(k+".delegate"), "Required attribute '%s' is missing", p(k+".delegate")))
				} else if _, e := s.resolveRef(d, p(k+".delegate"), self); e != nil {
					add(e)
				}
			}
		}
	case urnApproverLimit:
		for _, k := range sortedKeys(ext) {
			if isKnownAttr(urn, k) && ext[k] != nil {
				arrayOfObjects(k, ext[k])
			}
		}
	case urnRole:
		if v := getCI(ext, "roles"); v != nil {
			for _, m := range arrayOfObjects("roles", v) {
				if n, _ := stringAt(m, "roleName"); n == "" {
					add(errValue(p("roles.roleName"), "Required attribute '%s' is missing", p("roles.roleName")))
				}
				if g := getCI(m, "roleGroups"); g != nil {
					arr, ok := g.([]any)
					for _, e := range arr {
						if _, isStr := e.(string); !isStr {
							ok = false
						}
					}
					if !ok {
						add(errValue(p("roles.roleGroups"), "Invalid '%s' Type", p("roles.roleGroups")))
					}
				}
			}
		}
	case urnPayroll:
		adp, _ := objectAt(ext, "adp")
		for _, k := range []string{"companyCode", "deductionCode", "employeeFileNumber"} {
			if v, _ := stringAt(adp, k); v == "" {
				add(errValue(p("adp."+k), "Required attribute '%s' is missing", p("adp."+k)))
			}
		}
	case urnTravel:
		rc, _ := objectAt(ext, "ruleClass")
		name, _ := stringAt(rc, "name")
		if name == "" && getCI(rc, "id") == nil {
			add(errValue(p("ruleClass"), "Required attribute '%s' is missing (id or name)", p("ruleClass")))
		}
		if m := getCI(ext, "manager"); m != nil {
			if _, e := s.resolveRef(m, p("manager"), self); e != nil {
				add(e)
			}
		}
		if v := getCI(ext, "customFields"); v != nil {
			arrayOfObjects("customFields", v)
		}
	}
	return errs
}

// applyExtensions validates and stores the extensions of a POST or PUT, in
// dependency order. Failed extensions are not stored (on PUT the previous
// value is kept).
func (s *Server) applyExtensions(u *user, exts map[string]any, old map[string]any) []extResult {
	var out []extResult
	spendFailed := false
	doc, changed := u.doc(), false
	defer func() {
		if changed {
			u.raw = mustJSON(doc) // extensions: userName and employeeNumber are the identity's
		}
	}()
	for _, urn := range applyOrder {
		v, ok := exts[urn]
		if !ok {
			continue
		}
		if v == nil {
			deleteCI(doc, urn)
			changed = true
			out = append(out, extOK(urn))
			continue
		}
		obj, isObj := v.(map[string]any)
		if !isObj {
			out = append(out, extFail(urn, errValue(urn, "%s must be an object", urn)))
			if urn == urnSpendUser {
				spendFailed = true
			}
			continue
		}
		if isSpendDependent(urn) {
			if spendFailed {
				out = append(out, extNoop(urn)) // blocked upstream
				continue
			}
			if _, has := objectAt(doc, urnSpendUser); !has {
				out = append(out, extFail(urn, errInput(urn, "Spend User does not exist; provision %s first", urnSpendUser)))
				continue
			}
		}
		var prev map[string]any
		if old != nil {
			prev, _ = objectAt(old, urn)
		}
		obj = copyObject(obj)
		if errs := s.validateExt(urn, obj, prev, u); len(errs) > 0 {
			out = append(out, extFail(urn, errs...))
			if urn == urnSpendUser {
				spendFailed = true
			}
			continue
		}
		setCI(doc, urn, obj)
		changed = true
		out = append(out, extOK(urn))
	}
	return out
}

// userIDFromPath extracts {id} from "/Users/{id}".
func userIDFromPath(path string) string {
	const pfx = "/users/"
	if len(path) <= len(pfx) || !strings.EqualFold(path[:len(pfx)], pfx) {
		return ""
	}
	return strings.TrimSuffix(path[len(pfx):], "/")
}

func notFound(id string) (int, string, []extResult) {
	return 404, "", []extResult{extFail(urnCore, &opError{404, "NOT_FOUND", fmt.Sprintf("User '%s' does not exist", id), ""})}
}

func (s *Server) opCreate(data json.RawMessage, now time.Time) (int, string, []extResult) {
	doc, err := decodeObject(data)
	if err != nil {
		return 400, "", []extResult{extFail(urnCore, errInput("", "malformed user: %v", err))}
	}
	identity, exts, e := splitResource(doc)
	if e == nil {
		e = s.validateIdentity(identity, nil)
	}
	if e != nil {
		return e.status, "", []extResult{identityFail(e)}
	}
	u := s.insertUser(s.newUserID(), identity, now)
	s.stats.Creates++
	results := []extResult{extOK(urnCore), extOK(urnEnterprise)}
	results = append(results, s.applyExtensions(u, exts, nil)...)
	return opCode(200, results), u.id, results
}

func (s *Server) opReplace(path string, data json.RawMessage, now time.Time) (int, string, []extResult) {
	id := userIDFromPath(path)
	u := s.users[id]
	if u == nil {
		return notFound(id)
	}
	doc, err := decodeObject(data)
	if err != nil {
		return 400, id, []extResult{extFail(urnCore, errInput("", "malformed user: %v", err))}
	}
	if did, _ := stringAt(doc, "id"); !strings.EqualFold(did, id) {
		e := errValue(urnCore+":id", "Invalid '%s:id': data.id must equal the id in the path", urnCore)
		return 400, id, []extResult{identityFail(e)}
	}
	identity, exts, e := splitResource(doc)
	if e == nil {
		e = s.validateIdentity(identity, u)
	}
	if e != nil {
		return e.status, id, []extResult{identityFail(e)}
	}
	old := u.doc()
	s.replaceDoc(u, identity, now)
	// Extensions not in the PUT are gone; failed ones keep their old value.
	results := []extResult{extOK(urnCore), extOK(urnEnterprise)}
	extRes := s.applyExtensions(u, exts, old)
	var kept map[string]any
	for _, r := range extRes {
		if r.result != "success" {
			if prev, ok := objectAt(old, r.urn); ok {
				if kept == nil {
					kept = u.doc()
				}
				kept[r.urn] = prev
			}
		}
	}
	if kept != nil {
		u.raw = mustJSON(kept)
	}
	s.stats.Replaces++
	results = append(results, extRes...)
	return opCode(200, results), id, results
}

func (s *Server) opDelete(path string) (int, string, []extResult) {
	id := userIDFromPath(path)
	u := s.users[id]
	if u == nil {
		return notFound(id)
	}
	s.unindex(u)
	delete(s.users, id)
	s.orderStale = true
	s.stats.Deletes++
	return 204, id, []extResult{{urn: urnCore, code: 204, result: "success"}}
}

type patchItem struct {
	op    string
	path  *patchPath
	value any
}

func (s *Server) opPatch(path string, data json.RawMessage, now time.Time) (int, string, []extResult) {
	id := userIDFromPath(path)
	u := s.users[id]
	if u == nil {
		return notFound(id)
	}
	body, err := decodeObject(data)
	if err != nil {
		return 400, id, []extResult{extFail(urnCore, errInput("", "malformed PatchOp: %v", err))}
	}
	rawOps, ok := getCI(body, "Operations").([]any)
	if !ok || len(rawOps) == 0 {
		return 400, id, []extResult{extFail(urnCore, errInput("", "PatchOp needs a non-empty Operations array"))}
	}
	// Group the operations by the extension they touch; an operation without
	// a path is split per key of its value.
	groups := map[string][]patchItem{}
	for i, ro := range rawOps {
		m, ok := ro.(map[string]any)
		if !ok {
			return 400, id, []extResult{extFail(urnCore, errInput("", "Operations[%d] is not an object", i))}
		}
		opName, _ := stringAt(m, "op")
		switch strings.ToLower(opName) {
		case "add", "replace", "remove":
		default:
			return 400, id, []extResult{extFail(urnCore, errInput("", "Operations[%d]: unsupported op %q", i, opName))}
		}
		value := getCI(m, "value")
		rawPath, hasPath := getCI(m, "path").(string)
		if !hasPath || strings.TrimSpace(rawPath) == "" {
			if getCI(m, "path") != nil && !hasPath {
				return 400, id, []extResult{extFail(urnCore, errPath("", "Operations[%d]: path must be a string", i))}
			}
			obj, isObj := value.(map[string]any)
			if strings.EqualFold(opName, "remove") || !isObj {
				return 400, id, []extResult{extFail(urnCore, errPath("", "Operations[%d]: %s without a path needs an object value", i, opName))}
			}
			for _, k := range sortedKeys(obj) {
				pp, err := parsePatchPath(k)
				if err != nil {
					return 400, id, []extResult{extFail(urnCore, errPath(k, "%v", err))}
				}
				groups[groupOf(pp.urn)] = append(groups[groupOf(pp.urn)], patchItem{opName, pp, obj[k]})
			}
			continue
		}
		pp, err := parsePatchPath(rawPath)
		if err != nil {
			return 400, id, []extResult{extFail(urnCore, errPath(rawPath, "%v", err))}
		}
		groups[groupOf(pp.urn)] = append(groups[groupOf(pp.urn)], patchItem{opName, pp, value})
	}

	var results []extResult
	changed := false
	if items := groups[urnCore]; len(items) > 0 {
		work := u.doc()
		touched := map[string]bool{}
		for _, it := range items {
			if e := applyPatchOp(work, it.op, it.path, it.value); e != nil {
				return e.status, id, []extResult{identityFail(e)}
			}
			touched[it.path.urn] = true
		}
		if e := s.validateIdentity(work, u); e != nil {
			return e.status, id, []extResult{identityFail(e)}
		}
		s.replaceDoc(u, work, now)
		changed = true
		for _, urn := range []string{urnCore, urnEnterprise} {
			if touched[urn] {
				results = append(results, extOK(urn))
			}
		}
	}
	spendFailed := false
	cur, extChanged := u.doc(), false
	for _, urn := range applyOrder {
		items := groups[urn]
		if len(items) == 0 {
			continue
		}
		if isSpendDependent(urn) {
			if spendFailed {
				results = append(results, extNoop(urn))
				continue
			}
			if _, has := objectAt(cur, urnSpendUser); !has {
				results = append(results, extFail(urn, errInput(urn, "Spend User does not exist; provision %s first", urnSpendUser)))
				continue
			}
		}
		prev, hadPrev := objectAt(cur, urn)
		work := map[string]any{}
		if hadPrev {
			work[urn] = copyObject(prev)
		}
		var fail *opError
		for _, it := range items {
			if fail = applyPatchOp(work, it.op, it.path, it.value); fail != nil {
				break
			}
		}
		var errs []*opError
		if fail != nil {
			errs = []*opError{fail}
		} else if ext, ok := objectAt(work, urn); ok {
			errs = s.validateExt(urn, ext, prev, u)
		}
		if len(errs) > 0 {
			results = append(results, extFail(urn, errs...))
			if urn == urnSpendUser {
				spendFailed = true
			}
			continue
		}
		if ext, ok := objectAt(work, urn); ok {
			setCI(cur, urn, ext)
		} else {
			deleteCI(cur, urn)
		}
		extChanged = true
		if !changed {
			u.version++
			u.modified = now
			changed = true
		}
		results = append(results, extOK(urn))
	}
	if extChanged {
		u.raw = mustJSON(cur)
	}
	if changed {
		s.stats.Patches++
	}
	return opCode(200, results), id, results
}

// groupOf maps a schema URN to its PATCH application group: identity
// schemas share one group (keyed urnCore).
func groupOf(urn string) string {
	if isIdentityURN(urn) {
		return urnCore
	}
	return urn
}
