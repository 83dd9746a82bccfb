package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"scimigrate/batcher/client"
	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// Endpoints read by Live, below the base URL.
const (
	IdentityV4Path     = "/profile/identity/v4/Users"
	IdentityV41Path    = "/profile/identity/v4.1/Users"
	IdentitySearchPath = "/profile/identity/v4.1/Users/.search"
	SpendUserPath      = "/profile/spend/v4.1/Users/"
	TravelUserPath     = "/profile/travel/v4/Users/"
	searchRequestURN   = "urn:ietf:params:scim:api:messages:concur:2.0:SearchRequest"
)

// Live reads the current state of a target: identities looked up by
// employeeNumber with Identity v4.1 .search (batched "or" filters, cursor
// paging) or, with V4Filter, Identity v4 filter=employeeNumber eq "…" one
// employee at a time; userName for the employees the employeeNumber finds
// nothing for; then the spend and travel profile of each user found. HTTP
// calls are bounded by Concurrency and retried with the apply client's
// policy (batcher/client: DefaultRetryPolicy, NewBackoff honouring
// Retry-After, one token refresh per 401).
//
// batcher/client exposes only the identity fields of a lookup
// (id/userName/employeeNumber); the plan needs whole resources with meta,
// so Live makes its own calls with the client's token sources and policy.
type Live struct {
	BaseURL string
	Tokens  client.TokenSource
	HTTP    *http.Client // default: 60 s timeout
	// Concurrency bounds requests in flight (default 4).
	Concurrency int
	// MaxAttempts bounds tries per call (default 8); MaxElapsed the time
	// spent retrying one call (default 10 min).
	MaxAttempts                int
	MaxElapsed                 time.Duration
	RetryWaitMin, RetryWaitMax time.Duration // defaults 1 s, 60 s
	CheckRetry                 client.CheckRetry
	Backoff                    client.Backoff
	Clock                      client.Clock
	Logf                       func(format string, args ...any)
	// Chunk is how many employeeNumbers go into one "or" filter (default
	// client.SearchChunk).
	Chunk int
	// PageSize is the count asked per page (default 1000, the v4.1 maximum).
	PageSize int
	// V4Filter looks identities up with Identity v4 (one GET per employee)
	// instead of the v4.1 search.
	V4Filter bool

	once sync.Once
	sem  chan struct{}
}

func (l *Live) init() {
	l.once.Do(func() {
		if l.HTTP == nil {
			l.HTTP = &http.Client{Timeout: 60 * time.Second}
		}
		if l.Concurrency <= 0 {
			l.Concurrency = 4
		}
		if l.MaxAttempts <= 0 {
			l.MaxAttempts = 8
		}
		if l.MaxElapsed <= 0 {
			l.MaxElapsed = 10 * time.Minute
		}
		if l.RetryWaitMin <= 0 {
			l.RetryWaitMin = time.Second
		}
		if l.RetryWaitMax <= 0 {
			l.RetryWaitMax = 60 * time.Second
		}
		if l.Clock == nil {
			l.Clock = client.RealClock{}
		}
		if l.CheckRetry == nil {
			l.CheckRetry = client.DefaultRetryPolicy
		}
		if l.Backoff == nil {
			l.Backoff = client.NewBackoff(l.Clock.Now, nil)
		}
		if l.Chunk <= 0 {
			l.Chunk = client.SearchChunk
		}
		if l.PageSize <= 0 {
			l.PageSize = 1000
		}
		l.sem = make(chan struct{}, l.Concurrency)
		l.BaseURL = strings.TrimRight(l.BaseURL, "/")
	})
}

func (l *Live) logf(format string, args ...any) {
	if l.Logf != nil {
		l.Logf(format, args...)
	}
}

// call runs one request with retries. A 404 is returned as (404, nil, nil).
func (l *Live) call(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	l.init()
	if l.Tokens == nil {
		return 0, nil, errors.New("no credentials for the target")
	}
	start := l.Clock.Now()
	for attempt := 1; ; attempt++ {
		tok, err := l.Tokens.Token(ctx)
		if err != nil {
			return 0, nil, err
		}
		resp, data, err := l.attempt(ctx, method, path, body, tok)
		if err == nil && resp.StatusCode == http.StatusUnauthorized && attempt < l.MaxAttempts && l.Tokens.Invalidate(tok) {
			continue
		}
		if err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp.StatusCode, data, nil
		}
		if err == nil && resp.StatusCode == http.StatusNotFound {
			return http.StatusNotFound, nil, nil
		}
		var lastErr error
		if err != nil {
			if ctx.Err() != nil {
				return 0, nil, ctx.Err()
			}
			lastErr = fmt.Errorf("%s %s: %v", method, path, err)
		} else {
			lastErr = httpError(method, path, resp, data, attempt)
		}
		retry, perr := l.CheckRetry(ctx, resp, err)
		if perr != nil {
			return 0, nil, perr
		}
		if !retry || attempt >= l.MaxAttempts {
			return 0, nil, lastErr
		}
		wait := l.Backoff(l.RetryWaitMin, l.RetryWaitMax, attempt, resp)
		if l.Clock.Now().Sub(start)+wait > l.MaxElapsed {
			return 0, nil, fmt.Errorf("%w (giving up: retry budget %s spent)", lastErr, l.MaxElapsed)
		}
		l.logf("%s %s: attempt %d failed; retrying in %s", method, path, attempt, wait.Round(time.Millisecond))
		if err := l.Clock.Sleep(ctx, wait); err != nil {
			return 0, nil, err
		}
	}
}

