// Package flatfile reads SAP Concur "Standard Employee Import" files: comma
// separated records (100, 300, 305, 310, 320, 350, 370, 400, 500, 550, …),
// RFC 4180 quoting, UTF-8 with or without BOM, CRLF or LF line ends, blank
// lines skipped.
//
// The Scanner splits the input into records and their fields, keeping each
// field's line and byte column. It owns its buffers: a record's fields are
// substrings of one string per record, so scanning allocates once per record.
// Every value must be text in the input's encoding (UTF-8 unless another is
// declared, see SetEncoding); a record is bounded in size (SetMaxRecord).
// A record that breaks either rule, or RFC 4180 quoting, comes back with a
// syntax diagnostic and reading goes on with the next one.
package flatfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"scimigrate/converter/source"
)

var bom = []byte{0xEF, 0xBB, 0xBF}

// Scanner reads records from a flat file.
type Scanner struct {
	name    string
	src     io.Reader
	seeker  io.Seeker // src, when it can seek (resync after an unclosed quote)
	base    int64     // src's offset when the scanner started
	r       *bufio.Reader
	line    int   // physical lines consumed
	off     int64 // bytes consumed
	raw     []byte
	rec     source.Record
	recOff  int64
	recLen  int64 // bytes of the current record, line end included
	err     error // fatal I/O error
	syntax  *source.Diagnostic
	started bool
	limit   int // parse only the first limit fields (0: all)
	enc     *source.Encoding
	max     int // record size bound
	// Records that look UTF-8 though enc is declared otherwise: how many,
	// the first one's line and its first word in both readings.
	utf8Seen            int
	utf8Line            int
	utf8Word, utf8AsEnc string
}

// Warnings returns what the scanner noticed about the whole input: records
// that look like UTF-8 when another encoding was declared (read as
// declared, they would come out garbled). Call it after the last Next.
func (s *Scanner) Warnings() []source.Diagnostic {
	if s.utf8Seen == 0 {
		return nil
	}
	return []source.Diagnostic{{File: s.name, Line: s.utf8Line, Col: 1, Severity: source.Warning, Rule: source.RuleText,
		Msg: fmt.Sprintf("%d record(s), the first here, look like UTF-8 (%s reads %q as %q): if the file is UTF-8, run without --encoding",
			s.utf8Seen, s.enc, s.utf8Word, s.utf8AsEnc)}}
}

// SetEncoding declares the input's encoding (nil: UTF-8). Values are
// checked to be text in it and decoded to UTF-8.
func (s *Scanner) SetEncoding(e *source.Encoding) { s.enc = e }

// SetFieldLimit makes the scanner parse only the first n fields of each
// record (n <= 0: all); Record().NumFields still counts them all. Quoting
// errors past the limit are then found when the record is parsed in full.
func (s *Scanner) SetFieldLimit(n int) { s.limit = n }

// SetMaxRecord sets the record size bound (n <= 0: MaxRecord).
func (s *Scanner) SetMaxRecord(n int) {
	if n <= 0 {
		n = MaxRecord
	}
	s.max = n
}

// NewScanner returns a Scanner reading r; name is used in diagnostics.
func NewScanner(r io.Reader, name string) *Scanner {
	s := &Scanner{name: name, src: r, r: bufio.NewReaderSize(r, 256<<10), rec: source.Record{File: name, Col: 1}, max: MaxRecord}
	if sk, ok := r.(io.Seeker); ok {
		if off, err := sk.Seek(0, io.SeekCurrent); err == nil {
			s.seeker, s.base = sk, off
		}
	}
	return s
}

// MaxRecord is the default bound on the size of a record (line end
// included). A longer record is rejected with one diagnostic and skipped
// without being held: memory does not grow with record size.
const MaxRecord = 1 << 20

