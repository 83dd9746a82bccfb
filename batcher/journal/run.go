package journal

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"scimigrate/batcher"
)

// Op is an operation as the journal holds it.
type Op struct {
	Seq            int64
	BulkID         string
	Kind           string // KindOp, KindRefs, KindRetry
	Parent         int64  // for KindRefs and KindRetry
	ParentUUID     string // the parent's Concur UUID, once known
	ParentState    string
	Method         string
	Path           string
	EmployeeNumber string
	UserName       string
	Data           []byte
	Sources        []batcher.Source
	Split          bool
	State          string
	RequestID      int64
	Attempts       int
	Reconciled     bool // re-sent after its first request's outcome was lost
	UUID           string
	// FailedDeps are employees this operation references whose creation in
	// this run failed.
	FailedDeps []string
}

const opCols = `o.seq, o.bulk_id, o.kind, COALESCE(o.parent, 0), COALESCE(p.uuid, ''), COALESCE(p.state, ''),
	o.method, o.path, o.employee_number, o.user_name, o.data, o.sources, o.split, o.state,
	COALESCE(o.request_id, 0), o.attempts, o.reconciled, o.uuid,
	COALESCE((SELECT group_concat(f.employee_number, ',') FROM deps d JOIN ops f ON f.seq = d.dep
	          WHERE d.op = o.seq AND f.state = 'failed' AND f.seq <> COALESCE(o.parent, 0)), '')`

const opFrom = ` FROM ops o LEFT JOIN ops p ON p.seq = o.parent `

func scanOps(rows *sql.Rows) ([]Op, error) {
	defer rows.Close()
	var out []Op
	for rows.Next() {
		var (
			o       Op
			sources string
			failed  string
		)
		if err := rows.Scan(&o.Seq, &o.BulkID, &o.Kind, &o.Parent, &o.ParentUUID, &o.ParentState,
			&o.Method, &o.Path, &o.EmployeeNumber, &o.UserName, &o.Data, &sources, &o.Split, &o.State,
			&o.RequestID, &o.Attempts, &o.Reconciled, &o.UUID, &failed); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(sources), &o.Sources); err != nil {
			return nil, err
		}
		if failed != "" {
			o.FailedDeps = strings.Split(failed, ",")
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Operation converts to the batcher type.
func (o *Op) Operation() batcher.Operation {
	op := batcher.Operation{BulkID: o.BulkID, Method: o.Method, Path: o.Path, EmployeeNumber: o.EmployeeNumber,
		UserName: o.UserName, Data: o.Data, Sources: o.Sources}
	if o.Kind == KindRefs {
		op.Kind = batcher.KindRefs
	}
	return op
}

// NextPlanned returns the pending operations of the first scheduled
// request not sent yet, in body order, and whether every one of them is
// free to go (no creation it waits for is still outstanding). Scheduled
// requests go strictly in order: a later one is never sent before.
func (j *Journal) NextPlanned(ctx context.Context) (ops []Op, ready bool, err error) {
	var req sql.NullInt64
	if err := j.db.QueryRowContext(ctx, `SELECT min(plan_req) FROM ops WHERE state = 'pending' AND plan_req > 0`).Scan(&req); err != nil || !req.Valid {
		return nil, false, err
	}
	var blocked bool
	if err := j.db.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM ops WHERE plan_req = ? AND state = 'pending' AND waiting > 0)`, req.Int64).Scan(&blocked); err != nil {
		return nil, false, err
	}
	rows, err := j.db.QueryContext(ctx, `SELECT `+opCols+opFrom+`WHERE o.plan_req = ? AND o.state = 'pending' ORDER BY o.plan_pos`, req.Int64)
	if err != nil {
		return nil, false, err
	}
	ops, err = scanOps(rows)
	return ops, !blocked, err
}

// Unplan takes operations out of their scheduled request: they are sent
// as the dynamic queue allows (Ready).
func (j *Journal) Unplan(ctx context.Context, seqs ...int64) error {
	return j.tx(ctx, func(tx *sql.Tx) error {
		for _, s := range seqs {
			if _, err := tx.Exec(`UPDATE ops SET plan_req = 0 WHERE seq = ?`, s); err != nil {
				return err
			}
		}
		return nil
	})
}

// Ready returns up to limit pending operations whose dependencies are all
// resolved, in input order, starting after seq after.
func (j *Journal) Ready(ctx context.Context, after int64, limit int) ([]Op, error) {
	return j.ready(ctx, ``, after, limit)
}

// ReadyUnscheduled is Ready restricted to operations outside any scheduled
// request (extension retries, operations queued again after a lost
// outcome, operations the scheduler could not place).
func (j *Journal) ReadyUnscheduled(ctx context.Context, after int64, limit int) ([]Op, error) {
	return j.ready(ctx, `AND o.plan_req = 0 `, after, limit)
}

func (j *Journal) ready(ctx context.Context, cond string, after int64, limit int) ([]Op, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT `+opCols+opFrom+
		`WHERE o.state = 'pending' AND o.waiting = 0 `+cond+`AND o.seq > ? ORDER BY o.seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, j.wrap("reading the operations ready to send", err)
	}
	ops, err := scanOps(rows)
	return ops, j.wrap("reading the operations ready to send", err)
}

// Get returns one operation.
func (j *Journal) Get(ctx context.Context, seq int64) (*Op, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT `+opCols+opFrom+`WHERE o.seq = ?`, seq)
	if err != nil {
		return nil, j.wrap(fmt.Sprintf("reading operation %d", seq), err)
	}
	ops, err := scanOps(rows)
	if err != nil {
		return nil, j.wrap(fmt.Sprintf("reading operation %d", seq), err)
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("journal: no operation %d", seq)
	}
	return &ops[0], nil
}

