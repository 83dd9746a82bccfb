package upsim

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTokenGrant(t *testing.T) {
	opts := baseOpts()
	opts.RequestToken = "company-request-token"
	opts.CompanyID = "company-1"
	c := newTC(t, opts)
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name     string
		form     url.Values
		status   int
		errCode  string
		concurID float64
	}{
		{"refresh ok", form("grant_type", "refresh_token", "client_id", testClientID, "client_secret", testSecret, "refresh_token", testRefresh), 200, "", 0},
		{"password authtoken ok", form("grant_type", "password", "client_id", testClientID, "client_secret", testSecret, "username", "company-1", "password", "company-request-token", "credtype", "authtoken"), 200, "", 0},
		{"bad secret", form("grant_type", "refresh_token", "client_id", testClientID, "client_secret", "nope", "refresh_token", testRefresh), 401, "invalid_client", 5},
		{"missing refresh", form("grant_type", "refresh_token", "client_id", testClientID, "client_secret", testSecret), 400, "invalid_request", 106},
		{"unknown refresh", form("grant_type", "refresh_token", "client_id", testClientID, "client_secret", testSecret, "refresh_token", "x"), 400, "invalid_grant", 108},
		{"bad credtype", form("grant_type", "password", "client_id", testClientID, "client_secret", testSecret, "username", "u", "password", "p", "credtype", "password"), 400, "invalid_request", 120},
		{"bad request token", form("grant_type", "password", "client_id", testClientID, "client_secret", testSecret, "username", "company-1", "password", "wrong", "credtype", "authtoken"), 400, "invalid_grant", 19},
		{"unsupported grant", form("grant_type", "client_credentials", "client_id", testClientID, "client_secret", testSecret), 400, "unsupported_grant_type", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := c.grant(tt.form)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if tt.status == 200 {
				if body["expires_in"] != "3600" { // a string, as Concur sends it
					t.Errorf("expires_in = %#v", body["expires_in"])
				}
				if body["token_type"] != "Bearer" || body["access_token"] == "" || body["refresh_token"] == "" {
					t.Errorf("bad token body %v", body)
				}
				if body["geolocation"] != c.base {
					t.Errorf("geolocation = %v, want %s", body["geolocation"], c.base)
				}
				return
			}
			if body["error"] != tt.errCode || body["code"] != tt.concurID || body["error_description"] == "" {
				t.Errorf("error body %v", body)
			}
		})
	}
}

func TestTokenRotation(t *testing.T) {
	opts := baseOpts()
	opts.RotateRefreshToken = true
	opts.Geolocation = "https://us2.api.concursolutions.com"
	c := newTC(t, opts) // consumed refresh-0
	refresh := func(rt string) (int, map[string]any) {
		return c.grant(url.Values{"grant_type": {"refresh_token"}, "client_id": {testClientID},
			"client_secret": {testSecret}, "refresh_token": {rt}})
	}
	if st, _ := refresh(testRefresh); st != 400 {
		t.Fatalf("rotated-out refresh token accepted: %d", st)
	}
	// Walk a chain of rotations on a fresh server; each token works once.
	s2 := NewServer(opts)
	defer s2.Close()
	c2 := &tc{t: t, s: s2, base: s2.URL(), hc: http.DefaultClient}
	rt := testRefresh
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		st, body := c2.grant(url.Values{"grant_type": {"refresh_token"}, "client_id": {testClientID}, "client_secret": {testSecret}, "refresh_token": {rt}})
		if st != 200 {
			t.Fatalf("rotation %d: %d %v", i, st, body)
		}
		if body["geolocation"] != opts.Geolocation {
			t.Errorf("geolocation = %v", body["geolocation"])
		}
		next := body["refresh_token"].(string)
		if next == rt || seen[next] {
			t.Fatalf("refresh token not rotated: %s", next)
		}
		seen[next] = true
		if st, _ := c2.grant(url.Values{"grant_type": {"refresh_token"}, "client_id": {testClientID}, "client_secret": {testSecret}, "refresh_token": {rt}}); st != 400 {
			t.Fatalf("old refresh token still valid")
		}
		rt = next
	}
	if got := s2.Stats().TokenGrants; got != 3 {
		t.Errorf("TokenGrants = %d", got)
	}
}

