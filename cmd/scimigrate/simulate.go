package main

import (
	"context"
	"flag"
	"fmt"
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
			fs.StringVar(&token, "access-token", "rehearsal", "static bearer token the simulator accepts")
			fs.Int64Var(&seed, "seed", 1, "seed of every random choice (faults, ids)")
			fs.DurationVar(&delay, "delay", 2*time.Second, "time for a provision's operations to complete")
			fs.StringVar(&company, "company-id", "", "company UUID the simulated tenant belongs to (optional)")
			fs.BoolVar(&faults, "faults", false, "inject 429s, 5xx, slow answers, dropped connections and token expiry")
		},
		run: func(ctx context.Context, cio *IO) error {
			opts := upsim.Options{Seed: seed, CompletionDelay: delay, AccessToken: token, CompanyID: company,
				Logf: func(format string, a ...any) { fmt.Fprintf(cio.Err, "upsim: "+format+"\n", a...) }}
			if faults {
				opts.Faults = upsim.Faults{RateLimit: 0.05, Unavailable: 0.03, Slow: 0.05, SlowDelay: 2 * time.Second, DropAfterAccept: 0.02, ExpireTokens: 0.01}
			}
			fmt.Fprintf(cio.Err, "upsim: serving on http://%s (bearer token %q); Ctrl-C stops\n", listen, token)
			// ListenAndServe returns nil once ctx is cancelled (a signal).
			return fatal(upsim.ListenAndServe(ctx, listen, opts))
		},
	}
}
