package plan

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scimigrate/batcher"
)

func row305(emp, login, first, last string) string {
	cols := make([]string, 137)
	cols[0], cols[1], cols[3], cols[4], cols[5], cols[7] = "305", first, last, emp, login, login
	cols[8], cols[9], cols[11], cols[12], cols[14] = "en_US", "US", "DEFAULT", "USD", "Y"
	return strings.Join(cols, ",")
}

// TestMatching: employeeNumber first, userName when the employeeNumber finds
// nothing; ambiguous matches are rejected, never guessed.
func TestMatching(t *testing.T) {
	t.Chdir(fixtureDir)
	dir := t.TempDir()
	input := filepath.Join(dir, "match.txt")
	lines := []string{"100,0,SSO,UPDATE,EN,N,N",
		row305("3001", "pat.gone@example.com", "Pat", "Gone"),      // userName of 1008
		row305("1002", "ana.obrien@example.com", "Ana", "O'Brien"), // by employeeNumber
		row305("3002", "dup.name@example.com", "Dup", "Name"),      // two users have that userName
		row305("3004", "ana.obrien@example.com", "Ana", "Again"),   // userName of 1002, already matched
		row305("7777", "seven@example.com", "Seven", "Twice"),      // two users have that employeeNumber
		row305("3005", "brand.new@example.com", "Brand", "New"),    // nobody: created
	}
	if err := os.WriteFile(input, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile("snapshot.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	extra := `{"id":"x1","userName":"dup.name@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"5001"}}
{"id":"x2","userName":"DUP.name@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"5002"}}
{"id":"y1","userName":"y1@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"7777"}}
{"id":"y2","userName":"y2@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"7777"}}
`
	snap, err := ReadSnapshot(bytes.NewReader(append(base, extra...)), "snap")
	if err != nil {
		t.Fatal(err)
	}
	b, err := build(t, planCase{inputs: []string{input}}, snap)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*UserPlan{}
	for _, u := range b.plan.Users {
		got[u.EmployeeNumber] = u
	}
	want := map[string]struct {
		action    Action
		id, match string
		reason    string
	}{
		"3001": {Update, "00000000-0000-4000-8000-000000001008", "userName", ""},
		"1002": {NoChange, "00000000-0000-4000-8000-000000001002", "employeeNumber", ""},
		"3002": {Reject, "", "", `2 users have userName "dup.name@example.com" (ids x1, x2)`},
		"3004": {Reject, "", "", "is also matched by employee 1002"},
		"7777": {Reject, "", "", `2 users of the target have employeeNumber "7777" (ids y1, y2)`},
		"3005": {Create, "", "", ""},
	}
	for k, w := range want {
		u := got[k]
		if u == nil {
			t.Errorf("%s: not in the plan", k)
			continue
		}
		if u.Action != w.action || u.ID != w.id || u.MatchedBy != w.match || w.reason != "" && !strings.Contains(strings.Join(u.Reasons, " "), w.reason) {
			t.Errorf("%s: %s id %q matched by %q reasons %q; want %s %q %q %q", k, u.Action, u.ID, u.MatchedBy, u.Reasons, w.action, w.id, w.match, w.reason)
		}
	}
	// The userName match renames the target's employee number.
	u := got["3001"]
	if len(u.Changes) != 1 || u.Changes[0].Path != ent+":employeeNumber" || len(u.Notes) == 0 {
		t.Errorf("3001 changes %+v notes %q", u.Changes, u.Notes)
	}
	var txt bytes.Buffer
	b.plan.Render(&txt, RenderOptions{Color: true})
	if !strings.Contains(txt.String(), "\x1b[32m+ create 3005") || !strings.Contains(txt.String(), "\x1b[1m\x1b[31m! rejected 7777") {
		t.Errorf("colours:\n%q", txt.String())
	}
}

// TestV1IDChange: a Users V1 NewEmployeeID/NewLoginID is an ID change like
// a 320 record: a PATCH of employeeNumber and userName on the user found by
// the current ID.
func TestV1IDChange(t *testing.T) {
	t.Chdir(fixtureDir)
	snap, err := ReadSnapshot(strings.NewReader(`{"id":"z1","userName":"sam.green@old.example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"567890"}}`), "snap")
	if err != nil {
		t.Fatal(err)
	}
	b, err := build(t, planCase{inputs: []string{"../v1/batch.xml"}}, snap)
	if err != nil {
		t.Fatal(err)
	}
	var u *UserPlan
	for _, x := range b.plan.Users {
		if x.ID == "z1" {
			u = x
		}
	}
	if u == nil || u.Action != Update || u.EmployeeNumber != "567890-NEW" || u.UserName != "sam.green@corp.example.com" {
		t.Fatalf("%+v", u)
	}
	var paths []string
	for _, c := range u.Changes[:2] {
		paths = append(paths, c.Path+"="+display(c.New))
	}
	if got := strings.Join(paths, " "); got != ent+`:employeeNumber="567890-NEW" userName="sam.green@corp.example.com"` {
		t.Errorf("changes %s", got)
	}
	op := b.plan.Ops[u.Op]
	if op.Method != "PATCH" || op.Path != "/Users/z1" || !strings.HasPrefix(op.BulkID, "batch.xml-") {
		t.Errorf("operation %+v", op)
	}
}

// TestReferenceWaves: a creation waits for the creation of the employee it
// references (a later wave, a later request); employees that reference each
// other are created together and the plan warns.
func TestReferenceWaves(t *testing.T) {
	t.Chdir(fixtureDir)
	approver := func(row string, emp string) string {
		cols := strings.Split(row, ",")
		cols[58] = emp // column 59: report approver
		return strings.Join(cols, ",")
	}
	input := filepath.Join(t.TempDir(), "waves.txt")
	lines := []string{"100,0,SSO,UPDATE,EN,N,N",
		approver(row305("4001", "a@example.com", "A", "A"), "4002"), // waits for 4002
		approver(row305("4002", "b@example.com", "B", "B"), "4003"), // waits for 4003
		row305("4003", "c@example.com", "C", "C"),
		approver(row305("4004", "d@example.com", "D", "D"), "4005"), // 4004 and 4005: a cycle
		approver(row305("4005", "e@example.com", "E", "E"), "4004"),
		approver(row305("1002", "ana.obrien@example.com", "Ana", "O'Brien"), "4001"), // a PATCH waits too
	}
	if err := os.WriteFile(input, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := build(t, planCase{inputs: []string{input}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wave := map[string]int{}
	for i, r := range b.plan.Requests {
		for _, k := range r.Ops {
			op := b.plan.Ops[k]
			wave[op.EmployeeNumber+op.Kind] = b.plan.Waves[i]
		}
	}
	// The cycle 4004 <-> 4005: both created without references in wave 0,
	// their reference patches in wave 1, shown in the plan as sent.
	want := map[string]int{"4003": 0, "4002": 1, "4001": 2, "1002": 3, "4004": 0, "4005": 0, "4004refs": 1, "4005refs": 1}
	for k, w := range want {
		if got, ok := wave[k]; !ok || got != w {
			t.Errorf("operation %s in wave %d (present %v), want %d (waves %v)", k, got, ok, w, wave)
		}
	}
	for _, op := range b.plan.Ops {
		switch {
		case op.Kind == batcher.KindRefs:
			if op.Path != batcher.ParentRef+op.Parent || !strings.Contains(string(op.Data), "Approver") {
				t.Errorf("reference patch %s: path %s data %s", op.BulkID, op.Path, op.Data)
			}
		case op.EmployeeNumber == "4004" || op.EmployeeNumber == "4005":
			if strings.Contains(string(op.Data), "Approver") {
				t.Errorf("creation %s in a cycle carries its approver: %s", op.BulkID, op.Data)
			}
		}
	}
	var buf strings.Builder
	b.plan.Render(&buf, RenderOptions{})
	if !strings.Contains(buf.String(), "in a reference cycle (4004, 4005)") || !strings.Contains(buf.String(), "-refs (request") {
		t.Errorf("the plan does not show the reference patches:\n%s", buf.String())
	}
}
