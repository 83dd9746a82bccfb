package upsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Server is a UPS v4 simulator. All methods are safe for concurrent use.
type Server struct {
	opts Options

	mu       sync.Mutex
	rngFault *rand.Rand // fault decisions
	rngUser  *rand.Rand // user ids, in processing order
	rngProv  *rand.Rand // provision ids, in acceptance order
	rngToken *rand.Rand // access and refresh tokens

	users      map[string]*user // by id
	byUserName map[string]*user // lower-case userName
	byEmpNum   map[string]*user // lower-case employeeNumber
	userSeq    int64
	// order is every stored user in creation (seq) order, kept as users
	// are inserted; a deletion marks it for compaction (sortedUsers).
	order      []*user
	orderStale bool

	provisions map[string]*provision
	provOrder  []*provision
	queue      []queued // operations not yet processed, in acceptance order

	tokens        map[string]time.Time // issued access token → expiry
	refreshTokens map[string]bool
	corrSeq       uint64

	stats Stats

	url       string // set when the server listens
	mux       *http.ServeMux
	ts        *httptest.Server
	closing   chan struct{}
	closeOnce sync.Once
}

// New returns a simulator that is not listening; serve Handler() yourself.
func New(opts Options) *Server {
	o := opts.withDefaults()
	seed := uint64(o.Seed)
	s := &Server{
		opts:          o,
		rngFault:      rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		rngUser:       rand.New(rand.NewPCG(seed, 0xbf58476d1ce4e5b9)),
		rngProv:       rand.New(rand.NewPCG(seed, 0x94d049bb133111eb)),
		rngToken:      rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d)),
		users:         map[string]*user{},
		byUserName:    map[string]*user{},
		byEmpNum:      map[string]*user{},
		provisions:    map[string]*provision{},
		tokens:        map[string]time.Time{},
		refreshTokens: map[string]bool{},
		closing:       make(chan struct{}),
	}
	if o.RefreshToken != "" {
		s.refreshTokens[o.RefreshToken] = true
	}
	s.mux = s.routes()
	return s
}

// NewServer starts a simulator on a loopback port (httptest.NewServer).
func NewServer(opts Options) *Server {
	s := New(opts)
	s.ts = httptest.NewServer(s.Handler())
	s.mu.Lock()
	s.url = s.ts.URL
	s.mu.Unlock()
	return s
}

// URL is the base URL (the "datacenter URI") of a started server, or "".
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Handler serves every simulated endpoint.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Close stops a started server, aborts pending slow responses and waits for
// in-flight requests. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		if s.ts != nil {
			s.ts.Close()
		}
	})
}

// ListenAndServe runs a simulator on addr until ctx is cancelled; it is what
// `scimigrate simulate --listen ADDR` runs. The listening URL is reported
// through opts.Logf.
func ListenAndServe(ctx context.Context, addr string, opts Options) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return New(opts).Serve(ctx, ln)
}

// Serve serves s on ln until ctx is cancelled, then shuts down gracefully
// (aborting slow responses) and returns nil. ln is closed on return. Use it
// instead of ListenAndServe to keep access to Stats, Users and Seed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	u := "http://" + ln.Addr().String()
	s.mu.Lock()
	s.url = u
	s.mu.Unlock()
	s.logf("upsim: listening on %s", u)
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	if errors.Is(err, context.DeadlineExceeded) {
		_ = srv.Close()
		err = nil
	}
	return err
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.processDue(s.now())
	return s.stats
}

// CompletePending processes every accepted operation now, regardless of
// CompletionDelay.
func (s *Server) CompletePending() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.processAll(s.now())
}

func (s *Server) now() time.Time { return s.opts.Clock() }

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

const tokenPath = "/oauth2/v0/token"

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("POST "+tokenPath, s.handleToken)
	m.HandleFunc("POST /profile/v4/Bulk", s.handleBulk)
	m.HandleFunc("POST /profile/v4/Bulk/{$}", s.handleBulk)
	m.HandleFunc("GET /profile/v4/provisions/{id}/status", s.handleStatus)
	m.HandleFunc("GET /profile/v4/provisions/{id}/status/{$}", s.handleStatus)
	m.HandleFunc("GET /profile/identity/v4/Users", s.handleIdentityV4List)
	m.HandleFunc("GET /profile/identity/v4/Users/{$}", s.handleIdentityV4List)
	m.HandleFunc("GET /profile/identity/v4/Users/{id}", s.handleIdentityUser)
	m.HandleFunc("GET /profile/identity/v4.1/Users", s.handleIdentityV41List)
	m.HandleFunc("GET /profile/identity/v4.1/Users/{$}", s.handleIdentityV41List)
	m.HandleFunc("POST /profile/identity/v4.1/Users/.search", s.handleSearch)
	m.HandleFunc("GET /profile/identity/v4.1/Users/{id}", s.handleIdentityUser)
	m.HandleFunc("GET /profile/spend/v4.1/Users/{id}", s.handleSpendUser)
	m.HandleFunc("GET /profile/travel/v4/Users/{id}", s.handleTravelUser)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeSCIMError(w, http.StatusNotFound, "", "No resource at "+r.Method+" "+r.URL.Path, "NOT_FOUND", "")
	})
	return m
}

type ctxKey int

