package logging

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"muninn/tracer"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGolden fixes the exact bytes of a ForMachine and a ForHuman file
// after two batches, including a multi-line toHuman and an object without
// one.
func TestGolden(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	clock := newClock("2026-07-23T08:56:07.25Z")
	w := newWriter(t, Config{
		Entries: []Entry{{Root: root, Format: ForMachine}, {Root: root, Format: ForHuman}},
		Now:     clock.Now,
	})
	n := openNode(t, w, "relay1_3001")
	write(t, n, t13Object(), t14Object())
	write(t, n, multiLineObject(), t14Object(), t13Object())

	dir := filepath.Join(root, "relay1_3001")
	for _, tc := range []struct{ ext, golden string }{
		{"json", "machine.golden"},
		{"log", "human.golden"},
	} {
		got := readFile(t, filepath.Join(dir, "node-2026-07-23T08-56-07."+tc.ext))
		path := filepath.Join("testdata", tc.golden)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want := readFile(t, path)
		if got != want {
			t.Errorf("%s differs from %s:\ngot:\n%s\nwant:\n%s", tc.ext, path, got, want)
		}
		if !strings.HasSuffix(got, "\n") || strings.HasPrefix(got, "\n") {
			t.Errorf("%s: every line must end with a newline and the file must not start with one", tc.ext)
		}
	}
}

