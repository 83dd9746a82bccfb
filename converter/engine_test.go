package converter_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"scimigrate/converter"
	"scimigrate/converter/flatfile"
	"scimigrate/converter/source"
	"scimigrate/mapping"
	"scimigrate/scim"
)

// A small table set exercising each engine feature, independent of the
// shipped tables.
var testTables = fstest.MapFS{
	"codes.yaml": {Data: []byte(`codes:
  product: {EXP: expense, PAY: payment}
  roleCodes: {EXP_USER: "entitlement:Expense"}
`)},
	"900.yaml": {Data: []byte(`record: "900"
title: test identity
identity: true
key: 2
width: 9
columns:
  - {col: 1, name: Type, use: type}
  - {col: 2, name: Employee ID, use: key, to: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber', required: true}
  - {col: 3, name: Login, to: userName, required: true}
  - {col: 4, name: Approver, to: 'urn:ietf:params:scim:schemas:extension:spend:2.0:Role:roles[roleName eq "EXP_APPROVER"]', as: flag, element: '{"roleGroups": []}'}
  - {col: 5, name: Expense User, to: 'entitlements[value eq "Expense"]', as: flag}
  - {col: 6, name: Active, to: active, as: yesno}
  - {col: 7, name: Password, unsupported: no passwords}
  - {col: 8, name: Locale, to: 'urn:ietf:params:scim:schemas:extension:spend:2.0:User:locale', as: locale, default: en_US}
  - {col: 9, name: Custom 1, to: 'urn:ietf:params:scim:schemas:extension:travel:2.0:User:customFields[name eq "{cfg:travelCustom1}"].value'}
`)},
	"901.yaml": {Data: []byte(`record: "901"
title: test delegate
key: 2
width: 7
vars:
  product: {col: 4, as: "code:product"}
  delegate: {col: 3}
element: 'urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate:{product}[delegate.employeeNumber eq "{delegate}"]'
columns:
  - {col: 1, name: Type, use: type}
  - {col: 2, name: Employee ID, use: key, to: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber'}
  - {col: 3, name: Delegate, use: var, required: true}
  - {col: 4, name: Product, use: var, required: true}
  - {col: 5, name: Can Approve, to: 'urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate:{product}[delegate.employeeNumber eq "{delegate}"].canApprove', as: yesno}
  - {col: 6, name: Temp, use: gate}
  - {col: 7, name: From, when: 6, as: datetime, to: 'urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate:{product}[delegate.employeeNumber eq "{delegate}"].temporaryDelegation.temporaryDelegationFromDate'}
`)},
	"902.yaml": {Data: []byte(`record: "902"
title: test roles
key: 2
width: 3
columns:
  - {col: 1, name: Type, use: type}
  - {col: 2, name: Employee ID, use: key, to: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber'}
  - {col: 3, name: Role, as: role, to: 'urn:ietf:params:scim:schemas:extension:spend:2.0:Role:roles[roleName eq "{value}"]', element: '{"roleGroups": []}'}
`)},
}