func (l *Live) attempt(ctx context.Context, method, path string, body []byte, tok string) (*http.Response, []byte, error) {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	defer func() { <-l.sem }()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.BaseURL+path, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := l.HTTP.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, err
	}
	return resp, data, nil
}

func httpError(method, path string, resp *http.Response, body []byte, attempts int) error {
	he := &client.HTTPError{Method: method, Path: path, StatusCode: resp.StatusCode,
		CorrelationID: resp.Header.Get("concur-correlationid"), Attempts: attempts}
	var se struct {
		Detail string `json:"detail"`
		Concur *struct {
			Messages []client.Message `json:"messages"`
		} `json:"urn:ietf:params:scim:api:messages:concur:2.0:Error"`
	}
	if json.Unmarshal(body, &se) == nil {
		he.Detail = se.Detail
		if se.Concur != nil {
			he.Messages = se.Concur.Messages
		}
	}
	return he
}

type listPage struct {
	Resources  []json.RawMessage `json:"Resources"`
	NextCursor string            `json:"nextCursor"`
}

func quote(v string) string {
	return string(scim.AppendString(nil, v))
}

// search runs one v4.1 search, following nextCursor.
func (l *Live) search(ctx context.Context, filter string) ([]*Current, error) {
	req := map[string]any{"schemas": []string{searchRequestURN}, "filter": filter, "count": l.PageSize}
	var out []*Current
	for page := 0; ; page++ {
		body, _ := json.Marshal(req)
		_, data, err := l.call(ctx, "POST", IdentitySearchPath, body)
		if err != nil {
			return nil, err
		}
		var lp listPage
		if data != nil {
			if err := json.Unmarshal(data, &lp); err != nil {
				return nil, fmt.Errorf("POST %s: decoding the answer: %w", IdentitySearchPath, err)
			}
		}
		for _, r := range lp.Resources {
			c, err := ParseUser(r)
			if err != nil {
				return nil, fmt.Errorf("POST %s: %w", IdentitySearchPath, err)
			}
			out = append(out, c)
		}
		if lp.NextCursor == "" || len(lp.Resources) == 0 || page > 100000 {
			return out, nil
		}
		req["cursor"] = lp.NextCursor
	}
}

