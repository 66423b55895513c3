package tailer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// line renders one load-generator line.
func line(host string, seq uint64, enqueued int64) string {
	return fmt.Sprintf(`{"at":"2025-01-01T00:00:00.000000000Z","ns":"Mempool.AddedTx","data":{"kind":"AddedTx","mempoolSize":{"bytes":20000,"numTxs":3},"seq":%d,"enqueued":%d},"sev":"Info","thread":"41","host":"%s"}`+"\n",
		seq, enqueued, host)
}

func lines(host string, from, to uint64) string {
	var b strings.Builder
	now := time.Now().UnixNano()
	for s := from; s < to; s++ {
		b.WriteString(line(host, s, now))
	}
	return b.String()
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(errors.Join(err, f.Close()))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

// harness runs a Tailer in the background for one test.
type harness struct {
	t      *testing.T
	tl     *Tailer
	cancel context.CancelFunc
	errc   chan error // cap 1: Run's result
	done   bool
}

func start(t *testing.T, root string) *harness {
	t.Helper()
	tl, err := New(Config{Root: root, Rescan: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return follow(t, tl)
}

// follow runs tl until the harness stops it (at the latest when the test
// ends).
func follow(t *testing.T, tl *Tailer) *harness {
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, tl: tl, cancel: cancel, errc: make(chan error, 1)}
	go func() { h.errc <- tl.Run(ctx) }()
	t.Cleanup(func() {
		if !h.done {
			h.stop()
		}
	})
	return h
}

// stop cancels Run, checks that it returned nil and returns the final Report.
func (h *harness) stop() Report {
	h.t.Helper()
	h.done = true
	h.cancel()
	if err := <-h.errc; err != nil {
		h.t.Fatalf("Run: %v", err)
	}
	return h.tl.Report()
}

// waitFor polls Report until cond holds, failing after a deadline.
func (h *harness) waitFor(what string, cond func(Report) bool) Report {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		r := h.tl.Report()
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; last report: %+v", what, r)
		}
		<-tick.C
	}
}

func linesAre(n uint64) func(Report) bool { return func(r Report) bool { return r.Lines >= n } }

func checkNode(t *testing.T, r Report, host string, want NodeReport) {
	t.Helper()
	got, ok := r.Nodes[host]
	if !ok {
		t.Fatalf("no node %q in %+v", host, r.Nodes)
	}
	got.Latency = Percentiles{}
	if got != want {
		t.Errorf("node %s: got %+v, want %+v", host, got, want)
	}
}

