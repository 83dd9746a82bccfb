package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Environment variables holding credentials.
const (
	EnvAccessToken  = "SCIMIGRATE_ACCESS_TOKEN"
	EnvClientID     = "SCIMIGRATE_CLIENT_ID"
	EnvClientSecret = "SCIMIGRATE_CLIENT_SECRET"
	EnvRefreshToken = "SCIMIGRATE_REFRESH_TOKEN"
	// EnvRequestToken is the Company Request Token 'scimigrate login'
	// exchanges; EnvCompanyID the company UUID it belongs to.
	EnvRequestToken = "SCIMIGRATE_REQUEST_TOKEN"
	EnvCompanyID    = "SCIMIGRATE_COMPANY_ID"
)

// TokenPath is the token endpoint below the base URL.
const TokenPath = "/oauth2/v0/token"

// TokenSource supplies bearer tokens.
type TokenSource interface {
	// Token returns a valid access token, refreshing it when it is about to
	// expire.
	Token(ctx context.Context) (string, error)
	// Invalidate drops tok after the service refused it (401), so the next
	// Token call refreshes. It reports whether a new token can be had.
	Invalidate(tok string) bool
}

// StaticToken is a fixed bearer token (SCIMIGRATE_ACCESS_TOKEN).
type StaticToken string

// Token returns the token.
func (s StaticToken) Token(context.Context) (string, error) { return string(s), nil }

// Invalidate reports false: a static token cannot be renewed.
func (s StaticToken) Invalidate(string) bool { return false }

// staticThenRefresh uses a static access token until the service refuses
// it, then the refresh-token grant: a static token's 401 is not fatal when
// a refresh is possible.
type staticThenRefresh struct {
	static  string
	dropped atomic.Bool
	next    *RefreshTokenSource
}

func (s *staticThenRefresh) Token(ctx context.Context) (string, error) {
	if !s.dropped.Load() {
		return s.static, nil
	}
	return s.next.Token(ctx)
}

func (s *staticThenRefresh) Invalidate(tok string) bool {
	if tok == s.static {
		s.dropped.Store(true)
		return true
	}
	return s.next.Invalidate(tok)
}

func (s *staticThenRefresh) bind(c *Client) { s.next.bind(c) }

// Credentials are what the environment supplies.
type Credentials struct {
	AccessToken  string
	ClientID     string
	ClientSecret string
	RefreshToken string
}

// CredentialsFromEnv reads the SCIMIGRATE_* variables through env (nil takes
// os.Getenv). A static access token wins over the refresh-token grant.
func CredentialsFromEnv(env func(string) string) (Credentials, error) {
	if env == nil {
		env = os.Getenv
	}
	c := Credentials{
		AccessToken:  strings.TrimSpace(env(EnvAccessToken)),
		ClientID:     strings.TrimSpace(env(EnvClientID)),
		ClientSecret: strings.TrimSpace(env(EnvClientSecret)),
		RefreshToken: strings.TrimSpace(env(EnvRefreshToken)),
	}
	if c.AccessToken != "" {
		return c, nil
	}
	var missing []string
	for _, m := range []struct{ name, v string }{{EnvClientID, c.ClientID}, {EnvClientSecret, c.ClientSecret}, {EnvRefreshToken, c.RefreshToken}} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) == 3 {
		return c, fmt.Errorf("no credentials: set %s, or %s, %s and %s", EnvAccessToken, EnvClientID, EnvClientSecret, EnvRefreshToken)
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("incomplete credentials: %s not set", strings.Join(missing, ", "))
	}
	return c, nil
}

// Secrets returns the credential strings that must never be logged.
func (c Credentials) Secrets() []string {
	return []string{c.AccessToken, c.ClientSecret, c.RefreshToken}
}

