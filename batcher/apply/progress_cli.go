package apply

import (
	"io"
	"time"
)

// NewProgressFor is NewProgress for a caller that already knows whether w
// is a terminal (the CLI detects it once for every command): a progress bar
// on a terminal, otherwise a plain line every interval plus one at the end.
func NewProgressFor(w io.Writer, terminal bool, interval time.Duration) Progress {
	if terminal {
		return &barProgress{w: w}
	}
	return NewLineProgress(w, interval)
}
