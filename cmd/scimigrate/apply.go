package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	goio "io"
	"iter"
	"os"
	"path/filepath"
	"time"

	"scimigrate/batcher"
	"scimigrate/batcher/apply"
	"scimigrate/batcher/client"
	"scimigrate/batcher/plan"
	"scimigrate/converter"
	"scimigrate/converter/source"
)

// applyOptions are the flags of apply (gh style: options, then run).
type applyOptions struct {
	convertOptions
	target        targetOptions
	Journal       string
	CreateOnly    bool
	PollInterval  time.Duration
	Settle        time.Duration
	Report        string
	ReportHTML    string
	ProgressEvery time.Duration
	AllowStale    bool
	Existing      string
	State         string

	rejected *rejections // records rejected by the conversion or the plan, added to the report
	planID   string      // the saved plan applied, recorded in the journal
}

// rejections are the records the conversion rejected, by file and line, so
// the report accounts for every input record, not only those sent.
type rejections struct {
	order []string
	rows  map[string]*apply.ReportRow
}

func (r *rejections) add(d source.Diagnostic) {
	if d.Severity != source.Error {
		return
	}
	msg := d.Msg
	if d.Field != "" {
		msg = d.Field + ": " + msg
	}
	r.note(d.File, d.Line, "", msg)
}

// unconverted gives a record of an unsupported type its report row.
func (r *rejections) unconverted(u converter.Unconverted) { r.note(u.File, u.Line, u.Type, u.Msg) }

// note adds msg to the row of the record at file:line.
func (r *rejections) note(file string, line int, record, msg string) {
	k := fmt.Sprintf("%s\x00%d", file, line)
	if r.rows == nil {
		r.rows = map[string]*apply.ReportRow{}
	}
	row, ok := r.rows[k]
	if !ok {
		row = &apply.ReportRow{File: file, Line: line, Record: record, Outcome: "rejected"}
		r.rows[k] = row
		r.order = append(r.order, k)
	}
	if row.Message != "" {
		row.Message += " | "
	}
	row.Message += msg
}

// rejectionsOf turns a plan's rejected records into report rows: every
// apply path (planned, saved plan, --create-only) hands the report the
// records it does not send.
func rejectionsOf(recs []plan.RejectedRecord) *rejections {
	r := &rejections{rows: map[string]*apply.ReportRow{}}
	for _, rr := range recs {
		k := fmt.Sprintf("%s\x00%d", rr.File, rr.Line)
		if _, dup := r.rows[k]; dup {
			continue
		}
		r.rows[k] = &apply.ReportRow{File: rr.File, Line: rr.Line, Record: rr.Record, EmployeeNumber: rr.EmployeeNumber, Outcome: "rejected", Message: rr.Message}
		r.order = append(r.order, k)
	}
	return r
}

// list returns the rejected records in input order.
func (r *rejections) list() []apply.ReportRow {
	if r == nil {
		return nil
	}
	rows := make([]apply.ReportRow, 0, len(r.order))
	for _, k := range r.order {
		rows = append(rows, *r.rows[k])
	}
	return rows
}

func (o *applyOptions) register(fs *flag.FlagSet) {
	o.convertOptions.register(fs, false)
	o.target.register(fs, targetFlags{concurrency: "Bulk requests and HTTP calls in flight"})
	fs.StringVar(&o.Journal, "journal", "scimigrate-journal.db", "resumable journal (SQLite, mode 0600); re-run the same command with it to resume")
	fs.BoolVar(&o.CreateOnly, "create-only", false, "every employee is new: the first load into an empty tenant")
	fs.DurationVar(&o.PollInterval, "poll-interval", 5*time.Second, "first wait before reading a provision's status (doubles up to 60s)")
	fs.DurationVar(&o.Settle, "settle", 2*time.Minute, "after a lost answer or a crash: how long to wait for the service to settle what it accepted before re-sending (ends early once every creation is found)")
	fs.StringVar(&o.Report, "report", "", "where to write the per-record CSV report (default: JOURNAL.report.csv; mode 0600)")
	fs.StringVar(&o.ReportHTML, "report-html", "", "where to write the HTML outcome report for the sign-off (default: JOURNAL.report.html; mode 0600)")
	fs.DurationVar(&o.ProgressEvery, "progress-interval", 10*time.Second, "interval of the plain progress line when stderr is not a terminal")
	fs.BoolVar(&o.AllowStale, "allow-stale", false, "apply a saved plan even if users changed in the target since it was made")
	fs.StringVar(&o.Existing, "existing", "", "without a saved plan: existing-record handling UPDATE or REPLACE (default: the 100 record)")
	fs.StringVar(&o.State, "state", "", "applied state: the entitlements scimigrate applied, which the target never returns (default: "+plan.StateFile+" beside the journal)")
}