func TestLayout(t *testing.T) {
	t.Parallel()
	root, root2 := t.TempDir(), t.TempDir()
	clock := newClock("2026-07-23T08:56:07.999Z")
	w := newWriter(t, Config{
		Entries: []Entry{
			{Root: root, Format: ForHuman},
			{Root: root, Format: ForMachine},
			{Root: root2, Format: ForMachine},
			{Root: root + "/", Format: ForMachine}, // same entry again: written once
		},
		Now: clock.Now,
	})
	n := openNode(t, w, "relay1_3001")
	write(t, n, t13Object(), t14Object())

	const name = "node-2026-07-23T08-56-07"
	dir, dir2 := filepath.Join(root, "relay1_3001"), filepath.Join(root2, "relay1_3001")
	if got, want := dirNames(t, dir), []string{name + ".json", name + ".log", "node.json", "node.log"}; !slices.Equal(got, want) {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
	if got, want := dirNames(t, dir2), []string{name + ".json", "node.json"}; !slices.Equal(got, want) {
		t.Errorf("%s holds %q, want %q", dir2, got, want)
	}
	checkLink(t, dir, "json", name+".json")
	checkLink(t, dir, "log", name+".log")
	checkLink(t, dir2, "json", name+".json")
	if got, want := readFile(t, filepath.Join(dir, name+".json")), t13Machine+"\n"+t14Machine+"\n"; got != want {
		t.Errorf("json file = %q, want %q", got, want)
	}
	if got, want := readFile(t, filepath.Join(dir, name+".log")), "Chain extended, new tip: 0a1b2c\n"+t14Machine+"\n"; got != want {
		t.Errorf("log file = %q, want %q", got, want)
	}
	for _, p := range []string{dir, filepath.Join(dir, name+".json")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		max := os.FileMode(0o644)
		if fi.IsDir() {
			max = 0o755
		}
		if fi.Mode().Perm()&^max != 0 {
			t.Errorf("%s has mode %v, want at most %v", p, fi.Mode().Perm(), max)
		}
	}
	if st := n.Stats(); st.Batches != 1 || st.Objects != 2 || st.FilesOpened != 3 ||
		st.Bytes != uint64(2*len(t13Machine)+len("Chain extended, new tip: 0a1b2c")+3*len(t14Machine)+6) {
		t.Errorf("Stats = %+v", st)
	}
}

// TestSameSecond: a reconnect within one second gets the next second's
// name instead of truncating the earlier file.
func TestSameSecond(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	clock := newClock("2026-07-23T08:56:07Z")
	w := newWriter(t, Config{Entries: []Entry{{Root: root, Format: ForMachine}}, Now: clock.Now})
	a := openNode(t, w, "n")
	write(t, a, t13Object())
	b := openNode(t, w, "n")
	write(t, b, t14Object())
	write(t, a, t14Object()) // a keeps its own file

	dir := filepath.Join(root, "n")
	files := logFiles(t, dir, "json")
	want := []string{"node-2026-07-23T08-56-07.json", "node-2026-07-23T08-56-08.json"}
	if !slices.Equal(files, want) {
		t.Fatalf("files %q, want %q", files, want)
	}
	if got := readFile(t, filepath.Join(dir, want[0])); got != t13Machine+"\n"+t14Machine+"\n" {
		t.Errorf("first file = %q", got)
	}
	if got := readFile(t, filepath.Join(dir, want[1])); got != t14Machine+"\n" {
		t.Errorf("second file = %q", got)
	}
	checkLink(t, dir, "json", want[1])
	if tmp := filepath.Join(dir, "node.json.tmp"); fileExists(tmp) {
		t.Errorf("%s left behind", tmp)
	}
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// TestNoEmptyFiles: nothing touches the disk before a non-empty batch.
func TestNoEmptyFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	w := newWriter(t, Config{Entries: []Entry{{Root: root, Format: ForMachine}}})
	n := openNode(t, w, "n")
	write(t, n)
	write(t, n, []tracer.TraceObject{}...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.Write(ctx, []tracer.TraceObject{t13Object()}); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with a cancelled context = %v, want context.Canceled", err)
	}
	if names := dirNames(t, root); len(names) != 0 {
		t.Errorf("root holds %q, want nothing", names)
	}
}

func TestCloseIdempotent(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	w, err := New(Config{Entries: []Entry{{Root: root, Format: ForMachine}},
		Rotation: &Rotation{Frequency: time.Hour, LimitBytes: 1 << 20, KeepFiles: 1, MaxAge: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := w.Open(Node{Name: "n", Dir: "n"})
	if err != nil {
		t.Fatal(err)
	}
	write(t, n, t13Object())
	for range 2 {
		if err := n.Close(); err != nil {
			t.Errorf("NodeLog.Close: %v", err)
		}
	}
	if err := n.Write(context.Background(), []tracer.TraceObject{t13Object()}); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	for range 2 {
		if err := w.Close(); err != nil {
			t.Errorf("Writer.Close: %v", err)
		}
	}
	if _, err := w.Open(Node{Name: "m", Dir: "m"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Open after Close = %v, want ErrClosed", err)
	}
}

func TestHostileDir(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	root := filepath.Join(parent, "logs")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, Config{Entries: []Entry{{Root: root, Format: ForMachine}}})
	for _, dir := range []string{"../x", "a/b", "", ".", "..", "/abs", "x/..", "a\x00b", "../logs2"} {
		if _, err := w.Open(Node{Name: "evil", Dir: dir}); !errors.Is(err, ErrInvalidDir) {
			t.Errorf("Open(Dir %q) = %v, want ErrInvalidDir", dir, err)
		}
	}
	// Unusual but legal single components stay inside root.
	for _, dir := range []string{"...", "a..b", "node.json", "-"} {
		n := openNode(t, w, dir)
		write(t, n, t14Object())
	}
	if got := dirNames(t, parent); !slices.Equal(got, []string{"logs"}) {
		t.Errorf("parent holds %q, want only the root", got)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{Entries: []Entry{{Root: "relative", Format: ForMachine}}},
		{Entries: []Entry{{Root: "/abs", Format: 7}}},
		{Entries: []Entry{{Root: "/abs", Mode: 9}}},
		{Entries: []Entry{{Root: "/abs"}}, Rotation: &Rotation{}},
		{Entries: []Entry{{Root: "/abs"}}, RetryMin: time.Second, RetryMax: time.Millisecond},
	} {
		if w, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
			w.Close()
		}
	}
}

func TestParseLogName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, ext string
		ok        bool
	}{
		{"node-2026-07-23T08-56-07.json", "json", true},
		{"node-2026-07-23T08-56-07.log", "log", true},
		{"node-2026-07-23T08-56-07.log", "json", false},
		{"node-2026-07-23T08-56-07.json.gz", "json", false},
		{"node-2026-7-23T08-56-07.json", "json", false},
		{"node-2026-07-23T08:56:07.json", "json", false},
		{"node-2026-02-30T08-56-07.json", "json", false},
		{"node.json", "json", false},
		{"node.json.tmp", "json", false},
		{"xode-2026-07-23T08-56-07.json", "json", false},
		{"node-garbage-garbage-gar.json", "json", false},
	} {
		if _, ok := parseLogName(tc.name, tc.ext); ok != tc.ok {
			t.Errorf("parseLogName(%q, %q) = %v, want %v", tc.name, tc.ext, ok, tc.ok)
		}
	}
	ts := time.Date(2026, 7, 23, 8, 56, 7, 0, time.UTC)
	if got, ok := parseLogName(logName(ts, "json"), "json"); !ok || !got.Equal(ts) {
		t.Errorf("round trip gives %v %v", got, ok)
	}
}
