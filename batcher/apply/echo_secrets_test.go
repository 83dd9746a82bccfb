package apply

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"scimigrate/upsim"
)

// TestEchoedSecretsNeverReachTheJournal: a service that echoes the request
// (the bearer token, and on the token endpoint the client secret and the
// refresh token) in its Bulk error bodies gets none of them into the
// journal's requests.error or the log: the client redacts every error it
// returns, and the journal stores what the client says.
func TestEchoedSecretsNeverReachTheJournal(t *testing.T) {
	for _, tc := range []struct {
		path   string
		status int
	}{{"/profile/v4/Bulk", 400}, {"/profile/v4/Bulk", 504}, {"/oauth2/v0/token", 400}, {"/oauth2/v0/token", 503}} {
		t.Run(fmt.Sprint(tc.path, " ", tc.status), func(t *testing.T) {
			sim := newSim(t, upsim.Options{Seed: 41})
			h := sim.Handler()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var echoed atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == "POST" && r.URL.Path == tc.path {
					if echoed.Add(1) > 100 {
						cancel() // far past any bound: stop a loop instead of hanging
					}
					body, _ := io.ReadAll(r.Body)
					w.WriteHeader(tc.status)
					echo := "auth=" + r.Header.Get("Authorization") + " body=" + string(body)
					fmt.Fprintf(w, `{"error":"invalid_grant","error_description":%q,"detail":%q,"urn:ietf:params:scim:api:messages:concur:2.0:Error":{"messages":[{"code":"INVALID_INPUT","message":%q}]}}`, echo, echo, echo)
					return
				}
				h.ServeHTTP(w, r)
			}))
			defer srv.Close()
			logs := &logBuf{}
			opts := testOptions(t, sim, t.TempDir(), logs)
			opts.BaseURL = srv.URL
			opts.Env = refreshEnv
			Run(ctx, opts, population(4))
			if echoed.Load() > 100 {
				t.Errorf("%d requests to %s: the retries are not bounded", echoed.Load(), tc.path)
			}
			j := journalBytes(t, opts.JournalPath)
			if len(j) == 0 {
				t.Fatal("no journal written")
			}
			// The access tokens the simulator issued are 64 hex digits;
			// none may be in the journal, nor the refresh credentials.
			noSecrets(t, "journal", j, testClientSecret, testRefresh)
			noSecrets(t, "log", []byte(logs.String()), testClientSecret, testRefresh)
			if !strings.Contains(string(j)+logs.String(), "[REDACTED]") {
				t.Errorf("the echo reached neither the journal nor the log (redacted):\n%s", logs)
			}
			if hexToken.Match(j) || hexToken.MatchString(logs.String()) {
				t.Errorf("an access token reached the journal or the log:\n%s", logs)
			}
		})
	}
}

var hexToken = regexp.MustCompile(`Bearer [0-9a-f]{64}`)
