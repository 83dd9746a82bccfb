package plan

import (
	"path/filepath"
	"reflect"
	"testing"
)

// TestStateRecord: creations set the applied entitlements, PATCHes apply
// their entitlement operations, an older run replayed changes nothing, and
// the file round-trips with mode 0600.
func TestStateRecord(t *testing.T) {
	s := NewState()
	steps := []struct {
		method, id, emp, data, at string
		want                      []string
	}{
		{"POST", "u1", "1001", `{"userName":"a@x.com","entitlements":["Travel","Expense"]}`, "2026-12-01T10:00:00Z", []string{"Expense", "Travel"}},
		{"PATCH", "u1", "1001", `{"Operations":[{"op":"add","path":"entitlements","value":["Invoice"]},{"op":"remove","path":"entitlements[value eq \"Travel\"]"}]}`, "2026-12-01T11:00:00Z", []string{"Expense", "Invoice"}},
		{"PATCH", "u1", "1001", `{"Operations":[{"op":"replace","path":"title","value":"T"}]}`, "2026-12-01T12:00:00Z", []string{"Expense", "Invoice"}},
		{"POST", "u1", "1001", `{"entitlements":["Travel"]}`, "2026-12-01T09:00:00Z", []string{"Expense", "Invoice"}}, // older run
	}
	for i, st := range steps {
		if err := s.Record(st.method, st.id, st.emp, []byte(st.data), st.at); err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		if got := s.Lookup("", st.emp); got == nil || !reflect.DeepEqual(got.Entitlements, st.want) {
			t.Fatalf("step %d: %+v, want %v", i+1, got, st.want)
		}
	}
	path := filepath.Join(t.TempDir(), "sub", StateFile)
	if err := s.Write(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadState(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Lookup("u1", ""); got == nil || !reflect.DeepEqual(got.Entitlements, []string{"Expense", "Invoice"}) {
		t.Errorf("read back %+v", got)
	}
	if _, err := ReadState(filepath.Join(t.TempDir(), "none.json"), true); err == nil {
		t.Error("a missing state given explicitly is not an error")
	}
}
