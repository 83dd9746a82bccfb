package plan

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// TestSummaryGolden: the summary by attribute of a plan with many users:
// users counted once per path and kind, three examples then "…", core
// first, extensions in schema order, counts aligned.
func TestSummaryGolden(t *testing.T) {
	p := &Plan{}
	spend := scimpath.SpendUser
	for i := 1; i <= 1200; i++ {
		u := &UserPlan{Action: Update, EmployeeNumber: fmt.Sprintf("E%05d", i), Op: -1, RefsOp: -1}
		u.Changes = append(u.Changes, Change{Kind: '~', Path: "title", Old: scim.Str("a"), New: scim.Str("b")})
		if i%3 == 0 {
			u.Changes = append(u.Changes,
				Change{Kind: '+', Schema: spend, Path: spend + `:customData[id eq "custom1"]`},
				Change{Kind: '-', Schema: scimpath.SpendRole, Path: scimpath.SpendRole + `:roles[roleName eq "EXP_PROCESSOR"]`})
		}
		if i%400 == 0 { // two changes of one path count the user once
			u.Changes = append(u.Changes,
				Change{Kind: '~', Schema: scimpath.EnterpriseUser, Path: scimpath.EnterpriseUser + ":manager"},
				Change{Kind: '~', Schema: scimpath.EnterpriseUser, Path: scimpath.EnterpriseUser + ":manager"})
		}
		p.Users = append(p.Users, u)
	}
	p.Users = append(p.Users,
		&UserPlan{Action: Create, EmployeeNumber: "N1", Op: -1, RefsOp: -1},
		&UserPlan{Action: Deactivate, EmployeeNumber: "", Changes: []Change{{Kind: '~', Path: "active"}}, Op: -1, RefsOp: -1},
		&UserPlan{Action: NoChange, EmployeeNumber: "S1", Op: -1, RefsOp: -1})
	p.Counts = Counts{Create: 1, Update: 1200, Deactivate: 1, Unchanged: 1}
	sum := p.Summary()
	var b bytes.Buffer
	if err := RenderSummary(&b, sum, false); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join(fixtureDir, "golden", "summary.txt"), b.Bytes())
	// The same lines are what plan.json holds and 'plan show' prints.
	f, err := p.Describe(SaveInfo{})
	if err != nil {
		t.Fatal(err)
	}
	var shown bytes.Buffer
	if err := Show(&shown, f, ShowOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := b.String() + p.Counts.Line() + "\n"; shown.String() != want {
		t.Errorf("plan show prints\n%s\nwant\n%s", shown.String(), want)
	}
	var empty bytes.Buffer
	RenderSummary(&empty, nil, false)
	if empty.Len() != 0 {
		t.Errorf("no changes: %q", empty.String())
	}
}

// TestShowGolden: 'plan show' of the saved fixture plans: the summary, one
// attribute, one employee.
func TestShowGolden(t *testing.T) {
	t.Chdir(fixtureDir)
	cases := []struct {
		plan, name string
		o          ShowOptions
		err        bool
	}{
		{"update", "show.txt", ShowOptions{}, false},
		{"update", "show-employee-1001.txt", ShowOptions{Employee: "1001"}, false},
		{"update", "show-attribute-customData.txt", ShowOptions{Attribute: "customData"}, false},
		{"update", "show-attribute-full.txt", ShowOptions{Attribute: scimpath.SpendUser + `:customData[id eq "custom1"].value`}, false},
		{"idchange", "show-employee-1004-NEW.txt", ShowOptions{Employee: "1004-new"}, false},
		{"update", "", ShowOptions{Employee: "nobody"}, true},
		{"update", "", ShowOptions{Attribute: "nickName"}, true},
	}
	for _, c := range cases {
		f, err := ReadFile(filepath.Join("golden", c.plan))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		err = Show(&b, f, c.o)
		if c.err {
			if _, ok := err.(*ErrNotInPlan); !ok {
				t.Errorf("%s %+v: err %v, want ErrNotInPlan", c.plan, c.o, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		golden(t, filepath.Join("golden", "show", c.plan+"-"+c.name), b.Bytes())
	}
}

// TestSummaryGroupsApproversAndDelegates: a change of approver across many
// users is one summary line per attribute and kind, whatever employees the
// approvers are; the per-user changes keep their exact paths.
func TestSummaryGroupsApproversAndDelegates(t *testing.T) {
	apr, del := scimpath.SpendApprover, scimpath.SpendDelegate
	p := &Plan{}
	for i := 1; i <= 300; i++ {
		u := &UserPlan{Action: Update, EmployeeNumber: fmt.Sprintf("E%03d", i), Op: -1, RefsOp: -1}
		u.Changes = append(u.Changes,
			Change{Kind: '+', Schema: apr, Path: fmt.Sprintf(`%s:report[approver.employeeNumber eq "M%d"]`, apr, i)},
			Change{Kind: '~', Schema: apr, Path: fmt.Sprintf(`%s:report[approver.employeeNumber eq "M\"%d"].primary`, apr, i+1)},
			Change{Kind: '-', Schema: del, Path: fmt.Sprintf(`%s:expense[delegate.employeeNumber eq "D%d"]`, del, i)},
			Change{Kind: '~', Schema: scimpath.SpendUser, Path: scimpath.SpendUser + `:customData[id eq "custom1"].value`})
		p.Users = append(p.Users, u)
	}
	want := map[string]string{
		`report[approver.employeeNumber eq …]`:         "+",
		`report[approver.employeeNumber eq …].primary`: "~",
		`expense[delegate.employeeNumber eq …]`:        "-",
		`customData[id eq "custom1"].value`:            "~",
	}
	sum := p.Summary()
	if len(sum) != len(want) {
		t.Fatalf("%d summary lines, want %d: %+v", len(sum), len(want), sum)
	}
	for _, l := range sum {
		if kind, ok := want[l.Path]; !ok || kind != l.Kind || l.Users != 300 || len(l.Examples) != SummaryExamples {
			t.Errorf("unexpected line %+v", l)
		}
	}
	if got := p.Users[0].Changes[0].Path; got != apr+`:report[approver.employeeNumber eq "M1"]` {
		t.Errorf("the summary changed a user's own path: %s", got)
	}
}