// The cardano-tracer layout: a file per rotation and a node.json link to
// the newest, which must not be read a second time.
func TestRotation(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	nodeDir := filepath.Join(root, "load-0001_3001")
	mkdir(t, nodeDir)
	link := filepath.Join(nodeDir, "node.json")
	relink := func(target string) {
		tmp := link + ".tmp"
		if err := os.Symlink(target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, link); err != nil {
			t.Fatal(err)
		}
	}
	a := filepath.Join(nodeDir, "node-2025-01-01T00-00-00.json")
	fa, err := os.OpenFile(a, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	relink(a)
	h := start(t, root)
	if _, err := fa.WriteString(lines("load-0001", 0, 100)); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the first file", linesAre(100))
	b := filepath.Join(nodeDir, "node-2025-01-01T00-01-00.json")
	fb, err := os.OpenFile(b, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	relink(b)
	if err := fa.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := fb.WriteString(lines("load-0001", 100, 250)); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the second file", linesAre(250))
	if err := fb.Close(); err != nil {
		t.Fatal(err)
	}
	r := h.stop()
	if r.Lines != 250 || r.Files != 2 || r.Malformed != 0 || r.Duplicates != 0 || r.Missing != 0 {
		t.Errorf("report %+v", r)
	}
	checkNode(t, r, "load-0001", NodeReport{Lines: 250, Distinct: 250, MaxSeq: 249})
}

// Directories created while running are watched, at any depth, even when
// files appear in them at once.
func TestNewDirectories(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := start(t, root)
	hosts := []string{"load-0001", "load-0002", "load-0003"}
	for i, host := range hosts {
		dir := filepath.Join(root, host, strings.Repeat("deeper/", i))
		mkdir(t, dir)
		appendFile(t, filepath.Join(dir, fmt.Sprintf("conn-%d.json", i)), lines(host, 0, 10))
	}
	h.waitFor("lines from new directories", linesAre(30))
	// More lines in a directory that is watched by now.
	appendFile(t, filepath.Join(root, "load-0001", "conn-0.json"), lines("load-0001", 10, 20))
	h.waitFor("appended lines", linesAre(40))
	r := h.stop()
	if r.Lines != 40 || r.Files != 3 {
		t.Errorf("report %+v", r)
	}
	checkNode(t, r, "load-0001", NodeReport{Lines: 20, Distinct: 20, MaxSeq: 19})
	checkNode(t, r, "load-0003", NodeReport{Lines: 10, Distinct: 10, MaxSeq: 9})
}

// A line counts only once its '\n' is written.
func TestPartialLineCompletedLater(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	path := filepath.Join(root, "conn-1.json")
	h := start(t, root)
	l1 := line("load-0001", 1, time.Now().UnixNano())
	appendFile(t, path, line("load-0001", 0, time.Now().UnixNano())+l1[:40])
	h.waitFor("the complete line", linesAre(1))
	if r := h.tl.Report(); r.Lines != 1 || r.Malformed != 0 {
		t.Fatalf("after a partial line: %+v", r)
	}
	appendFile(t, path, l1[40:100])
	appendFile(t, path, l1[100:])
	h.waitFor("the completed line", linesAre(2))
	r := h.stop()
	if r.Lines != 2 || r.Malformed != 0 {
		t.Errorf("report %+v", r)
	}
	checkNode(t, r, "load-0001", NodeReport{Lines: 2, Distinct: 2, MaxSeq: 1})
}

// Any split of a stream into reads gives the same lines.
func TestConsumeSplits(t *testing.T) {
	t.Parallel()
	stream := []byte(lines("load-0001", 0, 3) + "\nnot a line\n" + line("load-0002", 7, 1))
	for cut := range len(stream) + 1 {
		tl := &Tailer{st: stats{hosts: make(map[string]*hostStats)}}
		f := &file{}
		for _, part := range [][]byte{stream[:cut], stream[cut:]} {
			data := append(append([]byte(nil), f.rem...), part...)
			tl.consume(f, data)
		}
		r := tl.Report()
		if r.Lines != 4 || r.Malformed != 1 || len(f.rem) != 0 || r.Nodes["load-0002"].MaxSeq != 7 {
			t.Fatalf("cut at %d: %+v, rest %q", cut, r, f.rem)
		}
	}
}

// Sequence accounting, read by Run's final pass over files written before
// it started.
func TestSequenceAccounting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		seqs []uint64
		want NodeReport
	}{
		{"in order", []uint64{0, 1, 2, 3}, NodeReport{Lines: 4, Distinct: 4, MaxSeq: 3}},
		{"gaps", []uint64{0, 3, 4, 9}, NodeReport{Lines: 4, Distinct: 4, MaxSeq: 9, Missing: 6}},
		{"duplicates", []uint64{0, 1, 1, 2, 2, 2}, NodeReport{Lines: 6, Distinct: 3, MaxSeq: 2, Duplicates: 3}},
		{"both, out of order", []uint64{5, 2, 2, 7, 0, 5, 200}, NodeReport{Lines: 7, Distinct: 5, MaxSeq: 200, Missing: 196, Duplicates: 2}},
		{"first lost", []uint64{1}, NodeReport{Lines: 1, Distinct: 1, MaxSeq: 1, Missing: 1}},
		{"across words", []uint64{63, 64, 127, 128, 64}, NodeReport{Lines: 5, Distinct: 4, MaxSeq: 128, Missing: 125, Duplicates: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			// Split over two files, as across a rotation.
			var b [2]strings.Builder
			for i, s := range tt.seqs {
				b[2*i/len(tt.seqs)].WriteString(line("load-0009", s, time.Now().UnixNano()))
			}
			appendFile(t, filepath.Join(root, "node-2025-01-01T00-00-00.json"), b[0].String())
			appendFile(t, filepath.Join(root, "node-2025-01-01T00-00-01.json"), b[1].String())
			r := start(t, root).stop()
			checkNode(t, r, "load-0009", tt.want)
			if r.Missing != tt.want.Missing || r.Duplicates != tt.want.Duplicates {
				t.Errorf("sums: missing %d, duplicates %d", r.Missing, r.Duplicates)
			}
		})
	}
}

func TestMalformedLines(t *testing.T) {
	t.Parallel()
	good := line("load-0001", 0, time.Now().UnixNano())
	tests := []struct {
		name      string
		text      string
		malformed uint64
		lines     uint64
	}{
		{"garbage", "hello\n", 1, 0},
		{"empty lines are skipped", "\n\n\r\n", 0, 0},
		{"no seq", `{"data":{"enqueued":1},"host":"a"}` + "\n", 1, 0},
		{"no enqueued", `{"data":{"seq":1},"host":"a"}` + "\n", 1, 0},
		{"no host", `{"data":{"seq":1,"enqueued":1}}` + "\n", 1, 0},
		{"empty host", `{"data":{"seq":1,"enqueued":1},"host":""}` + "\n", 1, 0},
		{"seq not a number", `{"data":{"seq":"1","enqueued":1},"host":"a"}` + "\n", 1, 0},
		{"negative seq", `{"data":{"seq":-1,"enqueued":1},"host":"a"}` + "\n", 1, 0},
		{"seq too large", `{"data":{"seq":1073741824,"enqueued":1},"host":"a"}` + "\n", 1, 0},
		{"seq overflows", `{"data":{"seq":99999999999999999999999,"enqueued":1},"host":"a"}` + "\n", 1, 0},
		{"over-long line", strings.Repeat("x", MaxLine+10) + "\n" + good, 1, 1},
		{"mixed", "x\n" + good + "y\n" + good, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			appendFile(t, filepath.Join(root, "conn-1.json"), tt.text)
			r := start(t, root).stop()
			if r.Malformed != tt.malformed || r.Lines != tt.lines {
				t.Errorf("malformed %d, lines %d; want %d, %d", r.Malformed, r.Lines, tt.malformed, tt.lines)
			}
		})
	}
}

