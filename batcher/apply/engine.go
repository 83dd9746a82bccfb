package apply

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"scimigrate/batcher"
	"scimigrate/batcher/client"
	"scimigrate/batcher/journal"
)

type engine struct {
	j   *journal.Journal
	c   *client.Client
	o   Options
	lim batcher.Limits

	cancel  context.CancelFunc // stops pollers and sends once the run is failing
	events  chan event
	sending int            // requests between Prepare and the service's answer
	polling map[int64]bool // accepted requests being tracked
	resend  []prepared     // requests prepared by a 413 split, to send first
	blind   map[int64]int  // operations queued again after a lost outcome, this run
	wg      sync.WaitGroup
	fatal   error
}

type prepared struct {
	id   int64
	body []byte
}

type event struct {
	req      int64
	accepted bool       // the send got its 202; polling goes on
	polled   bool       // polling ended
	split    []prepared // a 413 split produced these requests
	err      error      // fatal
}

func newEngine(j *journal.Journal, c *client.Client, o Options) *engine {
	return &engine{j: j, c: c, o: o, lim: batcher.NewBuilder(o.Limits).Limits(),
		events: make(chan event, 16), polling: map[int64]bool{}, blind: map[int64]int{}}
}

func (e *engine) run(ctx context.Context) error {
	ctx, e.cancel = context.WithCancel(ctx)
	defer func() {
		e.cancel()
		e.wg.Wait()
	}()
	// A request still "prepared" may or may not have reached the service.
	stale, err := e.j.Requests(ctx, journal.ReqPrepared)
	if err != nil {
		return err
	}
	for _, r := range stale {
		e.o.Logf("request %d was prepared but its sending was not confirmed; reconciling it", r.ID)
		if err := e.j.Unconfirm(ctx, r.ID, "prepared when the previous run stopped; may have been sent"); err != nil {
			return err
		}
	}
	counts, err := e.j.Counts(ctx)
	if err != nil {
		return err
	}
	e.o.Progress.Start(counts.Ops, finishedOps(counts))
	defer e.o.Progress.Finish()
	accepted, err := e.j.Requests(ctx, journal.ReqAccepted)
	if err != nil {
		return err
	}
	for _, r := range accepted {
		e.startPoll(ctx, r.ID, r.ProvisionID)
	}
	for {
		if e.fatal == nil && ctx.Err() != nil {
			e.fatal = ctx.Err()
		}
		if e.fatal == nil {
			if err := e.step(ctx); err != nil {
				e.fail(err)
			}
		}
		if e.sending == 0 && len(e.polling) == 0 {
			if e.fatal != nil {
				return e.fatal
			}
			done, err := e.finished(ctx)
			if err != nil {
				return err
			}
			if done {
				return nil
			}
			continue
		}
		ev := <-e.events
		e.handle(ev)
	}
}

// finishedOps counts the input operations that already have an outcome.
func finishedOps(c journal.Counts) int {
	n := 0
	for _, k := range c.Outcomes {
		n += k
	}
	return n
}

// step reconciles, then fills the free send slots.
func (e *engine) step(ctx context.Context) error {
	unconf, err := e.j.Requests(ctx, journal.ReqUnconfirmed)
	if err != nil {
		return err
	}
	if len(unconf) > 0 {
		// Reconcile before anything else is sent, once no send is in flight.
		if e.sending > 0 {
			return nil
		}
		return e.reconcile(ctx, unconf)
	}
	for e.sending < e.o.Concurrency && len(e.resend) > 0 {
		p := e.resend[0]
		e.resend = e.resend[1:]
		e.startSend(ctx, p)
	}
	for e.sending < e.o.Concurrency {
		progressed, err := e.dispatch(ctx)
		if err != nil {
			return err
		}
		if !progressed {
			break
		}
	}
	return nil
}

