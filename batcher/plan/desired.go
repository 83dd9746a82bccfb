package plan

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

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
}

// Collect converts the inputs and keeps every user, update and ID change.
// It returns converter.ErrFatal (wrapped) for inputs that cannot be read.
func Collect(ctx context.Context, inputs []converter.Input, o CollectOptions) (*Desired, error) {
	d := &Desired{Existing: map[string]string{}}
	var mu sync.Mutex
	rejected := map[string][]string{}
	var rejRecs rejectedRecords
	validate := o.Validate
	if validate == nil {
		validate = converter.ValidateSchema
	}
	var wrapped converter.Validator
	if validate != nil {
		wrapped = func(u *scim.User, create bool) []converter.Violation {
			vs := validate(u, create)
			if len(vs) > 0 {
				msgs := make([]string, 0, len(vs))
				for _, v := range vs {
					msgs = append(msgs, strings.TrimPrefix(v.Path+": "+v.Msg, ": "))
				}
				mu.Lock()
				rejected[u.Key] = append(rejected[u.Key], msgs...)
				mu.Unlock()
			}
			return vs
		}
	}
	keep := func(r *converter.Result) error {
		u := r.User
		doc := scim.Clone(scim.Obj(&u.Doc))
		du := &DesiredUser{
			Key:      u.Key,
			Identity: u.Identity,
			User:     &scim.User{Key: u.Key, Identity: u.Identity, Doc: *doc.Obj, Absent: append([]scim.Membership(nil), u.Absent...)},
			JSON:     append([]byte(nil), r.JSON...),
			Records:  append([]converter.RecordRef(nil), r.Records...),
			Seq:      len(d.Users),
		}
		if un, ok := doc.Obj.Get("userName"); ok && un.Kind == scim.String {
			du.UserName = un.Str
		}
		d.Users = append(d.Users, du)
		return nil
	}
	enPath := scimpath.MustParse(scimpath.EnterpriseUser + ":employeeNumber")
	unPath := scimpath.MustParse("userName")
	st, err := converter.Run(ctx, inputs, converter.Options{
		Set:       o.Set,
		Workers:   o.Workers,
		Validate:  wrapped,
		CompanyID: o.CompanyID,
		Emit:      keep,
		Update:    keep,
		Intent: func(in *converter.Intent) error {
			it := &Intent{Current: in.Current, Source: batcher.Source{File: in.Record.File, Line: in.Record.Line, Record: in.Record.Type}}
			if v, ok := in.Changes.Lookup(enPath); ok && v.Kind == scim.String && v.Str != in.Current {
				it.NewEmployee = v.Str
			}
			if v, ok := in.Changes.Lookup(unPath); ok && v.Kind == scim.String {
				it.NewUserName = v.Str
			}
			d.Intents = append(d.Intents, it)
			return nil
		},
		Diag: func(dg source.Diagnostic) {
			if dg.Severity == source.Error {
				msg := dg.Msg
				if dg.Field != "" {
					msg = dg.Field + ": " + msg
				}
				mu.Lock()
				rejRecs.add(RejectedRecord{File: dg.File, Line: dg.Line, Message: msg})
				mu.Unlock()
			}
			if o.Diag != nil {
				o.Diag(dg)
			}
		},
	})
	d.RejectedRecords = rejRecs.list
	d.Stats = st
	if st != nil {
		for _, s := range st.Settings {
			d.Existing[s.File] = s.Existing
		}
	}
	keys := make([]string, 0, len(rejected))
	for k := range rejected {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d.Rejected = append(d.Rejected, Rejection{Key: k, Reasons: rejected[k]})
	}
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
