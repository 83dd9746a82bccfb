package mapping

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"scimigrate/scim"
)

// Membership outcomes of a transform.
const (
	NoMembership = iota
	AssertPresent
	AssertAbsent
)

// Out is what a transform makes of a value.
type Out struct {
	Value      scim.Value
	Membership int // NoMembership, AssertPresent, AssertAbsent
	// Entitlement redirects a role code that UPS models as an entitlement
	// (EXP_USER → Expense): the engine asserts entitlements[value eq X].
	Entitlement string
}

// Transform converts one non-blank, trimmed source value.
type Transform interface {
	Name() string
	Apply(v string) (Out, error)
}

type fn struct {
	name string
	f    func(string) (Out, error)
}

func (t fn) Name() string                { return t.name }
func (t fn) Apply(v string) (Out, error) { return t.f(v) }

// Transforms lists the named building blocks; "code:<table>" and "role" are
// built from the code tables.
var transforms = map[string]Transform{
	"string":      fn{"string", func(v string) (Out, error) { return Out{Value: scim.Str(v)}, nil }},
	"upper":       fn{"upper", func(v string) (Out, error) { return Out{Value: scim.Str(strings.ToUpper(v))}, nil }},
	"yesno":       fn{"yesno", YesNo},
	"flag":        fn{"flag", Flag},
	"present":     fn{"present", func(string) (Out, error) { return Out{Membership: AssertPresent}, nil }},
	"locale":      fn{"locale", Locale},
	"subdivision": fn{"subdivision", Subdivision},
	"date":        fn{"date", Date},
	"datetime":    fn{"datetime", DateTime},
	"enddatetime": fn{"enddatetime", EndDateTime},
	"integer":     fn{"integer", Integer},
	"segment":     fn{"segment", func(v string) (Out, error) { return Out{Value: scim.Str(v)}, nil }},
	"listcode":    fn{"listcode", ListCode},
}

// TransformNames lists the built-in transform names (for checks and docs).
func TransformNames() []string {
	return []string{"string", "upper", "yesno", "flag", "present", "locale", "subdivision", "date", "datetime", "enddatetime", "integer", "segment", "listcode", "code:<table>", "role"}
}

// ParseYN reads a Y/N flag, case-insensitively.
func ParseYN(v string) (bool, error) {
	switch v {
	case "Y", "y":
		return true, nil
	case "N", "n":
		return false, nil
	}
	return false, fmt.Errorf("%q is not Y or N", v)
}

// YesNo: Y/N → true/false.
func YesNo(v string) (Out, error) {
	b, err := ParseYN(v)
	if err != nil {
		return Out{}, err
	}
	return Out{Value: scim.BoolValue(b)}, nil
}

// Flag: Y asserts membership, N asserts its absence.
func Flag(v string) (Out, error) {
	b, err := ParseYN(v)
	if err != nil {
		return Out{}, err
	}
	if b {
		return Out{Membership: AssertPresent}, nil
	}
	return Out{Membership: AssertAbsent}, nil
}

// Locale: en_US → en-US (RFC 5646 language-REGION, as UPS requires).
func Locale(v string) (Out, error) {
	if len(v) != 5 || (v[2] != '_' && v[2] != '-') || !isLetters(v[:2]) || !isLetters(v[3:]) {
		return Out{}, fmt.Errorf("%q is not a locale of the form en_US", v)
	}
	return Out{Value: scim.Str(strings.ToLower(v[:2]) + "-" + strings.ToUpper(v[3:]))}, nil
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// Subdivision: US-WA → WA (ISO 3166-2 code without its country prefix).
func Subdivision(v string) (Out, error) {
	if i := strings.IndexByte(v, '-'); i >= 0 {
		if i != 2 || !isLetters(v[:2]) {
			return Out{}, fmt.Errorf("%q is not a subdivision code of the form US-WA", v)
		}
		v = v[i+1:]
	}
	if len(v) < 1 || len(v) > 3 {
		return Out{}, fmt.Errorf("%q is not a subdivision code of the form US-WA", v)
	}
	return Out{Value: scim.Str(strings.ToUpper(v))}, nil
}

// MinDate and MaxDate bound the dates Concur stores (SQL smalldatetime).
var (
	MinDate = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxDate = time.Date(2079, 6, 6, 0, 0, 0, 0, time.UTC)
)

var dateLayouts = []string{"2006-01-02", "20060102", "01/02/2006"}

// ParseDate accepts YYYY-MM-DD, YYYYMMDD and MM/DD/YYYY, and ISO 8601
// date-times, within 1900-01-01..2079-06-06.
func ParseDate(v string) (time.Time, error) {
	var t time.Time
	var err error
	for _, l := range dateLayouts {
		if t, err = time.Parse(l, v); err == nil {
			break
		}
	}
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
			if t, err = time.Parse("2006-01-02T15:04:05.000Z0700", v); err != nil {
				return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY)", v)
			}
		}
	}
	if t.Before(MinDate) || t.After(MaxDate.Add(24*time.Hour-1)) {
		return time.Time{}, fmt.Errorf("date %s is outside 1900-01-01..2079-06-06", t.Format("2006-01-02"))
	}
	return t, nil
}

