package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"scimigrate/batcher/plan"
	"scimigrate/converter"
	"scimigrate/converter/source"
	"scimigrate/scim"
)

// exportCommand saves the live state of the employees named in the input
// files (or of every user of the company) as a snapshot, so that a plan can
// be reviewed and re-run offline (scimigrate plan --snapshot FILE).
func exportCommand() *command {
	var o convertOptions
	var t targetOptions
	var out string
	return &command{
		name:    "export",
		summary: "save the target's current users as a snapshot for offline plans",
		usage:   "export --base-url URL -o snapshot.ndjson [flags] [FILE...]",
		desc: "export reads the live state of the employees the input files name (without input files: every " +
			"user of the company) and saves it as a snapshot (NDJSON of SCIM users, mode 0600), so that " +
			"'scimigrate plan --snapshot FILE' can be reviewed and re-run offline. A target that cannot be " +
			"reached or authenticated exits 2.",
		flags: func(fs *flag.FlagSet) {
			o.register(fs, false)
			t.register(fs, targetFlags{lookup: true})
			fs.StringVar(&out, "o", "", "write the snapshot (NDJSON, mode 0600) to this file; - for standard output")
		},
		args: func(args []string) error {
			o.Files = args
			if (t.BaseURL == "" && t.TokenFile == "") || out == "" {
				return usageErrorf("--base-url URL (or the --token-file of 'scimigrate login') and -o FILE are required")
			}
			return nil
		},
		run: func(ctx context.Context, cio *IO) error { return export(ctx, cio, &o, &t, out) },
	}
}

func export(ctx context.Context, cio *IO, o *convertOptions, t *targetOptions, out string) error {
	o.idsOnly = true // export reads the employees the input names; it sends nothing
	errw := bufio.NewWriter(cio.Err)
	defer errw.Flush()
	var wants []plan.Want
	all := len(o.Files) == 0
	if !all {
		w, err := o.collectWants(ctx, cio, errw)
		if err != nil {
			return fatal(err)
		}
		wants = w
	}
	errw.Flush()
	l, err := t.live(ctx, cio)
	if err != nil {
		return err
	}
	// Users are written as their pages arrive (memory grows with a page).
	var n int
	if out == "-" {
		bw := bufio.NewWriter(cio.Out)
		n, err = l.Export(ctx, wants, all, bw)
		if err == nil {
			err = bw.Flush()
		}
	} else {
		var tmp *os.File
		tmp, err = os.CreateTemp(filepath.Dir(out), ".export-*")
		if err == nil {
			n, err = l.Export(ctx, wants, all, tmp)
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp.Name(), out)
			}
			os.Remove(tmp.Name())
		}
	}
	if err != nil {
		return fatal(fmt.Errorf("reading the target: %w", err))
	}
	what := "every user of the company"
	if !all {
		what = fmt.Sprintf("the %d employee(s) the input names", len(wants))
	}
	fmt.Fprintf(errw, "scimigrate export: saved %d user(s) (%s) from %s to %s\n", n, what, l.BaseURL(), out)
	return nil
}

// collectWants converts the inputs keeping only the employees' IDs (no
// resources): what a lookup of the target needs.
func (o *convertOptions) collectWants(ctx context.Context, io *IO, errw *bufio.Writer) ([]plan.Want, error) {
	set, inputs, closeInputs, err := o.open(io.In)
	if err != nil {
		return nil, err
	}
	defer closeInputs()
	echo := source.NewEcho(errw, o.EchoLimit)
	copts := plan.CollectOptions{Set: set, CompanyID: set.Config.CompanyID, Workers: o.Workers, Diag: echo.Write}
	if o.idsOnly {
		copts.Validate = func(*scim.User, bool) []converter.Violation { return nil }
	}
	wants, d, err := plan.CollectWants(ctx, inputs, copts)
	echo.Flush()
	readSummary(errw, d)
	return wants, err
}

// collectWantsQuiet is collectWants without diagnostics or summary (a
// later conversion of the same inputs reports them).
func (o *convertOptions) collectWantsQuiet(ctx context.Context, io *IO) ([]plan.Want, error) {
	set, inputs, closeInputs, err := o.open(io.In)
	if err != nil {
		return nil, err
	}
	defer closeInputs()
	copts := plan.CollectOptions{Set: set, CompanyID: set.Config.CompanyID, Workers: o.Workers}
	if o.idsOnly {
		copts.Validate = func(*scim.User, bool) []converter.Violation { return nil }
	}
	wants, _, err := plan.CollectWants(ctx, inputs, copts)
	return wants, err
}
