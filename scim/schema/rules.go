package schema

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// Rules a JSON schema cannot say. They run inside the schema walk, as hooks
// attached to compiled nodes, after the node's own schema checks and only when
// those found nothing wrong with the value (so "USX" as a country is reported
// once, by the schema's pattern, not again as an unknown code). Nodes shared
// through $ref share their hooks: the country rule covers every
// common.json#/definitions/country, the date range every date and dateTime.

//go:embed data/iso3166-1.txt
var iso3166Text string

//go:embed data/iso4217.txt
var iso4217Text string

var (
	countryCodes  = codeSet(iso3166Text, 2)
	currencyCodes = codeSet(iso4217Text, 3)
)

// letterCodes is a set of codes of n upper-case letters (ISO 3166-1
// alpha-2, ISO 4217), indexed by the letters.
type letterCodes struct {
	n   int
	set []bool
}

// codeSet reads "CODE name" lines, skipping # comments.
func codeSet(text string, n int) letterCodes {
	size := 1
	for range n {
		size *= 26
	}
	c := letterCodes{n: n, set: make([]bool, size)}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		code, _, _ := strings.Cut(line, " ")
		i, ok := c.index(code)
		if !ok {
			panic("schema: bad code " + code)
		}
		c.set[i] = true
	}
	return c
}

func (c letterCodes) index(code string) (int, bool) {
	if len(code) != c.n {
		return 0, false
	}
	i := 0
	for k := 0; k < len(code); k++ {
		ch := code[k]
		if ch < 'A' || ch > 'Z' {
			return 0, false
		}
		i = i*26 + int(ch-'A')
	}
	return i, true
}

// has reports whether code is in the set.
func (c letterCodes) has(code string) bool {
	i, ok := c.index(code)
	return ok && c.set[i]
}

// hook identifies a rule attached to a node. (A switch rather than func
// values keeps the walker on the stack.)
type hook uint8

const (
	hUserName  hook = iota + 1 // login ID characters and form
	hCountry                   // ISO 3166-1 alpha-2
	hCurrency                  // ISO 4217
	hLocale                    // supported language, ISO region
	hDateRange                 // 1900-01-01..2079-06-06
	hReimbType                 // remembers reimbursementType (for the ADP rule)
	hPayroll                   // remembers the Payroll extension (for the ADP rule)
	hApprovers                 // one primary approver; non-primary only for report and request
	hUnique                    // one element per key (x-key)
	hPhones                    // one number per type except mobile; one primary
	hReference                 // a user reference names employeeNumber or value
)

// ruleHooks attaches the rules to the nodes of these paths.
var ruleHooks = []struct {
	path string
	h    hook
}{
	{"userName", hUserName},
	{scimpath.SpendUser + ":country", hCountry}, // common country: also budgetCountryCode, addresses, phones, emergency contacts
	{scimpath.SpendUser + ":reimbursementCurrency", hCurrency},
	{scimpath.SpendUser + ":locale", hLocale},
	{"dateOfBirth", hDateRange},                          // common date: also leavesOfAbsence dates
	{scimpath.EnterpriseUser + ":startDate", hDateRange}, // common dateTime: also terminationDate, delegation dates
	{scimpath.SpendUser + ":reimbursementType", hReimbType},
	{scimpath.EnterprisePayroll, hPayroll},
	{scimpath.SpendApprover + ":report", hApprovers}, // one node for every approver kind
	{"emails", hUnique},
	{"addresses", hUnique},
	{"phoneNumbers", hPhones},
	{scimpath.SpendUser + ":customData", hUnique},
	{scimpath.SpendRole + ":roles", hUnique},
	{scimpath.TravelUser + ":customFields", hUnique},
	{scimpath.SpendUser + ":biManager", hReference}, // common userReference: also managers, approvers, delegates
}

func attachRules(s *schemaSet) {
	for _, r := range ruleHooks {
		n, err := s.resolve(scimpath.MustParse(r.path))
		if err != nil {
			panic("schema: rule on " + r.path + ": " + err.Error())
		}
		if r.h == hDateRange && n.format == nil {
			panic("schema: the date range rule needs a date or date-time format on " + r.path)
		}
		n.hooks = append(n.hooks, r.h)
	}
	var b strings.Builder
	if n, err := s.resolve(scimpath.MustParse("preferredLanguage")); err == nil {
		for _, code := range n.Enum {
			b.WriteString(strings.ToUpper(code[:2]) + "\n")
		}
	}
	langs = codeSet(b.String(), 2)
}

// langs are the language subtags of the supported language codes
// (languageCodes.md, the preferredLanguage enum), upper-cased.
var langs letterCodes

