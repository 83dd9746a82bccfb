package legacy

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// charsetReader serves the encodings a V1 archive may declare. Input is UTF-8
// by then (Normalize transcoded real UTF-16), so a declared "utf-16" is the
// usual .NET quirk of serialising to a string and saving it as UTF-8.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii", "utf-16", "utf-16le", "utf-16be", "unicode":
		return input, nil
	case "iso-8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "windows-1252", "cp1252", "windows1252":
		data, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		return bytes.NewReader(decode1252(data)), nil
	}
	return nil, fmt.Errorf("encoding %q is not supported (UTF-8, UTF-16, ISO-8859-1 and windows-1252 are); save the file as UTF-8", label)
}

// cp1252 maps 0x80–0x9F of windows-1252; ISO-8859-1 has control characters
// there, which never occur in user data, so both labels share this table.
var cp1252 = [32]rune{
	'€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8D, 'Ž', 0x8F,
	0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9D, 'ž', 'Ÿ',
}

func decode1252(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for _, c := range b {
		switch {
		case c < 0x80:
			out = append(out, c)
		case c < 0xA0:
			out = append(out, string(cp1252[c-0x80])...)
		default:
			out = append(out, string(rune(c))...)
		}
	}
	return out
}
