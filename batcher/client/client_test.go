package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock advances only when slept on.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.t = c.t.Add(d)
	return ctx.Err()
}
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"3", 3 * time.Second, true},
		{" 120 ", 120 * time.Second, true},
		{"-5", 0, true},
		{"1.5", 2 * time.Second, true},
		{"99999999999", 24 * time.Hour, true},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"Fri, 31 Dec 1999 23:59:59 GMT", 0, true},
		{"soon", 0, false},
		{"NaN", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "12", "1e3", "Wed, 21 Oct 2015 07:28:00 GMT", "-1", "+4", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseRetryAfter(s, now)
		if d < 0 || d > 24*time.Hour {
			t.Fatalf("ParseRetryAfter(%q) = %v", s, d)
		}
		if !ok && d != 0 {
			t.Fatalf("not ok but %v", d)
		}
	})
}

func FuzzDecodeProvisionStatus(f *testing.F) {
	f.Add([]byte(`{"id":"p","status":{"completed":true,"success":null},"operations":[{"bulkId":"b","status":{"code":207},"extensions":[{"name":"x","status":{"code":"500","result":"error"},"messages":[{"code":"C"}]}]}]}`))
	f.Add([]byte(`{"operationsCount":{"total":"1"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := DecodeProvisionStatus(b)
		if err != nil {
			return
		}
		for _, op := range ps.Operations {
			_ = op.Status.Code.Int()
			_ = op.ResourceID()
			for _, e := range op.Extensions {
				_ = e.Status.Succeeded()
			}
		}
	})
}

func TestRetryPolicy(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		code int
		err  error
		want bool
	}{
		{200, nil, false}, {400, nil, false}, {401, nil, false}, {404, nil, false}, {409, nil, false},
		{413, nil, false}, {429, nil, true}, {500, nil, true}, {501, nil, false}, {502, nil, true},
		{503, nil, true}, {504, nil, true},
		{0, errors.New("connection reset"), true},
		{0, fmt.Errorf("x: %w", context.Canceled), false},
	}
	for _, tt := range tests {
		var resp *http.Response
		if tt.err == nil {
			resp = &http.Response{StatusCode: tt.code}
		}
		got, _ := DefaultRetryPolicy(ctx, resp, tt.err)
		if got != tt.want {
			t.Errorf("code %d err %v: retry=%v want %v", tt.code, tt.err, got, tt.want)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if ok, err := DefaultRetryPolicy(cctx, &http.Response{StatusCode: 503}, nil); ok || err == nil {
		t.Error("cancelled context must stop retries")
	}
}

func TestBackoff(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		rnd     float64
		attempt int
		header  string
		want    time.Duration
	}{
		{"first, low jitter", 0, 1, "", 500 * time.Millisecond},
		{"first, high jitter", 0.999999999, 1, "", time.Second},
		{"third", 0, 3, "", 2 * time.Second},
		{"capped", 0.999999999, 30, "", 10 * time.Second},
		{"retry-after seconds", 0, 1, "7", 7 * time.Second},
		{"retry-after above cap", 0, 1, "30", 30 * time.Second},
		{"retry-after date", 0, 1, now.Add(4 * time.Second).Format(http.TimeFormat), 4 * time.Second},
		{"retry-after garbage", 0, 2, "later", time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBackoff(func() time.Time { return now }, func() float64 { return tt.rnd })
			resp := &http.Response{Header: http.Header{}}
			if tt.header != "" {
				resp.Header.Set("Retry-After", tt.header)
			}
			got := b(time.Second, 10*time.Second, tt.attempt, resp)
			if d := got - tt.want; d > time.Millisecond || d < -time.Millisecond {
				t.Errorf("got %v want %v", got, tt.want)
			}
		})
	}
}

func newTestClient(t *testing.T, url string, clk *fakeClock, mod func(*Config)) (*Client, *strings.Builder) {
	t.Helper()
	var mu sync.Mutex
	logs := &strings.Builder{}
	cfg := Config{BaseURL: url, Tokens: StaticToken("static-secret-token"), Clock: clk,
		Logf: func(f string, a ...any) { mu.Lock(); fmt.Fprintf(logs, f+"\n", a...); mu.Unlock() }}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, logs
}

const accepted = `{"schemas":["urn:ietf:params:scim:schemas:extension:concur:2.0:Provision:Status"],"id":"p-1","operationsCount":{"total":1,"pending":1},"status":{"completed":false,"success":null}}`

func TestPostBulkRetries(t *testing.T) {
	tests := []struct {
		name      string
		answers   []int
		header    string
		wantCalls int
		wantErr   string
		wantSleep []time.Duration
	}{
		{"429 then ok honours Retry-After", []int{429, 202}, "3", 2, "", []time.Duration{3 * time.Second}},
		{"503 twice then ok", []int{503, 503, 202}, "", 3, "", nil},
		{"400 not retried", []int{400}, "", 1, "HTTP 400", nil},
		{"501 not retried", []int{501}, "", 1, "HTTP 501", nil},
		{"413 returned for splitting", []int{413}, "", 1, "HTTP 413", nil},
		{"attempts bounded", []int{500, 500, 500, 500, 500, 500}, "", 3, "after 3 attempts", nil},
		{"504 is an unknown outcome", []int{504}, "", 1, "outcome unknown", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != BulkPath || r.Header.Get("Authorization") != "Bearer static-secret-token" {
					t.Errorf("bad request %s %s", r.URL.Path, r.Header.Get("Authorization"))
				}
				b, _ := io.ReadAll(r.Body)
				if string(b) != `{"x":1}` {
					t.Errorf("body %q", b)
				}
				n := int(calls.Add(1)) - 1
				code := tt.answers[min(n, len(tt.answers)-1)]
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				w.WriteHeader(code)
				if code == 202 {
					io.WriteString(w, accepted)
				} else {
					io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"`+fmt.Sprint(code)+`","detail":"nope","urn:ietf:params:scim:api:messages:concur:2.0:Error":{"messages":[{"code":"INVALID_INPUT","message":"bad"}]}}`)
				}
			}))
			defer srv.Close()
			clk := newFakeClock()
			c, _ := newTestClient(t, srv.URL, clk, func(c *Config) { c.MaxAttempts = 3 })
			ps, err := c.PostBulk(context.Background(), []byte(`{"x":1}`))
			if tt.wantErr == "" {
				if err != nil || ps.ID != "p-1" {
					t.Fatalf("ps=%v err=%v", ps, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if int(calls.Load()) != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls.Load(), tt.wantCalls)
			}
			if tt.wantSleep != nil && fmt.Sprint(clk.slept) != fmt.Sprint(tt.wantSleep) {
				t.Errorf("slept %v, want %v", clk.slept, tt.wantSleep)
			}
		})
	}
}

