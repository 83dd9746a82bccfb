package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Code is an HTTP code sent as a string ("400") or, leniently, a number.
type Code string

// UnmarshalJSON accepts a string, a number or null.
func (c *Code) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*c = ""
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = Code(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("status code: %w", err)
	}
	*c = Code(n.String())
	return nil
}

// Int returns the code as a number (0 when absent or not numeric).
func (c Code) Int() int {
	n, _ := strconv.Atoi(string(c))
	return n
}

// State is a status object of a provision, an operation or an extension.
type State struct {
	Completed bool   `json:"completed"`
	Success   *bool  `json:"success"` // null until completed
	Code      Code   `json:"code,omitempty"`
	Result    string `json:"result,omitempty"` // success | no-op | error | not-processed
}

// Succeeded reports success == true.
func (s State) Succeeded() bool { return s.Success != nil && *s.Success }

// ExtensionStatus is one extension's outcome within an operation.
type ExtensionStatus struct {
	Name     string    `json:"name"`
	Status   State     `json:"status"`
	Messages []Message `json:"messages,omitempty"`
}

// OperationStatus is one Bulk operation's outcome.
type OperationStatus struct {
	ID       string `json:"id"`
	BulkID   string `json:"bulkId"`
	Status   State  `json:"status"`
	Resource *struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"resource,omitempty"`
	Extensions []ExtensionStatus `json:"extensions,omitempty"`
	Messages   []Message         `json:"messages,omitempty"`
}

// ResourceID returns the Concur user UUID, if any.
func (o *OperationStatus) ResourceID() string {
	if o.Resource == nil {
		return ""
	}
	return o.Resource.ID
}

// Counts are a provision's operationsCount.
type Counts struct {
	Total   int `json:"total"`
	Success int `json:"success"`
	Failed  int `json:"failed"`
	Pending int `json:"pending"`
}

// ProvisionStatus is the 202 answer to a Bulk POST and the status endpoint's
// answer.
type ProvisionStatus struct {
	Schemas         []string          `json:"schemas,omitempty"`
	ID              string            `json:"id"`
	OperationsCount Counts            `json:"operationsCount"`
	Status          State             `json:"status"`
	TotalResults    int               `json:"totalResults,omitempty"`
	ItemsPerPage    int               `json:"itemsPerPage,omitempty"`
	StartIndex      int               `json:"startIndex,omitempty"`
	Operations      []OperationStatus `json:"operations,omitempty"`
	Meta            map[string]any    `json:"meta,omitempty"`
}

// DecodeProvisionStatus decodes a provision status body.
func DecodeProvisionStatus(b []byte) (*ProvisionStatus, error) {
	var ps ProvisionStatus
	if err := json.Unmarshal(b, &ps); err != nil {
		return nil, fmt.Errorf("provision status: %w", err)
	}
	return &ps, nil
}

// PostBulk sends one BulkRequest body. It returns the provision status from
// the 202 answer. A body that may have reached the service without an
// answer gives *UnknownOutcomeError and is not re-sent; 413 gives an
// *HTTPError with StatusCode 413 (the caller splits the request).
//
// Bulk POSTs in a row that end without a usable answer (504, connection lost
// after sending, 2xx without a provision id) are bounded: past
// MaxUnknownOutcomes of them, or MaxElapsed after the first, PostBulk
// returns *GaveUpError and sends nothing more, so a broken service is not
// sent the same request again and again. An accepted request (a 2xx with a
// provision id) ends the streak.
func (c *Client) PostBulk(ctx context.Context, body []byte) (*ProvisionStatus, error) {
	c.bulkMu.Lock()
	gaveUp := c.bulkGaveUp
	c.bulkMu.Unlock()
	if gaveUp != nil {
		return nil, gaveUp
	}
	var ps ProvisionStatus
	status, err := c.do(ctx, call{method: "POST", path: BulkPath, body: body, unsafe: true}, &ps)
	if err == nil && ps.ID == "" {
		err = &UnknownOutcomeError{Method: "POST", Path: BulkPath,
			Err: fmt.Errorf("HTTP %d without a provision id: the request may or may not have been accepted", status)}
	}
	var uo *UnknownOutcomeError
	switch {
	case err == nil:
		c.bulkMu.Lock()
		c.bulkStreak = 0
		c.bulkMu.Unlock()
		return &ps, nil
	case errors.As(err, &uo):
		return nil, c.unknownBulkOutcome(uo)
	}
	return nil, err
}

// unknownBulkOutcome counts one Bulk POST without a usable answer and
// returns uo, or the *GaveUpError that ends the streak.
func (c *Client) unknownBulkOutcome(uo *UnknownOutcomeError) error {
	c.bulkMu.Lock()
	defer c.bulkMu.Unlock()
	if c.bulkGaveUp != nil {
		return c.bulkGaveUp
	}
	now := c.cfg.Clock.Now()
	if c.bulkStreak == 0 {
		c.bulkFirst = now
	}
	c.bulkStreak++
	elapsed := now.Sub(c.bulkFirst)
	var reason string
	switch {
	case c.bulkStreak >= c.cfg.MaxUnknownOutcomes:
		reason = fmt.Sprintf("%d Bulk requests in a row got no usable answer", c.bulkStreak)
	case elapsed >= c.cfg.MaxElapsed:
		reason = fmt.Sprintf("no Bulk request got a usable answer for %s", elapsed.Round(time.Second))
	default:
		return uo
	}
	c.bulkGaveUp = &GaveUpError{Method: uo.Method, Path: uo.Path, Attempts: c.bulkStreak, Elapsed: elapsed,
		Reason: reason + "; no more are sent, the operations stay in the journal for the next run", Err: uo.Err}
	c.logf("%v", c.bulkGaveUp)
	return c.bulkGaveUp
}

// Status reads a provision's summary status.
func (c *Client) Status(ctx context.Context, provisionID string) (*ProvisionStatus, error) {
	var ps ProvisionStatus
	p := fmt.Sprintf(StatusPath, url.PathEscape(provisionID))
	if _, err := c.do(ctx, call{method: "GET", path: p}, &ps); err != nil {
		return nil, err
	}
	return &ps, nil
}

// StatusOperations reads one page of a provision's per-operation status
// (startIndex is 1-based).
func (c *Client) StatusOperations(ctx context.Context, provisionID string, startIndex, count int) (*ProvisionStatus, error) {
	var ps ProvisionStatus
	q := url.Values{"attributes": {"operations"}, "startIndex": {strconv.Itoa(startIndex)}, "count": {strconv.Itoa(count)}}
	p := fmt.Sprintf(StatusPath, url.PathEscape(provisionID)) + "?" + q.Encode()
	if _, err := c.do(ctx, call{method: "GET", path: p}, &ps); err != nil {
		return nil, err
	}
	return &ps, nil
}

// User is the part of an identity the lookups return.
type User struct {
	ID             string
	UserName       string
	EmployeeNumber string
}

type identityUser struct {
	ID         string `json:"id"`
	UserName   string `json:"userName"`
	Enterprise struct {
		EmployeeNumber string `json:"employeeNumber"`
	} `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
}

