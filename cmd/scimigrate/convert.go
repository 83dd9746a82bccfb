package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"scimigrate/converter"
	"scimigrate/converter/flatfile"
	"scimigrate/converter/source"
	"scimigrate/mapping"
)

// convertOptions are the flags shared by every command that reads inputs.
type convertOptions struct {
	CompanyID string
	Config    string
	Mappings  string
	Output    string
	Intents   string
	Workers   int
	Format    string
	Encoding  string
	MaxRecord int
	EchoLimit int
	Files     []string
	// idsOnly: the inputs only name the employees to read (export), so
	// users are not validated (a missing companyId must not drop them).
	idsOnly bool
}

func (o *convertOptions) register(fs *flag.FlagSet, withOutput bool) {
	fs.StringVar(&o.CompanyID, "company-id", "", "Concur company UUID injected into created users (overrides companyId of --config)")
	fs.StringVar(&o.Config, "config", "", "site configuration YAML (companyId, travel custom fields, email types, options)")
	fs.StringVar(&o.Mappings, "mappings", "", "directory of mapping-table overrides (305.yaml, codes.yaml, …)")
	fs.IntVar(&o.Workers, "workers", 0, "conversion workers (default: number of CPUs)")
	fs.StringVar(&o.Format, "format", "", "input format: flat, v1 (Users V1 XML) or v3 (v3.0/v3.1 JSON); default: sniffed from each file's content")
	fs.StringVar(&o.Encoding, "encoding", "", "character encoding of the inputs: utf-8 (default), windows-1252, or iso-8859-1/latin1 (read as windows-1252)")
	fs.IntVar(&o.MaxRecord, "max-record-bytes", flatfile.MaxRecord, "reject (and skip) flat-file records longer than this many bytes")
	fs.IntVar(&o.EchoLimit, "max-diagnostics", source.DefaultEchoLimit, "show at most this many diagnostics of each kind (-1: all); the summary counts all")
	if withOutput {
		fs.StringVar(&o.Output, "o", "", "write the NDJSON resources to this file (mode 0600) instead of stdout")
		fs.StringVar(&o.Intents, "intents", "", "write ID-change intents (320 records) as NDJSON to this file")
	}
}

func newFlagSet(name string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	return fs
}

func runConvert(args []string, io IO) int { return convertCmd("convert", args, io, true) }

func runValidate(args []string, io IO) int { return convertCmd("validate", args, io, false) }

