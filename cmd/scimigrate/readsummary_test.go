package main

import (
	"bufio"
	"strings"
	"testing"

	"scimigrate/batcher/plan"
	"scimigrate/converter"
)

// TestReadSummaryCountsUnsupported: the read summary of plan and apply
// counts the records of unsupported types (360, 700, …), which no other
// line of the summary counts.
func TestReadSummaryCountsUnsupported(t *testing.T) {
	for _, c := range []struct {
		unsupported int
		want        string
	}{
		{0, "0 record(s) rejected, 0 error(s)"},
		{3, "0 record(s) rejected, 3 record(s) of unsupported types not converted, 0 error(s)"},
	} {
		var b strings.Builder
		w := bufio.NewWriter(&b)
		readSummary(w, &plan.Desired{Stats: &converter.Stats{Files: 1, RecordsConverted: 2, RecordsUnsupported: c.unsupported}, Employees: 2})
		w.Flush()
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("%d unsupported: %q, want it to contain %q", c.unsupported, b.String(), c.want)
		}
	}
}
