package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Secrets with characters that change under form, URL and JSON encoding.
const (
	hardSecret  = `cl!ent+secret/"x"=y`
	hardRefresh = `refresh+tok/en="z"`
)

// TestStaticTokenFallsBackToRefresh: a static access token refused once
// (401) is replaced by the refresh grant when the refresh credentials are
// there too, instead of ending the run.
func TestStaticTokenFallsBackToRefresh(t *testing.T) {
	ts := newTokenServer(t, false)
	env := map[string]string{EnvAccessToken: "static-access-secret", EnvClientID: "cid", EnvClientSecret: "client-secret-x", EnvRefreshToken: "refresh-secret-0"}
	c, err := NewFromEnv(Setup{BaseURL: ts.URL, Env: func(k string) string { return env[k] }, Clock: newFakeClock()}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	// The token server accepts only tokens it issued: the static one is 401.
	if _, err := c.Status(context.Background(), "p"); err != nil {
		t.Fatalf("static token's 401 was fatal: %v", err)
	}
	if ts.grants != 1 {
		t.Errorf("grants = %d, want 1", ts.grants)
	}
	// Without refresh credentials the 401 ends the call and says why.
	env = map[string]string{EnvAccessToken: "static-access-secret"}
	c, err = NewFromEnv(Setup{BaseURL: ts.URL, Env: func(k string) string { return env[k] }, Clock: newFakeClock()}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Status(context.Background(), "p")
	if StatusCodeOf(err) != 401 || !strings.Contains(err.Error(), "no new one can be had") || strings.Contains(err.Error(), "static-access-secret") {
		t.Errorf("err = %v", err)
	}
}

// TestTokenEndpointRetried: the token endpoint's 5xx and lost connections
// are retried like any call, within the bounds.
func TestTokenEndpointRetried(t *testing.T) {
	tests := []struct {
		name      string
		fails     int  // token requests failing before one succeeds
		drop      bool // fail by closing the connection instead of 503
		wantCalls int
		gaveUp    bool
	}{
		{"503 twice", 2, false, 3, false},
		{"connection lost twice", 2, true, 3, false},
		{"always 503", 100, false, 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != TokenPath {
					io.WriteString(w, accepted)
					return
				}
				if int(calls.Add(1)) <= tt.fails {
					if tt.drop {
						conn, _, _ := w.(http.Hijacker).Hijack()
						conn.Close()
						return
					}
					w.WriteHeader(503)
					return
				}
				io.WriteString(w, `{"access_token":"access-secret-1","expires_in":"3600","refresh_token":"refresh-secret-0"}`)
			}))
			defer srv.Close()
			env := map[string]string{EnvClientID: "cid", EnvClientSecret: "client-secret-x", EnvRefreshToken: "refresh-secret-0"}
			c, err := NewFromEnv(Setup{BaseURL: srv.URL, Env: func(k string) string { return env[k] }, Clock: newFakeClock()}, Config{MaxAttempts: 4})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Status(context.Background(), "p")
			if int(calls.Load()) != tt.wantCalls {
				t.Errorf("token requests = %d, want %d", calls.Load(), tt.wantCalls)
			}
			if got := IsGaveUp(err); got != tt.gaveUp || (!tt.gaveUp && err != nil) {
				t.Errorf("err = %v (gave up %v, want %v)", err, got, tt.gaveUp)
			}
		})
	}
}

// echoServer answers every request with the request itself: headers and
// body in the error texts of a token error and of a SCIM error.
func echoServer(t *testing.T, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		echo := fmt.Sprintf("%s %s auth=%s body=%s", r.Method, r.URL, r.Header.Get("Authorization"), b)
		w.Header().Set("concur-correlationid", r.Header.Get("Authorization"))
		w.WriteHeader(status)
		if r.URL.Path == TokenPath {
			fmt.Fprintf(w, `{"error":%q,"error_description":%q,"code":%q}`, string(b), echo, string(b))
			return
		}
		fmt.Fprintf(w, `{"detail":%q,"scimType":%q,"urn:ietf:params:scim:api:messages:concur:2.0:Error":{"messages":[{"code":%q,"message":%q}]}}`, echo, echo, echo, echo)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func assertNoSecret(t *testing.T, where, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec), strings.Trim(fmt.Sprintf("%q", sec), `"`)} {
			if strings.Contains(s, form) {
				t.Errorf("%s leaks %q:\n%s", where, form, s)
			}
		}
	}
}

