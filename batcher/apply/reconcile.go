package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"scimigrate/batcher"
	"scimigrate/batcher/client"
	"scimigrate/batcher/journal"
	"scimigrate/batcher/plan"
	"scimigrate/scim"
)

// GaveUpError ends a run that cannot make progress without sending blindly
// or waiting without bound: the service kept failing, or kept leaving
// requests without a confirmed outcome. Nothing is lost: operations without
// an outcome stay in the journal and the next run resumes them.
type GaveUpError struct {
	Journal    string
	Reason     string
	Unfinished int // input operations without an outcome
	Err        error
}

func (e *GaveUpError) Error() string {
	var b strings.Builder
	b.WriteString("stopped: ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	fmt.Fprintf(&b, "; %d operations have no outcome yet and are kept in the journal %s: run the same command again to resume once the service is healthy",
		e.Unfinished, e.Journal)
	return b.String()
}

func (e *GaveUpError) Unwrap() error { return e.Err }

// isUniqueness reports a creation refused because the user exists.
func isUniqueness(o *journal.Outcome) bool {
	if o.State != journal.StateFailed {
		return false
	}
	return o.HTTPCode == 409 || o.MsgCode == "UNIQUENESS" || strings.Contains(strings.ToLower(o.Message), "already exists") ||
		strings.Contains(strings.ToLower(o.Message), "already in use")
}

