package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --default PATH=VALUE fills what a 310-only employee lacks, as the error
// without it says; a bad one is a usage error (exit 2).
func TestConvertDefaultFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "310.txt")
	data := "100,0,SSO,UPDATE,EN,N,N\n310,E3,c@example.com,C,,D,c@example.com,,en_US,Y,,,,,Y,,,,,,,,,\n"
	if err := os.WriteFile(in, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	const cur = "urn:ietf:params:scim:schemas:extension:spend:2.0:User:reimbursementCurrency"
	const country = "urn:ietf:params:scim:schemas:extension:spend:2.0:User:country"
	r := runCLI(t, ".", "convert", "--company-id", "11111111-2222-3333-4444-555555555555", in)
	if r.code != 1 || !strings.Contains(r.stderr, "--default '"+cur+"=VALUE'") {
		t.Fatalf("without defaults: exit %d, want 1 and the remedy:\n%s", r.code, r.stderr)
	}
	r = runCLI(t, ".", "convert", "--company-id", "11111111-2222-3333-4444-555555555555", "--default", cur+"=GBP", "--default", country+"=GB", in)
	if r.code != 0 || !strings.Contains(r.stdout, `"reimbursementCurrency":"GBP"`) || !strings.Contains(r.stdout, `"country":"GB"`) {
		t.Fatalf("with defaults: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, bad := range []string{"nothing", country + "=", "urn:ietf:params:scim:schemas:extension:spend:2.0:User:colour=red"} {
		r = runCLI(t, ".", "convert", "--default", bad, in)
		if r.code != 2 || !strings.Contains(r.stderr, "default") {
			t.Errorf("--default %s: exit %d, want 2\n%s", bad, r.code, r.stderr)
		}
	}
}
