package plan

import (
	"fmt"
	"strings"
	"time"

	"scimigrate/batcher"
	"scimigrate/batcher/report"
)

// HTMLFile is the sign-off document saved beside plan.json.
const HTMLFile = "plan.html"

// HTMLInfo is what plan.html shows beyond plan.json.
type HTMLInfo struct {
	CompanyID string
	// Rejected are the input records the conversion rejected (one per
	// file and line), which plan.json does not list.
	Rejected []report.Rejected
	// MaxUsers bounds the users listed one by one, and the rejections
	// (default 2000 each); the counts, the chart and plan.json cover all.
	MaxUsers int
}

// HTMLDoc builds plan.html's content from the plan and its description.
func (p *Plan) HTMLDoc(f *File, info HTMLInfo) *report.PlanDoc {
	created, _ := time.Parse(time.RFC3339, f.Created)
	d := &report.PlanDoc{Doc: report.Doc{Title: "Migration plan", Generated: created, Tool: f.Tool}}
	if info.CompanyID == "" {
		info.CompanyID = f.Target.CompanyID
	}
	d.Subtitle = "Changes the inputs below would make to the SAP Concur users of the target"
	if info.CompanyID != "" {
		d.Subtitle += " (company " + info.CompanyID + ")"
	}
	s := f.Summary
	d.Counts = []report.Count{
		{Key: "create", Label: "to create", N: s.Create, Class: "create"},
		{Key: "update", Label: "to update", N: s.Update, Class: "update"},
		{Key: "deactivate", Label: "to deactivate", N: s.Deactivate, Class: "deactivate"},
		{Key: "unchanged", Label: "unchanged", N: s.Unchanged, Class: "unchanged"},
		{Key: "rejected", Label: "rejected", N: s.Rejected, Class: "rejected"},
	}
	d.Facts = planFacts(f, info)
	for _, in := range f.Inputs {
		d.Inputs = append(d.Inputs, report.Input{File: in.File, SHA256: in.SHA256, Bytes: in.Bytes})
	}
	d.Requests = len(f.Requests)
	for _, r := range f.Requests {
		d.Waves = max(d.Waves, r.Wave+1)
	}
	d.Warnings = p.Warnings

	// Changes by attribute: users touched per attribute and kind of change.
	chart := &report.BarChart{Caption: "Existing users changed, by attribute (a user counts once per attribute and kind of change)",
		Series: []report.Series{{Name: "added", Class: "add"}, {Name: "replaced", Class: "replace"}, {Name: "removed", Class: "remove"}}}
	rows := map[string]int{}
	for _, u := range p.Users {
		seen := map[string]bool{}
		for _, c := range u.shown() {
			attr := report.Attribute(c.Path)
			kind := string(c.Kind)
			k := strings.Index("+~-", kind)
			if k < 0 || seen[attr+kind] {
				continue
			}
			seen[attr+kind] = true
			i, ok := rows[attr]
			if !ok {
				i = len(chart.Rows)
				rows[attr] = i
				chart.Rows = append(chart.Rows, report.BarRow{Label: attr, Title: attr, Values: make([]int, 3)})
			}
			chart.Rows[i].Values[k]++
		}
	}
	chart.Sort()
	d.Chart = chart

	// Rejected: the records the conversion rejected, then the employees the
	// plan rejects (ambiguous matches, ID changes that cannot apply). An
	// employee rejected by validation has no source of its own in the plan:
	// its records are among the conversion's rejections.
	maxUsers := info.MaxUsers
	if maxUsers <= 0 {
		maxUsers = 2000
	}
	d.Rejected = info.Rejected
	if len(d.Rejected) > maxUsers {
		d.Rejected, d.MoreRejected = d.Rejected[:maxUsers], len(d.Rejected)-maxUsers
	}
	for _, up := range p.Users {
		srcs := sourceStrings(up.Sources)
		switch u := up; u.Action {
		case Reject:
			if len(srcs) == 0 && len(info.Rejected) > 0 {
				continue
			}
			if len(d.Rejected) >= maxUsers {
				d.MoreRejected++
				continue
			}
			d.Rejected = append(d.Rejected, report.Rejected{Employee: u.EmployeeNumber, Sources: srcs, Reasons: u.Reasons})
		case Create, Update, Deactivate:
			if len(d.Users) >= maxUsers {
				d.MoreUsers++
				continue
			}
			pu := report.PlanUser{Action: u.Action.String(), Employee: u.EmployeeNumber, UserName: u.UserName, ID: u.ID, Sources: srcs, Notes: u.Notes}
			for _, c := range changeEntries(u.shown()) {
				pu.Changes = append(pu.Changes, report.PlanChange{Kind: c.Kind, Path: report.ShortPath(c.Path), Old: shortJSON(c.Old), New: shortJSON(c.New)})
			}
			d.Users = append(d.Users, pu)
		}
	}
	return d
}

func planFacts(f *File, info HTMLInfo) []report.Fact {
	var facts []report.Fact
	add := func(label, value string, mono bool) {
		if value != "" {
			facts = append(facts, report.Fact{Label: label, Value: value, Mono: mono})
		}
	}
	switch f.Target.Kind {
	case "live":
		add("Target", f.Target.BaseURL+" (read live)", true)
	default:
		add("Target", "snapshot "+f.Target.Snapshot, true)
		add("Snapshot SHA-256", f.Target.SnapshotSHA256, true)
	}
	add("Company", info.CompanyID, true)
	add("Users read from the target", fmt.Sprint(f.Target.Users), false)
	add("Existing-record handling", f.Existing, false)
	if dm := f.DeactivateMissing; dm != nil {
		add("Deactivate missing users", fmt.Sprintf("yes, at most %s (%d users); terminationDate %s", dm.Max, dm.Allowed, dm.TerminationDate), false)
	}
	add("Mapping version", f.Mapping.Version, true)
	add("Mapping overrides", f.Mapping.Overrides, true)
	add("Configuration", f.Mapping.Config, true)
	return facts
}

// shortJSON shows a changed value: strings without quotes, anything else as
// JSON, cut at 200 characters.
func shortJSON(b []byte) string {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && !strings.Contains(s[1:len(s)-1], `"`) {
		s = s[1 : len(s)-1]
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}

func sourceStrings(src []batcher.Source) []string {
	out := make([]string, 0, len(src))
	for _, s := range src {
		v := fmt.Sprintf("%s:%d", s.File, s.Line)
		if s.Record != "" {
			v += " (" + s.Record + ")"
		}
		out = append(out, v)
	}
	return out
}
