package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"scimigrate/batcher"
	"scimigrate/scim/scimpath"
)

func op(line int, emp string, refs ...string) batcher.Operation {
	u := map[string]any{"userName": emp + "@x.com",
		scimpath.EnterpriseUser: map[string]any{"employeeNumber": emp}}
	if len(refs) > 0 {
		var list []any
		for _, r := range refs {
			list = append(list, map[string]any{"approver": map[string]any{"employeeNumber": r}, "primary": true})
		}
		u[scimpath.SpendApprover] = map[string]any{"report": list}
	}
	data, _ := json.Marshal(u)
	src := batcher.Source{File: "in.txt", Line: line, Record: "305"}
	return batcher.Operation{BulkID: batcher.BulkID(src, 0), Method: "POST", Path: "/Users", EmployeeNumber: emp,
		UserName: emp + "@x.com", Data: data, Sources: []batcher.Source{src}}
}

func newJournal(t *testing.T, ops ...batcher.Operation) *Journal {
	t.Helper()
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	im, err := j.BeginImport(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range ops {
		if err := im.Add(&ops[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := im.Commit(batcher.Limits{}); err != nil {
		t.Fatal(err)
	}
	return j
}

func bulkIDs(ops []Op) []string {
	var out []string
	for _, o := range ops {
		out = append(out, o.BulkID)
	}
	return out
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	j := newJournal(t, op(1, "A"))
	fi, err := os.Stat(j.Path())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode().Perm(), err)
	}
	for _, side := range []string{"-wal", "-shm"} {
		if fi, err := os.Stat(j.Path() + side); err == nil && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s mode %v", side, fi.Mode().Perm())
		}
	}
	if _, err := OpenExisting(j.Path() + "x"); err == nil {
		t.Error("OpenExisting created a file")
	}
	h, ok, err := j.Imported()
	if err != nil || !ok || len(h) != 64 {
		t.Errorf("Imported = %q %v %v", h, ok, err)
	}
}

func TestImportOrdersAndSplits(t *testing.T) {
	ctx := context.Background()
	// C waits for B which waits for A; D and E reference each other.
	j := newJournal(t, op(1, "C", "B"), op(2, "B", "A"), op(3, "A"), op(4, "D", "E"), op(5, "E", "D"))
	ready, err := j.Ready(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(bulkIDs(ready)); got != "[in.txt-3 in.txt-4 in.txt-5]" {
		t.Fatalf("ready = %s", got)
	}
	for _, o := range ready[1:] {
		if !o.Split || len(batcher.Refs(o.Data)) != 0 {
			t.Errorf("%s should be split and free of references: %s", o.BulkID, o.Data)
		}
	}
	c, _ := j.Counts(ctx)
	if c.Ops != 5 || c.Derived != 2 || c.Ready != 3 || c.Waiting != 4 {
		t.Errorf("counts %+v", c)
	}
	// Send A; complete it; B becomes ready.
	id, err := j.Prepare(ctx, Prepared{Body: []byte(`{}`), Ops: []PreparedOp{{Seq: ready[0].Seq, Path: "/Users"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Accept(ctx, id, "prov-1"); err != nil {
		t.Fatal(err)
	}
	out := Outcome{BulkID: "in.txt-3", State: StateDone, Outcome: OutcomeSuccess, UUID: "u-A",
		Extensions: []Ext{{Name: scimpath.CoreUser, Result: "success", Success: true, HTTPCode: 200}}}
	for i := 0; i < 2; i++ { // recording twice is harmless
		if err := j.Record(ctx, id, []Outcome{out}); err != nil {
			t.Fatal(err)
		}
	}
	if lost, err := j.Complete(ctx, id); err != nil || lost != 0 {
		t.Fatalf("Complete = %d, %v", lost, err)
	}
	ready, _ = j.Ready(ctx, 0, 10)
	if got := fmt.Sprint(bulkIDs(ready)); got != "[in.txt-2 in.txt-4 in.txt-5]" {
		t.Fatalf("ready after A = %s", got)
	}
	c, _ = j.Counts(ctx)
	if c.Waiting != 3 || c.Done != 1 {
		t.Errorf("counts %+v", c)
	}
}

func TestFailedDependencyAndRefs(t *testing.T) {
	ctx := context.Background()
	j := newJournal(t, op(1, "A", "B"), op(2, "B", "A"), op(3, "C", "A"))
	ready, _ := j.Ready(ctx, 0, 10)
	if len(ready) != 2 {
		t.Fatalf("ready %v", bulkIDs(ready))
	}
	id, _ := j.Prepare(ctx, Prepared{Body: []byte(`{}`), Ops: []PreparedOp{{Seq: ready[0].Seq, Path: "/Users"}, {Seq: ready[1].Seq, Path: "/Users"}}})
	j.Record(ctx, id, []Outcome{
		{BulkID: "in.txt-1", State: StateFailed, Outcome: OutcomeFailed, HTTPCode: 409, MsgCode: "UNIQUENESS", Message: "taken"},
		{BulkID: "in.txt-2", State: StateDone, Outcome: OutcomeSuccess, UUID: "u-B"},
	})
	ready, _ = j.Ready(ctx, 0, 10)
	got := map[string]Op{}
	for _, o := range ready {
		got[o.BulkID] = o
	}
	if c := got["in.txt-3"]; fmt.Sprint(c.FailedDeps) != "[A]" {
		t.Errorf("C failed deps %v", c.FailedDeps)
	}
	if r := got["in.txt-2-refs"]; r.ParentUUID != "u-B" || fmt.Sprint(r.FailedDeps) != "[A]" || r.Kind != KindRefs {
		t.Errorf("B refs: %+v", r)
	}
	if r := got["in.txt-1-refs"]; r.ParentState != StateFailed {
		t.Errorf("A refs: %+v", r)
	}
	// Failing B's reference patch marks B partial.
	if err := j.Fail(ctx, got["in.txt-2-refs"].Seq, Outcome{State: StateFailed, Outcome: OutcomeFailed, HTTPCode: 424, MsgCode: "DEPENDENCY_FAILED", Message: "A failed"}); err != nil {
		t.Fatal(err)
	}
	var rows []Row
	j.Each(ctx, true, func(r Row) error { rows = append(rows, r); return nil })
	// C is still pending, which counts as a problem too.
	if len(rows) != 3 || rows[0].Outcome != OutcomeFailed || rows[1].Outcome != OutcomePartial || rows[1].Failed[0].Name != ExtReferences || rows[2].State != StatePending {
		t.Errorf("rows %+v", rows)
	}
}

func TestReconcileAndLost(t *testing.T) {
	ctx := context.Background()
	j := newJournal(t, op(1, "A"), op(2, "B"), op(3, "C"))
	ready, _ := j.Ready(ctx, 0, 10)
	var pops []PreparedOp
	for _, o := range ready {
		pops = append(pops, PreparedOp{Seq: o.Seq, Path: "/Users"})
	}
	id, _ := j.Prepare(ctx, Prepared{Body: []byte(`{"x":1}`), Ops: pops})
	j.Accept(ctx, id, "p")
	j.Record(ctx, id, []Outcome{{BulkID: "in.txt-1", State: StateDone, Outcome: OutcomeSuccess, UUID: "u-A"}})
	lost, _ := j.Complete(ctx, id)
	if lost != 2 {
		t.Fatalf("lost = %d", lost)
	}
	reqs, _ := j.Requests(ctx, ReqUnconfirmed)
	if len(reqs) != 1 || reqs[0].BodySHA256 == "" || reqs[0].ProvisionID != "p" {
		t.Fatalf("unconfirmed %+v", reqs)
	}
	sent, _ := j.RequestOps(ctx, id)
	// B was found: done, with a PATCH converging it queued; C goes back.
	requeued, err := j.ReconcileOutcomes(ctx, id, map[int64]Outcome{sent[0].Seq: {BulkID: sent[0].BulkID, State: StateDone,
		Outcome: OutcomeReconciled, UUID: "u-B", Retries: []NewOp{{Kind: KindConverge, BulkID: "in.txt-2-converge", Method: "PATCH",
			Path: "/Users/u-B", Data: []byte(`{"Operations":[]}`)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(requeued) != 1 || requeued[0] != sent[1].Seq {
		t.Errorf("requeued %v, want [%d]", requeued, sent[1].Seq)
	}
	ready, _ = j.Ready(ctx, 0, 10)
	if len(ready) != 2 || ready[0].BulkID != "in.txt-3" || !ready[0].Reconciled || ready[0].Attempts != 1 ||
		ready[1].Kind != KindConverge || ready[1].ParentUUID != "u-B" {
		t.Fatalf("ready after reconciling %+v", ready)
	}
	c, _ := j.Counts(ctx)
	if c.Outcomes[OutcomeReconciled] != 1 || c.Requests[ReqReconciled] != 1 {
		t.Errorf("counts %+v", c)
	}
	// The converging PATCH meets the failure the lost request met: B is
	// partial, not reconciled.
	conv := ready[1]
	id2, _ := j.Prepare(ctx, Prepared{Body: []byte(`{}`), Ops: []PreparedOp{{Seq: conv.Seq, Path: conv.Path}}})
	if err := j.Record(ctx, id2, []Outcome{{BulkID: conv.BulkID, State: StateDone, Outcome: OutcomePartial, UUID: "u-B",
		Extensions: []Ext{{Name: scimpath.SpendApprover, Result: "error", HTTPCode: 404, Messages: []Message{{Code: "INVALID_USER"}}}}}}); err != nil {
		t.Fatal(err)
	}
	c, _ = j.Counts(ctx)
	if c.Outcomes[OutcomeReconciled] != 0 || c.Outcomes[OutcomePartial] != 1 {
		t.Errorf("outcomes after a failed convergence %+v", c.Outcomes)
	}
}

func TestDuplicateBulkID(t *testing.T) {
	j, err := Open(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	im, _ := j.BeginImport(context.Background())
	a, b := op(1, "A"), op(1, "B")
	im.Add(&a)
	if err := im.Add(&b); err == nil {
		t.Fatal("duplicate bulkId accepted")
	}
	im.Rollback()
	if _, ok, _ := j.Imported(); ok {
		t.Error("rolled-back import visible")
	}
}

func TestHasher(t *testing.T) {
	a, b := op(1, "A"), op(2, "B")
	h1, h2, h3 := NewHasher(), NewHasher(), NewHasher()
	h1.Add(&a)
	h1.Add(&b)
	h2.Add(&a)
	h2.Add(&b)
	h3.Add(&b)
	h3.Add(&a)
	if h1.Sum() != h2.Sum() || h1.Sum() == h3.Sum() {
		t.Error("hash must be deterministic and order-sensitive")
	}
}

func TestOddFileNames(t *testing.T) {
	for _, name := range []string{"a b.db", "x#y.db", "q?z.db", "p%20.db"} {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		j, err := Open(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		j.SetMeta("k", "v")
		j.Close()
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if e.Name() != name && e.Name() != name+"-wal" && e.Name() != name+"-shm" && e.Name() != name+".lock" {
				t.Errorf("%s: stray file %q", name, e.Name())
			}
		}
		j, err = OpenExisting(path)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok, _ := j.Meta("k"); !ok || v != "v" {
			t.Errorf("%s: meta not kept", name)
		}
		j.Close()
	}
}

// TestScheduledRequests: --create-only operations are scheduled at import
// (batcher.Order); NextPlanned hands out the first scheduled request only
// once the creations it waits for are complete, in body order; a plan's
// operations (already scheduled) are imported as they are; scheduled and
// unscheduled operations do not mix.
func TestScheduledRequests(t *testing.T) {
	ctx := context.Background()
	j := newJournal(t, op(1, "A", "B"), op(2, "B", "A"), op(3, "C", "A"))
	ops, ready, err := j.NextPlanned(ctx)
	if err != nil || !ready || fmt.Sprint(bulkIDs(ops)) != "[in.txt-1 in.txt-2]" {
		t.Fatalf("first request %v ready %v err %v", bulkIDs(ops), ready, err)
	}
	var pops []PreparedOp
	for _, o := range ops {
		pops = append(pops, PreparedOp{Seq: o.Seq, Path: "/Users"})
	}
	id, _ := j.Prepare(ctx, Prepared{Body: []byte(`{}`), Ops: pops})
	ops, ready, _ = j.NextPlanned(ctx)
	if ready || fmt.Sprint(bulkIDs(ops)) != "[in.txt-3 in.txt-1-refs in.txt-2-refs]" {
		t.Fatalf("second request %v ready %v (want not ready: A and B not complete)", bulkIDs(ops), ready)
	}
	if ops[1].Path != batcher.ParentRef+"in.txt-1" || ops[1].Kind != KindRefs {
		t.Errorf("reference patch %+v", ops[1])
	}
	j.Record(ctx, id, []Outcome{{BulkID: "in.txt-1", State: StateDone, Outcome: OutcomeSuccess, UUID: "u-A"},
		{BulkID: "in.txt-2", State: StateDone, Outcome: OutcomeSuccess, UUID: "u-B"}})
	if ops, ready, _ = j.NextPlanned(ctx); !ready || len(ops) != 3 || ops[1].ParentUUID != "u-A" {
		t.Errorf("after A and B: %v ready %v", bulkIDs(ops), ready)
	}

	// The same operations scheduled by a plan import as they are.
	sched := []batcher.Operation{op(1, "A"), op(2, "B")}
	sched[0].Request, sched[1].Request = 1, 2
	pj := newJournal(t, sched...)
	if ops, ready, _ := pj.NextPlanned(ctx); !ready || fmt.Sprint(bulkIDs(ops)) != "[in.txt-1]" {
		t.Errorf("plan import: first request %v", bulkIDs(ops))
	}
	im, _ := pj.BeginImport(ctx)
	defer im.Rollback()
	if err := im.Add(&sched[0]); err != nil {
		t.Fatal(err)
	}
	plain := op(3, "C")
	if err := im.Add(&plain); err == nil {
		t.Error("an unscheduled operation was added to a scheduled import")
	}
}
