package plan

import (
	"bytes"
	"context"
	"testing"
)

// TestExportStreamsWhatSnapshotReads: Export writes, page by page (pages
// of 2 users here) and chunk by chunk, exactly the snapshot that Snapshot
// reads and Write writes, for the whole company and for the wanted
// employees.
func TestExportStreamsWhatSnapshotReads(t *testing.T) {
	t.Chdir(fixtureDir)
	ctx := context.Background()
	s := newSim(t)
	b, err := build(t, planCases[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	wants := b.d.Wants()
	for _, all := range []bool{true, false} {
		l := simLive(s)
		l.PageSize = 2
		snap, err := l.Snapshot(ctx, wants, all, all)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := snap.Write(&want); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		le := simLive(s)
		le.PageSize = 2
		n, err := le.exportPaged(ctx, wants, all, true, &got, 2)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(snap.Users) || n < 2 || got.String() != want.String() {
			t.Errorf("all=%v: Export wrote %d users\n%s\nSnapshot has %d\n%s", all, n, got.String(), len(snap.Users), want.String())
		}
		// What a plan reads: profiles of the wanted employees only.
		snap, err = simLive(s).Snapshot(ctx, wants[:1], all, false)
		if err != nil {
			t.Fatal(err)
		}
		want.Reset()
		snap.Write(&want)
		got.Reset()
		if _, err := le.exportPaged(ctx, wants[:1], all, false, &got, 2); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("all=%v, plan state: Export wrote\n%s\nSnapshot has\n%s", all, got.String(), want.String())
		}
	}
}
