package flatfile

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"testing"

	"scimigrate/converter/source"
)

// onlyReader hides Seek: the scanner must resync without it.
type onlyReader struct{ io.Reader }

func scanWith(t *testing.T, r io.Reader, max int) []scanned {
	t.Helper()
	sc := NewScanner(r, "f.txt")
	sc.SetMaxRecord(max)
	var out []scanned
	for sc.Next() {
		if len(sc.Raw()) > max {
			t.Fatalf("record at line %d holds %d bytes, over the bound %d", sc.Record().Line, len(sc.Raw()), max)
		}
		rec := sc.Record()
		s := scanned{line: rec.Line}
		for _, f := range rec.Fields {
			s.fields = append(s.fields, f.Value)
		}
		if d := sc.Syntax(); d != nil {
			s.syntax = d.String()
			if d.Rule == "" {
				t.Errorf("diagnostic without a rule: %v", d)
			}
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRecordBound: a record over the size bound is rejected with one
// diagnostic naming file and line, and reading goes on at the next record;
// a quoted field that passes the bound across lines is taken as a stray
// quote (its first line rejected, the next lines read again), seekable
// input or not.
func TestRecordBound(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct {
		name string
		in   string
		want []string // per record: first field, then "!" + the diagnostic's tail if any
	}{
		{"long line", "100\n305,E1," + long + "\n310,E2\n", []string{"100", "305!f.txt:2:1: error: the record is 208 bytes, over the bound of 64 bytes per record; it is rejected and reading goes on with the next record", "310"}},
		{"long line without a comma", "100\n" + long + "\n310,E2\n", []string{"100", "!f.txt:2:1: error: the record is 201 bytes, over the bound of 64 bytes per record; it is rejected and reading goes on with the next record", "310"}},
		{"long last line without line end", "100\n305,E1," + long, []string{"100", "305!f.txt:2:1: error: the record is 207 bytes, over the bound of 64 bytes per record; it is rejected and reading goes on with the next record"}},
		{"long line opening a quote", "100\n305,\"" + long + "\n310,E2\n", []string{"100", "305!f.txt:2:1: error: the record is 206 bytes, over the bound of 64 bytes per record; it is rejected and reading goes on with the next record", "310"}},
		{"quoted span over the bound", "100\n305,\"open\n" + strings.Repeat("aaaaaaaaaaaaaaaaaaa\n", 5) + "310,E2\n",
			[]string{"305!f.txt:2:5: error: column 2: quoted field is not closed (bad quoting)", "aaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaa", "310"}},
		{"quoted span within the bound", "100\n305,\"a\nb\",c\n310,E2\n", []string{"100", "305", "310"}},
	}
	for _, tt := range tests {
		for _, seek := range []bool{true, false} {
			var r io.Reader = strings.NewReader(tt.in)
			if !seek {
				r = onlyReader{r}
			}
			got := scanWith(t, r, 64)
			var g []string
			for _, s := range got {
				v := ""
				if len(s.fields) > 0 {
					v = s.fields[0]
				}
				if s.syntax != "" {
					v += "!" + s.syntax
				}
				g = append(g, v)
			}
			want := tt.want
			if tt.name == "quoted span over the bound" {
				want = append([]string{"100"}, want...)
			}
			if strings.Join(g, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s (seekable %v):\n got %q\nwant %q", tt.name, seek, g, want)
			}
		}
	}
}

// lineReader serves one line of n bytes, then the rest, without holding it.
type lineReader struct {
	n    int
	rest *strings.Reader
}

func (r *lineReader) Read(p []byte) (int, error) {
	if r.n > 0 {
		k := min(len(p), r.n)
		for i := range p[:k] {
			p[i] = 'x'
		}
		if r.n == k {
			p[k-1] = '\n'
		}
		r.n -= k
		return k, nil
	}
	return r.rest.Read(p)
}

// TestRecordBoundMemory: memory does not grow with the size of a record
// (a 64 MiB line costs what a 1 MiB one does).
func TestRecordBoundMemory(t *testing.T) {
	var before, after runtime.MemStats
	r := io.MultiReader(strings.NewReader("100\n305,"), &lineReader{n: 64 << 20, rest: strings.NewReader("310,E2\n")})
	runtime.ReadMemStats(&before)
	sc := NewScanner(r, "big.txt")
	var types []string
	var diags []*source.Diagnostic
	for sc.Next() {
		types = append(types, sc.Record().Type)
		if d := sc.Syntax(); d != nil {
			diags = append(diags, d)
		}
	}
	runtime.ReadMemStats(&after)
	if sc.Err() != nil || len(types) != 3 || types[2] != "310" || len(diags) != 1 || diags[0].Rule != source.RuleRecordSize || diags[0].Line != 2 {
		t.Fatalf("types %q diags %v err %v", types, diags, sc.Err())
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("scanning a 64 MiB line allocated %d bytes; the bound is %d", alloc, MaxRecord)
	}
}

var _ = bytes.Equal
