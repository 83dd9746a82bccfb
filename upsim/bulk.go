package upsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// httpError is a request-level error answered synchronously.
type httpError struct {
	status   int
	scimType string
	code     string
	detail   string
}

func (e *httpError) write(w http.ResponseWriter) {
	writeSCIMError(w, e.status, e.scimType, e.detail, e.code, "")
}

func badRequest(scimType, format string, args ...any) *httpError {
	return &httpError{http.StatusBadRequest, scimType, "INVALID_INPUT", fmt.Sprintf(format, args...)}
}

// bulkOpIn is one decoded Bulk operation.
type bulkOpIn struct {
	method string
	path   string
	bulkID string
	data   json.RawMessage
}

// decodeBulk parses and structurally validates a Bulk request body. It never
// panics on any input; errors are 400 (syntax/structure) or 413 (too many
// operations).
func decodeBulk(body []byte, maxOps int) ([]bulkOpIn, *httpError) {
	var req struct {
		Schemas      []string     `json:"schemas"`
		FailOnErrors *json.Number `json:"failOnErrors"`
		Operations   []struct {
			Method *string         `json:"method"`
			Path   *string         `json:"path"`
			BulkID *string         `json:"bulkId"`
			Data   json.RawMessage `json:"data"`
		} `json:"Operations"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return nil, badRequest("invalidSyntax", "Malformed Bulk request: %v", err)
	}
	if dec.More() {
		return nil, badRequest("invalidSyntax", "Malformed Bulk request: data after the JSON object")
	}
	hasSchema := false
	for _, sc := range req.Schemas {
		hasSchema = hasSchema || sc == urnBulkRequest
	}
	if !hasSchema {
		return nil, badRequest("invalidSyntax", "schemas must contain %s", urnBulkRequest)
	}
	if req.FailOnErrors != nil {
		if n, err := req.FailOnErrors.Int64(); err != nil || n < 0 {
			return nil, badRequest("invalidValue", "failOnErrors must be a non-negative integer")
		}
	}
	if len(req.Operations) == 0 {
		return nil, badRequest("invalidValue", "Operations must contain at least one operation")
	}
	if len(req.Operations) > maxOps {
		return nil, &httpError{http.StatusRequestEntityTooLarge, "", "TOO_MANY_OPERATIONS",
			fmt.Sprintf("The number of operations (%d) exceeds maxOperations (%d)", len(req.Operations), maxOps)}
	}
	ops := make([]bulkOpIn, len(req.Operations))
	seen := map[string]int{}
	for i, o := range req.Operations {
		n := i + 1
		if o.Method == nil || *o.Method == "" {
			return nil, badRequest("invalidValue", "Operations[%d]: method is required", n)
		}
		m := strings.ToUpper(*o.Method)
		switch m {
		case "POST", "PUT", "PATCH", "DELETE":
		default:
			return nil, badRequest("invalidValue", "Operations[%d]: unsupported method %q", n, *o.Method)
		}
		if o.Path == nil || *o.Path == "" {
			return nil, badRequest("invalidValue", "Operations[%d]: path is required", n)
		}
		p := *o.Path
		if m == "POST" {
			if !strings.EqualFold(strings.TrimSuffix(p, "/"), "/Users") {
				return nil, badRequest("invalidPath", "Operations[%d]: POST path must be /Users, got %q", n, p)
			}
		} else if id := userIDFromPath(p); id == "" || strings.Contains(id, "/") {
			return nil, badRequest("invalidPath", "Operations[%d]: %s path must be /Users/{id}, got %q", n, m, p)
		}
		bid := ""
		if o.BulkID != nil {
			bid = *o.BulkID
		}
		if m == "POST" && bid == "" {
			return nil, badRequest("invalidValue", "Operations[%d]: bulkId is required for POST", n)
		}
		if bid != "" {
			if j, dup := seen[bid]; dup {
				return nil, badRequest("invalidValue", "Operations[%d]: bulkId %q already used by Operations[%d]", n, bid, j)
			}
			seen[bid] = n
		}
		data := bytes.TrimSpace(o.Data)
		if m != "DELETE" && (len(data) == 0 || data[0] != '{') {
			return nil, badRequest("invalidValue", "Operations[%d]: data must be an object", n)
		}
		ops[i] = bulkOpIn{method: m, path: p, bulkID: bid, data: append(json.RawMessage(nil), data...)}
	}
	return ops, nil
}

func (s *Server) handleBulk(w http.ResponseWriter, r *http.Request) {
	rb := bodyOf(r)
	fd := faultsOf(r)
	reject := func(e *httpError) {
		s.mu.Lock()
		s.stats.BulkRejected++
		s.mu.Unlock()
		e.write(w)
	}
	s.mu.Lock()
	s.stats.BulkReceived++
	s.mu.Unlock()
	if !isJSONContentType(r.Header.Get("Content-Type")) {
		reject(&httpError{http.StatusUnsupportedMediaType, "", "INVALID_INPUT", "Content-Type must be application/json or application/scim+json"})
		return
	}
	if rb.tooLarge {
		reject(&httpError{http.StatusRequestEntityTooLarge, "", "PAYLOAD_TOO_LARGE",
			fmt.Sprintf("The size of the bulk operation exceeds the maxPayloadSize (%d)", s.opts.MaxBytes)})
		return
	}
	ops, herr := decodeBulk(rb.data, s.opts.MaxOps)
	if herr != nil {
		reject(herr)
		return
	}

	base := s.baseURL(r)
	s.mu.Lock()
	now := s.now()
	p := &provision{
		id:            newUUID(s.rngProv.Uint64(), s.rngProv.Uint64()),
		created:       now,
		modified:      now,
		correlationID: w.Header().Get("concur-correlationid"),
		pending:       len(ops),
	}
	for i, o := range ops {
		op := &bulkOp{index: i + 1, method: o.method, path: o.path, bulkID: o.bulkID, data: o.data,
			due: now.Add(s.opts.CompletionDelay * time.Duration(i+1) / time.Duration(len(ops)))}
		p.ops = append(p.ops, op)
		s.queue = append(s.queue, queued{p, op})
	}
	s.provisions[p.id] = p
	s.provOrder = append(s.provOrder, p)
	s.evictProvisions()
	s.stats.BulkAccepted++
	s.stats.Operations += len(ops)
	body := mustJSON(s.statusBody(p, base, nil))
	drop := fd.drop && s.takeFault(&s.stats.Dropped)
	s.mu.Unlock()
	s.logf("upsim: bulk accepted: provision %s, %d operations", p.id, len(ops))

	if drop {
		s.logf("upsim: fault: dropping connection after accepting provision %s", p.id)
		dropConnection(w)
		return
	}
	w.Header().Set("Location", base+"/profile/v4/provisions/"+p.id+"/status")
	writeRaw(w, http.StatusAccepted, body)
}

// evictProvisions forgets the oldest completed provisions above
// MaxProvisions. The caller holds s.mu.
func (s *Server) evictProvisions() {
	for i := 0; len(s.provOrder) > s.opts.MaxProvisions && i < len(s.provOrder); {
		p := s.provOrder[i]
		if p.pending > 0 {
			i++
			continue
		}
		delete(s.provisions, p.id)
		s.provOrder = append(s.provOrder[:i], s.provOrder[i+1:]...)
	}
}

// Status wire types.

type opCount struct {
	Total   int `json:"total"`
	Success int `json:"success"`
	Failed  int `json:"failed"`
	Pending int `json:"pending"`
}

type doneStatus struct {
	Completed bool  `json:"completed"`
	Success   *bool `json:"success"`
}

type provMeta struct {
	Location      string `json:"location"`
	Created       string `json:"created"`
	LastModified  string `json:"lastModified"`
	ProvisionType string `json:"provisionType"`
	ResourceType  string `json:"resourceType"`
	CorrelationID string `json:"correlationId,omitempty"`
	CompanyID     string `json:"companyId,omitempty"`
	Completed     string `json:"completed,omitempty"`
}

type extStatus struct {
	Completed bool   `json:"completed"`
	Success   bool   `json:"success"`
	Code      string `json:"code"`
	Result    string `json:"result"`
}

type extBody struct {
	Name     string    `json:"name"`
	Status   extStatus `json:"status"`
	Messages []message `json:"messages,omitempty"`
}

type opStatus struct {
	Completed bool   `json:"completed"`
	Success   *bool  `json:"success"`
	Code      string `json:"code,omitempty"`
}

type resourceRef struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type opBody struct {
	ID         string       `json:"id"`
	BulkID     string       `json:"bulkId"`
	Status     opStatus     `json:"status"`
	Resource   *resourceRef `json:"resource,omitempty"`
	Extensions []extBody    `json:"extensions,omitempty"`
}

type statusBody struct {
	Schemas         []string   `json:"schemas"`
	ID              string     `json:"id"`
	OperationsCount opCount    `json:"operationsCount"`
	Status          doneStatus `json:"status"`
	Meta            provMeta   `json:"meta"`
	TotalResults    *int       `json:"totalResults,omitempty"`
	ItemsPerPage    *int       `json:"itemsPerPage,omitempty"`
	StartIndex      *int       `json:"startIndex,omitempty"`
	Operations      *[]opBody  `json:"operations,omitempty"`
}

// opsPage selects the operations of a detailed status.
type opsPage struct {
	startIndex, count int
	states            map[string]bool // nil = all
}

const statusTimeLayout = "2006-01-02T15:04:05.000-0700"

// statusBody renders a provision status; page is nil for the summary. The
// caller holds s.mu.
func (s *Server) statusBody(p *provision, base string, page *opsPage) statusBody {
	b := statusBody{
		Schemas:         []string{urnProvisionStatus},
		ID:              p.id,
		OperationsCount: opCount{Total: len(p.ops), Success: p.succeeded, Failed: p.failed, Pending: p.pending},
		Meta: provMeta{
			Location:      base + "/profile/v4/provisions/" + p.id + "/status",
			Created:       p.created.UTC().Format(statusTimeLayout),
			LastModified:  p.modified.UTC().Format(statusTimeLayout),
			ProvisionType: "Bulk",
			ResourceType:  "ProvisionRequest",
			CorrelationID: p.correlationID,
			CompanyID:     s.opts.CompanyID,
		},
	}
	if p.pending == 0 {
		ok := p.failed == 0
		b.Status = doneStatus{Completed: true, Success: &ok}
		b.Meta.Completed = p.completed.UTC().Format(statusTimeLayout)
	}
	if page == nil {
		return b
	}
	var sel []*bulkOp
	for _, op := range p.ops {
		if page.states == nil || page.states[opState(op)] {
			sel = append(sel, op)
		}
	}
	total := len(sel)
	start := page.startIndex
	lo := min(start-1, total)
	hi := total
	if page.count < total-lo {
		hi = lo + page.count
	}
	items := make([]opBody, 0, hi-lo)
	for _, op := range sel[lo:hi] {
		items = append(items, renderOp(op))
	}
	n := len(items)
	b.TotalResults, b.ItemsPerPage, b.StartIndex, b.Operations = &total, &n, &start, &items
	return b
}

func opState(op *bulkOp) string {
	switch {
	case !op.done:
		return "pending"
	case op.success():
		return "success"
	default:
		return "failed"
	}
}

func renderOp(op *bulkOp) opBody {
	bid := op.bulkID
	if bid == "" {
		bid = "gen-temp-bulk-id"
	}
	b := opBody{ID: strconv.Itoa(op.index), BulkID: bid}
	if !op.done {
		return b
	}
	ok := op.success()
	b.Status = opStatus{Completed: true, Success: &ok, Code: strconv.Itoa(op.code)}
	if op.resourceID != "" {
		b.Resource = &resourceRef{ID: op.resourceID, Type: "User"}
	}
	for _, urn := range statusExtensions {
		r := extNoop(urn)
		for _, e := range op.exts {
			if e.urn == urn {
				r = e
			}
		}
		b.Extensions = append(b.Extensions, extBody{
			Name:     urn,
			Status:   extStatus{Completed: true, Success: r.result != "error", Code: strconv.Itoa(r.code), Result: r.result},
			Messages: r.msgs,
		})
	}
	return b
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	var page *opsPage
	for _, a := range strings.Split(q.Get("attributes"), ",") {
		if strings.EqualFold(strings.TrimSpace(a), "operations") {
			page = &opsPage{startIndex: 1, count: s.opts.PageSize}
		}
	}
	if page != nil {
		var err *httpError
		if page.startIndex, err = intParam(q.Get("startIndex"), 1); err != nil {
			err.write(w)
			return
		}
		page.startIndex = max(page.startIndex, 1)
		if page.count, err = intParam(q.Get("count"), s.opts.PageSize); err != nil {
			err.write(w)
			return
		}
		page.count = max(page.count, 0)
		if st := q.Get("state"); st != "" {
			page.states = map[string]bool{}
			for _, v := range strings.Split(st, ",") {
				v = strings.ToLower(strings.TrimSpace(v))
				switch v {
				case "pending", "success", "failed":
					page.states[v] = true
				default:
					badRequest("invalidValue", "state must be pending, success or failed, got %q", v).write(w)
					return
				}
			}
		}
	}
	base := s.baseURL(r)
	s.mu.Lock()
	s.stats.StatusPolls++
	p := s.provisions[id]
	var body []byte
	if p != nil {
		body = mustJSON(s.statusBody(p, base, page))
	}
	s.mu.Unlock()
	if p == nil {
		writeSCIMError(w, http.StatusNotFound, "", "Provision request '"+id+"' not found", "NOT_FOUND", "")
		return
	}
	writeRaw(w, http.StatusOK, body)
}

// intParam parses an optional integer query parameter.
func intParam(v string, def int) (int, *httpError) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badRequest("invalidValue", "%q is not an integer", v)
	}
	return n, nil
}
