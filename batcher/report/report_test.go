package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// sampleOutcome is an outcome document whose every text field carries
// markup, as a hostile or unlucky input could.
func sampleOutcome() *OutcomeDoc {
	evil := `<script>alert("x")</script>`
	t0 := time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)
	return &OutcomeDoc{
		Doc: Doc{Title: "Migration outcome", Subtitle: "company " + evil, Generated: t0, Tool: "scimigrate test",
			Facts:  []Fact{{Label: "Target", Value: "http://127.0.0.1/" + evil}},
			Inputs: []Input{{File: evil + ".txt", SHA256: "ab", Bytes: 12}},
			Counts: []Count{{Key: "succeeded", Label: "succeeded", N: 1234567, Class: "ok"}},
			Chart: &BarChart{Caption: "c", Series: []Series{{Name: "applied", Class: "applied"}},
				Rows: []BarRow{{Label: evil, Title: evil, Values: []int{3}}}},
			Rejected: []Rejected{{Employee: evil, Sources: []string{"a.txt:3 (305)"}, Reasons: []string{evil}}}},
		Status: "finished " + evil, StatusClass: "ok",
		Timeline: &Timeline{Start: t0, End: t0.Add(time.Minute),
			Lanes: []Lane{{Name: "Bulk requests sent", Class: "sent", Times: []time.Time{t0, t0.Add(30 * time.Second)}}},
			Marks: []Mark{{At: t0, Label: evil, Class: "start"}}},
		Failures: []FailureGroup{{Code: evil, Employees: 1, Items: []FailureItem{{Employee: evil, UserName: evil, Outcome: "failed",
			Sources: []string{evil}, Where: evil, Message: evil, HTTPCode: 400}}}},
	}
}

// TestRenderEscapes: a name holding <script> comes out as text, the
// document has no script element, no event handler and no external
// reference, and it says that it holds personal data.
func TestRenderEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := RenderOutcome(&b, sampleOutcome()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "<script") {
		t.Fatalf("unescaped <script> in the output")
	}
	if !strings.Contains(out, "&lt;script&gt;") {
		t.Errorf("the name is not in the output, escaped")
	}
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	texts := 0
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Data == "script" || n.Data == "link" || n.Data == "img" || n.Data == "iframe" || n.Data == "object" {
				t.Errorf("element <%s> in a self-contained document", n.Data)
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") || ((a.Key == "href" || a.Key == "src") && !strings.HasPrefix(a.Val, "#")) {
					t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
				}
			}
		}
		if n.Type == html.TextNode && strings.Contains(n.Data, `<script>alert("x")</script>`) {
			texts++
		}
	})
	if texts < 8 {
		t.Errorf("the hostile name appears as text %d times, want every field (>= 8)", texts)
	}
	if !strings.Contains(text(doc), "Contains personal data") {
		t.Errorf("the document does not say it holds personal data")
	}
	if strings.Contains(out, "url(") || strings.Contains(out, "@import") || strings.Contains(out, "@font-face") {
		t.Errorf("the CSS fetches something")
	}
	if !strings.Contains(out, `data-figure="succeeded">1,234,567<`) {
		t.Errorf("figure not rendered with thousands separators")
	}
}

// TestAttribute: chart labels name the attribute, keeping only filters that
// name the field.
func TestAttribute(t *testing.T) {
	for in, want := range map[string]string{
		"name.givenName": "name.givenName",
		`urn:ietf:params:scim:schemas:extension:spend:2.0:User:customData[id eq "custom7"].value`: `spend:User:customData[id eq "custom7"].value`,
		`urn:ietf:params:scim:schemas:extension:spend:2.0:Role:roles[roleName eq "Expense User"]`: `spend:Role:roles`,
		`emails[type eq "work"].value`: `emails.value`,
		`urn:ietf:params:scim:schemas:extension:spend:2.0:Approver:report[primary eq true]`:   `spend:Approver:report`,
		`urn:ietf:params:scim:schemas:extension:travel:2.0:User:customFields[name eq "Cost"]`: `travel:User:customFields[name eq "Cost"]`,
	} {
		if got := Attribute(in); got != want {
			t.Errorf("Attribute(%q) = %q, want %q", in, got, want)
		}
	}
}

func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
	})
	return b.String()
}
