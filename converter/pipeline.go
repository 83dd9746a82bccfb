package converter

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"scimigrate/converter/flatfile"
	"scimigrate/converter/source"
	"scimigrate/mapping"
	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// Violation is a failed validation rule of a converted user.
type Violation struct {
	Path   string // SCIM path of the offending attribute
	Origin int32  // the value's origin in the user, 0 if none
	Rule   string
	Msg    string
}

// Validator checks a converted user; create says whether the user is to be
// created (required attributes apply) or only updated.
type Validator func(u *scim.User, create bool) []Violation

// Options configure a conversion run.
type Options struct {
	Set       *mapping.Set
	Workers   int       // default GOMAXPROCS
	Validate  Validator // nil: no validation
	CompanyID string    // injected into every user to be created
	// Emit receives each converted user to be created, in order of first
	// appearance, with its resource encoded as JSON. The Result, its User,
	// its JSON and its Records are reused after Emit returns: copy what must
	// outlive it.
	Emit func(r *Result) error
	// Update receives users whose records only update an existing user (no
	// identity record in the input). Optional.
	Update func(r *Result) error
	// Intent receives ID-change intents (320 records). Optional.
	Intent func(in *Intent) error
	// Diag receives diagnostics in input order per phase.
	Diag source.Sink
	// Prepared, if set, is called once pass 1 has read every input (the
	// Settings of each file are known), before any user or intent is
	// delivered. An error stops the run.
	Prepared func(st *Stats) error
	// Work, if set, receives each user that is not rejected (to create or
	// to update) in the worker that converted it, right after converting:
	// concurrently from several workers, in no particular order
	// (Result.Seq is the order of first appearance), before Emit or Update
	// see it. The Result is reused when Work returns. An error stops the
	// run.
	Work func(r *Result) error
	// IntentsFirst delivers the ID-change intents before the users (a plan
	// applies them to the target's state before matching anyone).
	IntentsFirst bool
	// Unconverted, if set, receives each record of a type that is not
	// converted (360, 700, … of flat files; unknown elements of the other
	// formats), in input order: one warning per type names them, and a
	// per-record report accounts for each with this. Optional.
	Unconverted func(u Unconverted)
}

// Unconverted is a record of a type the conversion does not support.
type Unconverted struct {
	File string
	Line int
	Type string
	Msg  string // why it is not converted
}

// RecordRef names a record that contributed to a user.
type RecordRef struct {
	File   string
	Line   int
	Type   string
	Seq    int
	Failed bool // rejected on its own
}

// Result is one converted user.
type Result struct {
	User    *scim.User
	JSON    []byte
	Records []RecordRef
	Create  bool
	Seq     int // the employee's order of first appearance (0-based)
}

// Stats counts what a run did. Every record read ends up in exactly one of
// the Records* outcome counters.
type Stats struct {
	Files    int
	Read     map[string]int // records read by type (blank lines not counted)
	Settings []flatfile.Settings

	UsersEmitted  int // users to be created
	UsersUpdates  int // users with only update records (no identity record)
	UsersRejected int // users dropped whole by validation

	RecordsSettings    int // 100 records
	RecordsConverted   int // merged into an emitted (create) user
	RecordsUpdates     int // merged into an update-only user
	RecordsIntents     int // 320 ID changes
	RecordsRejected    int // rejected with errors (their own, or their user's)
	RecordsUnsupported int // record types that are not converted
	RecordsStopped     int // read, but the run stopped (fatal input error, cancellation) before their outcome

	Errors, Warnings int
	Values           valueCounts
	ThresholdBreach  []string // files whose 100-record error threshold was exceeded
}

// Total returns the records read.
func (s *Stats) Total() int {
	n := 0
	for _, c := range s.Read {
		n += c
	}
	return n
}

// Accounted returns the records in an outcome; equals Total.
func (s *Stats) Accounted() int {
	return s.RecordsSettings + s.RecordsConverted + s.RecordsUpdates + s.RecordsIntents + s.RecordsRejected + s.RecordsUnsupported + s.RecordsStopped
}

// ErrFatal marks input the run cannot continue with (no 100 record, I/O).
var ErrFatal = errors.New("fatal input error")

type entry struct {
	in    int32
	loc   Loc
	table *mapping.Table
	next  int32
}

type employee struct {
	key        string
	head, tail int32
}

