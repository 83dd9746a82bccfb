package upsim

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// faultTrace sends n sequential requests and records the answers.
func faultTrace(t *testing.T, seed int64, n int, f Faults) ([]string, Stats) {
	t.Helper()
	opts := baseOpts()
	opts.Seed = seed
	opts.Faults = f
	c := newTC(t, opts)
	var trace []string
	for i := 0; i < n; i++ {
		resp, body, err := c.raw("GET", "/profile/identity/v4/Users?count=1", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		entry := strconv.Itoa(resp.StatusCode)
		switch resp.StatusCode {
		case 429:
			ra := resp.Header.Get("Retry-After")
			if _, err := strconv.Atoi(ra); err != nil {
				if _, err := http.ParseTime(ra); err != nil {
					t.Errorf("bad Retry-After %q", ra)
				}
				entry += "/date"
			} else {
				entry += "/" + ra
			}
			mustContain(t, string(body), `"status":"429"`)
		case 502, 504:
			if resp.Header.Get("Content-Type") != "text/html" {
				t.Errorf("gateway error content type %q", resp.Header.Get("Content-Type"))
			}
		case 503:
			mustContain(t, string(body), `"status":"503"`)
		}
		trace = append(trace, entry)
	}
	return trace, c.s.Stats()
}

func TestFaultsDeterministic(t *testing.T) {
	f := Faults{RateLimit: 0.25, Unavailable: 0.25, RetryAfterMax: 2}
	a, sa := faultTrace(t, 42, 80, f)
	b, _ := faultTrace(t, 42, 80, f)
	c, _ := faultTrace(t, 43, 80, f)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Errorf("different seeds gave the same faults: %v", a)
	}
	kinds := map[string]bool{}
	for _, e := range a {
		kinds[e[:3]] = true
	}
	if !kinds["429"] || !kinds["503"] || !kinds["200"] {
		t.Errorf("fault kinds %v", kinds)
	}
	if sa.FaultsInjected != sa.RateLimited+sa.Unavailable || sa.FaultsInjected == 0 {
		t.Errorf("stats %+v", sa)
	}
}

