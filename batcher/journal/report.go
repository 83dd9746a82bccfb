package journal

import (
	"context"
	"encoding/json"

	"scimigrate/batcher"
)

// Row is an input operation with its final state, for reports.
type Row struct {
	Seq            int64
	BulkID         string
	Method         string
	EmployeeNumber string
	UserName       string
	UUID           string
	State          string
	Outcome        string
	HTTPCode       int
	MsgCode        string
	Message        string
	SchemaPath     string
	Sources        []batcher.Source
	// Failed lists the extensions that did not succeed (including the
	// "references" pseudo-extension), after any retries.
	Failed []Ext
}

type extJSON struct {
	Name     string    `json:"name"`
	Result   string    `json:"result"`
	Success  int       `json:"success"`
	Code     int       `json:"code"`
	Messages []Message `json:"messages"`
}

// Each calls fn for every input operation in input order (onlyProblems:
// only those not fully successful). fn must not use the journal.
func (j *Journal) Each(ctx context.Context, onlyProblems bool, fn func(Row) error) error {
	q := `SELECT o.seq, o.bulk_id, o.method, o.employee_number, o.user_name, o.uuid, o.state, o.outcome, o.http_code,
		o.msg_code, o.message, o.schema_path, o.sources,
		COALESCE((SELECT json_group_array(json_object('name', e.name, 'result', e.result, 'success', e.success,
			'code', e.http_code, 'messages', json(e.messages))) FROM extensions e WHERE e.op = o.seq AND e.success = 0), '[]')
		FROM ops o WHERE o.kind = 'op'`
	if onlyProblems {
		q += ` AND (o.state <> 'done' OR o.outcome = 'partial')`
	}
	rows, err := j.db.QueryContext(ctx, q+` ORDER BY o.seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r             Row
			sources, exts string
		)
		if err := rows.Scan(&r.Seq, &r.BulkID, &r.Method, &r.EmployeeNumber, &r.UserName, &r.UUID, &r.State, &r.Outcome,
			&r.HTTPCode, &r.MsgCode, &r.Message, &r.SchemaPath, &sources, &exts); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(sources), &r.Sources); err != nil {
			return err
		}
		var ej []extJSON
		if err := json.Unmarshal([]byte(exts), &ej); err != nil {
			return err
		}
		for _, e := range ej {
			r.Failed = append(r.Failed, Ext{Name: e.Name, Result: e.Result, Success: e.Success != 0, HTTPCode: e.Code, Messages: e.Messages})
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// HasWaiting reports whether a pending operation waits for a creation.
func (j *Journal) HasWaiting(ctx context.Context) (bool, error) {
	var b bool
	err := j.db.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM ops WHERE state = 'pending' AND waiting > 0)`).Scan(&b)
	return b, err
}

// FailWaiting fails operations still waiting when nothing is left that
// could release them. It returns how many.
func (j *Journal) FailWaiting(ctx context.Context) (int, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT seq FROM ops WHERE state = 'pending' AND waiting > 0`)
	if err != nil {
		return 0, err
	}
	var seqs []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return 0, err
		}
		seqs = append(seqs, s)
	}
	rows.Close()
	for _, s := range seqs {
		if err := j.Fail(ctx, s, Outcome{State: StateFailed, Outcome: OutcomeFailed, MsgCode: "DEPENDENCY_UNRESOLVED",
			Message: "a referenced employee's creation never completed"}); err != nil {
			return 0, err
		}
	}
	return len(seqs), nil
}

// Applied is an input operation the service completed (state done: the
// identity was applied).
type Applied struct {
	Method         string
	Path           string // as sent: "/Users" or "/Users/{id}"
	EmployeeNumber string
	UUID           string // the id the status reported, "" if none
	Data           []byte
	At             string // when the outcome was recorded (RFC 3339)
}

// EachApplied calls fn for every completed input operation, in input
// order. fn must not use the journal.
func (j *Journal) EachApplied(ctx context.Context, fn func(Applied) error) error {
	rows, err := j.db.QueryContext(ctx, `SELECT method, path, employee_number, uuid, data, updated_at FROM ops
		WHERE kind = 'op' AND state = 'done' ORDER BY seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a Applied
		if err := rows.Scan(&a.Method, &a.Path, &a.EmployeeNumber, &a.UUID, &a.Data, &a.At); err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return rows.Err()
}