// TestSecretsRedactedFromEveryError: a server that echoes the request (in
// the body, the error texts and a header) never gets a secret into an error
// or a log line, on the token path, the Bulk path and the read path.
func TestSecretsRedactedFromEveryError(t *testing.T) {
	for _, status := range []int{400, 503} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := echoServer(t, status)
			env := map[string]string{EnvClientID: "cid", EnvClientSecret: hardSecret, EnvRefreshToken: hardRefresh}
			var logs strings.Builder
			var mu sync.Mutex
			c, err := NewFromEnv(Setup{BaseURL: srv.URL, Env: func(k string) string { return env[k] }, Clock: newFakeClock()},
				Config{MaxAttempts: 2, Logf: func(f string, a ...any) { mu.Lock(); fmt.Fprintf(&logs, f+"\n", a...); mu.Unlock() }})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Status(context.Background(), "p")
			if err == nil {
				t.Fatal("want an error")
			}
			var te *TokenError
			if !errors.As(err, &te) || te.StatusCode != status {
				t.Errorf("err = %v, want a *TokenError with HTTP %d", err, status)
			}
			assertNoSecret(t, "token error", err.Error(), hardSecret, hardRefresh)
			assertNoSecret(t, "log", logs.String(), hardSecret, hardRefresh)

			// A static token echoed back by the API.
			c2, logs2 := newTestClient(t, srv.URL, newFakeClock(), func(c *Config) { c.MaxAttempts = 2; c.Tokens = StaticToken(hardSecret) })
			_, err = c2.PostBulk(context.Background(), []byte(`{}`))
			if err == nil {
				t.Fatal("want an error")
			}
			assertNoSecret(t, "bulk error", err.Error(), hardSecret)
			var he *HTTPError
			if errors.As(err, &he) {
				assertNoSecret(t, "HTTPError fields", fmt.Sprintf("%#v", *he), hardSecret)
			}
			_, _, err = c2.GetResource(context.Background(), "/profile/spend/v4.1/Users/x")
			if err == nil {
				t.Fatal("want an error")
			}
			assertNoSecret(t, "read error", err.Error(), hardSecret)
			assertNoSecret(t, "log", logs2.String(), hardSecret)
		})
	}
}

// bulkAnswer serves a Bulk endpoint that never gives a usable answer.
func bulkAnswer(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int32) {
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		posts.Add(1)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &posts
}

