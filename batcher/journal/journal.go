// Package journal is the durable record of an apply run, kept in SQLite
// (modernc.org/sqlite, WAL, synchronous=FULL, file mode 0600).
//
// It is also the run's queue: operations are imported once, and every step
// afterwards is a committed transition, so a run killed at any point resumes
// from what the journal says:
//
//	ops.state     pending → sent → done | failed
//	requests.state prepared → accepted → completed
//	                        ↘ unconfirmed → reconciled     (outcome unknown)
//	                        ↘ rejected | split              (refused; nothing applied)
//
// A request row (with the SHA-256 of its body) is committed before the body
// is sent; its provisionId is committed when the 202 arrives; operation and
// extension outcomes are committed page by page as the status is read. A
// request still "prepared" when a run starts may or may not have reached the
// service and is treated as unconfirmed. No token or credential is ever
// written here.
//
// One run at a time: Open holds an exclusive lock for the run (lock.go);
// OpenExisting, for status and reports, does not. Errors name the journal
// and the operation or request they are about.
package journal

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"scimigrate/batcher"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// SchemaVersion is stored in meta and checked on open.
const SchemaVersion = "2"

const schema = `
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ops (
  seq             INTEGER PRIMARY KEY,
  bulk_id         TEXT NOT NULL UNIQUE,
  kind            TEXT NOT NULL,
  parent          INTEGER,
  method          TEXT NOT NULL,
  path            TEXT NOT NULL,
  employee_number TEXT NOT NULL DEFAULT '',
  user_name       TEXT NOT NULL DEFAULT '',
  data            BLOB NOT NULL,
  refs            TEXT NOT NULL DEFAULT '[]',
  sources         TEXT NOT NULL DEFAULT '[]',
  split           INTEGER NOT NULL DEFAULT 0,
  waiting         INTEGER NOT NULL DEFAULT 0,
  state           TEXT NOT NULL DEFAULT 'pending',
  request_id      INTEGER,
  attempts        INTEGER NOT NULL DEFAULT 0,
  reconciled      INTEGER NOT NULL DEFAULT 0,
  uuid            TEXT NOT NULL DEFAULT '',
  outcome         TEXT NOT NULL DEFAULT '',
  http_code       INTEGER NOT NULL DEFAULT 0,
  msg_code        TEXT NOT NULL DEFAULT '',
  message         TEXT NOT NULL DEFAULT '',
  schema_path     TEXT NOT NULL DEFAULT '',
  dep_failed      TEXT NOT NULL DEFAULT '',
  updated_at      TEXT NOT NULL DEFAULT '',
  plan_req        INTEGER NOT NULL DEFAULT 0,
  plan_pos        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ops_planned ON ops(state, plan_req, plan_pos);
CREATE INDEX IF NOT EXISTS ops_ready   ON ops(state, waiting, seq);
CREATE INDEX IF NOT EXISTS ops_request ON ops(request_id, bulk_id);
CREATE INDEX IF NOT EXISTS ops_parent  ON ops(parent);
CREATE TABLE IF NOT EXISTS deps (
  op  INTEGER NOT NULL,
  dep INTEGER NOT NULL,
  PRIMARY KEY (op, dep)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deps_dep ON deps(dep, op);
CREATE TABLE IF NOT EXISTS requests (
  id           INTEGER PRIMARY KEY,
  body_sha256  TEXT NOT NULL,
  size         INTEGER NOT NULL,
  ops          INTEGER NOT NULL,
  state        TEXT NOT NULL,
  provision_id TEXT NOT NULL DEFAULT '',
  http_code    INTEGER NOT NULL DEFAULT 0,
  error        TEXT NOT NULL DEFAULT '',
  prepared_at  TEXT NOT NULL,
  accepted_at  TEXT NOT NULL DEFAULT '',
  completed_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS requests_state ON requests(state);
CREATE TABLE IF NOT EXISTS extensions (
  op         INTEGER NOT NULL,
  name       TEXT NOT NULL,
  request_id INTEGER NOT NULL,
  result     TEXT NOT NULL,
  success    INTEGER NOT NULL,
  http_code  INTEGER NOT NULL DEFAULT 0,
  messages   TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (op, name)
) WITHOUT ROWID;
`

