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
	Defaults  defaultFlags // --default PATH=VALUE, after the config's defaults
	// idsOnly: the inputs only name the employees to read (export), so
	// users are not validated (a missing companyId must not drop them).
	idsOnly bool

	// config and inputs, when set, replace Config and Files (the demo's
	// embedded sample, named as if it were in the working directory).
	config *mapping.Config
	inputs func() ([]converter.Input, error)
	// stdinFile, when set, holds standard input's content ("-" in Files),
	// read in its place each time the inputs are opened (see spoolStdin).
	stdinFile string
	// stdinSHA256 and stdinBytes describe standard input once spooled.
	stdinSHA256 string
	stdinBytes  int64
}

func (o *convertOptions) register(fs *flag.FlagSet, withOutput bool) {
	fs.StringVar(&o.CompanyID, "company-id", "", "Concur company UUID injected into created users (overrides companyId of --config)")
	fs.StringVar(&o.Config, "config", "", "site configuration YAML (companyId, travel custom fields, email types, options)")
	fs.StringVar(&o.Mappings, "mappings", "", "directory of mapping-table overrides (305.yaml, codes.yaml, …)")
	fs.IntVar(&o.Workers, "workers", 0, "conversion workers (default: number of CPUs)")
	fs.Var(&o.Defaults, "default", "PATH=VALUE: a value for users to create that lack the attribute (repeatable; as defaults: in --config, which it overrides)")
	fs.StringVar(&o.Format, "format", "", "input format: flat, v1 (Users V1 XML) or v3 (v3.0/v3.1 JSON); default: sniffed from each file's content")
	fs.StringVar(&o.Encoding, "encoding", "", "character encoding of the inputs: utf-8 (default), windows-1252, or iso-8859-1/latin1 (read as windows-1252)")
	fs.IntVar(&o.MaxRecord, "max-record-bytes", flatfile.MaxRecord, "reject (and skip) flat-file records longer than this many bytes")
	fs.IntVar(&o.EchoLimit, "max-diagnostics", source.DefaultEchoLimit, "show at most this many diagnostics of each kind (-1: all); the summary counts all")
	if withOutput {
		fs.StringVar(&o.Output, "o", "", "write the NDJSON resources to this file (mode 0600) instead of stdout")
		fs.StringVar(&o.Intents, "intents", "", "write ID-change intents (320 records) as NDJSON to this file")
	}
}

// convertCommand is convert (write the resources) or validate (only check).
func convertCommand(name string) *command {
	var o convertOptions
	write := name == "convert"
	c := &command{name: name, usage: name + " [flags] FILE..."}
	if write {
		c.summary = "convert input files to SCIM User resources (NDJSON)"
		c.desc = "convert reads Employee Import flat files, Users V1 XML or v3 user JSON (- is standard input), " +
			"converts every employee through the mapping tables and writes one SCIM User resource per employee " +
			"to create, as NDJSON, in order of first appearance. Diagnostics (FILE:LINE:COL: severity: ...) and a " +
			"summary go to standard error; exit 1 when records are rejected."
	} else {
		c.summary = "check input files without writing resources"
		c.desc = "validate runs the same reading, mapping and schema checks as convert and prints the same " +
			"diagnostics and summary, without writing resources; exit 1 when records are rejected."
	}
	c.flags = func(fs *flag.FlagSet) { o.register(fs, write) }
	c.args = func(args []string) error {
		if len(args) == 0 {
			return usageErrorf("no input files (use - for standard input)")
		}
		o.Files = args
		return nil
	}
	c.run = func(ctx context.Context, cio *IO) error { return o.convert(ctx, cio, write) }
	return c
}

