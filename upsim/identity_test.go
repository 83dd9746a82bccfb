package upsim

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func seedMany(t *testing.T, s *Server, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		exts := map[string]any{"externalId": fmt.Sprint("ext-", i)}
		if i == 3 {
			exts[urnSpendUser] = map[string]any{"reimbursementCurrency": "USD", "country": "US", "locale": "en-US"}
			exts[urnTravel] = map[string]any{"ruleClass": map[string]any{"id": 560485}}
		}
		seedUser(t, s, fmt.Sprintf("user%d@example.com", i), fmt.Sprint(i), exts)
	}
}

func TestIdentityV4Filter(t *testing.T) {
	c := newTC(t, baseOpts())
	seedMany(t, c.s, 25)
	q := func(f string) string { return "/profile/identity/v4/Users?filter=" + url.QueryEscape(f) }
	tests := []struct {
		name   string
		path   string
		status int
		total  int
		items  int
		emp    string
	}{
		{"employeeNumber", q(`employeeNumber eq "7"`), 200, 1, 1, "7"},
		{"enterprise URN", q(urnEnterprise + `:employeeNumber eq "8"`), 200, 1, 1, "8"},
		{"userName case-insensitive", q(`userName eq "USER9@example.com"`), 200, 1, 1, "9"},
		{"externalId", q(`externalId eq "ext-10"`), 200, 1, 1, "10"},
		{"no match", q(`employeeNumber eq "nope"`), 200, 0, 0, ""},
		{"list default count 10", "/profile/identity/v4/Users", 200, 25, 10, "1"},
		{"list page", "/profile/identity/v4/Users/?count=10&startIndex=21", 200, 25, 5, "21"},
		{"count capped at 100", "/profile/identity/v4/Users?count=500", 200, 25, 25, "1"},
		{"unsupported operator", q(`userName co "user"`), 400, 0, 0, ""},
		{"unsupported attribute", q(`title eq "x"`), 400, 0, 0, ""},
		{"or not supported in v4", q(`employeeNumber eq "1" or employeeNumber eq "2"`), 400, 0, 0, ""},
		{"bad syntax", q(`employeeNumber eq`), 400, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := c.call("GET", tt.path, nil)
			if st != tt.status {
				t.Fatalf("status %d: %v", st, body)
			}
			if st != 200 {
				if body["scimType"] != "invalidFilter" && body["scimType"] != "invalidValue" {
					t.Errorf("scimType %v", body["scimType"])
				}
				return
			}
			if body["schemas"].([]any)[0] != urnListResponse || int(body["totalResults"].(float64)) != tt.total ||
				int(body["itemsPerPage"].(float64)) != tt.items || body["startIndex"] == nil {
				t.Fatalf("list %v", body)
			}
			res := body["Resources"].([]any)
			if len(res) != tt.items {
				t.Fatalf("%d resources", len(res))
			}
			if tt.emp != "" {
				r := res[0].(map[string]any)
				if get(r, urnEnterprise, "employeeNumber") != tt.emp || r["id"] == nil || get(r, "meta", "resourceType") != "User" {
					t.Errorf("resource %v", r)
				}
				if _, ok := r[urnSpendUser]; ok {
					t.Error("identity resource carries spend extension")
				}
			}
		})
	}
}

