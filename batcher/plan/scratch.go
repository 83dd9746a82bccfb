package plan

import (
	"sync"
	"unsafe"

	"scimigrate/scim"
)

// scratch is memory a goroutine reuses from one planned user to the next:
// the read buffer of a snapshot line and the slabs its document is cut
// from, so that parsing a matched user allocates (almost) nothing.
//
// A document loaded into a scratch lives only until the scratch is
// released: its strings are the buffer's bytes, its objects and lists
// pieces of the slabs. Only planUser loads into a scratch, and only in a
// spooled plan, where nothing of the loaded document outlives it (the plan
// keeps copies: fillMatch clones, seal encodes the changes). The documents
// of users changed by ID changes (planner.over) are loaded with their own
// memory.
type scratch struct {
	// A window of a snapshot file (win[:winN] from offset winOff of
	// winSrc's file): users are mostly planned in file order (an export
	// and the input sorted alike), so one read serves the next several.
	win    []byte
	winSrc *SnapshotIndex
	winOff int64
	winN   int
	p      jparser
	mslab  []scim.Member
	vslab  []scim.Value
	oslab  []scim.Object
	cur    Current
	v      vuser
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

// poisonScratch, set by the tests, makes release overwrite a scratch, so
// that a plan that kept any part of a scratch document shows garbage
// instead of passing by luck.
var poisonScratch bool

func getScratch() *scratch { return scratches.Get().(*scratch) }

// release returns the scratch for reuse: the documents loaded into it
// are dead.
func (sc *scratch) release() {
	if poisonScratch {
		for i := range sc.win[:cap(sc.win)] {
			sc.win[i] = '#'
		}
		sc.winSrc, sc.winN = nil, 0
		clear(sc.mslab[:cap(sc.mslab)])
		clear(sc.vslab[:cap(sc.vslab)])
		clear(sc.oslab[:cap(sc.oslab)])
		sc.cur = Current{ID: "#", EmployeeNumber: "#", UserName: "#"}
		sc.v = vuser{cur: &sc.cur, emp: "#", un: "#", i: -1}
	}
	scratches.Put(sc)
}

// decode parses b, which the caller keeps unchanged until release (the
// scratch's window), like decodeFast: the document's strings are
// substrings of b, its member lists, arrays and objects pieces of the
// scratch's slabs.
func (sc *scratch) decode(b []byte) (scim.Value, bool) { return sc.decodeKeep(b, nil) }

// decodeKeep is decode building only the top-level members keep accepts
// (decodeFast's keep). The strings alias b: the caller copies what it
// keeps before b changes.
func (sc *scratch) decodeKeep(b []byte, keep func(name []byte) bool) (scim.Value, bool) {
	// Sized as decodeFast sizes them; a piece that does not fit is cut
	// from a new slab (garbage after release), and the scratch's slabs
	// grow to the longest line seen.
	if n := len(b)/24 + 8; cap(sc.mslab) < n {
		sc.mslab = make([]scim.Member, 0, n)
	}
	if n := len(b)/64 + 4; cap(sc.vslab) < n {
		sc.vslab = make([]scim.Value, 0, n)
	}
	if n := len(b)/64 + 4; cap(sc.oslab) < n {
		sc.oslab = make([]scim.Object, 0, n)
	}
	p := &sc.p
	*p = jparser{b: b, keep: keep, stack: p.stack[:0], vstack: p.vstack[:0],
		mslab: sc.mslab[:0], vslab: sc.vslab[:0], oslab: sc.oslab[:0]}
	if len(b) > 0 {
		p.s = unsafe.String(&b[0], len(b))
	}
	v, ok := p.document()
	p.b, p.s, p.keep = nil, "", nil
	p.mslab, p.vslab, p.oslab = nil, nil, nil
	return v, ok
}
