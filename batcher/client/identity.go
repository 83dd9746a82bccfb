package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"scimigrate/scim"
)

// Reads of whole resources (with meta), for the planner's live target and
// export: Identity v4.1 list and .search with cursor paging, Identity v4
// filter lookups, and spend/travel profile GETs. They share the client's one
// retry loop, redaction and correlation-id log.

// IdentityV41 is the Identity v4.1 user list.
const IdentityV41 = "/profile/identity/v4.1/Users"

// SearchRequestURN is the schema of an Identity v4.1 search request.
const SearchRequestURN = "urn:ietf:params:scim:api:messages:concur:2.0:SearchRequest"

// maxPages bounds the pages one list or search follows.
const maxPages = 1_000_000

// QuoteFilter quotes v as the value of a SCIM filter comparison: a JSON
// string (RFC 7644 §3.4.2.2), so quotes, backslashes and control characters
// are escaped. It is the one filter quoting of the project's client side.
func QuoteFilter(v string) string {
	return string(scim.AppendString(nil, v))
}

// OrFilter returns `attr eq "v1" or attr eq "v2" …`.
func OrFilter(attr string, vals []string) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString(attr)
		b.WriteString(" eq ")
		b.WriteString(QuoteFilter(v))
	}
	return b.String()
}

// Page is one page of a list or search answer.
type Page struct {
	TotalResults int               `json:"totalResults"`
	Resources    []json.RawMessage `json:"Resources"`
	NextCursor   string            `json:"nextCursor"`
}

// SearchUsers runs an Identity v4.1 search (POST …/Users/.search) for
// filter, asking for attributes (nil: all) and pageSize users per page, and
// hands each page to fn, following nextCursor.
func (c *Client) SearchUsers(ctx context.Context, filter string, attributes []string, pageSize int, fn func(Page) error) error {
	req := map[string]any{"schemas": []string{SearchRequestURN}, "filter": filter, "count": pageSize}
	if len(attributes) > 0 {
		req["attributes"] = attributes
	}
	return c.pages(ctx, "POST", IdentitySrch, fn, func(cursor string) (string, []byte, error) {
		if cursor != "" {
			req["cursor"] = cursor
		}
		body, err := json.Marshal(req)
		return IdentitySrch, body, err
	})
}

// ListUsers lists every identity of the company (GET Identity v4.1 Users,
// cursor paging), handing each page to fn.
func (c *Client) ListUsers(ctx context.Context, pageSize int, fn func(Page) error) error {
	return c.pages(ctx, "GET", IdentityV41, fn, func(cursor string) (string, []byte, error) {
		q := url.Values{"count": {strconv.Itoa(pageSize)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		return IdentityV41 + "?" + q.Encode(), nil, nil
	})
}

// pages follows nextCursor until a page has none or no resources. A cursor
// the service repeats, or more than maxPages pages, is an error, not a loop.
func (c *Client) pages(ctx context.Context, method, path string, fn func(Page) error, next func(cursor string) (string, []byte, error)) error {
	cursor := ""
	seen := map[string]bool{}
	for n := 0; ; n++ {
		if n >= maxPages {
			return fmt.Errorf("%s %s: more than %d pages; giving up", method, path, maxPages)
		}
		p, body, err := next(cursor)
		if err != nil {
			return err
		}
		var page Page
		if _, err := c.do(ctx, call{method: method, path: p, body: body}, &page); err != nil {
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		if page.NextCursor == "" || len(page.Resources) == 0 {
			return nil
		}
		if seen[page.NextCursor] {
			return fmt.Errorf("%s %s: the service returned the same cursor twice; stopping instead of looping", method, path)
		}
		seen[page.NextCursor] = true
		cursor = page.NextCursor
	}
}

// FilterUsers runs one Identity v4 lookup (GET …/identity/v4/Users?filter=…
// &count=N) and returns its first page.
func (c *Client) FilterUsers(ctx context.Context, filter string, count int) (Page, error) {
	q := url.Values{"filter": {filter}, "count": {strconv.Itoa(count)}}
	var page Page
	_, err := c.do(ctx, call{method: "GET", path: IdentityV4 + "?" + q.Encode()}, &page)
	return page, err
}

// GetResource reads one resource below the base URL (a spend or travel
// profile). A 404 gives found == false and no error.
func (c *Client) GetResource(ctx context.Context, path string) (body []byte, found bool, err error) {
	status, body, err := c.send(ctx, call{method: "GET", path: path, notFound404: true})
	if err != nil {
		return nil, false, err
	}
	if status == 404 {
		return nil, false, nil
	}
	return body, true, nil
}
