package plan

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"sync"
	"unicode/utf8"

	"scimigrate/scim"
)

// decodeFast reads one JSON value like scim.Decode (member order kept,
// numbers as their literal text) an order of magnitude faster: a snapshot
// line is parsed each time the plan needs its user. It reports false for
// anything it does not accept, and the caller then asks scim.Decode (for
// its error message); it accepts nothing scim.Decode rejects.
//
// With keep set, only the top-level members whose name keep accepts are
// built; the others are checked and skipped.
//
// A whole document (keep nil) is cut from few allocations: its strings are
// substrings of one copy of b, its member lists and arrays pieces of two
// slabs. A caller that keeps a small part of it for long should copy that
// part, or the whole document stays alive.
func decodeFast(b []byte, keep func(name []byte) bool) (scim.Value, bool) {
	p := parsers.Get().(*jparser)
	defer func() {
		*p = jparser{stack: p.stack[:0], vstack: p.vstack[:0]}
		parsers.Put(p)
	}()
	p.b, p.keep = b, keep
	if keep == nil {
		p.s = string(b)
		// One slab each, sized from the length: a user's JSON has about
		// one member per 30 bytes, one object or array value per 90.
		p.mslab = make([]scim.Member, 0, len(b)/24+8)
		p.vslab = make([]scim.Value, 0, len(b)/64+4)
		p.oslab = make([]scim.Object, 0, len(b)/64+4)
	}
	return p.document()
}

func (p *jparser) document() (scim.Value, bool) {
	p.ws()
	v := p.value(0, true)
	p.ws()
	if p.bad || p.i != len(p.b) {
		return scim.Value{}, false
	}
	return v, true
}

var parsers = sync.Pool{New: func() any { return &jparser{} }}

type jparser struct {
	b    []byte
	s    string // b as a string, when whole documents are built
	i    int
	bad  bool
	keep func(name []byte) bool
	// Members and values of the containers being read; a container's
	// own are copied to a slab piece of exactly their size when it closes.
	stack  []scim.Member
	vstack []scim.Value
	mslab  []scim.Member
	vslab  []scim.Value
	oslab  []scim.Object
}

// object cuts an Object from a slab.
func (p *jparser) object() *scim.Object {
	if len(p.oslab) == cap(p.oslab) {
		p.oslab = make([]scim.Object, 0, 16)
	}
	p.oslab = p.oslab[:len(p.oslab)+1]
	return &p.oslab[len(p.oslab)-1]
}

func (p *jparser) sub(a, b int) string {
	if p.s != "" {
		return p.s[a:b]
	}
	return string(p.b[a:b])
}

func (p *jparser) members(from []scim.Member) []scim.Member {
	n := len(from)
	if n == 0 {
		return nil
	}
	if cap(p.mslab)-len(p.mslab) < n {
		p.mslab = make([]scim.Member, 0, max(n, 32))
	}
	l := len(p.mslab)
	p.mslab = append(p.mslab, from...)
	return p.mslab[l : l+n : l+n]
}

func (p *jparser) values(from []scim.Value) []scim.Value {
	n := len(from)
	if n == 0 {
		return []scim.Value{}
	}
	if cap(p.vslab)-len(p.vslab) < n {
		p.vslab = make([]scim.Value, 0, max(n, 16))
	}
	l := len(p.vslab)
	p.vslab = append(p.vslab, from...)
	return p.vslab[l : l+n : l+n]
}

func (p *jparser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jparser) fail() scim.Value {
	p.bad = true
	p.i = len(p.b)
	return scim.Value{}
}

func (p *jparser) lit(s string, v scim.Value) scim.Value {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return p.fail()
	}
	p.i += len(s)
	return v
}

// value parses the value at p.i; top marks the top-level value (whose
// members keep filters). build false only checks the value.
func (p *jparser) value(depth int, build bool) scim.Value {
	if !build {
		p.skip(depth)
		return scim.Value{}
	}
	if depth > 100 || p.i >= len(p.b) {
		return p.fail()
	}
	switch c := p.b[p.i]; c {
	case '{':
		p.i++
		var o *scim.Object
		if build {
			o = p.object()
		}
		mark := len(p.stack)
		closeObj := func() scim.Value {
			if build {
				o.Members = p.members(p.stack[mark:])
			}
			clear(p.stack[mark:])
			p.stack = p.stack[:mark]
			return scim.Obj(o)
		}
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return closeObj()
		}
		for !p.bad {
			p.ws()
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				return p.fail()
			}
			start := p.i
			name, ok := p.str(build)
			if !ok {
				return p.fail()
			}
			raw := p.b[start+1 : p.i-1]
			p.ws()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return p.fail()
			}
			p.i++
			p.ws()
			keepIt := build && (depth > 0 || p.keep == nil || containsByte(raw, '\\') || p.keep(raw))
			v := p.value(depth+1, keepIt)
			if keepIt {
				p.stack = append(p.stack, scim.Member{Name: name, Value: v})
			}
			if !p.next('}') {
				if p.bad {
					return scim.Value{}
				}
				return closeObj()
			}
		}
		return scim.Value{}
	case '[':
		p.i++
		mark := len(p.vstack)
		closeArr := func() scim.Value {
			var arr []scim.Value
			if build {
				arr = p.values(p.vstack[mark:])
			}
			clear(p.vstack[mark:])
			p.vstack = p.vstack[:mark]
			return scim.Value{Kind: scim.Array, Arr: arr}
		}
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return closeArr()
		}
		for !p.bad {
			p.ws()
			v := p.value(depth+1, build)
			if build {
				p.vstack = append(p.vstack, v)
			}
			if !p.next(']') {
				if p.bad {
					return scim.Value{}
				}
				return closeArr()
			}
		}
		return scim.Value{}
	case '"':
		s, _ := p.str(build)
		return scim.Str(s)
	case 't':
		return p.lit("true", scim.BoolValue(true))
	case 'f':
		return p.lit("false", scim.BoolValue(false))
	case 'n':
		return p.lit("null", scim.Value{})
	}
	return p.number(build)
}