func testSet(t *testing.T, cfg *mapping.Config) *mapping.Set {
	t.Helper()
	set, err := mapping.LoadFS(testTables, "test:", nil, "", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// apply converts the given CSV lines (one employee) into one user.
func apply(t *testing.T, set *mapping.Set, lines ...string) (*scim.User, []string, []bool) {
	t.Helper()
	eng := converter.NewEngine(set)
	u := &scim.User{}
	var diags []string
	var oks []bool
	for i, l := range lines {
		fields, d := flatfile.ParseFields([]byte(l), "t", i+1, nil)
		if d != nil {
			t.Fatal(d)
		}
		rec := &source.Record{File: "t", Line: i + 1, Col: 1, Type: fields[0].Value, Fields: fields}
		u.Key = fields[1].Value
		oks = append(oks, eng.Convert(rec, set.Table(rec.Type), u, func(d source.Diagnostic) { diags = append(diags, d.String()) }))
	}
	return u, diags, oks
}

func resource(u *scim.User) string { return string(u.AppendResource(nil)) }

func TestEngineTriState(t *testing.T) {
	set := testSet(t, nil)
	tests := []struct {
		name   string
		lines  []string
		want   string // substring of the resource ("" = none)
		absent []string
		not    string // must not appear
	}{
		{"Y asserts presence", []string{"900,E1,a@x,Y,Y"}, `"roles":[{"roleName":"EXP_APPROVER","roleGroups":[]}]`, nil, ""},
		{"N asserts absence, omitted from create", []string{"900,E1,a@x,N,N"}, `"userName":"a@x"`,
			[]string{`urn:ietf:params:scim:schemas:extension:spend:2.0:Role:roles[roleName eq "EXP_APPROVER"]`, `entitlements[value eq "Expense"]`}, "roles"},
		{"blank says nothing", []string{"900,E1,a@x,,"}, `"userName":"a@x"`, nil, "entitlements"},
		{"later N removes an earlier Y", []string{"900,E1,a@x,Y,Y", "900,E1,a@x,N,"}, `"entitlements":["Expense"]`,
			[]string{`urn:ietf:params:scim:schemas:extension:spend:2.0:Role:roles[roleName eq "EXP_APPROVER"]`}, "EXP_APPROVER"},
		{"later Y cancels an earlier N", []string{"900,E1,a@x,N,", "900,E1,a@x,Y,"}, `"roleName":"EXP_APPROVER"`, nil, ""},
		{"lower-case y", []string{"900,E1,a@x,y,n"}, `"roleName":"EXP_APPROVER"`, []string{`entitlements[value eq "Expense"]`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, diags, _ := apply(t, set, tt.lines...)
			got := resource(u)
			if tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("resource %s\nlacks %s (diags %v)", got, tt.want, diags)
			}
			if tt.not != "" && strings.Contains(got, tt.not) {
				t.Errorf("resource %s\nhas %s", got, tt.not)
			}
			var absent []string
			for _, m := range u.Absent {
				absent = append(absent, m.Path.String())
			}
			if strings.Join(absent, "|") != strings.Join(tt.absent, "|") {
				t.Errorf("absent = %q, want %q", absent, tt.absent)
			}
		})
	}
}

func TestEngineRejectsRecordWhole(t *testing.T) {
	set := testSet(t, nil)
	u, diags, oks := apply(t, set, "900,E1,a@x,Y,maybe,X")
	if oks[0] {
		t.Fatal("record with errors accepted")
	}
	if got := resource(u); got != `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}` {
		t.Errorf("a rejected record left %s", got)
	}
	want := []string{
		`t:1:14: error: Expense User (column 5): "maybe" is not Y or N`,
		`t:1:20: error: Active (column 6): "X" is not Y or N`,
	}
	if strings.Join(diags, "\n") != strings.Join(want, "\n") {
		t.Errorf("diags:\n%s\nwant:\n%s", strings.Join(diags, "\n"), strings.Join(want, "\n"))
	}
}

func TestEngineBlankRequiredDefaultUnsupported(t *testing.T) {
	set := testSet(t, nil)
	_, diags, oks := apply(t, set, "900,E1,,,,,")
	if oks[0] || len(diags) != 1 || !strings.Contains(diags[0], "Login (column 3): required, but blank") {
		t.Errorf("blank required: ok=%v diags=%v", oks[0], diags)
	}
	u, diags, oks := apply(t, set, "900,E1,a@x,,,,s3cret,,")
	if !oks[0] || len(diags) != 1 || !strings.Contains(diags[0], `warning: Password (column 7): not sent: no passwords (value "***")`) {
		t.Errorf("unsupported: ok=%v diags=%v", oks[0], diags)
	}
	if got := resource(u); !strings.Contains(got, `"locale":"en-US"`) || strings.Contains(got, "s3cret") {
		t.Errorf("default locale missing or password leaked: %s", got)
	}
}

func TestEngineConfigPlaceholders(t *testing.T) {
	u, diags, _ := apply(t, testSet(t, nil), "900,E1,a@x,,,,,,C1")
	if len(diags) != 1 || !strings.Contains(diags[0], "no travel custom field name is configured for Custom 1") || strings.Contains(resource(u), "customFields") {
		t.Errorf("unconfigured custom field: %v %s", diags, resource(u))
	}
	cfg := mapping.DefaultConfig()
	cfg.TravelCustomFields = map[int]string{1: `Canary "ID"`}
	u, diags, _ = apply(t, testSet(t, cfg), "900,E1,a@x,,,,,,C1")
	if want := `"customFields":[{"name":"Canary \"ID\"","value":"C1"}]`; !strings.Contains(resource(u), want) || len(diags) > 0 {
		t.Errorf("got %s %v, want %s", resource(u), diags, want)
	}
}

func TestEngineDelegatesAndGates(t *testing.T) {
	set := testSet(t, nil)
	u, diags, _ := apply(t, set,
		"901,E1,D1,EXP,Y,Y,2026-01-02",
		"901,E1,D2,exp,N,N,2026-01-02",
		"901,E1,D1,PAY,,,",
	)
	got := resource(u)
	want := `"urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate":{"expense":[{"delegate":{"employeeNumber":"D1"},"canApprove":true,"temporaryDelegation":{"temporaryDelegationFromDate":"2026-01-02T00:00:00.000Z"}},{"delegate":{"employeeNumber":"D2"},"canApprove":false}],"payment":[{"delegate":{"employeeNumber":"D1"}}]}`
	if !strings.Contains(got, want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if len(diags) != 1 || !strings.Contains(diags[0], "From (column 7): ignored: Temp (column 6) is not Y") {
		t.Errorf("gate diags: %v", diags)
	}
	_, diags, oks := apply(t, set, "901,E1,,EXP,Y,,")
	if oks[0] || len(diags) != 1 {
		t.Errorf("blank delegate: one error expected, got %v", diags)
	}
	_, diags, oks = apply(t, set, "901,E1,D1,XYZ,Y,,")
	if oks[0] || len(diags) != 1 || !strings.Contains(diags[0], `Product (column 4): "XYZ" is not one of EXP, PAY`) {
		t.Errorf("bad product: %v", diags)
	}
}

func TestEngineRoleCodes(t *testing.T) {
	u, diags, _ := apply(t, testSet(t, nil), "902,E1,EXP_PROCESSOR", "902,E1,exp_user", "902,E1,EXP_PROCESSOR")
	want := `"urn:ietf:params:scim:schemas:extension:spend:2.0:Role":{"roles":[{"roleName":"EXP_PROCESSOR","roleGroups":[]}]}`
	if got := resource(u); !strings.Contains(got, want) || !strings.Contains(got, `"entitlements":["Expense"]`) || len(diags) > 0 {
		t.Errorf("got %s %v\nwant %s", got, diags, want)
	}
}

func TestEngineConflictWarns(t *testing.T) {
	_, diags, _ := apply(t, testSet(t, nil), "900,E1,a@x", "900,E1,b@x", "900,E1,b@x")
	if len(diags) != 1 || !strings.Contains(diags[0], `t:2:8: warning: Login (column 3): replaces "a@x" given by an earlier record of employee E1`) {
		t.Errorf("diags %v", diags)
	}
}

func TestEngineAlsoOption(t *testing.T) {
	fs := fstest.MapFS{"codes.yaml": testTables["codes.yaml"], "903.yaml": {Data: []byte(`record: "903"
title: also
key: 2
width: 3
columns:
  - {col: 1, name: Type, use: type}
  - {col: 2, name: Employee ID, use: key, to: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber'}
  - {col: 3, name: Travel, as: flag, to: 'urn:ietf:params:scim:schemas:extension:spend:2.0:Role:roles[roleName eq "TRAVEL_USER"]', also: 'entitlements[value eq "Travel"]', alsoOption: travelEntitlement}
`)}}
	for _, on := range []bool{false, true} {
		cfg := mapping.DefaultConfig()
		cfg.Options = map[string]bool{"travelEntitlement": on}
		set, err := mapping.LoadFS(fs, "t:", nil, "", cfg)
		if err != nil {
			t.Fatal(err)
		}
		u, _, _ := apply(t, set, "903,E1,Y")
		if got := strings.Contains(resource(u), `"entitlements":["Travel"]`); got != on {
			t.Errorf("option %v: entitlement asserted = %v: %s", on, got, resource(u))
		}
		u, _, _ = apply(t, set, "903,E1,N")
		if got := len(u.Absent) == 2; got != on {
			t.Errorf("option %v: N asserted %d absences", on, len(u.Absent))
		}
	}
}

// The run-time checks a row can carry (issue 12), on a table of their own:
// requires, distinct, warn, refuse, until, and onInvalidOptional: drop.
func TestEngineRowChecks(t *testing.T) {
	fs := fstest.MapFS{"codes.yaml": testTables["codes.yaml"], "904.yaml": {Data: []byte(`record: "904"
title: checks
key: 2
width: 11
columns:
  - {col: 1, name: Type, use: type}
  - {col: 2, name: Employee ID, use: key, to: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber'}
  - {col: 3, name: Phone, to: 'phoneNumbers[type eq "work"].value'}
  - {col: 4, name: Ext, to: 'phoneNumbers[type eq "work"].workExtension', requires: 3}
  - {col: 5, name: First, to: 'urn:ietf:params:scim:schemas:extension:spend:2.0:Approver:report[primary eq true].approver.employeeNumber'}
  - {col: 6, name: Second, to: 'urn:ietf:params:scim:schemas:extension:spend:2.0:Approver:report[primary eq false].approver.employeeNumber', distinct: 5}
  - {col: 7, name: Title, to: title, warn: titles are checked by hand}
  - {col: 8, name: Sync, to: 'urn:ietf:params:scim:schemas:extension:travel:2.0:User:xmlProfileSyncId', option: xmlProfileSyncId, unsupported: off, refuse: true}
  - {col: 9, name: Gate, use: gate}
  - {col: 10, name: From, as: date, when: 9, until: 11, to: 'urn:ietf:params:scim:schemas:extension:spend:2.0:User:customData[id eq "from"].value'}
  - {col: 11, name: To, as: date, when: 9, to: 'urn:ietf:params:scim:schemas:extension:spend:2.0:User:customData[id eq "to"].value'}
`)}}
	load := func(drop bool) *mapping.Set {
		cfg := mapping.DefaultConfig()
		if drop {
			cfg.OnInvalidOptional = "drop"
		}
		set, err := mapping.LoadFS(fs, "t:", nil, "", cfg)
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	tests := []struct {
		name  string
		drop  bool
		lines []string
		ok    bool   // of the last record
		want  string // in the resource
		not   string // not in the resource
		diags []string
	}{
		{"requires: without the other column", false, []string{"904,E1,,42"}, true, "", "workExtension",
			[]string{"warning: Ext (column 4): not sent: it needs column 3 (Phone)"}},
		{"requires: with it", false, []string{"904,E1,555,42"}, true, `"workExtension":"42"`, "", nil},
		{"requires: with it on the user", false, []string{"904,E1,555", "904,E1,,42"}, true, `"workExtension":"42"`, "", nil},
		{"distinct: equal", false, []string{"904,E1,,,A1,a1"}, true, "", `"primary":false`,
			[]string{`warning: Second (column 6): not sent: the same employee "a1" as column 5 (First)`}},
		{"distinct: equal to the user's", false, []string{"904,E1,,,A1", "904,E1,,,,A1"}, true, "", `"primary":false`,
			[]string{"warning: Second (column 6): not sent"}},
		{"distinct: different", false, []string{"904,E1,,,A1,A2"}, true, `"primary":false`, "", nil},
		{"warn: sent and warned", false, []string{"904,E1,,,,,Boss"}, true, `"title":"Boss"`, "",
			[]string{"warning: Title (column 7): titles are checked by hand"}},
		{"refuse: option off", false, []string{"904,E1,,,,,,S1"}, false, "", "S1",
			[]string{`error: Sync (column 8): refused: off (value "S1"); the record is rejected`}},
		{"until: reversed", false, []string{"904,E1,,,,,,,Y,2026-02-01,2026-01-31"}, false, "", "2026",
			[]string{"error: From (column 10): 2026-02-01 is after 2026-01-31, the To (column 11)"}},
		{"until: one side", false, []string{"904,E1,,,,,,,Y,,2026-01-31"}, false, "", "2026",
			[]string{"error: From (column 10): blank, but column 11 (To) is given"}},
		{"until: same day", false, []string{"904,E1,,,,,,,Y,2026-01-31,2026-01-31"}, true, `"value":"2026-01-31"`, "", nil},
		{"gate: invalid", false, []string{"904,E1,,,,,,,Q,2026-01-01,2026-01-31"}, false, "", "2026",
			[]string{`error: Gate (column 9): "Q" is not Y or N`}},
		{"gate: Y alone", false, []string{"904,E1,,,,,,,Y"}, true, "", "2026",
			[]string{"warning: Gate (column 9): not sent: Y, but columns 10 (From), 11 (To) are blank"}},
		{"drop: invalid gate", true, []string{"904,E1,,,,,,,Q,2026-01-01,2026-01-31"}, true, "", "2026",
			[]string{`warning: Gate (column 9): "Q" is not Y or N (onInvalidOptional: drop`, "warning: From (column 10): ignored: Gate (column 9) is not Y"}},
		{"drop: invalid date", true, []string{"904,E1,555,,,,,,Y,2026-01-01,2026-13-01"}, true, `"value":"555"`, "2026",
			[]string{`warning: To (column 11): "2026-13-01" is not a date (YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY) (onInvalidOptional: drop; column 10 (From) is not sent either)`,
				"warning: From (column 10): not sent: column 11 (To) is invalid, and the two dates go together (onInvalidOptional: drop)"}},
		{"reject: invalid date", false, []string{"904,E1,555,,,,,,Y,2026-01-01,2026-13-01"}, false, "", "2026",
			[]string{`error: To (column 11): "2026-13-01" is not a date`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, diags, oks := apply(t, load(tt.drop), tt.lines...)
			got := resource(u)
			if oks[len(oks)-1] != tt.ok {
				t.Errorf("ok = %v, want %v (diags %v)", oks[len(oks)-1], tt.ok, diags)
			}
			if tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("resource %s lacks %s", got, tt.want)
			}
			if tt.not != "" && strings.Contains(got, tt.not) {
				t.Errorf("resource %s has %s", got, tt.not)
			}
			all := strings.Join(diags, "\n")
			for _, d := range tt.diags {
				if !strings.Contains(all, d) {
					t.Errorf("diags lack %q:\n%s", d, all)
				}
			}
			if len(tt.diags) == 0 && len(diags) > 0 {
				t.Errorf("unexpected diags:\n%s", all)
			}
		})
	}
}