// TestBulkUnknownOutcomesBounded: a service answering every Bulk POST with
// 504, or with 2xx but no provision id, is not sent requests for ever: a
// caller that reconciles each unknown outcome and sends again gets a
// *GaveUpError after MaxUnknownOutcomes, and nothing more is sent.
func TestBulkUnknownOutcomesBounded(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"504", 504, `<html>gateway timeout</html>`},
		{"202 without provision id", 202, `{"status":{"completed":false}}`},
		{"200 without provision id", 200, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, posts := bulkAnswer(t, tt.status, tt.body)
			c, logs := newTestClient(t, srv.URL, newFakeClock(), func(c *Config) { c.MaxUnknownOutcomes = 3 })
			var err error
			unknown := 0
			for i := 0; i < 50; i++ { // what a reconcile-and-resend loop would do
				_, err = c.PostBulk(context.Background(), []byte(`{"x":1}`))
				var uo *UnknownOutcomeError
				if !errors.As(err, &uo) {
					break
				}
				unknown++
			}
			var g *GaveUpError
			if !errors.As(err, &g) {
				t.Fatalf("err = %v, want *GaveUpError", err)
			}
			var uo *UnknownOutcomeError
			if errors.As(err, &uo) {
				t.Errorf("GaveUpError unwraps to an UnknownOutcomeError: a reconciling caller would loop")
			}
			if unknown != 2 || posts.Load() != 3 {
				t.Errorf("unknown outcomes %d, POSTs %d; want 2 and 3", unknown, posts.Load())
			}
			if !strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "stay in the journal") {
				t.Errorf("message does not say it gave up: %v", err)
			}
			if _, err := c.PostBulk(context.Background(), []byte(`{"x":1}`)); !IsGaveUp(err) || posts.Load() != 3 {
				t.Errorf("sent after giving up: err %v, POSTs %d", err, posts.Load())
			}
			if !strings.Contains(logs.String(), "gave up") {
				t.Errorf("not logged:\n%s", logs)
			}
		})
	}
	// The streak is also bounded in time, and an accepted request ends it.
	t.Run("time", func(t *testing.T) {
		var ok atomic.Bool
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body)
			if ok.Load() {
				w.WriteHeader(202)
				io.WriteString(w, accepted)
				return
			}
			w.WriteHeader(504)
		}))
		defer srv.Close()
		clk := newFakeClock()
		c, _ := newTestClient(t, srv.URL, clk, func(c *Config) { c.MaxUnknownOutcomes = 100; c.MaxElapsed = time.Hour })
		ctx := context.Background()
		if _, err := c.PostBulk(ctx, []byte(`{}`)); IsGaveUp(err) {
			t.Fatal(err)
		}
		ok.Store(true)
		if _, err := c.PostBulk(ctx, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		ok.Store(false)
		clk.Advance(2 * time.Hour) // long after the first 504: the accepted one reset the streak
		if _, err := c.PostBulk(ctx, []byte(`{}`)); IsGaveUp(err) {
			t.Fatalf("streak not reset by an accepted request: %v", err)
		}
		clk.Advance(61 * time.Minute)
		if _, err := c.PostBulk(ctx, []byte(`{}`)); !IsGaveUp(err) {
			t.Fatalf("err = %v, want *GaveUpError after MaxElapsed", err)
		}
	})
}

// TestRetriesGiveUpTyped: a call whose retries run out says so with a
// *GaveUpError that still carries the HTTP status.
func TestRetriesGiveUpTyped(t *testing.T) {
	srv, posts := bulkAnswer(t, 503, `{"detail":"down"}`)
	c, _ := newTestClient(t, srv.URL, newFakeClock(), func(c *Config) { c.MaxAttempts = 3 })
	_, err := c.Status(context.Background(), "p")
	if !IsGaveUp(err) || StatusCodeOf(err) != 503 || posts.Load() != 3 || !strings.Contains(err.Error(), "at most 3 attempts") {
		t.Errorf("err = %v after %d requests", err, posts.Load())
	}
}

// TestRedirects: with two loopback servers on different ports, a redirect
// to the other origin never carries the bearer token or the Bulk body, and
// a POST is never turned into a GET.
func TestRedirects(t *testing.T) {
	var other atomic.Int32
	var otherAuth atomic.Value
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.Add(1)
		otherAuth.Store(r.Header.Get("Authorization"))
		io.WriteString(w, accepted)
	}))
	defer b.Close()
	var sameOriginBody atomic.Value
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Query().Get("to") {
		case "other307":
			http.Redirect(w, r, b.URL+r.URL.Path, http.StatusTemporaryRedirect)
		case "other302":
			http.Redirect(w, r, b.URL+r.URL.Path, http.StatusFound)
		case "same302":
			http.Redirect(w, r, r.URL.Path+"?to=final", http.StatusFound)
		case "same303":
			http.Redirect(w, r, r.URL.Path+"?to=final", http.StatusSeeOther)
		case "same307":
			http.Redirect(w, r, r.URL.Path+"?to=final", http.StatusTemporaryRedirect)
		case "final":
			sameOriginBody.Store(r.Method + " " + string(body))
			io.WriteString(w, accepted)
		}
	}))
	defer a.Close()
	tests := []struct {
		method, to string
		wantErr    string
	}{
		{"POST", "other307", "another origin"},
		{"GET", "other302", "another origin"},
		{"POST", "same302", "turn the POST into a GET"},
		{"POST", "same303", "turn the POST into a GET"},
		{"POST", "same307", ""},
		{"GET", "same302", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.to, func(t *testing.T) {
			other.Store(0)
			sameOriginBody.Store("")
			c, _ := newTestClient(t, a.URL, newFakeClock(), nil)
			var body []byte
			if tt.method == "POST" {
				body = []byte(`{"bulk":"body"}`)
			}
			status, _, err := c.send(context.Background(), call{method: tt.method, path: BulkPath + "?to=" + tt.to, body: body, unsafe: tt.method == "POST"})
			if tt.wantErr == "" {
				if err != nil || status != 200 {
					t.Fatalf("status %d err %v", status, err)
				}
				if want := tt.method + " " + string(body); sameOriginBody.Load() != want {
					t.Errorf("same-origin redirect got %q, want %q", sameOriginBody.Load(), want)
				}
				return
			}
			var re *RedirectError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want a RedirectError %q", err, tt.wantErr)
			}
			var uo *UnknownOutcomeError
			if errors.As(err, &uo) {
				t.Errorf("a refused redirect is not an unknown outcome: %v", err)
			}
			if other.Load() != 0 {
				t.Errorf("the other origin received %d requests (Authorization %q)", other.Load(), otherAuth.Load())
			}
			if v := sameOriginBody.Load(); v != "" {
				t.Errorf("followed: %q", v)
			}
		})
	}
}

