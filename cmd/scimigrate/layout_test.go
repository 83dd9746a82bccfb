package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stageOf is the pipeline stage of a package directory: data flows read →
// map → convert → plan/pack/send/track → report, and a package may import
// only packages of its own stage or an earlier one. The SCIM vocabulary
// (scim, scim/scimpath, scim/schema) is the bottom every stage shares. The
// simulator (upsim) is a room of its own: it imports nothing of the project,
// so that it stays an independent second implementation. Fixtures are data.
func stageOf(dir string) (stage int, ok bool) {
	top, _, _ := strings.Cut(dir, "/")
	switch top {
	case "scim":
		return 0, true
	case "mapping":
		return 1, true
	case "converter":
		return 2, true
	case "batcher":
		return 3, true
	case "cmd":
		return 4, true
	}
	return 0, false
}

// TestImportsRunOneWay parses every Go file of the module (tests included)
// and fails on any import of a later stage, on any import of the simulator
// by non-test code below cmd, and on any import of the project by the
// simulator or the fixtures.
func TestImportsRunOneWay(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	arrows := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		test := strings.HasSuffix(path, "_test.go")
		from, fromStaged := stageOf(rel)
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			dep, ok := strings.CutPrefix(p, "scimigrate/")
			if !ok {
				continue
			}
			arrows++
			top, _, _ := strings.Cut(rel, "/")
			depTop, _, _ := strings.Cut(dep, "/")
			switch {
			case top == "upsim" || top == "fixtures":
				if depTop != top {
					t.Errorf("%s imports %s: %s/ imports nothing of the project", path, p, top)
				}
			case depTop == "upsim":
				if !test && top != "cmd" {
					t.Errorf("%s imports the simulator outside a test", path)
				}
			case depTop == "fixtures":
				// data: anyone may read the fixtures
			case fromStaged:
				to, ok := stageOf(dep)
				if !ok {
					t.Errorf("%s imports %s, which has no stage", path, p)
				} else if to > from {
					t.Errorf("%s (stage %d) imports %s (stage %d): an earlier stage never imports a later one", path, from, p, to)
				}
			default:
				t.Errorf("%s: directory %s has no stage", path, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if arrows < 50 {
		t.Fatalf("only %d project imports seen: is the walk reading the module?", arrows)
	}
}
