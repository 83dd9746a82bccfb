package legacy

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"scimigrate/converter/source"
)

// ReadV1 reads a Users V1 document: a <batch> of <UserProfile> elements or a
// single <UserProfile> (the GET form). Element names are matched
// case-insensitively by the mapping table; the reader itself:
//
//   - keeps every child element of a UserProfile as a field named by its
//     local name, in document order, its value the element's text (the text of
//     nested elements concatenated; i:nil="true" reads as empty);
//   - sets Record.Seq to FeedRecordNumber when it is a positive integer, else
//     to the profile's position in the file (the field is kept: the table
//     rejects a value that is not a whole number);
//   - replaces a non-empty Password by "***" so that it is never held, let
//     alone emitted (the table reports it unsupported);
//   - drops LedgerName when LedgerKey is also present (the GET returns both:
//     the code and its display name);
//   - moves NewEmployeeID / NewLoginID into a "v1-idchange" record (current
//     EmpId plus the new values) and puts the new values in the profile's
//     EmpId / LoginId, so that, as with 320 records applied first, the profile
//     updates the renamed user instead of reverting the rename;
//   - reads other children of <batch> as records of type "<name>", which the
//     pipeline reports as an unsupported record type.
//
// An XML syntax error ends the reading: the profile being read (or a record
// at the error) carries it, and the records before it convert. The returned
// error, a source.Diagnostic, is for documents that are not Users V1 at all.
func ReadV1(name string, data []byte) (*Doc, error) { return ReadV1Enc(name, data, nil) }

// ReadV1Enc is ReadV1 for a document declared (--encoding) in enc (nil:
// UTF-8). The document's own XML declaration, when it names an encoding,
// wins; else the bytes are decoded from enc before parsing.
//
// A document without an encoding declaration must be text: a byte that is
// not UTF-8, NUL or another control character rejects the UserProfile
// holding it (the diagnostic at the byte, with the field), not the rest of
// the file: such bytes are masked (as '?', so positions stay) before
// parsing and the profiles holding them marked afterwards.
func ReadV1Enc(name string, data []byte, enc *source.Encoding) (*Doc, error) {
	data = Normalize(data)
	if declaresEncoding(data) {
		return readV1(name, data)
	}
	data = enc.Decode(data)
	masked, bad := maskNonText(data)
	doc, err := readV1(name, masked)
	if err != nil || len(bad) == 0 {
		return doc, err
	}
	markNonText(doc, data, bad)
	return doc, nil
}

// maskNonText returns data with every byte that is not text (see
// source.Encoding.Text, UTF-8) replaced by '?', and their offsets; data
// itself when it is all text.
func maskNonText(data []byte) ([]byte, []int) {
	var bad []int
	var out []byte
	for i := 0; i < len(data); {
		c := data[i]
		n := 1
		ok := c >= 0x20 && c < utf8.RuneSelf || c == '\t' || c == '\n' || c == '\r'
		if c >= utf8.RuneSelf {
			var r rune
			r, n = utf8.DecodeRune(data[i:])
			ok = r != utf8.RuneError || n > 1
		}
		if !ok {
			if out == nil {
				out = append([]byte(nil), data...)
			}
			out[i] = '?'
			bad = append(bad, i)
		}
		i += n
	}
	if out == nil {
		return data, nil
	}
	return out, bad
}

// markNonText gives each record holding a masked byte a diagnostic at the
// first one (unless it has one already); a byte before every record gets a
// rejected record of its own, so that none is dropped silently.
func markNonText(doc *Doc, data []byte, bad []int) {
	ls := newLines(data)
	off := func(r *source.Record) int { return ls[r.Line-1] + r.Col - 1 }
	var utf8Only *source.Encoding
	for _, b := range bad {
		i := sort.Search(len(doc.Records), func(i int) bool { return off(&doc.Records[i]) > b }) - 1
		line, col := ls.pos(b)
		end := b + 1
		for end < len(data) && data[end] != '\n' {
			end++
		}
		// From a little before the byte, for the word around it.
		from := max(b-24, ls[line-1])
		for from < b && !utf8.RuneStart(data[from]) {
			from++
		}
		msg := "not text"
		if _, te := utf8Only.Text(string(data[from:end])); te != nil {
			msg = te.Msg
		}
		d := diagAt(doc.Name, line, col, msg+"; the user is not converted")
		d.Rule = source.RuleText
		if i < 0 {
			doc.Records = append([]source.Record{{File: doc.Name, Line: line, Col: col, Type: TypeV1, Seq: 0}}, doc.Records...)
			doc.Syntax = append([]*source.Diagnostic{d}, doc.Syntax...)
			continue
		}
		if doc.Syntax[i] != nil {
			continue
		}
		for _, f := range doc.Records[i].Fields {
			if ls[f.Line-1]+int(f.Col)-1 <= b {
				d.Field = f.Name
			}
		}
		doc.Syntax[i] = d
	}
}