// TestBaseURLTransport: plain http is refused off loopback unless
// InsecureHTTP; a token's geolocation is used only when acceptable, and the
// user is told either way.
func TestBaseURLTransport(t *testing.T) {
	for _, tt := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://us2.api.concursolutions.com", false, true},
		{"http://127.0.0.1:8080", false, true},
		{"http://localhost:8080", false, true},
		{"http://[::1]:8080", false, true},
		{"http://us2.api.concursolutions.com", false, false},
		{"http://10.0.0.5", false, false},
		{"http://us2.api.concursolutions.com", true, true},
		{"ftp://x", true, false},
		{"us2.api.concursolutions.com", false, false},
	} {
		_, err := New(Config{BaseURL: tt.url, Tokens: StaticToken("t"), InsecureHTTP: tt.insecure})
		if (err == nil) != tt.ok {
			t.Errorf("New(%s, insecure=%v): err = %v", tt.url, tt.insecure, err)
		}
	}
	for _, tt := range []struct {
		geo, wantBase, wantLog string
	}{
		{"http://us2.example.invalid", "", "not used"},
		{"https://us2.example.invalid", "https://us2.example.invalid", "sending every further request there"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"access_token":"access-secret-1","expires_in":"3600","geolocation":%q}`, tt.geo)
		}))
		defer srv.Close()
		env := map[string]string{EnvClientID: "cid", EnvClientSecret: "client-secret-x", EnvRefreshToken: "refresh-secret-0"}
		var logs strings.Builder
		c, err := NewFromEnv(Setup{BaseURL: srv.URL, Env: func(k string) string { return env[k] }, Clock: newFakeClock()},
			Config{Logf: func(f string, a ...any) { fmt.Fprintf(&logs, f+"\n", a...) }})
		if err != nil {
			t.Fatal(err)
		}
		// Only the token request: nothing is sent to the geolocation.
		if _, err := c.cfg.Tokens.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := tt.wantBase
		if want == "" {
			want = srv.URL
		}
		if c.BaseURL() != want || !strings.Contains(logs.String(), tt.wantLog) || !strings.Contains(logs.String(), tt.geo) {
			t.Errorf("geolocation %s: base %s, logs:\n%s", tt.geo, c.BaseURL(), logs.String())
		}
	}
}

// TestCorrelationIDLogged: each retry's log line and the final error carry
// the service's concur-correlationid.
func TestCorrelationIDLogged(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("concur-correlationid", fmt.Sprintf("cid-%d", n.Add(1)))
		w.WriteHeader(503)
	}))
	defer srv.Close()
	c, logs := newTestClient(t, srv.URL, newFakeClock(), func(c *Config) { c.MaxAttempts = 2 })
	_, err := c.Status(context.Background(), "p")
	if !strings.Contains(logs.String(), "concur-correlationid cid-1") || err == nil || !strings.Contains(err.Error(), "concur-correlationid cid-2") {
		t.Errorf("err %v\nlogs:\n%s", err, logs)
	}
}
