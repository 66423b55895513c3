package server

import (
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"muninn/datapoint"
	"muninn/ekg"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", name, got, want)
	}
}

// webWith returns the HTTP surfaces of a server whose registry holds the
// given nodes (name → NodeId), each with a few metrics.
func webWith(t *testing.T, cfg PrometheusConfig, nodes ...[2]string) (*HTTP, *Server) {
	t.Helper()
	// Routing needs only the registry: no listeners, no log writer.
	s := &Server{log: slog.New(slog.DiscardHandler), reg: NewRegistry()}
	for _, n := range nodes {
		node := s.reg.add(n[1], "peer", time.Unix(0, 0))
		info := &datapoint.NodeInfo{Name: n[0]}
		s.reg.name(node, n[0], info)
		node.store.Apply([]ekg.Metric{
			{Name: "cardano.node.metrics.blockNum_int", Value: ekg.Gauge(11834567)},
			{Name: "cardano.node.metrics.forks_counter", Value: ekg.Counter(3)},
		})
	}
	return s.NewHTTP(cfg), s
}

func get(t *testing.T, h http.Handler, path string, header ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	delete(r.Header, "Accept")
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			r.Host = header[i+1]
			continue
		}
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPrometheusRoutes(t *testing.T) {
	t.Parallel()
	web, _ := webWith(t, PrometheusConfig{Labels: map[string]string{"environment": "mainnet", "node_name": "user-loses"}},
		[2]string{"relay1_3001", "192168120:41234"}, [2]string{"TxGenerator", "tmp-forwardersock@0"}, [2]string{`<b>"evil"</b>`, "x@1"})
	h := web.PrometheusHandler()
	for _, tc := range []struct {
		name, path string
		header     []string
		status     int
		ctype      string
		golden     string // file in testdata, or "" to check body
		body       string
	}{
		{"list as JSON without Accept", "/", nil, 200, ctJSON, "list.json", ""},
		{"list as JSON", "/", []string{"Accept", "application/json"}, 200, ctJSON, "list.json", ""},
		{"list as HTML", "/", []string{"Accept", "*/*"}, 200, ctHTML, "list.html", ""},
		{"targets", "/targets", []string{"Host", "tracer.example.org:12808"}, 200, ctJSON, "targets.json", ""},
		{"targets behind a proxy", "/targets", []string{"Host", "inner:1", "X-Forwarded-Host", "outer.example:443"}, 200, ctJSON, "targets-forwarded.json", ""},
		{"targets for a browser", "/targets", []string{"Accept", "text/html"}, 415, ctText, "", "Unsupported Media Type"},
		{"unknown node", "/nope/x", nil, 404, ctText, "", "Not found: nope"},
		{"node, OpenMetrics without Accept", "/relay1-3001", nil, 200, ctOpenMetrics, "", ""},
		{"node, OpenMetrics asked", "/relay1-3001/anything", []string{"Accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"}, 200, ctOpenMetrics, "", ""},
		{"node, text for curl", "/txgenerator", []string{"Accept", "*/*"}, 200, ctText004, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := get(t, h, tc.path, tc.header...)
			b := body(t, res)
			if res.StatusCode != tc.status || res.Header.Get("Content-Type") != tc.ctype {
				t.Fatalf("%d %q, want %d %q\n%s", res.StatusCode, res.Header.Get("Content-Type"), tc.status, tc.ctype, b)
			}
			switch {
			case tc.golden != "":
				golden(t, tc.golden, []byte(b))
			case tc.body != "":
				if b != tc.body {
					t.Fatalf("body %q, want %q", b, tc.body)
				}
			default:
				if !strings.Contains(b, "cardano_node_metrics_blockNum_int 11834567\n") || !strings.HasSuffix(b, "# EOF\n") {
					t.Fatalf("exposition:\n%s", b)
				}
			}
		})
	}
}

