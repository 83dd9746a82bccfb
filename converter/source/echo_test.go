package source

import (
	"fmt"
	"strings"
	"testing"
)

// TestEchoCapsPerCause: at most the limit of each cause is written, then
// one line says how many more there were; other causes are not affected.
func TestEchoCapsPerCause(t *testing.T) {
	var b strings.Builder
	e := NewEcho(&b, 3)
	for i := 1; i <= 10; i++ {
		e.Write(Diagnostic{File: "f", Line: i, Col: 1, Severity: Error, Field: "Transaction Type", Column: 1, Msg: fmt.Sprintf("unknown record type %q", strings.Repeat("x", i))})
		e.Write(Diagnostic{File: "f", Line: i, Col: 7, Severity: Error, Column: 2, Msg: fmt.Sprintf("bad %d", i), Rule: RuleQuote})
	}
	e.Write(Diagnostic{File: "f", Line: 11, Col: 1, Severity: Warning, Msg: "record 305 has 15 of its 137 columns"})
	e.Flush()
	got := b.String()
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 3+3+1+2 {
		t.Fatalf("%d lines:\n%s", len(lines), got)
	}
	for _, want := range []string{
		"f:4:1: error: … and 7 more error(s) of this kind, from here on, not shown (the summary counts them)",
		"f:4:7: error: … and 7 more error(s) of rule quoting, from here on, not shown (the summary counts them)",
		"f:11:1: warning: record 305 has 15 of its 137 columns",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// Unlimited.
	b.Reset()
	e = NewEcho(&b, -1)
	for i := 0; i < 50; i++ {
		e.Write(Diagnostic{File: "f", Line: 1, Msg: "same"})
	}
	e.Flush()
	if n := strings.Count(b.String(), "\n"); n != 50 {
		t.Errorf("unlimited echo wrote %d lines", n)
	}
}
