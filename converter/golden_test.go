package converter_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scimigrate/converter"
	"scimigrate/converter/source"
	"scimigrate/mapping"
)

var update = flag.Bool("update", false, "rewrite golden files")

// convertFiles runs a conversion the way the CLI does and returns the NDJSON,
// the diagnostics and the stats.
func convertFiles(t testing.TB, cfgPath string, files ...string) (string, string, *converter.Stats, error) {
	t.Helper()
	return convertFilesWith(t, cfgPath, converter.OpenOptions{}, files...)
}

// convertFilesWith is convertFiles with open options (format, encoding).
func convertFilesWith(t testing.TB, cfgPath string, oo converter.OpenOptions, files ...string) (string, string, *converter.Stats, error) {
	t.Helper()
	cfg := mapping.DefaultConfig()
	if cfgPath != "" {
		c, err := mapping.LoadConfig(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		cfg = c
	}
	set, err := converter.LoadMappings("", cfg)
	if err != nil {
		t.Fatal(err)
	}
	inputs, err := converter.OpenInputsWith(files, nil, oo)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, in := range inputs {
			in.Close()
		}
	}()
	var out, diags bytes.Buffer
	st, err := converter.Run(context.Background(), inputs, converter.Options{
		Set:       set,
		Workers:   2,
		Validate:  converter.ValidateSchema,
		CompanyID: cfg.CompanyID,
		Emit: func(r *converter.Result) error {
			out.Write(r.JSON)
			out.WriteByte('\n')
			return nil
		},
		Update: func(r *converter.Result) error {
			fmt.Fprintf(&diags, "update-only %s: ", r.User.Key)
			diags.Write(r.User.AppendResource(nil))
			diags.WriteByte('\n')
			return nil
		},
		Intent: func(in *converter.Intent) error {
			diags.WriteString("intent: ")
			diags.Write(converter.AppendIntent(nil, in))
			diags.WriteByte('\n')
			return nil
		},
		Diag: func(d source.Diagnostic) { diags.WriteString(d.String() + "\n") },
	})
	return out.String(), diags.String(), st, err
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./converter/ -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the output (run go test ./converter/ -update and review the diff):\n%s", path, firstDiff(string(want), got))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant %s\n got %s", i+1, w, g)
		}
	}
	return ""
}

// TestGolden converts every fixture in fixtures/flat and compares the
// resources and diagnostics with the golden files beside it.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("../fixtures/flat/*.txt")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			out, diags, st, err := convertFiles(t, "../fixtures/flat/config.yaml", f)
			if err != nil {
				diags += "fatal: " + err.Error() + "\n"
			}
			diags += summary(st)
			golden(t, strings.TrimSuffix(f, ".txt")+".golden.ndjson", out)
			golden(t, strings.TrimSuffix(f, ".txt")+".golden.diag", diags)
			if st.Accounted() != st.Total() {
				t.Errorf("%d records read, %d accounted for", st.Total(), st.Accounted())
			}
		})
	}
}

func summary(st *converter.Stats) string {
	return fmt.Sprintf("read=%d emitted=%d updates=%d rejectedUsers=%d | converted=%d update=%d intents=%d settings=%d rejected=%d unsupportedTypes=%d | errors=%d warnings=%d unsupportedValues=%d gated=%d conflicts=%d dropped=%d\n",
		st.Total(), st.UsersEmitted, st.UsersUpdates, st.UsersRejected, st.RecordsConverted, st.RecordsUpdates, st.RecordsIntents,
		st.RecordsSettings, st.RecordsRejected, st.RecordsUnsupported, st.Errors, st.Warnings, st.Values.Unsupported, st.Values.Gated, st.Values.Conflicts, st.Values.Dropped)
}

func TestNoSettingsRecordIsFatal(t *testing.T) {
	_, diags, _, err := convertFiles(t, "", "../fixtures/flat/no-settings.txt")
	if !errors.Is(err, converter.ErrFatal) {
		t.Fatalf("err = %v, want ErrFatal", err)
	}
	if !strings.Contains(diags, "no-settings.txt:1:1: error: Transaction Type (column 1): the first record must be the 100") {
		t.Errorf("diagnostics: %s", diags)
	}
}
