package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/gocarina/gocsv"

	"scimigrate/batcher"
	"scimigrate/batcher/journal"
)

// Summary is the result of a run, read back from the journal.
type Summary struct {
	JournalPath string
	Resumed     bool // the run continued an earlier one
	Operations  int  // input operations
	Succeeded   int  // every extension succeeded or had nothing to do
	Partial     int  // identity applied, an extension (or a reference) failed
	Failed      int  // not applied
	Reconciled  int  // outcome lost, employee found afterwards
	Unfinished  int  // no outcome yet (the run stopped early)
	Requests    int  // Bulk requests the service accepted
	Failures    []Failure
}

// Failure is an operation that did not fully succeed.
type Failure struct {
	BulkID         string
	EmployeeNumber string
	UserName       string
	Source         string // input records
	Outcome        string // failed | partial
	UUID           string
	Errors         []ErrorDetail
}

// ErrorDetail is one message from the service (or from the engine, for
// dependencies).
type ErrorDetail struct {
	Extension  string // extension URN, "references", or "" for the operation
	HTTPCode   int
	Code       string // Concur message code, e.g. INVALID_VALUE
	Message    string
	SchemaPath string
}

// OK reports whether every operation succeeded.
func (s *Summary) OK() bool { return s.Partial == 0 && s.Failed == 0 && s.Unfinished == 0 }

// ExitCode maps the summary onto the CLI's convention: 0 when every
// operation succeeded, 1 otherwise. (Usage and fatal errors, 2, are the
// caller's.)
func (s *Summary) ExitCode() int {
	if s.OK() {
		return 0
	}
	return 1
}

