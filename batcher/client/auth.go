package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Environment variables holding credentials.
const (
	EnvAccessToken  = "SCIMIGRATE_ACCESS_TOKEN"
	EnvClientID     = "SCIMIGRATE_CLIENT_ID"
	EnvClientSecret = "SCIMIGRATE_CLIENT_SECRET"
	EnvRefreshToken = "SCIMIGRATE_REFRESH_TOKEN"
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
	RefreshToken string    `json:"refresh_token"`
	Geolocation  string    `json:"geolocation,omitempty"`
	Updated      time.Time `json:"updated"`
}

// LoadTokenFile reads a token file written by SaveTokenFile. A missing file
// gives a nil result and no error.
func LoadTokenFile(path string) (*StoredToken, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st StoredToken
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	return &st, nil
}

// SaveTokenFile writes st atomically with mode 0600.
func SaveTokenFile(path string, st StoredToken) error {
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
	// BaseURL returns the current base URL; the token endpoint is below it.
	BaseURL    func() string
	HTTPClient *http.Client
	Clock      Clock
	// Leeway: refresh this long before the token expires (default 5 min).
	Leeway time.Duration
	// Rotated is called when a token response carries a new refresh token or
	// a geolocation; it persists them and moves the base URL.
	Rotated func(refreshToken, geolocation string) error
}

// RefreshTokenSource runs the OAuth2 refresh-token grant against Concur's
// token endpoint with golang.org/x/oauth2. Concur sends expires_in as a
// string; the expiry is computed here from it with the injected clock.
type RefreshTokenSource struct {
	cfg     RefreshConfig
	mu      sync.Mutex
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
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &RefreshTokenSource{cfg: cfg, refresh: cfg.RefreshToken}
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

// TokenError is a failed token request, stripped of anything secret.
type TokenError struct {
	StatusCode  int
	Code        string // OAuth2 error, e.g. invalid_grant
	Description string
}

func (e *TokenError) Error() string {
	msg := fmt.Sprintf("token refresh failed: HTTP %d", e.StatusCode)
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

func (s *RefreshTokenSource) refreshLocked(ctx context.Context) (string, error) {
	conf := &oauth2.Config{
		ClientID:     s.cfg.ClientID,
		ClientSecret: s.cfg.ClientSecret,
		Endpoint: oauth2.Endpoint{
			TokenURL:  strings.TrimRight(s.cfg.BaseURL(), "/") + TokenPath,
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.cfg.HTTPClient)
	tok, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: s.refresh}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			te := &TokenError{Code: re.ErrorCode, Description: re.ErrorDescription}
			if re.Response != nil {
				te.StatusCode = re.Response.StatusCode
			}
			var body struct {
				Error       string          `json:"error"`
				Description string          `json:"error_description"`
				Code        json.RawMessage `json:"code"`
			}
			if json.Unmarshal(re.Body, &body) == nil && te.Code == "" {
				te.Code, te.Description = body.Error, body.Description
			}
			if len(body.Code) > 0 {
				te.Description = strings.TrimSpace(te.Description + " (Concur code " + strings.Trim(string(body.Code), `"`) + ")")
			}
			return "", te
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", errors.New("token refresh failed: the token endpoint could not be reached")
	}
	now := s.cfg.Clock.Now()
	s.access = tok.AccessToken
	s.expiry = now.Add(expiresIn(tok, now))
	geo, _ := tok.Extra("geolocation").(string)
	rotated := tok.RefreshToken != "" && tok.RefreshToken != s.refresh
	if rotated {
		s.refresh = tok.RefreshToken
	}
	if (rotated || geo != "") && s.cfg.Rotated != nil {
		if err := s.cfg.Rotated(s.refresh, geo); err != nil {
			return "", fmt.Errorf("saving the refreshed token: %w", err)
		}
	}
	return s.access, nil
}

// expiresIn reads expires_in from the raw token response, which Concur
// sends as a string ("3600"); numbers are accepted too. Without it the token
// is assumed to live one hour, Concur's documented lifetime.
func expiresIn(tok *oauth2.Token, now time.Time) time.Duration {
	switch v := tok.Extra("expires_in").(type) {
	case string:
		if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && n > 0 {
			return time.Duration(n * float64(time.Second))
		}
	case float64:
		if v > 0 {
			return time.Duration(v * float64(time.Second))
		}
	case json.Number:
		if n, err := v.Float64(); err == nil && n > 0 {
			return time.Duration(n * float64(time.Second))
		}
	}
	if !tok.Expiry.IsZero() {
		if d := time.Until(tok.Expiry); d > 0 {
			return d
		}
	}
	return time.Hour
}