// Next advances to the next record. It returns false at EOF or on an I/O
// error (see Err). A record with a syntax error is still returned: Syntax
// reports it and the record holds the fields read before it.
//
// A quoted field may span lines. One that is still open at the end of the
// input, or once its record passes the size bound, is taken as a stray
// opening quote: the record is cut to its first line (whose parse reports
// the quote) and the lines after it are read again as records. A single
// line over the bound is skipped to its end and rejected.
func (s *Scanner) Next() bool {
	if !s.started {
		s.started = true
		if b, err := s.r.Peek(3); err == nil && bytes.Equal(b, bom) {
			s.r.Discard(3)
			s.off = 3
		}
	}
	for {
		s.syntax = nil
		s.raw = s.raw[:0]
		startLine := s.line + 1
		s.recOff = s.off
		var q quoteState
		over := false  // the first line passed the bound; its bytes past it are dropped
		firstLen := -1 // length of the record's first line, once seen
		for {
			chunk, err := s.r.ReadSlice('\n')
			s.off += int64(len(chunk))
			q.feed(chunk)
			if room := s.max - len(s.raw); len(chunk) <= room || over {
				if !over {
					s.raw = append(s.raw, chunk...)
				}
			} else if firstLen >= 0 {
				// A quoted field open since the first line passes the
				// bound: a stray opening quote. (raw holds every byte
				// so far, plus this chunk, for a reader that cannot seek.)
				s.raw = append(s.raw, chunk...)
				s.cut(startLine, firstLen)
				break
			} else {
				s.raw = append(s.raw, chunk[:room]...)
				over = true // the first line is over the bound: skip to its end
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil && err != io.EOF {
				s.err = err
				return false
			}
			if s.off > s.recOff {
				s.line++
			}
			if firstLen < 0 {
				firstLen = int(s.off - s.recOff)
			}
			if !q.open() || over {
				break // the record ends (a first line over the bound ends it)
			}
			if err == io.EOF {
				s.cut(startLine, firstLen)
				break
			}
		}
		if s.err != nil {
			return false
		}
		s.recLen = s.off - s.recOff
		if s.recLen == 0 {
			return false
		}
		body := trimEOL(s.raw)
		if !over && len(bytes.TrimSpace(body)) == 0 {
			continue // blank line
		}
		s.rec.Line = startLine
		s.rec.Seq++
		if over {
			s.oversize(startLine)
			return true
		}
		if !s.enc.UTF8() {
			if declared, asUTF8, ok := s.enc.LooksUTF8(body); ok {
				if s.utf8Seen == 0 {
					s.utf8Line, s.utf8Word, s.utf8AsEnc = startLine, asUTF8, declared
				}
				s.utf8Seen++
			}
		}
		fields, diag := ParseFieldsEnc(body, s.name, startLine, s.rec.Fields[:0], s.limit, s.enc)
		s.rec.Fields = fields
		s.rec.NumFields = q.fields()
		s.syntax = diag
		if len(fields) > 0 {
			s.rec.Type = fields[0].Value
		} else {
			s.rec.Type = ""
		}
		return true
	}
}

// oversize makes the current record, over the size bound, a rejected one:
// its type when the kept prefix shows a short one, and a diagnostic.
func (s *Scanner) oversize(startLine int) {
	s.rec.Fields = s.rec.Fields[:0]
	s.rec.NumFields = 0
	s.rec.Type = "?"
	if i := bytes.IndexByte(s.raw, ','); i > 0 && i <= 16 {
		if t, te := s.enc.Text(string(s.raw[:i])); te == nil && !strings.ContainsAny(t, "\"\n") {
			s.rec.Type = t
			s.rec.Fields = append(s.rec.Fields, source.Field{Value: t, Line: int32(startLine), Col: 1})
		}
	}
	s.syntax = &source.Diagnostic{File: s.name, Line: startLine, Col: 1, Severity: source.Error, Rule: source.RuleRecordSize,
		Msg: fmt.Sprintf("the record is %d bytes, over the bound of %d bytes per record; it is rejected and reading goes on with the next record", s.recLen, s.max)}
}

// quoteState follows RFC 4180 quoting across chunks to tell whether a line
// end falls inside a quoted field (the record goes on) or not. A quote in the
// middle of an unquoted field does not open one, so a stray quote costs one
// line, not the rest of the file.
type quoteState struct {
	commas     int  // field separators outside quoted fields
	started    bool // a field has begun on this record (not at a field start)
	inQuoted   bool
	quoteSeen  bool // inside a quoted field, a quote that may close it or start a doubled pair
	fieldStart bool
}

func (q *quoteState) feed(b []byte) {
	if !q.started {
		q.started, q.fieldStart = true, true
	}
	// The state changes only at quotes: jump from one to the next, counting
	// the commas in between outside quoted fields.
	for len(b) > 0 {
		if q.inQuoted {
			if q.quoteSeen {
				q.quoteSeen = false
				if b[0] == '"' {
					b = b[1:] // doubled quote
					continue
				}
				q.inQuoted = false // closed; b[0] is outside
				continue
			}
			k := bytes.IndexByte(b, '"')
			if k < 0 {
				return
			}
			q.quoteSeen = true
			b = b[k+1:]
			continue
		}
		seg := b
		k := bytes.IndexByte(b, '"')
		if k >= 0 {
			seg = b[:k]
		}
		if len(seg) > 0 {
			q.commas += bytes.Count(seg, comma)
			q.fieldStart = seg[len(seg)-1] == ','
		}
		if k < 0 {
			return
		}
		if q.fieldStart {
			q.inQuoted = true
		}
		q.fieldStart = false
		b = b[k+1:]
	}
}

var comma = []byte{','}

// fields returns the number of fields seen (separators + 1).
func (q *quoteState) fields() int { return q.commas + 1 }

// open reports whether the data fed so far ends inside a quoted field.
func (q *quoteState) open() bool { return q.inQuoted && !q.quoteSeen }

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// cut handles a quoted field that does not close (at the end of the input,
// or within the size bound): the record is cut to its first line, whose
// parse reports the quote, and reading goes on after that line. s.raw
// holds every byte of the record read so far.
func (s *Scanner) cut(startLine, firstLen int) {
	if int64(firstLen) >= s.off-s.recOff {
		return
	}
	next := s.recOff + int64(firstLen)
	if s.seeker != nil {
		if _, err := s.seeker.Seek(s.base+next, io.SeekStart); err != nil {
			s.err = err
			return
		}
		s.r.Reset(s.src)
	} else {
		// Not seekable: re-read the bytes held after the first line.
		rest := append([]byte(nil), s.raw[firstLen:]...)
		s.r = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(rest), s.r), 256<<10)
	}
	s.raw = s.raw[:firstLen]
	s.off = next
	s.line = startLine
}