// RequestOps returns the operations a request still carries (state sent).
func (j *Journal) RequestOps(ctx context.Context, reqID int64) ([]Op, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT `+opCols+opFrom+`WHERE o.request_id = ? AND o.state = 'sent' ORDER BY o.seq`, reqID)
	if err != nil {
		return nil, j.wrap(fmt.Sprintf("reading the operations of request %d", reqID), err)
	}
	ops, err := scanOps(rows)
	return ops, j.wrap(fmt.Sprintf("reading the operations of request %d", reqID), err)
}

// Counts summarises the queue.
type Counts struct {
	Ops       int // operations from the input
	Derived   int // reference patches and extension retries
	Ready     int // pending with no unresolved dependency
	Waiting   int // pending behind a creation not yet completed
	Sent      int
	Done      int
	Failed    int
	Requests  map[string]int // by state
	Outcomes  map[string]int // input operations by outcome
	Submitted int            // requests accepted by the service
}

// Counts reads the queue's counters.
func (j *Journal) Counts(ctx context.Context) (Counts, error) {
	c, err := j.counts(ctx)
	return c, j.wrap("counting operations", err)
}

func (j *Journal) counts(ctx context.Context) (Counts, error) {
	c := Counts{Requests: map[string]int{}, Outcomes: map[string]int{}}
	rows, err := j.db.QueryContext(ctx, `SELECT kind, state, waiting <= 0, outcome, count(*) FROM ops GROUP BY 1, 2, 3, 4`)
	if err != nil {
		return c, err
	}
	for rows.Next() {
		var (
			kind, state, outcome string
			free                 bool
			n                    int
		)
		if err := rows.Scan(&kind, &state, &free, &outcome, &n); err != nil {
			rows.Close()
			return c, err
		}
		if kind == KindOp {
			c.Ops += n
			if outcome != "" {
				c.Outcomes[outcome] += n
			}
		} else {
			c.Derived += n
		}
		switch {
		case state == StatePending && free:
			c.Ready += n
		case state == StatePending:
			c.Waiting += n
		case state == StateSent:
			c.Sent += n
		case state == StateDone:
			c.Done += n
		case state == StateFailed:
			c.Failed += n
		}
	}
	rows.Close()
	rows, err = j.db.QueryContext(ctx, `SELECT state, count(*), sum(provision_id <> '') FROM requests GROUP BY state`)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			s    string
			n, a int
		)
		if err := rows.Scan(&s, &n, &a); err != nil {
			return c, err
		}
		c.Requests[s] = n
		c.Submitted += a
	}
	return c, rows.Err()
}

// Prepared is a request about to be sent.
type Prepared struct {
	Body []byte
	Ops  []PreparedOp
}

// PreparedOp is one operation of a prepared request.
type PreparedOp struct {
	Seq  int64
	Path string // path as sent (reference patches learn it late)
	// DependencyNote, when set, records that references were left out
	// because the referenced employees' creation failed.
	DependencyNote string
}

func bodyHash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (j *Journal) prepare(tx *sql.Tx, p Prepared) (int64, error) {
	res, err := tx.Exec(`INSERT INTO requests(body_sha256, size, ops, state, prepared_at) VALUES(?, ?, ?, 'prepared', ?)`,
		bodyHash(p.Body), len(p.Body), len(p.Ops), j.stamp())
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	for _, o := range p.Ops {
		if _, err := tx.Exec(`UPDATE ops SET state = 'sent', request_id = ?, attempts = attempts + 1, path = ?, updated_at = ? WHERE seq = ?`,
			id, o.Path, j.stamp(), o.Seq); err != nil {
			return 0, err
		}
		if o.DependencyNote != "" {
			if err := upsertExt(tx, o.Seq, id, Ext{Name: ExtReferences, Result: "error", HTTPCode: 424,
				Messages: []Message{{Code: "DEPENDENCY_FAILED", Message: o.DependencyNote, Type: "error"}}}); err != nil {
				return 0, err
			}
		}
	}
	return id, nil
}

// Prepare commits a request and marks its operations sent, before the body
// leaves the process.
func (j *Journal) Prepare(ctx context.Context, p Prepared) (int64, error) {
	var id int64
	err := j.tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = j.prepare(tx, p)
		return err
	})
	return id, j.wrap("preparing "+describePrepared(p), err)
}

// describePrepared names a request about to be sent for an error message.
func describePrepared(p Prepared) string {
	if len(p.Ops) == 0 {
		return "an empty request"
	}
	return fmt.Sprintf("a request of %d operations (the first is operation %d)", len(p.Ops), p.Ops[0].Seq)
}

// PrepareSplit replaces a request the service refused as too large (413)
// by smaller ones, in one transaction.
func (j *Journal) PrepareSplit(ctx context.Context, old int64, parts []Prepared) ([]int64, error) {
	var ids []int64
	err := j.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE requests SET state = 'split', http_code = 413, completed_at = ? WHERE id = ?`, j.stamp(), old); err != nil {
			return err
		}
		for _, p := range parts {
			id, err := j.prepare(tx, p)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	return ids, j.wrap(fmt.Sprintf("splitting request %d", old), err)
}

