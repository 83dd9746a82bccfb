package upsim

import "time"

// Options configures a simulator. Defaults: completion on the next request,
// no faults, 100 operations / 409600 bytes per Bulk. Set AccessToken,
// RefreshToken or RequestToken so that clients can authenticate.
type Options struct {
	// Seed drives every random choice (faults, user ids, provision ids,
	// tokens) deterministically.
	Seed int64
	// CompletionDelay is how long after acceptance a provision's operations
	// complete. Operation k of n becomes due at accepted+CompletionDelay*k/n,
	// so long requests show partial progress. 0 means "on the next request".
	CompletionDelay time.Duration
	// PageSize is the default `count` of status ?attributes=operations
	// paging (default 10).
	PageSize int
	// MaxOps is the maximum number of operations per Bulk request (default 100).
	MaxOps int
	// MaxBytes is the maximum raw Bulk request body size (default 409600).
	MaxBytes int
	// MaxProvisions bounds the number of provision statuses kept; the oldest
	// completed ones are forgotten first (default 2000).
	MaxProvisions int

	// ClientID, ClientSecret and RefreshToken are the credentials the token
	// endpoint accepts (an empty ClientID/ClientSecret accepts any value).
	ClientID, ClientSecret, RefreshToken string
	// RequestToken, if set, enables grant_type=password with
	// credtype=authtoken (password = this company request token; username =
	// CompanyID when CompanyID is set).
	RequestToken string
	// AccessToken is a static bearer token that is also accepted (if set).
	AccessToken string
	// ExpireStaticTokens lets Faults.ExpireTokens answer the static
	// AccessToken 401 too. By default only issued tokens, which a client can
	// replace with the refresh grant, are expired: a client holding only a
	// static token could not recover, and a rehearsal could not finish.
	ExpireStaticTokens bool
	// TokenTTL is the lifetime of issued access tokens (default 1h).
	TokenTTL time.Duration
	// RotateRefreshToken makes every grant return a new refresh token and
	// invalidate the one that was used.
	RotateRefreshToken bool
	// Geolocation is returned in token responses (default: the base URL the
	// request was sent to).
	Geolocation string

	// CompanyID, if set, is the company every user belongs to: a create
	// without enterprise companyId gets it filled in, a different companyId
	// fails with 400 INVALID_VALUE. If empty, companyId is optional.
	CompanyID string
	// StrictRequired also requires the other documented identity fields on
	// create/replace: active, name.givenName, name.familyName, emails[].value.
	StrictRequired bool

	Faults Faults
	// Logf, if set, receives one line per notable event (faults, accepted
	// Bulk requests, token grants).
	Logf func(format string, args ...any)
	// Clock, if set, replaces time.Now (timestamps and completion times).
	Clock func() time.Time
}

// Faults configures transport-level fault injection. Probabilities are in
// [0,1] and are drawn per request from the seeded generator.
type Faults struct {
	// RateLimit is the probability of 429 with a Retry-After header (delay
	// seconds usually, sometimes an HTTP-date).
	RateLimit float64
	// RetryAfterMax is the largest Retry-After in seconds (default 1).
	RetryAfterMax int
	// Unavailable is the probability of a 503 (sometimes 502 or 504 with an
	// HTML body, as a gateway would send).
	Unavailable float64
	// Slow is the probability a request is delayed by SlowDelay before it
	// is handled.
	Slow      float64
	SlowDelay time.Duration
	// DropAfterAccept is the probability that an accepted Bulk POST is
	// recorded and processed but its connection is closed without a response.
	DropAfterAccept float64
	// ExpireTokens is the probability that an otherwise valid issued access
	// token is answered 401 and revoked (the static AccessToken only with
	// Options.ExpireStaticTokens: it is then answered 401 once but stays
	// valid).
	ExpireTokens float64
	// MaxFaults stops injection after this many faults (0 = unlimited).
	MaxFaults int
	// TokenEndpoint also applies RateLimit/Unavailable/Slow to the token
	// endpoint (default: the token endpoint is never faulted).
	TokenEndpoint bool
}

// Stats are counters of what the simulator saw and did.
type Stats struct {
	Requests int // all HTTP requests

	BulkReceived int // POST /Bulk requests that reached the handler
	BulkAccepted int // answered (or, when dropped, meant to be answered) 202
	BulkRejected int // answered 4xx (400, 413, 415)

	Operations          int // operations accepted in Bulk requests
	OperationsProcessed int
	OperationsSucceeded int
	OperationsFailed    int // includes 207 (identity applied, an extension failed)

	Creates           int // users created (POST)
	Patches           int // PATCH operations that changed a user (fully or partly)
	Replaces          int // PUT operations applied
	Deletes           int
	DuplicateAttempts int // operations failed with 409 (userName/employeeNumber in use)

	StatusPolls int // GET provision status
	Lookups     int // identity/spend/travel reads

	TokenGrants   int
	TokenFailures int
	Unauthorized  int // 401 answers (missing, unknown, expired token)

	FaultsInjected int
	RateLimited    int
	Unavailable    int
	Slowed         int
	Dropped        int
	TokensExpired  int
}

func (o *Options) withDefaults() Options {
	c := *o
	if c.PageSize <= 0 {
		c.PageSize = 10
	}
	if c.MaxOps <= 0 {
		c.MaxOps = 100
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 409600
	}
	if c.MaxProvisions <= 0 {
		c.MaxProvisions = 2000
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = time.Hour
	}
	if c.Faults.RetryAfterMax <= 0 {
		c.Faults.RetryAfterMax = 1
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}
