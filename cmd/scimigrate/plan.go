package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"scimigrate/batcher/plan"
	"scimigrate/converter"
	"scimigrate/converter/source"
	"scimigrate/mapping"
	"scimigrate/scim"
)

type planOptions struct {
	convertOptions
	target            targetOptions
	Existing          string
	DeactivateMissing bool
	MaxDeactivate     string
	TerminationDate   string
	Out               string
	DetailedExitcode  bool
	State             string
	Detail            bool
}

func planCommand() *command {
	var o planOptions
	var popts plan.Options
	return &command{
		name:    "plan",
		summary: "diff the input against the target (snapshot or live) and show or save the plan",
		usage:   "plan (--snapshot FILE | --base-url URL) [flags] FILE...",
		desc: "plan converts the input files and diffs them against the current state of the target, read from a " +
			"snapshot (--snapshot, as 'scimigrate export' writes) or live (--base-url), like a terraform plan: " +
			"+ create, ~ update (attribute by attribute, minimal PATCHes), - deactivate, ! rejected. Nothing is " +
			"sent. The plan opens with a summary by attribute; past " + fmt.Sprint(plan.DetailThreshold) + " changed users only the " +
			"summary is printed and the per-user blocks go to plan.txt in --out DIR (or are printed with --detail); " +
			"'scimigrate plan show DIR' drills into a saved plan. Against a snapshot the plan streams: the snapshot " +
			"is indexed, not loaded. --out saves plan.json and the exact Bulk request bodies for 'scimigrate apply DIR'. Exit 1 when " +
			"records are rejected or the plan breaks --max-deactivate; with --detailed-exitcode: 0 no changes, " +
			"2 changes present, 1 any error (a usage error included).",
		detailed: "detailed-exitcode",
		subs:     []*command{planShowCommand()},
		flags: func(fs *flag.FlagSet) {
			o.convertOptions.register(fs, false)
			o.target.register(fs, targetFlags{snapshot: true, lookup: true})
			fs.StringVar(&o.Existing, "existing", "", "existing-record handling UPDATE or REPLACE (default: each file's 100 record, else existing in --config, else UPDATE)")
			fs.BoolVar(&o.DeactivateMissing, "deactivate-missing", false, "deactivate the users of the target that a full input file does not name (needs --max-deactivate)")
			fs.StringVar(&o.MaxDeactivate, "max-deactivate", "", "with --deactivate-missing: the plan fails if it would deactivate more than N users or P% of the target (10 or 5%)")
			fs.StringVar(&o.TerminationDate, "termination-date", "", "terminationDate set on deactivated users that have none (YYYY-MM-DD; default today, UTC)")
			fs.StringVar(&o.Out, "out", "", "save the plan in this directory: plan.json and the exact Bulk request bodies (bulk-0001.json, …) for 'scimigrate apply DIR'")
			fs.BoolVar(&o.Detail, "detail", false, fmt.Sprintf("print every user's block even when more than %d users change (a larger plan prints its summary by attribute; the blocks go to plan.txt in --out DIR)", plan.DetailThreshold))
			fs.BoolVar(&o.DetailedExitcode, "detailed-exitcode", false, "exit 0 when nothing changes, 2 when the plan has changes, 1 on any error")
			fs.StringVar(&o.State, "state", "", "applied state written by apply: entitlements are compared with what scimigrate applied, since the target never returns them (default: "+plan.StateFile+" if present)")
		},
		args: func(args []string) error {
			o.Files = args
			p, err := o.check()
			popts = p
			return err
		},
		run: func(ctx context.Context, cio *IO) error { return o.plan(ctx, cio, popts) },
	}
}