func TestUnauthorized(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := baseOpts()
	opts.AccessToken = "static-token"
	opts.TokenTTL = time.Minute
	opts.Clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := newTC(t, opts)
	_, tok := c.grant(url.Values{"grant_type": {"refresh_token"}, "client_id": {testClientID}, "client_secret": {testSecret}, "refresh_token": {testRefresh}})
	issued := tok["access_token"].(string)

	path := "/profile/identity/v4/Users"
	tests := []struct {
		name   string
		header string
		status int
	}{
		{"no token", "", 401},
		{"not bearer", "Basic abc", 401},
		{"unknown token", "Bearer nope", 401},
		{"static token", "Bearer static-token", 200},
		{"issued token", "Bearer " + issued, 200},
		{"lower-case scheme", "bearer " + issued, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.token = ""
			hdr := map[string]string{}
			if tt.header != "" {
				hdr["Authorization"] = tt.header
			}
			resp, body, err := c.raw("GET", path, nil, hdr)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status == 401 {
				mustContain(t, string(body), `"status":"401"`)
				mustContain(t, string(body), urnError)
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("no WWW-Authenticate header")
				}
			}
		})
	}
	// The issued token expires after TokenTTL.
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	c.token = issued
	if st, body := c.call("GET", path, nil); st != 401 {
		t.Fatalf("expired token: %d %v", st, body)
	} else {
		mustContain(t, body["detail"].(string), "expired")
	}
}

// TestExpireTokensSparesStaticTokens: the token-expiry fault answers 401
// only to issued tokens, which a client can renew, unless
// ExpireStaticTokens asks for the static token to be expired too.
func TestExpireTokensSparesStaticTokens(t *testing.T) {
	for _, expireStatic := range []bool{false, true} {
		opts := baseOpts()
		opts.AccessToken = "static-token"
		opts.ExpireStaticTokens = expireStatic
		opts.Faults = Faults{ExpireTokens: 1}
		c := newTC(t, opts)
		st, _ := c.call("GET", "/profile/identity/v4/Users", nil)
		if want := map[bool]int{false: 200, true: 401}[expireStatic]; st != want {
			t.Errorf("ExpireStaticTokens=%v: static token answered %d, want %d", expireStatic, st, want)
		}
		// Issued tokens are expired either way.
		status, body := c.grant(url.Values{"grant_type": {"refresh_token"}, "client_id": {testClientID},
			"client_secret": {testSecret}, "refresh_token": {testRefresh}})
		if status != 200 {
			t.Fatal(status)
		}
		c.token = body["access_token"].(string)
		if st, _ := c.call("GET", "/profile/identity/v4/Users", nil); st != 401 {
			t.Errorf("issued token answered %d, want 401", st)
		}
	}
}

// TestIDTokenNamesCompany: with CompanyID set, the token answer carries an
// id_token whose subject is the company UUID.
func TestIDTokenNamesCompany(t *testing.T) {
	opts := baseOpts()
	opts.CompanyID = "2c1a7f3e-0000-4000-8000-000000000001"
	opts.RequestToken = "crt"
	c := newTC(t, opts)
	status, body := c.grant(url.Values{"grant_type": {"password"}, "credtype": {"authtoken"}, "client_id": {testClientID},
		"client_secret": {testSecret}, "username": {opts.CompanyID}, "password": {"crt"}})
	if status != 200 {
		t.Fatal(status, body)
	}
	idt, _ := body["id_token"].(string)
	parts := strings.Split(idt, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token %q", idt)
	}
	claims, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || !strings.Contains(string(claims), `"sub":"`+opts.CompanyID+`"`) {
		t.Errorf("claims %s, %v", claims, err)
	}
}
