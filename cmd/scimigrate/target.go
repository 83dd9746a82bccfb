package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"scimigrate/batcher/client"
	"scimigrate/batcher/plan"
)

// targetOptions say where the target is and how to authenticate: one set
// of flags and one credential bootstrap (client.NewFromEnv) for plan,
// export and apply.
type targetOptions struct {
	Snapshot    string // plan only: the current state from a file
	BaseURL     string
	TokenFile   string
	V4Filter    bool
	Concurrency int
	// InsecureHTTP allows a plain-http base URL off loopback.
	InsecureHTTP bool
	// RetryFor and Retries bound the retries of one HTTP call (the client's
	// MaxElapsed and MaxAttempts; 0: the client's defaults, 10m and 8).
	RetryFor time.Duration
	Retries  int
}

// targetFlags choose which target flags a command has.
type targetFlags struct {
	snapshot    bool   // --snapshot (plan)
	lookup      bool   // --v4-lookup (plan, export)
	concurrency string // help of --concurrency
}

func (o *targetOptions) register(fs *flag.FlagSet, tf targetFlags) {
	if tf.snapshot {
		fs.StringVar(&o.Snapshot, "snapshot", "", "current state from a snapshot file (NDJSON of SCIM users, as 'scimigrate export' writes)")
	}
	fs.StringVar(&o.BaseURL, "base-url", "", "datacenter URI, e.g. https://us2.api.concursolutions.com (credentials from SCIMIGRATE_ACCESS_TOKEN, or SCIMIGRATE_CLIENT_ID, SCIMIGRATE_CLIENT_SECRET and SCIMIGRATE_REFRESH_TOKEN)")
	fs.StringVar(&o.TokenFile, "token-file", "", "the token file of 'scimigrate login' (refresh token and data centre; no --base-url needed); a rotated refresh token is saved back to it (mode 0600)")
	fs.BoolVar(&o.InsecureHTTP, "insecure-http", false, "allow a plain http:// base URL to a host that is not loopback (test services only)")
	fs.DurationVar(&o.RetryFor, "retry-for", 10*time.Minute, "how long one HTTP call may be retried (429, 5xx, no answer) before the run stops, resumable")
	fs.IntVar(&o.Retries, "retries", 8, "attempts per HTTP call at most")
	if tf.lookup {
		fs.BoolVar(&o.V4Filter, "v4-lookup", false, "look users up with Identity v4 (one request per employee) instead of the v4.1 search")
	}
	if tf.concurrency == "" {
		tf.concurrency = "requests in flight when reading the target"
	}
	fs.IntVar(&o.Concurrency, "concurrency", 4, tf.concurrency)
}

// client authenticates against the target: credentials from the
// environment, a token file left by an earlier run, the geolocation the
// first token names. A target that cannot be reached or authenticated is
// a fatal error (exit 2) in every command.
func (o *targetOptions) client(ctx context.Context, cio *IO) (*client.Client, error) {
	c, err := client.NewFromEnv(client.Setup{BaseURL: o.BaseURL, Env: cio.getenv, TokenFile: o.TokenFile, InsecureHTTP: o.InsecureHTTP},
		client.Config{Concurrency: o.Concurrency, Logf: logf(cio), MaxElapsed: o.RetryFor, MaxAttempts: o.Retries})
	if err != nil {
		return nil, fatal(err)
	}
	// The first token names the geolocation every later call goes to.
	if err := c.Authenticate(ctx); err != nil {
		return nil, fatal(fmt.Errorf("authenticating with %s: %w", c.BaseURL(), err))
	}
	return c, nil
}

// live returns the planner's reader of the target, authenticated through
// client.
func (o *targetOptions) live(ctx context.Context, cio *IO) (*plan.Live, error) {
	c, err := o.client(ctx, cio)
	if err != nil {
		return nil, err
	}
	return o.liveFrom(c, cio), nil
}

// logf writes a log line of the client or the engine to standard error.
func logf(cio *IO) func(format string, args ...any) {
	return func(format string, args ...any) { fmt.Fprintf(cio.Err, "scimigrate: "+format+"\n", args...) }
}

// liveFrom returns the planner's reader of the target behind c.
func (o *targetOptions) liveFrom(c *client.Client, cio *IO) *plan.Live {
	return &plan.Live{Client: c, Concurrency: o.Concurrency, V4Filter: o.V4Filter}
}
