// Package client talks to the SAP Concur User Provisioning Service (UPS v4)
// and the Identity v4/v4.1 lookup endpoints: bearer or refresh-token
// authentication, retries with backoff that honour Retry-After, a bound on
// requests in flight, and a Bulk POST that is never blindly re-sent once its
// body may have reached the service.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Endpoint paths below the base URL.
const (
	BulkPath     = "/profile/v4/Bulk"
	StatusPath   = "/profile/v4/provisions/%s/status"
	IdentityV4   = "/profile/identity/v4/Users"
	IdentitySrch = "/profile/identity/v4.1/Users/.search"
)

// Config configures a Client. Zero fields take the defaults noted.
type Config struct {
	BaseURL    string       // datacenter URI, e.g. https://us2.api.concursolutions.com
	HTTPClient *http.Client // default: 60 s timeout
	Tokens     TokenSource  // required
	// Concurrency bounds HTTP requests in flight (default 4).
	Concurrency int
	// MaxAttempts bounds tries per call (default 8); MaxElapsed bounds the
	// total time spent retrying one call (default 10 min).
	MaxAttempts int
	MaxElapsed  time.Duration
	// RetryWaitMin and RetryWaitMax bound the computed backoff
	// (defaults 1 s and 60 s).
	RetryWaitMin, RetryWaitMax time.Duration
	CheckRetry                 CheckRetry // default DefaultRetryPolicy
	Backoff                    Backoff    // default NewBackoff(Clock.Now, nil)
	Clock                      Clock      // default RealClock
	// Logf receives one line per retry or notable event; secrets are
	// redacted first.
	Logf func(format string, args ...any)
	// Secrets are strings to redact from logs and errors (tokens, client
	// secret). Tokens obtained at run time are added automatically.
	Secrets []string
	// MaxUnknownOutcomes bounds Bulk POSTs in a row, whatever their body,
	// that end without a usable answer (504, connection lost after sending,
	// 2xx without a provision id): past it PostBulk returns *GaveUpError and
	// sends no more (default 20). The streak also ends once MaxElapsed has
	// passed since its first request. It is the client's backstop: a caller
	// that reconciles unknown outcomes may bound re-sends of one operation
	// lower (apply's per-operation bound), and then usually stops first.
	MaxUnknownOutcomes int
	// InsecureHTTP allows a plain http base URL (or geolocation) to a host
	// that is not loopback. Loopback http is always allowed (rehearsals).
	InsecureHTTP bool
	// OnAttempt, when set, is told about every HTTP attempt (see
	// AttemptInfo); it is called from the calling goroutine.
	OnAttempt func(AttemptInfo)
}

