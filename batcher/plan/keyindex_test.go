package plan

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// TestKeyViewFind: a key view finds what a scan with scim.Matches finds,
// from every start, for each key specification, duplicates, missing and
// odd keys included.
func TestKeyViewFind(t *testing.T) {
	lists := map[string]string{
		"type":                    `[{"type":"work","value":"a"},{"TYPE":"Home"},{"type":"work","value":"b"},{"value":"c"},"x",{"type":7},{"type":"\u212a"},{"type":"k"}]`,
		"id":                      `[{"id":"custom1","value":"1"},{"id":"CUSTOM1"},{"Id":"custom2"},{"id":null},{"id":"custom10"},{}]`,
		"value":                   `["Expense","expense",{"value":"Travel"},"Invoice",7]`,
		"approver.employeeNumber": `[{"approver":{"employeeNumber":"E1"},"primary":true},{"approver":"E1"},{"approver":{"EmployeeNumber":"e1"}},{"primary":false}]`,
	}
	// A long list: hash slots shared, keys twice in different case.
	var long []string
	for i := range 40 {
		id := fmt.Sprintf("custom%d", i%30)
		if i%7 == 0 {
			id = strings.ToUpper(id)
		}
		long = append(long, fmt.Sprintf(`{"id":%q,"value":"%d"}`, id, i))
	}
	lists["id "] = "[" + strings.Join(long, ",") + "]"
	lits := []string{"work", "WORK", "home", "k", "K", "\u212a", "custom1", "custom2", "custom10", "expense", "Travel", "Invoice", "e1", "E2", ""}
	for i := range 32 {
		lits = append(lits, fmt.Sprintf("Custom%d", i))
	}
	for key, list := range lists {
		arr, err := scim.Decode([]byte(list))
		if err != nil {
			t.Fatal(err)
		}
		d := &differ{}
		kv := d.view(arr.Arr, []string{strings.TrimSpace(key)})
		found := 0
		for _, lit := range lits {
			eqs := []scimpath.Equality{{Attr: keyPath(strings.TrimSpace(key)), Value: scimpath.Value{Kind: scimpath.String, Str: lit}}}
			two := append(eqs[:1:1], scimpath.Equality{Attr: []string{"value"}, Value: scimpath.Value{Kind: scimpath.String, Str: "a"}})
			for _, e := range [][]scimpath.Equality{eqs, two} {
				for from := 0; from <= len(arr.Arr); from++ {
					want := -1
					for i := from; i < len(arr.Arr); i++ {
						if scim.Matches(arr.Arr[i], e) {
							want = i
							break
						}
					}
					if got := kv.find(e, from); got != want {
						t.Errorf("%s: %s eq %q (%d terms) from %d: found %d, want %d", list, key, lit, len(e), from, got, want)
					}
					if want >= 0 {
						found++
					}
				}
			}
		}
		if found == 0 {
			t.Errorf("%s: nothing found: the case tests little", list)
		}
	}
}

// TestLowerFold: the member name tests of diffDoc are strings.ToLower's.
func TestLowerFold(t *testing.T) {
	names := []string{"schemas", "Schemas", "SCHEMAS", "\u017fchemas", "id", "ID", "\u0130d", "iD", "meta", "Meta", "metas", "",
		"urn:x", "URN:ietf", "Urn:", "urn", "uRn:", "ur\u0274:", "\u212arn:", "u"}
	for _, n := range names {
		if got, want := notCompared(n), slices.Contains([]string{"schemas", "id", "meta"}, strings.ToLower(n)); got != want {
			t.Errorf("notCompared(%q) = %v, want %v", n, got, want)
		}
		if got, want := lowerHasPrefix(n, "urn:"), strings.HasPrefix(strings.ToLower(n), "urn:"); got != want {
			t.Errorf("lowerHasPrefix(%q) = %v, want %v", n, got, want)
		}
	}
}

// TestKnownURNsDistinct: no two known URNs differ only in case
// (canonicalURN takes an exact match first).
func TestKnownURNsDistinct(t *testing.T) {
	for i, a := range scimpath.KnownURNs {
		for _, b := range scimpath.KnownURNs[i+1:] {
			if strings.EqualFold(a, b) {
				t.Errorf("%s and %s", a, b)
			}
		}
	}
}

// TestKeyOfFolds: keyOf finds an attribute's key whatever the case of its
// name, as a lookup of strings.ToLower(name) does.
func TestKeyOfFolds(t *testing.T) {
	for urn, specs := range keySpecs {
		for _, name := range []string{"customData", "CUSTOMDATA", "customdata", "Emails", "phoneNumbers", "entitlements",
			"Roles", "roleName", "report", "customFields", "\u212aey", "cu\u017ftomData", ""} {
			want, ok := specs[strings.ToLower(name)]
			if !ok {
				want = specs["*"]
			}
			if got := keyOf(urn, name); !slices.Equal(got, want) {
				t.Errorf("keyOf(%s, %q) = %v, want %v", urn, name, got, want)
			}
		}
	}
}
