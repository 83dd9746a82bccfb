package source

import (
	"fmt"
	"io"
	"strings"
)

// DefaultEchoLimit is how many diagnostics of one cause a tool echoes.
const DefaultEchoLimit = 20

// Echo writes diagnostics to a stream, at most Limit of each cause: a
// diagnostic's Rule, or for one without a rule its severity, field and
// message with quoted values and numbers left out (so "unknown record type
// \"x\"" and "unknown record type \"y\"" are one cause). Flush then says how
// many of each cause were not shown. Whoever counts or journals
// diagnostics still gets every one; only the echo is capped.
type Echo struct {
	w     io.Writer
	limit int // < 0: no limit
	n     map[string]*echoed
	order []string
}

type echoed struct {
	shown, hidden int
	first         Diagnostic // first hidden one
}

// NewEcho returns an Echo writing to w; limit 0 is DefaultEchoLimit, a
// negative limit shows everything.
func NewEcho(w io.Writer, limit int) *Echo {
	if limit == 0 {
		limit = DefaultEchoLimit
	}
	return &Echo{w: w, limit: limit, n: map[string]*echoed{}}
}

// Write echoes d unless its cause has reached the limit.
func (e *Echo) Write(d Diagnostic) {
	if e.limit < 0 {
		fmt.Fprintln(e.w, d.String())
		return
	}
	k := cause(d)
	c := e.n[k]
	if c == nil {
		c = &echoed{}
		e.n[k] = c
		e.order = append(e.order, k)
	}
	if c.shown < e.limit {
		c.shown++
		fmt.Fprintln(e.w, d.String())
		return
	}
	if c.hidden == 0 {
		c.first = d
	}
	c.hidden++
}

// Flush writes one line per cause with hidden diagnostics and resets.
func (e *Echo) Flush() {
	for _, k := range e.order {
		c := e.n[k]
		if c.hidden == 0 {
			continue
		}
		d := c.first
		what := "of this kind"
		if d.Rule != "" {
			what = "of rule " + d.Rule
		}
		fmt.Fprintf(e.w, "%s:%d:%d: %s: … and %d more %s(s) %s, from here on, not shown (the summary counts them)\n",
			d.File, d.Line, max(d.Col, 1), d.Severity, c.hidden, d.Severity, what)
	}
	e.n, e.order = map[string]*echoed{}, nil
}

// cause is the key diagnostics are capped by.
func cause(d Diagnostic) string {
	if d.Rule != "" {
		return d.Severity.String() + "\x00" + d.Rule
	}
	var b strings.Builder
	b.WriteString(d.Severity.String())
	b.WriteByte(0)
	b.WriteString(d.Field)
	b.WriteByte(0)
	inQuote, digits := false, false
	for _, r := range d.Msg {
		switch {
		case r == '"':
			inQuote = !inQuote
			if inQuote {
				b.WriteString(`""`)
			}
		case inQuote:
		case r >= '0' && r <= '9':
			if !digits {
				b.WriteByte('#')
			}
			digits = true
			continue
		default:
			b.WriteRune(r)
		}
		digits = false
	}
	return b.String()
}
