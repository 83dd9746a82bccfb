package plan

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"scimigrate/batcher"
	"scimigrate/mapping"
)

// FormatName and FormatVersion identify plan.json.
const (
	FormatName    = "scimigrate-plan"
	FormatVersion = 1
	PlanFile      = "plan.json"
)

// File is plan.json, the description of a saved plan. The Bulk request
// bodies are beside it, one file per request (Requests[i].File).
type File struct {
	Format            string        `json:"format"`
	Version           int           `json:"version"`
	Tool              string        `json:"tool,omitempty"`
	Created           string        `json:"created"`
	Target            TargetInfo    `json:"target"`
	Inputs            []InputFile   `json:"inputs"`
	Mapping           MappingInfo   `json:"mapping"`
	Existing          string        `json:"existing"`
	DeactivateMissing *DeactivateIn `json:"deactivateMissing,omitempty"`
	Limits            LimitsInfo    `json:"limits"`
	Summary           SummaryInfo   `json:"summary"`
	// Attributes is the summary by attribute (Plan.Summary).
	Attributes []AttributeSummary `json:"attributes"`
	Users      []UserEntry        `json:"users"`
	Operations []OpEntry          `json:"operations"`
	Requests   []RequestInfo      `json:"requests"`
	// Rejected are the input records that send nothing (Plan.Rejected);
	// apply reports them.
	Rejected []RejectedRecord `json:"rejected,omitempty"`
}

// TargetInfo says what the plan was computed against.
type TargetInfo struct {
	Kind           string `json:"kind"` // "snapshot" or "live"
	Snapshot       string `json:"snapshot,omitempty"`
	SnapshotSHA256 string `json:"snapshotSha256,omitempty"`
	BaseURL        string `json:"baseUrl,omitempty"`
	CompanyID      string `json:"companyId,omitempty"` // company the created users belong to (configuration)
	Users          int    `json:"users"`               // users read from the target
}

// InputFile is one input with its content hash.
type InputFile struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// MappingInfo identifies the effective mapping tables and configuration.
type MappingInfo struct {
	Version   string `json:"version"` // MappingVersion of the set
	Overrides string `json:"overrides,omitempty"`
	Config    string `json:"config,omitempty"`
}

// DeactivateIn records the --deactivate-missing settings.
type DeactivateIn struct {
	Max             string `json:"max"`
	Allowed         int    `json:"allowed"`
	TerminationDate string `json:"terminationDate"`
}

// LimitsInfo are the Bulk limits the requests were packed with.
type LimitsInfo struct {
	MaxOperations int `json:"maxOperations"`
	MaxBytes      int `json:"maxBytes"`
	FailOnErrors  int `json:"failOnErrors"`
}

// SummaryInfo are the plan's counts.
type SummaryInfo struct {
	Create     int `json:"create"`
	Update     int `json:"update"`
	Deactivate int `json:"deactivate"`
	Unchanged  int `json:"unchanged"`
	Rejected   int `json:"rejected"`
}

// UserEntry is one user of the plan. For a matched user, Version and
// LastModified are the meta the target showed when the plan was made: apply
// refuses the plan when they changed.
type UserEntry struct {
	Action         string        `json:"action"`
	EmployeeNumber string        `json:"employeeNumber,omitempty"`
	UserName       string        `json:"userName,omitempty"`
	ID             string        `json:"id,omitempty"`
	TargetEmployee string        `json:"targetEmployeeNumber,omitempty"`
	MatchedBy      string        `json:"matchedBy,omitempty"`
	Version        string        `json:"version,omitempty"`
	LastModified   string        `json:"lastModified,omitempty"`
	BulkID         string        `json:"bulkId,omitempty"`
	Changes        []ChangeEntry `json:"changes,omitempty"`
	Reasons        []string      `json:"reasons,omitempty"`
	Notes          []string      `json:"notes,omitempty"`
}