// String renders a short human summary.
func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d operations: %d succeeded, %d partly applied, %d failed", s.Operations, s.Succeeded, s.Partial, s.Failed)
	if s.Reconciled > 0 {
		fmt.Fprintf(&b, ", %d reconciled", s.Reconciled)
	}
	if s.Unfinished > 0 {
		fmt.Fprintf(&b, ", %d unfinished", s.Unfinished)
	}
	fmt.Fprintf(&b, " (%d Bulk requests)\n", s.Requests)
	for _, f := range s.Failures {
		fmt.Fprintf(&b, "  %s employee %s (%s) from %s\n", f.Outcome, f.EmployeeNumber, f.BulkID, f.Source)
		for _, e := range f.Errors {
			where := e.Extension
			if where == "" {
				where = "operation"
			}
			fmt.Fprintf(&b, "    %s: %s %s", where, e.Code, e.Message)
			if e.HTTPCode != 0 {
				fmt.Fprintf(&b, " (HTTP %d)", e.HTTPCode)
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func sourcesString(src []batcher.Source) string {
	op := batcher.Operation{Sources: src}
	return op.SourceString()
}

func errorsOf(r journal.Row) []ErrorDetail {
	var out []ErrorDetail
	if r.State == journal.StateFailed || (len(r.Failed) == 0 && r.Message != "") {
		out = append(out, ErrorDetail{HTTPCode: r.HTTPCode, Code: r.MsgCode, Message: r.Message, SchemaPath: r.SchemaPath})
	}
	for _, x := range r.Failed {
		d := ErrorDetail{Extension: x.Name, HTTPCode: x.HTTPCode, Code: x.Result}
		if len(x.Messages) > 0 {
			d.Code, d.Message, d.SchemaPath = x.Messages[0].Code, x.Messages[0].Message, x.Messages[0].SchemaPath
		}
		if d.Extension == journal.ExtReferences || d.Message != "" || r.State != journal.StateFailed {
			out = append(out, d)
		}
	}
	return out
}

func summarize(ctx context.Context, j *journal.Journal) (*Summary, error) {
	c, err := j.Counts(ctx)
	if err != nil {
		return nil, err
	}
	s := &Summary{JournalPath: j.Path(), Operations: c.Ops, Succeeded: c.Outcomes[journal.OutcomeSuccess],
		Partial: c.Outcomes[journal.OutcomePartial], Failed: c.Outcomes[journal.OutcomeFailed],
		Reconciled: c.Outcomes[journal.OutcomeReconciled], Requests: c.Submitted}
	s.Unfinished = s.Operations - s.Succeeded - s.Partial - s.Failed - s.Reconciled
	err = j.Each(ctx, true, func(r journal.Row) error {
		if r.State != journal.StateDone && r.State != journal.StateFailed {
			return nil
		}
		s.Failures = append(s.Failures, Failure{BulkID: r.BulkID, EmployeeNumber: r.EmployeeNumber, UserName: r.UserName,
			Source: sourcesString(r.Sources), Outcome: r.Outcome, UUID: r.UUID, Errors: errorsOf(r)})
		return nil
	})
	return s, err
}

// Summarize reads the summary of the run recorded in a journal.
func Summarize(ctx context.Context, journalPath string) (*Summary, error) {
	j, err := journal.OpenExisting(journalPath)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	return summarize(ctx, j)
}

// Status writes the progress and outcomes recorded in a journal.
func Status(ctx context.Context, journalPath string, w io.Writer) error {
	j, err := journal.OpenExisting(journalPath)
	if err != nil {
		return err
	}
	defer j.Close()
	if _, ok, err := j.Imported(); err != nil {
		return err
	} else if !ok {
		msg := "no operations imported yet"
		if h := journal.Holder(journalPath); h != "" {
			msg += "; a run is importing them: " + h
		}
		_, err := fmt.Fprintf(w, "journal %s: %s\n", journalPath, msg)
		return err
	}
	c, err := j.Counts(ctx)
	if err != nil {
		return err
	}
	base, _, _ := j.Meta("base_url")
	fmt.Fprintf(w, "journal:    %s\n", journalPath)
	if h := journal.Holder(journalPath); h != "" {
		fmt.Fprintf(w, "run:        in progress, %s\n", h)
	}
	if base != "" {
		fmt.Fprintf(w, "service:    %s\n", base)
	}
	fmt.Fprintf(w, "operations: %d from the input, %d derived (reference patches, extension retries)\n", c.Ops, c.Derived)
	fmt.Fprintf(w, "queue:      %d ready, %d waiting for creations, %d sent, %d done, %d failed\n", c.Ready, c.Waiting, c.Sent, c.Done, c.Failed)
	fmt.Fprintf(w, "requests:   %s\n", formatCounts(c.Requests))
	s, err := summarize(ctx, j)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "outcome:    "+s.String())
	return err
}

func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}

// ReportRow is one row of the report: one source record.
type ReportRow struct {
	File            string `csv:"file" json:"file"`
	Line            int    `csv:"line" json:"line"`
	Record          string `csv:"record" json:"record,omitempty"`
	EmployeeNumber  string `csv:"employee_number" json:"employeeNumber"`
	BulkID          string `csv:"bulk_id" json:"bulkId"`
	Method          string `csv:"method" json:"method"`
	UUID            string `csv:"concur_uuid" json:"concurUUID,omitempty"`
	Outcome         string `csv:"outcome" json:"outcome"`
	HTTPCode        int    `csv:"http_code" json:"httpCode,omitempty"`
	MessageCode     string `csv:"message_code" json:"messageCode,omitempty"`
	Message         string `csv:"message" json:"message,omitempty"`
	ExtensionErrors string `csv:"extension_errors" json:"-"`

	Extensions []ErrorDetail `csv:"-" json:"extensionErrors,omitempty"`
}

func rowsOf(r journal.Row) []ReportRow {
	outcome := r.Outcome
	if outcome == "" {
		outcome = "unfinished (" + r.State + ")"
	}
	base := ReportRow{EmployeeNumber: r.EmployeeNumber, BulkID: r.BulkID, Method: r.Method, UUID: r.UUID, Outcome: outcome}
	if r.State == journal.StateFailed || r.Outcome == journal.OutcomeReconciled {
		base.HTTPCode, base.MessageCode, base.Message = r.HTTPCode, r.MsgCode, r.Message
	}
	var parts []string
	for _, d := range errorsOf(r) {
		if d.Extension == "" {
			continue
		}
		base.Extensions = append(base.Extensions, d)
		parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s: %s %s", d.Extension, d.Code, d.Message)))
	}
	base.ExtensionErrors = strings.Join(parts, " | ")
	if len(r.Sources) == 0 {
		return []ReportRow{base}
	}
	out := make([]ReportRow, len(r.Sources))
	for i, s := range r.Sources {
		out[i] = base
		out[i].File, out[i].Line, out[i].Record = s.File, s.Line, s.Record
	}
	return out
}

// Neutralize defuses a CSV cell a spreadsheet would read as a formula
// (starting with = + - @, or a tab or carriage return) by prefixing '.
func Neutralize(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

func (r *ReportRow) neutralize() {
	for _, p := range []*string{&r.File, &r.Record, &r.EmployeeNumber, &r.BulkID, &r.Method, &r.UUID, &r.Outcome, &r.MessageCode, &r.Message, &r.ExtensionErrors} {
		*p = Neutralize(*p)
	}
}

// Report writes one row per source record of the run in a journal:
// format "csv" (gocsv, formula cells neutralised), "json" (an array) or
// "ndjson" (one object per line).
func Report(ctx context.Context, journalPath, format string, w io.Writer) error {
	switch format {
	case "csv", "json", "ndjson":
	default:
		return fmt.Errorf("report format %q: want csv, json or ndjson", format)
	}
	j, err := journal.OpenExisting(journalPath)
	if err != nil {
		return err
	}
	defer j.Close()
	rejected, err := rejectedRows(j)
	if err != nil {
		return err
	}
	// each yields the journal's rows, then the records the conversion
	// rejected (never sent, so not operations of the journal).
	each := func(fn func(ReportRow) error) error {
		err := j.Each(ctx, false, func(r journal.Row) error {
			for _, row := range rowsOf(r) {
				if err := fn(row); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, row := range rejected {
			if err := fn(row); err != nil {
				return err
			}
		}
		return nil
	}
	switch format {
	case "csv":
		// Rows go out in chunks, so memory stays bounded on large runs.
		cw := gocsv.DefaultCSVWriter(w)
		chunk := make([]ReportRow, 0, 1000)
		headerDone := false
		flush := func() error {
			if headerDone && len(chunk) == 0 {
				return nil
			}
			var err error
			if headerDone {
				err = gocsv.MarshalCSVWithoutHeaders(chunk, cw)
			} else {
				err = gocsv.MarshalCSV(chunk, cw)
			}
			headerDone = true
			chunk = chunk[:0]
			return err
		}
		err := each(func(row ReportRow) error {
			row.neutralize()
			chunk = append(chunk, row)
			if len(chunk) >= 1000 {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
		return flush()
	case "ndjson":
		enc := json.NewEncoder(w)
		return each(func(row ReportRow) error { return enc.Encode(row) })
	default:
		if _, err := io.WriteString(w, "["); err != nil {
			return err
		}
		first := true
		err := each(func(row ReportRow) error {
			b, err := json.Marshal(row)
			if err != nil {
				return err
			}
			sep := ",\n"
			if first {
				sep, first = "\n", false
			}
			_, err = io.WriteString(w, sep+string(b))
			return err
		})
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, "\n]\n")
		return err
	}
}

// rejectedKey is the journal meta entry holding the rejected records.
const rejectedKey = "rejected_records"

// RecordRejected keeps, in the journal, the input records the conversion
// rejected (or could not send), so that Report accounts for every record of
// the input, sent or not. A later call replaces the list (a resumed run
// converts the same input again).
//
// It takes the journal's run lock (a run of another process on the same
// journal is not written over: its LockedError is returned).
func RecordRejected(ctx context.Context, journalPath string, rows []ReportRow) error {
	if _, err := os.Stat(journalPath); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j, err := journal.Open(journalPath)
	if err != nil {
		return err
	}
	defer j.Close()
	for i := range rows {
		rows[i].Outcome = "rejected"
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	return j.SetMeta(rejectedKey, string(b))
}

func rejectedRows(j *journal.Journal) ([]ReportRow, error) {
	v, ok, err := j.Meta(rejectedKey)
	if err != nil || !ok || v == "" {
		return nil, err
	}
	var rows []ReportRow
	if err := json.Unmarshal([]byte(v), &rows); err != nil {
		return nil, fmt.Errorf("journal: rejected records: %w", err)
	}
	return rows, nil
}