// Record returns the current record. It is reused by the next call to Next.
func (s *Scanner) Record() *source.Record { return &s.rec }

// Raw returns the current record's bytes, line end included. Reused by Next.
func (s *Scanner) Raw() []byte { return s.raw }

// Offset returns the byte offset of the current record in the input (after a
// BOM, counting it).
func (s *Scanner) Offset() int64 { return s.recOff }

// Syntax returns the syntax error of the current record, if any.
func (s *Scanner) Syntax() *source.Diagnostic { return s.syntax }

// Err returns the I/O error that stopped the scanner, if any.
func (s *Scanner) Err() error { return s.err }

// ErrQuote is wrapped by quoting errors.
var ErrQuote = errors.New("bad quoting")

// ParseFields splits one record (without its line end) into fields appended
// to dst. line is the line the record starts on. Field values are substrings
// of a single copy of rec, except quoted fields with doubled quotes. On a
// quoting error it returns the fields read so far and a diagnostic.
func ParseFields(rec []byte, file string, line int, dst []source.Field) ([]source.Field, *source.Diagnostic) {
	return ParseFieldsN(rec, file, line, dst, 0)
}

// ParseFieldsN is ParseFields stopping after the first n fields (n <= 0: all).
func ParseFieldsN(rec []byte, file string, line int, dst []source.Field, n int) ([]source.Field, *source.Diagnostic) {
	return ParseFieldsEnc(rec, file, line, dst, n, nil)
}

