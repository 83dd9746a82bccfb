package apply

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"scimigrate/batcher/journal"
	"scimigrate/batcher/report"
)

// HTMLOptions configure the outcome report.
type HTMLOptions struct {
	Tool string
	Now  func() time.Time // default time.Now
	// MaxFailures bounds the failed operations and the rejected records
	// listed (default 5000 each); the counts cover all, and the CSV report
	// lists every one.
	MaxFailures int
}

// ReportHTML writes the outcome report of the run in a journal: one
// self-contained HTML document (see batcher/report) with the counts, the
// requests over time, the changes by attribute, the failures grouped by the
// service's message code and the rejected records. It reads a journal left
// by a run that stopped half way as well as a finished one.
func ReportHTML(ctx context.Context, journalPath string, w io.Writer, o HTMLOptions) error {
	j, err := journal.OpenExisting(journalPath)
	if err != nil {
		return err
	}
	defer j.Close()
	d, err := outcomeDoc(ctx, j, o)
	if err != nil {
		return err
	}
	return report.RenderOutcome(w, d)
}

func outcomeDoc(ctx context.Context, j *journal.Journal, o HTMLOptions) (*report.OutcomeDoc, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5000
	}
	s, err := summarize(ctx, j)
	if err != nil {
		return nil, err
	}
	rejected, err := rejectedRows(j)
	if err != nil {
		return nil, err
	}
	ri, _, err := j.RunInfo()
	if err != nil {
		return nil, err
	}
	d := &report.OutcomeDoc{Doc: report.Doc{Title: "Migration outcome", Generated: o.Now(), Tool: o.Tool}}
	d.Subtitle = "What the run recorded in the journal did to the SAP Concur users of the target"
	if ri.CompanyID != "" {
		d.Subtitle += " (company " + ri.CompanyID + ")"
	}
	d.Counts = []report.Count{
		{Key: "operations", Label: "operations", N: s.Operations, Class: "total"},
		{Key: "succeeded", Label: "succeeded", N: s.Succeeded, Class: "ok"},
		{Key: "partial", Label: "partly applied", N: s.Partial, Class: "partial"},
		{Key: "failed", Label: "failed", N: s.Failed, Class: "failed"},
		{Key: "reconciled", Label: "reconciled", N: s.Reconciled, Class: "reconciled"},
	}
	if s.Unfinished > 0 {
		d.Counts = append(d.Counts, report.Count{Key: "unfinished", Label: "no outcome yet", N: s.Unfinished, Class: "pending"})
	}
	d.Counts = append(d.Counts, report.Count{Key: "rejected", Label: "records rejected", N: len(rejected), Class: "rejected"})
	for _, in := range ri.Inputs {
		d.Inputs = append(d.Inputs, report.Input{File: in.File, SHA256: in.SHA256, Bytes: in.Bytes})
	}

	var starts, ends []journal.Event
	tl := &report.Timeline{Lanes: []report.Lane{
		{Name: "Bulk requests sent", Class: "sent"},
		{Name: "429 Too Many Requests", Class: "throttled"},
		{Name: "Retries", Class: "retries"},
		{Name: "5xx or no answer", Class: "errors"},
	}}
	err = j.EachEvent(ctx, func(e journal.Event) error {
		if tl.Start.IsZero() {
			tl.Start = e.At
		}
		tl.End = e.At
		switch e.Kind {
		case journal.EventRunStart:
			starts = append(starts, e)
			label := "started"
			if e.Detail == "resumed" {
				label = "resumed"
			}
			tl.Marks = append(tl.Marks, report.Mark{At: e.At, Label: label, Class: "start"})
		case journal.EventRunEnd:
			ends = append(ends, e)
			if e.Detail != "" {
				tl.Marks = append(tl.Marks, report.Mark{At: e.At, Label: "stopped", Class: "stopped"})
			} else {
				tl.Marks = append(tl.Marks, report.Mark{At: e.At, Label: "finished", Class: "end"})
			}
		case journal.EventAttempt:
			if e.Call == "bulk" {
				tl.Lanes[0].Times = append(tl.Lanes[0].Times, e.At)
			}
			if e.HTTPCode == 429 {
				tl.Lanes[1].Times = append(tl.Lanes[1].Times, e.At)
			}
			if e.Attempt > 1 {
				tl.Lanes[2].Times = append(tl.Lanes[2].Times, e.At)
			}
			if e.HTTPCode >= 500 || e.HTTPCode == 0 {
				tl.Lanes[3].Times = append(tl.Lanes[3].Times, e.At)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !tl.Start.IsZero() {
		d.Timeline = tl
	}

	// How the run ended.
	var fatal string
	if len(ends) > 0 && len(ends) >= len(starts) {
		fatal = ends[len(ends)-1].Detail
	}
	switch {
	case fatal != "":
		d.Status, d.StatusClass = "The run stopped before the end: "+fatal+". Run the same apply command again with this journal to resume; this report shows where it stopped.", "failed"
	case len(starts) > len(ends):
		d.Status, d.StatusClass = "The run did not record its end (it was killed or is still running). Run the same apply command again with this journal to resume.", "failed"
	case s.Unfinished > 0:
		d.Status, d.StatusClass = fmt.Sprintf("%d operation(s) have no outcome yet. Run the same apply command again with this journal to finish.", s.Unfinished), "partial"
	case s.Failed+s.Partial > 0:
		d.Status, d.StatusClass = fmt.Sprintf("Finished: %d operation(s) failed and %d were partly applied; see the failures below.", s.Failed, s.Partial), "partial"
	case len(rejected) > 0:
		d.Status, d.StatusClass = fmt.Sprintf("Finished: every operation sent succeeded; %d input record(s) were rejected and not sent.", len(rejected)), "partial"
	default:
		d.Status, d.StatusClass = "Finished: every operation succeeded.", "ok"
	}

	reqs, err := j.Requests(ctx)
	if err != nil {
		return nil, err
	}
	byState := map[string]int{}
	for _, r := range reqs {
		byState[r.State]++
	}
	base, _, _ := j.Meta("base_url")
	imported, _, _ := j.Meta("imported_at")
	hash, _, _ := j.Meta("input_hash")
	add := func(label, value string, mono bool) {
		if value != "" {
			d.Facts = append(d.Facts, report.Fact{Label: label, Value: value, Mono: mono})
		}
	}
	add("Target", base, true)
	add("Company", ri.CompanyID, true)
	if ri.Plan != "" {
		add("Saved plan applied", ri.Plan, true)
		add("plan.json SHA-256", ri.PlanSHA256, true)
	}
	add("Journal", j.Path(), true)
	if t, err := time.Parse(time.RFC3339Nano, imported); err == nil {
		imported = t.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	add("Operations imported", imported, false)
	add("Operations SHA-256", hash, true)
	if len(starts) > 0 {
		add("Runs", fmt.Sprintf("%d (first started %s)", len(starts), starts[0].At.UTC().Format("2006-01-02 15:04:05 UTC")), false)
	}
	add("Bulk requests", fmt.Sprintf("%d accepted by the service (%s)", s.Requests, formatCounts(byState)), false)

	// Changes by attribute, applied or not.
	changes, err := j.AttributeChanges(ctx)
	if err != nil {
		return nil, err
	}
	chart := &report.BarChart{Caption: "Updates of existing users, by attribute (operations touching it, by outcome)",
		Series: []report.Series{{Name: "applied", Class: "applied"}, {Name: "failed", Class: "notapplied"}, {Name: "no outcome yet", Class: "pending"}}}
	idx := map[string]int{}
	for _, c := range changes {
		attr := report.Attribute(c.Path)
		i, ok := idx[attr]
		if !ok {
			i = len(chart.Rows)
			idx[attr] = i
			chart.Rows = append(chart.Rows, report.BarRow{Label: attr, Title: attr, Values: make([]int, 3)})
		}
		k := 0
		switch c.Outcome {
		case journal.OutcomeFailed:
			k = 1
		case "":
			k = 2
		}
		chart.Rows[i].Values[k] += c.Ops
	}
	chart.Sort()
	d.Chart = chart

	d.Failures, d.MoreFailures = groupFailures(s.Failures, o.MaxFailures)
	for i, r := range rejected {
		if i >= o.MaxFailures {
			d.MoreRejected = len(rejected) - i
			break
		}
		d.Rejected = append(d.Rejected, report.Rejected{Employee: r.EmployeeNumber,
			Sources: []string{fmt.Sprintf("%s:%d", r.File, r.Line)}, Reasons: strings.Split(r.Message, " | ")})
	}
	return d, nil
}

// groupFailures groups failed and partly applied operations by message
// code, the largest group first; an operation with errors under several
// codes is listed under each.
func groupFailures(fs []Failure, limit int) ([]report.FailureGroup, int) {
	type group struct {
		g    report.FailureGroup
		emps map[string]bool
		seen map[string]bool
	}
	groups := map[string]*group{}
	var order []string
	shown, more := 0, 0
	for _, f := range fs {
		if shown >= limit {
			more++
			continue
		}
		shown++
		errs := f.Errors
		if len(errs) == 0 {
			errs = []ErrorDetail{{}}
		}
		for _, e := range errs {
			code := e.Code
			if code == "" {
				code = "(no code)"
			}
			g := groups[code]
			if g == nil {
				g = &group{g: report.FailureGroup{Code: code}, emps: map[string]bool{}, seen: map[string]bool{}}
				groups[code] = g
				order = append(order, code)
			}
			where := report.ShortPath(e.Extension)
			if where == "" {
				where = "operation"
			}
			key := f.BulkID + "\x00" + e.Message
			if g.seen[key] {
				continue // the same message for the operation and its identity
			}
			g.seen[key] = true
			g.emps[f.EmployeeNumber] = true
			g.g.Items = append(g.g.Items, report.FailureItem{Employee: f.EmployeeNumber, UserName: f.UserName, Outcome: f.Outcome,
				Sources: strings.Split(f.Source, ", "), Where: where, HTTPCode: e.HTTPCode, Message: e.Message})
		}
	}
	out := make([]report.FailureGroup, 0, len(order))
	for _, code := range order {
		g := groups[code]
		g.g.Employees = len(g.emps)
		out = append(out, g.g)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Employees > out[j].Employees })
	return out, more
}
