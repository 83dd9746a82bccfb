package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

// AppendJSON appends the compact JSON encoding of v to b.
func AppendJSON(b []byte, v Value) []byte {
	switch v.Kind {
	case Null:
		return append(b, "null"...)
	case String:
		return AppendString(b, v.Str)
	case Bool:
		if v.Bool {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case Number:
		return append(b, v.Str...)
	case ObjectKind:
		return appendObject(b, v.Obj)
	case Array:
		b = append(b, '[')
		for i := range v.Arr {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSON(b, v.Arr[i])
		}
		return append(b, ']')
	}
	return b
}

func appendObject(b []byte, o *Object) []byte {
	b = append(b, '{')
	if o != nil {
		for i, m := range o.Members {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, m.Name)
			b = append(b, ':')
			b = AppendJSON(b, m.Value)
		}
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// plain marks the ASCII bytes that need no escaping in a JSON string (as
// encoding/json writes them: <, > and & are escaped too).
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// load8 reads the first eight bytes of s as a little-endian word (the
// compiler makes it one load).
func load8(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plain8 reports whether all eight bytes of x are plain (see plain): ASCII,
// not a control character, not one of " \\ < > &. A byte b of y is zero
// exactly when (y-ones)&^y has b's high bit set (no false yes for the word).
func plain8(x uint64) bool {
	q, bs, lt, gt, amp := x^(ones*'"'), x^(ones*'\\'), x^(ones*'<'), x^(ones*'>'), x^(ones*'&')
	bad := x | (x - ones*0x20) | // ≥ 0x80, or < 0x20 (given < 0x80)
		(q-ones)&^q | (bs-ones)&^bs | (lt-ones)&^lt | (gt-ones)&^gt | (amp-ones)&^amp
	return bad&highs == 0
}

// AppendString appends s as a JSON string literal, escaping as encoding/json
// does (including <, > and & and U+2028/U+2029), and replacing invalid UTF-8
// with U+FFFD.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Most strings are plain ASCII: skip it eight bytes at a time, then
		// byte by byte (plain is false for every byte from utf8.RuneSelf up).
		for i+8 <= len(s) && plain8(load8(s[i:])) {
			i += 8
		}
		for i < len(s) && plain[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Decode reads one JSON value, keeping object member order. Numbers keep
// their literal text.
func Decode(data []byte) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return Value{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return Value{}, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (Value, error) {
	if depth > 100 {
		return Value{}, fmt.Errorf("JSON nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return Value{}, err
	}
	switch t := tok.(type) {
	case nil:
		return Value{}, nil
	case bool:
		return BoolValue(t), nil
	case string:
		return Str(t), nil
	case json.Number:
		return Num(string(t)), nil
	case json.Delim:
		switch t {
		case '{':
			o := &Object{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return Value{}, err
				}
				name, _ := k.(string)
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return Value{}, err
				}
				o.Members = append(o.Members, Member{Name: name, Value: v})
			}
			if _, err := dec.Token(); err != nil {
				return Value{}, err
			}
			return Obj(o), nil
		case '[':
			arr := []Value{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return Value{}, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return Value{}, err
			}
			return Value{Kind: Array, Arr: arr}, nil
		}
	}
	return Value{}, fmt.Errorf("unexpected JSON token %v", tok)
}