func (u *identityUser) user(fallbackEmployeeNumber string) User {
	en := u.Enterprise.EmployeeNumber
	if en == "" {
		en = fallbackEmployeeNumber
	}
	return User{ID: u.ID, UserName: u.UserName, EmployeeNumber: en}
}

func decodeIdentity(raw json.RawMessage) (identityUser, error) {
	var u identityUser
	err := json.Unmarshal(raw, &u)
	return u, err
}

// LookupEmployee finds users by employeeNumber with Identity v4
// (GET /profile/identity/v4/Users?filter=employeeNumber eq "X").
func (c *Client) LookupEmployee(ctx context.Context, employeeNumber string) ([]User, error) {
	page, err := c.FilterUsers(ctx, "employeeNumber eq "+QuoteFilter(employeeNumber), 100)
	if err != nil {
		return nil, err
	}
	out := make([]User, 0, len(page.Resources))
	for _, r := range page.Resources {
		u, err := decodeIdentity(r)
		if err != nil {
			return nil, fmt.Errorf("GET %s: decoding a user: %w", IdentityV4, err)
		}
		out = append(out, u.user(employeeNumber))
	}
	return out, nil
}

// SearchChunk is how many employeeNumbers go into one "or" filter.
const SearchChunk = 50

// EmployeeNumberAttr is the full path of employeeNumber in filters.
const EmployeeNumberAttr = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"

// SearchEmployees resolves many employeeNumbers with Identity v4.1 search
// (POST /profile/identity/v4.1/Users/.search), SearchChunk numbers per "or"
// filter, following nextCursor. The result maps employeeNumber to the users
// carrying it; numbers not found are absent.
func (c *Client) SearchEmployees(ctx context.Context, employeeNumbers []string) (map[string][]User, error) {
	out := map[string][]User{}
	for len(employeeNumbers) > 0 {
		n := min(SearchChunk, len(employeeNumbers))
		filter := OrFilter(EmployeeNumberAttr, employeeNumbers[:n])
		employeeNumbers = employeeNumbers[n:]
		err := c.SearchUsers(ctx, filter, []string{"id", "userName", EmployeeNumberAttr}, 1000, func(p Page) error {
			for _, r := range p.Resources {
				u, err := decodeIdentity(r)
				if err != nil {
					return fmt.Errorf("POST %s: decoding a user: %w", IdentitySrch, err)
				}
				en := u.Enterprise.EmployeeNumber
				out[en] = append(out[en], u.user(en))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
