package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"scimigrate/fixtures"
)

// runDemo converts the embedded sample (every record type, the transforms,
// an update-only employee, an ID change, unsupported record types) with the
// embedded sample configuration.
func runDemo(args []string, io IO) int {
	fs := newFlagSet("demo", io.Err)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	dir, err := os.MkdirTemp("", "scimigrate-demo-")
	if err != nil {
		fmt.Fprintf(io.Err, "scimigrate: %v\n", err)
		return exitUsage
	}
	defer os.RemoveAll(dir)
	sample := filepath.Join(dir, "sample.txt")
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(sample, fixtures.SampleFlat, 0o600); err != nil {
		fmt.Fprintf(io.Err, "scimigrate: %v\n", err)
		return exitUsage
	}
	if err := os.WriteFile(cfg, fixtures.SampleConfig, 0o600); err != nil {
		fmt.Fprintf(io.Err, "scimigrate: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(io.Err, "== scimigrate convert --config config.yaml sample.txt  (embedded sample, %d bytes)\n", len(fixtures.SampleFlat))
	// Work inside the temporary directory so diagnostics name sample.txt.
	if wd, err := os.Getwd(); err == nil {
		defer os.Chdir(wd)
	}
	if err := os.Chdir(dir); err != nil {
		fmt.Fprintf(io.Err, "scimigrate: %v\n", err)
		return exitUsage
	}
	var out bytes.Buffer
	o := convertOptions{Config: "config.yaml", Files: []string{"sample.txt"}}
	code := o.convert(context.Background(), IO{In: io.In, Out: &out, Err: io.Err}, true)
	io.Out.Write(out.Bytes())
	return code
}
