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
const SchemaVersion = "1"

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
  updated_at      TEXT NOT NULL DEFAULT ''
);
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
	stmt, err := tx.Prepare(`INSERT INTO ops(seq, bulk_id, kind, method, path, employee_number, user_name, data, refs, sources, updated_at)
		VALUES(?, ?, 'op', ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	return &Import{j: j, tx: tx, stmt: stmt, hash: NewHasher()}, nil
}

// Add stores one operation.
func (im *Import) Add(op *batcher.Operation) error {
	im.hash.Add(op)
	im.n++
	refs, _ := json.Marshal(nonNil(op.References()))
	srcs, _ := json.Marshal(op.Sources)
	if op.Sources == nil {
		srcs = []byte("[]")
	}
	_, err := im.stmt.Exec(im.n, op.BulkID, op.Method, op.Path, op.EmployeeNumber, op.UserName, []byte(op.Data), string(refs), string(srcs), im.j.stamp())
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

// Commit orders the operations (batcher.Dependencies), splits creations in
// reference cycles into identity + reference patch, and commits the import.
func (im *Import) Commit() error {
	defer im.stmt.Close()
	if err := order(im.tx, im.j.stamp()); err != nil {
		im.tx.Rollback()
		return im.j.wrap("ordering the imported operations", err)
	}
	for k, v := range map[string]string{"input_hash": im.hash.Sum(), "op_count": fmt.Sprint(im.n), "imported_at": im.j.stamp()} {
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

// order computes dependencies and splits. Only small per-operation facts
// (method, employee number, references) are held in memory.
func order(tx *sql.Tx, stamp string) error {
	rows, err := tx.Query(`SELECT seq, method, employee_number, refs FROM ops WHERE kind = 'op' ORDER BY seq`)
	if err != nil {
		return err
	}
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
			rows.Close()
			return err
		}
		if err := json.Unmarshal([]byte(refs), &n.Refs); err != nil {
			rows.Close()
			return err
		}
		nodes = append(nodes, n)
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	g := batcher.Dependencies(nodes)
	insDep, err := tx.Prepare(`INSERT OR IGNORE INTO deps(op, dep) VALUES(?, ?)`)
	if err != nil {
		return err
	}
	defer insDep.Close()
	next := int64(len(nodes))
	for i := range nodes {
		seq := seqs[i]
		if !g.Split[i] {
			for _, d := range g.Deps[i] {
				if _, err := insDep.Exec(seq, seqs[d]); err != nil {
					return err
				}
			}
			if len(g.Deps[i]) > 0 {
				if _, err := tx.Exec(`UPDATE ops SET waiting = ? WHERE seq = ?`, len(g.Deps[i]), seq); err != nil {
					return err
				}
			}
			continue
		}
		var (
			data    []byte
			bulkID  string
			emp     string
			uname   string
			sources string
			refs    string
		)
		if err := tx.QueryRow(`SELECT data, bulk_id, employee_number, user_name, sources, refs FROM ops WHERE seq = ?`, seq).
			Scan(&data, &bulkID, &emp, &uname, &sources, &refs); err != nil {
			return err
		}
		ident, patch, err := batcher.SplitReferences(data)
		if err != nil {
			return fmt.Errorf("operation %s: %w", bulkID, err)
		}
		if patch == nil {
			continue
		}
		if _, err := tx.Exec(`UPDATE ops SET data = ?, split = 1 WHERE seq = ?`, []byte(ident), seq); err != nil {
			return err
		}
		next++
		if _, err := tx.Exec(`INSERT INTO ops(seq, bulk_id, kind, parent, method, path, employee_number, user_name, data, refs, sources, waiting, updated_at)
			VALUES(?, ?, 'refs', ?, 'PATCH', '', ?, ?, ?, ?, ?, ?, ?)`,
			next, bulkID+"-refs", seq, emp, uname, []byte(patch), refs, sources, len(g.Deps[i])+1, stamp); err != nil {
			return err
		}
		if _, err := insDep.Exec(next, seq); err != nil {
			return err
		}
		for _, d := range g.Deps[i] {
			if _, err := insDep.Exec(next, seqs[d]); err != nil {
				return err
			}
		}
	}
	return nil
}