// ChangeEntry is one attribute change.
type ChangeEntry struct {
	Kind string          `json:"kind"` // "+", "~" or "-"
	Path string          `json:"path"`
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

// OpEntry describes one Bulk operation (its body is in a request file).
type OpEntry struct {
	BulkID         string        `json:"bulkId"`
	Method         string        `json:"method"`
	Path           string        `json:"path"`
	EmployeeNumber string        `json:"employeeNumber,omitempty"`
	UserName       string        `json:"userName,omitempty"`
	Refs           []string      `json:"refs,omitempty"`
	Sources        []SourceEntry `json:"sources,omitempty"`
	Request        int           `json:"request"` // 1-based index of its request
	// Kind "refs" marks the patch adding the references of the creation
	// Parent (a bulkId), split out of a reference cycle; its path names the
	// creation as "/Users/bulkId:PARENT" until the service assigns the id.
	Kind   string `json:"kind,omitempty"`
	Parent string `json:"parent,omitempty"`
}

// SourceEntry is an input record behind an operation.
type SourceEntry struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Record string `json:"record,omitempty"`
}

func sourceEntries(src []batcher.Source) []SourceEntry {
	var out []SourceEntry
	for _, s := range src {
		out = append(out, SourceEntry{File: s.File, Line: s.Line, Record: s.Record})
	}
	return out
}

// nonNilRefs keeps "references nothing" (an empty list, saved as absent)
// distinct from "not computed" (nil), which References would recompute.
func nonNilRefs(r []string) []string {
	if r == nil {
		return []string{}
	}
	return r
}

func batcherSources(src []SourceEntry) []batcher.Source {
	var out []batcher.Source
	for _, s := range src {
		out = append(out, batcher.Source{File: s.File, Line: s.Line, Record: s.Record})
	}
	return out
}

// RequestInfo is one saved Bulk request body.
type RequestInfo struct {
	File       string `json:"file"`
	SHA256     string `json:"sha256"`
	Bytes      int    `json:"bytes"`
	Operations int    `json:"operations"`
	Wave       int    `json:"wave"`
}

// SaveInfo is what a plan does not know about itself.
type SaveInfo struct {
	Tool      string
	Created   time.Time
	Target    TargetInfo
	Inputs    []string // input files, hashed
	Mapping   MappingInfo
	Deactive  *DeactivateIn
	Limits    batcher.Limits
	Snapshot  string // snapshot file, hashed when set
	InputHash map[string]string
	// InputBytes is the size of standard input ("-"), read once.
	InputBytes map[string]int64
}

var bulkFileRE = regexp.MustCompile(`^bulk-[0-9]{4,}\.json$`)

// BulkFile names the saved body of request i (0-based).
func BulkFile(i int) string { return fmt.Sprintf("bulk-%04d.json", i+1) }

