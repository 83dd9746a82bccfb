package legacy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"scimigrate/converter"
	"scimigrate/converter/source"
	"scimigrate/mapping"
)

var update = flag.Bool("update", false, "rewrite the golden files in fixtures/v1 and fixtures/v3")

// root is the repository root seen from this package; it is stripped from
// file names in golden files.
const root = "../../"

const testCompany = "4b6a4b6c-0000-4000-8000-00000000c0de"

type run struct {
	users   []string // emitted resources
	updates []string // update-only users
	intents []string
	diags   []string
	st      *converter.Stats
	err     error
}

// convert runs files through the pipeline exactly as the CLI does.
func convert(t testing.TB, format string, files ...string) *run {
	t.Helper()
	set, err := converter.LoadMappings("", mapping.DefaultConfig())
	if err != nil {
		t.Fatalf("LoadMappings: %v", err)
	}
	inputs, err := converter.OpenInputsFormat(files, nil, format)
	if err != nil {
		t.Fatalf("OpenInputsFormat: %v", err)
	}
	defer func() {
		for _, in := range inputs {
			in.Close()
		}
	}()
	return convertInputs(t, set, inputs)
}

func convertInputs(t testing.TB, set *mapping.Set, inputs []converter.Input) *run {
	t.Helper()
	r := &run{}
	opts := converter.Options{
		Set:       set,
		Workers:   4,
		Validate:  converter.ValidateSchema,
		CompanyID: testCompany,
		Emit: func(res *converter.Result) error {
			r.users = append(r.users, string(res.JSON))
			return nil
		},
		Update: func(res *converter.Result) error {
			r.updates = append(r.updates, string(res.JSON))
			return nil
		},
		Intent: func(in *converter.Intent) error {
			r.intents = append(r.intents, string(converter.AppendIntent(nil, in)))
			return nil
		},
		Diag: func(d source.Diagnostic) { r.diags = append(r.diags, d.String()) },
	}
	r.st, r.err = converter.Run(context.Background(), inputs, opts)
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	if r.st.Accounted() != r.st.Total() {
		t.Errorf("%d records read, %d accounted for", r.st.Total(), r.st.Accounted())
	}
	return r
}

func summary(st *converter.Stats) string {
	types := make([]string, 0, len(st.Read))
	for k := range st.Read {
		types = append(types, k)
	}
	sort.Strings(types)
	var b strings.Builder
	b.WriteString("--- read:")
	for _, k := range types {
		fmt.Fprintf(&b, " %s×%d", k, st.Read[k])
	}
	fmt.Fprintf(&b, "\n--- users: %d emitted, %d update-only, %d rejected\n", st.UsersEmitted, st.UsersUpdates, st.UsersRejected)
	fmt.Fprintf(&b, "--- records: %d converted, %d update-only, %d intents, %d rejected, %d unsupported\n",
		st.RecordsConverted, st.RecordsUpdates, st.RecordsIntents, st.RecordsRejected, st.RecordsUnsupported)
	fmt.Fprintf(&b, "--- diagnostics: %d errors, %d warnings; values: %d unsupported, %d conflicts, %d dropped\n",
		st.Errors, st.Warnings, st.Values.Unsupported, st.Values.Conflicts, st.Values.Dropped)
	return b.String()
}

func lines(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return strings.ReplaceAll(strings.Join(ss, "\n")+"\n", root, "")
}