// index is the state pass 1 builds: which records belong to which employee,
// in order of first appearance. It grows with the number of records (one
// entry of ~40 bytes each) and employees (the key and two links), never with
// record contents.
type index struct {
	entries []entry
	emps    []employee
	byKey   map[string]int32
	intents []entry
}

// Run converts the inputs. It returns ErrFatal (wrapped) for input that
// cannot be read at all; rejected records are reported through Diag and
// counted in Stats.
func Run(ctx context.Context, inputs []Input, opts Options) (st *Stats, err error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	st = &Stats{Read: map[string]int{}, Files: len(inputs)}
	defer func() {
		if err != nil {
			st.RecordsStopped = st.Total() - st.Accounted()
		}
	}()
	type cp1252 struct {
		first source.Diagnostic
		n     int
	}
	var looks1252 []*cp1252 // per file, in order of first occurrence
	diag := func(d source.Diagnostic) {
		if d.Severity == source.Error {
			st.Errors++
		} else {
			st.Warnings++
		}
		if d.Rule == source.RuleWindows {
			i := 0
			for i < len(looks1252) && looks1252[i].first.File != d.File {
				i++
			}
			if i == len(looks1252) {
				looks1252 = append(looks1252, &cp1252{first: d})
			}
			looks1252[i].n++
		}
		if opts.Diag != nil {
			opts.Diag(d)
		}
	}
	// A file whose bytes that are not UTF-8 all read as Windows-1252 text
	// gets one warning that says so (the records stay rejected: a guess
	// could send wrong names; declaring the encoding is one option away).
	defer func() {
		for _, c := range looks1252 {
			d := c.first
			d.Severity, d.Field, d.Column, d.Rule = source.Warning, "", 0, ""
			d.Msg = fmt.Sprintf("%d record(s) of this file, the first here, hold bytes that are not UTF-8 but read as Windows-1252 text: the file looks like Windows-1252; if it is, run again with --encoding windows-1252", c.n)
			diag(d)
		}
	}()
	idx := &index{byKey: map[string]int32{}}
	// Pass 1 parses only as far as the employee ID of any positional table
	// (and the 100 record's columns, and one more to point at an extra one).
	limit := flatfile.SettingsWidth + 1
	for _, t := range opts.Set.Tables {
		if !t.Named() {
			limit = max(limit, t.Key.Col)
		}
	}
	for _, in := range inputs {
		if l, ok := in.(interface{ SetFieldLimit(int) }); ok {
			l.SetFieldLimit(limit)
		}
	}
	for i, in := range inputs {
		if err := scanInput(int32(i), in, opts.Set, idx, st, diag, opts.Unconverted); err != nil {
			return st, err
		}
	}
	if opts.Prepared != nil {
		if err := opts.Prepared(st); err != nil {
			return st, err
		}
	}
	if opts.IntentsFirst {
		if err := convertIntents(inputs, idx, opts, st, diag); err != nil {
			return st, err
		}
	}
	if err := convertAll(ctx, inputs, idx, opts, st, diag); err != nil {
		return st, err
	}
	for _, s := range st.Settings {
		if s.ErrorThreshold > 0 && st.RecordsRejected > s.ErrorThreshold {
			st.ThresholdBreach = append(st.ThresholdBreach, s.File)
			diag(source.Diagnostic{File: s.File, Line: s.Line, Col: 1, Severity: source.Error, Field: "Error Threshold", Column: 2,
				Msg: fmt.Sprintf("%d records were rejected, more than the file's error threshold of %d", st.RecordsRejected, s.ErrorThreshold)})
		}
	}
	return st, nil
}

