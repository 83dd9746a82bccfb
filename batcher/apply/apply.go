// Package apply is the submission engine behind `scimigrate apply`, `status`
// and `report`. It drives a run from the journal (batcher/journal): it
// imports the operations once, sends Bulk requests in dependency order,
// tracks each provision until it completes, records every operation's and
// extension's outcome, retries spend/travel extensions that failed
// transiently, and reconciles requests whose outcome was lost. A run killed
// at any point and started again with the same input finishes the job
// without creating any employee twice.
//
// # Ordering
//
// The operations are scheduled once, by batcher.Order, whichever path they
// come from: a saved or live plan hands them over already scheduled (each
// with its request), --create-only has the journal schedule them at import
// with the same code. Scheduled requests are sent strictly in order, each
// re-encoded from the journal to the bytes the schedule (and a saved plan)
// holds. An operation that references (approver, delegate, manager, BI
// manager) an employee created in the same run is in a later wave, and its
// request waits until that creation is reported completed by the provision
// status. Creations in a reference cycle, and employees referencing
// themselves, are sent without their references (batcher.SplitOperation);
// the PATCH adding them (path "/Users/bulkId:X" until X's id is known)
// follows once every employee it names exists. Operations outside the
// schedule (extension retries, operations queued again after a lost
// outcome) share requests as they become ready; a partly filled one is held
// back while creations in flight may release more.
//
// # Failed dependencies
//
// When a referenced employee's creation fails, the referencing creation is
// still sent, without any of its references, so the employee exists and
// the rest of its data is applied. Its outcome is "partial", with a
// "references" error DEPENDENCY_FAILED naming the employees that failed; a
// reference patch of a failed or dependent employee is not sent and is
// reported the same way. Re-running after fixing the data (a new input, so
// a new journal) sends the references as a PATCH.
//
// # Lost outcomes and resume
//
// A request is committed to the journal before it is sent. A request
// whose answer never came (timeout or connection lost after the body was
// sent, a 504, a 200 without a provisionId, a retry budget spent, a process
// killed between commit and provisionId) is "unconfirmed". Before anything
// else is sent, unconfirmed requests are reconciled. First the engine waits
// for the service to settle what it may have accepted: it looks the
// creations up by employeeNumber (Identity v4.1 search, v4 lookup as
// fallback) until every one is found or Settle has passed. Each employee
// found is converged: its live state (identity, spend and travel profiles)
// is read, re-planned against what the creation carried (plan.Converge)
// and only the difference is sent, as a "converge" PATCH whose outcome is
// recorded on the creation — so a failure the service reported for the
// lost request (INVALID_USER on the Approver extension, say) is reported
// again with its code, and the creation is "partial", not "reconciled". A
// PATCH of the lost request is done when applying it to the live state
// changes nothing. Everything else is queued again, at most MaxBlindSends
// times per operation and run; past that the run stops with a *GaveUpError
// and the operations stay resumable. A creation the service refuses because
// the user exists (409 UNIQUENESS — a lost request that finished late, or a
// journal lost or reset) is converged the same way, whatever its flags, and
// the employees referencing it are then sent with their references.
// Accepted requests are polled again on resume; outcomes already recorded
// are kept. The summary, and so the exit status, covers every operation of
// the journal, from every run.
//
// # One run per journal
//
// journal.Open holds the journal's run lock for the length of the run; a
// second run on the same journal fails at once with a *journal.LockedError
// naming the holder.
//
// # Extension failures
//
// A spend or travel extension that failed with a 5xx is re-sent alone, as
// a PATCH replacing that extension's attributes (taken from the
// operation's data), up to MaxExtensionRetries times. Data errors (4xx) are
// reported, not retried. When the identity (core or enterprise) fails the
// operation fails as a whole.
package apply

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"os"
	"time"

	"scimigrate/batcher"
	"scimigrate/batcher/client"
	"scimigrate/batcher/journal"
)

