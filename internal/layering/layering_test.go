// Package layering holds a test that keeps the project's imports pointing
// down the package diagram of STYLE.md §1.
package layering

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// allowed lists, for each package, the project packages its non-test files
// may import. A package missing from the map may not exist: add it here
// when it is created.
var allowed = map[string][]string{
	"muxproto":          {},
	"tracer":            {"muxproto"},
	"ekg":               {"muxproto"},
	"datapoint":         {"muxproto"},
	"naming":            {},
	"logging":           {"tracer"},
	"config":            {},
	"server":            {"muxproto", "tracer", "ekg", "datapoint", "logging", "config", "naming"},
	"internal/muxtest":  {"muxproto"},
	"internal/fakenode": {"muxproto", "tracer", "ekg", "datapoint"},
	"internal/loadgen":  {"muxproto", "tracer", "ekg", "datapoint", "internal/fakenode"},
	"internal/tailer":   {},
	"internal/layering": {},
	"integration":       {},
}

func TestImportsPointDown(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	const module = "muninn/"
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files here
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		may, known := allowed[rel]
		if strings.HasPrefix(rel, "cmd/") {
			return nil // commands wire everything together
		}
		if !known {
			t.Errorf("package %s is not in the layering table", rel)
			return nil
		}
		for _, imp := range pkg.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			target := strings.TrimPrefix(imp, module)
			ok := false
			for _, m := range may {
				ok = ok || m == target
			}
			if !ok {
				t.Errorf("%s imports %s, which is not below it", rel, target)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