// golden compares got with the file, or rewrites it under -update. An empty
// golden is a missing file.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if got == "" {
			os.Remove(path)
			return
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the output (run go test -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// Golden outputs: <base>.ndjson (users to create), <base>.intents.ndjson (ID
// changes), <base>.diag.txt (diagnostics and counts).
func TestGolden(t *testing.T) {
	cases := []struct {
		name  string
		base  string
		files []string
	}{
		{"v1 batch", "fixtures/v1/batch", []string{"fixtures/v1/batch.xml"}},
		{"v1 GET form", "fixtures/v1/get-user", []string{"fixtures/v1/get-user.xml"}},
		{"v1 equivalent", "fixtures/v1/equivalent", []string{"fixtures/v1/equivalent.xml"}},
		{"v3.0 pages", "fixtures/v3/v30-users", []string{"fixtures/v3/v30-users-page1.json", "fixtures/v3/v30-users-page2.json"}},
		{"v3.1 pages", "fixtures/v3/v31-users", []string{"fixtures/v3/v31-users-page1.json", "fixtures/v3/v31-users-page2.json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := make([]string, len(c.files))
			for i, f := range c.files {
				files[i] = root + f
			}
			r := convert(t, "", files...)
			if len(r.updates) > 0 {
				t.Errorf("update-only users: %v", r.updates)
			}
			golden(t, root+c.base+".ndjson", lines(r.users))
			golden(t, root+c.base+".intents.ndjson", lines(r.intents))
			golden(t, root+c.base+".diag.txt", lines(r.diags)+summary(r.st))
		})
	}
}

// normalize decodes JSON and sorts every array by its elements' encoding:
// SCIM multi-valued attributes are unordered, and the XML element order need
// not follow the flat file's columns.
func normalize(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return sortArrays(v)
}

func sortArrays(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = sortArrays(e)
		}
	case []any:
		for i := range x {
			x[i] = sortArrays(x[i])
		}
		sort.Slice(x, func(i, j int) bool {
			a, _ := json.Marshal(x[i])
			b, _ := json.Marshal(x[j])
			return bytes.Compare(a, b) < 0
		})
	}
	return v
}

// A V1 batch and the equivalent flat file (305 records, a 320 for the
// rename) convert to the same SCIM users and the same ID-change intent.
func TestV1EquivalentToFlat(t *testing.T) {
	v1 := convert(t, "", root+"fixtures/v1/equivalent.xml")
	flat := convert(t, "", root+"fixtures/v1/equivalent-flat.txt")
	if v1.st.Errors != 0 || flat.st.Errors != 0 {
		t.Fatalf("errors: v1 %v, flat %v", v1.diags, flat.diags)
	}
	if len(v1.users) != 3 || len(v1.users) != len(flat.users) {
		t.Fatalf("users: v1 %d, flat %d", len(v1.users), len(flat.users))
	}
	for i := range v1.users {
		a, b := normalize(t, v1.users[i]), normalize(t, flat.users[i])
		if !reflect.DeepEqual(a, b) {
			t.Errorf("user %d differs:\nv1:   %s\nflat: %s", i+1, v1.users[i], flat.users[i])
		}
	}
	if len(v1.intents) != 1 || len(flat.intents) != 1 {
		t.Fatalf("intents: v1 %v, flat %v", v1.intents, flat.intents)
	}
	a, b := normalize(t, v1.intents[0]).(map[string]any), normalize(t, flat.intents[0]).(map[string]any)
	delete(a, "source")
	delete(b, "source")
	if !reflect.DeepEqual(a, b) {
		t.Errorf("intent differs:\nv1:   %s\nflat: %s", v1.intents[0], flat.intents[0])
	}
	// The list values in the GET form were reduced to their codes.
	if !strings.Contains(v1.users[0], `"value":"SBS AU"`) || !strings.Contains(v1.users[0], `"value":"QA"`) {
		t.Errorf("list codes not reduced: %s", v1.users[0])
	}
}

// The password of a V1 profile is reported, never emitted or echoed.
func TestV1PasswordNeverEmitted(t *testing.T) {
	r := convert(t, "", root+"fixtures/v1/batch.xml")
	all := strings.Join(r.users, "\n") + strings.Join(r.intents, "\n") + strings.Join(r.diags, "\n")
	if strings.Contains(all, "Welcome123!") {
		t.Fatal("the password appears in the output")
	}
	found := false
	for _, d := range r.diags {
		if strings.Contains(d, "Password: not sent") && strings.Contains(d, `"***"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no unsupported warning for Password: %v", r.diags)
	}
}
