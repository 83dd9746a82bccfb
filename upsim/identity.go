package upsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

type listResponse struct {
	Schemas      []string         `json:"schemas"`
	TotalResults int              `json:"totalResults"`
	ItemsPerPage int              `json:"itemsPerPage"`
	StartIndex   *int             `json:"startIndex,omitempty"`
	Resources    []map[string]any `json:"Resources"`
	NextCursor   string           `json:"nextCursor,omitempty"`
}

// projection implements attributes / excludedAttributes.
type projection struct {
	attrs    []string
	excluded []string
}

func splitList(v string) []string {
	var out []string
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// resolveAttr splits an attribute name (URN-qualified or short) into its
// schema and path parts; parts is nil for a whole extension.
func resolveAttr(a string) (urn string, parts []string, ok bool) {
	if u := canonicalURN(a); u != "" {
		return u, nil, true
	}
	urn, rest, ok := splitURN(a)
	if !ok || rest == "" {
		return "", nil, false
	}
	parts = strings.Split(rest, ".")
	if urn == "" {
		urn = shortToURN(parts[0])
	}
	return urn, parts, true
}

func (pr projection) apply(view map[string]any) map[string]any {
	if len(pr.attrs) > 0 {
		out := map[string]any{"id": view["id"], "schemas": view["schemas"]}
		for _, a := range pr.attrs {
			urn, parts, ok := resolveAttr(a)
			if !ok {
				continue
			}
			src, dst := view, out
			if urn != urnCore {
				src, _ = objectAt(view, urn)
				if parts == nil {
					if src != nil {
						out[urn] = src
					}
					continue
				}
				d, _ := out[urn].(map[string]any)
				if d == nil {
					d = map[string]any{}
				}
				dst = d
			}
			val := getCI(src, parts[0])
			if val == nil {
				continue
			}
			if len(parts) > 1 {
				m, isObj := val.(map[string]any)
				if !isObj {
					continue
				}
				prev, _ := dst[parts[0]].(map[string]any)
				if prev == nil {
					prev = map[string]any{}
				}
				if v := getCI(m, parts[1]); v != nil {
					prev[parts[1]] = v
				}
				val = prev
			}
			dst[parts[0]] = val
			if urn != urnCore {
				out[urn] = dst
			}
		}
		return out
	}
	for _, a := range pr.excluded {
		urn, parts, ok := resolveAttr(a)
		if !ok || strings.EqualFold(a, "id") {
			continue
		}
		if parts == nil {
			deleteCI(view, urn)
			continue
		}
		src := view
		if urn != urnCore {
			src, _ = objectAt(view, urn)
		}
		if len(parts) == 1 {
			deleteCI(src, parts[0])
		} else if m, ok := getCI(src, parts[0]).(map[string]any); ok {
			deleteCI(m, parts[1])
		}
	}
	return view
}

// findEq returns the users matching one string equality test, using the
// indexes for userName, employeeNumber and id. The caller holds s.mu.
func (s *Server) findEq(c fCmp) []*user {
	v := strings.ToLower(c.val.(string))
	if len(c.ref.parts) == 1 {
		a := c.ref.parts[0]
		var u *user
		switch {
		case c.ref.urn == urnCore && strings.EqualFold(a, "userName"):
			u = s.byUserName[v]
		case c.ref.urn == urnEnterprise && strings.EqualFold(a, "employeeNumber"):
			u = s.byEmpNum[v]
		case c.ref.urn == urnCore && strings.EqualFold(a, "id"):
			for id, x := range s.users {
				if strings.EqualFold(id, v) {
					u = x
				}
			}
		default:
			return s.scan(c)
		}
		if u == nil {
			return nil
		}
		return []*user{u}
	}
	return s.scan(c)
}

// scan evaluates a filter against every user. The caller holds s.mu.
func (s *Server) scan(n filterNode) []*user {
	var out []*user
	for _, u := range s.sortedUsers() {
		if evalFilter(n, u.filterCtx()) {
			out = append(out, u)
		}
	}
	return out
}

// match returns the users matching filter (all when empty), in creation
// order. The caller holds s.mu.
func (s *Server) match(n filterNode) []*user {
	if n == nil {
		return s.sortedUsers()
	}
	terms, ok := eqTerms(n)
	if !ok {
		return s.scan(n)
	}
	seen := map[*user]bool{}
	var out []*user
	for _, t := range terms {
		for _, u := range s.findEq(t) {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	slices.SortFunc(out, func(a, b *user) int { return int(a.seq - b.seq) })
	return out
}

func (s *Server) handleIdentityV4List(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	count, herr := intParam(q.Get("count"), 10)
	if herr != nil {
		herr.write(w)
		return
	}
	count = min(max(count, 0), 100)
	start, herr := intParam(q.Get("startIndex"), 1)
	if herr != nil {
		herr.write(w)
		return
	}
	start = max(start, 1)
	var filter filterNode
	if f := q.Get("filter"); f != "" {
		n, err := parseFilter(f, true)
		c, isCmp := n.(fCmp)
		if err != nil || !isCmp || c.op != "eq" || !isString(c.val) || len(c.ref.parts) != 1 || !v4Filterable(c.ref) {
			detail := "Only 'eq' on userName, employeeNumber or externalId is supported"
			if err != nil {
				detail = fmt.Sprintf("Invalid filter: %v", err)
			}
			writeSCIMError(w, http.StatusBadRequest, "invalidFilter", detail, "INVALID_INPUT", "")
			return
		}
		filter = c
	}
	pr := projection{splitList(q.Get("attributes")), splitList(q.Get("excludedAttributes"))}
	base := s.baseURL(r)
	s.mu.Lock()
	s.stats.Lookups++
	users := s.match(filter)
	total := len(users)
	lo := min(start-1, total)
	hi := total
	if count < total-lo {
		hi = lo + count
	}
	res := make([]map[string]any, 0, hi-lo)
	for _, u := range users[lo:hi] {
		res = append(res, pr.apply(u.identityView(base)))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, listResponse{
		Schemas: []string{urnListResponse}, TotalResults: total, ItemsPerPage: len(res),
		StartIndex: &start, Resources: res,
	})
}

func v4Filterable(ref attrRef) bool {
	a := ref.parts[0]
	return (ref.urn == urnCore && (strings.EqualFold(a, "userName") || strings.EqualFold(a, "externalId"))) ||
		(ref.urn == urnEnterprise && strings.EqualFold(a, "employeeNumber"))
}

func (s *Server) handleIdentityUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	base := s.baseURL(r)
	s.mu.Lock()
	s.stats.Lookups++
	u := s.users[id]
	var body []byte
	if u != nil {
		body = mustJSON(u.identityView(base))
	}
	s.mu.Unlock()
	if u == nil {
		writeSCIMError(w, http.StatusNotFound, "", "User '"+id+"' not found", "NOT_FOUND", "")
		return
	}
	writeRaw(w, http.StatusOK, body)
}

// Cursors are opaque: the creation sequence of the last user returned and a
// hash of the query they belong to.
func makeCursor(seq int64, query string) string {
	h := fnv.New32a()
	h.Write([]byte(query))
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "c1:%d:%08x", seq, h.Sum32()))
}

