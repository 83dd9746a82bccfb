package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"scimigrate/batcher/plan"
)

// runExport saves the live state of the employees named in the input files
// (or of every user of the company) as a snapshot, so that a plan can be
// reviewed and re-run offline (scimigrate plan --snapshot FILE).
func runExport(args []string, io IO) int {
	var o convertOptions
	var t targetOptions
	var out string
	fs := newFlagSet("export", io.Err)
	o.register(fs, false)
	t.register(fs, false)
	fs.StringVar(&out, "o", "", "write the snapshot (NDJSON, mode 0600) to this file; - for standard output")
	fs.Usage = func() {
		fmt.Fprintf(io.Err, "usage: scimigrate export --base-url URL -o snapshot.ndjson [flags] [FILE...]\n\n"+
			"Without input files every user of the company is exported.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	o.Files = fs.Args()
	o.idsOnly = true // export reads the employees the input names; it sends nothing
	if t.BaseURL == "" || out == "" {
		fmt.Fprintln(io.Err, "scimigrate export: --base-url URL and -o FILE are required")
		return exitUsage
	}
	ctx := context.Background()
	errw := bufio.NewWriter(io.Err)
	defer errw.Flush()
	var wants []plan.Want
	all := len(o.Files) == 0
	if !all {
		c, err := o.collect(ctx, io, errw)
		if err != nil {
			fmt.Fprintf(errw, "scimigrate export: %v\n", err)
			return exitUsage
		}
		wants = c.d.Wants()
	}
	errw.Flush()
	l, err := t.live(ctx, io.Err)
	if err != nil {
		fmt.Fprintf(errw, "scimigrate export: %v\n", err)
		return exitRejected
	}
	snap, err := l.Snapshot(ctx, wants, all, all)
	if err != nil {
		fmt.Fprintf(errw, "scimigrate export: reading the target: %v\n", err)
		return exitRejected
	}
	if out == "-" {
		if err := snap.Write(io.Out); err != nil {
			fmt.Fprintf(errw, "scimigrate export: %v\n", err)
			return exitRejected
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
			fmt.Fprintf(errw, "scimigrate export: %v\n", err)
			return exitRejected
		}
	}
	what := "every user of the company"
	if !all {
		what = fmt.Sprintf("the %d employee(s) the input names", len(wants))
	}
	fmt.Fprintf(errw, "scimigrate export: saved %d user(s) (%s) from %s to %s\n", len(snap.Users), what, l.BaseURL, out)
	return exitOK
}