// scanInput is pass 1 over one input.
func scanInput(inIdx int32, in Input, set *mapping.Set, idx *index, st *Stats, diag source.Sink, unconverted func(Unconverted)) error {
	first := true
	flat := in.Format() == "flat"
	type unsup struct {
		n         int
		line, col int
	}
	unsupported := map[string]*unsup{}
	var order []string
	err := in.Scan(func(rec *source.Record, loc Loc, syntax *source.Diagnostic) error {
		if flat && !isCode(rec.Type) {
			st.Read["?"]++ // not a record code (text of a broken quoted field, …): counted, not echoed
		} else {
			st.Read[rec.Type]++
		}
		if flat && first {
			first = false
			if syntax != nil {
				diag(*syntax)
				st.RecordsRejected++
				return fmt.Errorf("%w: %s:%d: the 100 record cannot be read", ErrFatal, rec.File, rec.Line)
			}
			s, diags := flatfile.ParseSettings(rec)
			for _, d := range diags {
				diag(d)
			}
			if len(diags) > 0 {
				st.RecordsRejected++
				return fmt.Errorf("%w: %s:%d: the file must start with a valid 100 (Import Settings) record", ErrFatal, rec.File, rec.Line)
			}
			st.Settings = append(st.Settings, s)
			st.RecordsSettings++
			return nil
		}
		if syntax != nil {
			diag(named(*syntax, set.Table(rec.Type)))
			st.RecordsRejected++
			return nil
		}
		if flat && rec.Type == "100" {
			diag(rec.At(0, source.Error, "Transaction Type", "a second 100 record; only the first record of a file may be 100"))
			st.RecordsRejected++
			return nil
		}
		t := set.Table(rec.Type)
		if t == nil {
			if name, ok := flatfile.Unsupported[rec.Type]; ok || !flat {
				u := unsupported[rec.Type]
				if u == nil {
					u = &unsup{line: rec.Line, col: max(rec.Col, 1)}
					unsupported[rec.Type] = u
					order = append(order, rec.Type+"\x00"+name)
				}
				u.n++
				st.RecordsUnsupported++
				if unconverted != nil {
					unconverted(Unconverted{File: rec.File, Line: rec.Line, Type: rec.Type, Msg: unsupportedMsg(flat, rec.Type, name)})
				}
				return nil
			}
			d := rec.At(0, source.Error, "Transaction Type", fmt.Sprintf("unknown record type %q", clip(rec.Type, 24)))
			d.Rule = source.RuleType
			diag(d)
			st.RecordsRejected++
			return nil
		}
		if t.Width > 0 && !t.Named() {
			if n := rec.Width(); n > t.Width {
				d := rec.At(t.Width, source.Error, "", fmt.Sprintf("record %s has %d columns, more than its %d; the record is rejected", t.Record, n, t.Width))
				d.Column, d.Rule = t.Width+1, source.RuleWidth
				diag(d)
				st.RecordsRejected++
				return nil
			} else if n < t.Width {
				d := rec.At(n-1, source.Warning, "", fmt.Sprintf("record %s has %d of its %d columns; the missing columns are read as blank", t.Record, n, t.Width))
				d.Column = n
				diag(d)
			}
		}
		key := keyOf(rec, t)
		if key == "" {
			c := keyColumn(t)
			i := t.Key.Col - 1
			diag(rec.At(i, source.Error, c, "required, but blank: the employee ID identifies the user"))
			st.RecordsRejected++
			return nil
		}
		e := entry{in: inIdx, loc: loc, table: t, next: -1}
		if t.Intent != "" {
			idx.intents = append(idx.intents, e)
			return nil
		}
		ei := int32(len(idx.entries))
		idx.entries = append(idx.entries, e)
		k, ok := idx.byKey[key]
		if !ok {
			k = int32(len(idx.emps))
			key = strings.Clone(key)
			idx.byKey[key] = k
			idx.emps = append(idx.emps, employee{key: key, head: ei, tail: ei})
			return nil
		}
		emp := &idx.emps[k]
		idx.entries[emp.tail].next = ei
		emp.tail = ei
		return nil
	})
	if err != nil {
		return err
	}
	if w, ok := in.(interface{ Warnings() []source.Diagnostic }); ok {
		for _, d := range w.Warnings() {
			diag(d)
		}
	}
	if flat && first {
		diag(source.Diagnostic{File: in.Name(), Line: 1, Col: 1, Severity: source.Error,
			Msg: "the file is empty: it must start with a 100 (Import Settings) record"})
		return fmt.Errorf("%w: %s: no 100 record", ErrFatal, in.Name())
	}
	for _, o := range order {
		typ, name, _ := strings.Cut(o, "\x00")
		u := unsupported[typ]
		d := source.Diagnostic{File: in.Name(), Line: u.line, Col: u.col, Severity: source.Warning}
		if flat {
			d.Field, d.Column = "Transaction Type", 1
			d.Msg = fmt.Sprintf("%s is not supported: %d record(s), the first here, are not converted", unsupportedWhat(typ, name), u.n)
		} else {
			d.Msg = fmt.Sprintf("element %s is not supported: %d of them, the first here, are not converted", typ, u.n)
		}
		diag(d)
	}
	return nil
}

func unsupportedWhat(typ, name string) string {
	what := "record type " + typ
	if name != "" {
		what += " (" + name + ")"
	}
	return what
}