// Options configure a run. Zero values take the defaults noted.
type Options struct {
	// BaseURL is the datacenter URI (e.g. https://us2.api.concursolutions.com);
	// a token's geolocation replaces it.
	BaseURL string
	// JournalPath is the SQLite journal (created with mode 0600).
	JournalPath string
	// Concurrency bounds Bulk requests being sent and HTTP calls in flight
	// (default 4).
	Concurrency int
	// PollInterval is the first wait before reading a provision's status
	// (default 5 s); waits double up to MaxPollInterval (default 60 s).
	PollInterval, MaxPollInterval time.Duration
	// MaxPollWait bounds how long one provision is polled before the run
	// stops with a *GaveUpError, leaving it to the next run (default 1 h).
	MaxPollWait time.Duration
	// ReconcileDelay is the wait before looking up the employees of a
	// request whose outcome was lost, so the service can finish what it
	// accepted (default PollInterval).
	ReconcileDelay time.Duration
	// Settle bounds the wait for the service to settle requests whose
	// outcome was lost before their creations are taken as not applied and
	// sent again (default 2 min). The wait ends early once every creation
	// is found.
	Settle time.Duration
	// MaxBlindSends bounds how often one operation is sent in a run in
	// requests whose outcome stays unknown (no provisionId, 504, lost
	// connection) and not found applied before the run stops with a
	// *GaveUpError (default 5).
	MaxBlindSends int
	// Limits bound each Bulk request (default batcher.DefaultLimits).
	Limits batcher.Limits
	// StatusPageSize is the count asked per page of operation statuses
	// (default 100).
	StatusPageSize int
	// MaxExtensionRetries bounds re-sends of a spend/travel extension that
	// failed with a 5xx (default 3).
	MaxExtensionRetries int
	// Progress receives progress events (default none); see NewProgress.
	Progress Progress
	// Logf receives diagnostics (default none). Secrets are redacted.
	Logf func(format string, args ...any)
	// Env reads credentials (default os.Getenv): SCIMIGRATE_ACCESS_TOKEN, or
	// SCIMIGRATE_CLIENT_ID, SCIMIGRATE_CLIENT_SECRET and
	// SCIMIGRATE_REFRESH_TOKEN.
	Env func(string) string
	// HTTPClient is used for every call (default: 60 s timeout).
	HTTPClient *http.Client
	// TokenFile keeps a rotated refresh token and the geolocation (mode
	// 0600); empty keeps none.
	TokenFile string
	// Clock drives waits (default the wall clock).
	Clock client.Clock
	// Retry tunes the HTTP client's retries (zero fields take its defaults).
	MaxAttempts int
	MaxElapsed  time.Duration

	// Client, when set, is used instead of one built from the fields above.
	Client *client.Client

	// PlanID identifies the saved plan the operations come from (see
	// plan.Saved.ID); it is recorded with the import, so ImportedPlan can
	// tell a resume of this plan from a first apply.
	PlanID string

	// hook is called at named points of the run; tests use it to kill the
	// process there.
	hook func(point string)
}

func (o *Options) defaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.MaxPollInterval <= 0 {
		o.MaxPollInterval = 60 * time.Second
	}
	if o.MaxPollInterval < o.PollInterval {
		o.MaxPollInterval = o.PollInterval
	}
	if o.ReconcileDelay <= 0 {
		o.ReconcileDelay = o.PollInterval
	}
	if o.MaxPollWait <= 0 {
		o.MaxPollWait = time.Hour
	}
	if o.Settle <= 0 {
		o.Settle = 2 * time.Minute
	}
	if o.MaxBlindSends <= 0 {
		o.MaxBlindSends = 5
	}
	if o.StatusPageSize <= 0 {
		o.StatusPageSize = 100
	}
	if o.MaxExtensionRetries <= 0 {
		o.MaxExtensionRetries = 3
	}
	if o.Clock == nil {
		o.Clock = client.RealClock{}
	}
	if o.Progress == nil {
		o.Progress = nopProgress{}
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.hook == nil {
		o.hook = func(string) {}
	}
}

// ErrJournalMismatch is returned when the journal was made from another input.
var ErrJournalMismatch = errors.New("journal belongs to a different input")

// Run applies ops; see RunSeq.
func Run(ctx context.Context, opts Options, ops []batcher.Operation) (*Summary, error) {
	return RunSeq(ctx, opts, func(yield func(batcher.Operation, error) bool) {
		for i := range ops {
			if !yield(ops[i], nil) {
				return
			}
		}
	})
}

