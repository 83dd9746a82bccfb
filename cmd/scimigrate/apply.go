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
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"scimigrate/batcher"
	"scimigrate/batcher/apply"
	"scimigrate/batcher/plan"
	"scimigrate/converter"
	"scimigrate/converter/source"
)

// applyOptions are the flags of apply (gh style: options, then run).
type applyOptions struct {
	convertOptions
	BaseURL       string
	Journal       string
	CreateOnly    bool
	PollInterval  time.Duration
	Concurrency   int
	Report        string
	ReportHTML    string
	TokenFile     string
	ProgressEvery time.Duration
	AllowStale    bool
	Existing      string

	env      func(string) string // credentials; os.Getenv unless a test or the demo sets it
	rejected *rejections         // records rejected by the conversion, added to the report
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
	k := fmt.Sprintf("%s\x00%d", d.File, d.Line)
	if r.rows == nil {
		r.rows = map[string]*apply.ReportRow{}
	}
	row, ok := r.rows[k]
	if !ok {
		row = &apply.ReportRow{File: d.File, Line: d.Line, Outcome: "rejected"}
		r.rows[k] = row
		r.order = append(r.order, k)
	}
	msg := d.Msg
	if d.Field != "" {
		msg = d.Field + ": " + msg
	}
	if row.Message != "" {
		row.Message += " | "
	}
	row.Message += msg
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
	fs.StringVar(&o.BaseURL, "base-url", "", "datacenter URI, e.g. https://us2.api.concursolutions.com (required)")
	fs.StringVar(&o.Journal, "journal", "scimigrate-journal.db", "resumable journal (SQLite, mode 0600); re-run the same command with it to resume")
	fs.BoolVar(&o.CreateOnly, "create-only", false, "every employee is new: the first load into an empty tenant")
	fs.DurationVar(&o.PollInterval, "poll-interval", 5*time.Second, "first wait before reading a provision's status (doubles up to 60s)")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "Bulk requests and HTTP calls in flight")
	fs.StringVar(&o.Report, "report", "", "where to write the per-record CSV report (default: JOURNAL.report.csv; mode 0600)")
	fs.StringVar(&o.ReportHTML, "report-html", "", "where to write the HTML outcome report for the sign-off (default: JOURNAL.report.html; mode 0600)")
	fs.StringVar(&o.TokenFile, "token-file", "", "keep a rotated refresh token and the geolocation here (mode 0600)")
	fs.DurationVar(&o.ProgressEvery, "progress-interval", 10*time.Second, "interval of the plain progress line when stderr is not a terminal")
	fs.BoolVar(&o.AllowStale, "allow-stale", false, "apply a saved plan even if users changed in the target since it was made")
	fs.StringVar(&o.Existing, "existing", "", "without a saved plan: existing-record handling UPDATE or REPLACE (default: the 100 record)")
}