// check validates the flags and returns the planner's options.
func (o *planOptions) check() (plan.Options, error) {
	switch {
	case len(o.Files) == 0:
		return plan.Options{}, usageErrorf("no input files (use - for standard input)")
	case (o.target.Snapshot == "") == (o.target.BaseURL == "" && o.target.TokenFile == ""):
		return plan.Options{}, usageErrorf("give the current state with exactly one of --snapshot FILE and --base-url URL (or --token-file FILE)")
	case o.MaxDeactivate != "" && !o.DeactivateMissing:
		return plan.Options{}, usageErrorf("--max-deactivate needs --deactivate-missing")
	case o.DeactivateMissing && o.MaxDeactivate == "":
		return plan.Options{}, usageErrorf("--deactivate-missing needs --max-deactivate N or P%% (the most users the plan may deactivate)")
	}
	existing, err := checkExisting(o.Existing)
	if err != nil {
		return plan.Options{}, err
	}
	popts := plan.Options{Existing: existing, DeactivateMissing: o.DeactivateMissing}
	if o.DeactivateMissing {
		lim, err := plan.ParseLimit(o.MaxDeactivate)
		if err != nil {
			return plan.Options{}, usageErrorf("%v", err)
		}
		popts.MaxDeactivate = lim
	}
	if o.TerminationDate != "" {
		d, err := time.Parse("2006-01-02", o.TerminationDate)
		if err != nil {
			return plan.Options{}, usageErrorf("--termination-date %q: want YYYY-MM-DD", o.TerminationDate)
		}
		popts.TerminationDate = d.Format("2006-01-02T15:04:05Z")
	}
	st, name, err := readPlanState(o.State)
	if err != nil {
		return plan.Options{}, usageErrorf("%v", err)
	}
	popts.State, popts.StateName = st, name
	return popts, nil
}

// checkExisting validates --existing (plan and apply).
func checkExisting(v string) (string, error) {
	switch u := strings.ToUpper(v); u {
	case "", "UPDATE", "REPLACE":
		return u, nil
	}
	return "", usageErrorf("--existing %q: want UPDATE or REPLACE", v)
}

// collected is the converted input of a plan or an export.
type collected struct {
	set      *mapping.Set
	d        *plan.Desired
	rejected *rejections // records the conversion rejected, for plan.html
}

// collect loads the mappings and converts the inputs, writing diagnostics
// to errw.
func (o *convertOptions) collect(ctx context.Context, io *IO, errw *bufio.Writer) (*collected, error) {
	set, inputs, closeInputs, err := o.open(io.In)
	if err != nil {
		return nil, err
	}
	defer closeInputs()
	echo := source.NewEcho(errw, o.EchoLimit)
	rej := &rejections{}
	copts := plan.CollectOptions{Set: set, CompanyID: set.Config.CompanyID, Workers: o.Workers,
		Diag: func(dg source.Diagnostic) { echo.Write(dg); rej.add(dg) }, Unconverted: rej.unconverted}
	if o.idsOnly {
		copts.Validate = func(*scim.User, bool) []converter.Violation { return nil }
	}
	d, err := plan.Collect(ctx, inputs, copts)
	echo.Flush()
	readSummary(errw, d)
	if err != nil {
		return nil, err
	}
	return &collected{set: set, d: d, rejected: rej}, nil
}

func readSummary(errw *bufio.Writer, d *plan.Desired) {
	if d != nil && d.Stats != nil {
		st := d.Stats
		unsupported := ""
		if st.RecordsUnsupported > 0 {
			// Named, with their first line, in a warning above; counted here.
			unsupported = fmt.Sprintf(", %d record(s) of unsupported types not converted", st.RecordsUnsupported)
		}
		fmt.Fprintf(errw, "scimigrate: read %d record(s) from %d file(s): %d employee(s) (%d with an identity record), %d ID change(s), %d record(s) rejected%s, %d error(s), %d warning(s)\n",
			st.Total(), st.Files, d.Employees, st.UsersEmitted, len(d.Intents), st.RecordsRejected, unsupported, st.Errors, st.Warnings)
	}
}

// planned is a computed plan with what it was computed from.
type planned struct {
	c      *collected
	target plan.TargetInfo
	p      *plan.Plan
}

// planMemoryLimit is the soft memory limit of a plan against a snapshot
// (GOMEMLIMIT overrides it).
const planMemoryLimit = 640 << 20

