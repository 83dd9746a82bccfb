package legacy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"scimigrate/converter/source"
)

// ReadV3 reads one page of a v3.0 or v3.1 user list: a JSON object with an
// "Items" array of user objects (v3.0 UserCollection: Items, NextPage; v3.1:
// total, offset, limit, company, Items). Page keys other than Items and
// offset are not read. Each item becomes a record of type "v3":
//
//   - a string or number is the field's value (numbers as written);
//   - true/false read as Y/N, so the table's yesno and flag transforms apply
//     as to the other formats;
//   - null is left out (the field is absent);
//   - "Emails" (v3.1) is an array of addresses: the ones that differ from
//     PrimaryEmail (and from each other) become fields "Emails[1]",
//     "Emails[2]", … in order;
//   - any other array or object is a type error that rejects the item.
//
// Record.Seq is the item's 1-based position in the whole list when the page
// has a v3.1 "offset" (offset + position), else its position in the page.
// Several pages are several files; the pipeline merges items by EmployeeID.
//
// A JSON syntax error inside Items ends the reading: the item being read (or
// a record at the error) carries it. The returned error, a
// source.Diagnostic, is for documents that are not v3 user lists at all.
func ReadV3(name string, data []byte) (*Doc, error) { return ReadV3Enc(name, data, nil) }

// ReadV3Enc is ReadV3 for a document declared (--encoding) in enc (nil:
// UTF-8), decoded to UTF-8 before parsing (positions are then those of
// the decoded text). Every value must be text: bytes that are not UTF-8
// (which encoding/json would replace by U+FFFD) and control characters,
// including an escaped NUL (\u0000), reject their item with a diagnostic
// at the offending byte or field.
func ReadV3Enc(name string, data []byte, enc *source.Encoding) (*Doc, error) {
	data = enc.Decode(Normalize(data))
	r := &v3Reader{name: name, data: data, lines: newLines(data), doc: &Doc{Name: name, Format: FormatV3}, offset: -1}
	r.checkRaw = !utf8.Valid(data)
	r.d = json.NewDecoder(bytes.NewReader(data))
	r.d.UseNumber()
	if err := r.page(); err != nil {
		return nil, err
	}
	if r.offset >= 0 {
		for i := range r.doc.Records {
			r.doc.Records[i].Seq += r.offset
		}
	}
	return r.doc, nil
}

type v3Reader struct {
	name   string
	data   []byte
	lines  lines
	d      *json.Decoder
	doc    *Doc
	items  bool // the Items array was reached
	offset int
	stop   bool // a syntax error ended the reading
	// checkRaw: the document holds bytes that are not UTF-8; each item's
	// bytes are checked to find them.
	checkRaw bool
}

// text checks the item rec read from data[start:end]: its bytes (when the
// document is not all UTF-8) and its values must be text. The first
// problem is returned as the item's diagnostic.
func (r *v3Reader) text(rec *source.Record, start, end int) *source.Diagnostic {
	var utf8Only *source.Encoding
	if r.checkRaw && start < end && end <= len(r.data) {
		if _, te := utf8Only.Text(string(r.data[start:end])); te != nil {
			off := start + te.Off
			d := r.at(off, te.Msg+"; the user is not converted")
			d.Rule = te.Rule
			// The field is the last one whose key starts before the byte.
			for _, f := range rec.Fields {
				if fo := r.lines[f.Line-1] + int(f.Col) - 1; fo <= off {
					d.Field = f.Name
				}
			}
			return d
		}
	}
	for _, f := range rec.Fields {
		if _, te := utf8Only.Text(f.Value); te != nil {
			d := diagAt(r.name, int(f.Line), int(f.Col), te.Msg+" (written as an escape in the JSON string); the user is not converted")
			d.Field, d.Rule = f.Name, te.Rule
			return d
		}
	}
	return nil
}

