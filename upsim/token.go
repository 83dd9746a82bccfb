package upsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

const grantedScope = "openid user.provision.read user.provision.write " +
	"identity.user.ids.read identity.user.core.read identity.user.enterprise.read " +
	"identity.user.coreenterprise.writeonly identity.user.externalID.writeonly " +
	"spend.user.general.read spend.user.general.writeonly " +
	"travel.user.general.read"

// tokenResponse is Concur's token answer; expires_in is a string.
type tokenResponse struct {
	ExpiresIn    string `json:"expires_in"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token,omitempty"`
	Geolocation  string `json:"geolocation"`
}

// idToken returns an unsigned JWT whose subject is the company UUID, as
// Concur's id_token names the company of a company-level token. Clients
// read it for display only (the simulator signs nothing).
func idToken(companyID string, now time.Time) string {
	if companyID == "" {
		return ""
	}
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"sub": companyID, "iat": now.Unix(), "iss": "upsim"})
	return header + "." + enc.EncodeToString(claims) + "."
}

type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Code        int    `json:"code"`
	Geolocation string `json:"geolocation,omitempty"`
}

// maxTokens bounds the number of live access tokens kept.
const maxTokens = 10000

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	geo := s.opts.Geolocation
	if geo == "" {
		geo = s.baseURL(r)
	}
	fail := func(status int, errCode string, code int, desc string) {
		s.mu.Lock()
		s.stats.TokenFailures++
		s.mu.Unlock()
		s.logf("upsim: token grant refused: %s", desc)
		writeJSON(w, status, tokenError{Error: errCode, Description: desc, Code: code, Geolocation: geo})
	}
	form, err := url.ParseQuery(string(bodyOf(r).data))
	if err != nil || bodyOf(r).tooLarge {
		fail(http.StatusBadRequest, "invalid_request", 0, "malformed form body")
		return
	}
	clientID, clientSecret := form.Get("client_id"), form.Get("client_secret")
	if clientID == "" {
		clientID, clientSecret, _ = r.BasicAuth()
	}
	if (s.opts.ClientID != "" && clientID != s.opts.ClientID) ||
		(s.opts.ClientSecret != "" && clientSecret != s.opts.ClientSecret) {
		fail(http.StatusUnauthorized, "invalid_client", 5, "invalid client_id or client_secret")
		return
	}
	var used string // refresh token presented (rotated out when rotating)
	switch gt := form.Get("grant_type"); gt {
	case "refresh_token":
		used = form.Get("refresh_token")
		if used == "" {
			fail(http.StatusBadRequest, "invalid_request", 106, "refresh_token is missing")
			return
		}
		s.mu.Lock()
		ok := s.refreshTokens[used]
		s.mu.Unlock()
		if !ok {
			fail(http.StatusBadRequest, "invalid_grant", 108, "refresh token is invalid or expired")
			return
		}
	case "password":
		if form.Get("credtype") != "authtoken" {
			fail(http.StatusBadRequest, "invalid_request", 120, "only credtype=authtoken is supported")
			return
		}
		if s.opts.RequestToken == "" || form.Get("password") != s.opts.RequestToken ||
			(s.opts.CompanyID != "" && form.Get("username") != s.opts.CompanyID) {
			fail(http.StatusBadRequest, "invalid_grant", 19, "invalid company request token")
			return
		}
	case "":
		fail(http.StatusBadRequest, "invalid_request", 0, "grant_type is missing")
		return
	default:
		fail(http.StatusBadRequest, "unsupported_grant_type", 0, fmt.Sprintf("grant_type %q is not supported", gt))
		return
	}

	s.mu.Lock()
	now := s.now()
	s.pruneTokens(now)
	access := s.randomToken()
	s.tokens[access] = now.Add(s.opts.TokenTTL)
	refresh := used
	if s.opts.RotateRefreshToken || refresh == "" {
		if refresh != "" {
			delete(s.refreshTokens, refresh)
		}
		for t := range s.refreshTokens {
			if len(s.refreshTokens) < maxTokens {
				break
			}
			if t != s.opts.RefreshToken {
				delete(s.refreshTokens, t)
			}
		}
		refresh = s.randomToken()
		s.refreshTokens[refresh] = true
	}
	s.stats.TokenGrants++
	s.mu.Unlock()
	s.logf("upsim: token granted (%s)", form.Get("grant_type"))

	writeJSON(w, http.StatusOK, tokenResponse{
		ExpiresIn:    strconv.Itoa(int(s.opts.TokenTTL / time.Second)),
		Scope:        grantedScope,
		TokenType:    "Bearer",
		AccessToken:  access,
		RefreshToken: refresh,
		IDToken:      idToken(s.opts.CompanyID, now),
		Geolocation:  geo,
	})
}

// randomToken returns a 32-byte hex token. The caller holds s.mu.
func (s *Server) randomToken() string {
	return fmt.Sprintf("%016x%016x%016x%016x", s.rngToken.Uint64(), s.rngToken.Uint64(), s.rngToken.Uint64(), s.rngToken.Uint64())
}

// pruneTokens drops expired access tokens and, above maxTokens, the ones
// closest to expiry. The caller holds s.mu.
func (s *Server) pruneTokens(now time.Time) {
	for t, exp := range s.tokens {
		if !now.Before(exp) {
			delete(s.tokens, t)
		}
	}
	for len(s.tokens) >= maxTokens {
		var oldest string
		var oldestExp time.Time
		for t, exp := range s.tokens {
			if oldest == "" || exp.Before(oldestExp) {
				oldest, oldestExp = t, exp
			}
		}
		delete(s.tokens, oldest)
	}
}
