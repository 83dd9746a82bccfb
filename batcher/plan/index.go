package plan

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// SnapshotIndex is a snapshot file indexed, not loaded: per user its
// position in the file, its employeeNumber, userName and whether it is
// active (about 100 bytes a user). A user's document is read and parsed
// when the plan needs it, so memory grows with the index, not with the
// documents. The file is checked whole when the index is built: a line
// that ReadSnapshot rejects is rejected here with the same message.
type SnapshotIndex struct {
	Source  string
	f       *os.File
	entries []ientry
}

type ientry struct {
	off    int64
	n      int32
	line   int32
	active bool
	emp    string
	un     string
}

// OpenSnapshot indexes the snapshot file at path, using workers
// goroutines (default GOMAXPROCS) over parts of the file. Close releases
// the file.
func OpenSnapshot(path string, workers int) (*SnapshotIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	size := fi.Size()
	// Parts start after a newline (or at 0) so that each holds whole lines.
	bounds := []int64{0}
	for k := 1; k < workers; k++ {
		at := size * int64(k) / int64(workers)
		if at <= bounds[len(bounds)-1] {
			continue
		}
		next, err := nextLine(f, at, size)
		if err != nil {
			f.Close()
			return nil, err
		}
		if next > bounds[len(bounds)-1] && next < size {
			bounds = append(bounds, next)
		}
	}
	bounds = append(bounds, size)
	parts := make([]indexPart, len(bounds)-1)
	var wg sync.WaitGroup
	for k := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[k].scan(f, bounds[k], bounds[k+1])
		}()
	}
	wg.Wait()
	// Line numbers: each part counted its own lines.
	x := &SnapshotIndex{Source: path, f: f}
	total := 0
	for k := range parts {
		total += len(parts[k].entries)
	}
	x.entries = make([]ientry, 0, total)
	seen := make(map[string]int32, total)
	lines := int32(0)
	for k := range parts {
		p := &parts[k]
		for i := range p.entries {
			e := p.entries[i]
			e.line += lines
			id := strings.ToLower(p.ids[i])
			if prev, dup := seen[id]; dup {
				f.Close()
				return nil, &SnapshotError{File: path, Line: int(e.line), Msg: fmt.Sprintf("user id %q is also on line %d", p.ids[i], prev)}
			}
			seen[id] = e.line
			x.entries = append(x.entries, e)
		}
		if p.err != nil {
			f.Close()
			if se, ok := p.err.(*SnapshotError); ok {
				se.File, se.Line = path, se.Line+int(lines)
			}
			return nil, p.err
		}
		lines += p.lines
	}
	return x, nil
}

// nextLine returns the offset just after the first newline at or after at.
func nextLine(f *os.File, at, size int64) (int64, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(f, at, size-at), 64<<10)
	n := at
	for {
		b, err := br.ReadSlice('\n')
		n += int64(len(b))
		if err == nil {
			return n, nil
		}
		if err == io.EOF {
			return size, nil
		}
		if err != bufio.ErrBufferFull {
			return 0, err
		}
	}
}

type indexPart struct {
	entries []ientry
	ids     []string
	lines   int32
	err     error
}

// identityMember selects the top-level members an index entry needs.
func identityMember(name []byte) bool {
	switch len(name) {
	case 2, 6, 8:
		s := string(name)
		return strings.EqualFold(s, "id") || strings.EqualFold(s, "active") || strings.EqualFold(s, "userName")
	}
	return len(name) == len(scimpath.EnterpriseUser) && strings.EqualFold(string(name), scimpath.EnterpriseUser)
}