// HashFile returns the SHA-256 of a file's content and its size.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// MappingVersion is a digest of the effective mapping set: every table,
// the code tables and the configuration. Two plans made with the same
// version mapped the inputs identically.
func MappingVersion(set *mapping.Set) string {
	h := sha256.New()
	for _, r := range set.Records() {
		b, _ := yaml.Marshal(set.Table(r))
		h.Write(b)
	}
	b, _ := yaml.Marshal(set.Codes)
	h.Write(b)
	b, _ = yaml.Marshal(set.Config)
	h.Write(b)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Describe builds plan.json for p, whole (Save writes the same bytes
// without holding them).
func (p *Plan) Describe(info SaveInfo) (*File, error) {
	f, err := p.describeHead(info)
	if err != nil {
		return nil, err
	}
	for _, u := range p.Users {
		f.Users = append(f.Users, p.userEntry(u))
	}
	for i := range p.Requests {
		body, err := p.Body(i)
		if err != nil {
			return nil, err
		}
		f.Requests = append(f.Requests, p.requestInfo(i, body))
	}
	reqOf := p.requestOf()
	for i := range p.Ops {
		f.Operations = append(f.Operations, p.opEntry(i, reqOf))
	}
	return f, p.Err()
}

// describeHead is plan.json without its users, operations and requests.
func (p *Plan) describeHead(info SaveInfo) (*File, error) {
	lim := info.Limits
	if lim.MaxOps <= 0 {
		lim.MaxOps = batcher.DefaultLimits.MaxOps
	}
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = batcher.DefaultLimits.MaxBytes
	}
	if lim.FailOnErrors <= 0 {
		lim.FailOnErrors = lim.MaxOps
	}
	f := &File{
		Format: FormatName, Version: FormatVersion, Tool: info.Tool,
		Created: info.Created.UTC().Format(time.RFC3339), Target: info.Target,
		Mapping: info.Mapping, Existing: p.Existing, DeactivateMissing: info.Deactive,
		Limits:  LimitsInfo{MaxOperations: lim.MaxOps, MaxBytes: lim.MaxBytes, FailOnErrors: lim.FailOnErrors},
		Summary: SummaryInfo(p.Counts), Attributes: p.Summary(),
		Inputs: []InputFile{}, Users: []UserEntry{}, Operations: []OpEntry{}, Requests: []RequestInfo{},
		Rejected: p.Rejected,
	}
	if info.Snapshot != "" {
		h, _, err := HashFile(info.Snapshot)
		if err != nil {
			return nil, err
		}
		f.Target.SnapshotSHA256 = h
	}
	for _, in := range info.Inputs {
		if in == "-" {
			f.Inputs = append(f.Inputs, InputFile{File: "<stdin>", SHA256: info.InputHash["-"], Bytes: info.InputBytes["-"]})
			continue
		}
		h, n, err := HashFile(in)
		if err != nil {
			return nil, err
		}
		f.Inputs = append(f.Inputs, InputFile{File: in, SHA256: h, Bytes: n})
	}
	return f, nil
}

// userEntry is a user of plan.json.
func (p *Plan) userEntry(u *UserPlan) UserEntry {
	e := UserEntry{Action: u.Action.String(), EmployeeNumber: u.EmployeeNumber, UserName: u.UserName, ID: u.ID,
		TargetEmployee: u.TargetEmployee, MatchedBy: u.MatchedBy, Version: u.Version, LastModified: u.LastModified,
		Reasons: u.Reasons, Notes: u.Notes, Changes: changeEntries(u.shown())}
	if u.Op >= 0 {
		e.BulkID = p.Ops[u.Op].BulkID
	}
	return e
}

// changeEntries are changes as plan.json and plan.html show them.
func changeEntries(cs []changeJSON) []ChangeEntry {
	var out []ChangeEntry
	for _, c := range cs {
		out = append(out, ChangeEntry{Kind: string(c.Kind), Path: c.Path, Old: c.Old, New: c.New})
	}
	return out
}

// requestOf gives the 1-based request of each operation.
func (p *Plan) requestOf() []int {
	reqOf := make([]int, len(p.Ops))
	for i, r := range p.Requests {
		for _, k := range r.Ops {
			reqOf[k] = i + 1
		}
	}
	return reqOf
}

func (p *Plan) requestInfo(i int, body []byte) RequestInfo {
	return RequestInfo{File: BulkFile(i), SHA256: sha(body), Bytes: len(body), Operations: len(p.Requests[i].Ops), Wave: p.Waves[i]}
}

func (p *Plan) opEntry(i int, reqOf []int) OpEntry {
	op := &p.Ops[i]
	return OpEntry{BulkID: op.BulkID, Method: op.Method, Path: op.Path,
		EmployeeNumber: op.EmployeeNumber, UserName: op.UserName, Refs: op.Refs, Sources: sourceEntries(op.Sources), Request: reqOf[i],
		Kind: op.Kind, Parent: op.Parent}
}

// Save writes plan.json and the Bulk bodies (bulk-0001.json, …) into dir
// (created with mode 0700; files 0600). Bulk files of an earlier plan in
// dir are removed first. Each body and each user's entry is built, written
// and dropped in turn: the File returned has the plan's description and
// requests, not its users and operations (they are in plan.json).
func (p *Plan) Save(dir string, info SaveInfo) (*File, error) {
	f, err := p.describeHead(info)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	old, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range old {
		if bulkFileRE.MatchString(e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return nil, err
			}
		}
	}
	for i := range p.Requests {
		body, err := p.Body(i)
		if err != nil {
			return nil, err
		}
		if err := writeFile(filepath.Join(dir, BulkFile(i)), body); err != nil {
			return nil, err
		}
		f.Requests = append(f.Requests, p.requestInfo(i, body))
	}
	reqOf := p.requestOf()
	err = writeFileFunc(filepath.Join(dir, PlanFile), func(w *bufio.Writer) error {
		return writePlanJSON(w, f, len(p.Users), func(i int) any { return p.userEntry(p.Users[i]) },
			len(p.Ops), func(i int) any { return p.opEntry(i, reqOf) })
	})
	if err == nil {
		err = p.Err()
	}
	if err != nil {
		return nil, err
	}
	f.Users, f.Operations = nil, nil
	return f, nil
}