// resolveExisting turns creations the service refused because the user
// exists (409 UNIQUENESS) into convergence, whatever the operation's flags:
// the journal may be new (lost or reset) or the first request's outcome
// lost. The user is looked up by employeeNumber; when exactly one is found
// the creation is done (reconciled) and a PATCH with the difference between
// its live state and what the creation carried is queued. outs[i] is
// page[i]'s outcome and is replaced in place.
func (e *engine) resolveExisting(ctx context.Context, page []*journal.Op, outs []journal.Outcome) error {
	var idx []int
	var nums []string
	for i, op := range page {
		if op.Kind == journal.KindOp && op.Method == "POST" && isUniqueness(&outs[i]) {
			idx = append(idx, i)
			nums = append(nums, op.EmployeeNumber)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	users, err := e.lookup(ctx, nums)
	if err != nil {
		return fmt.Errorf("looking up employees refused as existing: %w", err)
	}
	converged, patched, first := 0, 0, -1
	for _, i := range idx {
		op := page[i]
		found := users[op.EmployeeNumber]
		if len(found) != 1 {
			// Not ours (userName taken by another employee) or ambiguous:
			// the refusal stands.
			if len(found) > 1 {
				outs[i].Message += fmt.Sprintf(" (%d users have employeeNumber %s; not guessing which)", len(found), op.EmployeeNumber)
			}
			continue
		}
		out, err := e.convergeTo(ctx, op, found[0].ID, false, "the employee already existed (409); converged to the input")
		if client.StatusCodeOf(err) == http.StatusNotFound {
			continue // gone since the lookup: the refusal stands
		}
		if err != nil {
			return err
		}
		outs[i] = out
		if first < 0 {
			first = i
		}
		converged++
		if len(out.Retries) > 0 {
			patched++
		}
	}
	if converged > 0 {
		e.o.Logf("%d creations refused because the employee exists (e.g. %s, operation %s): converged to the input, %d of them needed a PATCH with the difference",
			converged, page[first].EmployeeNumber, page[first].BulkID, patched)
	}
	return nil
}

// convergeTo reads user id's live state and returns the outcome of op, a
// creation of that user: done (reconciled), with a KindConverge PATCH queued
// when the live state lacks something the creation carried. The PATCH's
// outcome (e.g. INVALID_USER on the Approver extension) is recorded on op,
// so a failure the lost request met is reported again with its code.
//
// created says the user was created by op itself (a lost request): then
// what the target does not list (entitlements, on a target whose identity
// answer omits them) came with the identity and is not sent again. A user
// that existed before (409) gets them added: an add of a held entitlement
// changes nothing.
func (e *engine) convergeTo(ctx context.Context, op *journal.Op, id string, created bool, why string) (journal.Outcome, error) {
	out := journal.Outcome{BulkID: op.BulkID, State: journal.StateDone, Outcome: journal.OutcomeReconciled, UUID: id, Message: why}
	spend, travel := profilesOf(op.Data)
	lu, err := e.c.ReadUser(ctx, id, spend, travel)
	if err != nil {
		return out, fmt.Errorf("reading employee %s (%s) to converge operation %s: %w", op.EmployeeNumber, id, op.BulkID, err)
	}
	cur, err := liveDoc(lu)
	if err != nil {
		return out, fmt.Errorf("employee %s (%s): %w", op.EmployeeNumber, id, err)
	}
	data := op.Data
	if len(op.FailedDeps) > 0 {
		// As sent: without the references to employees whose creation failed.
		if ident, _, err := batcher.SplitReferences(op.Data); err == nil {
			data = ident
		}
	}
	des, err := scim.Decode(data)
	if err != nil {
		return out, fmt.Errorf("operation %s: %w", op.BulkID, err)
	}
	patch := plan.Converge(cur, des)
	if _, listed := cur.Obj.Get("entitlements"); created && !listed {
		kept := patch[:0]
		for _, p := range patch {
			if name, _, _ := strings.Cut(p.Path, "["); !strings.EqualFold(name, "entitlements") {
				kept = append(kept, p)
			}
		}
		patch = kept
	}
	if len(patch) == 0 {
		return out, nil
	}
	out.Retries = []journal.NewOp{{Kind: journal.KindConverge, BulkID: op.BulkID + "-converge", Method: "PATCH",
		Path: "/Users/" + id, Data: scim.AppendPatchOp(nil, patch)}}
	return out, nil
}

// reconcile settles requests whose outcome is unknown. It first waits
// (bounded by Settle) until the service has settled what it may have
// accepted: every creation of the lost requests is found, or the time is
// up. Creations found are converged (convergeTo): read, re-planned against
// the input, only the difference sent. Everything else is queued again —
// at most MaxBlindSends times per operation and run, after which the run
// stops with a *GaveUpError rather than re-send without end.
func (e *engine) reconcile(ctx context.Context, reqs []journal.Request) error {
	type lostReq struct {
		r   journal.Request
		ops []journal.Op
	}
	var (
		lost    []lostReq
		nums    []string
		patches []*journal.Op
	)
	for _, r := range reqs {
		ops, err := e.j.RequestOps(ctx, r.ID)
		if err != nil {
			return err
		}
		for i := range ops {
			switch op := &ops[i]; {
			case op.Kind == journal.KindOp && op.Method == "POST":
				nums = append(nums, op.EmployeeNumber)
			case op.Method == "PATCH":
				patches = append(patches, op)
			}
		}
		lost = append(lost, lostReq{r, ops})
	}
	users, applied, err := e.settle(ctx, nums, patches)
	if err != nil {
		return fmt.Errorf("reconciling requests whose outcome was lost: %w", err)
	}
	for _, l := range lost {
		outs := map[int64]journal.Outcome{}
		for i := range l.ops {
			op := &l.ops[i]
			if out, ok := applied[op.Seq]; ok {
				outs[op.Seq] = out
				continue
			}
			if op.Kind != journal.KindOp || op.Method != "POST" {
				continue
			}
			found := users[op.EmployeeNumber]
			switch len(found) {
			case 0:
				continue
			case 1:
			default:
				outs[op.Seq] = journal.Outcome{BulkID: op.BulkID, State: journal.StateFailed, Outcome: journal.OutcomeFailed,
					MsgCode: "AMBIGUOUS", Message: fmt.Sprintf("request outcome lost, and %d users have employeeNumber %s; not guessing which", len(found), op.EmployeeNumber)}
				continue
			}
			out, err := e.convergeTo(ctx, op, found[0].ID, true, "request outcome lost; the employee was found and converged to the input")
			if client.StatusCodeOf(err) == http.StatusNotFound {
				continue // gone since the lookup: sent again
			}
			if err != nil {
				return fmt.Errorf("reconciling request %d: %w", l.r.ID, err)
			}
			outs[op.Seq] = out
		}
		requeued, err := e.j.ReconcileOutcomes(ctx, l.r.ID, outs)
		if err != nil {
			return err
		}
		e.o.Logf("request %d reconciled: %d of %d operations found applied, %d queued again", l.r.ID, len(outs), len(l.ops), len(requeued))
		for i := range l.ops {
			if o, ok := outs[l.ops[i].Seq]; ok && l.ops[i].Kind == journal.KindOp {
				e.o.Progress.Completed(1, o.State == journal.StateFailed)
			}
		}
		for _, s := range requeued {
			e.blind[s]++
			if e.blind[s] >= e.o.MaxBlindSends {
				op, gerr := e.j.Get(ctx, s)
				what := fmt.Sprintf("operation %d", s)
				if gerr == nil {
					o := op.Operation()
					what = fmt.Sprintf("operation %s (employee %s, from %s)", o.BulkID, o.EmployeeNumber, o.SourceString())
				}
				return &GaveUpError{Reason: fmt.Sprintf("%s was in %d Bulk requests without a confirmed outcome (last: %s); not sending it again blindly",
					what, e.blind[s], l.r.Error)}
			}
		}
	}
	return nil
}

// patchApplied reports whether a PATCH of a lost request is applied
// already: applying it to the user's live state changes nothing. Then its
// outcome is done (reconciled); otherwise (or when that cannot be told) it
// is sent again.
func (e *engine) patchApplied(ctx context.Context, op *journal.Op) (journal.Outcome, bool, error) {
	// The path the PATCH was sent to: a reference patch names its creation
	// by bulkId in the journal and by its id on the wire (effective).
	eff, _, blocked := effective(op)
	if blocked != nil {
		return journal.Outcome{}, false, nil
	}
	id, ok := strings.CutPrefix(eff.Path, "/Users/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return journal.Outcome{}, false, nil
	}
	spend, travel := profilesOf(op.Data)
	lu, err := e.c.ReadUser(ctx, id, spend, travel)
	if client.StatusCodeOf(err) == http.StatusNotFound {
		return journal.Outcome{}, false, nil // sent again: the service reports why
	}
	if err != nil {
		return journal.Outcome{}, false, fmt.Errorf("reading user %s to check operation %s: %w", id, op.BulkID, err)
	}
	cur, err := liveDoc(lu)
	if err != nil {
		return journal.Outcome{}, false, nil
	}
	ops, err := scim.DecodePatchOp(op.Data)
	if err != nil {
		return journal.Outcome{}, false, nil
	}
	after, err := scim.ApplyPatch(cur, ops)
	if err != nil {
		return journal.Outcome{}, false, nil
	}
	// Applied when it changes nothing; or, for a PATCH that removes
	// nothing, when the user holds everything it sets: the service adds
	// to a reference it stores (an approver's id and display name), so
	// setting it again would drop what the service added, not change what
	// the PATCH asked for.
	if !scim.Equal(after, cur) && (removes(ops) || !plan.Holds(cur, after)) {
		return journal.Outcome{}, false, nil
	}
	out := journal.Outcome{BulkID: op.BulkID, State: journal.StateDone, Outcome: journal.OutcomeSuccess, UUID: id,
		Message: "request outcome lost; the user already holds what the PATCH sets"}
	if op.Kind == journal.KindOp {
		out.Outcome = journal.OutcomeReconciled
	}
	return out, true, nil
}

func removes(ops []scim.PatchOperation) bool {
	for _, op := range ops {
		if strings.EqualFold(op.Op, "remove") {
			return true
		}
	}
	return false
}

// profilesOf reports whether an operation's data (a User or a PatchOp)
// touches spend or travel extensions: only those profiles are read back.
func profilesOf(data []byte) (spend, travel bool) {
	low := bytes.ToLower(data)
	return bytes.Contains(low, []byte(":extension:spend:")), bytes.Contains(low, []byte(":extension:travel:"))
}

// liveDoc merges a user's identity and profiles into one document.
func liveDoc(lu *client.LiveUser) (scim.Value, error) {
	cur, err := scim.Decode(lu.Identity)
	if err != nil {
		return cur, fmt.Errorf("the identity read back is not valid JSON: %w", err)
	}
	var profiles []scim.Value
	for _, raw := range [][]byte{lu.Spend, lu.Travel} {
		if len(raw) == 0 {
			continue
		}
		v, err := scim.Decode(raw)
		if err != nil {
			return cur, fmt.Errorf("a profile read back is not valid JSON: %w", err)
		}
		profiles = append(profiles, v)
	}
	return plan.MergeProfiles(cur, profiles...), nil
}

// settle waits until the service has settled what it may have accepted of
// the lost requests: it looks the employees of lost creations up, and
// checks whether lost PATCHes are applied (patchApplied), until everything
// is found or Settle has passed since it started, waiting ReconcileDelay
// first and then doubling up to MaxPollInterval. The service finishes what
// it accepted asynchronously: looking too early re-sends work that was in
// fact applied.
func (e *engine) settle(ctx context.Context, nums []string, patches []*journal.Op) (map[string][]client.User, map[int64]journal.Outcome, error) {
	applied := map[int64]journal.Outcome{}
	if len(nums) == 0 && len(patches) == 0 {
		return nil, applied, nil
	}
	users := map[string][]client.User{}
	wait := e.o.ReconcileDelay
	deadline := e.o.Clock.Now().Add(e.o.Settle)
	for n := 1; ; n++ {
		if err := e.o.Clock.Sleep(ctx, wait); err != nil {
			return nil, nil, err
		}
		var todo []string // only those not found yet
		for _, num := range nums {
			if len(users[num]) == 0 {
				todo = append(todo, num)
			}
		}
		found, err := e.lookup(ctx, todo)
		if err != nil {
			return nil, nil, err
		}
		missing := 0
		for _, num := range todo {
			if u := found[num]; len(u) > 0 {
				users[num] = u
			} else {
				missing++
			}
		}
		for _, op := range patches {
			if _, ok := applied[op.Seq]; ok {
				continue
			}
			out, ok, err := e.patchApplied(ctx, op)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				applied[op.Seq] = out
			} else {
				missing++
			}
		}
		total := len(nums) + len(patches)
		if missing == 0 || !e.o.Clock.Now().Before(deadline) {
			if missing > 0 {
				e.o.Logf("after waiting %s for the service to settle, %d of %d operations of requests whose outcome was lost are not found applied; they will be sent again",
					e.o.Settle, missing, total)
			}
			return users, applied, nil
		}
		if n == 1 {
			e.o.Logf("%d of %d operations of requests whose outcome was lost are not found applied yet; waiting up to %s for the service to settle",
				missing, total, e.o.Settle)
		}
		wait = min(max(wait*2, e.o.PollInterval), e.o.MaxPollInterval)
	}
}

// gaveUp completes a fatal run error with what the operator needs: what
// stays in the journal, and that running again resumes it.
func gaveUp(err error, journalPath string, s *Summary) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, journal.ErrLocked) || errors.Is(err, ErrJournalMismatch) {
		return err
	}
	var g *GaveUpError
	if !errors.As(err, &g) {
		g = &GaveUpError{Reason: "the run cannot go on", Err: err}
	}
	g.Journal = journalPath
	if s != nil {
		g.Unfinished = s.Unfinished
	}
	return g
}
