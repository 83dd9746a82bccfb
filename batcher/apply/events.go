package apply

import (
	"context"

	"scimigrate/batcher/client"
	"scimigrate/batcher/journal"
)

// recordAttempts returns the client's OnAttempt observer: it writes the
// attempts the outcome report's timeline shows (every Bulk POST, every
// retry, and every call that got a 429, a 5xx or no answer) to the journal.
// Successful first tries of status polls and lookups are not recorded, so
// the table grows with the requests sent, not with the polling. A failure
// to record is logged, never fatal: the timeline is for people, the run
// does not depend on it.
func recordAttempts(j *journal.Journal, logf func(string, ...any)) func(client.AttemptInfo) {
	return func(a client.AttemptInfo) {
		ok := a.StatusCode >= 200 && a.StatusCode < 300
		if a.Call != client.CallBulk && !a.Retry() && ok {
			return
		}
		err := j.RecordEvent(context.Background(), journal.Event{At: a.Time, Kind: journal.EventAttempt, Call: a.Call, Method: a.Method,
			Attempt: a.Attempt, HTTPCode: a.StatusCode, RetryAfter: a.RetryAfter, Detail: a.Err})
		if err != nil {
			logf("recording a request event: %v", err)
		}
	}
}

// recordRun writes a run's start or end to the timeline.
func recordRun(j *journal.Journal, kind, detail string, logf func(string, ...any)) {
	if err := j.RecordEvent(context.Background(), journal.Event{Kind: kind, Detail: detail}); err != nil {
		logf("recording a run event: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