// unsupportedMsg says why one record of an unsupported type sends nothing.
func unsupportedMsg(flat bool, typ, name string) string {
	if flat {
		return unsupportedWhat(typ, name) + " is not supported: not converted"
	}
	return "element " + typ + " is not supported: not converted"
}

// isCode reports whether s looks like a flat-file record code (1-4 digits).
func isCode(s string) bool {
	if len(s) == 0 || len(s) > 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clip shortens s to at most n bytes (on a character boundary) for a
// message, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// named gives a positional diagnostic without a field name the name of its
// column in table t (nil: unknown record type).
func named(d source.Diagnostic, t *mapping.Table) source.Diagnostic {
	if d.Field != "" || d.Column <= 0 || t == nil || t.Named() {
		return d
	}
	if c := t.ColumnAt(d.Column); c != nil {
		d.Field = c.Name
	}
	return d
}

func keyOf(rec *source.Record, t *mapping.Table) string {
	if t.Key.Field != "" {
		for i := range rec.Fields {
			if c := t.ColumnNamed(rec.Fields[i].Name); c != nil && strings.EqualFold(c.Field, t.Key.Field) {
				return strings.TrimSpace(rec.Fields[i].Value)
			}
		}
		return ""
	}
	if t.Key.Col < 1 || t.Key.Col > len(rec.Fields) {
		return ""
	}
	return strings.TrimSpace(rec.Fields[t.Key.Col-1].Value)
}

func keyColumn(t *mapping.Table) string {
	if c := t.ColumnAt(t.Key.Col); c != nil {
		return c.Name
	}
	if c := t.ColumnNamed(t.Key.Field); c != nil {
		return c.Name
	}
	return "Employee ID"
}

// batchSize is how many consecutive employees a worker converts per claim.
const batchSize = 32

// batch is the results of a worker's claim, in employee order.
type batch struct {
	seq     int // claim number: the first employee / batchSize
	results []*result
}

// job is one employee to convert; the worker follows the employee's records
// in the index (read-only in pass 2).
type job struct {
	seq int
	emp int32
}

type result struct {
	seq     int
	user    *scim.User
	json    []byte
	refs    []RecordRef
	diags   []source.Diagnostic
	create  bool
	dropped bool // rejected whole
	counts  valueCounts

	home    *freeList   // the free list of the worker that made it
	collect source.Sink // appends to diags
}

// convertAll is pass 2: employees in order of first appearance are converted
// by a pool of workers and delivered in order.
func convertAll(ctx context.Context, inputs []Input, idx *index, opts Options, st *Stats, diag source.Sink) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Workers claim employees in batches of consecutive ones and send each
	// batch's results at once: one hand-over per batch instead of two per
	// employee keeps both sides busy.
	var claimed atomic.Int64
	results := make(chan *batch, opts.Workers)
	var wg sync.WaitGroup
	errc := make(chan error, opts.Workers+1)
	for w := 0; w < opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := newWorker(inputs, opts)
			for ctx.Err() == nil {
				start := int(claimed.Add(batchSize)) - batchSize
				if start >= len(idx.emps) {
					return
				}
				b := &batch{seq: start / batchSize}
				for i := start; i < min(start+batchSize, len(idx.emps)); i++ {
					r, err := wk.convert(idx, job{seq: i, emp: int32(i)})
					if err == nil && opts.Work != nil && !r.dropped {
						wres := Result{User: r.user, JSON: r.json, Records: r.refs, Create: r.create, Seq: r.seq}
						err = opts.Work(&wres)
					}
					if err != nil {
						errc <- err
						cancel()
						return
					}
					b.results = append(b.results, r)
				}
				select {
				case results <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	pending := map[int]*batch{}
	next, nextBatch := 0, 0
	var emitErr error
	res := &Result{} // reused: Emit must not keep it
	deliver := func(r *result) {
		for _, d := range r.diags {
			diag(d)
		}
		st.Values.add(r.counts)
		for _, ref := range r.refs {
			switch {
			case ref.Failed || r.dropped:
				st.RecordsRejected++
			case r.create:
				st.RecordsConverted++
			default:
				st.RecordsUpdates++
			}
		}
		if r.dropped {
			if r.user != nil && r.user.Identity {
				st.UsersRejected++
			}
			return
		}
		*res = Result{User: r.user, JSON: r.json, Records: r.refs, Create: r.create, Seq: r.seq}
		if r.create {
			st.UsersEmitted++
			if opts.Emit != nil && emitErr == nil {
				emitErr = opts.Emit(res)
			}
		} else {
			st.UsersUpdates++
			if opts.Update != nil && emitErr == nil {
				emitErr = opts.Update(res)
			}
		}
		if emitErr != nil {
			cancel()
		}
	}
	for b := range results {
		pending[b.seq] = b
		for {
			p, ok := pending[nextBatch]
			if !ok {
				break
			}
			delete(pending, nextBatch)
			for _, r := range p.results {
				deliver(r)
				recycle(r)
				next++
			}
			nextBatch++
		}
	}
	select {
	case err := <-errc:
		return err
	default:
	}
	if emitErr != nil {
		return emitErr
	}
	if err := ctx.Err(); err != nil && next < len(idx.emps) {
		return err
	}
	if opts.IntentsFirst {
		return nil // delivered already
	}
	return convertIntents(inputs, idx, opts, st, diag)
}

// convertIntents converts the ID-change records, in input order.
func convertIntents(inputs []Input, idx *index, opts Options, st *Stats, diag source.Sink) error {
	if len(idx.intents) == 0 {
		return nil
	}
	sort.SliceStable(idx.intents, func(i, j int) bool {
		a, b := idx.intents[i], idx.intents[j]
		return a.in < b.in || a.in == b.in && a.loc.Off < b.loc.Off
	})
	eng := NewEngine(opts.Set)
	fetchers := make([]Fetcher, len(inputs))
	for _, e := range idx.intents {
		if fetchers[e.in] == nil {
			fetchers[e.in] = inputs[e.in].Fetcher()
		}
		var rec source.Record
		syntax, err := fetchers[e.in].Fetch(e.loc, &rec)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrFatal, err)
		}
		if syntax != nil {
			diag(named(*syntax, e.table))
			st.RecordsRejected++
			continue
		}
		u := &scim.User{Key: keyOf(&rec, e.table)}
		if !eng.Convert(&rec, e.table, u, diag) {
			st.RecordsRejected++
			continue
		}
		st.RecordsIntents++
		if opts.Intent != nil {
			rec.Fields = append([]source.Field(nil), rec.Fields...)
			if err := opts.Intent(&Intent{Current: u.Key, Changes: u, Record: rec}); err != nil {
				return err
			}
		}
	}
	st.Values.add(eng.counts)
	return nil
}

