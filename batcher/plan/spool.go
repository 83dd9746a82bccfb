package plan

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"scimigrate/scim"
)

// spool holds the bulky part of a streamed plan: each user's changes (old
// and new values) and the JSON of its operation (the PATCH or the created
// resource). Workers append a user's part as soon as it is planned; the
// plan keeps only where it is (a 12-byte ref), and the renderers, the
// saved plan and the Bulk bodies read it back one user or operation at a
// time. So a plan's memory grows with its users' identities, not with how
// much changes (every attribute of 200,000 users changed is several GB of
// values).
//
// The spool is a private temporary file (mode 0600), removed from its
// directory as soon as it is created where the system allows it: it holds
// employee data and must not outlive the process, even a killed one.
type spool struct {
	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	off    int64 // bytes appended (written or buffered)
	err    error
	closed bool
}

// sref locates one record of a spool; the zero value is "none".
type sref struct {
	off int64
	n   int32
}

func (r sref) ok() bool { return r.off > 0 }

func newSpool() (*spool, error) {
	f, err := os.CreateTemp("", "scimigrate-plan-*.spool")
	if err != nil {
		return nil, err
	}
	// Unlinked now: the open file stays readable and writable, and nothing
	// is left behind however the process ends. (Where an open file cannot
	// be removed, Close removes it.)
	os.Remove(f.Name())
	s := &spool{f: f, w: bufio.NewWriterSize(f, 256<<10)}
	// Offset 0 is never a record, so that the zero sref means none.
	s.w.WriteByte(0)
	s.off = 1
	return s, nil
}

// add appends a record and returns where it is.
func (s *spool) add(b []byte) sref {
	if len(b) == 0 {
		return sref{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return sref{}
	}
	r := sref{off: s.off, n: int32(len(b))}
	if len(b) > 1<<30 {
		s.err = fmt.Errorf("plan spool: a record of %d bytes", len(b))
		return sref{}
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = fmt.Errorf("plan spool: %w", err)
		return sref{}
	}
	s.off += int64(len(b))
	return r
}

// read returns a copy of record r (nil for none). An I/O error is kept
// (see Err) and gives nil.
func (s *spool) read(r sref) []byte {
	if !r.ok() {
		return nil
	}
	s.mu.Lock()
	if s.w.Buffered() > 0 && s.err == nil {
		if err := s.w.Flush(); err != nil {
			s.err = fmt.Errorf("plan spool: %w", err)
		}
	}
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return nil
	}
	b := make([]byte, r.n)
	if _, err := s.f.ReadAt(b, r.off); err != nil {
		s.fail(fmt.Errorf("plan spool: %w", err))
		return nil
	}
	return b
}

func (s *spool) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// Err is the first error of the spool (a full disk, an I/O error).
func (s *spool) Err() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// errSpoolClosed is the error of a plan used after Close.
var errSpoolClosed = errors.New("plan spool: the plan was closed")

func (s *spool) close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.err == nil {
		s.err = errSpoolClosed
	}
	err := s.f.Close()
	os.Remove(s.f.Name()) // gone already where the system allows it
	return err
}

// The record of a user's changes: for each change its kind, schema and
// path (uvarint length-prefixed), old and new value as the plan shows and
// saves them (pruned JSON, with a 4-byte length; 0 for none). The PATCH
// operations are not kept: their JSON is the user's operation record.

func appendField(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendValue(b []byte, v scim.Value) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	if v.Kind == scim.Null {
		return b
	}
	b, _ = appendPruned(b, v)
	binary.LittleEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

// appendPruned appends the JSON of prune(v) without building it; it
// reports whether v is an object that prunes to nothing (its members are
// then cut again by the caller).
func appendPruned(b []byte, v scim.Value) ([]byte, bool) {
	switch v.Kind {
	case scim.ObjectKind:
		b = append(b, '{')
		n := 0
		if v.Obj != nil {
			for _, m := range v.Obj.Members {
				if m.Value.Kind == scim.Null {
					continue
				}
				at := len(b)
				if n > 0 {
					b = append(b, ',')
				}
				b = scim.AppendString(b, m.Name)
				b = append(b, ':')
				var empty bool
				if b, empty = appendPruned(b, m.Value); empty {
					b = b[:at]
					continue
				}
				n++
			}
		}
		return append(b, '}'), n == 0
	case scim.Array:
		b = append(b, '[')
		for i := range v.Arr {
			if i > 0 {
				b = append(b, ',')
			}
			b, _ = appendPruned(b, v.Arr[i])
		}
		return append(b, ']'), false
	}
	return scim.AppendJSON(b, v), false
}

func encodeChanges(b []byte, cs []Change) []byte {
	b = binary.AppendUvarint(b, uint64(len(cs)))
	for i := range cs {
		c := &cs[i]
		b = append(b, c.Kind)
		b = appendField(b, c.Schema)
		b = appendField(b, c.Path)
		b = appendValue(b, c.Old)
		b = appendValue(b, c.New)
	}
	return b
}

var errSpoolRecord = errors.New("plan spool: damaged change record")

type fieldReader struct {
	b   []byte
	err error
}

func (r *fieldReader) bad() {
	r.err = errSpoolRecord
	r.b = nil
}

func (r *fieldReader) uvarint() uint64 {
	n, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.bad()
		return 0
	}
	r.b = r.b[k:]
	return n
}

func (r *fieldReader) take(n uint64) []byte {
	if r.err != nil || uint64(len(r.b)) < n {
		r.bad()
		return nil
	}
	f := r.b[:n:n]
	r.b = r.b[n:]
	return f
}

func (r *fieldReader) field() []byte { return r.take(r.uvarint()) }

func (r *fieldReader) value() []byte {
	l := r.take(4)
	if r.err != nil {
		return nil
	}
	f := r.take(uint64(binary.LittleEndian.Uint32(l)))
	if len(f) == 0 {
		return nil
	}
	return f
}

// decodeChanges reads a change record; the values are slices of b.
func decodeChanges(b []byte) ([]changeJSON, error) {
	r := &fieldReader{b: b}
	n := r.uvarint()
	if r.err != nil || n > uint64(len(b)) {
		return nil, errSpoolRecord
	}
	out := make([]changeJSON, 0, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		k := r.take(1)
		if r.err != nil {
			break
		}
		c := changeJSON{Kind: k[0]}
		c.Schema = string(r.field())
		c.Path = string(r.field())
		c.Old = r.value()
		c.New = r.value()
		out = append(out, c)
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}
