package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateOutput(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir, dest string) // prepares the destination
		check func(t *testing.T, dir, dest string) // after a committed write of "new"
	}{
		{
			name:  "new file is 0600",
			setup: func(*testing.T, string, string) {},
		},
		{
			name: "existing 0644 file becomes 0600",
			setup: func(t *testing.T, _, dest string) {
				if err := os.WriteFile(dest, []byte("old"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dest, 0o644); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "symlink is replaced, its target untouched",
			setup: func(t *testing.T, dir, dest string) {
				victim := filepath.Join(dir, "victim")
				if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(victim, dest); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, dir, _ string) {
				got, err := os.ReadFile(filepath.Join(dir, "victim"))
				if err != nil || string(got) != "precious" {
					t.Errorf("symlink target changed: %q, %v", got, err)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "out.csv")
			c.setup(t, dir, dest)
			if err := writeOutput(dest, []byte("new")); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(dest)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want a regular file with 0600", fi.Mode())
			}
			if got, _ := os.ReadFile(dest); string(got) != "new" {
				t.Errorf("content %q", got)
			}
			if c.check != nil {
				c.check(t, dir, dest)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if e.Name() != "out.csv" && e.Name() != "victim" {
					t.Errorf("left behind: %s", e.Name())
				}
			}
		})
	}
}

func TestCreateOutputDiscardedWithoutCommit(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.ndjson")
	if err := os.WriteFile(dest, []byte("previous run"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := createOutput(dest)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("half")
	f.Close()
	if got, _ := os.ReadFile(dest); string(got) != "previous run" {
		t.Errorf("an uncommitted output replaced the file: %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary file left behind: %v", entries)
	}
}

func TestCreateOutputRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := createOutput(dir); err == nil {
		t.Error("a directory as output file was accepted")
	}
}

// TestOutputFilesNeverFollowSymlinks runs convert -o and --intents onto
// symlinks and onto a pre-existing 0644 file: the link's target is left
// alone and every output ends up a private regular file.
func TestOutputFilesNeverFollowSymlinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "users.ndjson")
	if err := os.Symlink(victim, out); err != nil {
		t.Fatal(err)
	}
	intents := filepath.Join(dir, "intents.ndjson")
	if err := os.WriteFile(intents, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(intents, 0o644)
	sample, _ := filepath.Abs("../../fixtures/flat/sample.txt")
	config, _ := filepath.Abs("../../fixtures/flat/config.yaml")
	r := runCLI(t, ".", "convert", "--config", config, "-o", out, "--intents", intents, sample)
	if r.code != 1 { // the sample has one rejected employee
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(victim); string(got) != "precious" {
		t.Errorf("convert -o wrote through a symlink onto another file")
	}
	for _, p := range []string{out, intents} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want a regular 0600 file", filepath.Base(p), fi.Mode())
		}
	}
	if data, _ := os.ReadFile(out); !strings.Contains(string(data), `"userName"`) {
		t.Errorf("no users written: %q", data)
	}
}