func readV1(name string, data []byte) (*Doc, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = charsetReader
	p := &v1Reader{name: name, d: d, doc: &Doc{Name: name, Format: FormatV1}}
	for {
		line, col := inputPos(d)
		tok, err := d.Token()
		if err == io.EOF {
			return nil, *diagAt(name, line, col, "no root element: not a Users V1 document (<batch> or <UserProfile>)")
		}
		if err != nil {
			l, c := inputPos(d)
			return nil, *diagAt(name, l, c, "not a readable Users V1 document: "+xmlMsg(err))
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, *diagAt(name, line, col, "text before the root element: not a Users V1 document")
			}
			continue
		case xml.StartElement:
			local := t.Name.Local
			switch {
			case strings.EqualFold(local, "batch"):
				if ns := t.Name.Space; ns != "" && !strings.HasPrefix(strings.ToLower(ns), "http://www.concursolutions.com/api/user/") {
					return nil, *diagAt(name, line, col, "root element <batch> is in namespace "+strconv.Quote(ns)+", not the Users V1 namespace "+Namespace)
				}
				if !p.batch() {
					return p.doc, nil
				}
			case strings.EqualFold(local, "UserProfile"):
				if !p.profile(line, col, 1) {
					return p.doc, nil
				}
			default:
				msg := "root element <" + local + "> is not a Users V1 <batch> or <UserProfile>"
				switch strings.ToLower(local) {
				case "userbatch":
					msg += "; password batches (UserBatch) are not converted: UPS has no password attribute"
				case "user-batch-result":
					msg += "; it is a batch response, not the users that were sent"
				}
				return nil, *diagAt(name, line, col, msg)
			}
			p.trailer(local)
			return p.doc, nil
		}
	}
}

type v1Reader struct {
	name string
	d    *xml.Decoder
	doc  *Doc
}

// inputPos is the decoder's position, at least 1:1 (its column can be 0
// after it puts back a newline).
func inputPos(d *xml.Decoder) (line, col int) {
	line, col = d.InputPos()
	return max(line, 1), max(col, 1)
}

func xmlMsg(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return se.Msg
	}
	return err.Error()
}

// fail records a syntax error that ends the reading, on rec (partial) or on a
// record of its own at the error.
func (p *v1Reader) fail(rec *source.Record, err error) {
	line, col := inputPos(p.d)
	if rec == nil {
		rec = &source.Record{File: p.name, Line: line, Col: col, Type: TypeV1, Seq: len(p.doc.Records) + 1}
	}
	msg, rule := xmlMsg(err), ""
	if msg == "invalid UTF-8" {
		// Only in a document that declares its encoding (others are
		// checked before parsing): bytes its decoder left undecoded.
		msg += " (not text); check the encoding its XML declaration names"
		rule = source.RuleText
	}
	d := diagAt(p.name, line, col, "XML syntax error: "+msg+"; the rest of the file is not read")
	d.Rule = rule
	p.doc.add(*rec, d)
}

// batch reads the children of <batch>; false when a syntax error ended it.
func (p *v1Reader) batch() bool {
	n := 0
	for {
		line, col := inputPos(p.d)
		tok, err := p.d.Token()
		if err != nil {
			p.fail(nil, err)
			return false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n++
			if strings.EqualFold(t.Name.Local, "UserProfile") {
				if !p.profile(line, col, n) {
					return false
				}
				continue
			}
			p.doc.add(source.Record{File: p.name, Line: line, Col: col, Type: "<" + t.Name.Local + ">", Seq: n}, nil)
			if err := p.d.Skip(); err != nil {
				p.fail(nil, err)
				return false
			}
		case xml.EndElement:
			return true
		}
	}
}

// profile reads one UserProfile whose start tag is at line:col; false when a
// syntax error ended it.
func (p *v1Reader) profile(line, col, n int) bool {
	rec := source.Record{File: p.name, Line: line, Col: col, Type: TypeV1, Seq: n}
	for {
		fl, fc := inputPos(p.d)
		tok, err := p.d.Token()
		if err != nil {
			p.fail(&rec, err)
			return false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			val, err := p.text()
			if err != nil {
				p.fail(&rec, err)
				return false
			}
			if isNil(t) {
				val = ""
			}
			rec.Fields = append(rec.Fields, source.Field{Name: t.Name.Local, Value: val, Line: int32(fl), Col: int32(fc)})
		case xml.EndElement:
			p.finish(rec)
			return true
		}
	}
}