// finished is called when nothing is in flight: it reports whether the run
// is over, failing operations that can no longer be released.
func (e *engine) finished(ctx context.Context) (bool, error) {
	unconf, err := e.j.Requests(ctx, journal.ReqUnconfirmed)
	if err != nil || len(unconf) > 0 {
		return false, err
	}
	if len(e.resend) > 0 {
		return false, nil
	}
	ready, err := e.j.ReadyUnscheduled(ctx, 0, 1)
	if err != nil || len(ready) > 0 {
		return false, err
	}
	if planned, free, err := e.j.NextPlanned(ctx); err != nil || len(planned) > 0 && free {
		return false, err
	}
	waiting, err := e.j.HasWaiting(ctx)
	if err != nil || !waiting {
		return !waiting, err
	}
	n, err := e.j.FailWaiting(ctx)
	if err == nil {
		e.o.Logf("%d operations waited for creations that never completed; marked failed", n)
	}
	return false, err
}

func (e *engine) handle(ev event) {
	switch {
	case ev.accepted:
		e.sending--
		e.polling[ev.req] = true
		return
	case ev.polled:
		delete(e.polling, ev.req)
	default:
		e.sending--
	}
	e.resend = append(e.resend, ev.split...)
	if ev.err != nil && !errors.Is(ev.err, context.Canceled) {
		e.fail(ev.err)
	}
}

// fail records the first fatal error and stops the work in flight: sends
// not yet answered become unconfirmed, polling resumes on the next run.
func (e *engine) fail(err error) {
	if e.fatal == nil {
		e.fatal = err
		e.cancel()
	}
}

// dispatch starts sending the next request: the next scheduled request
// once every creation it waits for has completed, else one packed from the
// ready operations outside the schedule. It reports whether it made
// progress.
func (e *engine) dispatch(ctx context.Context) (bool, error) {
	planned, ready, err := e.j.NextPlanned(ctx)
	if err != nil {
		return false, err
	}
	if len(planned) > 0 && ready {
		return e.dispatchPlanned(ctx, planned)
	}
	return e.dispatchReady(ctx)
}

// dispatchPlanned sends a scheduled request: its operations encoded in
// their order, which gives the body the schedule (and a saved plan) holds,
// except that a reference patch's path names the id its creation got.
// Operations that cannot be sent as scheduled (a dependency failed) are
// failed or reduced as effective says.
func (e *engine) dispatchPlanned(ctx context.Context, ops []journal.Op) (bool, error) {
	b := batcher.NewBuilder(e.lim)
	var (
		p       journal.Prepared
		unplan  []int64
		settled bool
	)
	for i := range ops {
		op := &ops[i]
		eff, pop, fail := effective(op)
		if fail == nil {
			enc, err := batcher.EncodeOperation(&eff)
			switch {
			case err != nil:
				fail = &journal.Outcome{MsgCode: "INVALID_OPERATION", Message: err.Error()}
			case b.AddSized(len(p.Ops), enc, batcher.WireSize(&eff, enc)):
				p.Ops = append(p.Ops, pop)
				continue
			default:
				unplan = append(unplan, op.Seq) // grew past the limits: sent on its own later
				continue
			}
		}
		if err := e.failUnsent(ctx, op, fail); err != nil {
			return false, err
		}
		settled = true
	}
	if len(unplan) > 0 {
		if err := e.j.Unplan(ctx, unplan...); err != nil {
			return false, err
		}
		settled = true
	}
	if b.Len() == 0 {
		return settled, nil
	}
	if err := e.sendBuilt(ctx, b, p); err != nil {
		return false, err
	}
	return true, nil
}

