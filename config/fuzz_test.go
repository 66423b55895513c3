package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzConfigParse: Parse never panics, and returns exactly one of a
// configuration that passes Validate or an error made of *Problems that
// name the source.
func FuzzConfigParse(f *testing.F) {
	files, err := filepath.Glob(testdata("*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(DefaultFile())
	f.Fuzz(func(t *testing.T, data []byte) {
		c, ws, err := Parse(data, "fuzz.yaml", WithWorkDir(testWorkDir))
		for _, w := range ws {
			if w.Source != "fuzz.yaml" {
				t.Errorf("warning without source: %+v", w)
			}
		}
		if err != nil {
			if c != nil {
				t.Fatalf("both a config and an error: %v", err)
			}
			ps := Problems(err)
			if len(ps) == 0 {
				t.Fatalf("error holds no *Problem: %v", err)
			}
			for _, p := range ps {
				if p.Source != "fuzz.yaml" || p.Err == nil {
					t.Fatalf("problem without source or cause: %+v", p)
				}
			}
			return
		}
		if c == nil {
			t.Fatal("neither a config nor an error")
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
	})
}
