package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"scimigrate/batcher/apply"
	"scimigrate/batcher/journal"
	"scimigrate/batcher/plan"
	"scimigrate/batcher/report"
	"scimigrate/mapping"
)

// savePlanHTML writes plan.html beside a saved plan.json: the sign-off
// document of the plan, with the records the conversion rejected.
func savePlanHTML(dir string, p *plan.Plan, f *plan.File, c *collected) error {
	info := plan.HTMLInfo{CompanyID: c.set.Config.CompanyID}
	for _, r := range c.rejected.list() {
		info.Rejected = append(info.Rejected, report.Rejected{Sources: []string{fmt.Sprintf("%s:%d", r.File, r.Line)},
			Reasons: strings.Split(r.Message, " | ")})
	}
	d := p.HTMLDoc(f, info)
	return writeOutputFunc(filepath.Join(dir, plan.HTMLFile), func(w io.Writer) error { return report.RenderPlan(w, d) })
}

// writeOutputFunc writes an output file holding employee data as
// createOutput does (0600, temporary file renamed over the destination).
func writeOutputFunc(path string, render func(io.Writer) error) error {
	f, err := createOutput(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := render(f); err != nil {
		return err
	}
	return f.Commit()
}

// reportFormats are the formats of 'scimigrate report'.
const reportFormats = "csv, json, ndjson or html"

// renderReport writes the report of a journal in a format.
func renderReport(ctx context.Context, journalPath, format string, w io.Writer) error {
	switch format {
	case "html":
		return apply.ReportHTML(ctx, journalPath, w, apply.HTMLOptions{Tool: "scimigrate " + version})
	case "csv", "json", "ndjson":
		return apply.Report(ctx, journalPath, format, w)
	}
	return fmt.Errorf("report format %q: want %s", format, reportFormats)
}

// writeReports ends every apply that reached its journal, fatal error or
// not: it records what the report needs (the rejected records, the inputs
// with their SHA-256, the company, the plan applied), then writes the CSV
// report and the HTML outcome report (both 0600). The night always ends
// with a report, also when the run stopped half way (exit 2).
func (o *applyOptions) writeReports(ctx context.Context, w io.Writer) error {
	ctx = context.WithoutCancel(ctx)
	if _, err := os.Stat(o.Journal); err != nil {
		return fmt.Errorf("no journal %s, so no report: nothing was sent", o.Journal)
	}
	if o.rejected != nil {
		if err := apply.RecordRejected(ctx, o.Journal, o.rejected.list()); err != nil {
			return fmt.Errorf("recording the rejected records: %w", err)
		}
	}
	if err := o.recordRunInfo(); err != nil {
		return fmt.Errorf("recording the inputs: %w", err)
	}
	csvPath, htmlPath := o.Report, o.ReportHTML
	if csvPath == "" {
		csvPath = o.Journal + ".report.csv"
	}
	if htmlPath == "" {
		htmlPath = o.Journal + ".report.html"
	}
	if err := writeReport(ctx, o.Journal, "csv", csvPath); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if err := writeReport(ctx, o.Journal, "html", htmlPath); err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	fmt.Fprintf(w, "report: %s (one row per source record) and %s (outcome, for the sign-off)\n", csvPath, htmlPath)
	return nil
}

// recordRunInfo stores the inputs (with their SHA-256), the company and the
// saved plan of this apply in the journal, for the reports.
func (o *applyOptions) recordRunInfo() error {
	ri := journal.RunInfo{Tool: "scimigrate " + version, CompanyID: o.CompanyID}
	switch {
	case ri.CompanyID != "":
	case o.config != nil:
		ri.CompanyID = o.config.CompanyID
	case o.Config != "":
		if cfg, err := mapping.LoadConfig(o.Config); err == nil {
			ri.CompanyID = cfg.CompanyID
		}
	}
	if len(o.Files) == 1 && isPlanDir(o.Files[0]) {
		dir := o.Files[0]
		ri.Plan = dir
		ri.PlanSHA256, _, _ = plan.HashFile(filepath.Join(dir, plan.PlanFile))
		if s, err := plan.Load(dir); err == nil {
			for _, in := range s.File.Inputs {
				ri.Inputs = append(ri.Inputs, journal.InputHash{File: in.File, SHA256: in.SHA256, Bytes: in.Bytes})
			}
			if ri.CompanyID == "" {
				ri.CompanyID = s.File.Target.CompanyID
			}
		}
	} else {
		for _, f := range o.Files {
			if f == "-" {
				// Hashed when it was spooled (a live plan); --create-only
				// reads it once, unhashed.
				ri.Inputs = append(ri.Inputs, journal.InputHash{File: "<stdin>", SHA256: o.stdinSHA256, Bytes: o.stdinBytes})
				continue
			}
			// An input that cannot be read again (the demo's sample goes by
			// a name of its own) is listed without its hash.
			h, n, _ := plan.HashFile(f)
			ri.Inputs = append(ri.Inputs, journal.InputHash{File: f, SHA256: h, Bytes: n})
		}
	}
	// Written under the run lock, as the run wrote: another run on the
	// same journal is refused, not written over.
	j, err := journal.Open(o.Journal)
	if err != nil {
		return err
	}
	defer j.Close()
	return j.SetRunInfo(ri)
}