// Date → YYYY-MM-DD.
func Date(v string) (Out, error) {
	t, err := ParseDate(v)
	if err != nil {
		return Out{}, err
	}
	return Out{Value: scim.Str(t.Format("2006-01-02"))}, nil
}

// DateTime → 2006-01-02T15:04:05.000Z (UTC), as UPS delegation dates.
func DateTime(v string) (Out, error) {
	t, err := ParseDate(v)
	if err != nil {
		return Out{}, err
	}
	return Out{Value: scim.Str(t.UTC().Format("2006-01-02T15:04:05.000Z"))}, nil
}

// ParseEndDate is ParseDate for the last day of a period: a date without a
// time of day means the end of that day (23:59:59.999 UTC), so that a period
// "to 31 March" covers 31 March. A date-time is kept as given.
func ParseEndDate(v string) (time.Time, error) {
	t, err := ParseDate(v)
	if err != nil {
		return t, err
	}
	if !strings.ContainsRune(v, 'T') {
		t = t.Add(24*time.Hour - time.Millisecond)
	}
	return t, nil
}

// EndDateTime → 2006-01-02T23:59:59.999Z: the end of the day given (UPS
// delegation To dates are instants, as in the UPS examples'
// "2020-02-19T03:59:00.000Z"; a date alone would end the period at the day's
// first millisecond).
func EndDateTime(v string) (Out, error) {
	t, err := ParseEndDate(v)
	if err != nil {
		return Out{}, err
	}
	return Out{Value: scim.Str(t.UTC().Format("2006-01-02T15:04:05.000Z"))}, nil
}

// Integer: a whole number.
func Integer(v string) (Out, error) {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return Out{}, fmt.Errorf("%q is not a whole number", v)
		}
	}
	if v == "" {
		return Out{}, fmt.Errorf("empty number")
	}
	v = strings.TrimLeft(v, "0")
	if v == "" {
		v = "0"
	}
	return Out{Value: scim.Num(v)}, nil
}

// ListCode: "(CODE)Display Name" → CODE, the form in which the Users V1 GET
// returns list fields ("(SBS AU)SBS Australia", "(1234) Project 1234"). Other
// values pass unchanged, and so does a value whose name part has no letter,
// such as the phone number "(555) 123-4567".
func ListCode(v string) (Out, error) {
	if strings.HasPrefix(v, "(") {
		if i := strings.IndexByte(v, ')'); i > 1 {
			code := strings.TrimSpace(v[1:i])
			if code != "" && !strings.ContainsRune(code, '(') && strings.IndexFunc(v[i+1:], unicode.IsLetter) >= 0 {
				return Out{Value: scim.Str(code)}, nil
			}
		}
	}
	return Out{Value: scim.Str(v)}, nil
}

// Codes are translation tables: table name → source code → target value.
type Codes map[string]map[string]string

type codeTransform struct {
	name  string
	table map[string]string
	list  string
}

func (c codeTransform) Name() string { return c.name }

func (c codeTransform) Apply(v string) (Out, error) {
	if t, ok := c.table[strings.ToUpper(v)]; ok {
		return Out{Value: scim.Str(t)}, nil
	}
	return Out{}, fmt.Errorf("%q is not one of %s", v, c.list)
}

// roleTransform translates a 400-record role code: most pass through as role
// names; the codes UPS models as entitlements redirect.
type roleTransform struct{ table map[string]string }

func (roleTransform) Name() string { return "role" }

func (r roleTransform) Apply(v string) (Out, error) {
	code := strings.ToUpper(v)
	if t, ok := r.table[code]; ok {
		if e, ok := strings.CutPrefix(t, "entitlement:"); ok {
			return Out{Entitlement: e, Membership: AssertPresent}, nil
		}
		code = t
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return Out{}, fmt.Errorf("%q is not a role code (letters, digits and _)", v)
		}
	}
	return Out{Value: scim.Str(code), Membership: AssertPresent}, nil
}

// LookupTransform resolves a transform name against the built-ins and codes.
func LookupTransform(name string, codes Codes) (Transform, error) {
	if name == "" {
		return transforms["string"], nil
	}
	if t, ok := transforms[name]; ok {
		return t, nil
	}
	if name == "role" {
		return roleTransform{table: upperKeys(codes["roleCodes"])}, nil
	}
	if tbl, ok := strings.CutPrefix(name, "code:"); ok {
		m, ok := codes[tbl]
		if !ok {
			return nil, fmt.Errorf("unknown code table %q", tbl)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sortStrings(keys)
		return codeTransform{name: name, table: upperKeys(m), list: strings.Join(keys, ", ")}, nil
	}
	return nil, fmt.Errorf("unknown transform %q (known: %s)", name, strings.Join(TransformNames(), ", "))
}

func upperKeys(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToUpper(k)] = v
	}
	return out
}
