package mapping

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// go test ./mapping/ -update regenerates docs/mapping-reference.md.
var updateReference = flag.Bool("update", false, "regenerate docs/mapping-reference.md")

var referencePath = filepath.Join("..", "docs", "mapping-reference.md")

func renderReference(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteReference(&b, loadEmbeddedForTest(t)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReferenceIsUpToDate(t *testing.T) {
	got := renderReference(t)
	if *updateReference {
		if err := os.MkdirAll(filepath.Dir(referencePath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(referencePath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("%v (run go test ./mapping/ -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go test ./mapping/ -update", referencePath)
	}
}

func TestReferenceIsDeterministic(t *testing.T) {
	a, b := renderReference(t), renderReference(t)
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings differ")
	}
}

func TestReferenceContent(t *testing.T) {
	ref := string(renderReference(t))
	for _, want := range []string{
		"## 305 — Employee Import (enhanced)",
		"- Width: 137 columns",
		"- Key (employee ID): column 5 (Employee ID)",
		"| 7 | Password | not sent: passwords sent by import are ignored",
		"| 42 | Custom 21 | `urn:ietf:params:scim:schemas:extension:spend:2.0:User:customData[id eq \"custom21\"].value` | string | The page reads",
		"| 81 | A Payment Request has been Assigned | `urn:ietf:params:scim:schemas:extension:spend:2.0:WorkflowPreference:emailStatusChangeOnPayment` with option `paymentRequestAssigned`; otherwise not sent:",
		"Only when column 51 (Send email when the payment status changes) is blank; otherwise the value is checked, warned about and not sent.",
		"| 8 | Can Temporarily Approve Reports | gate (Y or N; another value is an error): Y switches on columns 9, 10; Y with all of them blank is warned about and counted |",
		"With column 10 (Temporary Approval Delegation To Date): both or neither, and this date not after that one (else the record is rejected); under onInvalidOptional: drop an invalid date drops both.",
		"| enddatetime |",
		"Only with column 11 (Work Phone) (in the record, or already on the user); otherwise warned about and not sent.",
		"The same value as column 59 (Employee ID of the expense report approver) is warned about and sent once (there).",
		"Warns when it holds a value: sent as biManager.employeeNumber",
		"with option `roleGroupsFromSegments`; otherwise a value rejects the record:",
		"Only when column 8 (Can Temporarily Approve Reports) is Y.",
		"| 3 | Delegate ID | variable `{delegate}` |",
		"- Intent: `idchange`",
		"| `roleGroupsFromSegments` |",
		"### reimbursementType",
		"| `ADPPAYR` | `ADP_PAYROLL` |",
	} {
		if !strings.Contains(ref, want) {
			t.Errorf("reference lacks %q", want)
		}
	}
	// Every row of every table has a line.
	set := loadEmbeddedForTest(t)
	rows := 0
	for _, r := range set.Records() {
		rows += len(set.Table(r).Columns)
	}
	if n := strings.Count(ref, "\n| ") - strings.Count(ref, "\n| Pos |") - strings.Count(ref, "\n| Option |") - strings.Count(ref, "\n| Code |"); n < rows {
		t.Errorf("%d table lines, want at least %d", n, rows)
	}
}

func TestMarkdownCellEscapes(t *testing.T) {
	if got := mdCell("a|b\nc"); got != `a\|b c` {
		t.Errorf("mdCell: %q", got)
	}
	if got := code("a`b"); got != "``a`b``" {
		t.Errorf("code: %q", got)
	}
}
