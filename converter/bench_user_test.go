package converter_test

import (
	"bufio"
	"bytes"
	"testing"

	"scimigrate/converter"
	"scimigrate/converter/flatfile"
	"scimigrate/converter/source"
	"scimigrate/fixtures/gen"
	"scimigrate/scim"
)

// BenchmarkConvertOneUser is the per-record cost on one core: parse one 305
// row, map it into a user, encode the resource (no I/O, no pipeline).
func BenchmarkConvertOneUser(b *testing.B) {
	var buf bytes.Buffer
	gen.Write(&buf, gen.Options{Rows: 200, Seed: 42})
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var rows [][]byte
	for sc.Scan() {
		if bytes.HasPrefix(sc.Bytes(), []byte("305")) {
			rows = append(rows, append([]byte(nil), bytes.TrimRight(sc.Bytes(), "\r")...))
		}
	}
	set, err := converter.LoadMappings("", nil)
	if err != nil {
		b.Fatal(err)
	}
	eng := converter.NewEngine(set)
	t := set.Table("305")
	var fields []source.Field
	out := make([]byte, 0, 8192)
	u := &scim.User{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		row := rows[i%len(rows)]
		fields, _ = flatfile.ParseFields(row, "f", 2, fields[:0])
		rec := source.Record{File: "f", Line: 2, Col: 1, Type: "305", Fields: fields}
		u.Reset()
		u.Key = fields[4].Value
		if !eng.Convert(&rec, t, u, func(source.Diagnostic) {}) {
			b.Fatal("rejected")
		}
		out = u.AppendResource(out[:0])
	}
}
