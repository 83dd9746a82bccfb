package converter_test

import (
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"testing"

	"scimigrate/converter"
	"scimigrate/converter/flatfile"
	"scimigrate/fixtures/gen"
)

// benchRows is the size of the generated 305 file (BENCH_ROWS overrides).
func init() {
	// As the CLI does (cmd/scimigrate main): the live heap is small.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

var (
	benchOnce sync.Once
	benchFile string
)

// benchInput writes the generated file once per test binary run.
func benchInput(b *testing.B) (string, int) {
	n := benchRows()
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "scimigrate-bench")
		benchDir = dir
		if err != nil {
			b.Fatal(err)
		}
		benchFile = filepath.Join(dir, "employees-305.txt")
		f, err := os.Create(benchFile)
		if err != nil {
			b.Fatal(err)
		}
		if err := gen.Write(f, gen.Options{Rows: n, Seed: 42}); err != nil {
			b.Fatal(err)
		}
		f.Close()
	})
	return benchFile, n
}

type allocMeter struct{ before runtime.MemStats }

func startAllocs() *allocMeter {
	m := &allocMeter{}
	runtime.ReadMemStats(&m.before)
	return m
}

func (m *allocMeter) report(b *testing.B, rows int) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	total := float64(rows) * float64(b.N)
	b.ReportMetric(float64(after.Mallocs-m.before.Mallocs)/total, "allocs/row")
	b.ReportMetric(total/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/row")
}

// BenchmarkParseCSV is the floor: encoding/csv with ReuseRecord over the file.
func BenchmarkParseCSV(b *testing.B) {
	path, rows := benchInput(b)
	m := startAllocs()
	b.ResetTimer()
	for range b.N {
		f, _ := os.Open(path)
		r := csv.NewReader(f)
		r.FieldsPerRecord = -1
		r.ReuseRecord = true
		for {
			if _, err := r.Read(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
	m.report(b, rows)
}

// BenchmarkReadOnly scans the file with the project's reader (no mapping).
func BenchmarkReadOnly(b *testing.B) {
	path, rows := benchInput(b)
	m := startAllocs()
	b.ResetTimer()
	for range b.N {
		f, _ := os.Open(path)
		sc := flatfile.NewScanner(f, path)
		for sc.Next() {
		}
		if sc.Err() != nil {
			b.Fatal(sc.Err())
		}
		f.Close()
	}
	m.report(b, rows)
}

// BenchmarkConvert is the whole conversion: index, map, merge, validate
// every user, encode; output discarded.
func BenchmarkConvert(b *testing.B) {
	path, rows := benchInput(b)
	set, err := converter.LoadMappings("", nil)
	if err != nil {
		b.Fatal(err)
	}
	m := startAllocs()
	b.ResetTimer()
	for range b.N {
		inputs, err := converter.OpenInputs([]string{path}, nil)
		if err != nil {
			b.Fatal(err)
		}
		st, err := converter.Run(context.Background(), inputs, converter.Options{
			Set: set, Validate: converter.ValidateSchema, CompanyID: "11111111-2222-3333-4444-555555555555",
			Emit: func(r *converter.Result) error { _, err := io.Discard.Write(r.JSON); return err },
		})
		if err != nil {
			b.Fatal(err)
		}
		if st.UsersEmitted != rows {
			b.Fatalf("emitted %d of %d (rejected %d)", st.UsersEmitted, rows, st.RecordsRejected)
		}
		inputs[0].Close()
	}
	m.report(b, rows)
}

// benchDir holds the benchmarks' generated files; TestMain removes it.
var benchDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}