// hasLower is has for a lower-case code (a language subtag).
func (c letterCodes) hasLower(code string) bool {
	if len(code) != c.n {
		return false
	}
	var up [4]byte
	for i := 0; i < len(code); i++ {
		ch := code[i]
		if ch < 'a' || ch > 'z' {
			return false
		}
		up[i] = ch - 'a' + 'A'
	}
	return c.has(string(up[:len(code)]))
}

// ruleState carries what the cross-attribute rules need from the walk.
type ruleState struct {
	reimbType *scim.Value
	payroll   *scim.Value
}

// The Concur minimum and maximum dates (SQL smalldatetime).
const (
	minDate = "1900-01-01"
	maxDate = "2079-06-06"
)

// userNameForbidden are the characters the UPS and Identity pages say a
// userName cannot contain: % [ # ! * & ( ) ~ ' { ^ } \ / ? > < , ; : " + = ]
// and pipe.
const userNameForbidden = "%[#!*&()~'{^}\\/?><,;:\"+=]|"

func (w *walker) runHook(h hook, n *Node, v *scim.Value) {
	switch h {
	case hUserName:
		if v.Kind == scim.String {
			w.userName(v.Str)
		}
	case hCountry:
		if v.Kind == scim.String && !countryCodes.has(v.Str) {
			w.rule("country", fmt.Sprintf("%q is not an ISO 3166 country code", v.Str))
		}
	case hCurrency:
		if v.Kind == scim.String && !currencyCodes.has(v.Str) {
			w.rule("currency", fmt.Sprintf("%q is not an ISO 4217 currency code", v.Str))
		}
	case hLocale:
		if v.Kind == scim.String && len(v.Str) == 5 {
			if !langs.hasLower(v.Str[:2]) {
				w.rule("locale", fmt.Sprintf("%q: %q is not a language SAP Concur supports (languageCodes.md)", v.Str, v.Str[:2]))
			} else if !countryCodes.has(v.Str[3:]) {
				w.rule("locale", fmt.Sprintf("%q: %q is not an ISO 3166 country code", v.Str, v.Str[3:]))
			}
		}
	case hDateRange:
		// The node's format (date or date-time) has accepted the value, so
		// it starts with a valid YYYY-MM-DD, which compares as a string.
		if v.Kind == scim.String && len(v.Str) >= 10 {
			if d := v.Str[:10]; d < minDate || d > maxDate {
				w.rule("dateRange", fmt.Sprintf("%s is outside %s..%s", d, minDate, maxDate))
			}
		}
	case hReimbType:
		w.st.reimbType = v
	case hPayroll:
		w.st.payroll = v
	case hApprovers:
		w.approvers(n, v)
	case hUnique:
		w.uniqueKey(n, v, false)
	case hPhones:
		w.uniqueKey(n, v, true)
	case hReference:
		if v.Kind == scim.ObjectKind && !hasString(v, "employeeNumber") && !hasString(v, "value") {
			w.rule("reference", "names neither employeeNumber nor value of the referenced user")
		}
	}
}

// rule records a violation of a rule at the innermost frame.
func (w *walker) rule(rule, msg string) { w.add("", false, rule, msg, nil) }

func (w *walker) userName(s string) {
	if strings.IndexByte(s, '@') < 0 {
		w.rule("userName", fmt.Sprintf("%q is not of the form user@domain", s))
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if userNameBad[c] {
				w.rule("userName", fmt.Sprintf("%q contains %q, which a Concur login ID cannot contain", s, c))
				return
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		// Not documented, assumed: no spaces or control characters.
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			w.rule("userName", fmt.Sprintf("%q contains %q, which a Concur login ID cannot contain", s, r))
			return
		}
		i += size
	}
}

// userNameBad marks the ASCII characters a login ID cannot contain: the
// documented ones, and (assumed) spaces and control characters.
var userNameBad = func() (t [utf8.RuneSelf]bool) {
	for i := 0; i < len(userNameForbidden); i++ {
		t[userNameForbidden[i]] = true
	}
	for c := 0; c < utf8.RuneSelf; c++ {
		if c <= ' ' || c == 0x7f {
			t[c] = true
		}
	}
	return t
}()

// approvers checks one approver kind (report, request, …): at most one
// primary approver, and non-primary approvers only for report and request
// (v4.user-provisioning.md, Spend Approver).
func (w *walker) approvers(n *Node, v *scim.Value) {
	if v.Kind != scim.Array || w.depth == 0 {
		return
	}
	kind := w.frames[w.depth-1].name
	nonPrimaryOK := kind == "report" || kind == "request"
	primaries := 0
	for i := range v.Arr {
		el := &v.Arr[i]
		p := getPath(el, []string{"primary"})
		if p == nil || p.Kind != scim.Bool {
			continue
		}
		if p.Bool {
			primaries++
			if primaries == 2 {
				w.atElement(v, i, "primary", p, "primary", fmt.Sprintf("%s has more than one primary approver", kind))
			}
		} else if !nonPrimaryOK {
			w.atElement(v, i, "primary", p, "primary", fmt.Sprintf("only report and request approvers may be non-primary, not %s approvers", kind))
		}
	}
}