func TestRetryBudget(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL, newFakeClock(), func(c *Config) { c.MaxElapsed = 5 * time.Minute })
	_, err := c.Status(context.Background(), "p")
	if err == nil || !strings.Contains(err.Error(), "retry budget") {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 3 { // 0, 120, 240 s; the next wait would pass 5 min
		t.Errorf("calls = %d", calls.Load())
	}
}

func TestBulkNotResentAfterBodySent(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.ReadAll(r.Body)
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL, newFakeClock(), nil)
	_, err := c.PostBulk(context.Background(), []byte(`{}`))
	var ue *UnknownOutcomeError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want UnknownOutcomeError", err)
	}
	if calls.Load() != 1 {
		t.Errorf("Bulk POST sent %d times", calls.Load())
	}
	// A GET is retried after the same failure.
	calls.Store(0)
	if _, err := c.Status(context.Background(), "p"); err == nil {
		t.Fatal("want error")
	}
	if calls.Load() != 8 {
		t.Errorf("status tried %d times, want 8", calls.Load())
	}
}

func TestBulkRetriedWhenNothingWasSent(t *testing.T) {
	// A port nobody listens on: the dial fails before any byte is written.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	c, _ := newTestClient(t, "http://"+addr, newFakeClock(), func(c *Config) { c.MaxAttempts = 2 })
	_, err := c.PostBulk(context.Background(), []byte(`{}`))
	var ue *UnknownOutcomeError
	if err == nil || errors.As(err, &ue) {
		t.Fatalf("err = %v, want a plain transport error", err)
	}
}

func TestConcurrencyBound(t *testing.T) {
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
		io.WriteString(w, accepted)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL, newFakeClock(), func(c *Config) { c.Concurrency = 2 })
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); c.Status(context.Background(), "p") }()
	}
	for peak.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if peak.Load() != 2 {
		t.Errorf("peak in flight = %d, want 2", peak.Load())
	}
}

