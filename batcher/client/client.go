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

	observer atomic.Pointer[func(AttemptInfo)] // SetObserver (observe.go)
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("client: no base URL")
	}
	if cfg.Tokens == nil {
		return nil, errors.New("client: no credentials")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 60 * time.Second}
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
	return c, nil
}

// BaseURL returns the base URL in use.
func (c *Client) BaseURL() string { return *c.base.Load() }

// SetBaseURL moves the client to another datacenter (a token's geolocation).
func (c *Client) SetBaseURL(u string) {
	u = strings.TrimRight(strings.TrimSpace(u), "/")
	c.base.Store(&u)
}

// AddSecrets registers strings to redact.
func (c *Client) AddSecrets(s ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range s {
		if len(v) >= 4 && !slices.Contains(c.secrets, v) {
			c.secrets = append(c.secrets, v)
		}
	}
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
	// unsafe marks a request that must not be repeated once its body may
	// have reached the server (Bulk POST).
	unsafe bool
}

func newCorrelationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// do runs one call with auth, retries and the concurrency bound, and
// decodes a 2xx JSON answer into out.
func (c *Client) do(ctx context.Context, cl call, out any) (int, error) {
	start := c.cfg.Clock.Now()
	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, body, written, err := c.attempt(ctx, cl)
		c.observe(cl, attempt, resp, err)
		var ae *authError
		if errors.As(err, &ae) {
			return 0, ae.err
		}
		if err == nil && resp.StatusCode == http.StatusUnauthorized && attempt < c.cfg.MaxAttempts {
			// Refresh once per 401: the token was revoked or expired early.
			// A token source that cannot renew ends the call here.
			if c.cfg.Tokens.Invalidate(usedToken(resp)) {
				c.logf("%s %s: 401, refreshing the access token", cl.method, cl.path)
				continue
			}
		}
		if err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if out != nil && len(body) > 0 {
				if jerr := json.Unmarshal(body, out); jerr != nil {
					return resp.StatusCode, fmt.Errorf("%s %s: decoding the answer: %w", cl.method, cl.path, jerr)
				}
			}
			return resp.StatusCode, nil
		}
		if cl.unsafe {
			if err != nil && written {
				return 0, &UnknownOutcomeError{Method: cl.method, Path: cl.path, Err: errors.New(c.Redact(err.Error()))}
			}
			if err == nil && resp.StatusCode == http.StatusGatewayTimeout {
				return 0, &UnknownOutcomeError{Method: cl.method, Path: cl.path, Err: errors.New("HTTP 504 gateway timeout")}
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			lastErr = fmt.Errorf("%s %s: %s", cl.method, cl.path, c.Redact(err.Error()))
		} else {
			lastErr = c.httpError(cl, resp, body, attempt)
		}
		retry, perr := c.cfg.CheckRetry(ctx, resp, err)
		if perr != nil {
			return 0, perr
		}
		if !retry || attempt >= c.cfg.MaxAttempts {
			return statusOf(resp), lastErr
		}
		wait := c.cfg.Backoff(c.cfg.RetryWaitMin, c.cfg.RetryWaitMax, attempt, resp)
		if elapsed := c.cfg.Clock.Now().Sub(start); elapsed+wait > c.cfg.MaxElapsed {
			return statusOf(resp), fmt.Errorf("%w (giving up: retry budget %s spent)", lastErr, c.cfg.MaxElapsed)
		}
		c.logf("%s %s: attempt %d failed (%s); retrying in %s", cl.method, cl.path, attempt, shortReason(resp, err), wait.Round(time.Millisecond))
		if err := c.cfg.Clock.Sleep(ctx, wait); err != nil {
			return 0, err
		}
	}
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

func shortReason(resp *http.Response, err error) string {
	if err != nil {
		return "transport error"
	}
	return fmt.Sprintf("HTTP %d", resp.StatusCode)
}

func (c *Client) httpError(cl call, resp *http.Response, body []byte, attempts int) error {
	he := &HTTPError{Method: cl.method, Path: cl.path, StatusCode: resp.StatusCode,
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
	he.Detail = c.Redact(he.Detail)
	for i := range he.Messages {
		he.Messages[i].Message = c.Redact(he.Messages[i].Message)
	}
	return he
}

const maxBody = 64 << 20

// attempt sends one HTTP request. written reports whether the request was
// fully written to the connection before any error.
func (c *Client) attempt(ctx context.Context, cl call) (resp *http.Response, body []byte, written bool, err error) {
	tok, err := c.cfg.Tokens.Token(ctx)
	if err != nil {
		return nil, nil, false, &authError{err}
	}
	c.AddSecrets(tok)
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
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
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
	BaseURL    string
	Env        func(string) string // default os.Getenv
	TokenFile  string              // where rotated refresh tokens are kept ("" keeps none)
	HTTPClient *http.Client
	Clock      Clock
}

// NewFromEnv builds a Client from SCIMIGRATE_* credentials. With a refresh
// token, a token file left by an earlier run takes precedence over the
// environment (the token in the environment may have been rotated since),
// and its geolocation over BaseURL. cfg supplies everything else.
func NewFromEnv(s Setup, cfg Config) (*Client, error) {
	creds, err := CredentialsFromEnv(s.Env)
	if err != nil {
		return nil, err
	}
	cfg.BaseURL = s.BaseURL
	cfg.HTTPClient = s.HTTPClient
	if s.Clock != nil {
		cfg.Clock = s.Clock
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	cfg.Secrets = append(cfg.Secrets, creds.Secrets()...)
	if creds.AccessToken != "" {
		cfg.Tokens = StaticToken(creds.AccessToken)
		return New(cfg)
	}
	refresh := creds.RefreshToken
	if s.TokenFile != "" {
		st, err := LoadTokenFile(s.TokenFile)
		if err != nil {
			return nil, err
		}
		if st != nil && st.RefreshToken != "" {
			refresh = st.RefreshToken
			cfg.Secrets = append(cfg.Secrets, refresh)
			if st.Geolocation != "" {
				cfg.BaseURL = st.Geolocation
			}
		}
	}
	if cfg.BaseURL == "" {
		return nil, errors.New("client: no base URL")
	}
	var c *Client
	hc := s.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	ts := NewRefreshTokenSource(RefreshConfig{
		ClientID: creds.ClientID, ClientSecret: creds.ClientSecret, RefreshToken: refresh,
		BaseURL: func() string { return c.BaseURL() }, HTTPClient: hc, Clock: cfg.Clock,
		Rotated: func(rt, geo string) error {
			c.AddSecrets(rt)
			if geo != "" && strings.TrimRight(geo, "/") != c.BaseURL() {
				c.logf("token names geolocation %s; using it as the base URL", geo)
				c.SetBaseURL(geo)
			}
			if s.TokenFile == "" {
				return nil
			}
			return SaveTokenFile(s.TokenFile, StoredToken{RefreshToken: rt, Geolocation: geo, Updated: cfg.Clock.Now().UTC()})
		},
	})
	cfg.Tokens = ts
	c, err = New(cfg)
	return c, err
}
