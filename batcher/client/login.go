package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// GLZ is Concur's global landing zone, where the password grant with
// credtype=authtoken is sent.
const GLZ = "https://glz.api.concursolutions.com"

// LoginRequest is the company-level password grant (grant_type=password,
// credtype=authtoken): an administrator's Company Request Token (valid 24 h)
// exchanged with the integration's client id and secret for an access
// token, a refresh token and the company's geolocation.
type LoginRequest struct {
	BaseURL                string // the token endpoint's host (default GLZ)
	ClientID, ClientSecret string
	CompanyID              string // username: the company UUID
	RequestToken           string // password: the Company Request Token
	HTTPClient             *http.Client
	Clock                  Clock
	InsecureHTTP           bool
	Logf                   func(format string, args ...any)
}

// Login is what the grant gave.
type Login struct {
	AccessToken  string
	RefreshToken string
	// Geolocation is the base URL every later call goes to: the answer's
	// geolocation when it is acceptable (https, or loopback http), else the
	// base URL the grant was sent to.
	Geolocation string
	// CompanyID is the id_token's subject, else the request's company.
	CompanyID string
	IssuedAt  time.Time
	ExpiresIn time.Duration
}

// Stored returns the token file's content for l.
func (l *Login) Stored() StoredToken {
	return StoredToken{RefreshToken: l.RefreshToken, Geolocation: l.Geolocation, CompanyID: l.CompanyID,
		IssuedAt: l.IssuedAt, Updated: l.IssuedAt}
}

// PasswordGrant performs the login. It is one call of a Client: the same
// retries and bounds, and errors (a *TokenError with Concur's code and
// message for a refusal) that never hold the secret or the request token.
func PasswordGrant(ctx context.Context, r LoginRequest) (*Login, error) {
	if r.BaseURL == "" {
		r.BaseURL = GLZ
	}
	var missing []string
	for _, m := range []struct{ name, v string }{{EnvClientID, r.ClientID}, {EnvClientSecret, r.ClientSecret},
		{EnvCompanyID + " (the company UUID)", r.CompanyID}, {EnvRequestToken, r.RequestToken}} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return nil, errors.New("login needs " + strings.Join(missing, ", "))
	}
	c, err := New(Config{BaseURL: r.BaseURL, HTTPClient: r.HTTPClient, Clock: r.Clock, Tokens: StaticToken(""),
		InsecureHTTP: r.InsecureHTTP, Logf: r.Logf, Secrets: []string{r.ClientSecret, r.RequestToken}})
	if err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {"password"}, "credtype": {"authtoken"}, "client_id": {r.ClientID},
		"client_secret": {r.ClientSecret}, "username": {r.CompanyID}, "password": {r.RequestToken}}
	tr, err := c.grant(ctx, form)
	if err != nil {
		return nil, err
	}
	if tr.RefreshToken == "" {
		return nil, &TokenError{Grant: "password", StatusCode: http.StatusOK, Description: "the answer holds no refresh_token"}
	}
	c.useGeolocation(tr.Geolocation)
	l := &Login{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, Geolocation: c.BaseURL(),
		CompanyID: r.CompanyID, IssuedAt: c.cfg.Clock.Now().UTC(), ExpiresIn: tr.lifetime()}
	if sub := idTokenSubject(tr.IDToken); sub != "" {
		l.CompanyID = sub
	}
	return l, nil
}

// idTokenSubject reads the sub claim of a JWT without verifying it: it is
// shown to the user, never trusted for a decision.
func idTokenSubject(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) < 2 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(b, &claims) != nil {
		return ""
	}
	return claims.Sub
}

// Authenticate obtains an access token now (refreshing it if needed), so a
// caller learns at once whether the credentials work and where they lead.
func (c *Client) Authenticate(ctx context.Context) error {
	_, err := c.cfg.Tokens.Token(ctx)
	return c.scrub(err)
}

// DataCentre names the data centre of a base URL: the first label of a
// Concur host (us2, eu2, glz…), else host:port.
func DataCentre(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return base
	}
	h := u.Hostname()
	if strings.HasSuffix(h, ".concursolutions.com") || strings.HasSuffix(h, ".concurcdc.cn") {
		return strings.TrimPrefix(strings.SplitN(h, ".", 2)[0], "www-")
	}
	return u.Host
}
