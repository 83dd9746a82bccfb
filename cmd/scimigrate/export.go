package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"scimigrate/batcher/plan"
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
			if t.BaseURL == "" || out == "" {
				return usageErrorf("--base-url URL and -o FILE are required")
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
		c, err := o.collect(ctx, cio, errw)
		if err != nil {
			return fatal(err)
		}
		wants = c.d.Wants()
	}
	errw.Flush()
	l, err := t.live(ctx, cio)
	if err != nil {
		return err
	}
	snap, err := l.Snapshot(ctx, wants, all, all)
	if err != nil {
		return fatal(fmt.Errorf("reading the target: %w", err))
	}
	if out == "-" {
		if err := snap.Write(cio.Out); err != nil {
			return fatal(err)
		}
	} else {
		tmp, err := os.CreateTemp(filepath.Dir(out), ".export-*")
		if err == nil {
			err = snap.Write(tmp)
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp.Name(), out)
			}
			os.Remove(tmp.Name())
		}
		if err != nil {
			return fatal(err)
		}
	}
	what := "every user of the company"
	if !all {
		what = fmt.Sprintf("the %d employee(s) the input names", len(wants))
	}
	fmt.Fprintf(errw, "scimigrate export: saved %d user(s) (%s) from %s to %s\n", len(snap.Users), what, l.BaseURL, out)
	return nil
}
