package main

import (
	"fmt"

	"scimigrate/converter"
	"scimigrate/mapping"
)

func runMappings(args []string, io IO) int {
	if len(args) == 0 {
		fmt.Fprintln(io.Err, "usage: scimigrate mappings show [--mappings DIR] [--config FILE] RECORD | mappings check DIR | mappings list")
		return exitUsage
	}
	switch args[0] {
	case "show", "list":
		var o convertOptions
		fs := newFlagSet("mappings "+args[0], io.Err)
		o.register(fs, false)
		if err := fs.Parse(args[1:]); err != nil {
			return exitUsage
		}
		set, err := o.loadSet()
		if err != nil {
			fmt.Fprintf(io.Err, "scimigrate: %v\n", err)
			return exitUsage
		}
		if args[0] == "list" || fs.NArg() == 0 {
			for _, r := range set.Records() {
				t := set.Table(r)
				fmt.Fprintf(io.Out, "%-12s %s\n", r, t.Title)
			}
			return exitOK
		}
		for _, r := range fs.Args() {
			t := set.Table(r)
			if t == nil {
				fmt.Fprintf(io.Err, "scimigrate: no mapping table for record %q (known: %v)\n", r, set.Records())
				return exitUsage
			}
			if err := mapping.Show(io.Out, t); err != nil {
				fmt.Fprintf(io.Err, "scimigrate: %v\n", err)
				return exitUsage
			}
		}
		return exitOK
	case "check":
		if len(args) != 2 {
			fmt.Fprintln(io.Err, "usage: scimigrate mappings check DIR")
			return exitUsage
		}
		if _, err := converter.LoadMappings(args[1], nil); err != nil {
			fmt.Fprintln(io.Err, err)
			return exitRejected
		}
		fmt.Fprintf(io.Out, "%s: ok\n", args[1])
		return exitOK
	}
	fmt.Fprintf(io.Err, "scimigrate mappings: unknown subcommand %q\n", args[0])
	return exitUsage
}
