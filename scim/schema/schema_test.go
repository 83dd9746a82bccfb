package schema

import (
	"encoding/json"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"scimigrate/scim/scimpath"
)

func TestCompileRejectsWhatTheFastValidatorLacks(t *testing.T) {
	tests := []struct {
		name, schema, want string
	}{
		{"anyOf", `{"type":"object","properties":{"a":{"anyOf":[{"type":"string"}]}}}`, `keyword "anyOf"`},
		{"oneOf", `{"oneOf":[{"type":"string"}]}`, `keyword "oneOf"`},
		{"not", `{"not":{"type":"string"}}`, `keyword "not"`},
		{"if", `{"if":{"type":"string"}}`, `keyword "if"`},
		{"patternProperties", `{"type":"object","patternProperties":{"^x":{}}}`, `keyword "patternProperties"`},
		{"dependencies", `{"dependencies":{"a":["b"]}}`, `keyword "dependencies"`},
		{"contains", `{"type":"array","contains":{"type":"string"}}`, `keyword "contains"`},
		{"exclusiveMinimum", `{"type":"integer","exclusiveMinimum":1}`, `keyword "exclusiveMinimum"`},
		{"multipleOf", `{"type":"integer","multipleOf":2}`, `keyword "multipleOf"`},
		{"minProperties", `{"type":"object","minProperties":1}`, `keyword "minProperties"`},
		{"typo", `{"type":"string","maxLenght":3}`, `keyword "maxLenght"`},
		{"schema additionalProperties", `{"type":"object","additionalProperties":{"type":"string"}}`, "only boolean additionalProperties"},
		{"tuple items", `{"type":"array","items":[{"type":"string"}]}`, "only a single items schema"},
		{"boolean schema", `{"type":"object","properties":{"a":true}}`, "boolean schemas are not supported"},
		{"uuid format", `{"type":"string","format":"uuid"}`, `format "uuid" is not implemented`},
		{"number enum", `{"enum":[1,2]}`, "only string enum values"},
		{"ref sibling", `{"type":"object","definitions":{"a":{"type":"string"}},"properties":{"b":{"$ref":"#/definitions/a","maxLength":3}}}`, "beside $ref"},
		{"ref to a missing document", `{"properties":{"b":{"$ref":"other.json"}}}`, "no document other.json"},
		{"ref cycle", `{"type":"object","definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}}}`, "$ref cycle"},
		{"required not a property", `{"type":"object","properties":{"a":{}},"required":["b"]}`, `required "b"`},
		{"case-insensitive clash", `{"type":"object","properties":{"userName":{},"USERNAME":{}}}`, "differ only in case"},
		{"unknown type", `{"type":"date"}`, `unknown type "date"`},
		{"bad pattern", `{"type":"string","pattern":"("}`, "missing closing )"},
		{"x-key without items", `{"type":"array","x-key":"type"}`, "x-key on a schema without items"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.schema
			if !strings.HasPrefix(doc, `{"type":"object"`) {
				doc = `{"type":"object","properties":{"x":` + tc.schema + `}}`
			}
			_, err := compileFS(fstest.MapFS{"s/resource.json": {Data: []byte(doc)}}, "s")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile: %v, want an error with %q", err, tc.want)
			}
		})
	}
	if _, err := compileFS(fstest.MapFS{"s/resource.json": {Data: []byte(`{"type":"object","properties":{"a":{"type":"string","description":"d","readOnly":true,"x-key":"k","items":{}}}}`)}}, "s"); err == nil {
		t.Error("x-key on a string accepted")
	}
	if _, err := compileFS(fstest.MapFS{"s/resource.json": {Data: []byte(`{"$comment":"c","type":"object","properties":{"a":{"type":"array","x-key":["k"],"items":{"type":"object","properties":{"k":{"type":"string"}}}}}}`)}}, "s"); err != nil {
		t.Errorf("annotations rejected: %v", err)
	}
}

