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
	var b []byte // one buffer, overwritten from document to document
	for _, s := range decodeCases {
		want, wok := decodeFast([]byte(s), nil)
		b = append(b[:0], s...)
		got, ok := sc.decode(b)
		if ok != wok || ok && !bytes.Equal(scim.AppendJSON(nil, got), scim.AppendJSON(nil, want)) {
			t.Errorf("%q: scratch %v %s, decodeFast %v %s", s, ok, scim.AppendJSON(nil, got), wok, scim.AppendJSON(nil, want))
		}
	}
}

// TestScratchWindow: users read through a scratch's window of the file
// (in file order: one read serves the following users) or alone (out of
// order) are the users load reads.
func TestScratchWindow(t *testing.T) {
	x, err := OpenSnapshot(filepath.Join(fixtureDir, "snapshot.ndjson"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	n := int32(x.Len())
	poisonScratch = false // a poisoned release drops the window
	defer func() { poisonScratch = true }()
	sc := new(scratch)
	order := []int32{}
	for i := int32(0); i < n; i++ {
		order = append(order, i)
	}
	for i := n - 1; i >= 0; i-- {
		order = append(order, i)
	}
	order = append(order, 0, 2, 4, 1, 3, 5)
	for k, i := range order {
		want, err := x.load(i)
		if err != nil {
			t.Fatal(err)
		}
		got, err := x.loadScratch(i, sc)
		if err != nil {
			t.Fatal(err)
		}
		if wj, gj := scim.AppendJSON(nil, want.Doc), scim.AppendJSON(nil, got.Doc); !bytes.Equal(wj, gj) || got.Line != want.Line {
			t.Fatalf("read %d (user %d): %s, want %s", k, i, gj, wj)
		}
		if k == int(n)-1 && sc.winOff != x.entries[1].off {
			t.Errorf("in file order, users 2..%d were read again (window at %d, user 2 at %d)", n, sc.winOff, x.entries[1].off)
		}
	}
}