func parseCursor(c, query string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != "c1" {
		return 0, false
	}
	seq, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || seq < 0 {
		return 0, false
	}
	return seq, makeCursor(seq, query) == c
}

// cursorPage answers one page of a v4.1 list/search.
func (s *Server) cursorPage(w http.ResponseWriter, r *http.Request, filter filterNode, query string, count int, cursor string, pr projection) {
	var after int64
	if cursor != "" {
		var ok bool
		if after, ok = parseCursor(cursor, query); !ok {
			writeSCIMError(w, http.StatusBadRequest, "invalidCursor", "The cursor is invalid or belongs to another query", "INVALID_INPUT", "")
			return
		}
	}
	base := s.baseURL(r)
	s.mu.Lock()
	s.stats.Lookups++
	users := s.match(filter)
	total := len(users)
	i, _ := slices.BinarySearchFunc(users, after+1, func(u *user, seq int64) int { return int(u.seq - seq) })
	rest := users[i:]
	var page []*user
	if count < len(rest) {
		page = rest[:count]
	} else {
		page = rest
	}
	res := make([]map[string]any, 0, len(page))
	for _, u := range page {
		res = append(res, pr.apply(u.identityView(base)))
	}
	next := ""
	if len(page) > 0 && len(page) < len(rest) {
		next = makeCursor(page[len(page)-1].seq, query)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, listResponse{
		Schemas: []string{urnListResponse}, TotalResults: total, ItemsPerPage: len(res),
		Resources: res, NextCursor: next,
	})
}

