package legacy

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"scimigrate/converter/source"
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
		enc, _ := source.LookupEncoding("windows-1252")
		return bytes.NewReader(enc.Decode(data)), nil
	}
	return nil, fmt.Errorf("encoding %q is not supported (UTF-8, UTF-16, ISO-8859-1 and windows-1252 are); save the file as UTF-8", label)
}