func TestIdentityV41SearchCursor(t *testing.T) {
	c := newTC(t, baseOpts())
	seedMany(t, c.s, 30)
	var terms []string
	want := map[string]bool{}
	for i := 2; i <= 30; i += 2 { // 15 employees, mixed attribute spellings
		if i%4 == 0 {
			terms = append(terms, fmt.Sprintf(`%s:employeeNumber eq "%d"`, urnEnterprise, i))
		} else {
			terms = append(terms, fmt.Sprintf(`employeeNumber eq "%d"`, i))
		}
		want[fmt.Sprint(i)] = true
	}
	terms = append(terms, `userName eq "USER1@example.com"`, `employeeNumber eq "missing"`)
	want["1"] = true
	filter := strings.Join(terms, " or ")
	search := func(cursor string, count int) map[string]any {
		body := map[string]any{
			"schemas":    []string{urnSearchRequest},
			"filter":     filter,
			"attributes": []string{"id", "userName", urnEnterprise + ":employeeNumber"},
			"count":      count,
		}
		if cursor != "" {
			body["cursor"] = cursor
		}
		st, res := c.call("POST", "/profile/identity/v4.1/Users/.search", body)
		if st != 200 {
			t.Fatalf("search: %d %v", st, res)
		}
		return res
	}
	got := map[string]bool{}
	cursor, pages := "", 0
	for {
		res := search(cursor, 4)
		pages++
		if int(res["totalResults"].(float64)) != 16 {
			t.Fatalf("totalResults %v", res["totalResults"])
		}
		for _, r := range res["Resources"].([]any) {
			m := r.(map[string]any)
			emp := get(m, urnEnterprise, "employeeNumber").(string)
			if got[emp] {
				t.Errorf("employee %s returned twice", emp)
			}
			got[emp] = true
			if m["name"] != nil || m["emails"] != nil || m["userName"] == nil || m["id"] == nil {
				t.Errorf("projection: %v", m)
			}
		}
		next, _ := res["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if pages != 4 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pages %d, got %v", pages, got)
	}

	errs := []struct {
		name string
		body map[string]any
	}{
		{"no schemas", map[string]any{"filter": `userName eq "a"`}},
		{"bad filter", map[string]any{"schemas": []string{urnSearchRequest}, "filter": `userName eq`}},
		{"bad cursor", map[string]any{"schemas": []string{urnSearchRequest}, "cursor": "garbage"}},
	}
	for _, e := range errs {
		if st, _ := c.call("POST", "/profile/identity/v4.1/Users/.search", e.body); st != 400 {
			t.Errorf("%s: %d", e.name, st)
		}
	}
	// A cursor belongs to its query.
	first := search("", 4)
	if st, _ := c.call("POST", "/profile/identity/v4.1/Users/.search", map[string]any{
		"schemas": []string{urnSearchRequest}, "filter": `active eq true`, "cursor": first["nextCursor"]}); st != 400 {
		t.Errorf("foreign cursor accepted: %d", st)
	}
	// General filters work too (linear scan).
	st, res := c.call("POST", "/profile/identity/v4.1/Users/.search", map[string]any{
		"schemas": []string{urnSearchRequest}, "filter": `userName sw "user2" and not (employeeNumber eq "2")`})
	if st != 200 || int(res["totalResults"].(float64)) != 10 { // user20..user29
		t.Errorf("general filter: %d %v", st, res["totalResults"])
	}
	st, res = c.call("POST", "/profile/identity/v4.1/Users/.search", map[string]any{
		"schemas": []string{urnSearchRequest}, "filter": `emails[type eq "work" and value ew "3@example.com"]`})
	if st != 200 || int(res["totalResults"].(float64)) != 3 { // 3, 13, 23
		t.Errorf("value path filter: %d %v", st, res["totalResults"])
	}
}

func TestIdentityV41List(t *testing.T) {
	c := newTC(t, baseOpts())
	seedMany(t, c.s, 23)
	var seen []string
	path := "/profile/identity/v4.1/Users?count=10&attributes=id," + url.QueryEscape(urnEnterprise+":employeeNumber")
	next := ""
	for i := 0; i < 10; i++ {
		p := path
		if next != "" {
			p += "&cursor=" + url.QueryEscape(next)
		}
		st, res := c.call("GET", p, nil)
		if st != 200 || int(res["totalResults"].(float64)) != 23 {
			t.Fatalf("%d %v", st, res)
		}
		for _, r := range res["Resources"].([]any) {
			seen = append(seen, get(r, urnEnterprise, "employeeNumber").(string))
		}
		next, _ = res["nextCursor"].(string)
		if next == "" {
			break
		}
	}
	if len(seen) != 23 || seen[0] != "1" || seen[22] != "23" {
		t.Errorf("seen %v", seen)
	}
}

