package schema

import (
	"net/mail"
	"testing"
	"time"

	"scimigrate/scim"
)

// FuzzValidate decodes fuzzed JSON into a user document and checks that the
// fast validator does not panic and agrees with gojsonschema (validity and
// failing locations) in both modes.
func FuzzValidate(f *testing.F) {
	g := newGen(11)
	for i := 0; i < 4; i++ {
		f.Add(g.user(i).AppendResource(nil))
	}
	for _, s := range []string{
		`{}`,
		`{"userName":"a@b","USERNAME":"c@d"}`,
		`{"emails":[{"value":"x"},{"value":null},null,{}]}`,
		`{"urn:ietf:params:scim:schemas:extension:spend:2.0:Role":{"roles":[{"roleName":"EXP_APPROVER","roleGroups":[]},{"roleName":"EXP_APPROVER","roleGroups":["a","a"]}]}}`,
		`{"entitlements":["Expense","Expense",1,1.0]}`,
		`{"urn:ietf:params:scim:schemas:extension:travel:2.0:User":{"groups":[1,1.0,1e0,"1"],"ruleClass":{"id":1.5}}}`,
		`{"name":{"givenName":"\u00e9\u00e9","familyName":"\ud800"},"dateOfBirth":"1:02:03"}`,
		`{"schemas":["x"],"Schemas":[],"urn:x":{"a":1},"localeOverrides":{"preferenceEndDayViewHour":24}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := scim.Decode(data)
		if err != nil || v.Kind != scim.ObjectKind {
			return
		}
		u := &scim.User{Doc: *v.Obj}
		for _, mode := range []Mode{Create, Update} {
			Validate(u, mode) // rules included: must not panic
			if msg, _, _ := compare(u, mode); msg != "" {
				t.Fatal(msg)
			}
		}
	})
}

// FuzzFormats checks the format checkers against the gojsonschema
// behaviour they reproduce (time.Parse layouts, net/mail).
func FuzzFormats(f *testing.F) {
	for _, s := range []string{"2020-02-29", "2021-02-29", "1:02:03", "12:00:00Z", "2020-01-01T00:00:00.000Z",
		"2020-01-01T00:00:00+01:00", "a@b", "a.b@c.d", "<a@b>", "A <a@b>", "a@[1.2.3.4]", "\"a b\"@c", "a..b@c", ".a@b", "ä@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := time.Parse("2006-01-02", s)
		if isDate(s) != (err == nil) {
			t.Fatalf("isDate(%q) = %v", s, isDate(s))
		}
		want := false
		for _, l := range []string{"15:04:05", "15:04:05Z07:00", "2006-01-02", time.RFC3339, time.RFC3339Nano} {
			if _, err := time.Parse(l, s); err == nil {
				want = true
			}
		}
		if isDateTime(s) != want {
			t.Fatalf("isDateTime(%q) = %v", s, !want)
		}
		_, err = mail.ParseAddress(s)
		if isEmail(s) != (err == nil) {
			t.Fatalf("isEmail(%q) = %v, mail.ParseAddress: %v", s, isEmail(s), err)
		}
		for _, n := range []string{"uuid", "country", "locale", "currency", "dateTime"} {
			node := patternNodes[n]
			if node.matchPattern(s) != node.pattern.MatchString(s) {
				t.Fatalf("%s pattern %s on %q: fast %v", n, node.Pattern, s, node.matchPattern(s))
			}
		}
	})
}

var patternNodes = func() map[string]*Node {
	get := func(p string) *Node {
		n, err := std.resolve(mustParse(p))
		if err != nil {
			panic(err)
		}
		return n
	}
	return map[string]*Node{
		"uuid":     get(ent + "companyId"),
		"country":  get(spend + "country"),
		"locale":   get(spend + "locale"),
		"currency": get(spend + "reimbursementCurrency"),
		"dateTime": get(ent + "startDate"),
	}
}()
