package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocarina/gocsv"

	"scimigrate/batcher"
	"scimigrate/batcher/journal"
	"scimigrate/upsim"
)

func TestNeutralize(t *testing.T) {
	tests := map[string]string{
		"":              "",
		"plain":         "plain",
		"=SUM(A1)":      "'=SUM(A1)",
		"+1":            "'+1",
		"-1":            "'-1",
		"@cmd":          "'@cmd",
		"\tx":           "'\tx",
		"a=b":           "a=b",
		"'already":      "'already",
		"émployé=1":     "émployé=1",
		"\r=x":          "'\r=x",
		"1+1":           "1+1",
		"INVALID_VALUE": "INVALID_VALUE",
	}
	for in, want := range tests {
		if got := Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

// reportRun runs a small input with one failure, one partial and cells
// that look like formulas, and returns the journal path.
func reportRun(t *testing.T) (string, *Summary) {
	t.Helper()
	sim := newSim(t, upsim.Options{Seed: 7})
	taken := []byte(strings.Replace(string(user("OTHER")), "other@example.com", "b@example.com", 2))
	if err := sim.Seed(taken); err != nil {
		t.Fatal(err)
	}
	a := createOp("@in.txt", 1, "-A", "B")
	b := createOp("@in.txt", 2, "B")
	b.Sources = append(b.Sources, batcher.Source{File: "=roles.txt", Line: 7, Record: "400"})
	c := createOp("@in.txt", 3, "C")
	opts := testOptions(t, sim, t.TempDir(), &logBuf{})
	s, err := Run(context.Background(), opts, []batcher.Operation{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	return opts.JournalPath, s
}

func TestReport(t *testing.T) {
	path, s := reportRun(t)
	if s.ExitCode() != 1 || !strings.Contains(s.String(), "DEPENDENCY_FAILED") || !strings.Contains(s.String(), "UNIQUENESS") {
		t.Fatalf("summary:\n%s", s)
	}
	ctx := context.Background()
	again, err := Summarize(ctx, path)
	if err != nil || again.String() != s.String() {
		t.Fatalf("Summarize: %v\n%s\nwant\n%s", err, again, s)
	}

	var csvOut bytes.Buffer
	if err := Report(ctx, path, "csv", &csvOut); err != nil {
		t.Fatal(err)
	}
	var rows []ReportRow
	if err := gocsv.UnmarshalBytes(csvOut.Bytes(), &rows); err != nil {
		t.Fatalf("csv: %v\n%s", err, csvOut.String())
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4 (one per source record):\n%s", len(rows), csvOut.String())
	}
	byLine := map[string]ReportRow{}
	for _, r := range rows {
		byLine[r.File+":"+r.BulkID+":"+strings.TrimSpace(string(rune('0'+r.Line)))] = r
		if strings.ContainsAny(r.File[:1]+r.EmployeeNumber[:1], "=+-@") {
			t.Errorf("cell not neutralised: %+v", r)
		}
	}
	a := byLine["'@in.txt:_in.txt-1:1"]
	if a.EmployeeNumber != "'-A" || a.Outcome != "partial" || a.UUID == "" || !strings.Contains(a.ExtensionErrors, "DEPENDENCY_FAILED") {
		t.Errorf("row A: %+v", a)
	}
	b := byLine["'=roles.txt:_in.txt-2:7"]
	if b.Outcome != "failed" || b.MessageCode != "UNIQUENESS" || b.Record != "400" || b.HTTPCode != 409 {
		t.Errorf("row B (second source): %+v", b)
	}
	if c := byLine["'@in.txt:_in.txt-3:3"]; c.Outcome != "success" || c.UUID == "" || c.Message != "" {
		t.Errorf("row C: %+v", c)
	}

	var js bytes.Buffer
	if err := Report(ctx, path, "json", &js); err != nil {
		t.Fatal(err)
	}
	var arr []map[string]any
	if err := json.Unmarshal(js.Bytes(), &arr); err != nil || len(arr) != 4 {
		t.Fatalf("json: %v %d\n%s", err, len(arr), js.String())
	}
	if arr[0]["employeeNumber"] != "-A" || arr[0]["extensionErrors"] == nil {
		t.Errorf("json row: %v", arr[0])
	}
	var nd bytes.Buffer
	if err := Report(ctx, path, "ndjson", &nd); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(nd.String()), "\n")
	if len(lines) != 4 || !json.Valid([]byte(lines[3])) {
		t.Errorf("ndjson:\n%s", nd.String())
	}
	if err := Report(ctx, path, "xml", &nd); err == nil {
		t.Error("unknown format accepted")
	}

	var st bytes.Buffer
	if err := Status(ctx, path, &st); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"3 from the input", "1 succeeded, 1 partly applied, 1 failed", "UNIQUENESS", "requests:"} {
		if !strings.Contains(st.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, st.String())
		}
	}
	if err := Status(ctx, path+".missing", &st); err == nil {
		t.Error("status of a missing journal")
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestLineProgress(t *testing.T) {
	var out syncBuf
	p := NewProgress(&out, time.Millisecond)
	if _, ok := p.(*LineProgress); !ok {
		t.Fatalf("a buffer is not a terminal: got %T", p)
	}
	p.Start(10, 2)
	p.RequestSent()
	p.Completed(3, false)
	p.Completed(1, true)
	for strings.Count(out.String(), "\n") < 2 {
		time.Sleep(time.Millisecond)
	}
	p.Finish()
	p.Finish()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "progress: 6/10 operations completed (1 with errors), 1 requests sent") {
		t.Errorf("last line %q", last)
	}
}

func TestRunReportsProgress(t *testing.T) {
	sim := newSim(t, upsim.Options{Seed: 8})
	var out syncBuf
	opts := testOptions(t, sim, t.TempDir(), &logBuf{})
	opts.Progress = NewLineProgress(&out, time.Hour)
	opts.Limits = batcher.Limits{MaxOps: 10}
	if _, err := Run(context.Background(), opts, population(40)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "progress: 40/40 operations completed (0 with errors)") {
		t.Errorf("progress: %q", out.String())
	}
}

func TestBarProgress(t *testing.T) {
	var out syncBuf
	p := &barProgress{w: &out}
	p.Start(4, 1)
	p.RequestSent()
	p.Completed(2, false)
	p.Completed(1, true)
	p.Finish()
	if s := out.String(); !strings.Contains(s, "4/4") || !strings.Contains(s, "1 requests sent, 1 with errors") {
		t.Errorf("bar output %q", s)
	}
}

// TestRecordRejectedTakesTheRunLock: the rejected records are written
// under the journal's run lock: while another run holds the journal they
// are refused, not written over its data.
func TestRecordRejectedTakesTheRunLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	run, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := []ReportRow{{File: "in.txt", Line: 7, Message: "bad"}}
	var le *journal.LockedError
	if err := RecordRejected(context.Background(), path, rows); !errors.As(err, &le) {
		t.Errorf("while a run holds the journal: %v, want a LockedError", err)
	}
	run.Close()
	if err := RecordRejected(context.Background(), path, rows); err != nil {
		t.Fatalf("after the run: %v", err)
	}
	j, err := journal.OpenExisting(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if got, err := rejectedRows(j); err != nil || len(got) != 1 || got[0].Line != 7 {
		t.Errorf("rejected rows %+v, %v", got, err)
	}
}
