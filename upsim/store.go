package upsim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// user is a stored user. raw holds the merged resource (core attributes at
// the top level, one key per extension URN) without id, meta and schemas,
// as compact JSON: a decoded tree costs about 20 times its JSON, and a
// rehearsal tenant holds hundreds of thousands of users. doc decodes it for
// each use; setDoc stores a changed document.
type user struct {
	seq      int64
	id       string
	raw      []byte
	userName string // as indexed (byUserName)
	empNum   string // as indexed (byEmpNum)
	created  time.Time
	modified time.Time
	version  int
}

// doc returns the stored document, decoded: a fresh tree the caller may
// change (and store back with setDoc).
func (u *user) doc() map[string]any {
	m, err := decodeObject(u.raw)
	if err != nil {
		panic(fmt.Sprintf("upsim: stored user %s does not decode: %v", u.id, err))
	}
	return m
}

// setDoc stores doc as u's document (indexes are the caller's business:
// see replaceDoc).
func (u *user) setDoc(doc map[string]any) {
	u.raw = mustJSON(doc)
	u.userName = docUserName(doc)
	u.empNum = docEmployeeNumber(doc)
}

func docUserName(doc map[string]any) string {
	s, _ := stringAt(doc, "userName")
	return s
}

func docEmployeeNumber(doc map[string]any) string {
	ent, _ := objectAt(doc, urnEnterprise)
	s, _ := stringAt(ent, "employeeNumber")
	return s
}