// RunSeq applies the operations from seq, which is read once. On a new
// journal they are imported; on a journal already holding this input (same
// hash) the run resumes: requests accepted earlier are polled, requests
// whose outcome is unknown are reconciled first, and completed work is
// skipped. A journal holding another input is refused (ErrJournalMismatch).
// The returned error is for fatal problems (usage, journal, service not
// reachable); failed operations are reported in the Summary.
func RunSeq(ctx context.Context, opts Options, seq iter.Seq2[batcher.Operation, error]) (*Summary, error) {
	opts.defaults()
	if opts.JournalPath == "" {
		return nil, errors.New("apply: no journal path")
	}
	j, err := journal.Open(opts.JournalPath)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	resumed, err := load(ctx, j, seq, opts.PlanID, opts.Limits)
	if err != nil {
		return nil, err
	}
	c := opts.Client
	if c == nil {
		c, err = client.NewFromEnv(client.Setup{BaseURL: opts.BaseURL, Env: opts.Env, TokenFile: opts.TokenFile, HTTPClient: opts.HTTPClient, Clock: opts.Clock},
			client.Config{Concurrency: opts.Concurrency, Clock: opts.Clock, Logf: opts.Logf, MaxAttempts: opts.MaxAttempts, MaxElapsed: opts.MaxElapsed})
		if err != nil {
			return nil, err
		}
	}
	c.SetObserver(recordAttempts(j, opts.Logf)) // the request timeline of the outcome report
	defer c.SetObserver(nil)
	if err := j.SetMeta("base_url", c.BaseURL()); err != nil {
		return nil, err
	}
	e := newEngine(j, c, opts)
	if resumed {
		opts.Logf("resuming the run recorded in %s", opts.JournalPath)
	}
	recordRun(j, journal.EventRunStart, map[bool]string{false: "new", true: "resumed"}[resumed], opts.Logf)
	runErr := e.run(ctx)
	recordRun(j, journal.EventRunEnd, errString(runErr), opts.Logf)
	s, err := summarize(context.WithoutCancel(ctx), j)
	if err != nil {
		return nil, errors.Join(runErr, err)
	}
	s.Resumed = resumed
	return s, gaveUp(runErr, opts.JournalPath, s)
}

// load imports seq into a fresh journal, or checks that a journal already
// holds the same input.
func load(ctx context.Context, j *journal.Journal, seq iter.Seq2[batcher.Operation, error], planID string, lim batcher.Limits) (resumed bool, err error) {
	hash, ok, err := j.Imported()
	if err != nil {
		return false, err
	}
	if ok {
		h := journal.NewHasher()
		for op, err := range seq {
			if err != nil {
				return false, err
			}
			h.Add(&op)
		}
		if got := h.Sum(); got != hash {
			return false, fmt.Errorf("%w: %s was made from input %.12s…, this input is %.12s…; use another journal file or remove it",
				ErrJournalMismatch, j.Path(), hash, got)
		}
		return true, nil
	}
	im, err := j.BeginImport(ctx)
	if err != nil {
		return false, err
	}
	for op, err := range seq {
		if err == nil {
			err = validate(&op)
		}
		if err == nil {
			err = im.Add(&op)
		}
		if err != nil {
			im.Rollback()
			return false, err
		}
	}
	if planID != "" {
		im.SetMeta(journal.MetaPlanID, planID)
	}
	return false, im.Commit(lim)
}

// ImportedPlan returns the ID of the saved plan whose operations the
// journal at path holds ("" when the file does not exist, holds no
// import, or an import not made from a saved plan). It is decided by the
// journal's content, never by the file existing.
func ImportedPlan(path string) (string, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	j, err := journal.OpenExisting(path)
	if err != nil {
		return "", err
	}
	defer j.Close()
	return j.ImportedPlan()
}

func validate(op *batcher.Operation) error {
	switch {
	case op.BulkID == "":
		return fmt.Errorf("operation from %s has no bulkId", op.SourceString())
	case op.Method != "POST" && op.Method != "PATCH":
		return fmt.Errorf("operation %s from %s: method %q (want POST or PATCH)", op.BulkID, op.SourceString(), op.Method)
	case op.Method == "POST" && op.EmployeeNumber == "":
		return fmt.Errorf("operation %s from %s: a creation needs an employeeNumber (it is how lost outcomes are reconciled)", op.BulkID, op.SourceString())
	case op.Path == "":
		return fmt.Errorf("operation %s from %s has no path", op.BulkID, op.SourceString())
	case len(op.Data) == 0:
		return fmt.Errorf("operation %s from %s has no data", op.BulkID, op.SourceString())
	}
	return nil
}