// dispatchReady packs a request from the ready operations outside the
// schedule (extension retries, operations queued again) and starts sending
// it.
func (e *engine) dispatchReady(ctx context.Context) (bool, error) {
	cands, err := e.j.ReadyUnscheduled(ctx, 0, e.lim.MaxOps*3)
	if err != nil || len(cands) == 0 {
		return false, err
	}
	b := batcher.NewBuilder(e.lim)
	var (
		p          journal.Prepared
		progressed bool
		skipped    bool
	)
loop:
	for i := range cands {
		op := &cands[i]
		eff, pop, fail := effective(op)
		if fail == nil {
			enc, err := batcher.EncodeOperation(&eff)
			switch {
			case err != nil:
				fail = &journal.Outcome{MsgCode: "INVALID_OPERATION", Message: err.Error()}
			case b.Solo(enc) > e.lim.MaxBytes:
				oe := &batcher.OversizeError{BulkID: op.BulkID, Source: eff.SourceString(), Size: b.Solo(enc), Limit: e.lim.MaxBytes}
				fail = &journal.Outcome{HTTPCode: http.StatusRequestEntityTooLarge, MsgCode: "PAYLOAD_TOO_LARGE", Message: oe.Error()}
			case b.AddSized(len(p.Ops), enc, batcher.WireSize(&eff, enc)):
				p.Ops = append(p.Ops, pop)
				continue
			default:
				skipped = true
				if b.Len() >= e.lim.MaxOps {
					break loop
				}
				continue
			}
		}
		if err := e.failUnsent(ctx, op, fail); err != nil {
			return false, err
		}
		progressed = true
	}
	if b.Len() == 0 {
		return progressed, nil
	}
	if !skipped && b.Len() < e.lim.MaxOps && (e.sending > 0 || len(e.polling) > 0) {
		// A partial request waits while creations in flight may release
		// more operations, unless nothing waits for them.
		waiting, err := e.j.HasWaiting(ctx)
		if err != nil {
			return false, err
		}
		if waiting {
			return progressed, nil
		}
	}
	if err := e.sendBuilt(ctx, b, p); err != nil {
		return false, err
	}
	return true, nil
}

// effective turns a journal operation into what is sent now. fail is set for
// an operation that cannot be sent.
// sendBuilt finishes the request b built, records it in the journal before it
// leaves, and starts sending it.
func (e *engine) sendBuilt(ctx context.Context, b *batcher.Builder, p journal.Prepared) error {
	req := b.Finish()
	p.Body = req.Body
	id, err := e.j.Prepare(ctx, p)
	if err != nil {
		return err
	}
	e.startSend(ctx, prepared{id: id, body: req.Body})
	return nil
}

// failUnsent records an operation that cannot be sent (it does not encode,
// or is too large alone) as failed, with its reason.
func (e *engine) failUnsent(ctx context.Context, op *journal.Op, fail *journal.Outcome) error {
	fail.BulkID, fail.State, fail.Outcome = op.BulkID, journal.StateFailed, journal.OutcomeFailed
	e.o.Logf("operation %s not sent: %s", op.BulkID, fail.Message)
	if err := e.j.Fail(ctx, op.Seq, *fail); err != nil {
		return err
	}
	if op.Kind == journal.KindOp {
		e.o.Progress.Completed(1, true)
	}
	return nil
}

func effective(op *journal.Op) (batcher.Operation, journal.PreparedOp, *journal.Outcome) {
	eff := op.Operation()
	pop := journal.PreparedOp{Seq: op.Seq, Path: op.Path}
	switch op.Kind {
	case journal.KindRefs:
		switch {
		case op.ParentState == journal.StateFailed:
			return eff, pop, &journal.Outcome{HTTPCode: 424, MsgCode: "DEPENDENCY_FAILED",
				Message: "the employee's creation failed; its references were not added"}
		case len(op.FailedDeps) > 0:
			return eff, pop, &journal.Outcome{HTTPCode: 424, MsgCode: "DEPENDENCY_FAILED",
				Message: fmt.Sprintf("references employees %s whose creation failed in this run; references not added", strings.Join(op.FailedDeps, ", "))}
		case op.ParentUUID == "":
			return eff, pop, &journal.Outcome{MsgCode: "NO_UUID", Message: "the employee's Concur UUID is unknown; references not added"}
		}
		eff.Path = "/Users/" + op.ParentUUID
		pop.Path = eff.Path
	case journal.KindOp:
		if op.Method == "POST" && len(op.FailedDeps) > 0 {
			ident, _, err := batcher.SplitReferences(op.Data)
			if err != nil {
				return eff, pop, &journal.Outcome{MsgCode: "INVALID_OPERATION", Message: err.Error()}
			}
			eff.Data = ident
			pop.DependencyNote = fmt.Sprintf("references employees %s whose creation failed in this run; approvers, delegates and managers were not sent",
				strings.Join(op.FailedDeps, ", "))
		}
	}
	return eff, pop, nil
}