// Client is safe for concurrent use.
type Client struct {
	cfg  Config
	base atomic.Pointer[string]
	sem  chan struct{}

	mu      sync.RWMutex
	secrets []string

	// The current streak of Bulk POSTs without a usable answer.
	bulkMu     sync.Mutex
	bulkStreak int
	bulkFirst  time.Time
	bulkGaveUp *GaveUpError
	observer   atomic.Pointer[func(AttemptInfo)] // SetObserver (observe.go)
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("client: no base URL")
	}
	if cfg.Tokens == nil {
		return nil, errors.New("client: no credentials")
	}
	if err := CheckBaseURL(cfg.BaseURL, cfg.InsecureHTTP); err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	cfg.HTTPClient = withRedirectPolicy(cfg.HTTPClient)
	if cfg.MaxUnknownOutcomes <= 0 {
		cfg.MaxUnknownOutcomes = 20
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.MaxElapsed <= 0 {
		cfg.MaxElapsed = 10 * time.Minute
	}
	if cfg.RetryWaitMin <= 0 {
		cfg.RetryWaitMin = time.Second
	}
	if cfg.RetryWaitMax <= 0 {
		cfg.RetryWaitMax = 60 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.CheckRetry == nil {
		cfg.CheckRetry = DefaultRetryPolicy
	}
	if cfg.Backoff == nil {
		cfg.Backoff = NewBackoff(cfg.Clock.Now, nil)
	}
	c := &Client{cfg: cfg, sem: make(chan struct{}, cfg.Concurrency)}
	c.SetBaseURL(cfg.BaseURL)
	c.AddSecrets(cfg.Secrets...)
	if b, ok := cfg.Tokens.(interface{ bind(*Client) }); ok {
		b.bind(c)
	}
	return c, nil
}

// BaseURL returns the base URL in use.
func (c *Client) BaseURL() string { return *c.base.Load() }

// SetBaseURL moves the client to another datacenter (a token's geolocation).
func (c *Client) SetBaseURL(u string) {
	u = strings.TrimRight(strings.TrimSpace(u), "/")
	c.base.Store(&u)
}

// useGeolocation moves the client to a token's geolocation when it is an
// acceptable base URL (https; http only on loopback or with InsecureHTTP),
// and says so through Logf either way.
func (c *Client) useGeolocation(geo string) {
	geo = strings.TrimRight(strings.TrimSpace(geo), "/")
	if geo == "" || geo == c.BaseURL() {
		return
	}
	if err := CheckBaseURL(geo, c.cfg.InsecureHTTP); err != nil {
		c.logf("the token names geolocation %s; not used: %v; staying on %s", geo, err, c.BaseURL())
		return
	}
	c.logf("the token names geolocation %s; sending every further request there (was %s)", geo, c.BaseURL())
	c.SetBaseURL(geo)
}

// AddSecrets registers strings to redact, with the forms they take in a
// form body, a URL and a JSON string (a server echoing a request shows them
// encoded).
func (c *Client) AddSecrets(s ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range s {
		if len(v) < 4 {
			continue
		}
		js, _ := json.Marshal(v)
		for _, f := range []string{v, url.QueryEscape(v), url.PathEscape(v), string(js[1 : len(js)-1])} {
			if !slices.Contains(c.secrets, f) {
				c.secrets = append(c.secrets, f)
			}
		}
	}
	// Longest first, so a secret containing another is replaced whole.
	slices.SortStableFunc(c.secrets, func(a, b string) int { return len(b) - len(a) })
}

// Redact replaces every registered secret in s.
func (c *Client) Redact(s string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, v := range c.secrets {
		s = strings.ReplaceAll(s, v, "[REDACTED]")
	}
	return s
}

// scrub is the last step of every error the client returns: an error whose
// text still holds a secret is replaced by its redacted text.
func (c *Client) scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if r := c.Redact(msg); r != msg {
		return &redactedError{r}
	}
	return err
}

func (c *Client) logf(format string, args ...any) {
	if c.cfg.Logf != nil {
		c.cfg.Logf("%s", c.Redact(fmt.Sprintf(format, args...)))
	}
}

// Message is a Concur message: code, text, schema path and type.
type Message struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	SchemaPath string `json:"schemaPath,omitempty"`
	Type       string `json:"type,omitempty"`
}

// HTTPError is a non-success answer.
type HTTPError struct {
	Method        string
	Path          string
	StatusCode    int
	SCIMType      string
	Detail        string
	Messages      []Message
	CorrelationID string
	// Attempts is how many times the call was tried.
	Attempts int
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for _, m := range e.Messages {
		fmt.Fprintf(&b, "; %s: %s", m.Code, m.Message)
	}
	if e.CorrelationID != "" {
		b.WriteString(" (concur-correlationid " + e.CorrelationID + ")")
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

// StatusCodeOf returns the HTTP status of an *HTTPError in err's chain, or 0.
func StatusCodeOf(err error) int {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.StatusCode
	}
	return 0
}

// UnknownOutcomeError reports a non-idempotent request whose body was sent
// but whose answer never arrived (timeout, connection lost, 504). The service
// may or may not have acted on it.
type UnknownOutcomeError struct {
	Method, Path string
	Err          error
}

func (e *UnknownOutcomeError) Error() string {
	return fmt.Sprintf("%s %s: outcome unknown: %v", e.Method, e.Path, e.Err)
}

func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

type scimError struct {
	Status   json.RawMessage `json:"status"`
	SCIMType string          `json:"scimType"`
	Detail   string          `json:"detail"`
	Concur   *struct {
		Messages []Message `json:"messages"`
	} `json:"urn:ietf:params:scim:api:messages:concur:2.0:Error"`
	Messages []Message `json:"messages"`
}

// authError carries a failure to obtain a token out of attempt.
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }

