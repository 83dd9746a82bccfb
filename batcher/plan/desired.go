package plan

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"scimigrate/batcher"
	"scimigrate/converter"
	"scimigrate/converter/source"
	"scimigrate/mapping"
	"scimigrate/scim"
	"scimigrate/scim/scimpath"
)

// DesiredUser is one converted employee, kept after the converter recycles
// its buffers.
type DesiredUser struct {
	Key      string     // employeeNumber
	UserName string     // userName in the input, if any
	Identity bool       // an identity record is among its records: a full resource, created when missing
	User     *scim.User // Doc (values keep their origins) and Absent memberships
	JSON     []byte     // the resource as a create would send it
	Records  []converter.RecordRef
	Seq      int // order of first appearance
}

// Intent is an ID change (320 record, V1 NewEmployeeID/NewLoginID).
type Intent struct {
	Current     string // employee ID the user has now
	NewEmployee string // new employeeNumber ("" = unchanged)
	NewUserName string // new userName ("" = unchanged)
	Source      batcher.Source
}

// Rejection is an employee the converter dropped (validation errors).
type Rejection struct {
	Key     string
	Reasons []string
}

// RejectedRecord is an input record that sends nothing because the
// conversion or the plan rejected it; apply reports it.
type RejectedRecord struct {
	File           string `json:"file"`
	Line           int    `json:"line"`
	Record         string `json:"record,omitempty"`
	EmployeeNumber string `json:"employeeNumber,omitempty"`
	Message        string `json:"message"`
}

// rejectedRecords merges rejections by file and line, in first-seen order.
type rejectedRecords struct {
	list []RejectedRecord
	at   map[string]int
}

func (r *rejectedRecords) add(rr RejectedRecord) {
	k := rr.File + "\x00" + strconv.Itoa(rr.Line)
	if i, ok := r.at[k]; ok {
		if !strings.Contains(r.list[i].Message, rr.Message) {
			r.list[i].Message += " | " + rr.Message
		}
		return
	}
	if r.at == nil {
		r.at = map[string]int{}
	}
	r.at[k] = len(r.list)
	r.list = append(r.list, rr)
}

// Desired is what the inputs ask for.
type Desired struct {
	Users    []*DesiredUser
	Intents  []*Intent
	Rejected []Rejection
	// RejectedRecords are the records the conversion rejected (its
	// error diagnostics), by file and line.
	RejectedRecords []RejectedRecord
	Stats           *converter.Stats
	// Employees is the number of converted employees (len(Users) when
	// they are kept).
	Employees int
	// Existing maps an input file to its 100 record's existing-record
	// handling (UPDATE or REPLACE).
	Existing map[string]string
}

// CollectOptions configure Collect.
type CollectOptions struct {
	Set       *mapping.Set
	CompanyID string
	Workers   int
	Validate  converter.Validator // nil: converter.ValidateSchema
	Diag      source.Sink
	// Unconverted, if set, also receives each record of an unsupported
	// type (the plan keeps them among its rejected records either way).
	Unconverted func(converter.Unconverted)
}

// collector turns the converter's deliveries into the plan's values.
type collector struct {
	d        *Desired
	mu       sync.Mutex
	rejected map[string][]string
	rejRecs  rejectedRecords
	validate converter.Validator
	// onUnconverted is CollectOptions.Unconverted.
	onUnconverted func(converter.Unconverted)
	enPath        *scimpath.Path
	unPath        *scimpath.Path
}

func newCollector(d *Desired, validate converter.Validator) *collector {
	c := &collector{d: d, rejected: map[string][]string{},
		enPath: scimpath.MustParse(scimpath.EnterpriseUser + ":employeeNumber"), unPath: scimpath.MustParse("userName")}
	if validate == nil {
		validate = converter.ValidateSchema
	}
	if validate != nil {
		c.validate = func(u *scim.User, create bool) []converter.Violation {
			vs := validate(u, create)
			if len(vs) > 0 {
				msgs := make([]string, 0, len(vs))
				for _, v := range vs {
					msgs = append(msgs, strings.TrimPrefix(v.Path+": "+v.Msg, ": "))
				}
				c.mu.Lock()
				c.rejected[u.Key] = append(c.rejected[u.Key], msgs...)
				c.mu.Unlock()
			}
			return vs
		}
	}
	return c
}

// keep copies a converted user out of the converter's recycled buffers.
func (c *collector) keep(r *converter.Result, seq int) *DesiredUser {
	u := r.User
	doc := scim.Clone(scim.Obj(&u.Doc))
	du := &DesiredUser{
		Key:      u.Key,
		Identity: u.Identity,
		User:     &scim.User{Key: u.Key, Identity: u.Identity, Doc: *doc.Obj, Absent: append([]scim.Membership(nil), u.Absent...)},
		JSON:     append([]byte(nil), r.JSON...),
		Records:  append([]converter.RecordRef(nil), r.Records...),
		Seq:      seq,
	}
	if un, ok := doc.Obj.Get("userName"); ok && un.Kind == scim.String {
		du.UserName = un.Str
	}
	return du
}