func (e *engine) startSend(ctx context.Context, p prepared) {
	e.sending++
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.events <- e.send(ctx, p)
	}()
}

func (e *engine) startPoll(ctx context.Context, id int64, provisionID string) {
	e.polling[id] = true
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		err := e.poll(ctx, id, provisionID)
		e.events <- event{req: id, polled: true, err: err}
	}()
}

// send posts one prepared request. On a 202 it records the provisionId,
// tells the coordinator and goes on polling.
func (e *engine) send(ctx context.Context, p prepared) event {
	e.o.hook("prepared")
	ps, err := e.c.PostBulk(ctx, p.body)
	if err == nil {
		e.o.hook("sent")
		if err := e.j.Accept(context.WithoutCancel(ctx), p.id, ps.ID); err != nil {
			return event{req: p.id, err: err}
		}
		e.o.Progress.RequestSent()
		e.events <- event{req: p.id, accepted: true}
		return event{req: p.id, polled: true, err: e.poll(ctx, p.id, ps.ID)}
	}
	bg := context.WithoutCancel(ctx)
	var (
		unknown *client.UnknownOutcomeError
		he      *client.HTTPError
	)
	switch {
	case errors.As(err, &unknown):
		e.o.Logf("request %d: %v; it will be reconciled", p.id, err)
		return event{req: p.id, err: e.j.Unconfirm(bg, p.id, err.Error())}
	case errors.As(err, &he) && he.StatusCode == http.StatusRequestEntityTooLarge:
		parts, serr := e.split(bg, p.id)
		return event{req: p.id, split: parts, err: serr}
	case errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500 && he.StatusCode != http.StatusTooManyRequests && he.StatusCode != http.StatusUnauthorized && he.StatusCode != http.StatusRequestTimeout:
		code, msg := "", he.Error()
		if len(he.Messages) > 0 {
			code = he.Messages[0].Code
		}
		e.o.Logf("request %d refused: %v", p.id, err)
		return event{req: p.id, err: e.j.Reject(bg, p.id, he.StatusCode, code, msg)}
	default:
		// Not accepted after the retries (or the run was stopped): nothing
		// says the service did not act, so reconcile before resending.
		if uerr := e.j.Unconfirm(bg, p.id, err.Error()); uerr != nil {
			return event{req: p.id, err: uerr}
		}
		return event{req: p.id, err: fmt.Errorf("sending a Bulk request: %w", err)}
	}
}

