package mapping

import (
	"path/filepath"
	"strings"
	"testing"
)

// Bad override files: each problem names the override file and the line of
// the offending row.
func TestOverrideProblemsNameFileAndLine(t *testing.T) {
	cases := []struct {
		name string
		file string // 305.yaml unless the text says otherwise
		text string
		line int
		msg  string
	}{
		{
			name: "unknown key",
			text: `record: "305"
columns:
  - col: 22
    target: 'name.givenName'
`,
			line: 4,
			msg:  "field target is not a column key",
		},
		{
			name: "bad path",
			text: `record: "305"
columns:
  - col: 12
    name: Ledger Code
  - col: 22
    to: 'emails[type eq "work".value'
`,
			line: 5,
			msg:  "column 22: invalid SCIM path",
		},
		{
			name: "filter that cannot build an element",
			text: `record: "305"
columns:
  - col: 22
    to: 'emails[type co "work"].value'
`,
			line: 3,
			msg:  "must be a conjunction of eq terms",
		},
		{
			name: "column beyond the width",
			text: `record: "305"
columns:
  - col: 22
    default: X
  - col: 138
    to: title
`,
			line: 5,
			msg:  "column 138 is beyond record 305's 137 columns",
		},
		{
			name: "two columns on one target",
			text: `record: "305"
columns:
  - col: 22
    to: name.givenName
`,
			line: 3,
			msg:  "column 22: same target name.givenName as column 2",
		},
		{
			name: "optional row re-pointed onto another column's target",
			text: `record: "305"
columns:
  - col: 81
    to: 'urn:ietf:params:scim:schemas:extension:spend:2.0:WorkflowPreference:emailAwaitApprovalOnPayment'
`,
			line: 3,
			msg:  "column 81: same target",
		},
		{
			name: "unknown option",
			text: `record: "350"
columns:
  - col: 6
    to: 'urn:ietf:params:scim:schemas:extension:travel:2.0:User:travelNameRemark'
    option: redress
`,
			file: "350.yaml",
			line: 3,
			msg:  `column 6: unknown option "redress"`,
		},
		{
			name: "unknown transform",
			text: `record: "350"
columns:
  - col: 7
    as: sex
`,
			file: "350.yaml",
			line: 3,
			msg:  `column 7: unknown transform "sex"`,
		},
		{
			name: "until to a column that is not a date",
			text: `record: "500"
columns:
  - col: 9
    until: 11
`,
			file: "500.yaml",
			line: 3,
			msg:  "column 9: until: columns 9 and 11 must both be dates",
		},
		{
			name: "requires a column not in the table",
			text: `record: "350"
columns:
  - col: 12
    requires: 68
`,
			file: "350.yaml",
			line: 3,
			msg:  "column 12: requires: column 68 is not in the table",
		},
		{
			name: "refuse without an option",
			text: `record: "350"
columns:
  - col: 6
    to: 'urn:ietf:params:scim:schemas:extension:travel:2.0:User:travelNameRemark'
    refuse: true
`,
			file: "350.yaml",
			line: 3,
			msg:  "column 6: refuse: only an optional row",
		},
		{
			name: "row that changes nothing",
			text: `record: "305"
columns:
  - col: 2
  - col: 3
    note: fine
`,
			line: 3,
			msg:  "override row changes nothing",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file
			if file == "" {
				file = "305.yaml"
			}
			dir := writeOverrideFiles(t, map[string]string{file: tc.text})
			_, err := Load(dir, nil)
			if err == nil {
				t.Fatal("Load accepted the override")
			}
			prefix := filepath.Join(dir, file) + ":" + itoa(tc.line) + ": "
			found := false
			for _, l := range strings.Split(err.Error(), "\n") {
				if strings.HasPrefix(l, prefix) && strings.Contains(l, tc.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem %q at %s in:\n%v", tc.msg, prefix, err)
			}
		})
	}
}

// A valid override of an optional row keeps its reason for when the option
// is off.
func TestOverrideOfOptionalRowKeepsItsReason(t *testing.T) {
	dir := writeOverrideFiles(t, map[string]string{"350.yaml": `record: "350"
columns:
  - col: 58
    to: 'urn:ietf:params:scim:schemas:extension:travel:2.0:User:travelCrsName'
    name: Profile sync
`})
	// 58 now collides with column 19 (travelCrsName) when the option is on.
	if _, err := Load(dir, nil); err == nil || !strings.Contains(err.Error(), "same target") {
		t.Fatalf("want a same-target problem, got %v", err)
	}
	dir = writeOverrideFiles(t, map[string]string{"350.yaml": `record: "350"
columns:
  - col: 58
    to: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter'
`})
	set, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := set.Table("350").ColumnAt(58)
	if c.Option != "xmlProfileSyncId" || c.Unsupported == "" || !strings.HasSuffix(c.To, ":costCenter") {
		t.Errorf("column 58 after override: %+v", c)
	}
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}