// Operation states.
const (
	StatePending = "pending"
	StateSent    = "sent"
	StateDone    = "done"   // completed; the identity exists (extensions may have failed)
	StateFailed  = "failed" // completed without an identity, or never sendable
)

// Operation kinds.
const (
	KindOp    = "op"    // an operation from the input
	KindRefs  = "refs"  // PATCH adding the references of a split creation
	KindRetry = "retry" // PATCH re-sending a spend/travel extension that failed transiently
	// KindConverge is a PATCH bringing an existing user (a creation whose
	// outcome was lost, or refused because the user exists) to what its
	// creation carried: only the difference from the user's live state.
	KindConverge = "converge"
)

// Request states.
const (
	ReqPrepared    = "prepared"
	ReqAccepted    = "accepted"
	ReqCompleted   = "completed"
	ReqUnconfirmed = "unconfirmed"
	ReqReconciled  = "reconciled"
	ReqRejected    = "rejected"
	ReqSplit       = "split"
)

// Outcomes recorded on operations.
const (
	OutcomeSuccess    = "success"    // every extension succeeded or had nothing to do
	OutcomePartial    = "partial"    // identity applied, an extension failed
	OutcomeFailed     = "failed"     // not applied
	OutcomeReconciled = "reconciled" // outcome lost; the employee was found afterwards
)

// Journal is an open journal file.
type Journal struct {
	db   *sql.DB
	path string
	now  func() time.Time
	lock *runLock // held by a run (Open), nil for readers (OpenExisting)
}

// Open opens or creates the journal at path (mode 0600) for a run: it
// holds the journal's run lock until Close (see LockedError), so a second
// run on the same journal, in this process or another, is refused at once.
func Open(path string) (*Journal, error) {
	l, err := lock(path)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		l.release()
		return nil, fmt.Errorf("journal: %w", err)
	}
	f.Close()
	j, err := open(path)
	if err != nil {
		l.release()
		return nil, err
	}
	j.lock = l
	return j, nil
}

// OpenExisting opens a journal that must already exist, without the run
// lock: for status, reports and inspection while a run may hold it.
func OpenExisting(path string) (*Journal, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return open(path)
}

func open(path string) (*Journal, error) {
	// The name is a URI path: escape what URI parsing would read as a
	// query, a fragment or an escape.
	name := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	dsn := "file:" + name + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	j := &Journal{db: db, path: path, now: time.Now}
	v, ok, err := j.Meta("schema_version")
	if err != nil {
		db.Close()
		return nil, err
	}
	if ok && v != SchemaVersion {
		db.Close()
		return nil, fmt.Errorf("journal %s has schema version %s; this program writes %s", path, v, SchemaVersion)
	}
	if !ok {
		if err := j.SetMeta("schema_version", SchemaVersion); err != nil {
			db.Close()
			return nil, err
		}
	}
	return j, nil
}

// Close closes the journal and releases the run lock.
func (j *Journal) Close() error {
	err := j.db.Close()
	return errors.Join(err, j.lock.release())
}

// Path returns the file name.
func (j *Journal) Path() string { return j.path }

func (j *Journal) stamp() string { return j.now().UTC().Format(time.RFC3339Nano) }

// Meta reads a meta value.
func (j *Journal) Meta(key string) (string, bool, error) {
	var v string
	err := j.db.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, j.wrap("reading "+key, err)
}

