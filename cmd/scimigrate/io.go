package main

import (
	"io"
	"os"
	"sync"

	"scimigrate/batcher/apply"
)

// IO is what a command reads and writes (gh's IOStreams, reduced): the
// streams, whether they are terminals (detected once, in main), and the
// environment (credentials, NO_COLOR). Tests build one over buffers.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	// OutTTY and ErrTTY say whether Out and Err are terminals: colour in
	// the plan on Out, a progress bar instead of progress lines on Err.
	OutTTY, ErrTTY bool
	// Env reads the environment (os.Getenv unless a test or the demo sets
	// it): SCIMIGRATE_* credentials, NO_COLOR, TERM.
	Env func(string) string
}

// systemIO is the process's streams and environment; the only place the
// CLI asks whether a stream is a terminal.
func systemIO() *IO {
	return &IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		OutTTY: apply.IsTerminal(os.Stdout), ErrTTY: apply.IsTerminal(os.Stderr), Env: os.Getenv}
}

func (s *IO) getenv(k string) string {
	if s.Env == nil {
		return os.Getenv(k)
	}
	return s.Env(k)
}

// Color reports whether Out may carry colour: a terminal, and neither
// NO_COLOR set nor TERM=dumb.
func (s *IO) Color() bool {
	return s.OutTTY && s.getenv("NO_COLOR") == "" && s.getenv("TERM") != "dumb"
}

// withStreams returns a copy of s writing to out and err (terminal flags
// cleared: buffers are not terminals).
func (s *IO) withStreams(out, err io.Writer) *IO {
	c := *s
	c.Out, c.OutTTY = out, false
	if err != s.Err {
		c.Err, c.ErrTTY = err, false
	}
	return &c
}

// serialized returns s with Out and Err safe for concurrent writers: apply
// writes progress lines from one goroutine while the client logs retries
// from others. Each Write is whole (a line is never cut by another).
func (s *IO) serialized() *IO {
	c := *s
	if _, ok := c.Out.(*lockedWriter); !ok && c.Out != nil {
		c.Out = &lockedWriter{w: c.Out}
	}
	if _, ok := c.Err.(*lockedWriter); !ok && c.Err != nil {
		c.Err = &lockedWriter{w: c.Err}
	}
	return &c
}

// lockedWriter serializes the writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