// split replaces a request refused with 413 by two halves.
func (e *engine) split(ctx context.Context, id int64) ([]prepared, error) {
	ops, err := e.j.RequestOps(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(ops) <= 1 {
		msg := "the service refused the request as too large (413)"
		if len(ops) == 1 {
			o := ops[0].Operation()
			msg = fmt.Sprintf("operation %s from %s: %s", o.BulkID, o.SourceString(), msg)
		}
		return nil, e.j.Reject(ctx, id, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", msg)
	}
	half := len(ops) / 2
	var parts []journal.Prepared
	for _, group := range [][]journal.Op{ops[:half], ops[half:]} {
		b := batcher.NewBuilder(e.lim)
		var p journal.Prepared
		for i := range group {
			op := &group[i]
			eff, pop, _ := effective(op)
			eff.Path, pop.Path = op.Path, op.Path // as first sent
			enc, err := batcher.EncodeOperation(&eff)
			if err != nil {
				return nil, err
			}
			b.Add(i, enc)
			p.Ops = append(p.Ops, pop)
		}
		p.Body = b.Finish().Body
		parts = append(parts, p)
	}
	ids, err := e.j.PrepareSplit(ctx, id, parts)
	if err != nil {
		return nil, err
	}
	e.o.Logf("request %d refused as too large (413); split into requests %d and %d", id, ids[0], ids[1])
	out := make([]prepared, len(ids))
	for i := range ids {
		out[i] = prepared{id: ids[i], body: parts[i].Body}
	}
	return out, nil
}

// poll waits for a provision to complete, then records every operation's
// outcome page by page.
func (e *engine) poll(ctx context.Context, id int64, provisionID string) error {
	wait := e.o.PollInterval
	var total int
	since := e.o.Clock.Now()
	for {
		if waited := e.o.Clock.Now().Sub(since); waited >= e.o.MaxPollWait {
			return &GaveUpError{Reason: fmt.Sprintf("provision %s (request %d) still not completed after %s of polling; it stays accepted and is polled again by the next run",
				provisionID, id, waited.Round(time.Millisecond))}
		}
		if err := e.o.Clock.Sleep(ctx, wait); err != nil {
			return err
		}
		st, err := e.c.Status(ctx, provisionID)
		if client.StatusCodeOf(err) == http.StatusNotFound {
			return e.j.Unconfirm(context.WithoutCancel(ctx), id, "provision status not found")
		}
		if err != nil {
			return fmt.Errorf("provision %s: %w", provisionID, err)
		}
		if st.Status.Completed {
			total = st.OperationsCount.Total
			break
		}
		e.o.hook("polling")
		wait = min(wait*2, e.o.MaxPollInterval)
	}
	ops, err := e.j.RequestOps(ctx, id)
	if err != nil {
		return err
	}
	byBulk := make(map[string]*journal.Op, len(ops))
	for i := range ops {
		byBulk[ops[i].BulkID] = &ops[i]
	}
	start, seen := 1, 0
	for len(byBulk) > 0 {
		sp, err := e.c.StatusOperations(ctx, provisionID, start, e.o.StatusPageSize)
		if err != nil {
			return fmt.Errorf("provision %s operations: %w", provisionID, err)
		}
		var (
			outs []journal.Outcome
			page []*journal.Op
		)
		for i := range sp.Operations {
			st := &sp.Operations[i]
			op, ok := byBulk[st.BulkID]
			if !ok || !st.Status.Completed {
				continue
			}
			outs = append(outs, e.outcome(op, st))
			page = append(page, op)
			delete(byBulk, st.BulkID)
		}
		if err := e.resolveExisting(ctx, page, outs); err != nil {
			return fmt.Errorf("provision %s: %w", provisionID, err)
		}
		for i, op := range page {
			if op.Kind == journal.KindOp {
				e.o.Progress.Completed(1, outs[i].State == journal.StateFailed || outs[i].Outcome == journal.OutcomePartial)
			}
		}
		if len(outs) > 0 {
			if err := e.j.Record(context.WithoutCancel(ctx), id, outs); err != nil {
				return err
			}
			e.o.hook("recorded")
		}
		n := len(sp.Operations)
		seen += n
		t := sp.TotalResults
		if t == 0 {
			t = total
		}
		if n == 0 || seen >= t {
			break
		}
		start += n
	}
	lost, err := e.j.Complete(context.WithoutCancel(ctx), id)
	if err == nil && lost > 0 {
		e.o.Logf("provision %s completed without reporting %d operations; reconciling them", provisionID, lost)
	}
	return err
}

// lookup resolves employeeNumbers with the v4.1 search, falling back to one
// v4 lookup per employee when search is not available.
func (e *engine) lookup(ctx context.Context, nums []string) (map[string][]client.User, error) {
	if len(nums) == 0 {
		return nil, nil
	}
	users, err := e.c.SearchEmployees(ctx, nums)
	switch client.StatusCodeOf(err) {
	case 0:
		return users, err
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented, http.StatusForbidden, http.StatusBadRequest:
		e.o.Logf("identity search unavailable (%v); looking employees up one by one", err)
	default:
		return nil, err
	}
	users = map[string][]client.User{}
	for _, n := range nums {
		u, err := e.c.LookupEmployee(ctx, n)
		if err != nil {
			return nil, err
		}
		if len(u) > 0 {
			users[n] = u
		}
	}
	return users, nil
}