type call struct {
	method string
	path   string // below the base URL, with query
	body   []byte
	// contentType of body (default application/json).
	contentType string
	// unsafe marks a request that must not be repeated once its body may
	// have reached the server (Bulk POST).
	unsafe bool
	// noAuth sends no bearer token (the token endpoint).
	noAuth bool
	// notFound404 makes a 404 a result (status 404, no error), not an error.
	notFound404 bool
	// failure builds the error of a non-2xx answer (default httpError).
	failure func(resp *http.Response, body []byte, attempts int) error
}

func newCorrelationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// do runs one call and decodes a 2xx JSON answer into out.
func (c *Client) do(ctx context.Context, cl call, out any) (int, error) {
	status, body, err := c.send(ctx, cl)
	if err != nil {
		return status, err
	}
	if out != nil && len(body) > 0 && status >= 200 && status < 300 {
		if jerr := json.Unmarshal(body, out); jerr != nil {
			return status, c.scrub(fmt.Errorf("%s %s: decoding the answer: %w", cl.method, pathOnly(cl.path), jerr))
		}
	}
	return status, nil
}

// send runs one call with auth, retries and the concurrency bound: the one
// retry loop of the client. It returns the status and body of a 2xx answer
// (or of a 404 with notFound404). Every error it returns is redacted.
func (c *Client) send(ctx context.Context, cl call) (int, []byte, error) {
	status, body, err := c.sendLoop(ctx, cl)
	return status, body, c.scrub(err)
}

func (c *Client) sendLoop(ctx context.Context, cl call) (int, []byte, error) {
	start := c.cfg.Clock.Now()
	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, body, written, err := c.attempt(ctx, cl)
		c.observe(cl, attempt, resp, err)
		var ae *authError
		if errors.As(err, &ae) {
			return 0, nil, ae.err
		}
		cannotRenew := false
		if err == nil && resp.StatusCode == http.StatusUnauthorized && !cl.noAuth && attempt < c.cfg.MaxAttempts &&
			c.cfg.Clock.Now().Sub(start) < c.cfg.MaxElapsed {
			// Refresh once per 401: the token was revoked or expired early.
			// A token source that cannot renew ends the call here.
			if c.cfg.Tokens.Invalidate(usedToken(resp)) {
				c.logf("%s %s: 401, getting a new access token", cl.method, pathOnly(cl.path))
				continue
			}
			cannotRenew = true
		}
		if err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp.StatusCode, body, nil
		}
		if err == nil && resp.StatusCode == http.StatusNotFound && cl.notFound404 {
			return http.StatusNotFound, nil, nil
		}
		if err != nil && isRedirectError(err) {
			var re *RedirectError
			errors.As(err, &re)
			return 0, nil, fmt.Errorf("%s %s: %w", cl.method, pathOnly(cl.path), re)
		}
		if cl.unsafe {
			if err != nil && written && ctx.Err() == nil {
				return 0, nil, &UnknownOutcomeError{Method: cl.method, Path: cl.path, Err: errors.New(c.Redact(err.Error()))}
			}
			if err == nil && resp.StatusCode == http.StatusGatewayTimeout {
				return 0, nil, &UnknownOutcomeError{Method: cl.method, Path: cl.path, Err: c.failure(cl, resp, body, attempt)}
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return 0, nil, ctx.Err()
			}
			lastErr = fmt.Errorf("%s %s: %s", cl.method, pathOnly(cl.path), c.Redact(err.Error()))
		} else {
			lastErr = c.failure(cl, resp, body, attempt)
			if cannotRenew {
				lastErr = fmt.Errorf("%w (the access token was refused and no new one can be had: set %s, %s and %s, or run 'scimigrate login')",
					lastErr, EnvClientID, EnvClientSecret, EnvRefreshToken)
			}
		}
		retry, perr := c.cfg.CheckRetry(ctx, resp, err)
		if perr != nil {
			return 0, nil, perr
		}
		if !retry {
			return statusOf(resp), nil, lastErr
		}
		elapsed := c.cfg.Clock.Now().Sub(start)
		if attempt >= c.cfg.MaxAttempts {
			return statusOf(resp), nil, &GaveUpError{Method: cl.method, Path: pathOnly(cl.path), Attempts: attempt, Elapsed: elapsed,
				Reason: fmt.Sprintf("at most %d attempts per call", c.cfg.MaxAttempts), Err: lastErr}
		}
		wait := c.cfg.Backoff(c.cfg.RetryWaitMin, c.cfg.RetryWaitMax, attempt, resp)
		if elapsed+wait > c.cfg.MaxElapsed {
			return statusOf(resp), nil, &GaveUpError{Method: cl.method, Path: pathOnly(cl.path), Attempts: attempt, Elapsed: elapsed,
				Reason: fmt.Sprintf("retry budget %s spent; the next wait would be %s", c.cfg.MaxElapsed, wait.Round(time.Millisecond)), Err: lastErr}
		}
		c.logf("%s %s: attempt %d failed (%s); retrying in %s", cl.method, pathOnly(cl.path), attempt, c.Redact(shortReason(resp, err)), wait.Round(time.Millisecond))
		if err := c.cfg.Clock.Sleep(ctx, wait); err != nil {
			return 0, nil, err
		}
	}
}

