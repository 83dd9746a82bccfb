package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scimigrate/batcher/client"
	"scimigrate/upsim"
)

// runWith runs a command in-process with env as its whole environment.
func runWith(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	r := runCLICtx(t.Context(), t, ".", nil, env, args...)
	return r.code, r.stdout, r.stderr
}

// TestLoginThenTokenFileOnly: 'scimigrate login' against the simulator on
// loopback stores the refresh token and the data centre; 'export' then
// reads the target with only --token-file (no SCIMIGRATE_REFRESH_TOKEN, no
// --base-url); 'login --check' says what the credentials reach. No secret
// is printed, and a refused login shows Concur's code.
func TestLoginThenTokenFileOnly(t *testing.T) {
	const (
		company = "6f1b3c2a-1111-4222-8333-444455556666"
		crt     = "company-request-token-secret"
		secret  = "cmd-client-secret"
	)
	s := upsim.NewServer(upsim.Options{Seed: 5, ClientID: "cid", ClientSecret: secret, RequestToken: crt,
		CompanyID: company, RotateRefreshToken: true})
	t.Cleanup(s.Close)
	if err := s.Seed(json.RawMessage(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],` +
		`"userName":"ada@example.com","active":true,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E1"}}`)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "token.json")
	t.Parallel()
	env := map[string]string{client.EnvClientID: "cid", client.EnvClientSecret: secret, client.EnvCompanyID: company}

	// A wrong request token: Concur's code and message, no secret.
	env[client.EnvRequestToken] = "wrong-request-token"
	code, out, errs := runWith(t, env, "login", "--base-url", s.URL(), "--token-file", file)
	if code != exitUsage || !strings.Contains(errs, "invalid company request token (Concur code 19)") {
		t.Fatalf("bad login: exit %d\n%s%s", code, out, errs)
	}
	if strings.Contains(out+errs, "wrong-request-token") || strings.Contains(out+errs, secret) {
		t.Errorf("secret printed:\n%s%s", out, errs)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("a failed login wrote the token file: %v", err)
	}

	env[client.EnvRequestToken] = crt
	code, out, errs = runWith(t, env, "login", "--base-url", s.URL(), "--token-file", file)
	if code != exitOK || !strings.Contains(out, "company "+company) || !strings.Contains(out, s.URL()) {
		t.Fatalf("login: exit %d\n%s%s", code, out, errs)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	st, _ := client.LoadTokenFile(file)
	if st.RefreshToken == "" || st.Geolocation != s.URL() || st.CompanyID != company || st.IssuedAt.IsZero() {
		t.Errorf("token file = %+v", st)
	}
	delete(env, client.EnvRequestToken)

	// Another command with only --token-file.
	snap := filepath.Join(dir, "snap.ndjson")
	code, out, errs = runWith(t, env, "export", "--token-file", file, "-o", snap)
	if code != exitOK {
		t.Fatalf("export with --token-file only: exit %d\n%s%s", code, out, errs)
	}
	if b, _ := os.ReadFile(snap); !strings.Contains(string(b), `"employeeNumber":"E1"`) {
		t.Errorf("snapshot: %s", b)
	}
	if st2, _ := client.LoadTokenFile(file); st2.RefreshToken == st.RefreshToken {
		t.Errorf("the rotated refresh token was not kept")
	}

	code, out, errs = runWith(t, env, "login", "--check", "--token-file", file)
	if code != exitOK || !strings.Contains(out, "reach company "+company) || !strings.Contains(out, "data centre "+strings.TrimPrefix(s.URL(), "http://")) ||
		!strings.Contains(out, "refresh token issued") {
		t.Fatalf("login --check: exit %d\n%s%s", code, out, errs)
	}
	final, _ := client.LoadTokenFile(file)
	for _, sec := range []string{secret, crt, st.RefreshToken, final.RefreshToken} {
		if strings.Contains(out+errs, sec) {
			t.Errorf("output leaks %q:\n%s%s", sec, out, errs)
		}
	}
}

// TestLoginRefusesFlagsAndPlainHTTP: the request token is never a flag,
// and a plain-http token endpoint off loopback is refused.
func TestLoginRefusesFlagsAndPlainHTTP(t *testing.T) {
	t.Parallel()
	env := map[string]string{client.EnvClientID: "cid", client.EnvClientSecret: "sec-ret", client.EnvCompanyID: "c"}
	if code, _, errs := runWith(t, env, "login", "--request-token", "x"); code != exitUsage {
		t.Errorf("--request-token accepted: %d %s", code, errs)
	}
	code, _, errs := runWith(t, env, "login", "--base-url", "http://192.0.2.1")
	if code != exitUsage || !strings.Contains(errs, client.EnvRequestToken) {
		t.Errorf("no request token: exit %d %s", code, errs)
	}
	env[client.EnvRequestToken] = "crt-x"
	code, _, errs = runWith(t, env, "login", "--base-url", "http://192.0.2.1")
	if code != exitUsage || !strings.Contains(errs, "plain http") {
		t.Errorf("plain http: exit %d %s", code, errs)
	}
	if code, out, _ := runWith(t, env, "login", "-h"); code != exitOK || !strings.Contains(out, "Company Request Token") {
		t.Errorf("login -h: exit %d\n%s", code, out)
	}
}

// TestLoginPrompts: without SCIMIGRATE_REQUEST_TOKEN the request token is
// asked for through the (no-echo) prompt, which is not printed.
func TestLoginPrompts(t *testing.T) {
	t.Parallel()
	s := upsim.NewServer(upsim.Options{Seed: 6, RequestToken: "prompted-crt"})
	t.Cleanup(s.Close)
	env := map[string]string{client.EnvClientID: "cid", client.EnvClientSecret: "sec-ret"}
	file := filepath.Join(t.TempDir(), "t.json")
	asked := 0
	prompt := func(p string) (string, error) { asked++; return "prompted-crt", nil }
	var out, errb strings.Builder
	o := &loginOptions{BaseURL: s.URL(), TokenFile: file, CompanyID: "c-1"}
	if err := login(t.Context(), o, func(k string) string { return env[k] }, prompt, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if asked != 1 || strings.Contains(out.String()+errb.String(), "prompted-crt") {
		t.Errorf("asked %d times; output:\n%s%s", asked, out.String(), errb.String())
	}
	if st, _ := client.LoadTokenFile(file); st == nil || st.RefreshToken == "" || st.CompanyID != "c-1" {
		t.Errorf("token file %+v", st)
	}
}