func runApply(args []string, io IO) int {
	var o applyOptions
	fs := newFlagSet("apply", io.Err)
	o.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(io.Err, "usage: scimigrate apply --base-url URL [--journal FILE] [flags] PLANDIR")
		fmt.Fprintln(io.Err, "       scimigrate apply --base-url URL [--journal FILE] [--create-only] [flags] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	o.Files = fs.Args()
	switch {
	case o.BaseURL == "":
		fmt.Fprintln(io.Err, "scimigrate apply: --base-url is required")
		return exitUsage
	case len(o.Files) == 0:
		fmt.Fprintln(io.Err, "scimigrate apply: no input files")
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(o.Files) == 1 && isPlanDir(o.Files[0]) {
		return o.applySaved(ctx, io, o.Files[0])
	}
	if !o.CreateOnly {
		return o.applyPlanned(ctx, io)
	}
	return o.run(ctx, io)
}

func isPlanDir(p string) bool {
	st, err := os.Stat(filepath.Join(p, plan.PlanFile))
	return err == nil && !st.IsDir()
}

// applySaved sends exactly the operations of a saved plan (their bodies, in
// their order, with their bulkIds) through the journal, after checking that
// no user it touches changed in the target since the plan was made.
func (o *applyOptions) applySaved(ctx context.Context, io IO, dir string) int {
	to := targetOptions{BaseURL: o.BaseURL, TokenFile: o.TokenFile, Concurrency: o.Concurrency}
	var saved *plan.Saved
	if _, err := os.Stat(o.Journal); err == nil {
		// Resuming: the plan was checked when this apply started, and the
		// users it already changed are expected to differ now.
		s, err := plan.Load(dir)
		if err != nil {
			fmt.Fprintf(io.Err, "scimigrate apply: %v\n", err)
			return exitUsage
		}
		saved = s
		fmt.Fprintf(io.Err, "scimigrate apply: resuming %s with journal %s (staleness was checked when it started)\n", dir, o.Journal)
	} else {
		live, err := to.live(ctx, io.Err)
		if err != nil {
			fmt.Fprintf(io.Err, "scimigrate apply: %v\n", err)
			return exitUsage
		}
		s, stale, err := plan.Check(ctx, dir, live, o.AllowStale)
		if errors.Is(err, plan.ErrStale) {
			fmt.Fprintf(io.Err, "scimigrate apply: %v\nrefusing to apply: run 'scimigrate plan' again, or pass --allow-stale\n", err)
			return exitRejected
		}
		if err != nil {
			fmt.Fprintf(io.Err, "scimigrate apply: %v\n", err)
			return exitUsage
		}
		for _, u := range stale {
			fmt.Fprintf(io.Err, "scimigrate apply: warning (--allow-stale): changed since the plan: %s\n", u.String())
		}
		saved = s
	}
	fmt.Fprintf(io.Err, "== applying saved plan %s: %d operation(s) in %d request(s)\n", dir, len(saved.Ops), len(saved.Requests))
	return o.submit(ctx, io, opsSeq(saved.Ops), func() (int, string) { return exitOK, "" })
}

// applyPlanned plans against the live target first (as 'scimigrate plan'
// would), prints the plan's summary, and applies it.
func (o *applyOptions) applyPlanned(ctx context.Context, io IO) int {
	errw := bufio.NewWriter(io.Err)
	to := &targetOptions{BaseURL: o.BaseURL, TokenFile: o.TokenFile, Concurrency: o.Concurrency}
	switch strings.ToUpper(o.Existing) {
	case "", "UPDATE", "REPLACE":
	default:
		fmt.Fprintf(io.Err, "scimigrate apply: --existing %q: want UPDATE or REPLACE\n", o.Existing)
		return exitUsage
	}
	r, err := makePlan(ctx, io, errw, &o.convertOptions, to, plan.Options{Existing: strings.ToUpper(o.Existing)})
	if err != nil {
		reportPlanError(errw, "apply", err)
		errw.Flush()
		return exitUsage
	}
	r.p.Render(errw, plan.RenderOptions{})
	errw.Flush()
	convCode := exitOK
	if st := r.c.d.Stats; st != nil && st.RecordsRejected > 0 || r.p.Counts.Rejected > 0 {
		convCode = exitRejected
	}
	return o.submit(ctx, io, opsSeq(r.p.Ops), func() (int, string) { return convCode, "" })
}

// run converts the inputs and streams every user to create into the apply
// engine, which journals, batches, submits and tracks them.
func (o *applyOptions) run(ctx context.Context, io IO) int {
	set, inputs, closeInputs, err := o.open(io.In)
	if err != nil {
		fmt.Fprintf(io.Err, "scimigrate: %v\n", err)
		return exitUsage
	}
	defer closeInputs()
	var st *converter.Stats
	var updates, intents int
	rej := &rejections{}
	o.rejected = rej
	ops := func(yield func(batcher.Operation, error) bool) {
		stopped := errors.New("stopped")
		var err error
		st, err = converter.Run(ctx, inputs, converter.Options{
			Set: set, Workers: o.Workers, Validate: converter.ValidateSchema, CompanyID: set.Config.CompanyID,
			Diag: func(d source.Diagnostic) {
				fmt.Fprintln(io.Err, d.String())
				rej.add(d)
			},
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
					fmt.Fprintln(io.Err, d.String())
					rej.add(d)
				}
				return nil
			},
			Intent: func(in *converter.Intent) error {
				intents++
				d := source.Diagnostic{File: in.Record.File, Line: in.Record.Line, Col: 1, Severity: source.Error,
					Msg: fmt.Sprintf("ID change of employee %s is not applied by --create-only; use 'scimigrate plan'", in.Current)}
				fmt.Fprintln(io.Err, d.String())
				rej.add(d)
				return nil
			},
		})
		if err != nil && !errors.Is(err, stopped) {
			yield(batcher.Operation{}, err)
		}
	}
	return o.submit(ctx, io, ops, func() (int, string) {
		if st == nil {
			return exitUsage, ""
		}
		writeSummary(io.Err, st)
		code := exitOK
		if st.RecordsRejected > 0 || updates > 0 || intents > 0 {
			code = exitRejected
		}
		return code, ""
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

// submit runs the apply engine over ops and writes the summary and report.
// after reports the conversion's own outcome once ops is exhausted.
func (o *applyOptions) submit(ctx context.Context, io IO, ops iter.Seq2[batcher.Operation, error], after func() (int, string)) int {
	env := o.env
	if env == nil {
		env = os.Getenv
	}
	opts := apply.Options{
		BaseURL:      o.BaseURL,
		JournalPath:  o.Journal,
		Concurrency:  o.Concurrency,
		PollInterval: o.PollInterval,
		Progress:     apply.NewProgress(io.Err, o.ProgressEvery),
		Logf:         func(format string, args ...any) { fmt.Fprintf(io.Err, "scimigrate: "+format+"\n", args...) },
		Env:          env,
		TokenFile:    o.TokenFile,
	}
	sum, err := apply.RunSeq(ctx, opts, ops)
	convCode, _ := after()
	if err != nil {
		fmt.Fprintf(io.Err, "scimigrate apply: %v\n", err)
		if sum != nil {
			fmt.Fprintln(io.Err, sum.String())
		}
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(io.Err, "scimigrate apply: interrupted; run the same command again with --journal %s to resume\n", o.Journal)
		}
		// The night ends with a report even when the run stopped half way
		// (not when the journal belongs to another input: its report is
		// that input's).
		if !errors.Is(err, apply.ErrJournalMismatch) {
			if rerr := o.writeReports(ctx, io.Err); rerr != nil {
				fmt.Fprintf(io.Err, "scimigrate apply: %v\n", rerr)
			}
		}
		return exitUsage
	}
	fmt.Fprintln(io.Err, sum.String())
	if err := o.writeReports(ctx, io.Err); err != nil {
		fmt.Fprintf(io.Err, "scimigrate apply: %v\n", err)
		return exitUsage
	}
	return max(convCode, sum.ExitCode())
}

// writeReport writes a report file as createOutput does: mode 0600, through a
// new temporary file renamed into place (never written through a link).
func writeReport(ctx context.Context, journal, format, path string) error {
	return writeOutputFunc(path, func(w goio.Writer) error { return renderReport(ctx, journal, format, w) })
}

func runStatus(args []string, io IO) int {
	fs := newFlagSet("status", io.Err)
	journal := fs.String("journal", "scimigrate-journal.db", "the journal of an apply run")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if err := apply.Status(context.Background(), *journal, io.Out); err != nil {
		fmt.Fprintf(io.Err, "scimigrate status: %v\n", err)
		return exitUsage
	}
	return exitOK
}

func runReport(args []string, s IO) int {
	fs := newFlagSet("report", s.Err)
	journal := fs.String("journal", "scimigrate-journal.db", "the journal of an apply run")
	format := fs.String("format", "csv", reportFormats)
	out := fs.String("o", "", "write to this file (mode 0600) instead of stdout")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	w := s.Out
	if *out != "" {
		if err := writeReport(context.Background(), *journal, *format, *out); err != nil {
			fmt.Fprintf(s.Err, "scimigrate report: %v\n", err)
			return exitUsage
		}
		return exitOK
	}
	if err := renderReport(context.Background(), *journal, *format, w); err != nil {
		fmt.Fprintf(s.Err, "scimigrate report: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// opsSeq yields a list of operations to the apply engine.
func opsSeq(ops []batcher.Operation) iter.Seq2[batcher.Operation, error] {
	return func(yield func(batcher.Operation, error) bool) {
		for _, op := range ops {
			if !yield(op, nil) {
				return
			}
		}
	}
}
