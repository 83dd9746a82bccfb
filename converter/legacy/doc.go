// Package legacy reads the payloads of SAP Concur's retired user APIs into
// source records for the same mapping engine as the flat file:
//
//   - Users V1 (XML): a <batch xmlns="http://www.concursolutions.com/api/user/2011/02">
//     of <UserProfile> elements as they were POSTed, or a single <UserProfile>
//     as the GET returned it. Each UserProfile is one record of type "v1"
//     (table mapping/tables/v1.yaml); NewEmployeeID/NewLoginID are moved into a
//     second record of type "v1-idchange" (an ID-change intent, like the 320).
//   - v3.0 / v3.1 (JSON): a v3.0 UserCollection {"Items": [...], "NextPage": ...}
//     or a v3.1 list page {"total", "offset", "limit", "Items": [...]}. Each item
//     is one record of type "v3" (mapping/tables/v3.yaml).
//
// A file is read whole into memory (V1 batches hold at most 1000 users, v3
// pages at most 1000); converter.OpenInputs wraps a Doc as a converter.Input
// whose Loc.Off is the record index. The package imports only converter/source
// so that package converter can sniff and open these formats.
//
// Positions: every record and field carries the line and byte column of its
// XML element's start tag or JSON key (1-based); every syntax diagnostic and
// every error returned by ReadV1/ReadV3 is a source.Diagnostic with one.
package legacy

import (
	"bytes"
	"sort"
	"unicode/utf16"

	"scimigrate/converter/source"
)

// Formats and record types.
const (
	FormatV1 = "v1"
	FormatV3 = "v3"

	TypeV1         = "v1"          // one UserProfile
	TypeV1IDChange = "v1-idchange" // its NewEmployeeID / NewLoginID
	TypeV3         = "v3"          // one v3.0/v3.1 user item

	// Namespace is the Users V1 XML namespace.
	Namespace = "http://www.concursolutions.com/api/user/2011/02"
)

// Doc is one legacy input file: its records in input order.
type Doc struct {
	Name    string
	Format  string // FormatV1 or FormatV3
	Records []source.Record
	// Syntax[i] is the syntax error of Records[i] (the record is rejected
	// whole), or nil.
	Syntax []*source.Diagnostic
}

func (d *Doc) add(rec source.Record, syntax *source.Diagnostic) {
	d.Records = append(d.Records, rec)
	d.Syntax = append(d.Syntax, syntax)
}

// lines maps byte offsets to 1-based line and byte column.
type lines []int // offsets of line starts

func newLines(data []byte) lines {
	ls := lines{0}
	for i, c := range data {
		if c == '\n' {
			ls = append(ls, i+1)
		}
	}
	return ls
}

func (ls lines) pos(off int) (line, col int) {
	i := sort.Search(len(ls), func(i int) bool { return ls[i] > off }) - 1
	if i < 0 {
		i = 0
	}
	return i + 1, off - ls[i] + 1
}

var bomUTF8 = []byte{0xEF, 0xBB, 0xBF}

// Normalize returns data as UTF-8 without a byte-order mark: a UTF-8 BOM is
// dropped, UTF-16 (with a BOM, or recognisable by its zero bytes around an
// ASCII '<' or '{') is transcoded. Other bytes are returned unchanged.
func Normalize(data []byte) []byte {
	if bytes.HasPrefix(data, bomUTF8) {
		return data[3:]
	}
	switch {
	case len(data) >= 2 && data[0] == 0xFF && data[1] == 0xFE:
		return fromUTF16(data[2:], false)
	case len(data) >= 2 && data[0] == 0xFE && data[1] == 0xFF:
		return fromUTF16(data[2:], true)
	case len(data) >= 2 && data[1] == 0 && data[0] != 0 && data[0] < 0x80:
		return fromUTF16(data, false)
	case len(data) >= 2 && data[0] == 0 && data[1] != 0 && data[1] < 0x80:
		return fromUTF16(data, true)
	}
	return data
}

func fromUTF16(b []byte, bigEndian bool) []byte {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		if bigEndian {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		} else {
			u = append(u, uint16(b[i+1])<<8|uint16(b[i]))
		}
	}
	out := make([]byte, 0, len(u))
	for _, r := range utf16.Decode(u) {
		out = append(out, string(r)...)
	}
	return out
}

func diagAt(file string, line, col int, msg string) *source.Diagnostic {
	return &source.Diagnostic{File: file, Line: max(line, 1), Col: max(col, 1), Severity: source.Error, Msg: msg}
}