func applyCommand() *command {
	var o applyOptions
	return &command{
		name:    "apply",
		summary: "convert and submit to UPS through a resumable journal (apply --create-only FILE...)",
		usage: "apply --base-url URL [--journal FILE] [flags] PLANDIR\n" +
			"       scimigrate apply --base-url URL [--journal FILE] [--create-only] [flags] FILE...",
		desc: "apply sends a saved plan's requests byte for byte and in order (PLANDIR, after refusing a stale plan " +
			"unless the journal already holds this plan), or " +
			"converts the input files and submits them: --create-only for a first load into an empty tenant, " +
			"otherwise it plans against the live target first. Every operation goes through a resumable SQLite " +
			"journal: run the same command again after an interruption to resume without sending anything twice. " +
			"A per-record CSV report is written at the end. Exit 1 when records are rejected or operations fail, " +
			"2 when the target cannot be reached or authenticated.",
		flags: o.register,
		args: func(args []string) error {
			o.Files = args
			switch {
			case o.target.BaseURL == "" && o.target.TokenFile == "":
				return usageErrorf("--base-url URL (or the --token-file of 'scimigrate login') is required")
			case len(o.Files) == 0:
				return usageErrorf("no input files")
			}
			if _, err := checkExisting(o.Existing); err != nil {
				return err
			}
			return nil
		},
		run: func(ctx context.Context, cio *IO) error {
			if len(o.Files) == 1 && isPlanDir(o.Files[0]) {
				return o.applySaved(ctx, cio, o.Files[0])
			}
			if !o.CreateOnly {
				return o.applyPlanned(ctx, cio)
			}
			return o.run(ctx, cio)
		},
	}
}

func isPlanDir(p string) bool {
	st, err := os.Stat(filepath.Join(p, plan.PlanFile))
	return err == nil && !st.IsDir()
}

// applySaved sends exactly the operations of a saved plan (their bodies, in
// their order, with their bulkIds) through the journal, after checking that
// no user it touches changed in the target since the plan was made. The
// check is skipped only when the journal already holds this very plan (a
// resume: the users it changed are expected to differ now), which the
// journal's content says, not the file existing.
func (o *applyOptions) applySaved(ctx context.Context, io *IO, dir string) error {
	c, err := o.target.client(ctx, io)
	if err != nil {
		return err
	}
	saved, err := plan.Load(dir)
	if err != nil {
		return fatal(err)
	}
	imported, err := apply.ImportedPlan(o.Journal)
	if err != nil {
		return fatal(err)
	}
	if imported == saved.ID {
		fmt.Fprintf(io.Err, "scimigrate apply: resuming %s with journal %s, which holds this plan (staleness was checked when it started)\n", dir, o.Journal)
	} else {
		stale, err := saved.CheckStale(ctx, o.target.liveFrom(c, io))
		if err != nil {
			return fatal(err)
		}
		if len(stale) > 0 && !o.AllowStale {
			return &rejectedError{fmt.Errorf("%w\nrefusing to apply: run 'scimigrate plan' again, or pass --allow-stale", &plan.StaleError{Users: stale})}
		}
		for _, u := range stale {
			fmt.Fprintf(io.Err, "scimigrate apply: warning (--allow-stale): changed since the plan: %s\n", u.String())
		}
	}
	o.planID = saved.ID
	o.rejected = rejectionsOf(saved.File.Rejected)
	fmt.Fprintf(io.Err, "== applying saved plan %s: %d operation(s) in %d request(s)\n", dir, len(saved.Ops), len(saved.Requests))
	var convErr error
	if len(saved.File.Rejected) > 0 {
		convErr = errRejected
	}
	return o.submit(ctx, io, c, saved.Operations(), func() error { return convErr })
}