// uniqueKey reports elements whose key (x-key) repeats an earlier element's.
// phones: mobile numbers may repeat, and only one number may be primary.
func (w *walker) uniqueKey(n *Node, v *scim.Value, phones bool) {
	if v.Kind != scim.Array || len(v.Arr) < 2 || len(n.keys) == 0 {
		return
	}
	key := n.keys[0]
	var buf [32]string
	keys := buf[:0]
	if len(v.Arr) > len(buf) {
		keys = make([]string, 0, len(v.Arr))
	}
	primaries := 0
	for j := range v.Arr {
		el := &v.Arr[j]
		k := ""
		if el.Kind == scim.ObjectKind {
			if phones {
				if p, ok := el.Obj.Get("primary"); ok && p.Kind == scim.Bool && p.Bool {
					primaries++
					if primaries == 2 {
						w.atElement(v, j, "primary", p, "primary", "only one phone number can be primary")
					}
				}
			}
			if kv := getPath(el, key); kv != nil && kv.Kind == scim.String {
				k = kv.Str
			}
		}
		keys = append(keys, k)
		if k == "" || phones && k == "mobile" {
			continue
		}
		for i := 0; i < j; i++ {
			if keys[i] == k {
				w.atElement(v, j, "", nil, "unique", fmt.Sprintf("another element has %s %q; only one is allowed", strings.Join(key, "."), k))
				break
			}
		}
	}
}

// atElement reports at element i of the array v (the innermost frame's
// value), or at its attribute sub.
func (w *walker) atElement(v *scim.Value, i int, sub string, subVal *scim.Value, rule, msg string) {
	if !w.push(frame{elem: i, val: &v.Arr[i]}) {
		return
	}
	if sub != "" && w.push(frame{name: sub, elem: -1, val: subVal}) {
		w.rule(rule, msg)
		w.pop()
	} else {
		w.rule(rule, msg)
	}
	w.pop()
}

func hasString(v *scim.Value, name string) bool {
	s, ok := v.Obj.Get(name)
	return ok && s.Kind == scim.String && s.Str != ""
}

// resourceRules are the rules across extensions, run after the walk.
func (w *walker) resourceRules() {
	if w.mode != Create {
		return
	}
	adp := w.st.reimbType != nil && w.st.reimbType.Kind == scim.String && w.st.reimbType.Str == "ADP_PAYROLL"
	switch {
	case adp:
		// v4.user-provisioning.md (Payroll User): all three are required
		// when the payroll extension is used, and it is used with
		// ADP_PAYROLL.
		var adpObj *scim.Value
		if w.st.payroll != nil {
			adpObj = getPath(w.st.payroll, []string{"adp"})
		}
		for _, f := range [...]string{"employeeFileNumber", "companyCode", "deductionCode"} {
			if adpObj != nil && adpObj.Kind == scim.ObjectKind && hasString(adpObj, f) {
				continue
			}
			path := scimpath.EnterprisePayroll + ":adp." + f
			if w.reported(path) {
				continue
			}
			w.out = append(w.out, Violation{Path: path, Origin: w.st.reimbType.Origin, Rule: "adp",
				Msg: "reimbursementType ADP_PAYROLL needs adp." + f + " in the Payroll extension"})
			if w.wantPtr {
				w.ptrs = append(w.ptrs, "")
			}
		}
	case w.st.payroll != nil:
		origin := w.st.payroll.Origin
		if origin == 0 {
			origin = firstOrigin(w.st.payroll)
		}
		w.out = append(w.out, Violation{Path: scimpath.EnterprisePayroll, Origin: origin, Rule: "adp",
			Msg: "the Payroll (ADP) extension is only used with reimbursementType ADP_PAYROLL"})
		if w.wantPtr {
			w.ptrs = append(w.ptrs, "")
		}
	}
}

func (w *walker) reported(path string) bool {
	for i := range w.out {
		if w.out[i].Path == path {
			return true
		}
	}
	return false
}

// firstOrigin is the first origin found inside v, depth first.
func firstOrigin(v *scim.Value) int32 {
	if v.Origin != 0 {
		return v.Origin
	}
	switch v.Kind {
	case scim.ObjectKind:
		for i := range v.Obj.Members {
			if o := firstOrigin(&v.Obj.Members[i].Value); o != 0 {
				return o
			}
		}
	case scim.Array:
		for i := range v.Arr {
			if o := firstOrigin(&v.Arr[i]); o != 0 {
				return o
			}
		}
	}
	return 0
}