// ParseFieldsEnc is ParseFieldsN for a record in encoding enc (nil: UTF-8):
// every value must be text (source.Encoding.Text) and is decoded to UTF-8.
// A value that is not is a diagnostic at its first bad byte. Plain ASCII
// values cost no extra pass: the scan that looks for the comma stops at
// any other byte, and only then is the value checked.
func ParseFieldsEnc(rec []byte, file string, line int, dst []source.Field, n int, enc *source.Encoding) ([]source.Field, *source.Diagnostic) {
	if n > 0 {
		rec = prefixFields(rec, n)
	}
	str := string(rec)
	ln, lineStart := line, 0
	i := 0
	for {
		col := i - lineStart + 1
		if i < len(str) && str[i] == '"' {
			// Quoted field.
			fLine, fCol := ln, col
			j := i + 1
			var b strings.Builder
			simple := true
			segStart := j
			for {
				k := strings.IndexByte(str[j:], '"')
				if k < 0 {
					return dst, &source.Diagnostic{File: file, Line: fLine, Col: fCol, Severity: source.Error, Column: len(dst) + 1,
						Msg: "quoted field is not closed (" + ErrQuote.Error() + ")", Rule: source.RuleQuote}
				}
				// Count newlines inside the quoted part for positions.
				for _, c := range []byte(str[j : j+k]) {
					if c == '\n' {
						ln++
					}
				}
				if nl := strings.LastIndexByte(str[j:j+k], '\n'); nl >= 0 {
					lineStart = j + nl + 1
				}
				j += k + 1
				if j < len(str) && str[j] == '"' {
					// Doubled quote.
					if simple {
						simple = false
						b.Grow(len(str) - segStart)
					}
					b.WriteString(str[segStart:j])
					j++
					segStart = j
					continue
				}
				break
			}
			var v string
			if simple {
				v = str[i+1 : j-1]
			} else {
				b.WriteString(str[segStart : j-1])
				v = b.String()
			}
			v, te := enc.Text(v)
			if te != nil {
				// Position of the bad byte: after the opening quote, on
				// the value's own line when it spans lines.
				l, c := fLine, fCol+1+te.Off
				if k := strings.LastIndexByte(str[i+1:min(i+1+te.Off, len(str))], '\n'); k >= 0 {
					l += strings.Count(str[i+1:i+1+k+1], "\n")
					c = te.Off - k
				}
				return dst, textDiag(file, l, c, len(dst)+1, te)
			}
			dst = append(dst, source.Field{Value: v, Line: int32(fLine), Col: int32(fCol)})
			if j == len(str) {
				return dst, nil
			}
			if str[j] != ',' {
				return dst, &source.Diagnostic{File: file, Line: ln, Col: j - lineStart + 1, Severity: source.Error, Column: len(dst),
					Msg: fmt.Sprintf("unexpected %q after a closing quote (%s)", str[j], ErrQuote), Rule: source.RuleQuote}
			}
			i = j + 1
			if i == len(str) {
				dst = append(dst, source.Field{Line: int32(ln), Col: int32(i - lineStart + 1)})
				return dst, nil
			}
			continue
		}
		// Unquoted field. Most are short and plain: one pass finds the
		// comma; a quote or line break before it takes the checks below.
		j := i
		for j < len(str) && !fieldStop[str[j]] {
			j++
		}
		if j == len(str) || str[j] == ',' {
			dst = append(dst, source.Field{Value: str[i:j], Line: int32(ln), Col: int32(col)})
			if j == len(str) {
				return dst, nil
			}
			i = j + 1
			if i == len(str) {
				dst = append(dst, source.Field{Line: int32(ln), Col: int32(i - lineStart + 1)})
				return dst, nil
			}
			continue
		}
		k := strings.IndexByte(str[i:], ',')
		end := len(str)
		if k >= 0 {
			end = i + k
		}
		v := str[i:end]
		if q := strings.IndexByte(v, '"'); q >= 0 {
			return dst, &source.Diagnostic{File: file, Line: ln, Col: col + q, Severity: source.Error, Column: len(dst) + 1,
				Msg: "a quote inside an unquoted field; quote the whole field and double the quote (" + ErrQuote.Error() + ")", Rule: source.RuleQuote}
		}
		if nl := strings.IndexByte(v, '\n'); nl >= 0 {
			// Only reachable with a stray newline in an unquoted field joined by an odd quote count.
			return dst, &source.Diagnostic{File: file, Line: ln, Col: col + nl, Severity: source.Error, Column: len(dst) + 1,
				Msg: "line break inside an unquoted field (" + ErrQuote.Error() + ")", Rule: source.RuleQuote}
		}
		v, te := enc.Text(v)
		if te != nil {
			return dst, textDiag(file, ln, col+te.Off, len(dst)+1, te)
		}
		dst = append(dst, source.Field{Value: v, Line: int32(ln), Col: int32(col)})
		if k < 0 {
			return dst, nil
		}
		i = end + 1
		if i == len(str) {
			dst = append(dst, source.Field{Line: int32(ln), Col: int32(i - lineStart + 1)})
			return dst, nil
		}
	}
}

// fieldStop marks the bytes that end the fast scan of an unquoted field:
// the comma, a quote, and any byte that is not printable ASCII (a line
// break, a control character, a byte of a multi-byte character), whose
// field is then checked as text.
var fieldStop = func() (t [256]bool) {
	for c := range t {
		t[c] = c < 0x20 || c >= 0x80
	}
	t[','], t['"'] = true, true
	return t
}()

func textDiag(file string, line, col, column int, te *source.TextError) *source.Diagnostic {
	return &source.Diagnostic{File: file, Line: line, Col: col, Severity: source.Error, Column: column, Msg: te.Msg, Rule: te.Rule}
}

// prefixFields returns the bytes of the first n fields of rec (quote-aware).
func prefixFields(rec []byte, n int) []byte {
	inQuoted := false
	for i := 0; i < len(rec); i++ {
		switch rec[i] {
		case '"':
			inQuoted = !inQuoted // a doubled quote toggles twice
		case ',':
			if !inQuoted {
				n--
				if n == 0 {
					return rec[:i]
				}
			}
		}
	}
	return rec
}
