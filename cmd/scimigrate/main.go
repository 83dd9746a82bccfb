// Command scimigrate moves SAP Concur employee data (Standard Employee Import
// flat files, Users V1 XML, v3 user JSON) onto the SCIM User Provisioning
// Service (UPS v4): convert, plan, batch, submit and track.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
)

var version = "0.1.0-dev"

// commands returns the commands, freshly built (each holds the values of
// its flags).
func commands() []*command {
	return []*command{
		demoCommand(),
		convertCommand("convert"),
		convertCommand("validate"),
		planCommand(),
		loginCommand(),
		exportCommand(),
		applyCommand(),
		statusCommand(),
		reportCommand(),
		simulateCommand(),
		mappingsCommand(),
		versionCommand(),
	}
}

// root is scimigrate itself: a command whose subcommands are the commands.
func root() *command {
	return &command{
		name:    "scimigrate",
		usage:   "<command> [flags] [FILE...]",
		summary: "move Concur employee imports onto UPS v4",
		desc: "scimigrate moves SAP Concur employee data (Standard Employee Import flat files, Users V1 XML, " +
			"v3 user JSON) onto the SCIM User Provisioning Service (UPS v4): convert through the mapping tables, " +
			"validate, plan against a snapshot or the live target, then submit through a resumable journal and " +
			"report per source record. Exit status: 0 ok, 1 records rejected or operations failed, 2 usage error " +
			"or fatal input.",
		subs: commands(),
	}
}

func main() {
	if os.Getenv("GOGC") == "" {
		// The live heap is small (the per-employee index); collecting less
		// often trades a little memory for a lot of conversion speed.
		debug.SetGCPercent(400)
	}
	// One signal-aware context for every command: SIGINT or SIGTERM
	// cancels it, and each command stops cleanly (apply keeps its journal
	// for a resume, simulate shuts its server down).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills the process as usual
		// (for a cleanup that hangs).
		<-ctx.Done()
		stop()
	}()
	stopProfile := startProfile()
	code := run(ctx, os.Args[1:], systemIO())
	stopProfile()
	stop()
	os.Exit(code)
}

// run dispatches args to a command and returns the exit status; main and
// the in-process tests call it.
func run(ctx context.Context, args []string, cio *IO) int {
	cio = cio.serialized()
	r := root()
	if len(args) == 0 {
		fmt.Fprintln(cio.Err, "scimigrate: missing command")
		r.list(cio.Err)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			return run(ctx, append(args[1:], "-h"), cio)
		}
		r.list(cio.Out)
		return exitOK
	}
	for _, c := range r.subs {
		if c.name == args[0] {
			return execute(ctx, c, "scimigrate "+c.name, args[1:], cio)
		}
	}
	fmt.Fprintf(cio.Err, "scimigrate: unknown command %q\n\n", args[0])
	r.list(cio.Err)
	return exitUsage
}

// list prints the usage line and the commands.
func (c *command) list(w interface{ Write([]byte) (int, error) }) {
	fmt.Fprintln(w, "usage: scimigrate <command> [flags] [FILE...]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, s := range c.subs {
		fmt.Fprintf(w, "  %-10s %s\n", s.name, s.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'scimigrate <command> -h' for a command's description and flags.")
}

func versionCommand() *command {
	return &command{
		name: "version", summary: "print the version", usage: "version",
		desc: "version prints the version of scimigrate.",
		run: func(_ context.Context, cio *IO) error {
			_, err := fmt.Fprintln(cio.Out, version)
			return err
		},
	}
}

// startProfile writes a CPU profile of the whole run to the file named by
// SCIMIGRATE_CPUPROFILE, when set (for measuring a command on real data,
// see docs/performance.md); it returns the function that ends it.
func startProfile() func() {
	path := os.Getenv("SCIMIGRATE_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "scimigrate: SCIMIGRATE_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