func TestNoNodesYet(t *testing.T) {
	t.Parallel()
	web, _ := webWith(t, PrometheusConfig{})
	for _, h := range []http.Handler{web.PrometheusHandler(), web.EKGHandler()} {
		res := get(t, h, "/", "Accept", "text/html")
		if b := body(t, res); b != "There are no connected nodes yet." || res.Header.Get("Content-Type") != ctHTML {
			t.Fatalf("%q %q", res.Header.Get("Content-Type"), b)
		}
	}
	res := get(t, web.PrometheusHandler(), "/targets")
	if b := body(t, res); b != "[]" {
		t.Fatalf("targets with no nodes: %s", b)
	}
	r := httptest.NewRequest(http.MethodGet, "/targets", nil)
	r.Host = ""
	w := httptest.NewRecorder()
	web.PrometheusHandler().ServeHTTP(w, r)
	if b := w.Body.String(); b != "[]" {
		t.Fatalf("targets without a Host: %s", b)
	}
}

// TestReservedSlugs: a node named "targets" or "metrics" cannot take the
// route; it is served under its NodeId's slug instead.
func TestReservedSlugs(t *testing.T) {
	t.Parallel()
	web, s := webWith(t, PrometheusConfig{}, [2]string{"targets", "10005:3000"}, [2]string{"Metrics", "10006:3000"})
	for _, n := range s.reg.Nodes() {
		id, _ := n.Identity()
		if id.Slug == "targets" || id.Slug == "metrics" {
			t.Fatalf("node took the reserved route /%s", id.Slug)
		}
		if res := get(t, web.PrometheusHandler(), "/"+id.Slug); res.StatusCode != 200 {
			t.Fatalf("/%s: %d", id.Slug, res.StatusCode)
		}
	}
}

func TestAllMetrics(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t)
	m.disconnects.WithLabelValues(string(ReasonPeerClosed)).Inc()
	web, _ := webWith(t, PrometheusConfig{Gatherer: reg}, [2]string{"relay-1", "a"}, [2]string{"relay-2", "b"})
	res := get(t, web.PrometheusHandler(), "/metrics")
	b := body(t, res)
	if res.Header.Get("Content-Type") != ctText004 {
		t.Fatalf("content type %q", res.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`cardano_node_metrics_blockNum_int{node_name="relay-1"} 11834567`,
		`cardano_node_metrics_blockNum_int{node_name="relay-2"} 11834567`,
		`muninn_disconnects_total{reason="peer_closed"} 1`,
		`muninn_connections{state="connected"} 0`,
	} {
		if !strings.Contains(b, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Count(b, "# TYPE cardano_node_metrics_blockNum_int ") != 1 {
		t.Errorf("a metric family is repeated:\n%s", b)
	}
}

func TestEKGRoutes(t *testing.T) {
	t.Parallel()
	web, _ := webWith(t, PrometheusConfig{}, [2]string{"relay1_3001", "a"})
	h := web.EKGHandler()
	res := get(t, h, "/relay1-3001", "Accept", "application/json")
	if b := body(t, res); res.Header.Get("Content-Type") != ctJSON || !strings.Contains(b, `"blockNum_int":{"type":"g","val":11834567}`) {
		t.Fatalf("tree %q: %s", res.Header.Get("Content-Type"), b)
	}
	res = get(t, h, "/relay1-3001/cardano/node/metrics/forks_counter", "Accept", "application/json")
	if b := body(t, res); res.StatusCode != 200 || !strings.Contains(b, `"val":3`) {
		t.Fatalf("one metric: %d %s", res.StatusCode, b)
	}
	res = get(t, h, "/relay1-3001/no/such", "Accept", "application/json")
	if res.StatusCode != 404 {
		t.Fatalf("unknown metric: %d", res.StatusCode)
	}
	if res := get(t, h, "/other"); body(t, res) != `Not found: "other"` || res.StatusCode != 404 {
		t.Fatal("unknown node: wrong 404")
	}
	res = get(t, h, "/relay1-3001", "Accept", "text/html")
	if b := body(t, res); res.Header.Get("Content-Type") != ctHTML || !strings.Contains(b, "<title>EKG metrics</title>") {
		t.Fatalf("page: %s", b)
	}
	res = get(t, h, "/", "Accept", "text/html")
	if b := body(t, res); !strings.Contains(b, "<title>EKG metrics</title>") {
		t.Fatalf("list: %s", b)
	}
}
