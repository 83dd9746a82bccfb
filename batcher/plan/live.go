package plan

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"scimigrate/batcher/client"
	"scimigrate/scim"
)

// Endpoints read by Live, below the base URL.
const (
	IdentityV4Path     = client.IdentityV4
	IdentityV41Path    = client.IdentityV41
	IdentitySearchPath = client.IdentitySrch
	SpendUserPath      = client.SpendUserPath
	TravelUserPath     = client.TravelUserPath
)

// Live reads the current state of a target through the one UPS client
// (batcher/client: its retry policy and bounds, token refresh, redaction
// of secrets, filter quoting and correlation-id log): identities looked up
// by employeeNumber with Identity v4.1 .search (batched "or" filters, cursor
// paging) or, with V4Filter, Identity v4 filter=employeeNumber eq "…" one
// employee at a time; userName for the employees the employeeNumber finds
// nothing for; then the spend and travel profile of each user found.
type Live struct {
	Client *client.Client
	// Concurrency bounds the lookups and profile reads run at once (default
	// 4); the client bounds the requests in flight too.
	Concurrency int
	// Chunk is how many employeeNumbers go into one "or" filter (default
	// client.SearchChunk).
	Chunk int
	// PageSize is the count asked per page (default 1000, the v4.1 maximum).
	PageSize int
	// V4Filter looks identities up with Identity v4 (one GET per employee)
	// instead of the v4.1 search.
	V4Filter bool
}

func (l *Live) concurrency() int {
	if l.Concurrency <= 0 {
		return 4
	}
	return l.Concurrency
}

func (l *Live) chunk() int {
	if l.Chunk <= 0 {
		return client.SearchChunk
	}
	return l.Chunk
}

func (l *Live) pageSize() int {
	if l.PageSize <= 0 {
		return 1000
	}
	return l.PageSize
}

// BaseURL is the datacenter the target is read from.
func (l *Live) BaseURL() string { return l.Client.BaseURL() }

// parsePage parses the users of one page.
func parsePage(what string, p client.Page, out []*Current) ([]*Current, error) {
	for _, r := range p.Resources {
		c, err := ParseUser(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// search runs one v4.1 search, following nextCursor.
func (l *Live) search(ctx context.Context, filter string) ([]*Current, error) {
	var out []*Current
	err := l.Client.SearchUsers(ctx, filter, nil, l.pageSize(), func(p client.Page) (err error) {
		out, err = parsePage("POST "+IdentitySearchPath, p, out)
		return err
	})
	return out, err
}

// v4Lookup runs Identity v4 GET ?filter=attr eq "v" (one page of 100).
func (l *Live) v4Lookup(ctx context.Context, attr, v string) ([]*Current, error) {
	p, err := l.Client.FilterUsers(ctx, attr+" eq "+client.QuoteFilter(v), 100)
	if err != nil {
		return nil, err
	}
	return parsePage("GET "+IdentityV4Path, p, nil)
}

// lookup finds identities whose attr (employeeNumber or userName) is one
// of vals.
func (l *Live) lookup(ctx context.Context, attr string, vals []string) ([]*Current, error) {
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
		full = client.EmployeeNumberAttr
	}
	var out []*Current
	for len(vals) > 0 {
		n := min(l.chunk(), len(vals))
		got, err := l.search(ctx, client.OrFilter(full, vals[:n]))
		if err != nil {
			return nil, err
		}
		vals = vals[n:]
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
	var out []*Current
	err := l.Client.ListUsers(ctx, l.pageSize(), func(p client.Page) (err error) {
		out, err = parsePage("GET "+IdentityV41Path, p, out)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Profiles merges the spend and travel profile of each user into its
// identity, reading them with bounded concurrency. A user without a spend
// or travel profile (404) keeps none.
func (l *Live) Profiles(ctx context.Context, users []*Current) error {
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
	for w := 0; w < min(l.concurrency(), n); w++ {
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
		data, found, err := l.Client.GetResource(ctx, base+url.PathEscape(c.ID))
		if err != nil {
			return err
		}
		if !found || len(data) == 0 {
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
	s := &Snapshot{Source: l.BaseURL()}
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
