package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"scimigrate/batcher/client"
	"scimigrate/batcher/plan"
	"scimigrate/converter/source"
	"scimigrate/mapping"
)

// targetOptions say where the current state comes from.
type targetOptions struct {
	Snapshot    string
	BaseURL     string
	TokenFile   string
	V4Filter    bool
	Concurrency int
}

func (o *targetOptions) register(fs *flag.FlagSet, withSnapshot bool) {
	if withSnapshot {
		fs.StringVar(&o.Snapshot, "snapshot", "", "current state from a snapshot file (NDJSON of SCIM users, as 'scimigrate export' writes)")
	}
	fs.StringVar(&o.BaseURL, "base-url", "", "current state read live from this datacenter URI (credentials from SCIMIGRATE_ACCESS_TOKEN, or SCIMIGRATE_CLIENT_ID, SCIMIGRATE_CLIENT_SECRET and SCIMIGRATE_REFRESH_TOKEN)")
	fs.StringVar(&o.TokenFile, "token-file", "", "keep a rotated refresh token and the geolocation in this file (mode 0600)")
	fs.BoolVar(&o.V4Filter, "v4-lookup", false, "look users up with Identity v4 (one request per employee) instead of the v4.1 search")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "requests in flight when reading the target")
}

// live returns the reader of the target named by --base-url.
func (o *targetOptions) live(ctx context.Context, logw io.Writer) (*plan.Live, error) {
	creds, err := client.CredentialsFromEnv(nil)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 60 * time.Second}
	l := &plan.Live{BaseURL: strings.TrimRight(o.BaseURL, "/"), HTTP: hc, Concurrency: o.Concurrency, V4Filter: o.V4Filter,
		Logf: func(format string, args ...any) { fmt.Fprintf(logw, "scimigrate: "+format+"\n", args...) }}
	if creds.AccessToken != "" {
		l.Tokens = client.StaticToken(creds.AccessToken)
		return l, nil
	}
	refresh := creds.RefreshToken
	if o.TokenFile != "" {
		st, err := client.LoadTokenFile(o.TokenFile)
		if err != nil {
			return nil, err
		}
		if st != nil && st.RefreshToken != "" {
			refresh = st.RefreshToken
			if st.Geolocation != "" {
				l.BaseURL = strings.TrimRight(st.Geolocation, "/")
			}
		}
	}
	geo := ""
	base := l.BaseURL
	ts := client.NewRefreshTokenSource(client.RefreshConfig{
		ClientID: creds.ClientID, ClientSecret: creds.ClientSecret, RefreshToken: refresh,
		BaseURL: func() string { return base }, HTTPClient: hc,
		Rotated: func(rt, g string) error {
			geo = g
			if o.TokenFile == "" {
				return nil
			}
			return client.SaveTokenFile(o.TokenFile, client.StoredToken{RefreshToken: rt, Geolocation: g, Updated: time.Now().UTC()})
		},
	})
	// The first token names the geolocation every later call goes to.
	if _, err := ts.Token(ctx); err != nil {
		return nil, err
	}
	if geo != "" {
		l.BaseURL = strings.TrimRight(geo, "/")
	}
	l.Tokens = ts
	return l, nil
}

type planOptions struct {
	convertOptions
	target            targetOptions
	Existing          string
	DeactivateMissing bool
	MaxDeactivate     string
	TerminationDate   string
	Out               string
	DetailedExitcode  bool
	Detail            bool
}