// writePlanJSON writes head as json.MarshalIndent(head, "", "  ") writes
// it, with its users and operations (empty in head) produced one at a time
// by user and op.
func writePlanJSON(w *bufio.Writer, head *File, nUsers int, user func(int) any, nOps int, op func(int) any) error {
	h := *head
	h.Users, h.Operations = []UserEntry{}, []OpEntry{}
	b, err := json.MarshalIndent(&h, "", "  ")
	if err != nil {
		return err
	}
	const lists = "\n  \"users\": [],\n  \"operations\": [],\n"
	at := bytes.Index(b, []byte(lists))
	if at < 0 {
		return fmt.Errorf("plan.json: users and operations not where expected")
	}
	list := func(name string, n int, elem func(int) any) error {
		w.WriteString("\n  \"" + name + "\": [")
		for i := 0; i < n; i++ {
			if i > 0 {
				w.WriteByte(',')
			}
			e, err := json.MarshalIndent(elem(i), "    ", "  ")
			if err != nil {
				return err
			}
			w.WriteString("\n    ")
			w.Write(e)
		}
		if n > 0 {
			w.WriteString("\n  ")
		}
		w.WriteString("],")
		return nil
	}
	w.Write(b[:at])
	if err := list("users", nUsers, user); err != nil {
		return err
	}
	if err := list("operations", nOps, op); err != nil {
		return err
	}
	w.WriteByte('\n')
	w.Write(b[at+len(lists):])
	w.WriteByte('\n')
	return nil
}

