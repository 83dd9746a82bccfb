package journal

import (
	"context"
	"database/sql"
	"fmt"
)

// ReconcileOutcomes settles an unconfirmed request with what was learnt from
// the target: operations in outs get that outcome (with the derived
// operations it queues, e.g. a KindConverge PATCH); every other operation
// the request still carries goes back to the queue, marked reconciled, and
// is returned (its seq) so the caller can bound blind re-sends.
func (j *Journal) ReconcileOutcomes(ctx context.Context, reqID int64, outs map[int64]Outcome) (requeued []int64, err error) {
	err = j.tx(ctx, func(tx *sql.Tx) error {
		requeued = requeued[:0]
		seqs, err := sentOps(tx, reqID)
		if err != nil {
			return err
		}
		for _, s := range seqs {
			if o, ok := outs[s]; ok {
				if err := j.finish(tx, s, reqID, o); err != nil {
					return j.opErr(tx, s, reqID, "recording its reconciled outcome", err)
				}
				continue
			}
			if _, err := tx.Exec(`UPDATE ops SET state = 'pending', request_id = NULL, reconciled = 1, plan_req = 0, updated_at = ? WHERE seq = ?`, j.stamp(), s); err != nil {
				return j.opErr(tx, s, reqID, "queueing it again", err)
			}
			if _, err := tx.Exec(`DELETE FROM extensions WHERE op = ? AND name = ?`, s, ExtReferences); err != nil {
				return j.opErr(tx, s, reqID, "queueing it again", err)
			}
			requeued = append(requeued, s)
		}
		if _, err := tx.Exec(`UPDATE requests SET state = 'reconciled', completed_at = ? WHERE id = ?`, j.stamp(), reqID); err != nil {
			return fmt.Errorf("marking request %d reconciled: %w", reqID, err)
		}
		return nil
	})
	if err != nil {
		return nil, j.wrap(fmt.Sprintf("reconciling request %d", reqID), err)
	}
	return requeued, nil
}

// opErr names the operation (bulkId, employee) and request an error is about.
func (j *Journal) opErr(tx *sql.Tx, seq, reqID int64, doing string, err error) error {
	var bulkID, emp string
	_ = tx.QueryRow(`SELECT bulk_id, employee_number FROM ops WHERE seq = ?`, seq).Scan(&bulkID, &emp)
	what := fmt.Sprintf("operation %d", seq)
	if bulkID != "" {
		what = fmt.Sprintf("operation %s (employee %s)", bulkID, emp)
	}
	if reqID != 0 {
		what += fmt.Sprintf(" of request %d", reqID)
	}
	return fmt.Errorf("%s: %s: %w", what, doing, err)
}

// wrap prefixes an error with the journal's name and what was being done
// (which operation, which request), so a SQLite error never comes bare.
func (j *Journal) wrap(doing string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("journal %s: %s: %w", j.path, doing, err)
}
