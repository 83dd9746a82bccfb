// Package report renders the sign-off documents: plan.html (what a plan
// will do) and the outcome report (what an apply did). Each is one
// self-contained HTML file: inline CSS and inline SVG charts, no script, no
// font or image from anywhere, so it opens offline, prints (print CSS), and
// can be attached to an e-mail. Rendering uses html/template, so every value
// from the input (names, messages, file names) is escaped.
//
// The documents hold the same employee data as the CSV report (employee
// numbers, user names, the source lines, the service's messages) and say so
// at the top; the CLI writes them as it writes every file holding employee
// data (mode 0600, a temporary file renamed into place).
//
// The package knows nothing of plans or journals: batcher/plan and
// batcher/apply build a PlanDoc or an OutcomeDoc and call RenderPlan or
// RenderOutcome.
package report

import (
	"embed"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"time"
)

//go:embed templates/*.tmpl templates/style.css
var files embed.FS

var (
	planTmpl    = parse("plan.tmpl")
	outcomeTmpl = parse("outcome.tmpl")
)

func parse(body string) *template.Template {
	css, err := files.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	t := template.New("page").Funcs(template.FuncMap{
		// The style sheet is ours, embedded at build time: trusted CSS.
		"css":      func() template.CSS { return template.CSS(css) },
		"num":      formatInt,
		"utc":      func(t time.Time) string { return formatTime(t) },
		"join":     strings.Join,
		"plus":     func(a, b int) int { return a + b },
		"bytesize": formatBytes,
	})
	return template.Must(t.ParseFS(files, "templates/page.tmpl", "templates/"+body))
}

// Fact is one line of a document's header table.
type Fact struct {
	Label string
	Value string
	Mono  bool // an identifier or hash: monospace, breaks anywhere
}

// Input is one input file with its content hash.
type Input struct {
	File   string
	SHA256 string
	Bytes  int64
}

// Count is one headline figure. Key names it for machines
// (data-figure="create").
type Count struct {
	Key   string
	Label string
	N     int
	Class string // colour: create, update, deactivate, unchanged, rejected, ok, partial, failed, reconciled, pending
}

// Rejected is an input record (or employee) that was not sent, with why.
type Rejected struct {
	Employee string
	Sources  []string // file:line (record type)
	Reasons  []string
}

// Doc is what both documents have.
type Doc struct {
	Title     string
	Subtitle  string
	Generated time.Time
	Tool      string
	Facts     []Fact
	Inputs    []Input
	Counts    []Count
	Chart     *BarChart
	Rejected  []Rejected
	// MoreRejected counts rejections left out of Rejected (see the CSV).
	MoreRejected int
}

func formatInt(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + formatInt(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func formatBytes(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 10<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

var (
	urnPrefix = regexp.MustCompile(`urn:ietf:params:scim:schemas:extension:([a-z]+):2\.0:`)
	filterRE  = regexp.MustCompile(`\[([A-Za-z.]+) eq ("[^"]*"|true|false)\]`)
)

// Attribute names the attribute a SCIM path changes, short enough for a
// chart label: the extension URN becomes its short name
// ("spend:User:customData"), and a filter is kept only when it names the
// field itself (customData[id eq "custom7"], customFields[name eq "…"]):
// roles[roleName eq "X"] and roles[roleName eq "Y"] are both "roles".
func Attribute(path string) string {
	p := urnPrefix.ReplaceAllString(path, "$1:")
	return filterRE.ReplaceAllStringFunc(p, func(m string) string {
		sub := filterRE.FindStringSubmatch(m)
		if sub[1] == "id" || sub[1] == "name" {
			return m
		}
		return ""
	})
}

// ShortPath abbreviates the extension URN of a SCIM path to its short name
// (spend:Role:roles[roleName eq "X"]), keeping everything else.
func ShortPath(path string) string { return urnPrefix.ReplaceAllString(path, "$1:") }