// applyPlanned plans against the live target first (as 'scimigrate plan'
// would), prints the plan's summary, and applies it.
func (o *applyOptions) applyPlanned(ctx context.Context, io *IO) error {
	errw := bufio.NewWriter(io.Err)
	existing, err := checkExisting(o.Existing)
	if err != nil {
		return err
	}
	popts := plan.Options{Existing: existing, StateName: applyStatePath(o.State, o.Journal)}
	if popts.State, err = plan.ReadState(popts.StateName, o.State != ""); err != nil {
		return fatal(err)
	}
	r, err := makePlan(ctx, io, errw, &o.convertOptions, &o.target, popts)
	errw.Flush()
	if err != nil {
		return err
	}
	defer r.p.Close()
	// As `plan` shows it: past plan.DetailThreshold changed users, the
	// summary by attribute only.
	if err := r.p.Render(errw, plan.RenderOptions{SummaryOnly: r.p.Counts.Changed() > plan.DetailThreshold}); err != nil {
		return fatal(err)
	}
	errw.Flush()
	o.rejected = rejectionsOf(r.p.Rejected)
	var convErr error
	if st := r.c.d.Stats; st != nil && st.RecordsRejected > 0 || r.p.Counts.Rejected > 0 {
		convErr = errRejected
	}
	c, err := o.target.client(ctx, io)
	if err != nil {
		return err
	}
	return o.submit(ctx, io, c, r.p.Operations(), func() error { return convErr })
}

// run converts the inputs and streams every user to create into the apply
// engine, which journals, batches, submits and tracks them.
func (o *applyOptions) run(ctx context.Context, io *IO) error {
	set, inputs, closeInputs, err := o.open(io.In)
	if err != nil {
		return fatal(err)
	}
	defer closeInputs()
	c, err := o.target.client(ctx, io)
	if err != nil {
		return err
	}
	var st *converter.Stats
	var updates, intents int
	rej := &rejections{}
	o.rejected = rej
	ops := func(yield func(batcher.Operation, error) bool) {
		stopped := errors.New("stopped")
		var err error
		echo := source.NewEcho(io.Err, o.EchoLimit)
		defer echo.Flush()
		st, err = converter.Run(ctx, inputs, converter.Options{
			Set: set, Workers: o.Workers, Validate: converter.ValidateSchema, CompanyID: set.Config.CompanyID,
			Diag: func(d source.Diagnostic) {
				echo.Write(d)
				rej.add(d)
			},
			Unconverted: rej.unconverted,
			Emit: func(r *converter.Result) error {
				if !yield(createOperation(r), nil) {
					return stopped
				}
				return nil
			},
			Update: func(r *converter.Result) error {
				updates++
				for _, rec := range r.Records {
					d := source.Diagnostic{File: rec.File, Line: rec.Line, Col: 1, Severity: source.Error,
						Msg: fmt.Sprintf("employee %s has no identity record in the input: --create-only cannot update an existing user; use 'scimigrate plan'", r.User.Key)}
					echo.Write(d)
					rej.add(d)
				}
				return nil
			},
			Intent: func(in *converter.Intent) error {
				intents++
				d := source.Diagnostic{File: in.Record.File, Line: in.Record.Line, Col: 1, Severity: source.Error,
					Msg: fmt.Sprintf("ID change of employee %s is not applied by --create-only; use 'scimigrate plan'", in.Current)}
				echo.Write(d)
				rej.add(d)
				return nil
			},
		})
		if err != nil && !errors.Is(err, stopped) {
			yield(batcher.Operation{}, err)
		}
	}
	return o.submit(ctx, io, c, ops, func() error {
		if st == nil {
			return nil // the conversion did not finish: submit reports the run's error
		}
		if err := writeSummary(io.Err, st); err != nil {
			return fatal(err)
		}
		if st.RecordsRejected > 0 || updates > 0 || intents > 0 {
			return errRejected
		}
		return nil
	})
}

// createOperation turns a converted user into a Bulk POST whose bulkId is
// derived from its first record, so results map back to file and line and a
// re-run produces the same ids.
func createOperation(r *converter.Result) batcher.Operation {
	op := batcher.Operation{
		Method:         "POST",
		Path:           "/Users",
		EmployeeNumber: r.User.Key,
		Data:           append([]byte(nil), r.JSON...), // r is recycled after Emit
	}
	if v, ok := r.User.Doc.Get("userName"); ok {
		op.UserName = v.Str
	}
	for _, rec := range r.Records {
		if rec.Failed {
			continue
		}
		op.Sources = append(op.Sources, batcher.Source{File: rec.File, Line: rec.Line, Record: rec.Type})
	}
	if len(op.Sources) > 0 {
		op.BulkID = batcher.BulkID(op.Sources[0], 0)
	}
	op.Refs = batcher.Refs(op.Data)
	return op
}

