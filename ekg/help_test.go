package ekg_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"muninn/ekg"
)

func TestHelpLookup(t *testing.T) {
	t.Parallel()
	h := ekg.NewHelp(map[string]string{
		"Mem.resident": "Kernel-reported RSS",
		"blockNum":     "Number of blocks in this chain fragment.",
		"block":        "any block metric (a short key: quirk)",
		"a":            "the letter a",
		"Z":            "upper case sorts first",
		"empty":        "",
	})
	if h.Len() != 5 {
		t.Errorf("Len = %d, want 5 (empty texts dropped)", h.Len())
	}
	// Keys in code-point order: "Mem.resident", "Z", "a", "block",
	// "blockNum". The first one inside the name wins.
	for _, tc := range []struct {
		name, want string
	}{
		{"cardano.node.metrics.Mem.resident_int", "Kernel-reported RSS"},
		{"cardano.node.metrics.blockNum_int", "the letter a"}, // quirk: "a" is inside "cardano"
		{"blockNum", "any block metric (a short key: quirk)"}, // quirk: "block" sorts before "blockNum"
		{"Mem.resident", "Kernel-reported RSS"},
		{"xblockx", "any block metric (a short key: quirk)"},
		{"ZZ", "upper case sorts first"},
		{"rts.gc.num_gcs", ""},
		{"mem.resident", ""}, // case-sensitive
		{"empty", ""},        // an empty text is no entry
	} {
		for range 2 { // computed, then from the cache
			got, ok := h.Lookup(tc.name)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("Lookup(%q) = %q, %v; want %q", tc.name, got, ok, tc.want)
			}
		}
	}
}

func TestHelpNil(t *testing.T) {
	t.Parallel()
	var h *ekg.Help
	if _, ok := h.Lookup("x"); ok || h.Len() != 0 {
		t.Error("a nil Help has entries")
	}
	if _, ok := ekg.NewHelp(nil).Lookup("x"); ok {
		t.Error("an empty Help has entries")
	}
}

func TestHelpCacheBound(t *testing.T) {
	t.Parallel()
	h := ekg.NewHelp(map[string]string{"7": "seven"})
	for i := range 1<<16 + 100 { // past the cache bound, lookups still answer
		name := fmt.Sprint(i)
		_, ok := h.Lookup(name)
		if want := containsByte(name, '7'); ok != want {
			t.Fatalf("Lookup(%q) = %v", name, ok)
		}
	}
}

func containsByte(s string, c byte) bool {
	for i := range len(s) {
		if s[i] == c {
			return true
		}
	}
	return false
}

func TestHelpConcurrent(t *testing.T) {
	t.Parallel()
	h := ekg.NewHelp(map[string]string{"x": "ex"})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				name := fmt.Sprintf("m%d.%d", g%2, i%300)
				if _, ok := h.Lookup(name + "x"); !ok {
					t.Errorf("Lookup(%q) misses", name+"x")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestLoadHelp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "help.json")
	if err := os.WriteFile(good, []byte(`{"Mem.resident":"Kernel-reported RSS","x":""}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := ekg.LoadHelp(good)
	if err != nil {
		t.Fatal(err)
	}
	if txt, ok := h.Lookup("cardano.node.metrics.Mem.resident_int"); !ok || txt != "Kernel-reported RSS" || h.Len() != 1 {
		t.Errorf("Lookup = %q, %v; Len %d", txt, ok, h.Len())
	}
	if _, err := ekg.LoadHelp(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	for _, body := range []string{`{"a":`, `["a"]`, `{"a":1}`} {
		bad := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(bad, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ekg.LoadHelp(bad); err == nil {
			t.Errorf("LoadHelp accepted %s", body)
		}
	}
}
