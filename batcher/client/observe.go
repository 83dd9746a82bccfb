package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Kinds of call an AttemptInfo names.
const (
	CallBulk   = "bulk"   // POST /profile/v4/Bulk
	CallStatus = "status" // provision status and its operation pages
	CallLookup = "lookup" // Identity v4 lookup and v4.1 search
	CallOther  = "other"
)

// AttemptInfo describes one HTTP attempt of a call, for an observer such as
// the journal's request timeline (Config.OnAttempt). It carries no header,
// body, token or path (paths can hold employee IDs in a filter): only what
// kind of call it was and what came back.
type AttemptInfo struct {
	Time       time.Time // when the answer (or the error) came, from the client's Clock
	Call       string    // CallBulk, CallStatus, CallLookup or CallOther
	Method     string
	Attempt    int           // 1 for the first try of the call
	StatusCode int           // 0 when no answer came
	Err        string        // why no answer came ("" with an answer): "timeout", "canceled", "no access token" or "transport error"
	RetryAfter time.Duration // the answer's Retry-After, when it had one
}

// Retry reports whether the attempt was a retry of the same call.
func (a AttemptInfo) Retry() bool { return a.Attempt > 1 }

func callKind(path string) string {
	switch {
	case strings.HasPrefix(path, BulkPath):
		return CallBulk
	case strings.HasPrefix(path, "/profile/v4/provisions/"):
		return CallStatus
	case strings.HasPrefix(path, IdentityV4), strings.HasPrefix(path, IdentitySrch):
		return CallLookup
	}
	return CallOther
}

// SetObserver sets (nil: removes) a second observer of every attempt,
// beside Config.OnAttempt, for a user of a client built elsewhere (apply
// records the attempts of its run in the journal). It is safe to call while
// the client is in use.
func (c *Client) SetObserver(fn func(AttemptInfo)) {
	if fn == nil {
		c.observer.Store(nil)
		return
	}
	c.observer.Store(&fn)
}

// observe tells Config.OnAttempt and the observer about one attempt.
func (c *Client) observe(cl call, attempt int, resp *http.Response, err error) {
	obs := c.observer.Load()
	if c.cfg.OnAttempt == nil && obs == nil {
		return
	}
	a := AttemptInfo{Time: c.cfg.Clock.Now(), Call: callKind(cl.path), Method: cl.method, Attempt: attempt}
	var ae *authError
	switch {
	case errors.As(err, &ae):
		a.Err = "no access token"
	case errors.Is(err, context.Canceled):
		a.Err = "canceled"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		a.Err = "timeout"
	case err != nil:
		a.Err = "transport error"
	case resp != nil:
		a.StatusCode = resp.StatusCode
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), a.Time); ok {
			a.RetryAfter = d
		}
	}
	if c.cfg.OnAttempt != nil {
		c.cfg.OnAttempt(a)
	}
	if obs != nil {
		(*obs)(a)
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