// pathOnly drops the query (filters name employees; keep them out of
// errors and logs).
func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// usedToken returns the bearer token a request carried.
func usedToken(resp *http.Response) string {
	if resp == nil || resp.Request == nil {
		return ""
	}
	return strings.TrimPrefix(resp.Request.Header.Get("Authorization"), "Bearer ")
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// shortReason is the reason of a retry log line, with the service's
// correlation id (the one correlation-id log: errors carry it too).
func shortReason(resp *http.Response, err error) string {
	if err != nil {
		return "transport error"
	}
	if cid := resp.Header.Get("concur-correlationid"); cid != "" {
		return fmt.Sprintf("HTTP %d, concur-correlationid %s", resp.StatusCode, cid)
	}
	return fmt.Sprintf("HTTP %d", resp.StatusCode)
}

func (c *Client) failure(cl call, resp *http.Response, body []byte, attempts int) error {
	if cl.failure != nil {
		return cl.failure(resp, body, attempts)
	}
	return c.httpError(cl, resp, body, attempts)
}

// httpError builds the error of a non-2xx answer, every text field redacted.
func (c *Client) httpError(cl call, resp *http.Response, body []byte, attempts int) error {
	he := &HTTPError{Method: cl.method, Path: pathOnly(cl.path), StatusCode: resp.StatusCode,
		CorrelationID: resp.Header.Get("concur-correlationid"), Attempts: attempts}
	var se scimError
	if json.Unmarshal(body, &se) == nil {
		he.SCIMType, he.Detail = se.SCIMType, se.Detail
		if se.Concur != nil {
			he.Messages = se.Concur.Messages
		}
		if len(he.Messages) == 0 {
			he.Messages = se.Messages
		}
	}
	he.SCIMType, he.Detail, he.CorrelationID = c.Redact(he.SCIMType), c.Redact(he.Detail), c.Redact(he.CorrelationID)
	for i := range he.Messages {
		m := &he.Messages[i]
		m.Code, m.Message, m.SchemaPath, m.Type = c.Redact(m.Code), c.Redact(m.Message), c.Redact(m.SchemaPath), c.Redact(m.Type)
	}
	return he
}

const maxBody = 64 << 20

// attempt sends one HTTP request. written reports whether the request was
// fully written to the connection before any error.
func (c *Client) attempt(ctx context.Context, cl call) (resp *http.Response, body []byte, written bool, err error) {
	var tok string
	if !cl.noAuth {
		tok, err = c.cfg.Tokens.Token(ctx)
		if err != nil {
			return nil, nil, false, &authError{err}
		}
		c.AddSecrets(tok)
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, false, ctx.Err()
	}
	defer func() { <-c.sem }()

	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	}
	var rd io.Reader
	if cl.body != nil {
		rd = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), cl.method, c.BaseURL()+cl.path, rd)
	if err != nil {
		return nil, nil, false, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Accept", "application/json")
	if cl.body != nil {
		ct := cl.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("concur-correlationid", newCorrelationID())
	resp, err = c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, nil, wrote.Load(), err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		// The status line arrived, so the request was received.
		return nil, nil, true, err
	}
	return resp, body, true, nil
}