func (p *indexPart) scan(f *os.File, from, to int64) {
	br := bufio.NewReaderSize(io.NewSectionReader(f, from, to-from), 256<<10)
	off := from
	var long []byte
	// The identity members are parsed into reused memory, their strings
	// aliasing the read buffer: the entry keeps copies.
	sc := new(scratch)
	var c Current
	for {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long[:0], b...)
			for err == bufio.ErrBufferFull {
				b, err = br.ReadSlice('\n')
				long = append(long, b...)
			}
			b = long
		}
		if len(b) > 0 {
			p.lines++
			if t := bytes.TrimSpace(b); len(t) > 0 {
				perr := parseIdentity(t, sc, &c)
				if perr != nil {
					p.err = &SnapshotError{Line: int(p.lines), Msg: perr.Error()}
					return
				}
				lead := int64(len(b) - len(bytes.TrimLeft(b, " \t\r\n")))
				p.entries = append(p.entries, ientry{off: off + lead, n: int32(len(t)), line: p.lines,
					active: c.Active(), emp: strings.Clone(c.EmployeeNumber), un: strings.Clone(c.UserName)})
				p.ids = append(p.ids, strings.Clone(c.ID))
			}
			off += int64(len(b))
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			p.err = err
			return
		}
	}
}

// parseIdentity reads the identity fields of a user line into c (the
// whole line is checked), parsing into sc: c's strings alias line. On
// anything unusual it defers to ParseUser.
func parseIdentity(line []byte, sc *scratch, c *Current) error {
	if v, ok := sc.decodeKeep(line, identityMember); ok && v.Kind == scim.ObjectKind {
		if err := c.set(v); err == nil {
			return nil
		}
	}
	u, err := ParseUser(line)
	if err != nil {
		return err
	}
	*c = *u
	return nil
}

// Close releases the snapshot file.
func (x *SnapshotIndex) Close() error { return x.f.Close() }

// Len is the number of users in the snapshot.
func (x *SnapshotIndex) Len() int { return len(x.entries) }

func (x *SnapshotIndex) source() string { return x.Source }
func (x *SnapshotIndex) size() int      { return len(x.entries) }
func (x *SnapshotIndex) entry(i int32) (emp, un string, active bool) {
	e := &x.entries[i]
	return e.emp, e.un, e.active
}

// load reads and parses user i.
func (x *SnapshotIndex) load(i int32) (*Current, error) { return x.loadWith(i, nil) }

// loadScratch reads and parses user i into sc: the user lives until sc is
// released (see scratch).
func (x *SnapshotIndex) loadScratch(i int32, sc *scratch) (*Current, error) { return x.loadWith(i, sc) }

func (x *SnapshotIndex) loadWith(i int32, sc *scratch) (*Current, error) {
	e := &x.entries[i]
	var buf []byte
	var err error
	if sc != nil {
		buf, err = x.readScratch(e, sc)
	} else {
		buf = make([]byte, e.n)
		_, err = x.f.ReadAt(buf, e.off)
	}
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %v", x.Source, e.line, err)
	}
	var v scim.Value
	var ok bool
	if sc != nil {
		v, ok = sc.decode(buf)
	} else {
		v, ok = decodeFast(buf, nil)
	}
	var c *Current
	switch {
	case !ok:
		c, err = ParseUser(buf)
	case sc != nil:
		c = &sc.cur
		err = c.set(v)
	default:
		c, err = NewCurrent(v)
	}
	if err != nil {
		return nil, &SnapshotError{File: x.Source, Line: int(e.line), Msg: err.Error()}
	}
	c.Line = int(e.line)
	return c, nil
}

// readAhead is how much of the snapshot file a scratch reads at once when
// users are read in file order.
const readAhead = 64 << 10

// readScratch returns the bytes of entry e, from sc's window of the file
// when it holds them. A line that starts shortly after the window's start
// (reading in file order) is read with what follows it; any other line
// alone.
func (x *SnapshotIndex) readScratch(e *ientry, sc *scratch) ([]byte, error) {
	end := e.off + int64(e.n)
	if sc.winSrc == x && e.off >= sc.winOff && end <= sc.winOff+int64(sc.winN) {
		return sc.win[e.off-sc.winOff : end-sc.winOff], nil
	}
	n := int(e.n)
	if sc.winSrc == x && e.off >= sc.winOff && e.off-sc.winOff < 2*readAhead {
		n = max(n, readAhead)
	}
	if cap(sc.win) < n {
		sc.win = make([]byte, max(n, readAhead))
	}
	got, err := x.f.ReadAt(sc.win[:n], e.off)
	if got < int(e.n) {
		sc.winSrc, sc.winN = nil, 0
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	sc.winSrc, sc.winOff, sc.winN = x, e.off, got
	return sc.win[:e.n], nil
}