func clampCount(n int) int { return min(max(n, 0), 1000) }

func (s *Server) handleIdentityV41List(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	count, herr := intParam(q.Get("count"), 100)
	if herr != nil {
		herr.write(w)
		return
	}
	var filter filterNode
	if f := q.Get("filter"); f != "" {
		n, err := parseFilter(f, true)
		if err != nil {
			writeSCIMError(w, http.StatusBadRequest, "invalidFilter", fmt.Sprintf("Invalid filter: %v", err), "INVALID_INPUT", "")
			return
		}
		filter = n
	}
	pr := projection{splitList(q.Get("attributes")), splitList(q.Get("excludedAttributes"))}
	s.cursorPage(w, r, filter, "list\x00"+q.Get("filter"), clampCount(count), q.Get("cursor"), pr)
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	rb := bodyOf(r)
	if rb.tooLarge {
		writeSCIMError(w, http.StatusRequestEntityTooLarge, "", "Search request too large", "PAYLOAD_TOO_LARGE", "")
		return
	}
	var req struct {
		Schemas            []string     `json:"schemas"`
		Filter             string       `json:"filter"`
		Attributes         []string     `json:"attributes"`
		ExcludedAttributes []string     `json:"excludedAttributes"`
		Count              *json.Number `json:"count"`
		Cursor             string       `json:"cursor"`
	}
	dec := json.NewDecoder(strings.NewReader(string(rb.data)))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		writeSCIMError(w, http.StatusBadRequest, "invalidSyntax", fmt.Sprintf("Malformed search request: %v", err), "INVALID_INPUT", "")
		return
	}
	if !slices.Contains(req.Schemas, urnSearchRequest) {
		writeSCIMError(w, http.StatusBadRequest, "invalidSyntax", "schemas must contain "+urnSearchRequest, "INVALID_INPUT", "")
		return
	}
	count := 100
	if req.Count != nil {
		n, err := req.Count.Int64()
		if err != nil {
			writeSCIMError(w, http.StatusBadRequest, "invalidValue", "count must be an integer", "INVALID_INPUT", "")
			return
		}
		count = clampCount(int(min(max(n, -1), 1001)))
	}
	var filter filterNode
	if req.Filter != "" {
		n, err := parseFilter(req.Filter, true)
		if err != nil {
			writeSCIMError(w, http.StatusBadRequest, "invalidFilter", fmt.Sprintf("Invalid filter: %v", err), "INVALID_INPUT", "")
			return
		}
		filter = n
	}
	query := "search\x00" + req.Filter + "\x00" + strings.Join(req.Attributes, ",") + "\x00" + strings.Join(req.ExcludedAttributes, ",")
	s.cursorPage(w, r, filter, query, count, req.Cursor, projection{req.Attributes, req.ExcludedAttributes})
}

func (s *Server) handleSpendUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	s.stats.Lookups++
	u := s.users[id]
	var body []byte
	if u != nil {
		if _, ok := objectAt(u.doc(), urnSpendUser); ok {
			body = mustJSON(u.spendView())
		}
	}
	s.mu.Unlock()
	if body == nil {
		writeSCIMError(w, http.StatusNotFound, "", "Spend user '"+id+"' not found", "NOT_FOUND", "")
		return
	}
	writeRaw(w, http.StatusOK, body)
}

func (s *Server) handleTravelUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	s.stats.Lookups++
	u := s.users[id]
	var body []byte
	if u != nil {
		if ext, ok := objectAt(u.doc(), urnTravel); ok {
			body = mustJSON(map[string]any{"id": u.id, urnTravel: ext})
		}
	}
	s.mu.Unlock()
	if body == nil {
		// The travel service uses its own error shape.
		writeJSON(w, http.StatusNotFound, map[string]string{"errorCode": "404", "errorMessage": "Travel user '" + id + "' not found"})
		return
	}
	writeRaw(w, http.StatusOK, body)
}