// StoredToken is what the token file holds.
type StoredToken struct {
	RefreshToken string `json:"refresh_token"`
	Geolocation  string `json:"geolocation,omitempty"`
	// CompanyID is the company UUID the credentials belong to, when known
	// (the login's username, or the id_token's subject).
	CompanyID string `json:"company_id,omitempty"`
	// IssuedAt is when the refresh token was issued (login, or the last
	// rotation); Concur's refresh tokens live six months.
	IssuedAt time.Time `json:"issued_at,omitzero"`
	Updated  time.Time `json:"updated"`
}

// LoadTokenFile reads a token file written by SaveTokenFile. A missing file
// gives a nil result and no error.
func LoadTokenFile(path string) (*StoredToken, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The file holds a refresh token: like ssh with a private key, refuse
	// one that others can read or write (SaveTokenFile writes 0600).
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("token file %s has mode %04o: others can read the refresh token it holds; run 'chmod 600 %s' (and log in again if they may have)", path, perm, path)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	var st StoredToken
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("token file %s: not a token file written by scimigrate (%v)", path, jsonErrorWithoutInput(err))
	}
	return &st, nil
}

// jsonErrorWithoutInput keeps a JSON error's kind but none of the input (a
// token file holds a secret).
func jsonErrorWithoutInput(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s has the wrong type", te.Field)
	}
	return "invalid JSON"
}

// SaveTokenFile writes st with mode 0600, atomically: a temporary file in
// the same directory, synced, then renamed over path. The rename replaces
// path itself: a symlink at path is replaced, never followed.
func SaveTokenFile(path string, st StoredToken) error {
	if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("token file %s is a directory", path)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".token-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// RefreshConfig configures a RefreshTokenSource.
type RefreshConfig struct {
	ClientID, ClientSecret, RefreshToken string
	// BaseURL returns the base URL of the token endpoint when the source is
	// used on its own; a source given to New uses its Client's base URL.
	BaseURL    func() string
	HTTPClient *http.Client
	Clock      Clock
	// Leeway: refresh this long before the token expires (default 5 min).
	Leeway time.Duration
	// Rotated is called when a token response carries a new refresh token or
	// a geolocation the client accepted; it persists them.
	Rotated func(refreshToken, geolocation string) error
}

// RefreshTokenSource runs the OAuth2 refresh-token grant against Concur's
// token endpoint through the Client it is given to (the same retries,
// bounds, redaction and logs as every other call). Concur sends expires_in
// as a string; the expiry is computed from it with the client's clock.
type RefreshTokenSource struct {
	cfg     RefreshConfig
	mu      sync.Mutex
	c       *Client
	access  string
	refresh string
	expiry  time.Time
}

// NewRefreshTokenSource returns a token source for cfg.
func NewRefreshTokenSource(cfg RefreshConfig) *RefreshTokenSource {
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 5 * time.Minute
	}
	return &RefreshTokenSource{cfg: cfg, refresh: cfg.RefreshToken}
}

func (s *RefreshTokenSource) bind(c *Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c = c
	c.AddSecrets(s.cfg.ClientSecret, s.refresh)
}

// client returns the bound Client, or a private one for a source used on
// its own.
func (s *RefreshTokenSource) client() (*Client, error) {
	if s.c != nil {
		return s.c, nil
	}
	if s.cfg.BaseURL == nil {
		return nil, errors.New("client: refresh token source without a base URL")
	}
	c, err := New(Config{BaseURL: s.cfg.BaseURL(), HTTPClient: s.cfg.HTTPClient, Clock: s.cfg.Clock, Tokens: StaticToken("")})
	if err != nil {
		return nil, err
	}
	c.AddSecrets(s.cfg.ClientSecret, s.refresh)
	return c, nil
}

// Token returns the cached access token or refreshes it.
func (s *RefreshTokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock.Now()
	if s.access != "" && now.Add(s.cfg.Leeway).Before(s.expiry) {
		return s.access, nil
	}
	return s.refreshLocked(ctx)
}

