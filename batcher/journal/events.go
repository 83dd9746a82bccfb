package journal

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// The events table is the run's request timeline: the HTTP attempts worth
// showing (every Bulk POST, every retry, every 429, 5xx or call without an
// answer) and when each run started and ended. It is for the outcome
// report; nothing in a run depends on it. It is created on first use, so a
// journal written before it existed still opens. Events older than the
// current import belong to an earlier input and are not read back.
const eventsSchema = `
CREATE TABLE IF NOT EXISTS events (
  id             INTEGER PRIMARY KEY,
  at             TEXT NOT NULL,
  kind           TEXT NOT NULL,
  call           TEXT NOT NULL DEFAULT '',
  method         TEXT NOT NULL DEFAULT '',
  attempt        INTEGER NOT NULL DEFAULT 0,
  http_code      INTEGER NOT NULL DEFAULT 0,
  retry_after_ms INTEGER NOT NULL DEFAULT 0,
  detail         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_at ON events(at);
`

// eventTime has a fixed width, so that events sort by time as text.
const eventTime = "2006-01-02T15:04:05.000000000Z"

// Event kinds.
const (
	EventAttempt  = "attempt"   // one HTTP attempt
	EventRunStart = "run-start" // a run started (Detail: "new" or "resumed")
	EventRunEnd   = "run-end"   // a run ended (Detail: "" or the fatal error)
)

// Event is one entry of the request timeline.
type Event struct {
	At         time.Time
	Kind       string
	Call       string // attempts: bulk, status, lookup, other
	Method     string
	Attempt    int // attempts: 1 for a first try
	HTTPCode   int // attempts: 0 when no answer came
	RetryAfter time.Duration
	Detail     string // no credential is ever written here
}

// RecordEvent appends an event (At defaults to now). It commits on its own.
func (j *Journal) RecordEvent(ctx context.Context, e Event) error {
	t := e.At
	if t.IsZero() {
		t = j.now()
	}
	at := t.UTC().Format(eventTime)
	if _, err := j.db.ExecContext(ctx, eventsSchema); err != nil {
		return err
	}
	_, err := j.db.ExecContext(ctx, `INSERT INTO events(at, kind, call, method, attempt, http_code, retry_after_ms, detail) VALUES(?, ?, ?, ?, ?, ?, ?, ?)`,
		at, e.Kind, e.Call, e.Method, e.Attempt, e.HTTPCode, e.RetryAfter.Milliseconds(), e.Detail)
	return err
}

// EachEvent calls fn for the events of the current import, oldest first.
// fn must not use the journal.
func (j *Journal) EachEvent(ctx context.Context, fn func(Event) error) error {
	if _, err := j.db.ExecContext(ctx, eventsSchema); err != nil {
		return err
	}
	imported, _, err := j.Meta("imported_at")
	if err != nil {
		return err
	}
	since := ""
	if t, err := time.Parse(time.RFC3339Nano, imported); err == nil {
		since = t.UTC().Format(eventTime)
	}
	rows, err := j.db.QueryContext(ctx, `SELECT at, kind, call, method, attempt, http_code, retry_after_ms, detail FROM events WHERE at >= ? ORDER BY at, id`, since)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e  Event
			at string
			ms int64
		)
		if err := rows.Scan(&at, &e.Kind, &e.Call, &e.Method, &e.Attempt, &e.HTTPCode, &ms, &e.Detail); err != nil {
			return err
		}
		e.At, _ = time.Parse(eventTime, at)
		e.RetryAfter = time.Duration(ms) * time.Millisecond
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// RunInfo is what a report says about the run besides its operations: the
// inputs with their SHA-256, the target, and the plan it applied.
type RunInfo struct {
	Tool       string      `json:"tool,omitempty"`
	Inputs     []InputHash `json:"inputs,omitempty"`
	CompanyID  string      `json:"companyId,omitempty"`
	Plan       string      `json:"plan,omitempty"` // saved plan directory applied, if any
	PlanSHA256 string      `json:"planSha256,omitempty"`
}

// InputHash is one input file and the SHA-256 of its content.
type InputHash struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

const runInfoKey = "run_info"

// SetRunInfo stores the run's description (a later call replaces it).
func (j *Journal) SetRunInfo(ri RunInfo) error {
	b, err := json.Marshal(ri)
	if err != nil {
		return err
	}
	return j.SetMeta(runInfoKey, string(b))
}

// RunInfo reads the run's description; ok is false when none was stored.
func (j *Journal) RunInfo() (ri RunInfo, ok bool, err error) {
	v, ok, err := j.Meta(runInfoKey)
	if err != nil || !ok {
		return ri, false, err
	}
	if err := json.Unmarshal([]byte(v), &ri); err != nil {
		return ri, false, errors.New("journal: run info: " + err.Error())
	}
	return ri, true, nil
}

// AttributeChange counts the input operations that set or remove one
// attribute, by outcome.
type AttributeChange struct {
	Path    string // the PATCH path, or the attribute a path-less PATCH value names
	Outcome string // the operation's outcome ("" while unfinished)
	Ops     int
}

// AttributeChanges counts, for the PATCH operations of the input (updates,
// deactivations, ID changes), the operations touching each attribute, by
// outcome. Creations are not broken down: a creation sets the whole user.
func (j *Journal) AttributeChanges(ctx context.Context) ([]AttributeChange, error) {
	rows, err := j.db.QueryContext(ctx, `
		WITH touched AS (
		  SELECT DISTINCT o.seq, o.outcome, json_extract(p.value, '$.path') AS path
		    FROM ops o, json_each(o.data, '$.Operations') p
		   WHERE o.kind = 'op' AND o.method = 'PATCH' AND json_valid(o.data)
		     AND json_extract(p.value, '$.path') IS NOT NULL
		  UNION
		  SELECT DISTINCT o.seq, o.outcome, v.key
		    FROM ops o, json_each(o.data, '$.Operations') p, json_each(p.value, '$.value') v
		   WHERE o.kind = 'op' AND o.method = 'PATCH' AND json_valid(o.data)
		     AND json_extract(p.value, '$.path') IS NULL AND json_type(p.value, '$.value') = 'object'
		)
		SELECT path, outcome, count(*) FROM touched GROUP BY path, outcome ORDER BY path, outcome`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AttributeChange
	for rows.Next() {
		var a AttributeChange
		if err := rows.Scan(&a.Path, &a.Outcome, &a.Ops); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
