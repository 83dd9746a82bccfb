package client

import (
	"context"
	"crypto/x509"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// CheckRetry decides after one attempt whether to try again. A non-nil error
// stops retrying and is returned to the caller.
type CheckRetry func(ctx context.Context, resp *http.Response, err error) (bool, error)

// Backoff returns how long to wait before attempt number attempt (1 for the
// first retry), between min and max unless the response asks for longer.
type Backoff func(min, max time.Duration, attempt int, resp *http.Response) time.Duration

// DefaultRetryPolicy retries transport errors (except invalid URLs, redirect
// loops and certificate errors), 429 and every 5xx except 501.
func DefaultRetryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return retryableTransportError(err), nil
	}
	return RetryableStatus(resp.StatusCode), nil
}

// RetryableStatus reports whether a response status is worth retrying.
func RetryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == 0 || (code >= 500 && code != http.StatusNotImplemented)
}

func retryableTransportError(err error) bool {
	var ue *url.Error
	if errors.As(err, &ue) {
		msg := ue.Err.Error()
		if strings.Contains(msg, "stopped after") && strings.Contains(msg, "redirects") {
			return false
		}
		if strings.Contains(msg, "unsupported protocol scheme") || strings.Contains(msg, "invalid header") {
			return false
		}
	}
	var unknownAuth x509.UnknownAuthorityError
	var certInvalid x509.CertificateInvalidError
	var hostErr x509.HostnameError
	if errors.As(err, &unknownAuth) || errors.As(err, &certInvalid) || errors.As(err, &hostErr) {
		return false
	}
	return !errors.Is(err, context.Canceled)
}

// ParseRetryAfter parses a Retry-After value, either delay-seconds or an HTTP
// date, relative to now. It reports false for a missing or malformed value.
// Past dates and negative numbers give zero.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' || v[0] == '-' || v[0] == '+' {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(v, 64)
			if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, false
			}
			n = int64(math.Ceil(f))
		}
		if n <= 0 {
			return 0, true
		}
		if n > int64(24*time.Hour/time.Second) {
			n = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	if d > 24*time.Hour {
		d = 24 * time.Hour
	}
	return d, true
}

// NewBackoff returns capped exponential backoff with full jitter that honours
// Retry-After on any response carrying it (a server's explicit wait wins over
// the computed one, even above max). now and rnd (in [0,1)) are injectable
// for tests; nil takes time.Now and math/rand/v2.
func NewBackoff(now func() time.Time, rnd func() float64) Backoff {
	if now == nil {
		now = time.Now
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	return func(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
		if resp != nil {
			if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now()); ok {
				return d
			}
		}
		if attempt < 1 {
			attempt = 1
		}
		ceil := float64(min) * math.Pow(2, float64(attempt-1))
		if ceil > float64(max) || math.IsInf(ceil, 0) {
			ceil = float64(max)
		}
		// Half fixed, half random: never below min/2, spread to avoid herds.
		d := time.Duration(ceil/2 + rnd()*ceil/2)
		if d < min/2 {
			d = min / 2
		}
		return d
	}
}

// Clock gives the client its notion of time, so tests run without waiting.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits d or until ctx is done.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
