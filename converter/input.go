package converter

import (
	"fmt"
	"io"
	"os"

	"scimigrate/converter/flatfile"
	"scimigrate/converter/source"
)

// Loc locates a record inside its input so pass 2 can fetch it again.
type Loc struct {
	Off  int64 // byte offset (flat files) or record index (in-memory sources)
	Len  int32
	Line int32
	Seq  int32
}

// Input is one source file. Scan walks its records in order (pass 1); Fetch
// reads one again (pass 2). Fetch is called from one goroutine at a time.
type Input interface {
	Name() string
	Format() string
	// Scan calls fn for each record with its location. A record with a
	// syntax error comes with a non-nil diagnostic.
	Scan(fn func(rec *source.Record, loc Loc, syntax *source.Diagnostic) error) error
	// Fetcher returns a reader of records by location for one goroutine;
	// several fetchers may run concurrently.
	Fetcher() Fetcher
	Close() error
}

// Fetcher re-reads records by location, filling dst (its Fields reused).
// A record that cannot be read as a record (bad quoting, text that is not
// valid in the input's encoding) comes back as a syntax diagnostic: the
// record is rejected and the run goes on. err is for the input itself (I/O),
// which the run cannot continue with.
type Fetcher interface {
	Fetch(loc Loc, dst *source.Record) (syntax *source.Diagnostic, err error)
}

// FlatInput reads a flat file; stdin is spooled to a private temporary file
// so that pass 2 can seek.
type FlatInput struct {
	name  string
	f     *os.File
	temp  string
	limit int
	enc   *source.Encoding
	max   int // record size bound (0: flatfile.MaxRecord)
	warn  []source.Diagnostic
}

// Warnings returns what the last Scan noticed about the whole file (records
// that look like UTF-8 when another encoding is declared).
func (in *FlatInput) Warnings() []source.Diagnostic { return in.warn }

// SetEncoding declares the file's encoding (nil: UTF-8).
func (in *FlatInput) SetEncoding(e *source.Encoding) { in.enc = e }

// SetFieldLimit makes Scan parse only the first n fields of each record
// (pass 1 needs the record type and the employee ID); pass 2 parses in full.
func (in *FlatInput) SetFieldLimit(n int) { in.limit = n }

type flatFetcher struct {
	in     *FlatInput
	window []byte
	wOff   int64
	wLen   int
}

// Fetcher implements Input; os.File.ReadAt is safe for concurrent use.
func (in *FlatInput) Fetcher() Fetcher { return &flatFetcher{in: in} }

// OpenFlat opens a flat file ("-" for standard input).
func OpenFlat(path string, stdin io.Reader) (*FlatInput, error) {
	in := &FlatInput{name: path}
	if path == "-" {
		in.name = "<stdin>"
		f, err := os.CreateTemp("", "scimigrate-stdin-*.txt") // mode 0600
		if err != nil {
			return nil, err
		}
		in.temp = f.Name()
		if _, err := io.Copy(f, stdin); err != nil {
			f.Close()
			os.Remove(in.temp)
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		in.f = f
		return in, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	in.f = f
	return in, nil
}

// Name returns the file name used in diagnostics.
func (in *FlatInput) Name() string { return in.name }

// Format returns "flat".
func (in *FlatInput) Format() string { return "flat" }

// Scan implements Input. Reading and splitting records runs in its own
// goroutine, handing batches to fn's goroutine, so pass 1's two halves (the
// scanner and the caller's indexing) overlap on two cores.
func (in *FlatInput) Scan(fn func(*source.Record, Loc, *source.Diagnostic) error) error {
	if _, err := in.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	type item struct {
		rec    source.Record
		loc    Loc
		syntax *source.Diagnostic
	}
	const batchSize = 512
	batches := make(chan []item, 4)
	free := make(chan []item, 6)
	done := make(chan struct{})
	var scanErr error
	go func() {
		defer close(batches)
		sc := flatfile.NewScanner(in.f, in.name)
		sc.SetFieldLimit(in.limit)
		sc.SetEncoding(in.enc)
		sc.SetMaxRecord(in.max)
		var b []item
		for sc.Next() {
			if b == nil {
				select {
				case b = <-free:
					b = b[:0]
				default:
					b = make([]item, 0, batchSize)
				}
			}
			r := sc.Record()
			it := item{rec: *r, loc: Loc{Off: sc.Offset(), Len: int32(len(sc.Raw())), Line: int32(r.Line), Seq: int32(r.Seq)}, syntax: sc.Syntax()}
			// The scanner reuses its field list; the values are substrings
			// of a per-record string, so a copy of the list is enough.
			if n := len(b); n < cap(b) {
				it.rec.Fields = append(b[:n+1][n].rec.Fields[:0], r.Fields...)
			} else {
				it.rec.Fields = append([]source.Field(nil), r.Fields...)
			}
			b = append(b, it)
			if len(b) == batchSize {
				select {
				case batches <- b:
				case <-done:
					return
				}
				b = nil
			}
		}
		if len(b) > 0 {
			select {
			case batches <- b:
			case <-done:
				return
			}
		}
		scanErr = sc.Err()
		in.warn = sc.Warnings()
	}()
	defer close(done)
	for b := range batches {
		for i := range b {
			if err := fn(&b[i].rec, b[i].loc, b[i].syntax); err != nil {
				return err
			}
		}
		select {
		case free <- b:
		default:
		}
	}
	return scanErr
}

// Fetch implements Input. Reads go through a window so that records fetched
// in file order cost one read per window.
func (in *flatFetcher) Fetch(loc Loc, dst *source.Record) (*source.Diagnostic, error) {
	n := int(loc.Len)
	if loc.Off < in.wOff || loc.Off+int64(n) > in.wOff+int64(in.wLen) {
		size := max(256<<10, n)
		if cap(in.window) < size {
			in.window = make([]byte, size)
		}
		in.window = in.window[:size]
		m, err := in.in.f.ReadAt(in.window, loc.Off)
		if m < n {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("%s: re-reading line %d: %w", in.in.name, loc.Line, err)
		}
		in.wOff, in.wLen = loc.Off, m
	}
	raw := in.window[loc.Off-in.wOff : loc.Off-in.wOff+int64(n)]
	raw = trimEOL(raw)
	fields, diag := flatfile.ParseFieldsEnc(raw, in.in.name, int(loc.Line), dst.Fields[:0], 0, in.in.enc)
	*dst = source.Record{File: in.in.name, Line: int(loc.Line), Col: 1, Seq: int(loc.Seq), Fields: fields}
	if len(fields) > 0 {
		dst.Type = fields[0].Value
	}
	return diag, nil
}

func trimEOL(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
	}
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

// Close closes the file and removes a spooled copy of stdin.
func (in *FlatInput) Close() error {
	err := in.f.Close()
	if in.temp != "" {
		os.Remove(in.temp)
	}
	return err
}
