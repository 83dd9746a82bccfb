package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
)

// spoolStdin reads standard input once into a private temporary file (mode
// 0600) when the inputs name it ("-"), and returns options whose inputs
// read that file in its place each time they are opened, under the name
// standard input has in diagnostics: the live plan converts its input
// twice (the employees' IDs, then the plan). remove deletes the file; call
// it on every path out, an error or a cancelled run included. Without "-"
// (or when the inputs are given otherwise, as the demo's are) it returns co
// itself and a remove that does nothing.
func (co *convertOptions) spoolStdin(ctx context.Context, stdin io.Reader) (spooled *convertOptions, remove func(), err error) {
	if co.inputs != nil || co.stdinFile != "" || !slices.Contains(co.Files, "-") {
		return co, func() {}, nil
	}
	f, err := os.CreateTemp("", "scimigrate-stdin-*") // mode 0600
	if err != nil {
		return nil, nil, err
	}
	remove = func() { os.Remove(f.Name()) }
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, stdin})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		remove()
		return nil, nil, fmt.Errorf("reading standard input: %w", err)
	}
	// What was read is known by its hash, as an input file is: the
	// journal's run info records it (co is the command's options).
	co.stdinSHA256, co.stdinBytes = hex.EncodeToString(h.Sum(nil)), n
	sp := *co
	sp.stdinFile = f.Name()
	return &sp, remove, nil
}

// ctxReader stops reading once ctx is done (a signal while standard input
// is still arriving).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