const (
	faultsKey ctxKey = iota
	bodyKey
)

// reqBody is the buffered request body; tooLarge is set when it exceeded
// MaxBytes (the excess was drained, not kept).
type reqBody struct {
	data     []byte
	tooLarge bool
}

func bodyOf(r *http.Request) *reqBody {
	if b, ok := r.Context().Value(bodyKey).(*reqBody); ok {
		return b
	}
	return &reqBody{}
}

func faultsOf(r *http.Request) *faultDecision {
	if f, ok := r.Context().Value(faultsKey).(*faultDecision); ok {
		return f
	}
	return &faultDecision{}
}

// maxDrain bounds how much of an oversized body is read and discarded so the
// client still receives the 413 instead of a reset connection.
const maxDrain = 64 << 20

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	s.corrSeq++
	corr := r.Header.Get("concur-correlationid")
	if corr == "" {
		corr = fmt.Sprintf("00000000-0000-4000-8000-%012x", s.corrSeq)
	}
	s.processDue(s.now())
	s.mu.Unlock()
	w.Header().Set("concur-correlationid", corr)

	// Buffer the body (bounded) so that every answer, including faults and
	// 413, is sent after the request was fully read.
	rb := &reqBody{}
	if r.Body != nil {
		data, err := io.ReadAll(io.LimitReader(r.Body, int64(s.opts.MaxBytes)+1))
		if err != nil {
			return // client went away
		}
		if len(data) > s.opts.MaxBytes {
			rb.tooLarge = true
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDrain))
			data = nil
		}
		rb.data = data
	}
	ctx := context.WithValue(r.Context(), bodyKey, rb)

	isToken := r.URL.Path == tokenPath
	fd := &faultDecision{}
	if !isToken || s.opts.Faults.TokenEndpoint {
		fd = s.decideFaults(isToken)
	}
	ctx = context.WithValue(ctx, faultsKey, fd)
	r = r.WithContext(ctx)

	if fd.slow > 0 {
		t := time.NewTimer(fd.slow)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-s.closing:
			t.Stop()
			writeSCIMError(w, http.StatusServiceUnavailable, "", "Simulator shutting down", "", "")
			return
		}
	}
	if fd.status != 0 {
		s.writeFault(w, fd)
		return
	}
	if !isToken {
		if reason, injected := s.authorize(r, fd); reason != "" {
			if injected {
				s.logf("upsim: fault: token expired on %s %s", r.Method, r.URL.Path)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="concur", error="invalid_token"`)
			writeSCIMError(w, http.StatusUnauthorized, "", "Unauthorized: "+reason, "UNAUTHORIZED", "")
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// authorize checks the bearer token; it returns "" when the request may
// proceed, else the reason for the 401 and whether it is an injected fault.
func (s *Server) authorize(r *http.Request, fd *faultDecision) (reason string, injected bool) {
	h := r.Header.Get("Authorization")
	const pfx = "bearer "
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(h) <= len(pfx) || !strings.EqualFold(h[:len(pfx)], pfx) {
		s.stats.Unauthorized++
		return "missing bearer token", false
	}
	tok := strings.TrimSpace(h[len(pfx):])
	static := s.opts.AccessToken != "" && tok == s.opts.AccessToken
	exp, issued := s.tokens[tok]
	switch {
	case issued && !s.now().Before(exp):
		delete(s.tokens, tok)
		reason = "access token expired"
	case !issued && !static:
		reason = "invalid access token"
	case fd.expire && (issued || s.opts.ExpireStaticTokens) && s.takeFault(&s.stats.TokensExpired):
		if issued {
			delete(s.tokens, tok)
		}
		reason, injected = "access token expired", true
	}
	if reason != "" {
		s.stats.Unauthorized++
	}
	return reason, injected
}

// isJSONContentType accepts an absent Content-Type and JSON media types.
func isJSONContentType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "application/scim+json" || strings.HasSuffix(mt, "+json")
}

// Wire bodies.

type message struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	SchemaPath string `json:"schemaPath,omitempty"`
	Type       string `json:"type"`
}

type concurMessages struct {
	Messages []message `json:"messages"`
}

type scimErrorBody struct {
	Schemas  []string        `json:"schemas"`
	Status   string          `json:"status"`
	ScimType string          `json:"scimType,omitempty"`
	Detail   string          `json:"detail,omitempty"`
	Concur   *concurMessages `json:"urn:ietf:params:scim:api:messages:concur:2.0:Error,omitempty"`
}

// writeSCIMError writes a SCIM/Concur error body; status is rendered as a
// string as UPS does.
func writeSCIMError(w http.ResponseWriter, status int, scimType, detail, code, schemaPath string) {
	body := scimErrorBody{
		Schemas:  []string{urnError},
		Status:   fmt.Sprint(status),
		ScimType: scimType,
		Detail:   detail,
	}
	if code != "" {
		body.Schemas = append(body.Schemas, urnConcurError)
		body.Concur = &concurMessages{Messages: []message{{Code: code, Message: detail, SchemaPath: schemaPath, Type: "error"}}}
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// baseURL is the datacenter URI the client used for this request.
func (s *Server) baseURL(r *http.Request) string {
	if r != nil && r.Host != "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		return scheme + "://" + r.Host
	}
	return s.url
}
