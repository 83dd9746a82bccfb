package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"scimigrate/upsim"
)

// runSimulate serves the in-repo UPS simulator for rehearsals:
//
//	scimigrate simulate --listen 127.0.0.1:8080 &
//	SCIMIGRATE_ACCESS_TOKEN=rehearsal scimigrate apply --base-url http://127.0.0.1:8080 --create-only employees.txt
func runSimulate(args []string, io IO) int {
	fs := newFlagSet("simulate", io.Err)
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve on (loopback unless you mean otherwise)")
	token := fs.String("access-token", "rehearsal", "static bearer token the simulator accepts")
	seed := fs.Int64("seed", 1, "seed of every random choice (faults, ids)")
	delay := fs.Duration("delay", 2*time.Second, "time for a provision's operations to complete")
	company := fs.String("company-id", "", "company UUID the simulated tenant belongs to (optional)")
	faults := fs.Bool("faults", false, "inject 429s, 5xx, slow answers, dropped connections and token expiry")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	opts := upsim.Options{Seed: *seed, CompletionDelay: *delay, AccessToken: *token, CompanyID: *company,
		Logf: func(format string, a ...any) { fmt.Fprintf(io.Err, "upsim: "+format+"\n", a...) }}
	if *faults {
		opts.Faults = upsim.Faults{RateLimit: 0.05, Unavailable: 0.03, Slow: 0.05, SlowDelay: 2 * time.Second, DropAfterAccept: 0.02, ExpireTokens: 0.01}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(io.Err, "upsim: serving on http://%s (bearer token %q); Ctrl-C stops\n", *listen, *token)
	if err := upsim.ListenAndServe(ctx, *listen, opts); err != nil {
		fmt.Fprintf(io.Err, "scimigrate simulate: %v\n", err)
		return exitUsage
	}
	return exitOK
}
