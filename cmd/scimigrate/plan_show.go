package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"scimigrate/batcher/plan"
)

// runPlanShow prints a saved plan's summary, or one attribute's or one
// employee's changes:
//
//	scimigrate plan show DIR [--attribute PATH] [--employee N]
func runPlanShow(args []string, io IO) int {
	fs := newFlagSet("plan show", io.Err)
	var o plan.ShowOptions
	fs.StringVar(&o.Attribute, "attribute", "", "list every user whose changes touch this attribute path (e.g. title, customData, or the full path with its extension URN)")
	fs.StringVar(&o.Employee, "employee", "", "show this employee's block")
	fs.Usage = func() {
		fmt.Fprintf(io.Err, "usage: scimigrate plan show DIR [--attribute PATH | --employee N]\n\n"+
			"Prints the summary of the plan saved in DIR (plan --out DIR), or drills into one attribute or employee.\n\n")
		fs.PrintDefaults()
	}
	// The directory may come before or after the flags.
	var dir string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		dir, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if dir == "" && fs.NArg() > 0 {
		dir = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(io.Err, "scimigrate plan show: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if dir == "" {
		fmt.Fprintln(io.Err, "scimigrate plan show: give the directory of a saved plan (plan --out DIR)")
		return exitUsage
	}
	if o.Attribute != "" && o.Employee != "" {
		fmt.Fprintln(io.Err, "scimigrate plan show: give at most one of --attribute and --employee")
		return exitUsage
	}
	f, err := plan.ReadFile(dir)
	if err != nil {
		fmt.Fprintf(io.Err, "scimigrate plan show: %v\n", err)
		return exitUsage
	}
	o.Color = colorOK(io.Out)
	if err := plan.Show(io.Out, f, o); err != nil {
		var nf *plan.ErrNotInPlan
		if errors.As(err, &nf) {
			fmt.Fprintf(io.Err, "scimigrate plan show: %s: %v\n", dir, err)
			return exitRejected
		}
		fmt.Fprintf(io.Err, "scimigrate plan show: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// detailFile is where a large plan's per-user blocks go in --out DIR.
const detailFile = "plan.txt"

// writeDetail writes the whole human plan (no colour) to DIR/plan.txt,
// mode 0600.
func writeDetail(dir string, p *plan.Plan) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, detailFile)
	tmp, err := os.CreateTemp(dir, ".plan-txt-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := p.Render(tmp, plan.RenderOptions{}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