// writeFile writes atomically with mode 0600.
func writeFile(path string, b []byte) error {
	return writeFileFunc(path, func(w *bufio.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// writeFileFunc writes what write writes to path, atomically (a temporary
// file renamed over path) with mode 0600.
func writeFileFunc(path string, write func(w *bufio.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".plan-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 256<<10)
	if err := write(w); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Saved is a plan read back from its directory. It holds the plan's
// description with its users' identities (not their changes) and its
// operations' metadata; the operations' JSON stays in the request files,
// read again, and checked again, when they are sent (Operations).
type Saved struct {
	Dir  string
	File *File
	// ID identifies the plan: "sha256:" and the digest of plan.json, which
	// holds the digest of every Bulk body. The journal of an apply records
	// it, so a later apply of the same plan with that journal is a resume.
	ID string
	// Ops are the operations in the order the bodies hold them, without
	// their JSON (Data): Operations yields them with it.
	Ops []batcher.Operation
	// Requests index Ops; their bodies are the saved files (Body).
	Requests []batcher.Request
	// Waves[i] is the dependency wave of Requests[i].
	Waves []int

	meta map[string]*OpEntry
	lim  batcher.Limits
}

// Load reads a saved plan: plan.json and every body it lists, checking each
// body's hash and that the bodies are exactly what the operations encode to
// (so Ops and Requests describe the same requests). Memory grows with the
// users and operations, not with their changes or JSON.
func Load(dir string) (*Saved, error) {
	h := sha256.New()
	// The users' identities are kept for CheckStale, not their changes.
	var users []UserEntry
	f, err := readPlanDir(dir, func(u *UserEntry) error {
		u.Changes, u.Notes, u.Reasons = nil, nil, nil
		users = append(users, *u)
		return nil
	}, false, h)
	if err != nil {
		return nil, err
	}
	f.Users = users
	s := &Saved{Dir: dir, File: f, ID: "sha256:" + hex.EncodeToString(h.Sum(nil)), meta: map[string]*OpEntry{},
		lim: batcher.Limits{MaxOps: f.Limits.MaxOperations, MaxBytes: f.Limits.MaxBytes, FailOnErrors: f.Limits.FailOnErrors}}
	for i := range f.Operations {
		s.meta[f.Operations[i].BulkID] = &f.Operations[i]
	}
	seen := map[string]bool{}
	for i, r := range f.Requests {
		ops, _, err := s.readRequest(i)
		if err != nil {
			return nil, err
		}
		var idx []int
		for _, op := range ops {
			if seen[op.BulkID] {
				return nil, fmt.Errorf("%s: operation %q is not (or twice) in plan.json", r.File, op.BulkID)
			}
			seen[op.BulkID] = true
			op.Data = nil
			idx = append(idx, len(s.Ops))
			s.Ops = append(s.Ops, op)
		}
		s.Requests = append(s.Requests, batcher.Request{Ops: idx})
		s.Waves = append(s.Waves, r.Wave)
	}
	if len(seen) != len(f.Operations) {
		return nil, fmt.Errorf("%s lists %d operations, the request files hold %d", PlanFile, len(f.Operations), len(seen))
	}
	return s, nil
}

// readRequest reads request i's body and its operations (with their JSON),
// checking the body's hash against plan.json, that each operation is
// plan.json's, and that the body is exactly what they encode to.
func (s *Saved) readRequest(i int) ([]batcher.Operation, []byte, error) {
	r := s.File.Requests[i]
	if !bulkFileRE.MatchString(r.File) {
		return nil, nil, fmt.Errorf("%s: request %d names file %q", PlanFile, i+1, r.File)
	}
	body, err := os.ReadFile(filepath.Join(s.Dir, r.File))
	if err != nil {
		return nil, nil, err
	}
	if sha(body) != r.SHA256 {
		return nil, nil, fmt.Errorf("%s was changed after the plan was saved (its SHA-256 differs from plan.json)", filepath.Join(s.Dir, r.File))
	}
	var req struct {
		Operations []struct {
			Method string          `json:"method"`
			Path   string          `json:"path"`
			BulkID string          `json:"bulkId"`
			Data   json.RawMessage `json:"data"`
		} `json:"Operations"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", r.File, err)
	}
	bld := batcher.NewBuilder(s.lim)
	var ops []batcher.Operation
	for k, ro := range req.Operations {
		m := s.meta[ro.BulkID]
		if m == nil {
			return nil, nil, fmt.Errorf("%s: operation %q is not (or twice) in plan.json", r.File, ro.BulkID)
		}
		if m.Request != i+1 {
			return nil, nil, fmt.Errorf("%s: operation %q belongs to request %d in plan.json", r.File, ro.BulkID, m.Request)
		}
		op := batcher.Operation{BulkID: ro.BulkID, Method: ro.Method, Path: ro.Path, Data: ro.Data,
			EmployeeNumber: m.EmployeeNumber, UserName: m.UserName, Refs: nonNilRefs(m.Refs), Sources: batcherSources(m.Sources),
			Kind: m.Kind, Parent: m.Parent, Request: i + 1}
		if op.Kind == batcher.KindRefs && op.Path != batcher.ParentRef+op.Parent {
			return nil, nil, fmt.Errorf("%s: reference patch %q has path %q, want %q", r.File, ro.BulkID, op.Path, batcher.ParentRef+op.Parent)
		}
		enc, err := batcher.EncodeOperation(&op)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", r.File, err)
		}
		if !bld.AddSized(k, enc, batcher.WireSize(&op, enc)) {
			return nil, nil, fmt.Errorf("%s: the request exceeds the plan's limits", r.File)
		}
		ops = append(ops, op)
	}
	if rebuilt := bld.Finish(); !bytes.Equal(rebuilt.Body, body) {
		return nil, nil, fmt.Errorf("%s: the body is not what its operations encode to", r.File)
	}
	return ops, body, nil
}

// Body returns the saved body of request i, checked again.
func (s *Saved) Body(i int) ([]byte, error) {
	_, body, err := s.readRequest(i)
	return body, err
}

// Operations yields the operations in the order they are sent, each with
// its JSON, reading each request file in turn and checking it again (a
// file changed since Load is an error, not sent).
func (s *Saved) Operations() iter.Seq2[batcher.Operation, error] {
	return func(yield func(batcher.Operation, error) bool) {
		for i, r := range s.Requests {
			ops, _, err := s.readRequest(i)
			if err == nil && len(ops) != len(r.Ops) {
				err = fmt.Errorf("%s: %d operations, %d when the plan was loaded", s.File.Requests[i].File, len(ops), len(r.Ops))
			}
			if err != nil {
				yield(batcher.Operation{}, err)
				return
			}
			for k, op := range ops {
				if want := s.Ops[r.Ops[k]]; op.BulkID != want.BulkID {
					yield(batcher.Operation{}, fmt.Errorf("%s: operation %s where %s was when the plan was loaded", s.File.Requests[i].File, op.BulkID, want.BulkID))
					return
				}
				if !yield(op, nil) {
					return
				}
			}
		}
	}
}

// Finder looks identities up in the target (Live implements it).
type Finder interface {
	// Find returns the users with the wanted employeeNumbers, and with the
	// wanted userNames (identity attributes and meta are enough).
	Find(ctx context.Context, wants []Want) ([]*Current, error)
}

// StaleUser is a user whose state changed since the plan was made.
type StaleUser struct {
	EmployeeNumber string
	ID             string
	Reason         string
}

func (s StaleUser) String() string {
	who := s.EmployeeNumber
	if s.ID != "" {
		who += " (id " + s.ID + ")"
	}
	return who + ": " + s.Reason
}

// StaleError refuses a plan the target has moved away from.
type StaleError struct {
	Users []StaleUser
}

// ErrStale is matched by errors.Is on a *StaleError.
var ErrStale = errors.New("saved plan is stale")

func (e *StaleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "saved plan is stale: %d user(s) changed in the target since the plan was made:", len(e.Users))
	for _, u := range e.Users {
		b.WriteString("\n  " + u.String())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrStale) true.
func (e *StaleError) Is(target error) bool { return target == ErrStale }

// CheckStale compares the users of the plan with the target now: every
// matched user must still be there with the meta.version and lastModified
// the plan saw (users the plan saw without meta cannot be checked and are
// skipped), and no user may have appeared with the employeeNumber or
// userName of a user the plan creates. It returns the changed users,
// sorted by employeeNumber; the caller refuses the plan unless told to
// allow it (see Check).
//
// The users are looked up staleChunk at a time, so that what the target
// returns (whole documents) is held for one chunk, not for the company.
func (s *Saved) CheckStale(ctx context.Context, t Finder) ([]StaleUser, error) {
	var out []StaleUser
	users := s.File.Users
	for len(users) > 0 {
		n := min(staleChunk, len(users))
		got, err := checkStale(ctx, t, users[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
		users = users[n:]
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].EmployeeNumber < out[j].EmployeeNumber })
	return out, nil
}

// staleChunk is how many users of a saved plan CheckStale looks up at once.
const staleChunk = 2000

func checkStale(ctx context.Context, t Finder, users []UserEntry) ([]StaleUser, error) {
	var wants []Want
	for _, u := range users {
		switch u.Action {
		case Create.String():
			wants = append(wants, Want{EmployeeNumber: u.EmployeeNumber, UserName: u.UserName})
		case Update.String(), Deactivate.String(), NoChange.String():
			if u.ID == "" {
				continue
			}
			un := ""
			if u.TargetEmployee == "" {
				un = u.UserName
			}
			wants = append(wants, Want{EmployeeNumber: u.TargetEmployee, UserName: un})
		}
	}
	if len(wants) == 0 {
		return nil, nil
	}
	found, err := t.Find(ctx, wants)
	if err != nil {
		return nil, err
	}
	byID := map[string]*Current{}
	byEmp := map[string]*Current{}
	byName := map[string]*Current{}
	for _, c := range found {
		byID[strings.ToLower(c.ID)] = c
		if c.EmployeeNumber != "" {
			byEmp[strings.ToLower(c.EmployeeNumber)] = c
		}
		if c.UserName != "" {
			byName[strings.ToLower(c.UserName)] = c
		}
	}
	var out []StaleUser
	for _, u := range users {
		switch u.Action {
		case Create.String():
			if c := byEmp[strings.ToLower(u.EmployeeNumber)]; c != nil && u.EmployeeNumber != "" {
				out = append(out, StaleUser{EmployeeNumber: u.EmployeeNumber, ID: c.ID, Reason: "the plan creates this employee, but the target now has it"})
			} else if c := byName[strings.ToLower(u.UserName)]; c != nil && u.UserName != "" {
				out = append(out, StaleUser{EmployeeNumber: u.EmployeeNumber, ID: c.ID, Reason: fmt.Sprintf("the plan creates userName %q, but the target now has it (employee %s)", u.UserName, c.EmployeeNumber)})
			}
		case Update.String(), Deactivate.String(), NoChange.String():
			if u.ID == "" {
				continue
			}
			c := byID[strings.ToLower(u.ID)]
			if c == nil {
				out = append(out, StaleUser{EmployeeNumber: u.EmployeeNumber, ID: u.ID,
					Reason: fmt.Sprintf("no longer found in the target by employeeNumber %q (deleted, or its IDs changed)", u.TargetEmployee)})
				continue
			}
			if u.Version == "" && u.LastModified == "" {
				continue
			}
			var diffs []string
			if u.Version != "" && c.Version != u.Version {
				diffs = append(diffs, fmt.Sprintf("meta.version %s → %s", u.Version, orNone(c.Version)))
			}
			if u.LastModified != "" && c.LastModified != u.LastModified {
				diffs = append(diffs, fmt.Sprintf("meta.lastModified %s → %s", u.LastModified, orNone(c.LastModified)))
			}
			if len(diffs) > 0 {
				out = append(out, StaleUser{EmployeeNumber: u.EmployeeNumber, ID: u.ID, Reason: "changed since the plan: " + strings.Join(diffs, ", ")})
			}
		}
	}
	return out, nil
}

// Check is what `apply DIR` runs before sending anything: it loads the
// plan, checks it against the target, and returns the saved plan. A stale
// plan gives a *StaleError (errors.Is(err, ErrStale)) unless allowStale,
// in which case the stale users are returned with the plan for the caller
// to report.
func Check(ctx context.Context, dir string, t Finder, allowStale bool) (*Saved, []StaleUser, error) {
	s, err := Load(dir)
	if err != nil {
		return nil, nil, err
	}
	stale, err := s.CheckStale(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	if len(stale) > 0 && !allowStale {
		return s, stale, &StaleError{Users: stale}
	}
	return s, stale, nil
}
