package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"scimigrate/batcher/apply"
	"scimigrate/batcher/journal"
	"scimigrate/batcher/plan"
	"scimigrate/batcher/report"
	"scimigrate/fixtures/gen"
	"scimigrate/upsim"
)

// htmlOut keeps the sign-off documents the tests render (make report-html).
var htmlOut = flag.String("html-out", "", "copy the rendered plan.html and report.html into this directory")

func keepHTML(t *testing.T, src, name string) {
	if *htmlOut == "" {
		return
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(*htmlOut, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*htmlOut, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("kept %s", filepath.Join(*htmlOut, name))
}

// page is a parsed sign-off document.
type page struct {
	t    *testing.T
	root *html.Node
}

func parsePage(t *testing.T, path string) *page {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 || !st.Mode().IsRegular() {
		t.Errorf("%s: mode %v, want a regular file 0600", path, st.Mode())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root, err := html.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	p := &page{t: t, root: root}
	p.each(func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		switch n.Data {
		case "script", "link", "img", "iframe", "object", "embed":
			t.Errorf("%s: <%s> in a self-contained document", path, n.Data)
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") || a.Key == "src" || a.Key == "href" {
				t.Errorf("%s: <%s %s=%q>", path, n.Data, a.Key, a.Val)
			}
		}
	})
	if !strings.Contains(p.text(root), "Contains personal data") {
		t.Errorf("%s does not say it holds personal data", path)
	}
	return p
}

func (p *page) each(fn func(*html.Node)) {
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		fn(n)
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.root)
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func (p *page) text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// figures returns every data-figure by name, as the number shown.
func (p *page) figures() map[string]int {
	out := map[string]int{}
	p.each(func(n *html.Node) {
		if k, ok := attr(n, "data-figure"); ok {
			v, err := strconv.Atoi(strings.ReplaceAll(p.text(n), ",", ""))
			if err != nil {
				p.t.Errorf("figure %s: %q", k, p.text(n))
			}
			out[k] = v
		}
	})
	return out
}

// all returns the values of an attribute over the document, in order.
func (p *page) all(key string) []string {
	var out []string
	p.each(func(n *html.Node) {
		if v, ok := attr(n, key); ok {
			out = append(out, v)
		}
	})
	return out
}

// rows returns the text cells of the rows of a section's tables (by the
// section's id).
func (p *page) rows(section string) [][]string {
	var out [][]string
	p.each(func(n *html.Node) {
		if n.Type != html.ElementNode || n.Data != "section" {
			return
		}
		if id, _ := attr(n, "id"); id != section {
			return
		}
		sub := &page{t: p.t, root: n}
		sub.each(func(tr *html.Node) {
			if tr.Type != html.ElementNode || tr.Data != "tr" || tr.Parent == nil || tr.Parent.Data != "tbody" {
				return
			}
			var cells []string
			for c := tr.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && c.Data == "td" {
					cells = append(cells, strings.TrimSpace(p.text(c)))
				}
			}
			out = append(out, cells)
		})
	})
	return out
}

