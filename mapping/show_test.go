package mapping

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeOverrideFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestShowEmbeddedTable(t *testing.T) {
	set := loadEmbeddedForTest(t)
	var b bytes.Buffer
	if err := Show(&b, set.Table("305")); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	for _, want := range []string{
		"Record 305 — Employee Import (enhanced)",
		"Shape:    137 columns, key column 5, identity record",
		"POS  NAME",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// One line per position, each ending with where the row came from.
	for col := 1; col <= 137; col++ {
		from := set.Table("305").ColumnAt(col).From
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, itoa(col)+" ") && strings.HasSuffix(l, from) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no line for column %d ending with %q", col, from)
		}
	}
	if !strings.Contains(out, "Notes:\n") || !strings.Contains(out, "  column 42 Custom 21: The page reads") {
		t.Errorf("notes missing:\n%s", out)
	}
	if !strings.Contains(out, "unless=51 option=paymentRequestAssigned") {
		t.Error("column 81's flags missing")
	}
}

// An override directory re-points a column, ignores one and adds a default;
// Show names the override file and line of each changed row.
func TestShowOverrideProvenance(t *testing.T) {
	dir := writeOverrideFiles(t, map[string]string{"305.yaml": `record: "305"
columns:
  - col: 22
    to: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter'
  - col: 66
    ignore: SAP-internal role; not provisioned here
  - col: 12
    default: DEFAULT
`})
	set, err := Load(dir, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	tb := set.Table("305")
	file := filepath.Join(dir, "305.yaml")
	for _, tc := range []struct {
		col  int
		from string
	}{
		{22, file + ":3 (to)"},
		{66, file + ":5 (ignore)"},
		{12, file + ":7 (default)"},
	} {
		c := tb.ColumnAt(tc.col)
		if !strings.HasPrefix(c.From, "embedded:305.yaml:") || !strings.HasSuffix(c.From, " ← "+tc.from) {
			t.Errorf("column %d: From %q, want embedded:305.yaml:N ← %s", tc.col, c.From, tc.from)
		}
	}
	if c := tb.ColumnAt(2); strings.Contains(c.From, "←") {
		t.Errorf("column 2 was not overridden, but From is %q", c.From)
	}

	var b bytes.Buffer
	if err := Show(&b, tb); err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			rows[f[0]] = l
		}
	}
	for _, tc := range []struct {
		col   string
		wants []string
	}{
		{"22", []string{"Custom 1", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", "← " + file + ":3 (to)"}},
		{"66", []string{"ignored: SAP-internal role; not provisioned here", "← " + file + ":5 (ignore)"}},
		{"12", []string{"Ledger Code", "default=DEFAULT", "← " + file + ":7 (default)"}},
	} {
		line := rows[tc.col]
		for _, w := range tc.wants {
			if !strings.Contains(line, w) {
				t.Errorf("column %s line lacks %q:\n%s", tc.col, w, line)
			}
		}
	}
}