func (c *collector) intent(in *converter.Intent) *Intent {
	it := &Intent{Current: in.Current, Source: batcher.Source{File: in.Record.File, Line: in.Record.Line, Record: in.Record.Type}}
	if v, ok := in.Changes.Lookup(c.enPath); ok && v.Kind == scim.String && v.Str != in.Current {
		it.NewEmployee = v.Str
	}
	if v, ok := in.Changes.Lookup(c.unPath); ok && v.Kind == scim.String {
		it.NewUserName = v.Str
	}
	c.d.Intents = append(c.d.Intents, it)
	return it
}

// diag records the error diagnostics as rejected records and passes
// every diagnostic on to sink.
func (c *collector) diag(sink source.Sink) source.Sink {
	return func(dg source.Diagnostic) {
		if dg.Severity == source.Error {
			msg := dg.Msg
			if dg.Field != "" {
				msg = dg.Field + ": " + msg
			}
			c.mu.Lock()
			c.rejRecs.add(RejectedRecord{File: dg.File, Line: dg.Line, Message: msg})
			c.mu.Unlock()
		}
		if sink != nil {
			sink(dg)
		}
	}
}

// unconverted keeps a record of an unsupported type among the records that
// send nothing (plan.json's "rejected", apply's report), with why.
func (c *collector) unconverted(u converter.Unconverted) {
	c.mu.Lock()
	c.rejRecs.add(RejectedRecord{File: u.File, Line: u.Line, Record: u.Type, Message: u.Msg})
	c.mu.Unlock()
	if c.onUnconverted != nil {
		c.onUnconverted(u)
	}
}

// done sets the statistics' file settings and the rejections, by key.
func (c *collector) done() {
	d := c.d
	d.RejectedRecords = c.rejRecs.list
	if d.Stats != nil {
		for _, s := range d.Stats.Settings {
			d.Existing[s.File] = s.Existing
		}
	}
	keys := make([]string, 0, len(c.rejected))
	for k := range c.rejected {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d.Rejected = append(d.Rejected, Rejection{Key: k, Reasons: c.rejected[k]})
	}
}

// Collect converts the inputs and keeps every user, update and ID change.
// It returns converter.ErrFatal (wrapped) for inputs that cannot be read.
func Collect(ctx context.Context, inputs []converter.Input, o CollectOptions) (*Desired, error) {
	d := &Desired{Existing: map[string]string{}}
	col := newCollector(d, o.Validate)
	col.onUnconverted = o.Unconverted
	keep := func(r *converter.Result) error {
		d.Users = append(d.Users, col.keep(r, len(d.Users)))
		return nil
	}
	st, err := converter.Run(ctx, inputs, converter.Options{
		Set:         o.Set,
		Workers:     o.Workers,
		Validate:    col.validate,
		CompanyID:   o.CompanyID,
		Emit:        keep,
		Update:      keep,
		Intent:      func(in *converter.Intent) error { col.intent(in); return nil },
		Diag:        col.diag(o.Diag),
		Unconverted: col.unconverted,
	})
	d.Stats = st
	d.Employees = len(d.Users)
	col.done()
	if err != nil {
		return d, err
	}
	return d, nil
}

// Want is an employee to look up in the target: by employeeNumber, and by
// userName when the employeeNumber finds nothing.
type Want struct {
	EmployeeNumber string
	UserName       string
}

// Wants lists the employees the plan needs from the target: every
// converted user, and both IDs of every ID change.
func (d *Desired) Wants() []Want {
	seen := map[string]bool{}
	var out []Want
	add := func(en, un string) {
		k := strings.ToLower(en) + "\x00" + strings.ToLower(un)
		if (en == "" && un == "") || seen[k] {
			return
		}
		seen[k] = true
		out = append(out, Want{EmployeeNumber: en, UserName: un})
	}
	for _, it := range d.Intents {
		add(it.Current, "")
		if it.NewEmployee != "" {
			add(it.NewEmployee, it.NewUserName)
		}
	}
	for _, u := range d.Users {
		add(u.Key, u.UserName)
	}
	return out
}

// existingFor returns the existing-record handling of a user: the override,
// else the 100 record of the file its first record came from, else the
// configuration's, else UPDATE.
func (d *Desired) existingFor(u *DesiredUser, override string, cfg *mapping.Config) string {
	if override != "" {
		return strings.ToUpper(override)
	}
	for _, r := range u.Records {
		if r.Failed {
			continue
		}
		if e := d.Existing[r.File]; e != "" {
			return e
		}
		break
	}
	if cfg != nil && cfg.Existing != "" {
		return cfg.Existing
	}
	return "UPDATE"
}

func sourcesOf(refs []converter.RecordRef) []batcher.Source {
	var out []batcher.Source
	for _, r := range refs {
		if r.Failed {
			continue
		}
		out = append(out, batcher.Source{File: r.File, Line: r.Line, Record: r.Type})
	}
	return out
}

func (d *DesiredUser) String() string { return fmt.Sprintf("employee %s", d.Key) }

// StreamOptions configure Stream.
type StreamOptions struct {
	CollectOptions
	Plan Options
	// Snapshot is the snapshot file the plan is made against. It is indexed
	// (in parallel with the conversion's first pass), not loaded.
	Snapshot string
}

