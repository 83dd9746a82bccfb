package source

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Rules of the diagnostics the readers give, for the diagnostics' Rule:
// tools cap how many of one rule they echo.
const (
	RuleQuote      = "quoting"      // RFC 4180 quoting
	RuleText       = "text"         // a value that is not text (NUL, control character, bytes not in the encoding)
	RuleWindows    = "text-cp1252"  // bytes that are not UTF-8 but read as Windows-1252 text
	RuleRecordSize = "record-size"  // a record over the size bound
	RuleWidth      = "record-width" // more columns than the record type has
	RuleType       = "record-type"  // unknown record type
)

// Encoding is the character encoding an input is declared in. The nil
// *Encoding is UTF-8, the default: values must then be valid UTF-8. A
// single-byte encoding (Windows-1252; ISO-8859-1 is read as Windows-1252,
// as the WHATWG Encoding Standard does) is decoded to UTF-8.
type Encoding struct {
	name string
	cm   *charmap.Charmap
}

// Encodings lists the encoding names --encoding accepts.
var Encodings = []string{"utf-8", "windows-1252", "iso-8859-1", "latin1"}

// LookupEncoding returns the encoding of a label ("" or "utf-8": nil).
func LookupEncoding(label string) (*Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "", "utf-8", "utf8":
		return nil, nil
	case "windows-1252", "cp1252", "windows1252":
		return &Encoding{name: "windows-1252", cm: charmap.Windows1252}, nil
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1":
		// Files labelled Latin-1 are Windows-1252 in practice (0x80-0x9F
		// are C1 controls in ISO-8859-1, never user data).
		return &Encoding{name: "iso-8859-1 (read as windows-1252)", cm: charmap.Windows1252}, nil
	}
	return nil, fmt.Errorf("unknown encoding %q (known: %s)", label, strings.Join(Encodings, ", "))
}

// String returns the encoding's name.
func (e *Encoding) String() string {
	if e == nil {
		return "utf-8"
	}
	return e.name
}

// UTF8 reports whether e is UTF-8 (nothing to decode).
func (e *Encoding) UTF8() bool { return e == nil || e.cm == nil }

// TextError is a value that is not text: Off is the byte offset of the
// first offending byte in the value.
type TextError struct {
	Off  int
	Rule string
	Msg  string
}

// Text checks that s is text in encoding e and returns it as UTF-8. Text is
// any character but NUL and the other C0 control characters (tab, line
// feed and carriage return allowed), as in XML 1.0; in UTF-8, a byte that
// does not start a valid sequence is not text either (it is never replaced
// by U+FFFD). A value of ASCII text is returned as is, without allocating.
func (e *Encoding) Text(s string) (string, *TextError) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < 0x20 {
			if c == '\t' || c == '\n' || c == '\r' {
				i++
				continue
			}
			return "", controlError(i, c)
		}
		break
	}
	if i == len(s) {
		return s, nil
	}
	if e.UTF8() {
		for i < len(s) {
			c := s[i]
			if c < utf8.RuneSelf {
				if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
					return "", controlError(i, c)
				}
				i++
				continue
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return "", notUTF8(s, i)
			}
			i += n
		}
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return "", controlError(i, c)
			}
			b.WriteByte(c)
			continue
		}
		r := e.cm.DecodeByte(c)
		if r == utf8.RuneError {
			return "", &TextError{Off: i, Rule: RuleText, Msg: fmt.Sprintf("byte 0x%02X is not a character in %s (not text)", c, e.name)}
		}
		b.WriteRune(r)
	}
	return b.String(), nil
}

func controlError(off int, c byte) *TextError {
	if c == 0 {
		return &TextError{Off: off, Rule: RuleText, Msg: "a NUL byte (0x00) is not text"}
	}
	return &TextError{Off: off, Rule: RuleText, Msg: fmt.Sprintf("control character 0x%02X is not text", c)}
}

// notUTF8 describes the byte at s[i], which does not start a valid UTF-8
// sequence. When the bytes around it read as Windows-1252 text, the
// message shows that reading and names the --encoding option.
func notUTF8(s string, i int) *TextError {
	c := s[i]
	if charmap.Windows1252.DecodeByte(c) != utf8.RuneError {
		// Show the word around the byte as Windows-1252 would read it.
		start, end := i, i+1
		for start > 0 && i-start < 24 && !wordStop[s[start-1]] {
			start--
		}
		for end < len(s) && end-i < 24 && !wordStop[s[end]] {
			end++
		}
		word, _ := charmap.Windows1252.NewDecoder().String(s[start:end])
		if utf8.ValidString(word) {
			return &TextError{Off: i, Rule: RuleWindows, Msg: fmt.Sprintf(
				"byte 0x%02X is not UTF-8 (not text); read as Windows-1252 it is %q: if the file is Windows-1252, declare it with --encoding windows-1252", c, word)}
		}
	}
	return &TextError{Off: i, Rule: RuleText, Msg: fmt.Sprintf("byte 0x%02X is not UTF-8 (not text)", c)}
}

// Decode returns b decoded from e to UTF-8 (b itself for UTF-8, or when it
// is ASCII). Bytes that are not characters of e are left as they are, so
// that a UTF-8 check of the result reports them where they stand.
func (e *Encoding) Decode(b []byte) []byte {
	if e.UTF8() {
		return b
	}
	i := 0
	for i < len(b) && b[i] < utf8.RuneSelf {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, i, len(b)+len(b)/8)
	copy(out, b[:i])
	for _, c := range b[i:] {
		if c < utf8.RuneSelf {
			out = append(out, c)
		} else if r := e.cm.DecodeByte(c); r != utf8.RuneError {
			out = utf8.AppendRune(out, r)
		} else {
			out = append(out, c)
		}
	}
	return out
}

// wordStop ends the word shown around a byte that is not UTF-8.
var wordStop = func() (t [256]bool) {
	for c := 0; c <= ' '; c++ {
		t[c] = true
	}
	for _, c := range []byte(`,"<>{}[]:;`) {
		t[c] = true
	}
	return t
}()

// LooksUTF8 reports whether raw, read in a declared single-byte encoding,
// is rather UTF-8: it holds bytes above 0x7F and all of them form valid
// UTF-8 sequences (Windows-1252 text rarely does). It returns the first
// such word as e reads it and as UTF-8 reads it.
func (e *Encoding) LooksUTF8(raw []byte) (declared, asUTF8 string, ok bool) {
	if e.UTF8() {
		return "", "", false
	}
	i := 0
	for i < len(raw) && raw[i] < utf8.RuneSelf {
		i++
	}
	if i == len(raw) || !utf8.Valid(raw[i:]) {
		return "", "", false
	}
	start, end := i, i
	for start > 0 && i-start < 24 && !wordStop[raw[start-1]] {
		start--
	}
	for end < len(raw) && end-i < 24 && !wordStop[raw[end]] {
		end++
	}
	w := raw[start:end]
	return string(e.Decode(w)), string(w), true
}
