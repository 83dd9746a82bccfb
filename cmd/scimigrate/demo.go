package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"scimigrate/converter"
	"scimigrate/fixtures"
	"scimigrate/mapping"
	"scimigrate/upsim"
)

// demoCommand is the main job on the embedded sample (every record type,
// the transforms, an update-only employee, an ID change, unsupported record
// types): convert it, then apply it to an in-process UPS simulator on
// loopback through a journal, showing progress and the final report.
// --convert-only stops after conversion and prints the SCIM resources.
func demoCommand() *command {
	var convertOnly bool
	return &command{
		name:    "demo",
		summary: "run the main job on the embedded sample data",
		usage:   "demo [--convert-only]",
		desc: "demo runs the main job on the embedded sample (every record type, the transforms, an update-only " +
			"employee, an ID change, unsupported record types): it converts the sample, then applies it to an " +
			"in-process UPS simulator on loopback through a journal in a temporary directory, showing progress and " +
			"the final per-record report. The sample's deliberate rejections do not fail the demo.",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&convertOnly, "convert-only", false, "print the converted SCIM resources instead of applying them")
		},
		run: func(ctx context.Context, cio *IO) error { return demo(ctx, cio, convertOnly) },
	}
}

func demo(ctx context.Context, cio *IO, convertOnly bool) error {
	dir, err := os.MkdirTemp("", "scimigrate-demo-")
	if err != nil {
		return fatal(err)
	}
	defer os.RemoveAll(dir)
	// The sample is written to the temporary directory and named
	// sample.txt in diagnostics and the report; the working directory is
	// left alone, so the demo runs in-process like every command.
	sample := filepath.Join(dir, "sample.txt")
	if err := os.WriteFile(sample, fixtures.SampleFlat, 0o600); err != nil {
		return fatal(err)
	}
	cfg, err := mapping.ParseConfig(fixtures.SampleConfig, "config.yaml")
	if err != nil {
		return fatal(err)
	}
	conv := convertOptions{Config: "config.yaml", Files: []string{"sample.txt"}, config: cfg,
		inputs: func() ([]converter.Input, error) {
			in, err := converter.OpenFlatNamed(sample, "sample.txt")
			if err != nil {
				return nil, err
			}
			return []converter.Input{in}, nil
		}}
	if convertOnly {
		fmt.Fprintln(cio.Err, "== scimigrate convert --config config.yaml sample.txt   (embedded sample)")
		var out bytes.Buffer
		err := conv.convert(ctx, cio.withStreams(&out, cio.Err), true)
		cio.Out.Write(out.Bytes())
		return err
	}

	sim := upsim.NewServer(upsim.Options{Seed: 1, AccessToken: "demo-token", CompletionDelay: 300 * time.Millisecond, PageSize: 2})
	defer sim.Close()
	fmt.Fprintf(cio.Err, "== UPS simulator on %s\n", sim.URL())
	fmt.Fprintln(cio.Err, "== scimigrate apply --create-only --config config.yaml --journal journal.db sample.txt   (embedded sample)")
	report := filepath.Join(dir, "report.csv")
	o := applyOptions{
		convertOptions: conv,
		target:         targetOptions{BaseURL: sim.URL(), Concurrency: 2},
		Journal:        filepath.Join(dir, "journal.db"),
		CreateOnly:     true,
		PollInterval:   200 * time.Millisecond,
		Report:         report,
		ProgressEvery:  time.Second,
	}
	// The simulator's token, not the caller's credentials.
	dio := *cio
	dio.Env = func(k string) string {
		if k == "SCIMIGRATE_ACCESS_TOKEN" {
			return "demo-token"
		}
		if k == "SCIMIGRATE_CLIENT_ID" || k == "SCIMIGRATE_CLIENT_SECRET" || k == "SCIMIGRATE_REFRESH_TOKEN" {
			return ""
		}
		return cio.getenv(k)
	}
	runErr := o.run(ctx, &dio)
	var re *rejectedError
	if runErr != nil && !errors.As(runErr, &re) {
		return runErr
	}
	data, err := os.ReadFile(report)
	if err != nil {
		return fatal(err)
	}
	fmt.Fprintln(cio.Err, "== report (one row per source record):")
	cio.Out.Write(data)
	fmt.Fprintf(cio.Err, "== the simulated tenant now holds %d users\n", len(sim.Users()))
	if runErr != nil {
		// The sample is built to show every kind of outcome: an update-only
		// employee and an ID change that --create-only reports, and a 310-only
		// user that validation rejects (no currency, country or rule class).
		fmt.Fprintln(cio.Err, "== done: the errors above are the sample's deliberate cases (a real run would exit 1)")
	}
	return nil
}
