package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"scimigrate/upsim"
)

const (
	loginCompany = "6f1b3c2a-1111-4222-8333-444455556666"
	loginCRT     = "company-request-token-secret"
	loginSecret  = "login-client-secret"
)

func loginSim(t *testing.T, rotate bool) *upsim.Server {
	t.Helper()
	s := upsim.NewServer(upsim.Options{Seed: 3, ClientID: "cid", ClientSecret: loginSecret, RequestToken: loginCRT,
		CompanyID: loginCompany, RotateRefreshToken: rotate})
	t.Cleanup(s.Close)
	return s
}

// TestPasswordGrantThenTokenFileOnly: the password grant against the
// simulator gives a refresh token, the geolocation and the company; stored
// in a token file, it is all a later client needs besides the client id
// and secret: no SCIMIGRATE_REFRESH_TOKEN and no base URL.
func TestPasswordGrantThenTokenFileOnly(t *testing.T) {
	s := loginSim(t, true)
	ctx := context.Background()
	var logs strings.Builder
	var mu sync.Mutex
	logf := func(f string, a ...any) { mu.Lock(); fmt.Fprintf(&logs, f+"\n", a...); mu.Unlock() }
	l, err := PasswordGrant(ctx, LoginRequest{BaseURL: s.URL(), ClientID: "cid", ClientSecret: loginSecret,
		CompanyID: loginCompany, RequestToken: loginCRT, Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	if l.RefreshToken == "" || l.Geolocation != s.URL() || l.CompanyID != loginCompany || l.IssuedAt.IsZero() {
		t.Fatalf("login = %+v", l)
	}
	file := filepath.Join(t.TempDir(), "token.json")
	if err := SaveTokenFile(file, l.Stored()); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{EnvClientID: "cid", EnvClientSecret: loginSecret}
	c, err := NewFromEnv(Setup{TokenFile: file, Env: func(k string) string { return env[k] }}, Config{Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SearchEmployees(ctx, []string{"E1"}); err != nil {
		t.Fatalf("call with the token file only: %v", err)
	}
	st, err := LoadTokenFile(file)
	if err != nil || st.RefreshToken == l.RefreshToken || st.CompanyID != loginCompany || !st.IssuedAt.After(l.IssuedAt.Add(-1)) {
		t.Errorf("rotated token file = %+v, %v", st, err)
	}
	for _, sec := range []string{loginSecret, loginCRT, l.RefreshToken, st.RefreshToken} {
		if strings.Contains(logs.String(), sec) {
			t.Errorf("log leaks %q:\n%s", sec, logs.String())
		}
	}
}

// TestPasswordGrantErrors: a refusal shows Concur's code and message, never
// a secret; missing inputs are named.
func TestPasswordGrantErrors(t *testing.T) {
	s := loginSim(t, false)
	ctx := context.Background()
	_, err := PasswordGrant(ctx, LoginRequest{BaseURL: s.URL(), ClientID: "cid", ClientSecret: loginSecret,
		CompanyID: loginCompany, RequestToken: "wrong-request-token"})
	var te *TokenError
	if !errors.As(err, &te) || te.ConcurCode != "19" || te.Code != "invalid_grant" ||
		!strings.Contains(err.Error(), "login failed: HTTP 400: invalid_grant: invalid company request token (Concur code 19)") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "wrong-request-token") || strings.Contains(err.Error(), loginSecret) {
		t.Errorf("secret in %v", err)
	}
	_, err = PasswordGrant(ctx, LoginRequest{BaseURL: s.URL(), ClientID: "cid", ClientSecret: "bad-secret-x",
		CompanyID: loginCompany, RequestToken: loginCRT})
	if !errors.As(err, &te) || te.ConcurCode != "5" || strings.Contains(err.Error(), "bad-secret-x") {
		t.Errorf("err = %v", err)
	}
	_, err = PasswordGrant(ctx, LoginRequest{BaseURL: s.URL(), ClientID: "cid"})
	if err == nil || !strings.Contains(err.Error(), EnvClientSecret) || !strings.Contains(err.Error(), EnvRequestToken) || !strings.Contains(err.Error(), EnvCompanyID) {
		t.Errorf("err = %v", err)
	}
}

// TestSaveTokenFileReplacesSymlink: the token file is written atomically
// and a symlink at its path is replaced, never followed.
func TestSaveTokenFileReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "token.json")
	if err := os.Symlink(victim, file); err != nil {
		t.Fatal(err)
	}
	if err := SaveTokenFile(file, StoredToken{RefreshToken: "r-secret"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	fi, err := os.Lstat(file)
	if err != nil || fi.Mode()&os.ModeSymlink != 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestDataCentre(t *testing.T) {
	for in, want := range map[string]string{
		"https://us2.api.concursolutions.com":     "us2",
		"https://www-eu2.api.concursolutions.com": "eu2",
		"http://127.0.0.1:8080":                   "127.0.0.1:8080",
	} {
		if got := DataCentre(in); got != want {
			t.Errorf("DataCentre(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestTokenFileModeRefused: a token file others can read or write is
// refused, naming the file and the fix, never its content.
func TestTokenFileModeRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	file := filepath.Join(t.TempDir(), "token.json")
	st := &StoredToken{RefreshToken: "secret-refresh", CompanyID: "c-1", IssuedAt: time.Now()}
	if err := SaveTokenFile(file, *st); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadTokenFile(file); err != nil || got.RefreshToken != "secret-refresh" {
		t.Fatalf("0600 file: %+v, %v", got, err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o602, 0o660} {
		if err := os.Chmod(file, mode); err != nil {
			t.Fatal(err)
		}
		got, err := LoadTokenFile(file)
		if err == nil || got != nil || !strings.Contains(err.Error(), "chmod 600 "+file) || strings.Contains(err.Error(), "secret-refresh") {
			t.Errorf("mode %04o: %+v, %v", mode, got, err)
		}
	}
}