// TestPlanHTML: plan --out writes plan.html beside plan.json, and its
// figures are plan.json's: the counts, the inputs' hashes, the users
// changed per attribute (recounted here from plan.json's changes), the
// rejected employees and the target.
func TestPlanHTML(t *testing.T) {
	out := t.TempDir()
	r := runCLI(t, planFixtures, "plan", "--config", "config.yaml", "--snapshot", "snapshot.ndjson", "--out", out,
		"update.txt", "create.txt", "remove.txt")
	if r.code != 1 { // employee 9999 is rejected
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	f, err := plan.ReadFile(out) // with the users' changes (Load keeps identities only)
	if err != nil {
		t.Fatal(err)
	}
	p := parsePage(t, filepath.Join(out, plan.HTMLFile))
	keepHTML(t, filepath.Join(out, plan.HTMLFile), "plan.html")
	want := map[string]int{"create": f.Summary.Create, "update": f.Summary.Update, "deactivate": f.Summary.Deactivate,
		"unchanged": f.Summary.Unchanged, "rejected": f.Summary.Rejected}
	if got := p.figures(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("figures %v, plan.json says %v", got, want)
	}
	if want["create"] == 0 || want["update"] == 0 || want["rejected"] == 0 {
		t.Fatalf("the fixture should create, update and reject: %v", want)
	}
	var hashes []string
	for _, in := range f.Inputs {
		hashes = append(hashes, in.SHA256)
	}
	if got := p.all("data-sha256"); strings.Join(got, " ") != strings.Join(hashes, " ") || len(got) != 3 {
		t.Errorf("input hashes %v, plan.json %v", got, hashes)
	}
	// Users per attribute, recounted from plan.json.
	perAttr := map[string]int{}
	for _, u := range f.Users {
		seen := map[string]bool{}
		for _, c := range u.Changes {
			k := report.Attribute(c.Path) + c.Kind
			if !seen[k] {
				seen[k] = true
				perAttr[report.Attribute(c.Path)]++
			}
		}
	}
	got := map[string]int{}
	for _, row := range p.rows("attributes") {
		n, _ := strconv.Atoi(row[len(row)-1])
		got[row[0]] = n
	}
	if len(perAttr) == 0 || fmt.Sprint(got) != fmt.Sprint(perAttr) {
		t.Errorf("changes by attribute %v, plan.json %v", got, perAttr)
	}
	bars := p.all("data-total")
	if len(bars) != len(perAttr) {
		t.Errorf("%d bars in the chart, %d attributes", len(bars), len(perAttr))
	}
	// Rejected: employee 9999 with its reason and source line.
	rej := p.rows("rejected")
	if len(rej) != 1 || rej[0][0] != "9999" || !strings.Contains(rej[0][1], "update.txt:") || !strings.Contains(rej[0][2], "no user of the target") {
		t.Errorf("rejected rows %q", rej)
	}
	// Users changed: every create and update, by employee.
	n := 0
	for _, row := range p.rows("users") {
		if row[0] == "create" || row[0] == "update" {
			n++
		}
	}
	if n != f.Summary.Create+f.Summary.Update {
		t.Errorf("%d users listed, plan.json changes %d", n, f.Summary.Create+f.Summary.Update)
	}
	body := p.text(p.root)
	for _, s := range []string{f.Target.SnapshotSHA256, f.Mapping.Version, "11111111-2222-3333-4444-555555555555"} {
		if !strings.Contains(body, s) {
			t.Errorf("plan.html does not show %q", s)
		}
	}
}

// signOffInput writes a generated input under a hostile file name (markup,
// shown in the inputs and every source line), with two employees sharing a
// login (the service refuses the second: UNIQUENESS) and a record too wide
// to read (the conversion rejects it).
func signOffInput(t *testing.T, dir string, rows int) string {
	var b bytes.Buffer
	if err := gen.Write(&b, gen.Options{Rows: rows, Seed: 11, Mix: true}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\r\n")
	var login1 string
	for i, l := range lines {
		f := strings.Split(l, ",")
		if len(f) < 8 || f[0] != "305" {
			continue
		}
		switch f[4] {
		case "E0000001":
			login1 = f[5]
		case "E0000002":
			f[5], f[7] = login1, login1
		}
		lines[i] = strings.Join(f, ",")
	}
	lines = append(lines[:len(lines)-1], "305,Too,,Wide,E9999999"+strings.Repeat(",x", 200), "")
	in := filepath.Join(dir, "employees<script>alert(1)<.txt")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\r\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return in
}

// TestOutcomeHTML applies a generated file to the simulator with 429s,
// 5xx and dropped connections, then checks the HTML outcome report against
// the journal and the simulator: the counts, the failures grouped by code
// with their employees and source lines, the rejected record, the inputs'
// hashes, and a timeline whose 429 and error lanes count exactly what the
// simulator injected.
func TestOutcomeHTML(t *testing.T) {
	dir := t.TempDir()
	in := signOffInput(t, dir, 150)
	const token = "s3cr3t-static-token"
	sim := upsim.NewServer(upsim.Options{Seed: 5, AccessToken: token, CompletionDelay: 20 * time.Millisecond, PageSize: 40,
		Faults: upsim.Faults{RateLimit: 0.15, Unavailable: 0.08, DropAfterAccept: 0.05, MaxFaults: 30}})
	defer sim.Close()
	t.Setenv("SCIMIGRATE_ACCESS_TOKEN", token)
	jpath := filepath.Join(dir, "journal.db")
	r := runCLI(t, dir, "apply", "--base-url", sim.URL(), "--create-only", "--journal", jpath, "--poll-interval", "10ms",
		"--concurrency", "3", "--company-id", "c0ffee00-0000-0000-0000-000000000001", in)
	if r.code != 1 {
		t.Fatalf("apply exit %d (want 1: a record rejected, an employee refused)\n%s", r.code, r.stderr)
	}
	// apply wrote the HTML report beside the CSV; 'report' writes it again.
	if _, err := os.Stat(jpath + ".report.html"); err != nil {
		t.Errorf("apply wrote no HTML report: %v", err)
	}
	out := filepath.Join(dir, "report.html")
	if r := runCLI(t, dir, "report", "--journal", jpath, "--format", "html", "-o", out); r.code != 0 {
		t.Fatalf("report exit %d\n%s", r.code, r.stderr)
	}
	keepHTML(t, out, "report.html")
	raw, _ := os.ReadFile(out)
	if strings.Contains(string(raw), "<script>") || !strings.Contains(string(raw), "employees&lt;script&gt;alert(1)&lt;.txt") {
		t.Errorf("the hostile name is not escaped (or missing)")
	}
	if strings.Contains(string(raw), token) {
		t.Errorf("the access token is in the report")
	}
	p := parsePage(t, out)

	s, err := apply.Summarize(context.Background(), jpath)
	if err != nil {
		t.Fatal(err)
	}
	var rows []apply.ReportRow
	rr := runCLI(t, dir, "report", "--journal", jpath, "--format", "json")
	if err := json.Unmarshal([]byte(rr.stdout), &rows); err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, row := range rows {
		if row.Outcome == "rejected" {
			rejected++
		}
	}
	want := map[string]int{"operations": s.Operations, "succeeded": s.Succeeded, "partial": s.Partial, "failed": s.Failed,
		"reconciled": s.Reconciled, "rejected": rejected}
	if got := p.figures(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("figures %v, journal says %v", got, want)
	}
	if s.Failed == 0 || rejected != 1 || s.Operations != 150 {
		t.Fatalf("the input should give a failure and a rejected record: %+v, %d rejected", s, rejected)
	}
	// Failures by code: every failed or partial operation, under its codes.
	byCode := map[string]map[string]bool{}
	for _, f := range s.Failures {
		for _, e := range f.Errors {
			code := e.Code
			if code == "" {
				code = "(no code)"
			}
			if byCode[code] == nil {
				byCode[code] = map[string]bool{}
			}
			byCode[code][f.EmployeeNumber] = true
		}
	}
	codes := p.all("data-code")
	emps := p.all("data-employees")
	if len(codes) != len(byCode) {
		t.Errorf("failure groups %v, journal codes %v", codes, byCode)
	}
	for i, c := range codes {
		if fmt.Sprint(len(byCode[c])) != emps[i] {
			t.Errorf("group %s: %s employees, journal %d", c, emps[i], len(byCode[c]))
		}
	}
	if byCode["UNIQUENESS"]["E0000002"] != true {
		t.Errorf("E0000002 is not among the UNIQUENESS failures: %v", byCode)
	}
	found := false
	for _, row := range p.rows("failures") {
		if row[0] == "E0000002" && strings.Contains(row[3], "alert(1)<.txt:") {
			found = true
		}
	}
	if !found {
		t.Errorf("E0000002's failure row with its source line is missing: %q", p.rows("failures"))
	}
	rej := p.rows("rejected")
	if len(rej) != 1 || !strings.Contains(rej[0][1], "alert(1)<.txt:") {
		t.Errorf("rejected rows %q", rej)
	}
	// Inputs' hash.
	h, _, _ := plan.HashFile(in)
	if got := p.all("data-sha256"); len(got) != 1 || got[0] != h {
		t.Errorf("input hashes %v, want %s", got, h)
	}
	// Timeline: the lanes count what the simulator did.
	st := sim.Stats()
	lanes := map[string]string{}
	p.each(func(n *html.Node) {
		if k, ok := attr(n, "data-lane"); ok {
			lanes[k], _ = attr(n, "data-total")
		}
	})
	if st.RateLimited == 0 || lanes["throttled"] != fmt.Sprint(st.RateLimited) {
		t.Errorf("429 lane %s, simulator answered %d 429s", lanes["throttled"], st.RateLimited)
	}
	if lanes["errors"] != fmt.Sprint(st.Unavailable+st.Dropped) {
		t.Errorf("error lane %s, simulator injected %d 5xx and %d drops", lanes["errors"], st.Unavailable, st.Dropped)
	}
	if n, _ := strconv.Atoi(lanes["sent"]); n < st.BulkAccepted {
		t.Errorf("sent lane %d, simulator accepted %d Bulk requests", n, st.BulkAccepted)
	}
	if status, _ := p.all("data-status"), 0; len(status) != 1 || status[0] != "partial" {
		t.Errorf("status %v", status)
	}
}

// TestApplyReportsAfterFatalError: a target that fails fatally after the
// first request (its provision status answers 401: the credentials were
// revoked) ends apply with exit 2, and the CSV and HTML reports are still
// written, showing the operations without an outcome and the stop.
func TestApplyReportsAfterFatalError(t *testing.T) {
	dir := t.TempDir()
	in := signOffInput(t, dir, 20)
	sim := upsim.NewServer(upsim.Options{Seed: 1, AccessToken: "tok", CompletionDelay: time.Millisecond})
	defer sim.Close()
	target, _ := url.Parse(sim.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	var bulks atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Bulk") {
			bulks.Add(1)
		}
		if strings.Contains(r.URL.Path, "/provisions/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"revoked"}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	t.Setenv("SCIMIGRATE_ACCESS_TOKEN", "tok")
	jpath := filepath.Join(dir, "journal.db")
	r := runCLI(t, dir, "apply", "--base-url", front.URL, "--create-only", "--journal", jpath, "--poll-interval", "10ms",
		"--concurrency", "1", "--company-id", "c0ffee00-0000-0000-0000-000000000001", "--report", filepath.Join(dir, "night.csv"), "--report-html", filepath.Join(dir, "night.html"), in)
	if r.code != 2 {
		t.Fatalf("apply exit %d, want 2\n%s", r.code, r.stderr)
	}
	if bulks.Load() != 1 {
		t.Errorf("%d Bulk requests, want 1", bulks.Load())
	}
	csvB, err := os.ReadFile(filepath.Join(dir, "night.csv"))
	if err != nil {
		t.Fatalf("no CSV report after exit 2: %v\n%s", err, r.stderr)
	}
	if st, _ := os.Stat(filepath.Join(dir, "night.csv")); st.Mode().Perm() != 0o600 {
		t.Errorf("CSV report mode %v", st.Mode())
	}
	// One row per source record: the 20 employees' records, sent but
	// without an outcome, and the rejected one.
	lines := strings.Split(strings.TrimSpace(string(csvB)), "\n")
	if want := countRecords(t, in); len(lines)-1 != want {
		t.Errorf("CSV report has %d rows, input has %d records", len(lines)-1, want)
	}
	if !strings.Contains(string(csvB), "unfinished (sent)") || !strings.Contains(string(csvB), "rejected") {
		t.Errorf("CSV report does not show the unfinished and rejected records:\n%s", csvB)
	}
	p := parsePage(t, filepath.Join(dir, "night.html"))
	keepHTML(t, filepath.Join(dir, "night.html"), "report-stopped.html")
	fig := p.figures()
	if fig["operations"] != 20 || fig["unfinished"] != 20 || fig["succeeded"] != 0 || fig["rejected"] != 1 {
		t.Errorf("figures %v", fig)
	}
	status := p.all("data-status")
	if len(status) != 1 || status[0] != "failed" {
		t.Errorf("status %v", status)
	}
	body := p.text(p.root)
	if !strings.Contains(body, "stopped before the end") || !strings.Contains(body, "HTTP 401") {
		t.Errorf("the report does not say why the run stopped")
	}
	// The journal recorded the run's start and its fatal end.
	j, err := journal.OpenExisting(jpath)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var kinds []string
	j.EachEvent(context.Background(), func(e journal.Event) error {
		if e.Kind != journal.EventAttempt {
			kinds = append(kinds, e.Kind)
		}
		return nil
	})
	if strings.Join(kinds, " ") != "run-start run-end" {
		t.Errorf("run events %v", kinds)
	}
}

// TestOutcomeHTMLChanges: after a first load, a changed input is planned
// against the live target and the saved plan applied; the outcome report's
// changes by attribute are the plan's (every update applied), and plan.html
// made against the live target names it.
func TestOutcomeHTMLChanges(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	if err := gen.Write(&b, gen.Options{Rows: 30, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(dir, "first.txt")
	if err := os.WriteFile(first, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\r\n")
	for i, l := range lines {
		f := strings.Split(l, ",")
		if len(f) < 8 || f[0] != "305" {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(f[4], "E"))
		switch {
		case n <= 5:
			f[1] = "Renamed"
		case n <= 8:
			f[3] = "Newname"
		}
		lines[i] = strings.Join(f, ",")
	}
	second := filepath.Join(dir, "second.txt")
	if err := os.WriteFile(second, []byte(strings.Join(lines, "\r\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	sim := upsim.NewServer(upsim.Options{Seed: 2, AccessToken: "tok", CompletionDelay: 5 * time.Millisecond})
	defer sim.Close()
	t.Setenv("SCIMIGRATE_ACCESS_TOKEN", "tok")
	company := "c0ffee00-0000-0000-0000-000000000001"
	if r := runCLI(t, dir, "apply", "--base-url", sim.URL(), "--create-only", "--company-id", company, "--journal", filepath.Join(dir, "first.db"),
		"--poll-interval", "10ms", first); r.code != 0 {
		t.Fatalf("first load: exit %d\n%s", r.code, r.stderr)
	}
	planDir := filepath.Join(dir, "plan")
	if r := runCLI(t, dir, "plan", "--base-url", sim.URL(), "--company-id", company, "--out", planDir, second); r.code != 0 {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}
	keepHTML(t, filepath.Join(planDir, plan.HTMLFile), "plan-live.html")
	pp := parsePage(t, filepath.Join(planDir, plan.HTMLFile))
	saved, err := plan.ReadFile(planDir) // with the users' changes (Load keeps identities only)
	if err != nil {
		t.Fatal(err)
	}
	sum := saved.Summary
	if fig := pp.figures(); fig["update"] != sum.Update || fig["unchanged"] != sum.Unchanged || fig["create"] != 0 || sum.Update < 8 {
		t.Errorf("plan figures %v, plan.json %+v", fig, sum)
	}
	if body := pp.text(pp.root); !strings.Contains(body, sim.URL()) || !strings.Contains(body, company) {
		t.Errorf("plan.html does not name the target and the company")
	}
	jpath := filepath.Join(dir, "second.db")
	if r := runCLI(t, dir, "apply", "--base-url", sim.URL(), "--journal", jpath, "--poll-interval", "10ms", planDir); r.code != 0 {
		t.Fatalf("apply plan: exit %d\n%s", r.code, r.stderr)
	}
	keepHTML(t, jpath+".report.html", "report-changes.html")
	p := parsePage(t, jpath+".report.html")
	// Operations per attribute: each updated user is one PATCH.
	want := map[string]string{}
	for _, u := range saved.Users {
		seen := map[string]bool{}
		for _, c := range u.Changes {
			a := report.Attribute(c.Path)
			if seen[a] {
				continue
			}
			seen[a] = true
			n, _ := strconv.Atoi(want[a])
			want[a] = strconv.Itoa(n + 1)
		}
	}
	got := map[string]string{}
	for _, row := range p.rows("attributes") {
		if row[2] != "0" || row[3] != "0" || row[1] != row[4] {
			t.Errorf("attribute row %q: not every operation applied", row)
		}
		got[row[0]] = row[1]
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || want["name.givenName"] != "5" || want["name.familyName"] != "3" {
		t.Errorf("outcome changes by attribute %v, plan.json %v", got, want)
	}
	body := p.text(p.root)
	ph, _, _ := plan.HashFile(filepath.Join(planDir, plan.PlanFile))
	for _, s := range []string{planDir, ph, company, saved.Inputs[0].SHA256} {
		if !strings.Contains(body, s) {
			t.Errorf("the outcome does not show %q", s)
		}
	}
}

// TestMismatchedJournalKeepsItsReport: apply refused because the journal
// holds another input (exit 2) leaves that journal's report alone: its
// inputs, its rejected records.
func TestMismatchedJournalKeepsItsReport(t *testing.T) {
	dir := t.TempDir()
	in := signOffInput(t, dir, 5)
	other := filepath.Join(dir, "other.txt")
	var b bytes.Buffer
	gen.Write(&b, gen.Options{Rows: 3, Seed: 9})
	os.WriteFile(other, b.Bytes(), 0o600)
	sim := upsim.NewServer(upsim.Options{Seed: 1, AccessToken: "tok", CompletionDelay: time.Millisecond})
	defer sim.Close()
	t.Setenv("SCIMIGRATE_ACCESS_TOKEN", "tok")
	jpath := filepath.Join(dir, "j.db")
	args := []string{"apply", "--base-url", sim.URL(), "--create-only", "--company-id", "c0ffee00-0000-0000-0000-000000000001",
		"--journal", jpath, "--poll-interval", "10ms"}
	if r := runCLI(t, dir, append(args, in)...); r.code != 1 {
		t.Fatalf("first apply: exit %d\n%s", r.code, r.stderr)
	}
	before, _ := os.ReadFile(jpath + ".report.html")
	r := runCLI(t, dir, append(args, other)...)
	if r.code != 2 || !strings.Contains(r.stderr, "different input") {
		t.Fatalf("second apply: exit %d\n%s", r.code, r.stderr)
	}
	after, _ := os.ReadFile(jpath + ".report.html")
	if !bytes.Equal(before, after) {
		t.Errorf("the first input's report was rewritten")
	}
	h, _, _ := plan.HashFile(in)
	out := filepath.Join(dir, "again.html")
	if r := runCLI(t, dir, "report", "--journal", jpath, "--format", "html", "-o", out); r.code != 0 {
		t.Fatalf("report: %d %s", r.code, r.stderr)
	}
	p := parsePage(t, out)
	if got := p.all("data-sha256"); len(got) != 1 || got[0] != h {
		t.Errorf("the journal's inputs became %v (want the first input, %s)", got, h)
	}
	if fig := p.figures(); fig["rejected"] != 1 || fig["operations"] != 5 {
		t.Errorf("figures %v", fig)
	}
}