// Names that are not regular .json files are not read.
func TestIgnoredNames(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	text := lines("load-0001", 0, 5)
	appendFile(t, filepath.Join(root, "conn-1.json"), text)
	appendFile(t, filepath.Join(root, "node-2025-01-01T00-00-00.log"), text)
	appendFile(t, filepath.Join(root, "conn-1.json.tmp"), text)
	if err := os.Symlink(filepath.Join(root, "conn-1.json"), filepath.Join(root, "node.json")); err != nil {
		t.Fatal(err)
	}
	r := start(t, root).stop()
	if r.Lines != 5 || r.Files != 1 {
		t.Errorf("report %+v", r)
	}
}

// A deleted file that was read to its end is not a loss; one whose last
// line was never completed is.
func TestDeletedFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := start(t, root)
	full := filepath.Join(root, "node-2025-01-01T00-00-00.json")
	appendFile(t, full, lines("load-0001", 0, 10))
	h.waitFor("the first file", linesAre(10))
	if err := os.Remove(full); err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(root, "node-2025-01-01T00-00-01.json")
	appendFile(t, cut, lines("load-0001", 10, 15)+`{"at":"2025`)
	h.waitFor("the second file", linesAre(15))
	if err := os.Remove(cut); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the unread removal", func(r Report) bool { return r.FilesRemovedUnread > 0 })
	r := h.stop()
	if r.Lines != 15 || r.Files != 2 || r.FilesRemovedUnread != 1 || r.Malformed != 0 {
		t.Errorf("report %+v", r)
	}
}

