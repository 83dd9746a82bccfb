package plan

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"scimigrate/scim"
)

// The tests run with poisoned scratches: a plan that keeps any part of a
// document loaded into a scratch (TestStreamMatchesMake, the golden
// stream tests) shows garbage and fails.
func init() { poisonScratch = true }

// TestScratchPoison: release overwrites what was loaded into a scratch (so
// the poison above would show a kept document), and a reused scratch
// loads the next user whole.
func TestScratchPoison(t *testing.T) {
	x, err := OpenSnapshot(filepath.Join(fixtureDir, "snapshot.ndjson"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if x.Len() < 2 {
		t.Fatalf("%d users in the fixture snapshot", x.Len())
	}
	for i := int32(0); int(i) < x.Len(); i++ {
		want, err := x.load(i)
		if err != nil {
			t.Fatal(err)
		}
		sc := getScratch()
		got, err := x.loadScratch(i, sc)
		if err != nil {
			t.Fatal(err)
		}
		wj, gj := scim.AppendJSON(nil, want.Doc), scim.AppendJSON(nil, got.Doc)
		if !bytes.Equal(wj, gj) || got.ID != want.ID || got.EmployeeNumber != want.EmployeeNumber || got.Line != want.Line {
			t.Fatalf("user %d: scratch load %s, want %s", i, gj, wj)
		}
		id := got.ID
		sc.release()
		if id == want.ID || !strings.Contains(id, "#") {
			t.Fatalf("user %d: the released scratch still holds id %q", i, id)
		}
	}
}

// TestScratchDecodeAgrees: a scratch reused from document to document
// decodes each as decodeFast does.
func TestScratchDecodeAgrees(t *testing.T) {
	sc := getScratch()
	defer sc.release()
	for _, s := range decodeCases {
		want, wok := decodeFast([]byte(s), nil)
		b := sc.line(len(s))
		copy(b, s)
		got, ok := sc.decode(b)
		if ok != wok || ok && !bytes.Equal(scim.AppendJSON(nil, got), scim.AppendJSON(nil, want)) {
			t.Errorf("%q: scratch %v %s, decodeFast %v %s", s, ok, scim.AppendJSON(nil, got), wok, scim.AppendJSON(nil, want))
		}
	}
}