// loadSet reads the config and mapping tables.
func (o *convertOptions) loadSet() (*mapping.Set, error) {
	cfg := mapping.DefaultConfig()
	if o.config != nil {
		cfg = o.config
	} else if o.Config != "" {
		c, err := mapping.LoadConfig(o.Config)
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	if o.CompanyID != "" {
		cfg.CompanyID = o.CompanyID
	}
	if err := o.Defaults.apply(cfg); err != nil {
		return nil, err
	}
	return converter.LoadMappings(o.Mappings, cfg)
}

// open loads the mappings and opens the inputs; close releases them.
func (o *convertOptions) open(stdin io.Reader) (set *mapping.Set, inputs []converter.Input, close func(), err error) {
	if set, err = o.loadSet(); err != nil {
		return nil, nil, nil, err
	}
	if o.stdinFile != "" {
		f, err := os.Open(o.stdinFile)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading standard input: %w", err)
		}
		defer f.Close() // the inputs have read it when they are open
		stdin = f
	}
	if o.inputs != nil {
		inputs, err = o.inputs()
	} else {
		inputs, err = converter.OpenInputsWith(o.Files, stdin, converter.OpenOptions{Format: o.Format, Encoding: o.Encoding, MaxRecord: o.MaxRecord})
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return set, inputs, func() {
		for _, in := range inputs {
			in.Close()
		}
	}, nil
}

func (o *convertOptions) convert(ctx context.Context, io *IO, write bool) error {
	set, inputs, closeInputs, err := o.open(io.In)
	if err != nil {
		return fatal(err)
	}
	defer closeInputs()

	// Output files are committed (renamed into place) only when the run
	// ends without a fatal error; see createOutput.
	var out *bufio.Writer
	var output, intents *outFile
	if write {
		w := io.Out
		if o.Output != "" {
			f, err := createOutput(o.Output)
			if err != nil {
				return fatal(err)
			}
			defer f.Close()
			output = f
			w = f
		}
		out = bufio.NewWriterSize(w, 256<<10)
	}
	if write && o.Intents != "" {
		intents, err = createOutput(o.Intents)
		if err != nil {
			return fatal(err)
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
			echo.Write(source.Diagnostic{File: first.File, Line: first.Line, Col: 1, Severity: source.Warning,
				Msg: fmt.Sprintf("employee %s has no identity record (300/305/310) in the input: its %d record(s) update an existing user and are kept for 'scimigrate plan', not emitted", r.User.Key, len(r.Records))})
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
	for _, f := range []*outFile{output, intents} {
		if f != nil && err == nil {
			err = f.Commit()
		}
	}
	if set.Config.CompanyID == "" && st.UsersEmitted > 0 && write {
		fmt.Fprintf(errw, "scimigrate: warning: no company ID (--company-id or companyId in --config): UPS requires enterprise companyId on create\n")
	}
	serr := writeSummary(errw, st)
	errw.Flush()
	if err != nil {
		return fatal(err)
	}
	if serr != nil {
		return fatal(serr)
	}
	if st.RecordsRejected > 0 {
		return errRejected
	}
	return nil
}

// writeSummary writes the conversion's summary; an error when a record
// read is not accounted for (nothing may be dropped silently).
func writeSummary(w io.Writer, st *converter.Stats) error {
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
		fmt.Fprintf(w, ", %d not converted (the run stopped before them)", st.RecordsStopped)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "diagnostics:         %d errors, %d warnings\n", st.Errors, st.Warnings)
	fmt.Fprintf(w, "values not sent:     %d unsupported, %d ignored by override, %d switched off by their gate column, %d dropped with a warning\n",
		st.Values.Unsupported, st.Values.Ignored, st.Values.Gated, st.Values.Dropped)
	if st.Values.Defaulted > 0 {
		fmt.Fprintf(w, "values defaulted:    %d filled from the config's defaults\n", st.Values.Defaulted)
	}
	if st.Values.Conflicts > 0 {
		fmt.Fprintf(w, "values replaced:     %d by a later record of the same employee\n", st.Values.Conflicts)
	}
	if st.Accounted() != st.Total() {
		return fmt.Errorf("internal error: %d records read but %d accounted for", st.Total(), st.Accounted())
	}
	return nil
}