// Stream converts the inputs and plans each employee against the snapshot
// file as the converter delivers it: a pool of workers reads the matched
// user from the file, diffs and keeps only the user's plan. Memory grows
// with the snapshot's index and the plans, not with the documents. The
// returned Desired has the statistics, ID changes and rejections, no Users
// (Employees counts them).
func Stream(ctx context.Context, inputs []converter.Input, o StreamOptions) (*Plan, *Desired, error) {
	type opened struct {
		x   *SnapshotIndex
		err error
	}
	idxc := make(chan opened, 1)
	go func() {
		x, err := OpenSnapshot(o.Snapshot, 0)
		idxc <- opened{x, err}
	}()
	var x *SnapshotIndex
	consumed := false
	defer func() {
		if !consumed {
			r := <-idxc
			x = r.x
		}
		if x != nil {
			x.Close()
		}
	}()
	d := &Desired{Existing: map[string]string{}}
	var cfg *mapping.Config
	if o.Set != nil {
		cfg = o.Set.Config
	}
	var pl *planner
	kept := false // the plan returned owns the spool
	defer func() {
		if pl != nil && !kept {
			pl.sp.close()
		}
	}()
	started := false
	start := func(st *converter.Stats) error {
		r := <-idxc
		consumed = true
		if r.err != nil {
			return r.err
		}
		x = r.x
		for _, s := range st.Settings {
			d.Existing[s.File] = s.Existing
		}
		sp, err := newSpool()
		if err != nil {
			return err
		}
		pl = newPlanner(x, o.Plan)
		pl.sp = sp
		started = true
		return nil
	}
	col := newCollector(d, o.Validate)
	col.onUnconverted = o.Unconverted
	var n atomic.Int64
	// Each employee is planned in the converter's worker, on the converted
	// user itself (nothing is copied but what the plan keeps).
	work := func(r *converter.Result) error {
		n.Add(1)
		u := r.User
		du := &DesiredUser{Key: u.Key, Identity: u.Identity, User: u, JSON: r.JSON, Records: r.Records, Seq: r.Seq}
		if un, ok := u.Doc.Get("userName"); ok && un.Kind == scim.String {
			du.UserName = un.Str
		}
		pl.user(du, d.existingFor(du, o.Plan.Existing, cfg))
		return nil
	}
	st, err := converter.Run(ctx, inputs, converter.Options{
		Set:          o.Set,
		Workers:      o.Workers,
		Validate:     col.validate,
		CompanyID:    o.CompanyID,
		Work:         work,
		Intent:       func(in *converter.Intent) error { it := col.intent(in); pl.intent(it); return nil },
		Diag:         col.diag(o.Diag),
		Unconverted:  col.unconverted,
		Prepared:     start,
		IntentsFirst: true,
	})
	d.Stats = st
	d.Employees = int(n.Load())
	col.done()
	if err != nil {
		return nil, d, err
	}
	if !started {
		if err := start(st); err != nil {
			return nil, d, err
		}
	}
	p, err := pl.finish(d)
	if err == nil {
		err = p.Err() // a spool that could not be written (a full disk) fails the plan here
	}
	if err != nil {
		return nil, d, err
	}
	kept = true
	return p, d, nil
}

// CollectWants converts the inputs and keeps only what a lookup of the
// target needs: the employees' IDs and userNames and the ID changes (no
// resources), so that memory does not grow with the users. It returns the
// wants (as Desired.Wants lists them) and a Desired without Users.
func CollectWants(ctx context.Context, inputs []converter.Input, o CollectOptions) ([]Want, *Desired, error) {
	d := &Desired{Existing: map[string]string{}}
	col := newCollector(d, o.Validate)
	col.onUnconverted = o.Unconverted
	type key struct {
		seq    int
		en, un string
	}
	var mu sync.Mutex
	var keys []key
	st, err := converter.Run(ctx, inputs, converter.Options{
		Set:       o.Set,
		Workers:   o.Workers,
		Validate:  col.validate,
		CompanyID: o.CompanyID,
		Work: func(r *converter.Result) error {
			k := key{seq: r.Seq, en: strings.Clone(r.User.Key)}
			if un, ok := r.User.Doc.Get("userName"); ok && un.Kind == scim.String {
				k.un = strings.Clone(un.Str)
			}
			mu.Lock()
			keys = append(keys, k)
			mu.Unlock()
			return nil
		},
		Intent:       func(in *converter.Intent) error { col.intent(in); return nil },
		Diag:         col.diag(o.Diag),
		Unconverted:  col.unconverted,
		IntentsFirst: true,
	})
	d.Stats = st
	d.Employees = len(keys)
	col.done()
	if err != nil {
		return nil, d, err
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].seq < keys[j].seq })
	// Desired.Wants over the kept keys.
	tmp := &Desired{Intents: d.Intents, Users: make([]*DesiredUser, len(keys))}
	for i, k := range keys {
		tmp.Users[i] = &DesiredUser{Key: k.en, UserName: k.un}
	}
	return tmp.Wants(), d, nil
}