// Results (with their user, JSON buffer and record list) are recycled
// between employees: a user's tree is cut from slabs that Reset keeps, so
// steady-state conversion allocates little. Each goes back to the worker
// that made it, so that its memory stays in that core's cache.
func recycle(r *result) { r.home.put(r) }

// freeList holds a worker's delivered results. It is a stack: the result
// delivered last, whose memory is the most likely to be still cached, is
// reused first.
type freeList struct {
	mu sync.Mutex
	rs []*result
}

func (f *freeList) put(r *result) {
	f.mu.Lock()
	if len(f.rs) < freeResults {
		f.rs = append(f.rs, r)
	} // else the worker has enough spare results; let this one go
	f.mu.Unlock()
}

func (f *freeList) get() *result {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rs) == 0 {
		return nil
	}
	r := f.rs[len(f.rs)-1]
	f.rs[len(f.rs)-1] = nil
	f.rs = f.rs[:len(f.rs)-1]
	return r
}

// freeResults is how many delivered results a worker keeps for reuse.
const freeResults = 4 * batchSize

// result returns a cleared result for job seq, reusing a delivered one.
func (w *worker) result(seq int) *result {
	if r := w.free.get(); r != nil {
		r.user.Reset()
		*r = result{seq: seq, user: r.user, json: r.json[:0], refs: r.refs[:0], diags: r.diags[:0], home: r.home, collect: r.collect}
		return r
	}
	r := &result{seq: seq, user: &scim.User{}, json: make([]byte, 0, 8192), home: w.free}
	r.collect = func(d source.Diagnostic) { r.diags = append(r.diags, d) }
	return r
}

type worker struct {
	eng      *Engine
	fetchers []Fetcher
	inputs   []Input
	opts     Options
	rec      source.Record
	enterpr  *scimpath.Path
	company  *scimpath.Path
	free     *freeList // delivered results, for reuse
}