// next reads what follows a member or an element: true after a comma
// (another one comes), false after close (the container ends) or on
// anything else (p.bad then says so).
func (p *jparser) next(close byte) bool {
	p.ws()
	if p.i >= len(p.b) {
		p.fail()
		return false
	}
	switch p.b[p.i] {
	case ',':
		p.i++
		return true
	case close:
		p.i++
		return false
	}
	p.fail()
	return false
}

// skip checks the value at p.i without building it: it accepts what
// value accepts (the index checks whole lines and builds few members).
func (p *jparser) skip(depth int) {
	if depth > 100 || p.i >= len(p.b) {
		p.fail()
		return
	}
	switch p.b[p.i] {
	case '{':
		p.i++
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return
		}
		for {
			p.ws()
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				p.fail()
				return
			}
			if _, ok := p.str(false); !ok {
				return
			}
			p.ws()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				p.fail()
				return
			}
			p.i++
			p.ws()
			p.skip(depth + 1)
			if !p.next('}') {
				return
			}
		}
	case '[':
		p.i++
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return
		}
		for {
			p.ws()
			p.skip(depth + 1)
			if !p.next(']') {
				return
			}
		}
	case '"':
		p.str(false)
	case 't':
		p.lit("true", scim.Value{})
	case 'f':
		p.lit("false", scim.Value{})
	case 'n':
		p.lit("null", scim.Value{})
	default:
		p.number(false)
	}
}

// str reads a string at p.i (the opening quote). Escapes and invalid
// UTF-8 are decoded by encoding/json, so the result is what scim.Decode
// gives.
func (p *jparser) str(build bool) (string, bool) {
	p.i++
	start := p.i
	simple := true
	uesc := false // a \u escape
	for p.i < len(p.b) {
		// Eight plain bytes at a time: most strings are plain ASCII.
		for p.i+8 <= len(p.b) && plain8(binary.LittleEndian.Uint64(p.b[p.i:])) {
			p.i += 8
		}
		if p.i >= len(p.b) {
			break
		}
		c := p.b[p.i]
		switch {
		case c == '"':
			raw := p.b[start:p.i]
			p.i++
			if !build {
				return "", true
			}
			if simple {
				return p.sub(start, p.i-1), true
			}
			valid := utf8.Valid(raw)
			if valid && !uesc && containsByte(raw, '\\') {
				return unescapeShort(raw), true
			}
			if !valid || containsByte(raw, '\\') {
				var s string
				if err := json.Unmarshal(p.b[start-1:p.i], &s); err != nil {
					p.fail()
					return "", false
				}
				return s, true
			}
			return p.sub(start, p.i-1), true
		case c == '\\':
			simple = false
			p.i++
			if p.i >= len(p.b) {
				p.fail()
				return "", false
			}
			switch p.b[p.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i++
			case 'u':
				uesc = true
				if len(p.b)-p.i < 5 || !isHex4(p.b[p.i+1:p.i+5]) {
					p.fail()
					return "", false
				}
				p.i += 5
			default:
				p.fail()
				return "", false
			}
		case c < 0x20:
			p.fail()
			return "", false
		default:
			if c >= utf8.RuneSelf {
				simple = false
			}
			p.i++
		}
	}
	p.fail()
	return "", false
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plain8 reports whether the eight bytes of x (little-endian) are plain
// string bytes: ASCII, not a control character, not '"' or '\\'. A byte
// of y is zero exactly when (y-ones)&^y has its high bit set, with no
// false "yes" for the word as a whole; x-ones*0x20 borrows (sets a high
// bit) only when some byte is below 0x20, given all are below 0x80.
func plain8(x uint64) bool {
	q, bs := x^(ones*'"'), x^(ones*'\\')
	bad := x | (x - ones*0x20) | (q-ones)&^q | (bs-ones)&^bs
	return bad&highs == 0
}

// unescapeShort decodes the body of a checked JSON string that is valid
// UTF-8 and has only two-character escapes (\" \\ \/ \b \f \n \r \t) as
// encoding/json does (an ETag's W/\"3\"); \u escapes are left to it.
func unescapeShort(raw []byte) string {
	var out strings.Builder
	out.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out.WriteByte(c)
			continue
		}
		i++
		switch c = raw[i]; c {
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		}
		out.WriteByte(c)
	}
	return out.String()
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jparser) number(build bool) scim.Value {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return p.fail()
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return p.fail()
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return p.fail()
		}
	}
	if !build {
		return scim.Value{}
	}
	return scim.Num(p.sub(start, p.i))
}
