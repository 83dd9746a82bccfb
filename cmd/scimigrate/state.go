package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"scimigrate/batcher/journal"
	"scimigrate/batcher/plan"
)

// The applied state (plan.State) records the write-only attributes
// (entitlements) scimigrate applied, so a later plan compares them with
// what was sent instead of with nothing. apply updates it after every run
// (default: scimigrate-state.json beside the journal); plan reads it
// (default: scimigrate-state.json in the working directory, when present).

// applyStatePath is where apply keeps the applied state.
func applyStatePath(state, journalPath string) string {
	if state != "" {
		return state
	}
	return filepath.Join(filepath.Dir(journalPath), plan.StateFile)
}

// readPlanState reads the state a plan compares write-only attributes
// with: the file given (which must exist), else the default one if there.
func readPlanState(state string) (*plan.State, string, error) {
	if state != "" {
		s, err := plan.ReadState(state, true)
		return s, state, err
	}
	if _, err := os.Stat(plan.StateFile); errors.Is(err, os.ErrNotExist) {
		return nil, "", nil
	}
	s, err := plan.ReadState(plan.StateFile, false)
	return s, plan.StateFile, err
}

// recordApplied adds what the journal's run applied to the state file.
func recordApplied(ctx context.Context, journalPath, statePath string) error {
	st, err := plan.ReadState(statePath, false)
	if err != nil {
		return err
	}
	j, err := journal.OpenExisting(journalPath)
	if err != nil {
		return err
	}
	defer j.Close()
	err = j.EachApplied(ctx, func(a journal.Applied) error {
		id := a.UUID
		if id == "" && a.Method == "PATCH" {
			id = strings.TrimPrefix(a.Path, "/Users/")
		}
		if err := st.Record(a.Method, id, a.EmployeeNumber, a.Data, a.At); err != nil {
			return fmt.Errorf("employee %s: %w", a.EmployeeNumber, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return st.Write(statePath)
}
