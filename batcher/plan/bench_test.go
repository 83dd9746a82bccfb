package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"testing"

	"scimigrate/batcher/client"
	"scimigrate/converter"
	"scimigrate/fixtures/gen"
	"scimigrate/mapping"
	"scimigrate/upsim"
)

// Plan at scale: a generated 305 file of BENCH_USERS employees (default
// 20,000) against a snapshot of the same employees, 10 % of whom changed.
// Run: go test -run '^$' -bench 'PlanStream|SnapshotIndex|Export' -benchtime 3x ./batcher/plan/

func benchUsers() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_USERS")); err == nil && n > 0 {
		return n
	}
	return 20_000
}

var (
	benchOnce           sync.Once
	benchIn, benchSnap  string
	benchErr            error
	benchSet            *mapping.Set
	benchCompany        = "11111111-2222-3333-4444-555555555555"
	benchChangedPercent = 0.1
)

// benchFiles writes the input file and the snapshot once per test binary.
func benchFiles(b *testing.B) (in, snap string, n int) {
	n = benchUsers()
	benchOnce.Do(func() {
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(400) // as the CLI does
		}
		dir, err := os.MkdirTemp("", "scimigrate-plan-bench")
		benchDir = dir
		if err != nil {
			benchErr = err
			return
		}
		benchSet, err = converter.LoadMappings("", &mapping.Config{CompanyID: benchCompany})
		if err != nil {
			benchErr = err
			return
		}
		// The target holds the unchanged file's users.
		basePath := filepath.Join(dir, "base.txt")
		f, _ := os.Create(basePath)
		gen.Write(f, gen.Options{Rows: n, Seed: 42})
		f.Close()
		inputs, err := converter.OpenInputsFormat([]string{basePath}, nil, "")
		if err != nil {
			benchErr = err
			return
		}
		defer inputs[0].Close()
		var resources bytes.Buffer
		_, err = converter.Run(context.Background(), inputs,
			converter.Options{Set: benchSet, CompanyID: benchCompany, Emit: func(r *converter.Result) error {
				resources.Write(r.JSON)
				resources.WriteByte('\n')
				return nil
			}})
		if err != nil {
			benchErr = err
			return
		}
		benchSnap = filepath.Join(dir, "snapshot.ndjson")
		f, _ = os.Create(benchSnap)
		if _, err := gen.WriteSnapshot(&resources, f, 42); err != nil {
			benchErr = err
			return
		}
		f.Close()
		benchIn = filepath.Join(dir, "employees-305.txt")
		f, _ = os.Create(benchIn)
		gen.Write(f, gen.Options{Rows: n, Seed: 42, Changed: benchChangedPercent})
		f.Close()
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchIn, benchSnap, n
}

// BenchmarkPlanStream: plan --snapshot as the CLI runs it (index the
// snapshot, convert, diff each employee in the workers).
func BenchmarkPlanStream(b *testing.B) {
	in, snap, n := benchFiles(b)
	poisonScratch = false // the tests' check, not the CLI's cost
	defer func() { poisonScratch = true }()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		inputs, err := converter.OpenInputsFormat([]string{in}, nil, "")
		if err != nil {
			b.Fatal(err)
		}
		p, _, err := Stream(context.Background(), inputs, StreamOptions{
			CollectOptions: CollectOptions{Set: benchSet, CompanyID: benchCompany},
			Plan:           Options{Set: benchSet}, Snapshot: snap})
		for _, i := range inputs {
			i.Close()
		}
		if err != nil {
			b.Fatal(err)
		}
		if p.Counts.Update == 0 || p.Counts.Update+p.Counts.Unchanged != n {
			b.Fatalf("counts %+v", p.Counts)
		}
	}
	reportPerUser(b, &before, n)
}

// BenchmarkSnapshotIndex: indexing the snapshot file alone.
func BenchmarkSnapshotIndex(b *testing.B) {
	_, snap, n := benchFiles(b)
	b.ResetTimer()
	for range b.N {
		x, err := OpenSnapshot(snap, 0)
		if err != nil {
			b.Fatal(err)
		}
		if x.Len() != n {
			b.Fatalf("%d users", x.Len())
		}
		x.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/user")
}

// BenchmarkExport: export of every user of a simulated tenant holding the
// benchmark's snapshot (BENCH_USERS users), pages of 1,000 with their
// spend and travel profiles, written to io.Discard. The simulator runs in
// the same process: allocations per user count both sides.
func BenchmarkExport(b *testing.B) {
	_, snap, n := benchFiles(b)
	s := upsim.NewServer(upsim.Options{Seed: 7, AccessToken: simToken})
	defer s.Close()
	data, err := os.ReadFile(snap)
	if err != nil {
		b.Fatal(err)
	}
	var users []json.RawMessage
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		users = append(users, json.RawMessage(l))
	}
	if err := s.Seed(users...); err != nil {
		b.Fatal(err)
	}
	users, data = nil, nil
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		c, err := client.New(client.Config{BaseURL: s.URL(), Tokens: client.StaticToken(simToken)})
		if err != nil {
			b.Fatal(err)
		}
		l := &Live{Client: c, Concurrency: 4}
		got, err := l.Export(context.Background(), nil, true, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("%d users exported, want %d", got, n)
		}
	}
	reportPerUser(b, &before, n)
}

// BenchmarkDecodeUser: parsing the fixture snapshot's users as the plan
// does, into a reused scratch (planUser) and for the index (identity
// members only, the rest checked).
func BenchmarkDecodeUser(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(fixtureDir, "snapshot.ndjson"))
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	b.Run("scratch", func(b *testing.B) {
		sc := getScratch()
		b.SetBytes(int64(size))
		for range b.N {
			for _, l := range lines {
				if _, ok := sc.decode(l); !ok {
					b.Fatal("rejected")
				}
			}
		}
	})
	b.Run("identity", func(b *testing.B) {
		sc := getScratch()
		var c Current
		b.SetBytes(int64(size))
		for range b.N {
			for _, l := range lines {
				if err := parseIdentity(l, sc, &c); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
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

// reportPerUser stops the timer and reports allocations, bytes allocated
// and time per user of n, since before.
func reportPerUser(b *testing.B, before *runtime.MemStats, n int) {
	b.StopTimer()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	total := float64(n) * float64(b.N)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/user")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/total, "B/user")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/user")
}