// v4Lookup runs Identity v4 GET ?filter=attr eq "v" (one page of 100).
func (l *Live) v4Lookup(ctx context.Context, attr, v string) ([]*Current, error) {
	q := url.Values{"filter": {attr + " eq " + quote(v)}, "count": {"100"}}
	_, data, err := l.call(ctx, "GET", IdentityV4Path+"?"+q.Encode(), nil)
	if err != nil || data == nil {
		return nil, err
	}
	var lp listPage
	if err := json.Unmarshal(data, &lp); err != nil {
		return nil, fmt.Errorf("GET %s: decoding the answer: %w", IdentityV4Path, err)
	}
	var out []*Current
	for _, r := range lp.Resources {
		c, err := ParseUser(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// lookup finds identities whose attr (employeeNumber or userName) is one
// of vals.
func (l *Live) lookup(ctx context.Context, attr string, vals []string) ([]*Current, error) {
	l.init()
	if l.V4Filter {
		res := make([][]*Current, len(vals))
		errs := make([]error, len(vals))
		l.each(ctx, len(vals), func(i int) { res[i], errs[i] = l.v4Lookup(ctx, attr, vals[i]) })
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var out []*Current
		for i := range vals {
			if errs[i] != nil {
				return nil, errs[i]
			}
			out = append(out, res[i]...)
		}
		return out, nil
	}
	full := attr
	if attr == "employeeNumber" {
		full = scimpath.EnterpriseUser + ":employeeNumber"
	}
	var out []*Current
	for len(vals) > 0 {
		n := min(l.Chunk, len(vals))
		terms := make([]string, n)
		for i, v := range vals[:n] {
			terms[i] = full + " eq " + quote(v)
		}
		vals = vals[n:]
		got, err := l.search(ctx, strings.Join(terms, " or "))
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// Find returns the identities (no spend or travel profile) of the wanted
// employees: by employeeNumber, and by userName for those whose
// employeeNumber found nothing. Each user appears once.
func (l *Live) Find(ctx context.Context, wants []Want) ([]*Current, error) {
	var nums []string
	seen := map[string]bool{}
	for _, w := range wants {
		if k := strings.ToLower(w.EmployeeNumber); w.EmployeeNumber != "" && !seen[k] {
			seen[k] = true
			nums = append(nums, w.EmployeeNumber)
		}
	}
	found, err := l.lookup(ctx, "employeeNumber", nums)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	ids := map[string]bool{}
	var out []*Current
	keep := func(cs []*Current) {
		for _, c := range cs {
			if ids[strings.ToLower(c.ID)] {
				continue
			}
			ids[strings.ToLower(c.ID)] = true
			out = append(out, c)
			if c.EmployeeNumber != "" {
				have[strings.ToLower(c.EmployeeNumber)] = true
			}
		}
	}
	keep(found)
	var names []string
	seenName := map[string]bool{}
	for _, w := range wants {
		if w.UserName == "" || (w.EmployeeNumber != "" && have[strings.ToLower(w.EmployeeNumber)]) {
			continue
		}
		if k := strings.ToLower(w.UserName); !seenName[k] {
			seenName[k] = true
			names = append(names, w.UserName)
		}
	}
	if len(names) > 0 {
		byName, err := l.lookup(ctx, "userName", names)
		if err != nil {
			return nil, err
		}
		keep(byName)
	}
	return out, nil
}

// All lists every identity of the company (Identity v4.1 list, cursor
// paging).
func (l *Live) All(ctx context.Context) ([]*Current, error) {
	l.init()
	var out []*Current
	cursor := ""
	for page := 0; ; page++ {
		q := url.Values{"count": {fmt.Sprint(l.PageSize)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		_, data, err := l.call(ctx, "GET", IdentityV41Path+"?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		var lp listPage
		if data != nil {
			if err := json.Unmarshal(data, &lp); err != nil {
				return nil, fmt.Errorf("GET %s: decoding the answer: %w", IdentityV41Path, err)
			}
		}
		for _, r := range lp.Resources {
			c, err := ParseUser(r)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		if lp.NextCursor == "" || len(lp.Resources) == 0 || page > 100000 {
			return out, nil
		}
		cursor = lp.NextCursor
	}
}

// Profiles merges the spend and travel profile of each user into its
// identity, reading them with bounded concurrency. A user without a spend
// or travel profile (404) keeps none.
func (l *Live) Profiles(ctx context.Context, users []*Current) error {
	l.init()
	errs := make([]error, len(users))
	l.each(ctx, len(users), func(i int) { errs[i] = l.profile(ctx, users[i]) })
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// each runs fn(0..n-1) on Concurrency workers.
func (l *Live) each(ctx context.Context, n int, fn func(i int)) {
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < min(l.Concurrency, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				fn(i)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
}

func (l *Live) profile(ctx context.Context, c *Current) error {
	var parts []scim.Value
	for _, base := range []string{SpendUserPath, TravelUserPath} {
		status, data, err := l.call(ctx, "GET", base+url.PathEscape(c.ID), nil)
		if err != nil {
			return err
		}
		if status == http.StatusNotFound || data == nil {
			continue
		}
		v, err := scim.Decode(data)
		if err != nil {
			return fmt.Errorf("GET %s%s: %w", base, c.ID, err)
		}
		parts = append(parts, v)
	}
	c.Doc = MergeProfiles(c.Doc, parts...)
	return nil
}

// Snapshot reads the state a plan needs: the wanted employees (or, with
// all, every user of the company) with their spend and travel profiles.
// With all, profiles are read only for the wanted employees unless
// profilesOfAll (export of a whole company).
func (l *Live) Snapshot(ctx context.Context, wants []Want, all, profilesOfAll bool) (*Snapshot, error) {
	l.init()
	s := &Snapshot{Source: l.BaseURL}
	var users []*Current
	var err error
	if all {
		users, err = l.All(ctx)
	} else {
		users, err = l.Find(ctx, wants)
	}
	if err != nil {
		return nil, err
	}
	s.Users = users
	prof := users
	if all && !profilesOfAll {
		wantEmp, wantName := map[string]bool{}, map[string]bool{}
		for _, w := range wants {
			wantEmp[strings.ToLower(w.EmployeeNumber)] = true
			wantName[strings.ToLower(w.UserName)] = true
		}
		prof = nil
		for _, u := range users {
			if (u.EmployeeNumber != "" && wantEmp[strings.ToLower(u.EmployeeNumber)]) || (u.UserName != "" && wantName[strings.ToLower(u.UserName)]) {
				prof = append(prof, u)
			}
		}
	}
	if err := l.Profiles(ctx, prof); err != nil {
		return nil, err
	}
	return s, nil
}
