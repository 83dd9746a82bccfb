package journal

import (
	"context"
	"strings"
	"testing"
)

// TestErrorsNameOperationAndRequest: a failing journal write or read says
// which journal, and which operation or request it was about, not only what
// SQLite said.
func TestErrorsNameOperationAndRequest(t *testing.T) {
	ctx := context.Background()
	j := newJournal(t, op(1, "A"), op(2, "B"))
	ready, err := j.Ready(ctx, 0, 10)
	if err != nil || len(ready) != 2 {
		t.Fatalf("ready: %v %v", ready, err)
	}
	req, err := j.Prepare(ctx, Prepared{Body: []byte("{}"), Ops: []PreparedOp{{Seq: ready[0].Seq, Path: "/Users"}}})
	if err != nil {
		t.Fatal(err)
	}
	j.db.Close() // every statement now fails
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"accept", func() error { return j.Accept(ctx, req, "prov-1") }, "request 1"},
		{"unconfirm", func() error { return j.Unconfirm(ctx, req, "lost") }, "request 1"},
		{"record", func() error { return j.Record(ctx, req, []Outcome{{BulkID: ready[0].BulkID}}) }, "request 1"},
		{"complete", func() error { _, err := j.Complete(ctx, req); return err }, "request 1"},
		{"reject", func() error { return j.Reject(ctx, req, 400, "X", "y") }, "request 1"},
		{"reconcile", func() error { _, err := j.ReconcileOutcomes(ctx, req, nil); return err }, "request 1"},
		{"request operations", func() error { _, err := j.RequestOps(ctx, req); return err }, "request 1"},
		{"prepare", func() error {
			_, err := j.Prepare(ctx, Prepared{Ops: []PreparedOp{{Seq: ready[1].Seq}}})
			return err
		}, "operation 2"},
		{"fail", func() error { return j.Fail(ctx, ready[1].Seq, Outcome{BulkID: ready[1].BulkID}) }, ready[1].BulkID},
		{"get", func() error { _, err := j.Get(ctx, ready[1].Seq); return err }, "operation 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error from a closed database")
			}
			for _, w := range []string{j.Path(), tt.want, "database is closed"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
