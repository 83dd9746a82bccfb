package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scimigrate/converter"
	"scimigrate/scim"
)

// TestStreamMatchesMake: the streaming plan (snapshot file indexed, each
// employee planned in the converter's workers) is the plan Make computes
// from the loaded snapshot, for every fixture case: the same human plan,
// plan.json and Bulk bodies.
func TestStreamMatchesMake(t *testing.T) {
	t.Chdir(fixtureDir)
	for _, c := range planCases {
		t.Run(c.name, func(t *testing.T) {
			want, err := build(t, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			inputs, err := converter.OpenInputsFormat(c.inputs, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				for _, in := range inputs {
					in.Close()
				}
			}()
			o := Options{Set: want.set, Existing: c.existing, Now: func() time.Time { return fixedNow }}
			if c.deact != "" {
				o.DeactivateMissing, o.MaxDeactivate = true, mustLimit(t, c.deact)
			}
			got, d, err := Stream(context.Background(), inputs, StreamOptions{
				CollectOptions: CollectOptions{Set: want.set, CompanyID: want.set.Config.CompanyID, Workers: 2},
				Plan:           o, Snapshot: "snapshot.ndjson"})
			if err != nil {
				t.Fatal(err)
			}
			if d.Employees != len(want.d.Users) || len(d.Intents) != len(want.d.Intents) || len(d.Rejected) != len(want.d.Rejected) {
				t.Errorf("desired: %d employees, %d intents, %d rejected; Collect: %d, %d, %d",
					d.Employees, len(d.Intents), len(d.Rejected), len(want.d.Users), len(want.d.Intents), len(want.d.Rejected))
			}
			var a, b bytes.Buffer
			want.plan.Render(&a, RenderOptions{})
			got.Render(&b, RenderOptions{})
			if a.String() != b.String() {
				t.Errorf("human plans differ\n--- Make\n%s\n--- Stream\n%s", a.String(), b.String())
			}
			fa, err := want.plan.Describe(saveInfo(c))
			if err != nil {
				t.Fatal(err)
			}
			fb, _ := got.Describe(saveInfo(c))
			ja, _ := json.MarshalIndent(fa, "", " ")
			jb, _ := json.MarshalIndent(fb, "", " ")
			if !bytes.Equal(ja, jb) {
				t.Errorf("plan.json differs\n--- Make\n%s\n--- Stream\n%s", ja, jb)
			}
			if len(want.plan.Requests) != len(got.Requests) {
				t.Fatalf("%d requests, want %d", len(got.Requests), len(want.plan.Requests))
			}
			for i := range got.Requests {
				body, err := got.Body(i)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(body, want.plan.Requests[i].Body) {
					t.Errorf("request %d differs", i)
				}
			}
			// Saved: the streamed plan writes the same files, and plan.json
			// is what Describe holds.
			da, db := t.TempDir(), t.TempDir()
			if _, err := want.plan.Save(da, saveInfo(c)); err != nil {
				t.Fatal(err)
			}
			if _, err := got.Save(db, saveInfo(c)); err != nil {
				t.Fatal(err)
			}
			sameDirs(t, da, db)
			whole, err := json.MarshalIndent(fa, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if saved, _ := os.ReadFile(filepath.Join(db, PlanFile)); !bytes.Equal(saved, append(whole, '\n')) {
				t.Errorf("plan.json saved is not Describe's plan:\n%s\n--- Describe\n%s", saved, whole)
			}
			if err := got.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

func mustLimit(t *testing.T, s string) Limit {
	t.Helper()
	l, err := ParseLimit(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestStreamTwoEmployeesOneUser: a target user matched by two employees
// (the second by userName) belongs to the first in input order whatever
// order the workers finish in; the second is rejected.
func TestStreamTwoEmployeesOneUser(t *testing.T) {
	dir := t.TempDir()
	snap := filepath.Join(dir, "snap.ndjson")
	os.WriteFile(snap, []byte(`{"id":"u1","userName":"a@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E1"},"name":{"givenName":"A","familyName":"B"}}`+"\n"), 0o600)
	t.Chdir(fixtureDir)
	set := loadSet(t)
	in := filepath.Join(dir, "in.txt")
	row := func(emp string) string {
		return "305,Ann,,Bee," + emp + ",a@example.com,,a@example.com,en_US,US,,DEFAULT,USD,,Y" + strings.Repeat(",", 122) + "\r\n"
	}
	os.WriteFile(in, []byte("100,0,SSO,UPDATE,EN,N,N\r\n"+row("E1")+row("E2")), 0o600)
	for range 5 {
		inputs, err := converter.OpenInputsFormat([]string{in}, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := Stream(context.Background(), inputs, StreamOptions{CollectOptions: CollectOptions{Set: set, CompanyID: set.Config.CompanyID, Workers: 2},
			Plan: Options{Set: set}, Snapshot: snap})
		inputs[0].Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Users) != 2 || p.Users[0].EmployeeNumber != "E1" || p.Users[0].Action == Reject ||
			p.Users[1].Action != Reject || !strings.Contains(p.Users[1].Reasons[0], "also matched by employee E1") {
			var b bytes.Buffer
			p.Render(&b, RenderOptions{})
			t.Fatalf("plan:\n%s", b.String())
		}
	}
}

// TestSnapshotIndexErrors: a snapshot line the loaded reader rejects is
// rejected by the index with the same message and line.
func TestSnapshotIndexErrors(t *testing.T) {
	ok := `{"id":"u1","userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"1"}}`
	for _, bad := range []string{
		`{"id":"u1"`,
		`[1,2]`,
		`{"userName":"x"}`,
		`{"id":"u2","userName":5}`,
		`{"id":"u2","active":"yes"}`,
		`{"id":"u2","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":7}}`,
		`{"id":"U1"}`,
		`{"id":"u2"} x`,
		`{"id":"u2","x":01}`,
		"{\"id\":\"u2\",\"x\":\"a\x01\"}",
	} {
		content := ok + "\n\n" + bad + "\n"
		_, want := ReadSnapshot(strings.NewReader(content), "s.ndjson")
		path := filepath.Join(t.TempDir(), "s.ndjson")
		os.WriteFile(path, []byte(content), 0o600)
		for _, workers := range []int{1, 3} {
			_, got := OpenSnapshot(path, workers)
			var se *SnapshotError
			if want == nil || got == nil || !errors.As(got, &se) || got.Error() != strings.Replace(want.Error(), "s.ndjson", path, 1) {
				t.Errorf("%s (workers %d): index error %v, ReadSnapshot %v", bad, workers, got, want)
			}
		}
	}
}

// TestDecodeFastAgrees: decodeFast gives what scim.Decode gives, and
// rejects what it rejects.
func TestDecodeFastAgrees(t *testing.T) {
	for _, s := range decodeCases {
		want, werr := scim.Decode([]byte(s))
		got, ok := decodeFast([]byte(s), nil)
		if werr != nil {
			if ok {
				t.Errorf("%q: decodeFast accepts what scim.Decode rejects (%v)", s, werr)
			}
			continue
		}
		if !ok {
			t.Errorf("%q: decodeFast rejects it", s)
			continue
		}
		if !bytes.Equal(scim.AppendJSON(nil, got), scim.AppendJSON(nil, want)) || got.Kind != want.Kind {
			t.Errorf("%q: got %s, want %s", s, scim.AppendJSON(nil, got), scim.AppendJSON(nil, want))
		}
	}
}

var decodeCases = []string{
	`{}`, `[]`, `{"a":[]}`, ` {"a" : 1 , "b":[1, 2.5e3, -0.1, true, false, null]} `,
	`{"a":"é ü \u00e9 \n \" \\ \/"}`, `{"a":"\ud83d\ude00"}`, "{\"a\":\"\xff\"}", `{"a":{"b":{"c":[{"d":"e"}]}}}`,
	`{"a":1,"a":2}`, `"x"`, `1`, `-`, `01`, `1.`, `1e`, `{"a":1,}`, `[1,]`, `{"a"}`, `{"a":}`, `{a:1}`, `tru`, `nul`,
	`{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\t\"}", `{"a":1}}`, `[`, `{"a":[1,2}`, `{"a\u0062":1}`,
	strings.Repeat("[", 101) + strings.Repeat("]", 101), strings.Repeat("[", 100) + strings.Repeat("]", 100),
}

// FuzzDecodeFast: decodeFast never accepts what scim.Decode rejects, and
// agrees with it on what both accept.
func FuzzDecodeFast(f *testing.F) {
	for _, s := range decodeCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := scim.Decode(b)
		got, ok := decodeFast(b, nil)
		if werr != nil {
			if ok {
				t.Fatalf("accepts what scim.Decode rejects (%v)", werr)
			}
			return
		}
		if ok && !bytes.Equal(scim.AppendJSON(nil, got), scim.AppendJSON(nil, want)) {
			t.Fatalf("got %s, want %s", scim.AppendJSON(nil, got), scim.AppendJSON(nil, want))
		}
	})
}

// sameDirs fails unless directories a and b hold the same files with the
// same bytes.
func sameDirs(t *testing.T, a, b string) {
	t.Helper()
	ea, _ := os.ReadDir(a)
	eb, _ := os.ReadDir(b)
	if len(ea) != len(eb) {
		t.Fatalf("%d files saved, want %d", len(eb), len(ea))
	}
	for i := range ea {
		if ea[i].Name() != eb[i].Name() {
			t.Fatalf("file %s saved, want %s", eb[i].Name(), ea[i].Name())
		}
		x, _ := os.ReadFile(filepath.Join(a, ea[i].Name()))
		y, _ := os.ReadFile(filepath.Join(b, eb[i].Name()))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs:\n%s\n--- want\n%s", ea[i].Name(), y, x)
		}
	}
}
