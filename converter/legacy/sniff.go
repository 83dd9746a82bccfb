package legacy

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// SniffSize is how many leading bytes Sniff needs at most.
const SniffSize = 64 << 10

// Sniff decides the format of an input from its first bytes (up to SniffSize;
// fewer when the input is shorter): "flat" (the first non-blank line starts
// with a three-digit record code and a comma, normally "100,"; an empty input
// counts as flat so that the flat-file reader reports it), "v1" (XML whose
// root element is batch or UserProfile, in any letter case, after an optional
// declaration, comments and DOCTYPE), "v3" (a JSON object with an "Items"
// key), or "" with a description of what was seen. A byte-order mark (UTF-8
// or UTF-16) is tolerated.
func Sniff(head []byte) (format, seen string) {
	full := len(head) < SniffSize
	b := Normalize(head)
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return "flat", "an empty input"
	}
	switch b[0] {
	case '<':
		root, ok := xmlRoot(b)
		if !ok {
			return "", "XML without a root element in its first " + strconv.Itoa(len(head)) + " bytes"
		}
		local := root
		if i := strings.LastIndexByte(local, ':'); i >= 0 {
			local = local[i+1:]
		}
		if strings.EqualFold(local, "batch") || strings.EqualFold(local, "UserProfile") {
			return FormatV1, "XML <" + root + ">"
		}
		return "", "XML with root element <" + root + "> (Users V1 has <batch> or <UserProfile>)"
	case '{':
		if hasItemsKey(b) || !full {
			return FormatV3, "a JSON object"
		}
		return "", `a JSON object without an "Items" key`
	case '[':
		return "", `a JSON array (v3 user lists are objects with an "Items" array)`
	}
	line := b
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	code := bytes.Trim(line, `"`)
	if i := bytes.IndexByte(line, ','); i >= 0 {
		code = bytes.Trim(line[:i], `" `)
	}
	if len(code) == 3 && isDigits(code) && (bytes.IndexByte(line, ',') >= 0 || len(bytes.TrimSpace(line)) == 3) {
		return "flat", "record " + string(code)
	}
	if len(line) > 40 {
		line = append(line[:37:37], "..."...)
	}
	return "", fmt.Sprintf("first line %q", line)
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// xmlRoot skips the prolog (declaration, processing instructions, comments,
// DOCTYPE) and returns the root element's name.
func xmlRoot(b []byte) (string, bool) {
	for {
		b = bytes.TrimLeft(b, " \t\r\n")
		switch {
		case bytes.HasPrefix(b, []byte("<?")):
			i := bytes.Index(b, []byte("?>"))
			if i < 0 {
				return "", false
			}
			b = b[i+2:]
		case bytes.HasPrefix(b, []byte("<!--")):
			i := bytes.Index(b[4:], []byte("-->"))
			if i < 0 {
				return "", false
			}
			b = b[4+i+3:]
		case bytes.HasPrefix(b, []byte("<!")):
			i := bytes.IndexByte(b, '>')
			if i < 0 {
				return "", false
			}
			b = b[i+1:]
		case bytes.HasPrefix(b, []byte("<")):
			n := b[1:]
			end := bytes.IndexAny(n, " \t\r\n/>")
			if end <= 0 {
				return "", false
			}
			return string(n[:end]), true
		default:
			return "", false
		}
	}
}

// hasItemsKey reports whether b holds the key "Items" (any case) followed by
// a colon.
func hasItemsKey(b []byte) bool {
	lower := bytes.ToLower(b)
	for off := 0; ; {
		i := bytes.Index(lower[off:], []byte(`"items"`))
		if i < 0 {
			return false
		}
		off += i + len(`"items"`)
		if rest := bytes.TrimLeft(lower[off:], " \t\r\n"); len(rest) > 0 && rest[0] == ':' {
			return true
		}
	}
}