// Invalidate forgets tok so the next Token call refreshes.
func (s *RefreshTokenSource) Invalidate(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.access == tok {
		s.access = ""
	}
	return true
}

// TokenError is a refused token request: the HTTP status and Concur's
// error, description and numeric code, stripped of anything secret.
type TokenError struct {
	Grant       string // refresh_token or password
	StatusCode  int
	Code        string // OAuth2 error, e.g. invalid_grant
	Description string
	ConcurCode  string // Concur's numeric code, e.g. 108
}

func (e *TokenError) Error() string {
	what := "token refresh failed"
	if e.Grant == "password" {
		what = "login failed"
	}
	msg := fmt.Sprintf("%s: HTTP %d", what, e.StatusCode)
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.ConcurCode != "" {
		msg += " (Concur code " + e.ConcurCode + ")"
	}
	return msg
}

// TokenResponse is Concur's token answer.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    Code   `json:"expires_in"` // a string at Concur
	Geolocation  string `json:"geolocation"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

// lifetime returns expires_in; without it the token is assumed to live one
// hour, Concur's documented lifetime.
func (t *TokenResponse) lifetime() time.Duration {
	if n, err := strconv.ParseFloat(strings.TrimSpace(string(t.ExpiresIn)), 64); err == nil && n > 0 {
		return time.Duration(n * float64(time.Second))
	}
	return time.Hour
}

// grant posts a token request through the client's one retry loop: 5xx,
// 429 and transport errors are retried within the bounds; a 4xx is a
// *TokenError with Concur's code.
func (c *Client) grant(ctx context.Context, form url.Values) (*TokenResponse, error) {
	c.AddSecrets(form.Get("client_secret"), form.Get("refresh_token"), form.Get("password"))
	gt := form.Get("grant_type")
	status, body, err := c.send(ctx, call{method: "POST", path: TokenPath, body: []byte(form.Encode()),
		contentType: "application/x-www-form-urlencoded", noAuth: true,
		failure: func(resp *http.Response, body []byte, _ int) error { return c.tokenError(gt, resp.StatusCode, body) }})
	if err != nil {
		return nil, err
	}
	var tr TokenResponse
	if json.Unmarshal(body, &tr) != nil || tr.AccessToken == "" {
		return nil, &TokenError{Grant: gt, StatusCode: status, Description: "the answer holds no access_token"}
	}
	c.AddSecrets(tr.AccessToken, tr.RefreshToken, tr.IDToken)
	return &tr, nil
}

func (c *Client) tokenError(grant string, status int, body []byte) error {
	te := &TokenError{Grant: grant, StatusCode: status}
	var b struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Code        Code   `json:"code"`
	}
	if json.Unmarshal(body, &b) == nil {
		te.Code, te.Description, te.ConcurCode = c.Redact(b.Error), c.Redact(b.Description), c.Redact(string(b.Code))
	}
	return te
}

func (s *RefreshTokenSource) refreshLocked(ctx context.Context) (string, error) {
	c, err := s.client()
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.refresh},
		"client_id": {s.cfg.ClientID}, "client_secret": {s.cfg.ClientSecret}}
	tok, err := c.grant(ctx, form)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", err
	}
	now := s.cfg.Clock.Now()
	s.access = tok.AccessToken
	s.expiry = now.Add(tok.lifetime())
	rotated := tok.RefreshToken != "" && tok.RefreshToken != s.refresh
	if rotated {
		s.refresh = tok.RefreshToken
	}
	geo := ""
	if tok.Geolocation != "" && s.c != nil {
		s.c.useGeolocation(tok.Geolocation)
		if strings.TrimRight(tok.Geolocation, "/") == s.c.BaseURL() {
			geo = s.c.BaseURL()
		}
	}
	if (rotated || geo != "") && s.cfg.Rotated != nil {
		if err := s.cfg.Rotated(s.refresh, geo); err != nil {
			return "", fmt.Errorf("saving the refreshed token: %w", err)
		}
	}
	return s.access, nil
}