// submit runs the apply engine over ops with the client c and writes the
// summary and report. after reports the conversion's own outcome once ops
// is exhausted.
func (o *applyOptions) submit(ctx context.Context, io *IO, c *client.Client, ops iter.Seq2[batcher.Operation, error], after func() error) error {
	opts := apply.Options{
		Client:       c, // credentials, token file and base URL: targetOptions.client
		JournalPath:  o.Journal,
		Concurrency:  o.target.Concurrency,
		PollInterval: o.PollInterval,
		Settle:       o.Settle,
		Progress:     apply.NewProgressFor(io.Err, io.ErrTTY, o.ProgressEvery),
		Logf:         logf(io),
		PlanID:       o.planID,
	}
	sum, err := apply.RunSeq(ctx, opts, ops)
	convErr := after()
	if err != nil {
		if sum != nil {
			fmt.Fprintln(io.Err, sum.String())
		}
		// The night ends with a report even when the run stopped half way
		// (not when the journal belongs to another input: its report is
		// that input's).
		if !errors.Is(err, apply.ErrJournalMismatch) {
			if rerr := o.writeReports(ctx, io.Err); rerr != nil {
				fmt.Fprintf(io.Err, "scimigrate apply: %v\n", rerr)
			}
		}
		if errors.Is(err, context.Canceled) {
			return fatal(fmt.Errorf("interrupted (%w); run the same command again with --journal %s to resume", err, o.Journal))
		}
		return fatal(err)
	}
	fmt.Fprintln(io.Err, sum.String())
	if err := o.writeReports(ctx, io.Err); err != nil {
		return fatal(err)
	}
	if err := recordApplied(ctx, o.Journal, applyStatePath(o.State, o.Journal)); err != nil {
		return fatal(fmt.Errorf("recording the applied state: %w", err))
	}
	if convErr != nil {
		return convErr
	}
	if sum.ExitCode() != exitOK {
		return errRejected
	}
	return nil
}

// writeReport writes a report file as createOutput does: mode 0600, through a
// new temporary file renamed into place (never written through a link).
func writeReport(ctx context.Context, journal, format, path string) error {
	return writeOutputFunc(path, func(w goio.Writer) error { return renderReport(ctx, journal, format, w) })
}

func statusCommand() *command {
	var journal string
	return &command{
		name:    "status",
		summary: "show progress and outcomes of an apply journal",
		usage:   "status [--journal FILE]",
		desc: "status reads the journal of an apply run (finished, running or interrupted) and prints how many " +
			"operations and requests are done, in flight or failed.",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&journal, "journal", "scimigrate-journal.db", "the journal of an apply run")
		},
		run: func(ctx context.Context, cio *IO) error {
			return fatal(apply.Status(ctx, journal, cio.Out))
		},
	}
}

func reportCommand() *command {
	var journal, format, out string
	return &command{
		name:    "report",
		summary: "write the report of an apply journal: one row per source record (csv, json) or the outcome document (html)",
		usage:   "report [--journal FILE] [--format csv|json|ndjson|html] [-o FILE]",
		desc: "report writes one row per source record of an apply journal: file, line, employee, bulkId, Concur " +
			"UUID, outcome and per-extension errors, including the records the conversion rejected, so every input " +
			"record is accounted for. --format html writes the outcome document for the sign-off instead: counts, the " +
			"requests over the run, changes by attribute, failures by message code, rejected records, inputs and target.",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&journal, "journal", "scimigrate-journal.db", "the journal of an apply run")
			fs.StringVar(&format, "format", "csv", reportFormats)
			fs.StringVar(&out, "o", "", "write to this file (mode 0600) instead of stdout")
		},
		run: func(ctx context.Context, cio *IO) error {
			if out != "" {
				return fatal(writeReport(ctx, journal, format, out))
			}
			return fatal(renderReport(ctx, journal, format, cio.Out))
		},
	}
}