func convertCmd(name string, args []string, io IO, write bool) int {
	var o convertOptions
	fs := newFlagSet(name, io.Err)
	o.register(fs, write)
	fs.Usage = func() {
		fmt.Fprintf(io.Err, "usage: scimigrate %s [flags] FILE...\n\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	o.Files = fs.Args()
	if len(o.Files) == 0 {
		fmt.Fprintf(io.Err, "scimigrate %s: no input files (use - for standard input)\n", name)
		return exitUsage
	}
	return o.convert(context.Background(), io, write)
}

// loadSet reads the config and mapping tables.
func (o *convertOptions) loadSet() (*mapping.Set, error) {
	cfg := mapping.DefaultConfig()
	if o.Config != "" {
		c, err := mapping.LoadConfig(o.Config)
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	if o.CompanyID != "" {
		cfg.CompanyID = o.CompanyID
	}
	return converter.LoadMappings(o.Mappings, cfg)
}

// open loads the mappings and opens the inputs; close releases them.
func (o *convertOptions) open(stdin io.Reader) (set *mapping.Set, inputs []converter.Input, close func(), err error) {
	if set, err = o.loadSet(); err != nil {
		return nil, nil, nil, err
	}
	if inputs, err = converter.OpenInputsWith(o.Files, stdin, converter.OpenOptions{Format: o.Format, Encoding: o.Encoding, MaxRecord: o.MaxRecord}); err != nil {
		return nil, nil, nil, err
	}
	return set, inputs, func() {
		for _, in := range inputs {
			in.Close()
		}
	}, nil
}

func (o *convertOptions) convert(ctx context.Context, io IO, write bool) int {
	set, inputs, closeInputs, err := o.open(io.In)
	if err != nil {
		fmt.Fprintf(io.Err, "scimigrate: %v\n", err)
		return exitUsage
	}
	defer closeInputs()

	var out *bufio.Writer
	var outFile *os.File
	if write {
		w := io.Out
		if o.Output != "" {
			f, err := os.OpenFile(o.Output, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				fmt.Fprintf(io.Err, "scimigrate: %v\n", err)
				return exitUsage
			}
			outFile = f
			w = f
		}
		out = bufio.NewWriterSize(w, 256<<10)
	}
	var intents *os.File
	if write && o.Intents != "" {
		intents, err = os.OpenFile(o.Intents, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			fmt.Fprintf(io.Err, "scimigrate: %v\n", err)
			return exitUsage
		}
		defer intents.Close()
	}
	errw := bufio.NewWriter(io.Err)
	defer errw.Flush()
	echo := source.NewEcho(errw, o.EchoLimit)
	opts := converter.Options{
		Set:       set,
		Workers:   o.Workers,
		Validate:  converter.ValidateSchema,
		CompanyID: set.Config.CompanyID,
		Diag:      echo.Write,
		Update: func(r *converter.Result) error {
			first := r.Records[0]
			fmt.Fprintf(errw, "%s:%d:1: warning: employee %s has no identity record (300/305/310) in the input: its %d record(s) update an existing user and are kept for 'scimigrate plan', not emitted\n",
				first.File, first.Line, r.User.Key, len(r.Records))
			return nil
		},
		Intent: func(in *converter.Intent) error {
			if intents == nil {
				return nil
			}
			b := converter.AppendIntent(nil, in)
			_, err := intents.Write(append(b, '\n'))
			return err
		},
	}
	if write {
		opts.Emit = func(r *converter.Result) error {
			out.Write(r.JSON)
			return out.WriteByte('\n')
		}
	}
	st, err := converter.Run(ctx, inputs, opts)
	echo.Flush()
	if out != nil {
		if ferr := out.Flush(); ferr != nil && err == nil {
			err = ferr
		}
	}
	if outFile != nil {
		if cerr := outFile.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if set.Config.CompanyID == "" && st.UsersEmitted > 0 && write {
		fmt.Fprintf(errw, "scimigrate: warning: no company ID (--company-id or companyId in --config): UPS requires enterprise companyId on create\n")
	}
	writeSummary(errw, st)
	if err != nil {
		fmt.Fprintf(errw, "scimigrate: %v\n", err)
		return exitUsage
	}
	if st.RecordsRejected > 0 {
		return exitRejected
	}
	return exitOK
}

func writeSummary(w io.Writer, st *converter.Stats) {
	fmt.Fprintln(w, "---")
	types := make([]string, 0, len(st.Read))
	for t := range st.Read {
		types = append(types, t)
	}
	sort.Strings(types)
	var parts []string
	for _, t := range types {
		parts = append(parts, fmt.Sprintf("%s×%d", t, st.Read[t]))
	}
	fmt.Fprintf(w, "records read:        %d (%s) from %d file(s)\n", st.Total(), strings.Join(parts, ", "), st.Files)
	fmt.Fprintf(w, "users emitted:       %d to create", st.UsersEmitted)
	if st.UsersUpdates > 0 {
		fmt.Fprintf(w, ", %d update-only (kept for plan)", st.UsersUpdates)
	}
	if st.UsersRejected > 0 {
		fmt.Fprintf(w, ", %d rejected by validation", st.UsersRejected)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "records:             %d converted, %d update-only, %d ID changes, %d settings, %d rejected, %d of unsupported types",
		st.RecordsConverted, st.RecordsUpdates, st.RecordsIntents, st.RecordsSettings, st.RecordsRejected, st.RecordsUnsupported)
	if st.RecordsStopped > 0 {
		fmt.Fprintf(w, ", %d not converted (a fatal error stopped the run)", st.RecordsStopped)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "diagnostics:         %d errors, %d warnings\n", st.Errors, st.Warnings)
	fmt.Fprintf(w, "values not sent:     %d unsupported, %d ignored by override, %d switched off by their gate column\n",
		st.Values.Unsupported, st.Values.Ignored, st.Values.Gated)
	if st.Values.Defaulted > 0 {
		fmt.Fprintf(w, "values defaulted:    %d filled from the config's defaults\n", st.Values.Defaulted)
	}
	if st.Values.Conflicts > 0 {
		fmt.Fprintf(w, "values replaced:     %d by a later record of the same employee\n", st.Values.Conflicts)
	}
	if st.Accounted() != st.Total() {
		fmt.Fprintf(w, "INTERNAL ERROR: %d records read but %d accounted for\n", st.Total(), st.Accounted())
	}
}