// SetMeta writes a meta value.
func (j *Journal) SetMeta(key, value string) error {
	_, err := j.db.Exec(`INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return j.wrap("writing "+key, err)
}

func (j *Journal) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Imported reports whether the journal holds a complete import, and the
// input hash it was made from.
func (j *Journal) Imported() (hash string, ok bool, err error) {
	if _, ok, err := j.Meta("imported_at"); err != nil || !ok {
		return "", false, err
	}
	return j.Meta("input_hash")
}

// Hasher computes the input hash of a sequence of operations: SHA-256 over
// every field of every operation, in order.
type Hasher struct{ h hashState }

type hashState interface {
	Write([]byte) (int, error)
	Sum([]byte) []byte
}

// NewHasher starts an input hash.
func NewHasher() *Hasher { return &Hasher{h: sha256.New()} }

// Add hashes one operation.
func (h *Hasher) Add(op *batcher.Operation) {
	w := func(s string) { fmt.Fprintf(h.h, "%d:%s;", len(s), s) }
	w(op.BulkID)
	w(op.Method)
	w(op.Path)
	w(op.EmployeeNumber)
	w(op.UserName)
	w(string(op.Data))
	w(strings.Join(op.Refs, "\x00"))
	w(op.Kind)
	w(op.Parent)
	w(fmt.Sprint(op.Request))
	for _, s := range op.Sources {
		w(fmt.Sprintf("%s\x00%d\x00%s", s.File, s.Line, s.Record))
	}
	w("|")
}

// Sum returns the hex digest.
func (h *Hasher) Sum() string { return hex.EncodeToString(h.h.Sum(nil)) }

// Import stores operations. It runs in one transaction: a run killed while
// importing leaves no import behind.
type Import struct {
	j    *Journal
	tx   *sql.Tx
	stmt *sql.Stmt
	hash *Hasher
	n    int
	meta map[string]string
	// scheduled: the operations came with their requests (a plan).
	scheduled bool
}

// MetaPlanID is the meta key of the saved plan an import came from.
const MetaPlanID = "plan_id"

// SetMeta records a meta value with the import (committed with it).
func (im *Import) SetMeta(key, value string) {
	if im.meta == nil {
		im.meta = map[string]string{}
	}
	im.meta[key] = value
}

// ImportedPlan returns the ID of the saved plan the journal's import came
// from ("" when it holds no import, or one not made from a saved plan).
func (j *Journal) ImportedPlan() (string, error) {
	if _, ok, err := j.Imported(); err != nil || !ok {
		return "", err
	}
	id, _, err := j.Meta(MetaPlanID)
	return id, err
}

// BeginImport empties the journal and starts an import.
func (j *Journal) BeginImport(ctx context.Context) (*Import, error) {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, j.wrap("starting the import", err)
	}
	for _, t := range []string{"ops", "deps", "requests", "extensions"} {
		if _, err := tx.Exec(`DELETE FROM ` + t); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	if _, err := tx.Exec(`DELETE FROM meta WHERE key <> 'schema_version'`); err != nil {
		tx.Rollback()
		return nil, err
	}
	stmt, err := tx.Prepare(`INSERT INTO ops(seq, bulk_id, kind, parent, method, path, employee_number, user_name, data, refs, sources, plan_req, plan_pos, updated_at)
		VALUES(?, ?, ?, (SELECT seq FROM ops WHERE bulk_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	return &Import{j: j, tx: tx, stmt: stmt, hash: NewHasher()}, nil
}

// Add stores one operation. Operations are either all scheduled already
// (Request set by batcher.Order, as a plan holds them: they are sent in
// those requests, in this order) or none is (Commit schedules them).
func (im *Import) Add(op *batcher.Operation) error {
	im.hash.Add(op)
	im.n++
	switch {
	case im.n == 1:
		im.scheduled = op.Request > 0
	case im.scheduled != (op.Request > 0):
		return fmt.Errorf("operation %s (%s): operations are either all scheduled in requests or none is", op.BulkID, op.SourceString())
	}
	kind := KindOp
	if op.Kind == batcher.KindRefs {
		kind = KindRefs
		if op.Parent == "" {
			return fmt.Errorf("reference patch %s (%s) names no parent creation", op.BulkID, op.SourceString())
		}
	}
	refs, _ := json.Marshal(nonNil(op.References()))
	srcs, _ := json.Marshal(op.Sources)
	if op.Sources == nil {
		srcs = []byte("[]")
	}
	_, err := im.stmt.Exec(im.n, op.BulkID, kind, op.Parent, op.Method, op.Path, op.EmployeeNumber, op.UserName, []byte(op.Data), string(refs), string(srcs),
		op.Request, im.n, im.j.stamp())
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return fmt.Errorf("duplicate bulkId %q (%s): bulkIds must be unique within a run", op.BulkID, op.SourceString())
	}
	if err != nil {
		return im.j.wrap(fmt.Sprintf("importing operation %s (%s)", op.BulkID, op.SourceString()), err)
	}
	return nil
}

// Hash returns the input hash of what was added so far.
func (im *Import) Hash() string { return im.hash.Sum() }

// Rollback abandons the import.
func (im *Import) Rollback() { im.stmt.Close(); im.tx.Rollback() }

// Commit schedules the operations unless they came scheduled (batcher.Order:
// creations in reference cycles split into identity + reference patch,
// waves, requests within lim), records which creations each operation waits
// for, and commits the import.
func (im *Import) Commit(lim batcher.Limits) error {
	defer im.stmt.Close()
	if !im.scheduled {
		if err := schedule(im.tx, lim, im.j.stamp()); err != nil {
			im.tx.Rollback()
			return err
		}
	}
	if err := dependencies(im.tx); err != nil {
		im.tx.Rollback()
		return im.j.wrap("ordering the imported operations", err)
	}
	meta := map[string]string{"input_hash": im.hash.Sum(), "op_count": fmt.Sprint(im.n), "imported_at": im.j.stamp()}
	for k, v := range im.meta {
		meta[k] = v
	}
	for k, v := range meta {
		if _, err := im.tx.Exec(`INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
			im.tx.Rollback()
			return im.j.wrap("recording the import", err)
		}
	}
	return im.j.wrap(fmt.Sprintf("committing the import of %d operations", im.n), im.tx.Commit())
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// schedule runs batcher.Order over the imported operations: only small
// per-operation facts (method, employee number, references) are held in
// memory, and each operation's data is read once to measure it. Split
// creations get their identity-only data; their reference patches are
// added after the input operations. Every scheduled operation gets its
// request (plan_req) and its place in the sending order (plan_pos).
func schedule(tx *sql.Tx, lim batcher.Limits, stamp string) error {
	nodes, seqs, err := readNodes(tx, `WHERE kind = 'op'`)
	if err != nil {
		return err
	}
	get, err := tx.Prepare(`SELECT bulk_id, method, path, employee_number, user_name, data, refs, sources FROM ops WHERE seq = ?`)
	if err != nil {
		return err
	}
	defer get.Close()
	load := func(i int) (batcher.Operation, error) {
		var (
			op            batcher.Operation
			data          []byte
			refs, sources string
		)
		if err := get.QueryRow(seqs[i]).Scan(&op.BulkID, &op.Method, &op.Path, &op.EmployeeNumber, &op.UserName, &data, &refs, &sources); err != nil {
			return op, err
		}
		op.Data = data
		if err := json.Unmarshal([]byte(refs), &op.Refs); err != nil {
			return op, err
		}
		return op, json.Unmarshal([]byte(sources), &op.Sources)
	}
	g := batcher.Dependencies(nodes)
	split := map[int][2]batcher.Operation{} // identity, reference patch
	for i := range nodes {
		if !g.Split[i] {
			continue
		}
		op, err := load(i)
		if err != nil {
			return err
		}
		ident, refs, err := batcher.SplitOperation(op)
		if err != nil {
			return fmt.Errorf("operation %s (%s): %w", op.BulkID, op.SourceString(), err)
		}
		split[i] = [2]batcher.Operation{ident, refs}
	}
	pick := func(it batcher.Item) (batcher.Operation, error) {
		if sp, ok := split[it.Op]; ok {
			if it.Refs {
				return sp[1], nil
			}
			return sp[0], nil
		}
		return load(it.Op)
	}
	size := func(it batcher.Item) (int, error) {
		op, err := pick(it)
		if err != nil || op.Method == "" {
			return -1, err
		}
		enc, err := batcher.EncodeOperation(&op)
		if err != nil {
			return -1, nil // left unscheduled: the engine reports it when it cannot send it
		}
		return batcher.WireSize(&op, enc), nil
	}
	// An operation too large for any request stays unscheduled; the
	// engine fails it with PAYLOAD_TOO_LARGE when it comes to send it.
	oversize := func(batcher.Item, int) error { return nil }
	sched, err := batcher.Order(nodes, lim, size, oversize)
	if err != nil {
		return err
	}
	next := int64(len(nodes))
	refsSeq := map[int]int64{}
	for i := range nodes {
		sp, ok := split[i]
		if !ok || sp[1].Method == "" {
			continue
		}
		if _, err := tx.Exec(`UPDATE ops SET data = ?, refs = '[]', split = 1 WHERE seq = ?`, []byte(sp[0].Data), seqs[i]); err != nil {
			return err
		}
		r := sp[1]
		refs, _ := json.Marshal(r.Refs)
		srcs, _ := json.Marshal(nonNilSources(r.Sources))
		next++
		refsSeq[i] = next
		if _, err := tx.Exec(`INSERT INTO ops(seq, bulk_id, kind, parent, method, path, employee_number, user_name, data, refs, sources, updated_at)
			VALUES(?, ?, 'refs', ?, 'PATCH', ?, ?, ?, ?, ?, ?, ?)`,
			next, r.BulkID, seqs[i], r.Path, r.EmployeeNumber, r.UserName, []byte(r.Data), string(refs), string(srcs), stamp); err != nil {
			return err
		}
	}
	set, err := tx.Prepare(`UPDATE ops SET plan_req = ?, plan_pos = ? WHERE seq = ?`)
	if err != nil {
		return err
	}
	defer set.Close()
	for pos, st := range sched.Steps {
		seq := seqs[st.Op]
		if st.Refs {
			seq = refsSeq[st.Op]
		}
		if _, err := set.Exec(st.Request+1, pos+1, seq); err != nil {
			return err
		}
	}
	return nil
}

func nonNilSources(s []batcher.Source) []batcher.Source {
	if s == nil {
		return []batcher.Source{}
	}
	return s
}

// readNodes reads what ordering needs of the operations selected by where,
// in seq order.
func readNodes(tx *sql.Tx, where string) ([]batcher.Node, []int64, error) {
	rows, err := tx.Query(`SELECT seq, method, employee_number, refs FROM ops ` + where + ` ORDER BY seq`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		nodes []batcher.Node
		seqs  []int64
	)
	for rows.Next() {
		var (
			n    batcher.Node
			seq  int64
			refs string
		)
		if err := rows.Scan(&seq, &n.Method, &n.EmployeeNumber, &refs); err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal([]byte(refs), &n.Refs); err != nil {
			return nil, nil, err
		}
		nodes = append(nodes, n)
		seqs = append(seqs, seq)
	}
	return nodes, seqs, rows.Err()
}

// dependencies records, for every operation of a scheduled import, the
// creations it waits for (batcher.Dependencies; a reference patch waits
// for its own employee's creation too, as its references say). A
// scheduled import has no reference cycle left: the scheduler split them.
func dependencies(tx *sql.Tx) error {
	nodes, seqs, err := readNodes(tx, `WHERE kind IN ('op', 'refs')`)
	if err != nil {
		return err
	}
	g := batcher.Dependencies(nodes)
	insDep, err := tx.Prepare(`INSERT OR IGNORE INTO deps(op, dep) VALUES(?, ?)`)
	if err != nil {
		return err
	}
	defer insDep.Close()
	for i := range nodes {
		if g.Split[i] {
			return fmt.Errorf("journal: operation %d is in a reference cycle that was not scheduled (split) before the import", seqs[i])
		}
		for _, d := range g.Deps[i] {
			if _, err := insDep.Exec(seqs[i], seqs[d]); err != nil {
				return err
			}
		}
		if len(g.Deps[i]) > 0 {
			if _, err := tx.Exec(`UPDATE ops SET waiting = ? WHERE seq = ?`, len(g.Deps[i]), seqs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}
