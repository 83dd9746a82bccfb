package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"time"

	"scimigrate/upsim"
)

// simulateCommand serves the in-repo UPS simulator for rehearsals:
//
//	scimigrate simulate --listen 127.0.0.1:8080 &
//	SCIMIGRATE_ACCESS_TOKEN=rehearsal scimigrate apply --base-url http://127.0.0.1:8080 --create-only employees.txt
func simulateCommand() *command {
	var (
		listen, token, company string
		seed                   int64
		delay                  time.Duration
		faults                 bool
		usersFile              string
	)
	return &command{
		name:    "simulate",
		summary: "serve the in-repo UPS simulator for rehearsals",
		usage:   "simulate [--listen ADDR] [--access-token TOKEN] [--faults] [flags]",
		desc: "simulate serves the in-repo UPS simulator (Bulk, provision status, identity search and lookup, " +
			"spend and travel reads) until interrupted, for rehearsals of an apply; --faults injects 429s, 5xx, " +
			"slow answers, dropped connections and token expiry. SIGINT or SIGTERM stops it cleanly (exit 0).",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve on (loopback unless you mean otherwise)")
			fs.StringVar(&token, "access-token", "rehearsal", "static bearer token the simulator accepts, and the Company Request Token of a rehearsal login")
			fs.Int64Var(&seed, "seed", 1, "seed of every random choice (faults, ids)")
			fs.DurationVar(&delay, "delay", 2*time.Second, "time for a provision's operations to complete")
			fs.StringVar(&company, "company-id", "", "company UUID the simulated tenant belongs to (optional)")
			fs.StringVar(&usersFile, "users", "", "start with the users of this snapshot (NDJSON of SCIM users, as 'scimigrate export' writes): a rehearsal against a copy of the tenant")
			fs.BoolVar(&faults, "faults", false, "inject 429s, 5xx, slow answers, dropped connections and token expiry")
		},
		run: func(ctx context.Context, cio *IO) error {
			// The same value is the Company Request Token of a rehearsal
			// login (scimigrate login --base-url http://127.0.0.1:8080).
			opts := upsim.Options{Seed: seed, CompletionDelay: delay, AccessToken: token, RequestToken: token, CompanyID: company,
				Logf: func(format string, a ...any) { fmt.Fprintf(cio.Err, "upsim: "+format+"\n", a...) }}
			if faults {
				opts.Faults = upsim.Faults{RateLimit: 0.05, Unavailable: 0.03, Slow: 0.05, SlowDelay: 2 * time.Second, DropAfterAccept: 0.02, ExpireTokens: 0.01}
			}
			if os.Getenv("GOMEMLIMIT") == "" {
				// The tenant is compact JSON (~3 KB a user); every request
				// decodes some of it, garbage that GOGC=400 (see main) would
				// let grow to several times the tenant.
				debug.SetMemoryLimit(simulateMemoryLimit)
			}
			srv := upsim.New(opts)
			if usersFile != "" {
				n, err := seedUsers(srv, usersFile)
				if err != nil {
					return fatal(err)
				}
				fmt.Fprintf(cio.Err, "upsim: %d user(s) from %s\n", n, usersFile)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fatal(err)
			}
			fmt.Fprintf(cio.Err, "upsim: serving on http://%s (bearer token %q); Ctrl-C stops\n", listen, token)
			// Serve returns nil once ctx is cancelled (a signal).
			return fatal(srv.Serve(ctx, ln))
		},
	}
}

// simulateMemoryLimit is the simulator's soft memory limit (GOMEMLIMIT
// overrides it): a 200,000-user tenant holds about 0.7 GB.
const simulateMemoryLimit = 1280 << 20

// seedUsers stores the users of a snapshot file in the simulator, a chunk
// at a time (the simulator keeps each as compact JSON).
func seedUsers(srv *upsim.Server, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var chunk []json.RawMessage
	n, line := 0, 0
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if err := srv.Seed(chunk...); err != nil {
			return fmt.Errorf("%s: users before line %d: %w", path, line+1, err)
		}
		n += len(chunk)
		chunk = chunk[:0]
		return nil
	}
	for {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			line++
			chunk = append(chunk, json.RawMessage(bytes.TrimSpace(b)))
			if len(chunk) == 1000 {
				if err := flush(); err != nil {
					return n, err
				}
			}
		} else if len(b) > 0 {
			line++
		}
		if err != nil {
			if err != io.EOF {
				return n, err
			}
			return n, flush()
		}
	}
}
