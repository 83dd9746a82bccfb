package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Profile paths below the base URL; the user's UUID follows.
const (
	IdentityUserPath = "/profile/identity/v4/Users/"
	SpendUserPath    = "/profile/spend/v4.1/Users/"
	TravelUserPath   = "/profile/travel/v4/Users/"
)

// LiveUser is a user's state as the service holds it: the identity and the
// spend and travel profiles (nil when the user has none).
type LiveUser struct {
	Identity, Spend, Travel json.RawMessage
}

// ReadUser reads a user's identity and, when asked, its spend and travel
// profiles by Concur UUID. A profile the user does not have (404) is left
// nil; a user without an identity is an error (*HTTPError 404).
func (c *Client) ReadUser(ctx context.Context, id string, spend, travel bool) (*LiveUser, error) {
	var lu LiveUser
	for _, p := range []struct {
		base     string
		out      *json.RawMessage
		optional bool
		want     bool
	}{{IdentityUserPath, &lu.Identity, false, true}, {SpendUserPath, &lu.Spend, true, spend}, {TravelUserPath, &lu.Travel, true, travel}} {
		if !p.want {
			continue
		}
		var raw json.RawMessage
		_, err := c.do(ctx, call{method: "GET", path: p.base + url.PathEscape(id)}, &raw)
		if p.optional && StatusCodeOf(err) == http.StatusNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		*p.out = raw
	}
	return &lu, nil
}