func newWorker(inputs []Input, opts Options) *worker {
	return &worker{
		eng:      NewEngine(opts.Set),
		fetchers: make([]Fetcher, len(inputs)),
		inputs:   inputs,
		opts:     opts,
		enterpr:  scimpath.MustParse(scimpath.EnterpriseUser + ":employeeNumber"),
		company:  scimpath.MustParse(scimpath.EnterpriseUser + ":companyId"),
		free:     &freeList{},
	}
}

func (w *worker) convert(idx *index, j job) (*result, error) {
	emp := &idx.emps[j.emp]
	r := w.result(j.seq)
	u := r.user
	u.Key = emp.key
	collect := r.collect
	before := w.eng.counts
	converted := 0
	for ei := emp.head; ei >= 0; ei = idx.entries[ei].next {
		e := &idx.entries[ei]
		f := w.fetchers[e.in]
		if f == nil {
			f = w.inputs[e.in].Fetcher()
			w.fetchers[e.in] = f
		}
		syntax, err := f.Fetch(e.loc, &w.rec)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFatal, err)
		}
		if syntax != nil {
			collect(named(*syntax, e.table))
			r.refs = append(r.refs, RecordRef{File: w.inputs[e.in].Name(), Line: int(e.loc.Line), Type: e.table.Record, Seq: int(e.loc.Seq), Failed: true})
			continue
		}
		ok := w.eng.Convert(&w.rec, e.table, u, collect)
		r.refs = append(r.refs, RecordRef{File: w.rec.File, Line: w.rec.Line, Type: w.rec.Type, Seq: w.rec.Seq, Failed: !ok})
		if ok {
			converted++
		}
	}
	r.counts = w.eng.counts.sub(before)
	if converted == 0 {
		r.dropped = true
		return r, nil
	}
	r.create = u.Identity
	if u.Identity && w.opts.CompanyID != "" {
		if _, ok := u.Lookup(w.company); !ok {
			u.Set(w.company, scim.Str(w.opts.CompanyID))
		}
	}
	if u.Identity {
		r.counts.Defaulted += applyDefaults(u, w.opts.Set.Config.CompiledDefaults())
	}
	if w.opts.Validate != nil {
		vs := w.opts.Validate(u, u.Identity)
		if len(vs) > 0 && w.opts.Set.Config.DropInvalidOptional() {
			var n int
			vs, n = dropInvalidOptional(u, vs, w.opts.Validate, collect)
			r.counts.Dropped += n
		}
		if len(vs) > 0 {
			first := firstIdentityRef(r.refs)
			for _, v := range vs {
				if v.Rule == "required" {
					v.Msg += remedy(v.Path)
				}
				d := source.Diagnostic{File: first.File, Line: first.Line, Col: 1, Severity: source.Error, Msg: v.Msg}
				if o, ok := u.OriginOf(v.Origin); ok {
					d.File, d.Line, d.Col, d.Field, d.Column = o.File, o.Line, o.Col, o.Field, o.Column
				} else {
					d.Msg = v.Path + ": " + v.Msg
				}
				collect(d)
			}
			collect(source.Diagnostic{File: first.File, Line: first.Line, Col: 1, Severity: source.Error,
				Msg: fmt.Sprintf("employee %s is rejected: %d validation error(s); none of its %d record(s) is sent", u.Key, len(vs), len(r.refs))})
			r.dropped = true
			return r, nil
		}
	}
	r.json = u.AppendResource(r.json[:0])
	return r, nil
}

// applyDefaults fills the configured defaults a user to create lacks, in
// extensions it already carries (a default never creates an extension). The
// values have no origin: the planner never compares them with an existing
// user. It returns how many it filled.
func applyDefaults(u *scim.User, defs []mapping.Default) int {
	n := 0
	for _, d := range defs {
		if _, ok := u.Lookup(d.Path); ok {
			continue
		}
		if d.Path.URN != "" && d.Path.URN != scimpath.CoreUser {
			if _, ok := u.Doc.Get(d.Path.URN); !ok {
				continue
			}
		}
		v := scim.Str(d.Value)
		if d.Value == "true" || d.Value == "false" {
			v = scim.BoolValue(d.Value == "true") // boolean attributes (nonEmployee, …)
		}
		if _, err := u.Set(d.Path, v); err == nil {
			n++
		}
	}
	return n
}

func firstIdentityRef(refs []RecordRef) RecordRef {
	for _, r := range refs {
		if !r.Failed {
			return r
		}
	}
	return refs[0]
}