func TestMaxFaultsBoundsInjection(t *testing.T) {
	trace, st := faultTrace(t, 7, 30, Faults{RateLimit: 1, MaxFaults: 5})
	for i, e := range trace {
		if (i < 5) != (e[:3] == "429") {
			t.Fatalf("trace %v", trace)
		}
	}
	if st.FaultsInjected != 5 || st.RateLimited != 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestDropAfterAcceptRecordsWork(t *testing.T) {
	opts := baseOpts()
	opts.Faults = Faults{DropAfterAccept: 1, MaxFaults: 1}
	c := newTC(t, opts)
	body, _ := json.Marshal(bulkBody(createOp("r1", "drop@example.com", "D1", nil)))
	resp, _, err := c.raw("POST", "/profile/v4/Bulk/", body, nil)
	if err == nil {
		t.Fatalf("expected a transport error, got %d", resp.StatusCode)
	}
	st := c.s.Stats()
	if st.Dropped != 1 || st.BulkAccepted != 1 || st.Operations != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The work was recorded and is processed.
	if _, ok := c.s.UserByEmployeeNumber("D1"); !ok {
		t.Fatal("dropped Bulk was not processed")
	}
	// A blind re-send now fails as a duplicate instead of creating a 2nd user.
	ops := c.run(createOp("r1", "drop@example.com", "D1", nil))
	if opCodeOf(ops[0]) != "409" {
		t.Errorf("re-send code %s", opCodeOf(ops[0]))
	}
	if n := len(c.s.Users()); n != 1 {
		t.Errorf("%d users", n)
	}
}

func TestExpireTokensForcesRefresh(t *testing.T) {
	opts := baseOpts()
	opts.Faults = Faults{ExpireTokens: 1, MaxFaults: 1}
	c := newTC(t, opts)
	path := "/profile/identity/v4/Users"
	if st, body := c.call("GET", path, nil); st != 401 {
		t.Fatalf("first call %d %v", st, body)
	}
	if st, _ := c.call("GET", path, nil); st != 401 {
		t.Fatalf("expired token still accepted: %d", st)
	}
	st, tok := c.grant(url.Values{"grant_type": {"refresh_token"}, "client_id": {testClientID}, "client_secret": {testSecret}, "refresh_token": {testRefresh}})
	if st != 200 {
		t.Fatal(st)
	}
	c.token = tok["access_token"].(string)
	if st, _ := c.call("GET", path, nil); st != 200 {
		t.Fatalf("after refresh %d", st)
	}
	if s := c.s.Stats(); s.TokensExpired != 1 || s.TokenGrants != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestTokenEndpointNotFaultedByDefault(t *testing.T) {
	opts := baseOpts()
	opts.Faults = Faults{RateLimit: 1, Unavailable: 1}
	c := newTC(t, opts) // newTC fails if the grant is faulted
	for i := 0; i < 5; i++ {
		if st, _ := c.grant(url.Values{"grant_type": {"refresh_token"}, "client_id": {testClientID}, "client_secret": {testSecret}, "refresh_token": {testRefresh}}); st != 200 {
			t.Fatal(st)
		}
	}
	opts.Faults.TokenEndpoint = true
	s := NewServer(opts)
	defer s.Close()
	resp, err := http.PostForm(s.URL()+tokenPath, url.Values{"grant_type": {"refresh_token"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 {
		t.Errorf("opted-in token fault: %d", resp.StatusCode)
	}
}

func TestSlowAndConcurrent(t *testing.T) {
	opts := baseOpts()
	opts.Faults = Faults{Slow: 0.5, SlowDelay: 2 * time.Millisecond}
	c := newTC(t, opts)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(bulkBody(createOp("x", fmt.Sprintf("c%d@example.com", g), fmt.Sprint("C", g), nil)))
			resp, raw, err := c.raw("POST", "/profile/v4/Bulk", body, nil)
			if err != nil || resp.StatusCode != 202 {
				t.Errorf("bulk %d: %v %s", g, err, raw)
				return
			}
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			ids[g] = m["id"].(string)
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != "" {
			c.wait(id)
		}
	}
	st := c.s.Stats()
	if st.Creates != 8 || st.Slowed == 0 {
		t.Errorf("stats %+v", st)
	}
}

// Slow responses are aborted by Close, which returns promptly.
func TestCloseAbortsSlowRequests(t *testing.T) {
	opts := baseOpts()
	opts.Faults = Faults{Slow: 1, SlowDelay: time.Hour}
	opts.AccessToken = "t"
	s := NewServer(opts)
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", s.URL()+"/profile/identity/v4/Users", nil)
		req.Header.Set("Authorization", "Bearer t")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	// The request must be held by the slow fault before Close is called,
	// otherwise this would only test a request that never started.
	deadline := time.Now().Add(30 * time.Second)
	for s.Stats().Slowed == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the request was never slowed")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case r := <-done:
		t.Fatalf("the slowed request finished before Close: %+v", r)
	default:
	}
	go s.Close() // httptest's Close waits for outstanding requests
	// SlowDelay is an hour: an answer within a minute can only come from
	// Close aborting the wait.
	select {
	case r := <-done:
		if r.err == nil && r.status != http.StatusServiceUnavailable {
			t.Errorf("aborted request answered %d, want 503 or a transport error", r.status)
		}
	case <-time.After(time.Minute):
		t.Fatal("Close did not abort the slowed request")
	}
}

func TestCompletionDeterministic(t *testing.T) {
	run := func() []string {
		opts := baseOpts()
		opts.Seed = 99
		opts.CompletionDelay = 3 * time.Millisecond
		c := newTC(t, opts)
		var ops []map[string]any
		for i := 0; i < 20; i++ {
			ops = append(ops, createOp(fmt.Sprint("b", i), fmt.Sprintf("u%d@example.com", i%15), fmt.Sprint(i), nil))
		}
		id1 := c.submit(ops[:10]...)
		id2 := c.submit(ops[10:]...)
		c.wait(id1)
		c.wait(id2)
		var out []string
		for _, id := range []string{id1, id2} {
			for _, op := range c.operations(id, "") {
				rid := ""
				if r, ok := op["resource"].(map[string]any); ok {
					rid = r["id"].(string)
				}
				out = append(out, opCodeOf(op)+"/"+rid)
			}
		}
		return append(out, id1, id2)
	}
	a, b := run(), run()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("not deterministic:\n%v\n%v", a, b)
	}
}

func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := New(Options{AccessToken: "t"})
	go func() { done <- srv.Serve(ctx, ln) }()
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/profile/identity/v4.1/Users", nil)
	req.Header.Set("Authorization", "Bearer t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if srv.Stats().Lookups != 1 || srv.URL() != "http://"+ln.Addr().String() {
		t.Errorf("stats %+v url %s", srv.Stats(), srv.URL())
	}
	if err := ListenAndServe(context.Background(), "bad-address::", Options{}); err == nil {
		t.Error("ListenAndServe on a bad address succeeded")
	}
}