// A file deleted (pruned) while the tailer holds it open is still read to
// its end, even if the deletion is noticed before the last writes are.
func TestDeletedWhileOpen(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	path := filepath.Join(root, "conn-1.json")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}()
	h := start(t, root)
	if _, err := f.WriteString(lines("load-0001", 0, 1)); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the first line", linesAre(1))
	if _, err := f.WriteString(lines("load-0001", 1, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the rest", linesAre(1000))
	r := h.stop()
	if r.Lines != 1000 || r.Files != 1 || r.FilesRemovedUnread != 0 || r.Duplicates != 0 {
		t.Errorf("report %+v", r)
	}
}

// Everything written before Run's context ends is read by its final pass,
// in files and directories it never had events for.
func TestFinalReadGetsEverything(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := start(t, root)
	const nodes, per = 20, 500
	for n := range nodes {
		host := fmt.Sprintf("load-%04d", n)
		dir := filepath.Join(root, host)
		mkdir(t, dir)
		appendFile(t, filepath.Join(dir, "node-2025-01-01T00-00-00.json"), lines(host, 0, per/2))
		appendFile(t, filepath.Join(dir, "node-2025-01-01T00-00-01.json"), lines(host, per/2, per))
	}
	r := h.stop()
	if r.Lines != nodes*per || len(r.Nodes) != nodes || r.Missing != 0 || r.Duplicates != 0 || r.Files != 2*nodes {
		t.Errorf("report: lines %d, nodes %d, missing %d, duplicates %d, files %d",
			r.Lines, len(r.Nodes), r.Missing, r.Duplicates, r.Files)
	}
	if r.Latency.Count != nodes*per {
		t.Errorf("latency count %d", r.Latency.Count)
	}
}

func TestLatencyAndReset(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	now := time.Now()
	var b strings.Builder
	for s := range uint64(100) {
		b.WriteString(line("load-0001", s, now.Add(-3*time.Second).UnixNano()))
	}
	b.WriteString(line("load-0001", 100, now.Add(time.Hour).UnixNano())) // from the future
	appendFile(t, filepath.Join(root, "conn-1.json"), b.String())
	h := start(t, root)
	r := h.waitFor("all lines", linesAre(101))
	lat := r.Latency
	if lat.Count != 101 || r.ClockSkew != 1 {
		t.Fatalf("latency %+v, skew %d", lat, r.ClockSkew)
	}
	// The true values are 3 s plus at most elapsed; the histogram is
	// within 1 % of them.
	if elapsed := time.Since(now); lat.P50 < 3*time.Second*99/100 || lat.P50 > (3*time.Second+elapsed)*101/100 {
		t.Errorf("p50 %v, want 3 s plus at most %v", lat.P50, elapsed)
	}
	if r.Nodes["load-0001"].Latency != lat {
		t.Errorf("node latency %+v differs from the total %+v", r.Nodes["load-0001"].Latency, lat)
	}
	h.tl.ResetLatency()
	r = h.stop()
	if r.Latency != (Percentiles{}) || r.ClockSkew != 0 || r.Nodes["load-0001"].Latency != (Percentiles{}) {
		t.Errorf("after reset: %+v", r)
	}
	checkNode(t, r, "load-0001", NodeReport{Lines: 101, Distinct: 101, MaxSeq: 100})
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	file := filepath.Join(root, "file")
	appendFile(t, file, "")
	tests := []struct {
		name string
		root string
		want error
	}{
		{"missing root", filepath.Join(root, "nope"), fs.ErrNotExist},
		{"root is a file", file, ErrNotDir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tl, err := New(Config{Root: tt.root})
			if err != nil {
				t.Fatal(err)
			}
			if err := tl.Run(context.Background()); !errors.Is(err, tt.want) {
				t.Errorf("Run: %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New accepted an empty root")
	}
	tl, err := New(Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tl.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tl.Run(ctx); !errors.Is(err, ErrAlreadyRun) {
		t.Errorf("second Run: %v", err)
	}
}

// Several nodes write at once in pieces that split lines, rotate every
// few hundred lines with a link to the newest file, and prune old files
// once they have been read, while the tailer follows. Every line is
// counted once.
func TestLiveWritersRotatingAndPruning(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := start(t, root)
	const nodes, per = 6, 3000
	errc := make(chan error, nodes) // one result per writer
	for n := range nodes {
		w := nodeWriter{root: root, host: fmt.Sprintf("load-%04d", n), per: per, rotateEvery: 400, keep: 2, seed: n, tl: h.tl}
		go func() { errc <- w.run() }()
	}
	for range nodes {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	r := h.stop()
	if r.Lines != nodes*per || r.Missing != 0 || r.Duplicates != 0 || r.Malformed != 0 ||
		r.FilesRemovedUnread != 0 || r.Latency.Count != r.Lines || r.Files != nodes*(per/400+1) {
		t.Errorf("report %+v", r)
	}
}

// nodeWriter writes per lines for host as a rotating writer that prunes
// all but the newest keep files, each once the tailer has read it.
type nodeWriter struct {
	root, host             string
	per, rotateEvery, keep int
	seed                   int
	tl                     *Tailer
}

func (w nodeWriter) run() error {
	dir := filepath.Join(w.root, w.host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	text := lines(w.host, 0, uint64(w.per))
	var files []string
	var f *os.File
	closeCurrent := func() error {
		if f == nil {
			return nil
		}
		return f.Close()
	}
	piece := 1 + w.seed*37
	for seq := 0; len(text) > 0; seq += w.rotateEvery {
		if err := closeCurrent(); err != nil {
			return err
		}
		if len(files) >= w.keep {
			if err := w.waitRead(uint64(seq - (len(files)-1)*w.rotateEvery)); err != nil {
				return err
			}
			if err := os.Remove(files[0]); err != nil {
				return err
			}
			files = files[1:]
		}
		rot := seq / w.rotateEvery
		name := filepath.Join(dir, fmt.Sprintf("node-2025-01-01T00-%02d-%02d.json", rot/60, rot%60))
		var err error
		if f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644); err != nil {
			return err
		}
		files = append(files, name)
		tmp := filepath.Join(dir, "node.json.tmp")
		if err := os.Symlink(name, tmp); err != nil {
			return errors.Join(err, f.Close())
		}
		if err := os.Rename(tmp, filepath.Join(dir, "node.json")); err != nil {
			return errors.Join(err, f.Close())
		}
		// rotateEvery lines, written in pieces of varying size.
		end := 0
		for range w.rotateEvery {
			end += strings.IndexByte(text[end:], '\n') + 1
		}
		chunk := text[:end]
		text = text[end:]
		for len(chunk) > 0 {
			piece = (piece*7 + 13) % 1500
			k := min(len(chunk), piece+1)
			if _, err := f.WriteString(chunk[:k]); err != nil {
				return errors.Join(err, f.Close())
			}
			chunk = chunk[k:]
		}
	}
	return closeCurrent()
}

// waitRead waits until the tailer has read n of the node's lines.
func (w nodeWriter) waitRead(n uint64) error {
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for w.tl.Report().Nodes[w.host].Lines < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %d lines not read in time", w.host, n)
		}
		<-tick.C
	}
	return nil
}