func TestUserReads(t *testing.T) {
	c := newTC(t, baseOpts())
	seedMany(t, c.s, 4)
	raw3, _ := c.s.UserByEmployeeNumber("3")
	id3 := decodeMap(t, raw3)["id"].(string)
	raw4, _ := c.s.UserByEmployeeNumber("4")
	id4 := decodeMap(t, raw4)["id"].(string)
	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/profile/identity/v4/Users/" + id3, 200, `"userName":"user3@example.com"`},
		{"/profile/identity/v4.1/Users/" + id3, 200, urnEnterprise},
		{"/profile/spend/v4.1/Users/" + id3, 200, `"reimbursementCurrency":"USD"`},
		{"/profile/spend/v4.1/Users/" + id3, 200, urnSpendResource},
		{"/profile/travel/v4/Users/" + id3, 200, `"id":560485`},
		{"/profile/spend/v4.1/Users/" + id4, 404, `"status":"404"`},
		{"/profile/travel/v4/Users/" + id4, 404, `"errorCode":"404"`},
		{"/profile/identity/v4/Users/nope", 404, `"status":"404"`},
		{"/profile/v4/nothing-here", 404, `"status":"404"`},
	}
	for _, tt := range tests {
		resp, body, err := c.raw("GET", tt.path, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d %s", tt.path, resp.StatusCode, body)
			continue
		}
		mustContain(t, string(body), tt.want)
	}
}

func TestFilterEval(t *testing.T) {
	doc := map[string]any{
		"userName": "Ann@Example.com",
		"active":   true,
		"emails":   []any{map[string]any{"type": "work", "value": "a@x.com", "primary": true}},
		"roles":    []any{"A", "B"},
		urnEnterprise: map[string]any{"employeeNumber": "42", "startDate": "2020-01-01T00:00:00Z",
			"manager": map[string]any{"value": "m1"}},
		"n": 5.0,
	}
	tests := []struct {
		f    string
		want bool
	}{
		{`userName eq "ann@example.com"`, true},
		{`USERNAME EQ "ann@example.com"`, true},
		{`userName ne "ann@example.com"`, false},
		{`userName co "@example"`, true},
		{`userName sw "ann"`, true},
		{`userName ew ".org"`, false},
		{`active eq true`, true},
		{`active eq false`, false},
		{`title pr`, false},
		{`title eq null`, true},
		{`emails.value eq "a@x.com"`, true},
		{`emails[type eq "work" and primary eq true]`, true},
		{`emails[type eq "home"]`, false},
		{`employeeNumber eq "42"`, true},
		{urnEnterprise + `:manager.value eq "m1"`, true},
		{urnEnterprise + `:startDate gt "2019-12-31"`, true},
		{`n ge 5`, true},
		{`n lt 5`, false},
		{`roles eq "b"`, true},
		{`not (active eq true) or userName eq "x"`, false},
		{`(active eq true and n gt 1) or title pr`, true},
	}
	for _, tt := range tests {
		n, err := parseFilter(tt.f, true)
		if err != nil {
			t.Errorf("%s: %v", tt.f, err)
			continue
		}
		if got := evalFilter(n, doc); got != tt.want {
			t.Errorf("%s = %v", tt.f, got)
		}
	}
	for _, bad := range []string{``, `userName`, `userName eq`, `userName xx "a"`, `(userName eq "a"`, `userName co 5`, `a eq "b" c`, `emails[type eq "w"`, strings.Repeat("(", 100) + `a pr` + strings.Repeat(")", 100)} {
		if _, err := parseFilter(bad, true); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