// Setup describes how to authenticate.
type Setup struct {
	// BaseURL is the datacenter URI; a token file's geolocation overrides
	// it, and with a token file it may be empty.
	BaseURL string
	Env     func(string) string // default os.Getenv
	// TokenFile holds the refresh token and geolocation ('scimigrate login'
	// writes it; rotated refresh tokens are kept in it). "" keeps none.
	TokenFile    string
	HTTPClient   *http.Client
	Clock        Clock
	InsecureHTTP bool // see Config.InsecureHTTP
}

// NewFromEnv builds a Client from SCIMIGRATE_* credentials and the token
// file. The refresh token comes from the token file when it holds one (the
// token in the environment may have been rotated since), else from
// SCIMIGRATE_REFRESH_TOKEN; the base URL from the token file's geolocation,
// else s.BaseURL. SCIMIGRATE_ACCESS_TOKEN, when set, is used first; if a
// refresh is possible too, a 401 on it moves to the refresh grant instead of
// ending the run. cfg supplies everything else.
func NewFromEnv(s Setup, cfg Config) (*Client, error) {
	env := s.Env
	if env == nil {
		env = os.Getenv
	}
	creds := Credentials{
		AccessToken:  strings.TrimSpace(env(EnvAccessToken)),
		ClientID:     strings.TrimSpace(env(EnvClientID)),
		ClientSecret: strings.TrimSpace(env(EnvClientSecret)),
		RefreshToken: strings.TrimSpace(env(EnvRefreshToken)),
	}
	cfg.BaseURL = s.BaseURL
	cfg.HTTPClient = s.HTTPClient
	cfg.InsecureHTTP = cfg.InsecureHTTP || s.InsecureHTTP
	if s.Clock != nil {
		cfg.Clock = s.Clock
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	cfg.Secrets = append(cfg.Secrets, creds.Secrets()...)
	refresh := creds.RefreshToken
	var stored StoredToken
	if s.TokenFile != "" {
		st, err := LoadTokenFile(s.TokenFile)
		if err != nil {
			return nil, err
		}
		if st != nil && st.RefreshToken != "" {
			stored = *st
			refresh = st.RefreshToken
			cfg.Secrets = append(cfg.Secrets, refresh)
			if st.Geolocation != "" {
				cfg.BaseURL = st.Geolocation
			}
		}
	}
	var missing []string
	for _, m := range []struct{ name, v string }{{EnvClientID, creds.ClientID}, {EnvClientSecret, creds.ClientSecret}, {EnvRefreshToken, refresh}} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if creds.AccessToken != "" && len(missing) > 0 {
		cfg.Tokens = StaticToken(creds.AccessToken)
		return New(cfg)
	}
	switch {
	case len(missing) == 3 && s.TokenFile != "":
		return nil, fmt.Errorf("no credentials: token file %s holds no refresh token (run 'scimigrate login'), and %s, %s are not set", s.TokenFile, EnvClientID, EnvClientSecret)
	case len(missing) == 3:
		return nil, fmt.Errorf("no credentials: set %s, or %s and %s with %s or a --token-file written by 'scimigrate login'", EnvAccessToken, EnvClientID, EnvClientSecret, EnvRefreshToken)
	case len(missing) > 0:
		return nil, fmt.Errorf("incomplete credentials: %s not set", strings.Join(missing, ", "))
	}
	if cfg.BaseURL == "" {
		return nil, errors.New("client: no base URL: give --base-url, or a --token-file written by 'scimigrate login'")
	}
	ts := NewRefreshTokenSource(RefreshConfig{
		ClientID: creds.ClientID, ClientSecret: creds.ClientSecret, RefreshToken: refresh, Clock: cfg.Clock,
		Rotated: func(rt, geo string) error {
			if s.TokenFile == "" {
				return nil
			}
			now := cfg.Clock.Now().UTC()
			if rt != stored.RefreshToken {
				stored.RefreshToken, stored.IssuedAt = rt, now
			}
			if geo != "" {
				stored.Geolocation = geo
			}
			stored.Updated = now
			return SaveTokenFile(s.TokenFile, stored)
		},
	})
	if creds.AccessToken != "" {
		cfg.Tokens = &staticThenRefresh{static: creds.AccessToken, next: ts}
	} else {
		cfg.Tokens = ts
	}
	return New(cfg)
}
