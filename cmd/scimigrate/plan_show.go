package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"scimigrate/batcher/plan"
)

// planShowCommand prints a saved plan's summary, or one attribute's or one
// employee's changes.
func planShowCommand() *command {
	var o plan.ShowOptions
	var dir string
	var fs *flag.FlagSet
	return &command{
		name:    "show",
		summary: "print a saved plan's summary, or drill into one attribute or employee",
		usage:   "plan show [--attribute PATH | --employee N] DIR",
		desc: "plan show prints the summary by attribute of the plan saved in DIR (plan --out DIR) and its " +
			"counts; --attribute PATH lists every change of that attribute (a path below its extension such as " +
			"title or customData, or the full path) with old and new values; --employee N prints that employee's " +
			"block. Exit 1 when the attribute or employee is not in the plan.",
		flags: func(f *flag.FlagSet) {
			fs = f
			fs.StringVar(&o.Attribute, "attribute", "", "list every user whose changes touch this attribute path")
			fs.StringVar(&o.Employee, "employee", "", "show this employee's block")
		},
		args: func(args []string) error {
			// Flags may follow the directory (plan show DIR --employee N).
			if len(args) > 1 {
				if err := fs.Parse(args[1:]); err != nil {
					return &usageError{err.Error()}
				}
				args = append(args[:1], fs.Args()...)
			}
			if len(args) != 1 {
				return usageErrorf("give the directory of one saved plan (plan --out DIR)")
			}
			if o.Attribute != "" && o.Employee != "" {
				return usageErrorf("give at most one of --attribute and --employee")
			}
			dir = args[0]
			return nil
		},
		run: func(_ context.Context, cio *IO) error {
			o.Color = cio.Color()
			if err := plan.ShowDir(cio.Out, dir, o); err != nil {
				var nf *plan.ErrNotInPlan
				if errors.As(err, &nf) {
					return &rejectedError{fmt.Errorf("%s: %w", dir, err)}
				}
				return fatal(err)
			}
			return nil
		},
	}
}

// detailFile is the whole human plan in --out DIR.
const detailFile = "plan.txt"

// writeDetail writes the whole human plan (no colour) to DIR/plan.txt,
// mode 0600.
func writeDetail(dir string, p *plan.Plan) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
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
	return os.Rename(tmp.Name(), filepath.Join(dir, detailFile))
}