// streamPlan plans against a snapshot file without loading it: the
// snapshot is indexed while the input's first pass runs, and each employee
// is planned in the converter's workers as it is converted.
func streamPlan(ctx context.Context, io *IO, errw *bufio.Writer, co *convertOptions, snapshot string, popts plan.Options) (*planned, error) {
	if os.Getenv("GOMEMLIMIT") == "" {
		// The live heap is the indexes and the users' plans; parsing every
		// matched user makes much garbage, which GOGC=400 (see main) would
		// let grow to several times the live heap. A soft limit keeps the
		// collector lazy below it and busy near it.
		debug.SetMemoryLimit(planMemoryLimit)
	}
	set, inputs, closeInputs, err := co.open(io.In)
	if err != nil {
		return nil, fatal(err)
	}
	defer closeInputs()
	popts.Set = set
	echo := source.NewEcho(errw, co.EchoLimit)
	rej := &rejections{}
	copts := plan.CollectOptions{Set: set, CompanyID: set.Config.CompanyID, Workers: co.Workers,
		Diag: func(dg source.Diagnostic) { echo.Write(dg); rej.add(dg) }, Unconverted: rej.unconverted}
	if co.idsOnly {
		copts.Validate = func(*scim.User, bool) []converter.Violation { return nil }
	}
	p, d, err := plan.Stream(ctx, inputs, plan.StreamOptions{CollectOptions: copts, Plan: popts, Snapshot: snapshot})
	echo.Flush()
	readSummary(errw, d)
	if err != nil {
		var le *plan.DeactivationLimitError
		if errors.As(err, &le) {
			return nil, planError(err)
		}
		return nil, fatal(err)
	}
	r := &planned{c: &collected{set: set, d: d, rejected: rej}, p: p,
		target: plan.TargetInfo{Kind: "snapshot", Snapshot: snapshot, Users: p.TargetUsers, CompanyID: set.Config.CompanyID}}
	if set.Config.CompanyID == "" && p.Counts.Create > 0 {
		fmt.Fprintf(errw, "scimigrate: warning: no company ID (--company-id or companyId in --config): UPS requires enterprise companyId on create\n")
	}
	return r, nil
}

// makePlan converts the inputs of co, reads the current state (to's
// snapshot, or the live target, the whole company when deactivateAll) and
// computes the plan. It is what `scimigrate plan` runs, and what `apply
// FILE...` without a saved plan runs first (with a live target).
// Diagnostics go to errw; errors are returned (see reportPlanError).
func makePlan(ctx context.Context, io *IO, errw *bufio.Writer, co *convertOptions, to *targetOptions, popts plan.Options) (*planned, error) {
	// Standard input is read once, into a private file both conversions
	// of a live plan read, and hashed (a saved plan and the journal record
	// it as they record an input file).
	co, unspool, err := co.spoolStdin(ctx, io.In)
	if err != nil {
		return nil, fatal(err)
	}
	defer unspool()
	if to.Snapshot != "" {
		return streamPlan(ctx, io, errw, co, to.Snapshot, popts)
	}
	// Live: the employees' IDs first (a conversion that keeps nothing
	// else, its diagnostics left to the plan's), then their state, written
	// to a private temporary snapshot as the pages arrive, then the same
	// streaming plan against it.
	quiet := *co
	quiet.EchoLimit = 0
	wants, err := quiet.collectWantsQuiet(ctx, io)
	if err != nil {
		// The plan's conversion reports it with its diagnostics.
		return streamPlanLiveErr(ctx, io, errw, co, popts, err)
	}
	errw.Flush()
	l, err := to.live(ctx, io)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp("", "scimigrate-state-*.ndjson") // mode 0600
	if err != nil {
		return nil, fatal(err)
	}
	defer os.Remove(tmp.Name())
	n, err := l.ExportState(ctx, wants, popts.DeactivateMissing, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fatal(fmt.Errorf("reading the target: %w", err))
	}
	r, err := streamPlan(ctx, io, errw, co, tmp.Name(), popts)
	if err != nil {
		return nil, err
	}
	r.target = plan.TargetInfo{Kind: "live", BaseURL: l.BaseURL(), Users: n, CompanyID: r.target.CompanyID}
	r.p.Target = l.BaseURL()
	return r, nil
}