// Accept records the provisionId of a request the service accepted.
func (j *Journal) Accept(ctx context.Context, reqID int64, provisionID string) error {
	_, err := j.db.ExecContext(ctx, `UPDATE requests SET state = 'accepted', provision_id = ?, accepted_at = ? WHERE id = ?`, provisionID, j.stamp(), reqID)
	return j.wrap(fmt.Sprintf("recording provision %s of request %d", provisionID, reqID), err)
}

// Unconfirm marks a request whose outcome is unknown.
func (j *Journal) Unconfirm(ctx context.Context, reqID int64, reason string) error {
	_, err := j.db.ExecContext(ctx, `UPDATE requests SET state = 'unconfirmed', error = ? WHERE id = ?`, reason, reqID)
	return j.wrap(fmt.Sprintf("marking request %d unconfirmed", reqID), err)
}

// Reject records a request the service refused as a whole: nothing in it
// was applied, and its operations fail with the given error.
func (j *Journal) Reject(ctx context.Context, reqID int64, httpCode int, code, message string) error {
	return j.wrap(fmt.Sprintf("recording that request %d was refused", reqID), j.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE requests SET state = 'rejected', http_code = ?, error = ?, completed_at = ? WHERE id = ?`,
			httpCode, strings.TrimSpace(code+" "+message), j.stamp(), reqID); err != nil {
			return err
		}
		seqs, err := sentOps(tx, reqID)
		if err != nil {
			return err
		}
		for _, s := range seqs {
			if err := j.finish(tx, s, reqID, Outcome{State: StateFailed, Outcome: OutcomeFailed, HTTPCode: httpCode, MsgCode: code, Message: message}); err != nil {
				return j.opErr(tx, s, reqID, "recording its failure", err)
			}
		}
		return nil
	}))
}

// Request is a journal request row.
type Request struct {
	ID          int64
	BodySHA256  string
	Size        int
	Ops         int
	State       string
	ProvisionID string
	HTTPCode    int
	Error       string
	PreparedAt  string
	AcceptedAt  string
	CompletedAt string
}

// Requests lists requests in the given states (all when none given).
func (j *Journal) Requests(ctx context.Context, states ...string) ([]Request, error) {
	r, err := j.requests(ctx, states...)
	return r, j.wrap("reading requests", err)
}

func (j *Journal) requests(ctx context.Context, states ...string) ([]Request, error) {
	q := `SELECT id, body_sha256, size, ops, state, provision_id, http_code, error, prepared_at, accepted_at, completed_at FROM requests`
	var args []any
	if len(states) > 0 {
		q += ` WHERE state IN (?` + strings.Repeat(",?", len(states)-1) + `)`
		for _, s := range states {
			args = append(args, s)
		}
	}
	rows, err := j.db.QueryContext(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		var r Request
		if err := rows.Scan(&r.ID, &r.BodySHA256, &r.Size, &r.Ops, &r.State, &r.ProvisionID, &r.HTTPCode, &r.Error, &r.PreparedAt, &r.AcceptedAt, &r.CompletedAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Message is a Concur message.
type Message struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	SchemaPath string `json:"schemaPath,omitempty"`
	Type       string `json:"type,omitempty"`
}

// ExtReferences names the pseudo-extension recording references that could
// not be applied.
const ExtReferences = "references"

// ExtReconciliation names the pseudo-extension recording a converging PATCH
// (KindConverge) that failed as a whole.
const ExtReconciliation = "reconciliation"

// Ext is one extension's outcome.
type Ext struct {
	Name     string
	Result   string // success | no-op | error | not-processed
	Success  bool
	HTTPCode int
	Messages []Message
}

// NewOp is a derived operation queued with an outcome.
type NewOp struct {
	Kind   string // KindRetry (default) or KindConverge
	BulkID string
	Method string
	Path   string
	Data   []byte
}

// Outcome is what the status said about one operation.
type Outcome struct {
	BulkID     string
	State      string // StateDone or StateFailed
	Outcome    string // OutcomeSuccess, OutcomePartial, OutcomeFailed, OutcomeReconciled
	UUID       string
	HTTPCode   int
	MsgCode    string
	Message    string
	SchemaPath string
	Extensions []Ext
	Retries    []NewOp // extension retries to queue
}

func upsertExt(tx *sql.Tx, target, reqID int64, e Ext) error {
	msgs, _ := json.Marshal(e.Messages)
	if e.Messages == nil {
		msgs = []byte("[]")
	}
	_, err := tx.Exec(`INSERT INTO extensions(op, name, request_id, result, success, http_code, messages) VALUES(?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(op, name) DO UPDATE SET request_id = excluded.request_id, result = excluded.result, success = excluded.success,
		http_code = excluded.http_code, messages = excluded.messages`, target, e.Name, reqID, e.Result, e.Success, e.HTTPCode, string(msgs))
	return err
}

// finish records an operation's final state and releases the operations
// waiting for it. It does nothing when the operation is already final.
func (j *Journal) finish(tx *sql.Tx, seq, reqID int64, o Outcome) error {
	var kind, state string
	var parent int64
	if err := tx.QueryRow(`SELECT kind, state, COALESCE(parent, 0) FROM ops WHERE seq = ?`, seq).Scan(&kind, &state, &parent); err != nil {
		return err
	}
	if state == StateDone || state == StateFailed {
		return nil
	}
	if _, err := tx.Exec(`UPDATE ops SET state = ?, outcome = ?, uuid = CASE WHEN ? <> '' THEN ? ELSE uuid END, http_code = ?, msg_code = ?, message = ?, schema_path = ?, updated_at = ? WHERE seq = ?`,
		o.State, o.Outcome, o.UUID, o.UUID, o.HTTPCode, o.MsgCode, o.Message, o.SchemaPath, j.stamp(), seq); err != nil {
		return err
	}
	target := seq
	if kind != KindOp && parent != 0 {
		target = parent
	}
	failedExt := false
	for _, e := range o.Extensions {
		if err := upsertExt(tx, target, reqID, e); err != nil {
			return err
		}
		failedExt = failedExt || !e.Success
	}
	if kind == KindRefs {
		if o.State == StateFailed && !failedExt {
			if err := upsertExt(tx, target, reqID, Ext{Name: ExtReferences, Result: "error", HTTPCode: o.HTTPCode,
				Messages: []Message{{Code: o.MsgCode, Message: o.Message, SchemaPath: o.SchemaPath, Type: "error"}}}); err != nil {
				return err
			}
		} else if o.State == StateDone {
			if _, err := tx.Exec(`DELETE FROM extensions WHERE op = ? AND name = ?`, target, ExtReferences); err != nil {
				return err
			}
		}
	}
	if kind != KindOp || o.State == StateDone {
		if err := j.recompute(tx, target); err != nil {
			return err
		}
	}
	if kind == KindConverge && o.State == StateFailed && !failedExt {
		if err := upsertExt(tx, target, reqID, Ext{Name: ExtReconciliation, Result: "error", HTTPCode: o.HTTPCode,
			Messages: []Message{{Code: o.MsgCode, Message: o.Message, SchemaPath: o.SchemaPath, Type: "error"}}}); err != nil {
			return err
		}
	}
	for _, r := range o.Retries {
		k := r.Kind
		if k == "" {
			k = KindRetry
		}
		if _, err := tx.Exec(`INSERT INTO ops(bulk_id, kind, parent, method, path, employee_number, user_name, data, refs, sources, updated_at)
			SELECT ?, ?, seq, ?, ?, employee_number, user_name, ?, '[]', sources, ? FROM ops WHERE seq = ?`,
			r.BulkID, k, r.Method, r.Path, r.Data, j.stamp(), target); err != nil {
			return fmt.Errorf("queueing %s %s: %w", k, r.BulkID, err)
		}
	}
	_, err := tx.Exec(`UPDATE ops SET waiting = waiting - 1 WHERE seq IN (SELECT op FROM deps WHERE dep = ?)`, seq)
	return err
}

// recompute derives a completed operation's outcome from its extensions.
func (j *Journal) recompute(tx *sql.Tx, seq int64) error {
	_, err := tx.Exec(`UPDATE ops SET outcome = CASE
		WHEN EXISTS (SELECT 1 FROM extensions e WHERE e.op = ops.seq AND e.success = 0) THEN 'partial'
		WHEN outcome = 'reconciled' THEN outcome
		ELSE 'success' END WHERE seq = ? AND state = 'done'`, seq)
	return err
}

// Record commits the outcomes read from one status page. Operations are
// matched by bulkId among those the request still carries; outcomes already
// recorded are skipped, so a page can be recorded twice.
func (j *Journal) Record(ctx context.Context, reqID int64, outs []Outcome) error {
	return j.wrap(fmt.Sprintf("recording outcomes of request %d", reqID), j.tx(ctx, func(tx *sql.Tx) error {
		for _, o := range outs {
			var seq int64
			err := tx.QueryRow(`SELECT seq FROM ops WHERE request_id = ? AND bulk_id = ? AND state = 'sent'`, reqID, o.BulkID).Scan(&seq)
			if err == sql.ErrNoRows {
				continue
			}
			if err != nil {
				return fmt.Errorf("operation %s: %w", o.BulkID, err)
			}
			if err := j.finish(tx, seq, reqID, o); err != nil {
				return j.opErr(tx, seq, reqID, "recording its outcome", err)
			}
		}
		return nil
	}))
}

// Fail records a final failure for a pending operation that cannot be sent.
func (j *Journal) Fail(ctx context.Context, seq int64, o Outcome) error {
	what := fmt.Sprintf("operation %d", seq)
	if o.BulkID != "" {
		what = fmt.Sprintf("operation %s", o.BulkID)
	}
	return j.wrap("recording that "+what+" cannot be sent", j.tx(ctx, func(tx *sql.Tx) error {
		if err := j.finish(tx, seq, 0, o); err != nil {
			return j.opErr(tx, seq, 0, "recording its failure", err)
		}
		return nil
	}))
}

// Complete closes a request whose status has been read to the end. When
// operations are still unaccounted for, the request becomes unconfirmed
// instead and lost reports how many.
func (j *Journal) Complete(ctx context.Context, reqID int64) (lost int, err error) {
	err = j.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRow(`SELECT count(*) FROM ops WHERE request_id = ? AND state = 'sent'`, reqID).Scan(&lost); err != nil {
			return err
		}
		state, msg := ReqCompleted, ""
		if lost > 0 {
			state, msg = ReqUnconfirmed, fmt.Sprintf("%d operations missing from the provision status", lost)
		}
		_, err := tx.Exec(`UPDATE requests SET state = ?, error = ?, completed_at = ? WHERE id = ?`, state, msg, j.stamp(), reqID)
		return err
	})
	return lost, j.wrap(fmt.Sprintf("completing request %d", reqID), err)
}

// sentOps returns the operations of a request that are still "sent".
func sentOps(tx *sql.Tx, reqID int64) ([]int64, error) {
	rows, err := tx.Query(`SELECT seq FROM ops WHERE request_id = ? AND state = 'sent'`, reqID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var seqs []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		seqs = append(seqs, s)
	}
	return seqs, rows.Err()
}
