package plan

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"scimigrate/scim"
)

// changesText is a comparable form of changes: kind, schema, path and the
// JSON of the old and new values.
func changesText(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(string(c.Kind) + " " + c.Schema + " " + c.Path + " " + display(c.Old) + " " + display(c.New) + "\n")
	}
	return b.String()
}

func TestSpoolChangesRoundTrip(t *testing.T) {
	obj := mustDecode([]byte(`{"value":"x","display":"Ünïcode \"q\"","n":12.50,"b":false,"l":[1,{"a":null}],"e":{}}`))
	cases := map[string][]Change{
		"none":     nil,
		"added":    {{Kind: '+', Path: "name.middleName", New: scim.Str("Q")}},
		"removed":  {{Kind: '-', Schema: "urn:x", Path: "urn:x:roles[roleName eq \"R\"]", Old: obj}},
		"replaced": {{Kind: '~', Path: "active", Old: scim.BoolValue(true), New: scim.BoolValue(false)}, {Kind: '~', Path: "p", Old: obj, New: scim.Str("")}},
		"long":     {{Kind: '~', Path: strings.Repeat("a", 300), Old: scim.Str(strings.Repeat("é", 70000)), New: scim.Value{}}},
	}
	sp, err := newSpool()
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	refs := map[string]sref{}
	for name, cs := range cases {
		refs[name] = sp.add(encodeChanges(nil, cs))
	}
	for name, cs := range cases {
		u := &UserPlan{sp: sp, chg: refs[name], Changes: cs}
		if len(cs) > 0 {
			u.Changes = nil
		}
		if got, want := changesText(u.ChangeList()), changesText(cs); got != want {
			t.Errorf("%s: read back\n%s\nwant\n%s", name, got, want)
		}
		shown := u.shown()
		if len(shown) != len(cs) {
			t.Fatalf("%s: %d changes shown, want %d", name, len(shown), len(cs))
		}
		for i, c := range shown {
			if c.Kind != cs[i].Kind || c.Schema != cs[i].Schema || c.Path != cs[i].Path ||
				displayJSON(c.Old) != display(cs[i].Old) || displayJSON(c.New) != display(cs[i].New) {
				t.Errorf("%s: change %d shown as %+v", name, i, c)
			}
		}
	}
	spoolErr(t, sp)
}

// appendPruned writes what prune then AppendJSON write.
func TestAppendPruned(t *testing.T) {
	for _, doc := range []string{
		`{"a":null,"b":{},"c":{"d":null,"e":{}},"f":[],"g":[null,{},{"h":null}],"i":"x","j":{"k":{"l":null}},"m":1.50}`,
		`{}`, `[]`, `"s"`, `true`, `{"x":{"y":{"z":{}}}}`, `[{"a":{"b":null}},2]`,
	} {
		v := mustDecode([]byte(doc))
		got, _ := appendPruned(nil, v)
		if want := scim.AppendJSON(nil, prune(v)); string(got) != string(want) {
			t.Errorf("%s: %s, prune gives %s", doc, got, want)
		}
	}
}

func spoolErr(t *testing.T, sp *spool) {
	t.Helper()
	if err := sp.Err(); err != nil {
		t.Fatal(err)
	}
}

// The spool holds employee data: it is not left in the temporary
// directory (removed on creation where the system allows it, else on
// close).
func TestSpoolLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	sp, err := newSpool()
	if err != nil {
		t.Fatal(err)
	}
	sp.add([]byte("employee data"))
	if got := string(sp.read(sref{off: 1, n: 13})); got != "employee data" {
		t.Fatalf("read %q", got)
	}
	if runtime.GOOS != "windows" {
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("the open spool is in %s: %v", dir, left)
		}
	}
	if fi, err := sp.f.Stat(); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("spool mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if err := sp.close(); err != nil {
		t.Fatal(err)
	}
	// A plan used after Close says so; it never reads stale or no data
	// silently.
	if b := sp.read(sref{off: 1, n: 13}); b != nil || sp.Err() != errSpoolClosed || sp.close() != nil {
		t.Errorf("read after close: %q, %v", b, sp.Err())
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the spool is left in %s: %v", dir, left)
	}
}

// FuzzDecodeChanges: a damaged change record gives an error, never a panic,
// and what decodes encodes back to a record that decodes the same.
func FuzzDecodeChanges(f *testing.F) {
	f.Add(encodeChanges(nil, []Change{{Kind: '~', Path: "active", Old: scim.BoolValue(true), New: scim.BoolValue(false)}}))
	f.Add(encodeChanges(nil, []Change{{Kind: '+', Schema: "urn:x", Path: "urn:x:a", New: scim.Str("v")}}))
	f.Add([]byte{1, '+', 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{200, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := decodeChanges(data)
		if err != nil {
			return
		}
		var again []Change
		for _, c := range cs {
			again = append(again, Change{Kind: c.Kind, Schema: c.Schema, Path: c.Path, Old: mustDecode(c.Old), New: mustDecode(c.New)})
		}
		if _, err := decodeChanges(encodeChanges(nil, again)); err != nil {
			t.Fatalf("re-encoded record: %v", err)
		}
	})
}

// A spool that cannot be written (a full disk, here a closed file) fails
// with an error that every later use returns; nothing is read as empty.
func TestSpoolWriteError(t *testing.T) {
	sp, err := newSpool()
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	r := sp.add([]byte("first"))
	sp.f.Close()
	for range 100 {
		sp.add(make([]byte, 64<<10)) // past the buffer: written, and refused
	}
	if sp.Err() == nil {
		t.Fatal("no error after a failed write")
	}
	if b := sp.read(r); b != nil {
		t.Errorf("read %q after the spool failed", b)
	}
	p := &Plan{sp: sp}
	if err := p.Render(&strings.Builder{}, RenderOptions{}); err == nil {
		t.Error("Render of a plan whose spool failed gives no error")
	}
	if _, err := p.Save(t.TempDir(), SaveInfo{}); err == nil {
		t.Error("Save of a plan whose spool failed gives no error")
	}
}