// streamPlanLiveErr reports a conversion that failed before the target was
// read: the conversion runs again with its diagnostics shown.
func streamPlanLiveErr(ctx context.Context, io *IO, errw *bufio.Writer, co *convertOptions, popts plan.Options, first error) (*planned, error) {
	if _, err := co.collect(ctx, io, errw); err != nil {
		return nil, fatal(err)
	}
	return nil, fatal(first)
}

// planError types an error of plan.Make: a --max-deactivate breach is a
// plan error (exit 1) whose message lists the users; anything else is fatal.
func planError(err error) error {
	var le *plan.DeactivationLimitError
	if !errors.As(err, &le) {
		return fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--deactivate-missing would deactivate %d of the target's %d users; --max-deactivate %s allows %d. Users not in the input:",
		len(le.Candidates), le.Total, le.Limit, le.Allowed)
	for _, c := range le.Candidates {
		fmt.Fprintf(&b, "\n  %s", c)
	}
	return &rejectedError{errors.New(b.String())}
}

func (o *planOptions) plan(ctx context.Context, io *IO, popts plan.Options) error {
	errw := bufio.NewWriter(io.Err)
	defer errw.Flush()
	r, err := makePlan(ctx, io, errw, &o.convertOptions, &o.target, popts)
	errw.Flush()
	if err != nil {
		return err
	}
	c, target, p := r.c, r.target, r.p
	defer p.Close()
	summaryOnly := !o.Detail && p.Counts.Changed() > plan.DetailThreshold
	if err := p.Render(io.Out, plan.RenderOptions{Color: io.Color(), SummaryOnly: summaryOnly}); err != nil {
		return fatal(err)
	}
	if o.Out != "" {
		info := plan.SaveInfo{Tool: "scimigrate " + version, Created: time.Now(), Target: target, Inputs: o.Files,
			Mapping:  plan.MappingInfo{Version: plan.MappingVersion(c.set), Overrides: o.Mappings, Config: o.Config},
			Snapshot: o.target.Snapshot, InputHash: map[string]string{"-": o.stdinSHA256}, InputBytes: map[string]int64{"-": o.stdinBytes}}
		if popts.DeactivateMissing {
			info.Deactive = &plan.DeactivateIn{Max: popts.MaxDeactivate.String(), Allowed: popts.MaxDeactivate.Of(target.Users), TerminationDate: popts.TerminationDate}
		}
		f, err := p.Save(o.Out, info)
		if err == nil {
			err = savePlanHTML(o.Out, p, f, c)
		}
		if err != nil {
			return fatal(fmt.Errorf("saving the plan: %w", err))
		}
		// The whole human plan, always: a plan.txt of an earlier plan in DIR
		// must not outlive it.
		if err := writeDetail(o.Out, p); err != nil {
			return fatal(fmt.Errorf("writing %s: %w", detailFile, err))
		}
		fmt.Fprintf(errw, "scimigrate plan: saved in %s (%s, plan.html, %s and %d Bulk request(s)); run 'scimigrate apply %s' to send exactly this plan\n",
			o.Out, plan.PlanFile, detailFile, len(p.Requests), o.Out)
	}
	if summaryOnly {
		if o.Out != "" {
			fmt.Fprintf(errw, "scimigrate plan: %d users change: the summary is above, every user's block is in %s ('scimigrate plan show %s --employee N' shows one)\n",
				p.Counts.Changed(), filepath.Join(o.Out, detailFile), o.Out)
		} else {
			fmt.Fprintf(errw, "scimigrate plan: %d users change: the summary is above; --out DIR writes every user's block to DIR/%s, --detail prints them\n",
				p.Counts.Changed(), detailFile)
		}
	}
	st := c.d.Stats
	if p.Counts.Rejected > 0 || (st != nil && st.RecordsRejected > 0) {
		return errRejected
	}
	if p.Counts.Changes() {
		return changesPresent{} // exit 2 with --detailed-exitcode, else 0
	}
	return nil
}
