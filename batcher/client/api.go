package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
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
func (c *Client) PostBulk(ctx context.Context, body []byte) (*ProvisionStatus, error) {
	var ps ProvisionStatus
	if _, err := c.do(ctx, call{method: "POST", path: BulkPath, body: body, unsafe: true}, &ps); err != nil {
		return nil, err
	}
	if ps.ID == "" {
		return nil, &UnknownOutcomeError{Method: "POST", Path: BulkPath, Err: fmt.Errorf("accepted without a provisionId")}
	}
	return &ps, nil
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

type listResponse struct {
	TotalResults int            `json:"totalResults"`
	ItemsPerPage int            `json:"itemsPerPage"`
	StartIndex   int            `json:"startIndex"`
	NextCursor   string         `json:"nextCursor"`
	Resources    []identityUser `json:"Resources"`
}

// quoteFilter quotes a SCIM filter value.
func quoteFilter(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(v) + `"`
}

// LookupEmployee finds users by employeeNumber with Identity v4
// (GET /profile/identity/v4/Users?filter=employeeNumber eq "X").
func (c *Client) LookupEmployee(ctx context.Context, employeeNumber string) ([]User, error) {
	q := url.Values{"filter": {"employeeNumber eq " + quoteFilter(employeeNumber)}}
	var lr listResponse
	if _, err := c.do(ctx, call{method: "GET", path: IdentityV4 + "?" + q.Encode()}, &lr); err != nil {
		return nil, err
	}
	out := make([]User, 0, len(lr.Resources))
	for _, u := range lr.Resources {
		en := u.Enterprise.EmployeeNumber
		if en == "" {
			en = employeeNumber
		}
		out = append(out, User{ID: u.ID, UserName: u.UserName, EmployeeNumber: en})
	}
	return out, nil
}

// SearchChunk is how many employeeNumbers go into one "or" filter.
const SearchChunk = 50

// SearchEmployees resolves many employeeNumbers with Identity v4.1 search
// (POST /profile/identity/v4.1/Users/.search), SearchChunk numbers per "or"
// filter, following nextCursor. The result maps employeeNumber to the users
// carrying it; numbers not found are absent.
func (c *Client) SearchEmployees(ctx context.Context, employeeNumbers []string) (map[string][]User, error) {
	out := map[string][]User{}
	const attr = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
	for len(employeeNumbers) > 0 {
		n := min(SearchChunk, len(employeeNumbers))
		chunk := employeeNumbers[:n]
		employeeNumbers = employeeNumbers[n:]
		terms := make([]string, len(chunk))
		for i, en := range chunk {
			terms[i] = attr + " eq " + quoteFilter(en)
		}
		req := map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:concur:2.0:SearchRequest"},
			"filter":     strings.Join(terms, " or "),
			"attributes": []string{"id", "userName", attr},
			"count":      1000,
		}
		for page := 0; ; page++ {
			body, err := json.Marshal(req)
			if err != nil {
				return nil, err
			}
			var lr listResponse
			if _, err := c.do(ctx, call{method: "POST", path: IdentitySrch, body: body}, &lr); err != nil {
				return nil, err
			}
			for _, u := range lr.Resources {
				en := u.Enterprise.EmployeeNumber
				out[en] = append(out[en], User{ID: u.ID, UserName: u.UserName, EmployeeNumber: en})
			}
			if lr.NextCursor == "" || len(lr.Resources) == 0 || page > 10000 {
				break
			}
			req["cursor"] = lr.NextCursor
		}
	}
	return out, nil
}
