package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one command or subcommand of scimigrate. Every command has the
// same shape: a name, a usage line, a one-paragraph description, its flags
// (registered on a flag.FlagSet built by parse) and run. The positional
// arguments left after the flags go to args, which stores or rejects them;
// run then does the work. A command with subs dispatches to them instead.
type command struct {
	name    string
	summary string // one line, in the parent's command list
	usage   string // after "usage: scimigrate ", e.g. "convert [flags] FILE..."
	desc    string // one paragraph, printed by -h
	flags   func(fs *flag.FlagSet)
	args    func(args []string) error
	run     func(ctx context.Context, io *IO) error
	subs    []*command

	// detailed names a boolean flag that switches the command to detailed
	// exit codes (plan --detailed-exitcode): 0 no changes, 2 changes
	// present, 1 any error including a usage error.
	detailed string

	parsed *flag.FlagSet // the flags, once parsed without error
}

// Exit codes, documented in the README ("Exit status").
const (
	exitOK       = 0 // everything converted / succeeded
	exitRejected = 1 // some records rejected, operations failed, plan error
	exitUsage    = 2 // usage error or fatal input (a target that cannot be reached or authenticated included)
)

// usageError is a command line the command cannot run: unknown flag,
// missing argument, bad flag value. Exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// fatalError is input or a target the command cannot work with at all: an
// unreadable file, no 100 record, a target that cannot be reached or
// authenticated. Exit 2. Errors of no other type are fatal too.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func fatal(err error) error {
	if err == nil {
		return nil
	}
	return &fatalError{err}
}

// rejectedError means records were rejected, operations failed, or the
// plan could not be made as asked (--max-deactivate). Exit 1. A nil err
// means the details were already written (diagnostics and the summary), so
// nothing more is printed.
type rejectedError struct{ err error }

func (e *rejectedError) Error() string {
	if e.err == nil {
		return "records rejected or operations failed"
	}
	return e.err.Error()
}
func (e *rejectedError) Unwrap() error { return e.err }

// errRejected is a rejectedError whose details are already written.
var errRejected = &rejectedError{}

// pathError is an error of a subcommand, printed with its words
// ("scimigrate mappings check: ...").
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string { return e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// changesPresent is plan --detailed-exitcode's "the plan has changes": exit 2.
type changesPresent struct{}

func (changesPresent) Error() string { return "changes present" }

// exitCode maps the error a command returned to the process's exit status.
// It is the only place where exit codes are decided.
func exitCode(err error, detailed bool) int {
	if err == nil {
		return exitOK
	}
	if errors.As(err, new(changesPresent)) {
		if detailed {
			return 2
		}
		return exitOK
	}
	if detailed {
		return 1 // 2 would mean "changes present"
	}
	var re *rejectedError
	if errors.As(err, &re) {
		return exitRejected
	}
	return exitUsage // usage errors, fatal input, interrupted runs
}

// silent reports whether err needs no message (already reported, or not a
// failure to explain).
func silent(err error) bool {
	if errors.As(err, new(changesPresent)) {
		return true
	}
	var re *rejectedError
	return errors.As(err, &re) && re.err == nil
}

// execute parses args for c (and its subcommands), runs it and returns the
// exit status; the only place errors are printed: once, as
// "scimigrate <command>: <message>".
func execute(ctx context.Context, c *command, path string, args []string, cio *IO) int {
	err := c.execute(ctx, path, args, cio)
	detailed := false
	if c.detailed != "" {
		if c.parsed != nil {
			f := c.parsed.Lookup(c.detailed)
			detailed = f != nil && f.Value.String() == "true"
		} else {
			// The flags did not parse: a usage error under
			// --detailed-exitcode must still exit 1, not 2.
			detailed = hasBoolFlag(args, c.detailed)
		}
	}
	if err != nil && !silent(err) {
		var pe *pathError
		if errors.As(err, &pe) {
			path, err = pe.path, pe.err
		}
		fmt.Fprintf(cio.Err, "%s: %s\n", path, err)
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(cio.Err, "Run '%s -h' for usage.\n", path)
		}
	}
	return exitCode(err, detailed)
}

// hasBoolFlag reports whether args (before a "--") set the boolean flag
// name, in any form the flag package accepts; for arguments that did not
// parse.
func hasBoolFlag(args []string, name string) bool {
	on := false
	for _, a := range args {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		k, v, hasV := strings.Cut(a, "=")
		if k != name {
			continue
		}
		on = !hasV || v == "1" || strings.EqualFold(v, "t") || strings.EqualFold(v, "true")
	}
	return on
}

func (c *command) execute(ctx context.Context, path string, args []string, cio *IO) error {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse errors are returned, printed once by execute
	fs.Usage = func() {}
	if c.flags != nil {
		c.flags(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.help(cio.Out, path, fs)
			return nil
		}
		return &usageError{err.Error()}
	}
	c.parsed = fs
	rest := fs.Args()
	if len(c.subs) > 0 {
		// A command with subcommands and its own run (plan, plan show)
		// runs itself when the first argument names no subcommand.
		if len(rest) > 0 {
			for _, s := range c.subs {
				if s.name == rest[0] {
					sp := path + " " + s.name
					err := s.execute(ctx, sp, rest[1:], cio)
					if err != nil && !errors.As(err, new(*pathError)) {
						err = &pathError{sp, err}
					}
					return err
				}
			}
		}
		if c.run == nil {
			if len(rest) == 0 {
				return usageErrorf("missing subcommand (%s)", c.subNames())
			}
			if rest[0] == "help" {
				c.help(cio.Out, path, fs)
				return nil
			}
			return usageErrorf("unknown subcommand %q (%s)", rest[0], c.subNames())
		}
	}
	if c.args != nil {
		if err := c.args(rest); err != nil {
			return err
		}
	} else if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	return c.run(ctx, cio)
}

func (c *command) subNames() string {
	names := make([]string, len(c.subs))
	for i, s := range c.subs {
		names[i] = s.name
	}
	return strings.Join(names, ", ")
}

// help prints the usage line, the description, the subcommands and the
// flags (-h and --help on every command and subcommand).
func (c *command) help(w io.Writer, path string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: scimigrate %s\n\n", c.usage)
	fmt.Fprintf(w, "%s\n", wrap(c.desc, 80))
	if len(c.subs) > 0 {
		fmt.Fprintf(w, "\ncommands:\n")
		for _, s := range c.subs {
			fmt.Fprintf(w, "  %-10s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(w, "\nRun '%s <command> -h' for a command's flags.\n", path)
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintf(w, "\nflags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// wrap folds a paragraph at width columns.
func wrap(s string, width int) string {
	var b strings.Builder
	col := 0
	for _, word := range strings.Fields(s) {
		if col > 0 && col+1+len(word) > width {
			b.WriteByte('\n')
			col = 0
		} else if col > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += len(word)
	}
	return b.String()
}
