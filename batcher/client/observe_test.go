package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestOnAttempt: every attempt of a call reaches Config.OnAttempt with its
// kind, number, status and Retry-After, and without any path or token.
func TestOnAttempt(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n := calls.Add(1); {
		case r.URL.Path == BulkPath && n == 1:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		case r.URL.Path == BulkPath && n == 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.URL.Path == BulkPath:
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, accepted)
		default:
			io.WriteString(w, accepted)
		}
	}))
	defer srv.Close()
	var (
		mu  sync.Mutex
		got []AttemptInfo
	)
	clk := newFakeClock()
	c, _ := newTestClient(t, srv.URL, clk, func(c *Config) {
		c.OnAttempt = func(a AttemptInfo) { mu.Lock(); got = append(got, a); mu.Unlock() }
	})
	if _, err := c.PostBulk(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status(context.Background(), "p-1"); err != nil {
		t.Fatal(err)
	}
	want := []AttemptInfo{
		{Call: CallBulk, Method: "POST", Attempt: 1, StatusCode: 429, RetryAfter: 7 * time.Second},
		{Call: CallBulk, Method: "POST", Attempt: 2, StatusCode: 503},
		{Call: CallBulk, Method: "POST", Attempt: 3, StatusCode: 202},
		{Call: CallStatus, Method: "GET", Attempt: 1, StatusCode: 200},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d attempts, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g := got[i]
		if g.Time.IsZero() {
			t.Errorf("attempt %d has no time", i)
		}
		g.Time = time.Time{}
		if g != want[i] {
			t.Errorf("attempt %d = %+v, want %+v", i, g, want[i])
		}
	}
	if !got[1].Retry() || got[0].Retry() {
		t.Errorf("Retry() wrong: %+v", got[:2])
	}
}

// TestOnAttemptTransportError: an attempt without an answer is reported
// with a reason and status 0.
func TestOnAttemptTransportError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL
	srv.Close() // nothing listens any more
	var got []AttemptInfo
	c, _ := newTestClient(t, url, newFakeClock(), func(c *Config) {
		c.MaxAttempts = 2
		c.OnAttempt = func(a AttemptInfo) { got = append(got, a) }
	})
	if _, err := c.Status(context.Background(), "p-1"); err == nil {
		t.Fatal("no error")
	}
	if len(got) != 2 || got[0].StatusCode != 0 || got[0].Err != "transport error" || got[1].Attempt != 2 || got[0].Call != CallStatus {
		t.Errorf("attempts %s", fmt.Sprintf("%+v", got))
	}
}

// TestSetObserver: an observer set on a built client sees the attempts
// beside Config.OnAttempt, and no more once removed.
func TestSetObserver(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, accepted) }))
	defer srv.Close()
	var cfgSeen, obsSeen atomic.Int32
	c, _ := newTestClient(t, srv.URL, newFakeClock(), func(c *Config) { c.OnAttempt = func(AttemptInfo) { cfgSeen.Add(1) } })
	c.SetObserver(func(a AttemptInfo) { obsSeen.Add(1) })
	c.Status(context.Background(), "p-1")
	c.SetObserver(nil)
	c.Status(context.Background(), "p-1")
	if cfgSeen.Load() != 2 || obsSeen.Load() != 1 {
		t.Errorf("Config.OnAttempt saw %d, the observer %d; want 2 and 1", cfgSeen.Load(), obsSeen.Load())
	}
}