func runPlan(args []string, io IO) int {
	if len(args) > 0 && args[0] == "show" {
		return runPlanShow(args[1:], io)
	}
	var o planOptions
	fs := newFlagSet("plan", io.Err)
	o.convertOptions.register(fs, false)
	o.target.register(fs, true)
	fs.StringVar(&o.Existing, "existing", "", "existing-record handling UPDATE or REPLACE (default: each file's 100 record, else existing in --config, else UPDATE)")
	fs.BoolVar(&o.DeactivateMissing, "deactivate-missing", false, "deactivate the users of the target that a full input file does not name (needs --max-deactivate)")
	fs.StringVar(&o.MaxDeactivate, "max-deactivate", "", "with --deactivate-missing: the plan fails if it would deactivate more than N users or P% of the target (10 or 5%)")
	fs.StringVar(&o.TerminationDate, "termination-date", "", "terminationDate set on deactivated users that have none (YYYY-MM-DD; default today, UTC)")
	fs.StringVar(&o.Out, "out", "", "save the plan in this directory: plan.json and the exact Bulk request bodies (bulk-0001.json, …) for 'scimigrate apply DIR'")
	fs.BoolVar(&o.Detail, "detail", false, fmt.Sprintf("print every user's block even when more than %d users change (by default a larger plan prints its summary; the blocks go to plan.txt in --out DIR)", plan.DetailThreshold))
	fs.BoolVar(&o.DetailedExitcode, "detailed-exitcode", false, "exit 0 when nothing changes, 2 when the plan has changes, 1 on error")
	fs.Usage = func() {
		fmt.Fprintf(io.Err, "usage: scimigrate plan [--snapshot FILE | --base-url URL] [flags] FILE...\n"+
			"       scimigrate plan show DIR [--attribute PATH | --employee N]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	o.Files = fs.Args()
	fail := exitUsage
	if o.DetailedExitcode {
		fail = exitRejected // 2 means "changes" with --detailed-exitcode
	}
	usageErr := func(format string, args ...any) int {
		fmt.Fprintf(io.Err, "scimigrate plan: "+format+"\n", args...)
		return fail
	}
	switch {
	case len(o.Files) == 0:
		return usageErr("no input files (use - for standard input)")
	case (o.target.Snapshot == "") == (o.target.BaseURL == ""):
		return usageErr("give the current state with exactly one of --snapshot FILE and --base-url URL")
	case o.MaxDeactivate != "" && !o.DeactivateMissing:
		return usageErr("--max-deactivate needs --deactivate-missing")
	case o.DeactivateMissing && o.MaxDeactivate == "":
		return usageErr("--deactivate-missing needs --max-deactivate N or P%% (the most users the plan may deactivate)")
	}
	switch strings.ToUpper(o.Existing) {
	case "", "UPDATE", "REPLACE":
	default:
		return usageErr("--existing %q: want UPDATE or REPLACE", o.Existing)
	}
	popts := plan.Options{Existing: strings.ToUpper(o.Existing), DeactivateMissing: o.DeactivateMissing}
	if o.DeactivateMissing {
		lim, err := plan.ParseLimit(o.MaxDeactivate)
		if err != nil {
			return usageErr("%v", err)
		}
		popts.MaxDeactivate = lim
	}
	if o.TerminationDate != "" {
		d, err := time.Parse("2006-01-02", o.TerminationDate)
		if err != nil {
			return usageErr("--termination-date %q: want YYYY-MM-DD", o.TerminationDate)
		}
		popts.TerminationDate = d.Format("2006-01-02T15:04:05Z")
	}
	return o.plan(context.Background(), io, popts, fail)
}

// collected is the converted input of a plan or an export.
type collected struct {
	set *mapping.Set
	d   *plan.Desired
}

// collect loads the mappings and converts the inputs, writing diagnostics
// to errw.
func (o *convertOptions) collect(ctx context.Context, io IO, errw *bufio.Writer) (*collected, error) {
	set, inputs, closeInputs, err := o.open(io.In)
	if err != nil {
		return nil, err
	}
	defer closeInputs()
	d, err := plan.Collect(ctx, inputs, plan.CollectOptions{Set: set, CompanyID: set.Config.CompanyID, Workers: o.Workers,
		Diag: diagTo(errw)})
	readSummary(errw, d)
	if err != nil {
		return nil, err
	}
	return &collected{set: set, d: d}, nil
}

func diagTo(errw *bufio.Writer) source.Sink {
	return func(dg source.Diagnostic) { errw.WriteString(dg.String()); errw.WriteByte('\n') }
}

func readSummary(errw *bufio.Writer, d *plan.Desired) {
	if d != nil && d.Stats != nil {
		st := d.Stats
		fmt.Fprintf(errw, "scimigrate: read %d record(s) from %d file(s): %d employee(s) (%d with an identity record), %d ID change(s), %d record(s) rejected, %d error(s), %d warning(s)\n",
			st.Total(), st.Files, d.Employees, st.UsersEmitted, len(d.Intents), st.RecordsRejected, st.Errors, st.Warnings)
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

// makePlan converts the inputs of co, reads the current state (to's
// snapshot, or the live target, the whole company when deactivateAll) and
// computes the plan. It is what `scimigrate plan` runs, and what `apply
// FILE...` without a saved plan runs first (with a live target).
// Against a snapshot file the plan streams: the snapshot is indexed, not
// loaded, and each employee is planned as it is converted.
// Diagnostics go to errw; errors are returned (see reportPlanError).
func makePlan(ctx context.Context, io IO, errw *bufio.Writer, co *convertOptions, to *targetOptions, popts plan.Options) (*planned, error) {
	if to.Snapshot != "" {
		if os.Getenv("GOMEMLIMIT") == "" {
			// The live heap is the indexes and the users' plans; parsing
			// every matched user makes much garbage, which GOGC=400 (see
			// main) would let grow to several times the live heap. A soft
			// limit keeps the collector lazy below it and busy near it.
			debug.SetMemoryLimit(planMemoryLimit)
		}
		set, inputs, closeInputs, err := co.open(io.In)
		if err != nil {
			return nil, err
		}
		defer closeInputs()
		popts.Set = set
		p, d, err := plan.Stream(ctx, inputs, plan.StreamOptions{
			CollectOptions: plan.CollectOptions{Set: set, CompanyID: set.Config.CompanyID, Workers: co.Workers, Diag: diagTo(errw)},
			Plan:           popts, Snapshot: to.Snapshot})
		readSummary(errw, d)
		if err != nil {
			return nil, err
		}
		r := &planned{c: &collected{set: set, d: d}, p: p,
			target: plan.TargetInfo{Kind: "snapshot", Snapshot: to.Snapshot, Users: p.TargetUsers}}
		return r, createWarning(errw, set, p)
	}
	c, err := co.collect(ctx, io, errw)
	if err != nil {
		return nil, err
	}
	popts.Set = c.set
	r := &planned{c: c}
	errw.Flush()
	l, err := to.live(ctx, io.Err)
	if err != nil {
		return nil, err
	}
	cur, err := l.Snapshot(ctx, c.d.Wants(), popts.DeactivateMissing, false)
	if err != nil {
		return nil, fmt.Errorf("reading the target: %w", err)
	}
	r.target = plan.TargetInfo{Kind: "live", BaseURL: l.BaseURL, Users: len(cur.Users)}
	r.p, err = plan.Make(c.d, cur, popts)
	if err != nil {
		return nil, err
	}
	return r, createWarning(errw, c.set, r.p)
}

func createWarning(errw *bufio.Writer, set *mapping.Set, p *plan.Plan) error {
	if set.Config.CompanyID == "" && p.Counts.Create > 0 {
		fmt.Fprintf(errw, "scimigrate: warning: no company ID (--company-id or companyId in --config): UPS requires enterprise companyId on create\n")
	}
	return nil
}

// reportPlanError writes a planning error; a --max-deactivate breach lists
// the users.
func reportPlanError(errw io.Writer, cmd string, err error) {
	var le *plan.DeactivationLimitError
	if errors.As(err, &le) {
		fmt.Fprintf(errw, "scimigrate %s: --deactivate-missing would deactivate %d of the target's %d users; --max-deactivate %s allows %d. Users not in the input:\n",
			cmd, len(le.Candidates), le.Total, le.Limit, le.Allowed)
		for _, c := range le.Candidates {
			fmt.Fprintf(errw, "  %s\n", c)
		}
		return
	}
	fmt.Fprintf(errw, "scimigrate %s: %v\n", cmd, err)
}

func (o *planOptions) plan(ctx context.Context, io IO, popts plan.Options, fail int) int {
	errw := bufio.NewWriter(io.Err)
	defer errw.Flush()
	r, err := makePlan(ctx, io, errw, &o.convertOptions, &o.target, popts)
	if err != nil {
		reportPlanError(errw, "plan", err)
		var le *plan.DeactivationLimitError
		if errors.As(err, &le) {
			return exitRejected
		}
		return fail
	}
	c, target, p := r.c, r.target, r.p
	errw.Flush()
	summaryOnly := !o.Detail && p.Counts.Changed() > plan.DetailThreshold
	if err := p.Render(io.Out, plan.RenderOptions{Color: colorOK(io.Out), SummaryOnly: summaryOnly}); err != nil {
		fmt.Fprintf(errw, "scimigrate plan: %v\n", err)
		return fail
	}
	if o.Out != "" {
		// The whole human plan, always: a plan.txt of an earlier plan in DIR
		// must not outlive it.
		if err := writeDetail(o.Out, p); err != nil {
			fmt.Fprintf(errw, "scimigrate plan: writing %s: %v\n", detailFile, err)
			return fail
		}
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
	if o.Out != "" {
		info := plan.SaveInfo{Tool: "scimigrate " + version, Created: time.Now(), Target: target, Inputs: o.Files,
			Mapping:  plan.MappingInfo{Version: plan.MappingVersion(c.set), Overrides: o.Mappings, Config: o.Config},
			Snapshot: o.target.Snapshot}
		if popts.DeactivateMissing {
			info.Deactive = &plan.DeactivateIn{Max: popts.MaxDeactivate.String(), Allowed: popts.MaxDeactivate.Of(target.Users), TerminationDate: popts.TerminationDate}
		}
		for _, f := range o.Files {
			if f == "-" {
				fmt.Fprintf(errw, "scimigrate plan: --out: standard input cannot be hashed into plan.json; give the input as a file\n")
				return fail
			}
		}
		if _, err := p.Save(o.Out, info); err != nil {
			fmt.Fprintf(errw, "scimigrate plan: saving the plan: %v\n", err)
			return fail
		}
		fmt.Fprintf(errw, "scimigrate plan: saved in %s (%s and %d Bulk request(s)); run 'scimigrate apply %s' to send exactly this plan\n",
			o.Out, plan.PlanFile, len(p.Requests), o.Out)
	}
	st := c.d.Stats
	if p.Counts.Rejected > 0 || (st != nil && st.RecordsRejected > 0) {
		return exitRejected
	}
	if o.DetailedExitcode && p.Counts.Changes() {
		return 2
	}
	return exitOK
}

// colorOK: colour only on a terminal, and never with NO_COLOR set.
func colorOK(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
