package upsim

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// faultDecision is what the fault injector decided for one request.
type faultDecision struct {
	status     int           // 429, 502, 503 or 504 to answer instead of handling; 0 = none
	retryAfter string        // Retry-After header for status, "" = none
	slow       time.Duration // delay before handling
	expire     bool          // answer 401 if the token is otherwise valid
	drop       bool          // drop the connection after an accepted Bulk
}

// decideFaults draws a fixed number of values per request so that the
// sequence of decisions depends only on the seed and the order of requests.
func (s *Server) decideFaults(isToken bool) *faultDecision {
	f := s.opts.Faults
	s.mu.Lock()
	fd := s.drawFaults(f, isToken)
	s.mu.Unlock()
	if fd.status != 0 {
		s.logf("upsim: fault: %d (Retry-After %q)", fd.status, fd.retryAfter)
	}
	return fd
}

// drawFaults does the drawing for decideFaults. The caller holds s.mu.
func (s *Server) drawFaults(f Faults, isToken bool) *faultDecision {
	var u [7]float64
	for i := range u {
		u[i] = s.rngFault.Float64()
	}
	fd := &faultDecision{}
	if u[2] < f.Slow && f.SlowDelay > 0 && s.takeFault(&s.stats.Slowed) {
		fd.slow = f.SlowDelay
	}
	switch {
	case u[0] < f.RateLimit && s.takeFault(&s.stats.RateLimited):
		fd.status = http.StatusTooManyRequests
		secs := int(u[5] * float64(f.RetryAfterMax+1))
		if secs > f.RetryAfterMax {
			secs = f.RetryAfterMax
		}
		if u[6] < 0.25 {
			// HTTP-date form (wall clock: the client compares it with its
			// own); one extra second because the date has one-second
			// resolution.
			fd.retryAfter = time.Now().Add(time.Duration(secs+1) * time.Second).UTC().Format(http.TimeFormat)
		} else {
			fd.retryAfter = strconv.Itoa(secs)
		}
	case u[1] < f.Unavailable && s.takeFault(&s.stats.Unavailable):
		switch {
		case u[5] < 0.7:
			fd.status = http.StatusServiceUnavailable
			if u[6] < 0.5 {
				fd.retryAfter = "0"
			}
		case u[5] < 0.85:
			fd.status = http.StatusBadGateway
		default:
			fd.status = http.StatusGatewayTimeout
		}
	}
	if !isToken {
		fd.expire = u[3] < f.ExpireTokens
		fd.drop = u[4] < f.DropAfterAccept
	}
	return fd
}

// takeFault consumes one unit of the fault budget and bumps counter. The
// caller holds s.mu.
func (s *Server) takeFault(counter *int) bool {
	if m := s.opts.Faults.MaxFaults; m > 0 && s.stats.FaultsInjected >= m {
		return false
	}
	s.stats.FaultsInjected++
	*counter++
	return true
}

func (s *Server) writeFault(w http.ResponseWriter, fd *faultDecision) {
	if fd.retryAfter != "" {
		w.Header().Set("Retry-After", fd.retryAfter)
	}
	switch fd.status {
	case http.StatusTooManyRequests:
		writeSCIMError(w, fd.status, "", "Too Many Requests", "", "")
	case http.StatusServiceUnavailable:
		writeSCIMError(w, fd.status, "", "Service Unavailable", "", "")
	default:
		// Gateways answer with HTML, not JSON.
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(fd.status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", fd.status, http.StatusText(fd.status))
	}
}

// dropConnection closes the client connection without writing a response.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
