package journal

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"scimigrate/batcher"
)

// TestEventsOfTheCurrentImport: events are read back in time order, and
// those recorded before the current import (an earlier input in the same
// file) are not.
func TestEventsOfTheCurrentImport(t *testing.T) {
	ctx := context.Background()
	j, err := Open(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	t0 := time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)
	now := t0
	j.now = func() time.Time { return now }
	if err := j.RecordEvent(ctx, Event{Kind: EventRunStart, Detail: "earlier input"}); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(time.Minute)
	im, err := j.BeginImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o := op(2, "E1")
	if err := im.Add(&o); err != nil {
		t.Fatal(err)
	}
	if err := im.Commit(batcher.Limits{}); err != nil {
		t.Fatal(err)
	}
	// Recorded out of order, and within one second of the import (sub-second
	// stamps must still compare as times).
	recs := []Event{
		{At: t0.Add(time.Minute + 2*time.Second), Kind: EventAttempt, Call: "bulk", Method: "POST", Attempt: 2, HTTPCode: 202},
		{At: t0.Add(time.Minute + 120*time.Millisecond), Kind: EventRunStart, Detail: "new"},
		{At: t0.Add(time.Minute + 1100*time.Millisecond), Kind: EventAttempt, Call: "bulk", Method: "POST", Attempt: 1, HTTPCode: 429, RetryAfter: 3 * time.Second},
		{At: t0.Add(time.Minute + 3*time.Second), Kind: EventRunEnd, Detail: "fatal: HTTP 401"},
	}
	for _, e := range recs {
		if err := j.RecordEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	var got []Event
	if err := j.EachEvent(ctx, func(e Event) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []Event{recs[1], recs[2], recs[0], recs[3]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n got %+v\nwant %+v", got, want)
	}
}

func TestRunInfoRoundTrip(t *testing.T) {
	j := newJournal(t, op(2, "E1"))
	if _, ok, err := j.RunInfo(); ok || err != nil {
		t.Fatalf("fresh journal has run info: %v %v", ok, err)
	}
	ri := RunInfo{Tool: "scimigrate test", CompanyID: "c0ffee", Inputs: []InputHash{{File: "a.txt", SHA256: "ab12", Bytes: 9}}}
	if err := j.SetRunInfo(ri); err != nil {
		t.Fatal(err)
	}
	got, ok, err := j.RunInfo()
	if !ok || err != nil || !reflect.DeepEqual(got, ri) {
		t.Errorf("RunInfo() = %+v %v %v", got, ok, err)
	}
}

// TestAttributeChanges counts the PATCH operations touching each attribute
// (by path, or by the attributes of a path-less value), once per operation.
func TestAttributeChanges(t *testing.T) {
	patch := func(line int, emp, body string) batcher.Operation {
		src := batcher.Source{File: "in.txt", Line: line, Record: "305"}
		return batcher.Operation{BulkID: batcher.BulkID(src, 0), Method: "PATCH", Path: "/Users/u-" + emp, EmployeeNumber: emp,
			Data: []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + body + `]}`), Sources: []batcher.Source{src}}
	}
	j := newJournal(t,
		op(2, "E1"),
		patch(3, "E2", `{"op":"replace","path":"name.givenName","value":"A"},{"op":"replace","path":"name.givenName","value":"B"}`),
		patch(4, "E3", `{"op":"replace","path":"name.givenName","value":"C"},{"op":"remove","path":"title"}`),
		patch(5, "E4", `{"op":"replace","value":{"active":false,"title":"x"}}`),
	)
	if _, err := j.db.Exec(`UPDATE ops SET outcome = 'failed' WHERE employee_number = 'E3'`); err != nil {
		t.Fatal(err)
	}
	got, err := j.AttributeChanges(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []AttributeChange{{"active", "", 1}, {"name.givenName", "", 1}, {"name.givenName", "failed", 1}, {"title", "", 1}, {"title", "failed", 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("AttributeChanges:\n got %v\nwant %v", got, want)
	}
}
