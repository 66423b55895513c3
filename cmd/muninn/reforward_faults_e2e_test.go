package main_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"muninn/muxproto"
	"muninn/tracer"
)

// stalledDownstream connects to a re-forwarding socket as an acceptor,
// asks for objects once and then never again, so its queue in A fills.
func stalledDownstream(t *testing.T, sock string) {
	t.Helper()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := muxproto.ClientHandshake(context.Background(), conn, muxproto.HandshakeConfig{NetworkMagic: 764824073}); err != nil {
		t.Fatal(err)
	}
	var hb [muxproto.HeaderSize]byte
	req := tracer.EncodeRequest(tracer.Request{Blocking: true, Count: 1})
	muxproto.Header{Dir: muxproto.FromInitiator, Proto: tracer.Protocol, Length: uint16(len(req))}.Encode(&hb)
	if _, err := conn.Write(append(hb[:], req...)); err != nil {
		t.Fatal(err)
	}
	// From here on nothing is read: A's ring for this downstream fills up.
}

// TestReforwardingFilterRestartAndStall: A forwards only ChainDB objects;
// B restarts mid-stream and resumes receiving; a downstream that stops
// reading causes drops only in its own queue, while A's files and C stay
// complete.
func TestReforwardingFilterRestartAndStall(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	aSock, rfSock := filepath.Join(dir, "a.sock"), filepath.Join(dir, "rf.sock")
	port := strconv.Itoa(freePort(t))
	roots := map[string]string{}
	for _, n := range []string{"a", "b", "c"} {
		roots[n] = filepath.Join(dir, n+"-logs")
		os.MkdirAll(filepath.Join(dir, n), 0o755)
	}
	a := startMuninn(t, filepath.Join(dir, "a"), fmt.Sprintf(`networkMagic: 764824073
network: {tag: AcceptAt, contents: %q}
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
hasPrometheus: {epHost: 127.0.0.1, epPort: %s}
hasForwarding:
  - {tag: AcceptAt, contents: %q}
  - [["ChainDB"]]
  - {queueSize: 50}
`, aSock, roots["a"], port, rfSock))
	downCfg := func(n string) string {
		return fmt.Sprintf(`networkMagic: 764824073
network: {tag: ConnectTo, contents: [%q]}
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
`, rfSock, roots[n])
	}
	b := startMuninn(t, filepath.Join(dir, "b"), downCfg("b"))
	c := startMuninn(t, filepath.Join(dir, "c"), downCfg("c"))
	for _, m := range []*muninn{b, c} {
		m.waitLog(func(r record) bool { return r["msg"] == "node named" })
	}
	stalledDownstream(t, rfSock)

	// First half with B up; B restarts; second half.
	forward(t, "--connect", aSock, "--name", "n1", "--host", "h1", "--rate", "1000", "--count", "1000", "--queue-size", "100000")
	waitFor(t, "B to have the first ChainDB objects", func() bool { return len(seqsByHost(t, roots["b"])["h1"]) > 0 })
	b.stop()
	b2 := startMuninn(t, filepath.Join(dir, "b"), downCfg("b"))
	b2.waitLog(func(r record) bool { return r["msg"] == "node named" })
	forward(t, "--connect", aSock, "--name", "n2", "--host", "h2", "--rate", "1000", "--count", "1000", "--queue-size", "100000")

	// What A wrote is the truth: which of its objects are ChainDB ones.
	chainDB := map[string]map[int]bool{}
	files, _ := filepath.Glob(filepath.Join(roots["a"], "*", "node-*.json"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(data), "\n") {
			h, s := hostRE.FindStringSubmatch(line), seqRE.FindStringSubmatch(line)
			if h == nil || s == nil || !strings.Contains(line, `"ns":"ChainDB.`) {
				continue
			}
			if chainDB[h[1]] == nil {
				chainDB[h[1]] = map[int]bool{}
			}
			n, _ := strconv.Atoi(s[1])
			chainDB[h[1]][n] = true
		}
	}
	want := len(chainDB["h1"]) + len(chainDB["h2"])
	waitFor(t, "C to have every ChainDB object", func() bool {
		got := seqsByHost(t, roots["c"])
		return len(got["h1"])+len(got["h2"]) >= want
	})
	waitFor(t, "B to resume after its restart", func() bool { return len(seqsByHost(t, roots["b"])["h2"]) == len(chainDB["h2"]) })
	metrics := httpGet(t, "http://127.0.0.1:"+port+"/metrics")
	a.stop()
	b2.stop()
	c.stop()

	for _, host := range []string{"h1", "h2"} {
		exactlyOnce(t, "A/"+host, seqsByHost(t, roots["a"])[host], 1000)
		got := seqsByHost(t, roots["c"])[host]
		if len(got) != len(chainDB[host]) {
			t.Fatalf("C has %d %s objects, A wrote %d ChainDB ones", len(got), host, len(chainDB[host]))
		}
		for _, s := range got {
			if !chainDB[host][s] {
				t.Fatalf("C received %s object %d, which is not a ChainDB one", host, s)
			}
		}
	}
	if !strings.Contains(metrics, "muninn_reforward_dropped_total ") || strings.Contains(metrics, "muninn_reforward_dropped_total 0\n") {
		t.Errorf("the stalled downstream caused no counted drops")
	}
}