// newUUID returns a random (version 4 layout) UUID from rng. The caller
// holds s.mu.
func newUUID(hi, lo uint64) string {
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(0xc<<60) | 0x8<<60
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

func (s *Server) newUserID() string {
	for {
		id := newUUID(s.rngUser.Uint64(), s.rngUser.Uint64())
		if s.users[id] == nil {
			return id
		}
	}
}

// insertUser stores a new user. The caller holds s.mu and has checked
// uniqueness.
func (s *Server) insertUser(id string, doc map[string]any, now time.Time) *user {
	s.userSeq++
	u := &user{seq: s.userSeq, id: id, created: now, modified: now, version: 1}
	u.setDoc(doc)
	s.users[id] = u
	s.order = append(s.order, u) // seq only grows: still in order
	s.index(u)
	return u
}

func (s *Server) index(u *user) {
	if n := u.userName; n != "" {
		s.byUserName[strings.ToLower(n)] = u
	}
	if e := u.empNum; e != "" {
		s.byEmpNum[strings.ToLower(e)] = u
	}
}

func (s *Server) unindex(u *user) {
	if n := strings.ToLower(u.userName); s.byUserName[n] == u {
		delete(s.byUserName, n)
	}
	if e := strings.ToLower(u.empNum); s.byEmpNum[e] == u {
		delete(s.byEmpNum, e)
	}
}

// replaceDoc swaps u's document, keeping the indexes right, and bumps the
// version. The caller holds s.mu.
func (s *Server) replaceDoc(u *user, doc map[string]any, now time.Time) {
	s.unindex(u)
	u.setDoc(doc)
	s.index(u)
	u.version++
	u.modified = now
}

// sortedUsers returns every user in creation order, without sorting the
// company for each page of a listing. The slice is the server's: the
// caller holds s.mu and does not modify it.
func (s *Server) sortedUsers() []*user {
	if s.orderStale {
		kept := s.order[:0]
		for _, u := range s.order {
			if s.users[u.id] == u {
				kept = append(kept, u)
			}
		}
		clear(s.order[len(kept):])
		s.order, s.orderStale = kept, false
	}
	return s.order
}

const userTimeLayout = "2006-01-02T15:04:05.000000Z"

func (u *user) meta(base string) map[string]any {
	return map[string]any{
		"resourceType": "User",
		"created":      u.created.UTC().Format(userTimeLayout),
		"lastModified": u.modified.UTC().Format(userTimeLayout),
		"version":      fmt.Sprintf("W/%q", fmt.Sprint(u.version)),
		"location":     base + "/profile/identity/v4/Users/" + u.id,
	}
}

// schemasOf lists the schemas present in doc.
func schemasOf(doc map[string]any, identityOnly bool) []string {
	out := []string{urnCore}
	for _, urn := range append(slices.Clone(statusExtensions[1:]), urnSAP) {
		if identityOnly && !isIdentityURN(urn) {
			continue
		}
		if _, ok := objectAt(doc, urn); ok {
			out = append(out, urn)
		}
	}
	return out
}

// fullView is the stored user: every extension, id, schemas and meta.
func (u *user) fullView(base string) map[string]any {
	v := u.doc()
	v["schemas"] = schemasOf(v, false)
	v["id"] = u.id
	v["meta"] = u.meta(base)
	return v
}

// identityView is what the Identity service returns: core, enterprise and
// SAP attributes (no spend/travel extensions, no request-only entitlements).
func (u *user) identityView(base string) map[string]any {
	doc := u.doc()
	v := make(map[string]any, len(doc)+3)
	for k, e := range doc {
		if strings.HasPrefix(strings.ToLower(k), "urn:") && !isIdentityURN(k) {
			continue
		}
		if strings.EqualFold(k, "entitlements") {
			continue
		}
		v[k] = e
	}
	v["id"] = u.id
	v["schemas"] = schemasOf(doc, true)
	v["meta"] = u.meta(base)
	return v
}

// spendView is what GET /profile/spend/v4.1/Users/{id} returns.
func (u *user) spendView() map[string]any {
	schemas := []string{urnSpendResource}
	doc := u.doc()
	v := map[string]any{"id": u.id, "externalId": getCI(doc, "externalId"), "meta": nil}
	for _, urn := range statusExtensions {
		if urn == urnSpendUser || isSpendDependent(urn) {
			if ext, ok := objectAt(doc, urn); ok {
				schemas = append(schemas, urn)
				v[urn] = ext
			}
		}
	}
	v["schemas"] = schemas
	return v
}

// filterCtx is the object search filters are evaluated against.
func (u *user) filterCtx() map[string]any {
	v := u.doc()
	v["id"] = u.id
	v["meta"] = map[string]any{
		"created":      u.created.UTC().Format(userTimeLayout),
		"lastModified": u.modified.UTC().Format(userTimeLayout),
	}
	return v
}

// Seed stores pre-existing users (full SCIM resources, extensions
// included). A valid unused "id" is kept, otherwise one is assigned; meta is
// assigned. userName and employeeNumber are required and must be unique.
// Nothing is stored if any user is invalid.
func (s *Server) Seed(users ...json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	docs := make([]map[string]any, len(users))
	ids := make([]string, len(users))
	names := map[string]bool{}
	emps := map[string]bool{}
	for i, raw := range users {
		doc, err := decodeObject(raw)
		if err != nil {
			return fmt.Errorf("upsim: seed user %d: %v", i, err)
		}
		if id, ok := stringAt(doc, "id"); ok && id != "" && s.users[id] == nil {
			ids[i] = id
		}
		for _, k := range []string{"id", "meta", "schemas"} {
			deleteCI(doc, k)
		}
		// Nested core URN, if any, is flattened.
		if core, ok := objectAt(doc, urnCore); ok {
			deleteCI(doc, urnCore)
			for k, v := range core {
				doc[k] = v
			}
		}
		n, e := strings.ToLower(docUserName(doc)), strings.ToLower(docEmployeeNumber(doc))
		if n == "" || e == "" {
			return fmt.Errorf("upsim: seed user %d: userName and enterprise employeeNumber are required", i)
		}
		if names[n] || s.byUserName[n] != nil {
			return fmt.Errorf("upsim: seed user %d: userName %q already exists", i, docUserName(doc))
		}
		if emps[e] || s.byEmpNum[e] != nil {
			return fmt.Errorf("upsim: seed user %d: employeeNumber %q already exists", i, docEmployeeNumber(doc))
		}
		names[n], emps[e] = true, true
		docs[i] = doc
	}
	now := s.now()
	for i, doc := range docs {
		id := ids[i]
		if id == "" || s.users[id] != nil {
			id = s.newUserID()
		}
		s.insertUser(id, doc, now)
	}
	return nil
}

// Users returns every stored user (core + enterprise + spend + travel merged,
// with id, schemas and meta), in creation order. Due operations are
// processed first.
func (s *Server) Users() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.processDue(s.now())
	var out []json.RawMessage
	for _, u := range s.sortedUsers() {
		out = append(out, mustJSON(u.fullView(s.url)))
	}
	return out
}

// UserByEmployeeNumber returns the stored user with that employee number
// (case-insensitive).
func (s *Server) UserByEmployeeNumber(n string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.processDue(s.now())
	u := s.byEmpNum[strings.ToLower(n)]
	if u == nil {
		return nil, false
	}
	return mustJSON(u.fullView(s.url)), true
}

// UserByUserName returns the stored user with that userName
// (case-insensitive).
func (s *Server) UserByUserName(n string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.processDue(s.now())
	u := s.byUserName[strings.ToLower(n)]
	if u == nil {
		return nil, false
	}
	return mustJSON(u.fullView(s.url)), true
}
