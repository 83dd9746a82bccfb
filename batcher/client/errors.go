package client

import (
	"errors"
	"fmt"
	"time"
)

// GaveUpError is returned when a call's retry bound is spent: MaxAttempts
// tries, MaxElapsed of retrying, or (for Bulk POSTs) MaxUnknownOutcomes
// requests in a row without a usable answer. Err is the last failure.
//
// It is the client's word that trying again now is pointless. The apply
// engine treats it as the end of the run: the operations concerned stay
// resumable in the journal (nothing says the service did not act on them)
// and the run ends with a non-zero exit. Unwrap gives the last failure (an
// *HTTPError, a *TokenError or a transport error), never an
// *UnknownOutcomeError, so a caller that reconciles unknown outcomes does
// not loop on it.
type GaveUpError struct {
	Method, Path string
	Attempts     int           // tries made (Bulk: requests without a usable answer)
	Elapsed      time.Duration // time since the first try
	Reason       string        // which bound was reached
	Err          error
}

func (e *GaveUpError) Error() string {
	// Err names the method and path already.
	return fmt.Sprintf("gave up after %d attempts in %s (%s): %v",
		e.Attempts, e.Elapsed.Round(time.Millisecond), e.Reason, e.Err)
}

func (e *GaveUpError) Unwrap() error { return e.Err }

// IsGaveUp reports whether err's chain holds a *GaveUpError.
func IsGaveUp(err error) bool {
	var g *GaveUpError
	return errors.As(err, &g)
}

// RedirectError is a redirect the client refused to follow: to another
// origin with credentials or a body, or one that would turn a POST into a
// GET. It is never retried and never an unknown outcome (the service
// answered).
type RedirectError struct {
	Method   string
	From, To string // origins (scheme://host:port) or URLs without query
	Status   int
	Reason   string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("refused a redirect (HTTP %d) of %s from %s to %s: %s", e.Status, e.Method, e.From, e.To, e.Reason)
}

// redactedError carries the redacted text of an error whose message held a
// secret; the original is dropped so nothing can reach it.
type redactedError struct{ msg string }

func (e *redactedError) Error() string { return e.msg }
