package client

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// CheckBaseURL accepts an https URL, or an http URL on a loopback host
// (127.0.0.0/8, ::1, localhost) for rehearsals against the simulator. Any
// other http URL needs insecure (the CLI's --insecure-http): a bearer token
// and employee data would cross the network in clear text.
func CheckBaseURL(raw string, insecure bool) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return fmt.Errorf("base URL %q is not an absolute URL (want https://HOST)", raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if insecure || IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("base URL %s is plain http to a host that is not loopback: credentials and employee data would travel unencrypted (use https, or --insecure-http for a test service)", origin(u))
	default:
		return fmt.Errorf("base URL %q: scheme %q is not https", raw, u.Scheme)
	}
}

// IsLoopback reports whether host names this machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// origin returns scheme://host:port with the default port made explicit.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(net.JoinHostPort(u.Hostname(), port))
}

// checkRedirect is the http.Client redirect policy of every Client: a
// redirect is followed only to the same origin and only when it keeps the
// method (a 307/308). Go's default would forward the bearer token to another
// port of the same host, re-send a Bulk body anywhere on 307, and turn a POST
// into a GET on 302/303.
func checkRedirect(req *http.Request, via []*http.Request) error {
	first := via[0]
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	from := first.URL.Scheme + "://" + first.URL.Host + first.URL.Path
	to := req.URL.Scheme + "://" + req.URL.Host + req.URL.Path
	switch {
	case len(via) >= 5:
		return &RedirectError{Method: first.Method, From: from, To: to, Status: status, Reason: "too many redirects"}
	case req.Method != first.Method:
		return &RedirectError{Method: first.Method, From: from, To: to, Status: status,
			Reason: fmt.Sprintf("it would turn the %s into a %s", first.Method, req.Method)}
	case origin(req.URL) != origin(first.URL):
		return &RedirectError{Method: first.Method, From: origin(first.URL), To: origin(req.URL), Status: status,
			Reason: "another origin must not receive the credentials or the request body"}
	}
	return nil
}

// withRedirectPolicy returns a shallow copy of hc that uses checkRedirect.
func withRedirectPolicy(hc *http.Client) *http.Client {
	c := *hc
	c.CheckRedirect = checkRedirect
	return &c
}

func isRedirectError(err error) bool {
	var re *RedirectError
	return errors.As(err, &re)
}