// next returns the offset where the next token starts.
func (r *v3Reader) next() int {
	off := int(r.d.InputOffset())
	for off < len(r.data) {
		switch r.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (r *v3Reader) at(off int, msg string) *source.Diagnostic {
	line, col := r.lines.pos(min(off, len(r.data)))
	return diagAt(r.name, line, col, msg)
}

// errOffset is where a decoder error happened. The offsets of the streaming
// decoder's errors are relative to the value being read, so the document is
// checked whole (only on error) for the absolute offset of its first syntax
// error, which is the one the decoder stopped at.
func (r *v3Reader) errOffset(error) int {
	var v struct{}
	var se *json.SyntaxError
	if err := json.Unmarshal(r.data, &v); errors.As(err, &se) {
		return min(max(int(se.Offset)-1, 0), len(r.data))
	}
	return len(r.data)
}

func jsonMsg(err error) string {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "unexpected end of the JSON document"
	}
	return err.Error()
}

// fail handles a decoder error: before Items the document is not a v3 list
// (returned); after, the record being read (or one at the error) carries it.
func (r *v3Reader) fail(rec *source.Record, err error) error {
	off := r.errOffset(err)
	if !r.items {
		return *r.at(off, "not a readable v3 user list: JSON syntax error: "+jsonMsg(err))
	}
	d := r.at(off, "JSON syntax error: "+jsonMsg(err)+"; the rest of the file is not read")
	if rec == nil {
		rec = &source.Record{File: r.name, Line: d.Line, Col: d.Col, Type: TypeV3, Seq: len(r.doc.Records) + 1}
	}
	r.doc.add(*rec, d)
	r.stop = true
	return nil
}

func (r *v3Reader) page() error {
	start := r.next()
	tok, err := r.d.Token()
	if err != nil {
		return r.fail(nil, err)
	}
	if tok != json.Delim('{') {
		return *r.at(start, "not a v3 user list: the document is not a JSON object with an \"Items\" array")
	}
	for r.d.More() {
		tok, err := r.d.Token()
		if err != nil {
			return r.fail(nil, err)
		}
		key, _ := tok.(string)
		switch {
		case strings.EqualFold(key, "Items"):
			if err := r.itemList(); err != nil || r.stop {
				return err
			}
		case strings.EqualFold(key, "offset"):
			tok, err := r.d.Token()
			if err != nil {
				return r.fail(nil, err)
			}
			if n, ok := tok.(json.Number); ok {
				if v, err := strconv.Atoi(n.String()); err == nil && v >= 0 {
					r.offset = v
				}
			} else if err := r.skip(tok); err != nil {
				return r.fail(nil, err)
			}
		default:
			tok, err := r.d.Token()
			if err == nil {
				err = r.skip(tok)
			}
			if err != nil {
				return r.fail(nil, err)
			}
		}
	}
	if _, err := r.d.Token(); err != nil { // '}'
		return r.fail(nil, err)
	}
	if !r.items {
		return *r.at(start, "no \"Items\" array: not a v3.0 UserCollection or v3.1 user list")
	}
	off := r.next()
	if _, err := r.d.Token(); err != io.EOF {
		if err != nil {
			return r.fail(nil, err)
		}
		line, col := r.lines.pos(off)
		r.doc.add(source.Record{File: r.name, Line: line, Col: col, Type: TypeV3, Seq: len(r.doc.Records) + 1},
			r.at(off, "data after the end of the page object; the rest of the file is not read"))
	}
	return nil
}

// skip consumes the rest of a value whose first token was tok.
func (r *v3Reader) skip(tok json.Token) error {
	if d, ok := tok.(json.Delim); !ok || d == '}' || d == ']' {
		return nil
	}
	for depth := 1; depth > 0; {
		t, err := r.d.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

func (r *v3Reader) itemList() error {
	start := r.next()
	tok, err := r.d.Token()
	if err != nil {
		return r.fail(nil, err)
	}
	if tok == nil {
		r.items = true
		return nil
	}
	if tok != json.Delim('[') {
		return *r.at(start, "\"Items\" is not an array: not a v3.0 UserCollection or v3.1 user list")
	}
	r.items = true
	n := 0
	for r.d.More() {
		n++
		off := r.next()
		line, col := r.lines.pos(off)
		rec := source.Record{File: r.name, Line: line, Col: col, Type: TypeV3, Seq: n}
		tok, err := r.d.Token()
		if err != nil {
			return r.fail(&rec, err)
		}
		if tok != json.Delim('{') {
			if err := r.skip(tok); err != nil {
				return r.fail(&rec, err)
			}
			r.doc.add(rec, r.at(off, fmt.Sprintf("item %d of Items is not a JSON object", n)))
			continue
		}
		syntax, err := r.item(&rec)
		if err != nil {
			return r.fail(&rec, err)
		}
		if syntax == nil {
			syntax = r.text(&rec, off, int(r.d.InputOffset()))
		}
		r.emails(&rec)
		r.doc.add(rec, syntax)
	}
	if _, err := r.d.Token(); err != nil { // ']'
		return r.fail(nil, err)
	}
	return nil
}

// item reads the members of one user object after its '{'. A type error is
// returned as the record's diagnostic; a decoder error as err.
func (r *v3Reader) item(rec *source.Record) (*source.Diagnostic, error) {
	var syntax *source.Diagnostic
	typeError := func(off int, field, msg string) {
		if syntax == nil {
			syntax = r.at(off, msg)
			syntax.Field = field
		}
	}
	for r.d.More() {
		koff := r.next()
		tok, err := r.d.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		kl, kc := r.lines.pos(koff)
		field := source.Field{Name: key, Line: int32(kl), Col: int32(kc)}
		tok, err = r.d.Token()
		if err != nil {
			return nil, err
		}
		switch v := tok.(type) {
		case string:
			field.Value = v
		case json.Number:
			field.Value = v.String()
		case bool:
			field.Value = "N"
			if v {
				field.Value = "Y"
			}
		case nil:
			continue
		case json.Delim:
			if v == '[' && strings.EqualFold(key, "Emails") {
				if err := r.emailList(rec, key, typeError); err != nil {
					return nil, err
				}
				continue
			}
			if err := r.skip(tok); err != nil {
				return nil, err
			}
			what := "an object"
			if v == '[' {
				what = "an array"
			}
			typeError(koff, key, "a v3 user field holds a string, number, boolean or null, not "+what+"; the user is not converted")
			continue
		}
		rec.Fields = append(rec.Fields, field)
	}
	if _, err := r.d.Token(); err != nil { // '}'
		return nil, err
	}
	return syntax, nil
}

// emailList reads the entries of Emails after its '[' as fields named key.
func (r *v3Reader) emailList(rec *source.Record, key string, typeError func(int, string, string)) error {
	for i := 1; r.d.More(); i++ {
		off := r.next()
		tok, err := r.d.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case string:
			l, c := r.lines.pos(off)
			rec.Fields = append(rec.Fields, source.Field{Name: key, Value: v, Line: int32(l), Col: int32(c)})
		case nil:
		default:
			if err := r.skip(tok); err != nil {
				return err
			}
			typeError(off, key, fmt.Sprintf("entry %d is not a string; the user is not converted", i))
		}
	}
	_, err := r.d.Token() // ']'
	return err
}

// emails renames the Emails entries Emails[1], Emails[2], … skipping blanks,
// the primary address and repeats.
func (r *v3Reader) emails(rec *source.Record) {
	seen := map[string]bool{}
	for _, f := range rec.Fields {
		if strings.EqualFold(f.Name, "PrimaryEmail") {
			if v := strings.ToLower(strings.TrimSpace(f.Value)); v != "" {
				seen[v] = true
			}
		}
	}
	out := rec.Fields[:0]
	n := 0
	for _, f := range rec.Fields {
		if strings.EqualFold(f.Name, "Emails") {
			v := strings.ToLower(strings.TrimSpace(f.Value))
			if v == "" || seen[v] {
				continue
			}
			seen[v] = true
			n++
			f.Name = "Emails[" + strconv.Itoa(n) + "]"
		}
		out = append(out, f)
	}
	rec.Fields = out
}
