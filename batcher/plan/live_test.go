package plan

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"scimigrate/batcher/client"
)

// TestLiveRedactsSecrets: a target that echoes the request (bearer token,
// and the refresh token and client secret sent to its token endpoint) in its
// error bodies never gets a secret into Live's errors or log lines: the
// plan's live reads go through the one client and its redaction.
func TestLiveRedactsSecrets(t *testing.T) {
	const (
		secret  = "live-client-secret"
		refresh = "live-refresh-token"
	)
	for _, tc := range []struct {
		name   string
		status int
		path   string // the path that fails
	}{
		{"search 400", 400, IdentitySearchPath},
		{"search 503", 503, IdentitySearchPath},
		{"profile 500", 500, SpendUserPath},
		{"token 400", 400, client.TokenPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				echo := fmt.Sprintf("auth=%s body=%s", r.Header.Get("Authorization"), body)
				if strings.HasPrefix(r.URL.Path, tc.path) {
					w.WriteHeader(tc.status)
					fmt.Fprintf(w, `{"error":"invalid_grant","error_description":%q,"detail":%q,"urn:ietf:params:scim:api:messages:concur:2.0:Error":{"messages":[{"code":"X","message":%q}]}}`, echo, echo, echo)
					return
				}
				switch {
				case r.URL.Path == client.TokenPath:
					io.WriteString(w, `{"access_token":"live-access-token-1","expires_in":"3600"}`)
				case r.URL.Path == IdentitySearchPath:
					io.WriteString(w, `{"Resources":[{"id":"u-1","userName":"a@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"1"}}]}`)
				default:
					w.WriteHeader(404)
				}
			}))
			defer srv.Close()
			env := map[string]string{client.EnvClientID: "cid", client.EnvClientSecret: secret, client.EnvRefreshToken: refresh}
			var logs strings.Builder
			var mu sync.Mutex
			c, err := client.NewFromEnv(client.Setup{BaseURL: srv.URL, Env: func(k string) string { return env[k] }},
				client.Config{MaxAttempts: 2, RetryWaitMin: 1, RetryWaitMax: 1,
					Logf: func(f string, a ...any) { mu.Lock(); fmt.Fprintf(&logs, f+"\n", a...); mu.Unlock() }})
			if err != nil {
				t.Fatal(err)
			}
			l := &Live{Client: c}
			_, err = l.Snapshot(context.Background(), []Want{{EmployeeNumber: "1"}}, false, false)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, s := range []string{secret, refresh, "live-access-token-1"} {
				if strings.Contains(err.Error(), s) || strings.Contains(logs.String(), s) {
					t.Errorf("%s leaked:\nerr: %v\nlogs: %s", s, err, logs.String())
				}
			}
			if !strings.Contains(err.Error(), "[REDACTED]") {
				t.Errorf("the echo was not kept (redacted): %v", err)
			}
		})
	}
}