// tokenServer is a Concur-like token endpoint plus one API path.
type tokenServer struct {
	*httptest.Server
	mu       sync.Mutex
	refresh  string
	access   int
	rotate   bool
	geo      string
	grants   int
	revoked  map[string]bool
	apiCalls int
}

func newTokenServer(t *testing.T, rotate bool) *tokenServer {
	ts := &tokenServer{refresh: "refresh-secret-0", rotate: rotate, revoked: map[string]bool{}}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if r.URL.Path == TokenPath {
			r.ParseForm()
			if r.Form.Get("grant_type") != "refresh_token" || r.Form.Get("client_id") != "cid" || r.Form.Get("client_secret") != "client-secret-x" {
				w.WriteHeader(400)
				io.WriteString(w, `{"error":"invalid_client","error_description":"bad client","code":5}`)
				return
			}
			if r.Form.Get("refresh_token") != ts.refresh {
				w.WriteHeader(400)
				io.WriteString(w, `{"error":"invalid_grant","error_description":"bad or expired refresh token","code":108}`)
				return
			}
			ts.grants++
			ts.access++
			resp := map[string]any{"access_token": fmt.Sprintf("access-secret-%d", ts.access), "token_type": "Bearer", "expires_in": "3600", "scope": "user.provision.write"}
			if ts.rotate {
				ts.refresh = fmt.Sprintf("refresh-secret-%d", ts.grants)
				resp["refresh_token"] = ts.refresh
			}
			if ts.geo != "" {
				resp["geolocation"] = ts.geo
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(resp)
			return
		}
		ts.apiCalls++
		auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if ts.revoked[auth] || !strings.HasPrefix(auth, "access-secret-") {
			w.WriteHeader(401)
			return
		}
		io.WriteString(w, accepted)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func TestRefreshGrant(t *testing.T) {
	ts := newTokenServer(t, true)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token.json")
	clk := newFakeClock()
	env := map[string]string{EnvClientID: "cid", EnvClientSecret: "client-secret-x", EnvRefreshToken: "refresh-secret-0"}
	var logs strings.Builder
	var mu sync.Mutex
	c, err := NewFromEnv(Setup{BaseURL: ts.URL, Env: func(k string) string { return env[k] }, TokenFile: tokenFile, Clock: clk},
		Config{Logf: func(f string, a ...any) { mu.Lock(); fmt.Fprintf(&logs, f+"\n", a...); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Status(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if ts.grants != 1 {
		t.Fatalf("grants = %d", ts.grants)
	}
	// Cached until close to expiry (expires_in "3600" parsed from a string).
	clk.Advance(50 * time.Minute)
	c.Status(ctx, "p")
	if ts.grants != 1 {
		t.Errorf("refreshed too early: grants = %d", ts.grants)
	}
	clk.Advance(6 * time.Minute)
	c.Status(ctx, "p")
	if ts.grants != 2 {
		t.Errorf("not refreshed before expiry: grants = %d", ts.grants)
	}
	// Rotated refresh token persisted with mode 0600.
	st, err := LoadTokenFile(tokenFile)
	if err != nil || st == nil || st.RefreshToken != "refresh-secret-2" {
		t.Fatalf("token file = %+v, %v", st, err)
	}
	if fi, _ := os.Stat(tokenFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", fi.Mode().Perm())
	}
	// 401 refreshes once and retries.
	ts.mu.Lock()
	ts.revoked["access-secret-2"] = true
	ts.mu.Unlock()
	if _, err := c.Status(ctx, "p"); err != nil {
		t.Fatalf("after 401: %v", err)
	}
	if ts.grants != 3 {
		t.Errorf("grants after 401 = %d", ts.grants)
	}
	// A new process picks up the rotated token from the file, not the
	// stale one in the environment.
	c2, err := NewFromEnv(Setup{BaseURL: ts.URL, Env: func(k string) string { return env[k] }, TokenFile: tokenFile, Clock: clk}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Status(ctx, "p"); err != nil {
		t.Fatalf("second process: %v", err)
	}
	// Geolocation moves the base URL.
	other := newTokenServer(t, false)
	ts.mu.Lock()
	ts.geo = other.URL
	ts.mu.Unlock()
	ts.mu.Lock()
	ts.revoked["access-secret-4"] = true
	ts.mu.Unlock()
	if _, err := c2.Status(ctx, "p"); err != nil {
		t.Fatalf("geolocation: %v", err)
	}
	if c2.BaseURL() != other.URL || other.apiCalls != 1 {
		t.Errorf("base URL %s, other saw %d calls", c2.BaseURL(), other.apiCalls)
	}
	if st, _ := LoadTokenFile(tokenFile); st.Geolocation != other.URL {
		t.Errorf("geolocation not persisted: %+v", st)
	}
	for _, secret := range []string{"refresh-secret", "access-secret", "client-secret-x"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log leaks %s:\n%s", secret, logs.String())
		}
	}
}

func TestRefreshFailureIsClean(t *testing.T) {
	ts := newTokenServer(t, false)
	env := map[string]string{EnvClientID: "cid", EnvClientSecret: "client-secret-x", EnvRefreshToken: "refresh-secret-WRONG"}
	c, err := NewFromEnv(Setup{BaseURL: ts.URL, Env: func(k string) string { return env[k] }, Clock: newFakeClock()}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Status(context.Background(), "p")
	var te *TokenError
	if !errors.As(err, &te) || te.Code != "invalid_grant" || strings.Contains(err.Error(), "secret") {
		t.Fatalf("err = %v", err)
	}
}

func TestCredentialsFromEnv(t *testing.T) {
	tests := []struct {
		env     map[string]string
		wantErr string
	}{
		{map[string]string{EnvAccessToken: "tok"}, ""},
		{map[string]string{EnvClientID: "a", EnvClientSecret: "b", EnvRefreshToken: "c"}, ""},
		{map[string]string{}, "no credentials"},
		{map[string]string{EnvClientID: "a"}, "SCIMIGRATE_CLIENT_SECRET, SCIMIGRATE_REFRESH_TOKEN not set"},
	}
	for _, tt := range tests {
		_, err := CredentialsFromEnv(func(k string) string { return tt.env[k] })
		if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("env %v: err = %v, want %q", tt.env, err, tt.wantErr)
		}
	}
}

func TestLookups(t *testing.T) {
	var searches []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case IdentityV4:
			if got := r.URL.Query().Get("filter"); got != `employeeNumber eq "E\"1"` {
				t.Errorf("filter %q", got)
			}
			io.WriteString(w, `{"totalResults":1,"Resources":[{"id":"u-1","userName":"a@x","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E\"1"}}]}`)
		case IdentitySrch:
			var req struct {
				Filter string
				Cursor string
			}
			json.NewDecoder(r.Body).Decode(&req)
			searches = append(searches, req.Cursor)
			if strings.Count(req.Filter, " or ") > SearchChunk-1 {
				t.Errorf("filter too long")
			}
			if req.Cursor == "" && strings.Contains(req.Filter, `"1"`) {
				io.WriteString(w, `{"Resources":[{"id":"u-1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"1"}}],"nextCursor":"c2"}`)
				return
			}
			if req.Cursor == "c2" {
				io.WriteString(w, `{"Resources":[{"id":"u-60","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"2"}}]}`)
				return
			}
			io.WriteString(w, `{"Resources":[]}`)
		}
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL, newFakeClock(), nil)
	users, err := c.LookupEmployee(context.Background(), `E"1`)
	if err != nil || len(users) != 1 || users[0].ID != "u-1" {
		t.Fatalf("lookup = %v, %v", users, err)
	}
	var nums []string
	for i := 1; i <= 70; i++ {
		nums = append(nums, fmt.Sprint(i))
	}
	found, err := c.SearchEmployees(context.Background(), nums)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found["1"][0].ID != "u-1" || found["2"][0].ID != "u-60" {
		t.Errorf("found = %v", found)
	}
	if fmt.Sprint(searches) != "[ c2 ]" {
		t.Errorf("search pages %q", searches)
	}
}

func TestStaticTokenNotLogged(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		io.WriteString(w, `{"detail":"token `+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+` rejected"}`)
	}))
	defer srv.Close()
	c, logs := newTestClient(t, srv.URL, newFakeClock(), func(c *Config) { c.MaxAttempts = 2 })
	_, err := c.Status(context.Background(), "p")
	if err == nil || strings.Contains(err.Error(), "static-secret-token") || strings.Contains(logs.String(), "static-secret-token") {
		t.Errorf("token leaked: err=%v logs=%s", err, logs)
	}
}