// text reads an element's content up to its end tag.
func (p *v1Reader) text() (string, error) {
	var b strings.Builder
	depth := 0
	for {
		tok, err := p.d.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth == 0 {
				return b.String(), nil
			}
			depth--
		}
	}
}

func isNil(t xml.StartElement) bool {
	for _, a := range t.Attr {
		if strings.EqualFold(a.Name.Local, "nil") && (a.Value == "true" || a.Value == "1") {
			return true
		}
	}
	return false
}

func named(f *source.Field, names ...string) bool {
	for _, n := range names {
		if strings.EqualFold(f.Name, n) {
			return true
		}
	}
	return false
}

// finish applies the reader's rules (see ReadV1) and adds the record(s).
func (p *v1Reader) finish(rec source.Record) {
	ledgerKey := false
	var newEmp, newLogin *source.Field
	kept := rec.Fields[:0:0]
	for i := range rec.Fields {
		f := rec.Fields[i]
		v := strings.TrimSpace(f.Value)
		switch {
		case named(&f, "FeedRecordNumber"):
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				rec.Seq = n
			}
		case named(&f, "Password"):
			if v != "" {
				f.Value = "***"
			}
		case named(&f, "NewEmployeeID"):
			if v != "" {
				newEmp = &f
			}
			continue
		case named(&f, "NewLoginID"):
			if v != "" {
				newLogin = &f
			}
			continue
		case named(&f, "LedgerKey"):
			ledgerKey = true
		}
		kept = append(kept, f)
	}
	if ledgerKey {
		out := kept[:0]
		for _, f := range kept {
			if !named(&f, "LedgerName") {
				out = append(out, f)
			}
		}
		kept = out
	}
	emp, login := -1, -1
	for i := range kept {
		switch {
		case emp < 0 && named(&kept[i], "EmpId", "EmployeeID"):
			emp = i
		case login < 0 && named(&kept[i], "LoginId"):
			login = i
		}
	}
	rec.Fields = kept
	if newEmp == nil && newLogin == nil {
		p.doc.add(rec, nil)
		return
	}
	idc := source.Record{File: p.name, Type: TypeV1IDChange, Seq: rec.Seq}
	first := newEmp
	if first == nil || newLogin != nil && (newLogin.Line < first.Line || newLogin.Line == first.Line && newLogin.Col < first.Col) {
		first = newLogin
	}
	idc.Line, idc.Col = int(first.Line), int(first.Col)
	if emp >= 0 {
		idc.Fields = append(idc.Fields, rec.Fields[emp])
	}
	if newEmp != nil {
		idc.Fields = append(idc.Fields, *newEmp)
		rec.Fields = rename(rec.Fields, emp, "EmpId", newEmp)
	}
	if newLogin != nil {
		idc.Fields = append(idc.Fields, *newLogin)
		rec.Fields = rename(rec.Fields, login, "LoginId", newLogin)
	}
	p.doc.add(rec, nil)
	p.doc.add(idc, nil)
}

// rename puts the new value (and its position) into field i, or appends it
// under name when the profile has no such field.
func rename(fields []source.Field, i int, name string, nv *source.Field) []source.Field {
	if i < 0 {
		return append(fields, source.Field{Name: name, Value: nv.Value, Line: nv.Line, Col: nv.Col})
	}
	fields[i].Value, fields[i].Line, fields[i].Col = nv.Value, nv.Line, nv.Col
	return fields
}

// trailer reads what follows the root element: only whitespace, comments and
// processing instructions may.
func (p *v1Reader) trailer(root string) {
	for {
		line, col := inputPos(p.d)
		tok, err := p.d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			p.fail(nil, err)
			return
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) == 0 {
				continue
			}
		case xml.StartElement:
		default:
			continue
		}
		p.doc.add(source.Record{File: p.name, Line: line, Col: col, Type: TypeV1, Seq: len(p.doc.Records) + 1},
			diagAt(p.name, line, col, "content after the end of the root element <"+root+">; the rest of the file is not read"))
		return
	}
}

// declaresEncoding reports whether an XML document starts with a
// declaration that names its encoding.
func declaresEncoding(data []byte) bool {
	b := bytes.TrimLeft(data, " \t\r\n")
	if !bytes.HasPrefix(b, []byte("<?xml")) {
		return false
	}
	end := bytes.Index(b, []byte("?>"))
	return end > 0 && bytes.Contains(b[:end], []byte("encoding"))
}
