// Command scimigrate moves SAP Concur employee data (Standard Employee Import
// flat files, Users V1 XML, v3 user JSON) onto the SCIM User Provisioning
// Service (UPS v4): convert, plan, batch, submit and track.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// Exit codes shared by every command.
const (
	exitOK       = 0 // everything converted / succeeded
	exitRejected = 1 // some records rejected or operations failed
	exitUsage    = 2 // usage error or fatal input
)

// IO is the streams a command uses (gh's IOStreams, reduced).
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

type command struct {
	name, summary string
	run           func(args []string, io IO) int
}

func commands() []command {
	return []command{
		{"demo", "run the main job on the embedded sample data", runDemo},
		{"convert", "convert input files to SCIM User resources (NDJSON)", runConvert},
		{"validate", "check input files without writing resources", runValidate},
		{"plan", "diff the input against the target (snapshot or live) and show or save the plan", runPlan},
		{"login", "exchange a Company Request Token for a refresh token kept in a token file", runLogin},
		{"export", "save the target's current users as a snapshot for offline plans", runExport},
		{"apply", "convert and submit to UPS through a resumable journal (apply --create-only FILE...)", runApply},
		{"status", "show progress and outcomes of an apply journal", runStatus},
		{"report", "write the per-record report of an apply journal (csv, json)", runReport},
		{"simulate", "serve the in-repo UPS simulator for rehearsals", runSimulate},
		{"mappings", "show or check mapping tables (mappings show 305 | mappings check DIR)", runMappings},
		{"version", "print the version", func([]string, IO) int { fmt.Println(version); return exitOK }},
	}
}

var version = "0.1.0-dev"

func main() {
	if os.Getenv("GOGC") == "" {
		// The live heap is small (the per-employee index); collecting less
		// often trades a little memory for a lot of conversion speed.
		debug.SetGCPercent(400)
	}
	os.Exit(run(os.Args[1:], IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}

func run(args []string, io IO) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(io.Err)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], io)
		}
	}
	fmt.Fprintf(io.Err, "scimigrate: unknown command %q\n\n", args[0])
	usage(io.Err)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: scimigrate <command> [flags] [FILE...]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'scimigrate <command> -h' for a command's flags.")
}
