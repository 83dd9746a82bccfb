package main

import (
	"context"
	"flag"
	"fmt"

	"scimigrate/converter"
	"scimigrate/mapping"
)

// mappingsCommand shows and checks mapping tables; its subcommands have the
// same shape as every command.
func mappingsCommand() *command {
	return &command{
		name:    "mappings",
		summary: "show or check mapping tables (mappings show 305 | mappings check DIR)",
		usage:   "mappings show|list|check ...",
		desc: "mappings shows the effective mapping tables (the embedded ones with the overrides of --mappings " +
			"DIR), each row with its origin, and checks override files, naming file and line of every mistake.",
		subs: []*command{mappingsShowCommand("show"), mappingsShowCommand("list"), mappingsCheckCommand()},
	}
}

func mappingsShowCommand(name string) *command {
	var o convertOptions
	var records []string
	c := &command{
		name:  name,
		flags: func(fs *flag.FlagSet) { o.register(fs, false) },
		args:  func(args []string) error { records = args; return nil },
	}
	if name == "list" {
		c.summary = "list the record types that have a mapping table"
		c.usage = "mappings list [--mappings DIR] [--config FILE]"
		c.desc = "mappings list prints every record type that has a mapping table, with the table's title."
	} else {
		c.summary = "print the effective mapping table of a record type"
		c.usage = "mappings show [--mappings DIR] [--config FILE] [RECORD...]"
		c.desc = "mappings show prints the effective mapping table of each RECORD (e.g. 305): every column with " +
			"its SCIM target or the reason it is not sent, and where the row comes from (embedded table or an " +
			"override file and line). Without RECORD it lists the tables."
	}
	c.run = func(_ context.Context, cio *IO) error {
		set, err := o.loadSet()
		if err != nil {
			return fatal(err)
		}
		if name == "list" || len(records) == 0 {
			for _, r := range set.Records() {
				fmt.Fprintf(cio.Out, "%-12s %s\n", r, set.Table(r).Title)
			}
			return nil
		}
		for _, r := range records {
			t := set.Table(r)
			if t == nil {
				return usageErrorf("no mapping table for record %q (known: %v)", r, set.Records())
			}
			if err := mapping.Show(cio.Out, t); err != nil {
				return fatal(err)
			}
		}
		return nil
	}
	return c
}

func mappingsCheckCommand() *command {
	var dir string
	return &command{
		name:    "check",
		summary: "check a directory of mapping-table overrides",
		usage:   "mappings check DIR",
		desc: "mappings check loads the override files of DIR over the embedded tables and checks every target " +
			"path against the SCIM schema; each mistake names its file and line. Exit 1 when a file is wrong.",
		args: func(args []string) error {
			if len(args) != 1 {
				return usageErrorf("want exactly one directory")
			}
			dir = args[0]
			return nil
		},
		run: func(_ context.Context, cio *IO) error {
			if _, err := converter.LoadMappings(dir, nil); err != nil {
				return &rejectedError{err}
			}
			fmt.Fprintf(cio.Out, "%s: ok\n", dir)
			return nil
		},
	}
}
