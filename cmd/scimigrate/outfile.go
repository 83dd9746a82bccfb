package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// outFile is an output file holding employee data (-o, --intents, report -o,
// apply's report). It is written to a private temporary file (mode 0600) in
// the destination's directory and renamed over the destination by Commit, so:
//
//   - the result is 0600 even when the destination existed with a wider mode;
//   - a symlink at the destination is replaced, never followed onto the file
//     it points at (rename acts on the link itself);
//   - a run that fails half way leaves the previous file, not a torn one.
//
// Close without Commit removes the temporary file.
type outFile struct {
	*os.File
	dest      string
	committed bool
}

// createOutput opens an output file for path. A destination that exists and
// is not a regular file or a symlink (a directory, a device, a FIFO) is an
// error: writing there is never what the operator meant.
func createOutput(path string) (*outFile, error) {
	if fi, err := os.Lstat(path); err == nil {
		if m := fi.Mode(); !m.IsRegular() && m&fs.ModeSymlink == 0 {
			return nil, fmt.Errorf("%s: exists and is not a regular file (%s)", path, m.Type())
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	// CreateTemp uses 0600 before the umask; make it exact.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &outFile{File: f, dest: path}, nil
}

// Commit flushes the file to disk and renames it over the destination.
func (o *outFile) Commit() error {
	if o.committed {
		return nil
	}
	if err := o.File.Sync(); err != nil {
		o.Close()
		return err
	}
	if err := o.File.Close(); err != nil {
		os.Remove(o.File.Name())
		return err
	}
	if err := os.Rename(o.File.Name(), o.dest); err != nil {
		os.Remove(o.File.Name())
		return err
	}
	o.committed = true
	return nil
}

// Close discards the file unless it was committed.
func (o *outFile) Close() error {
	if o.committed {
		return nil
	}
	o.File.Close()
	return os.Remove(o.File.Name())
}

// writeOutput writes data to path as createOutput does.
func writeOutput(path string, data []byte) error {
	f, err := createOutput(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}
