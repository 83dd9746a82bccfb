package report

import (
	"io"
)

// PlanDoc is plan.html: what a plan will do.
type PlanDoc struct {
	Doc
	// Users are the users the plan changes (creates, updates,
	// deactivations), in plan order; MoreUsers counts those left out
	// (plan.json has them all).
	Users     []PlanUser
	MoreUsers int
	Requests  int // Bulk requests
	Waves     int // dependency waves
	Warnings  []string
}

// PlanUser is one user the plan changes.
type PlanUser struct {
	Action   string // create, update, deactivate
	Employee string
	UserName string
	ID       string
	Sources  []string
	Changes  []PlanChange
	Notes    []string
}

// PlanChange is one attribute change.
type PlanChange struct {
	Kind string // +, ~, -
	Path string
	Old  string
	New  string
}

// OutcomeDoc is the outcome report: what an apply did.
type OutcomeDoc struct {
	Doc
	// Status says how the run ended; StatusClass is ok, partial or failed.
	Status      string
	StatusClass string
	Timeline    *Timeline
	Failures    []FailureGroup
	// MoreFailures counts failed or partly applied operations left out of
	// Failures (the CSV report has them all).
	MoreFailures int
}

// FailureGroup is the operations that failed with one message code.
type FailureGroup struct {
	Code      string // the service's message code (INVALID_VALUE), or "(no code)"
	Employees int    // distinct employees
	Items     []FailureItem
}

// FailureItem is one affected employee.
type FailureItem struct {
	Employee string
	UserName string
	Outcome  string // failed, partial
	Sources  []string
	Where    string // the extension, "references", or "operation"
	HTTPCode int
	Message  string
}

// RenderPlan writes plan.html.
func RenderPlan(w io.Writer, d *PlanDoc) error { return planTmpl.ExecuteTemplate(w, "page", d) }

// RenderOutcome writes the outcome report.
func RenderOutcome(w io.Writer, d *OutcomeDoc) error {
	return outcomeTmpl.ExecuteTemplate(w, "page", d)
}