// TestDocuments checks the conventions of the embedded documents.
func TestDocuments(t *testing.T) {
	names, _ := fs.Glob(schemaFS, "schemas/*.json")
	if len(names) != 12 {
		t.Errorf("%d documents: %v", len(names), names)
	}
	for _, n := range names {
		data, _ := fs.ReadFile(schemaFS, n)
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(n, err)
		}
		base := strings.TrimPrefix(n, "schemas/")
		if doc["$schema"] != "http://json-schema.org/draft-07/schema#" {
			t.Errorf("%s: $schema %v", base, doc["$schema"])
		}
		if doc["$id"] != "https://scimigrate.invalid/schemas/"+base {
			t.Errorf("%s: $id %v", base, doc["$id"])
		}
	}
	// The resource lists every core attribute and every extension URN.
	core := std.docs["core-user.json"]
	props, _ := core.Obj.Get("properties")
	for _, m := range props.Obj.Members {
		n, _, ok := std.root.Property(m.Name)
		if !ok {
			t.Errorf("resource.json lacks core attribute %s", m.Name)
			continue
		}
		want, _ := std.resolve(scimpath.MustParse(m.Name))
		if n != want {
			t.Errorf("resource.json %s is not core-user.json's", m.Name)
		}
	}
	if !slices.Equal(URNs(), scimpath.KnownURNs) {
		t.Errorf("URNs %v, want scimpath.KnownURNs %v", URNs(), scimpath.KnownURNs)
	}
	schemas, _, _ := std.root.Property("schemas")
	if !slices.Equal(schemas.Items.Enum, scimpath.KnownURNs) {
		t.Errorf("schemas enum %v", schemas.Items.Enum)
	}
	for _, urn := range scimpath.KnownURNs {
		n, ok := Schema(strings.ToUpper(urn))
		if !ok || n.Title != urn && urn != scimpath.CoreUser {
			t.Errorf("Schema(%s): %v %q", urn, ok, n.Title)
		}
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		path      string
		typ       string
		maxLength int
		enum      int // number of enum values, -1 any
	}{
		{"userName", "string", 128, -1},
		{"USERNAME", "string", 128, -1},
		{"name.givenName", "string", 32, -1},
		{`emails[type eq "work"].value`, "string", 255, -1},
		{`emails[type eq "work"]`, "object", -1, -1},
		{"emails", "array", -1, -1},
		{`entitlements[value eq "Expense"]`, "string", -1, 7},
		{scimpath.EnterpriseUser + ":employeeNumber", "string", 48, -1},
		{scimpath.SpendUser + ":reimbursementType", "string", -1, 4},
		{scimpath.SpendUser + `:customData[id eq "custom7"].value`, "string", 48, -1},
		{scimpath.SpendUser + `:customData[id eq "custom7"].id`, "string", -1, 28},
		{scimpath.SpendApprover + `:report[primary eq true].approver.employeeNumber`, "string", 48, -1},
		{scimpath.SpendDelegate + `:payment[delegate.employeeNumber eq "1"].temporaryDelegation.temporaryDelegationFromDate`, "string", -1, -1},
		{scimpath.TravelUser + ":gender", "string", -1, 2},
		{scimpath.TravelUser, "object", -1, -1},
		{"urn:ietf:params:scim:schemas:extension:SPEND:2.0:User:locale", "string", -1, -1},
	}
	for _, tc := range tests {
		n, ok := Lookup(scimpath.MustParse(tc.path))
		if !ok {
			t.Errorf("Lookup(%s) failed: %v", tc.path, CheckPath(scimpath.MustParse(tc.path)))
			continue
		}
		if n.Type != tc.typ || n.MaxLength != tc.maxLength || tc.enum >= 0 && len(n.Enum) != tc.enum {
			t.Errorf("Lookup(%s) = type %s, maxLength %d, %d enum values", tc.path, n.Type, n.MaxLength, len(n.Enum))
		}
	}
	n, _ := Lookup(scimpath.MustParse(scimpath.SpendUser))
	if !n.IsRequired("COUNTRY") || n.IsRequired("ledgerCode") || n.MultiValued() {
		t.Error("spend User required/multi-valued")
	}
	if !strings.HasPrefix(n.Source(), "spend-user.json#") || len(n.Properties()) < 10 {
		t.Errorf("source %s, properties %v", n.Source(), n.Properties())
	}
}

func TestCheckPath(t *testing.T) {
	const sp = scimpath.SpendUser + ":"
	tests := []struct{ path, err string }{
		{"userName", ""},
		{"name.familyName", ""},
		{`phoneNumbers[type eq "work"].workExtension`, ""},
		{`entitlements[value eq "Expense"]`, ""},
		{`emails[type eq "work" and primary eq true].value`, ""},
		{sp + `customData[id eq "custom2"].value`, ""},
		{scimpath.SpendRole + `:roles[roleName eq "EXP_APPROVER"]`, ""},
		{scimpath.SpendRole + `:roles[roleName eq "EXP_APPROVER"].roleGroups`, ""},
		{scimpath.SpendApprover + `:report[approver.employeeNumber eq "1" and primary eq true].approver.employeeNumber`, ""},
		{scimpath.EnterprisePayroll + `:adp.companyCode`, ""},
		{scimpath.TravelUser + `:customFields[name eq "Canary ID"].value`, ""},
		{scimpath.SpendUser, ""},
		{sp + "custmData", "spend:2.0:User has no attribute 'custmData'"},
		{"nmae.givenName", "core:2.0:User has no attribute 'nmae'"},
		{"name.gn", "core:2.0:User:name has no sub-attribute 'gn'"},
		{sp + "biManager.employeNumber", "spend:2.0:User:biManager has no sub-attribute 'employeNumber'"},
		{"userName.x", "core:2.0:User:userName is a string; it has no sub-attribute 'x'"},
		{`name[givenName eq "x"]`, "core:2.0:User:name is not multi-valued"},
		{`emails.value`, "core:2.0:User:emails is multi-valued; select an element with a filter before 'value'"},
		{`emails[typ eq "work"].value`, "core:2.0:User:emails elements has no sub-attribute 'typ'"},
		{`emails[type eq "work"].vlue`, "core:2.0:User:emails[…] has no sub-attribute 'vlue'"},
		{`entitlements[name eq "Expense"]`, "the elements of core:2.0:User:entitlements are strings; filter them by value, not 'name'"},
		{`entitlements[value eq "Expense"].x`, "the elements of core:2.0:User:entitlements are strings; they have no sub-attribute 'x'"},
		{scimpath.SpendApprover + `:report[approver.employeNumber eq "1"].primary`, "has no sub-attribute 'employeNumber'"},
		{"urn:ietf:params:scim:schemas:extension:spend:2.0:ApproverLimit:authorizedApprover", `unknown schema "urn:ietf:params:scim:schemas:extension:spend:2.0:ApproverLimit"`},
		{"schemas", "core:2.0:User has no attribute 'schemas'"},
		{`emails[urn:ietf:params:scim:schemas:core:2.0:User:type eq "work"].value`, "names a schema"},
	}
	for _, tc := range tests {
		err := CheckPath(scimpath.MustParse(tc.path))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("CheckPath(%s): %v", tc.path, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("CheckPath(%s) = %v, want %q", tc.path, err, tc.err)
		}
	}
}
