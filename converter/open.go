package converter

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"scimigrate/scim"
	"scimigrate/scim/schema"
	"strings"

	"scimigrate/converter/legacy"
	"scimigrate/converter/source"
	"scimigrate/mapping"
)

// LoadMappings loads the embedded tables with the overrides of dir (may be
// ""), checking every target path against the SCIM schema.
func LoadMappings(dir string, cfg *mapping.Config) (*mapping.Set, error) {
	return mapping.Load(dir, cfg)
}

// ErrUsage marks inputs named in a way that cannot work (a usage error).
var ErrUsage = errors.New("usage error")

// Formats are the input formats: the Employee Import flat file, Users V1 XML,
// and v3.0/v3.1 user-list JSON.
var Formats = []string{"flat", legacy.FormatV1, legacy.FormatV3}

// OpenInputs opens input files ("-" is standard input), deciding each one's
// format from its content (see OpenInputsFormat).
func OpenInputs(paths []string, stdin io.Reader) ([]Input, error) {
	return OpenInputsFormat(paths, stdin, "")
}

// OpenInputsFormat opens input files ("-" is standard input) of the given
// format: "flat", "v1", "v3", or "" to sniff each file's content (byte-order
// mark tolerated; legacy.Sniff): a first record "100,…" (any three-digit
// record code) is a flat file, XML whose root is <batch> or <UserProfile> is
// Users V1, a JSON object with "Items" is a v3 user list. A file that is
// none of them is an error naming it. Flat files are streamed; V1 and v3
// files are read whole. A V1/v3 document that cannot be read at all is an
// error with its position.
func OpenInputsFormat(paths []string, stdin io.Reader, format string) ([]Input, error) {
	return OpenInputsWith(paths, stdin, OpenOptions{Format: format})
}

// OpenOptions say how to read the inputs.
type OpenOptions struct {
	Format string // "flat", "v1", "v3"; "": sniffed from each file's content
	// Encoding is the inputs' character encoding: "" or "utf-8" (values
	// must be valid UTF-8), "windows-1252", "iso-8859-1"/"latin1" (read
	// as windows-1252). A Users V1 document's own XML declaration wins.
	Encoding string
	// MaxRecord bounds the size of a flat-file record in bytes (0:
	// flatfile.MaxRecord, 1 MiB); a longer one is rejected and skipped.
	MaxRecord int
}

// OpenInputsWith is OpenInputsFormat with all options.
func OpenInputsWith(paths []string, stdin io.Reader, o OpenOptions) ([]Input, error) {
	format := o.Format
	switch format {
	case "", "flat", legacy.FormatV1, legacy.FormatV3:
	default:
		return nil, fmt.Errorf("%w: unknown input format %q (known: %s)", ErrUsage, format, strings.Join(Formats, ", "))
	}
	enc, err := source.LookupEncoding(o.Encoding)
	if err != nil {
		return nil, fmt.Errorf("%w: --encoding: %v", ErrUsage, err)
	}
	stdinSeen := false
	for _, p := range paths {
		if p == "-" {
			if stdinSeen {
				return nil, fmt.Errorf("%w: standard input (-) is named more than once; it can be read only once", ErrUsage)
			}
			stdinSeen = true
		}
	}
	var out []Input
	for _, p := range paths {
		in, err := openInput(p, stdin, format, enc)
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, err
		}
		if f, ok := in.(*FlatInput); ok {
			f.max = o.MaxRecord
		}
		out = append(out, in)
	}
	return out, nil
}

func openInput(path string, stdin io.Reader, format string, enc *source.Encoding) (Input, error) {
	if path == "-" {
		name := "<stdin>"
		br := bufio.NewReaderSize(stdin, legacy.SniffSize)
		if format == "" {
			head, err := br.Peek(legacy.SniffSize)
			if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
				return nil, fmt.Errorf("reading standard input: %w", err)
			}
			if format, err = sniff(name, head); err != nil {
				return nil, err
			}
		}
		if format == "flat" {
			in, err := OpenFlat("-", br)
			if err != nil {
				return nil, err
			}
			in.enc = enc
			return in, nil
		}
		data, err := io.ReadAll(br)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return readLegacy(name, format, data, enc)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if format == "" {
		head := make([]byte, legacy.SniffSize)
		n, err := io.ReadFull(f, head)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if format, err = sniff(path, head[:n]); err != nil {
			f.Close()
			return nil, err
		}
	}
	if format == "flat" {
		return &FlatInput{name: path, f: f, enc: enc}, nil // Scan seeks to the start
	}
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return readLegacy(path, format, data, enc)
}

func sniff(name string, head []byte) (string, error) {
	format, seen := legacy.Sniff(head)
	if format == "" {
		return "", fmt.Errorf("%s: unknown input format (%s): expected an Employee Import flat file (first record 100,…), Users V1 XML (<batch> or <UserProfile>) or a v3.0/v3.1 JSON user list ({\"Items\": […]}); --format forces one", name, seen)
	}
	return format, nil
}

func readLegacy(name, format string, data []byte, enc *source.Encoding) (Input, error) {
	var doc *legacy.Doc
	var err error
	if format == legacy.FormatV1 {
		doc, err = legacy.ReadV1Enc(name, data, enc)
	} else {
		doc, err = legacy.ReadV3Enc(name, data, enc)
	}
	if err != nil {
		return nil, err
	}
	return LegacyInput(doc), nil
}

// LegacyInput returns an Input over a Users V1 or v3 document read by package
// legacy. Its Loc.Off is the record index; records are held in memory and
// shared read-only by every Fetcher.
func LegacyInput(doc *legacy.Doc) Input { return &docInput{doc: doc} }

type docInput struct{ doc *legacy.Doc }

func (in *docInput) Name() string   { return in.doc.Name }
func (in *docInput) Format() string { return in.doc.Format }
func (in *docInput) Close() error   { return nil }

func (in *docInput) Scan(fn func(*source.Record, Loc, *source.Diagnostic) error) error {
	for i := range in.doc.Records {
		rec := in.doc.Records[i]
		loc := Loc{Off: int64(i), Line: int32(rec.Line), Seq: int32(rec.Seq)}
		if err := fn(&rec, loc, in.doc.Syntax[i]); err != nil {
			return err
		}
	}
	return nil
}

func (in *docInput) Fetcher() Fetcher { return in }

// Fetch implements Fetcher; safe for concurrent use (records are read-only).
func (in *docInput) Fetch(loc Loc, dst *source.Record) (*source.Diagnostic, error) {
	if loc.Off < 0 || loc.Off >= int64(len(in.doc.Records)) {
		return nil, fmt.Errorf("%s: no record %d", in.doc.Name, loc.Off)
	}
	r := in.doc.Records[loc.Off]
	fields := append(dst.Fields[:0], r.Fields...)
	*dst = r
	dst.Fields = fields
	return in.doc.Syntax[loc.Off], nil
}

// ValidateSchema is the validation every command applies: the JSON Schema
// documents of scim/schema (checked by a fast validator compiled from
// them, proven equivalent to gojsonschema by differential tests) and the
// rules a schema cannot say. Users to create are checked in full; users
// that only update an existing one are checked without required attributes.
func ValidateSchema(u *scim.User, create bool) []Violation {
	mode := schema.Update
	if create {
		mode = schema.Create
	}
	vs := schema.Validate(u, mode)
	if len(vs) == 0 {
		return nil
	}
	out := make([]Violation, len(vs))
	for i, v := range vs {
		out[i] = Violation{Path: v.Path, Origin: v.Origin, Rule: v.Rule, Msg: v.Msg}
	}
	return out
}
