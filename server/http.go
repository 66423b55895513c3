package server

import (
	"bytes"
	"encoding/json"
	"html"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"muninn/ekg"
)

// Content types, exactly as cardano-tracer sends them.
const (
	ctJSON        = "application/json"
	ctHTML        = "text/html;charset=utf-8"
	ctText        = "text/plain;charset=utf-8"
	ctOpenMetrics = "application/openmetrics-text;version=1.0.0;charset=utf-8"
	ctText004     = "text/plain;version=0.0.4;charset=utf-8"
)

// PrometheusConfig is what the Prometheus routes need besides the nodes.
// It can be replaced while serving (configuration reload).
type PrometheusConfig struct {
	NoSuffix bool              // metricsNoSuffix
	Help     *ekg.Help         // metricsHelp; nil for none
	Labels   map[string]string // prometheusLabels, added to /targets
	// Gatherer provides Muninn's own metrics for /metrics; nil leaves them out.
	Gatherer prometheus.Gatherer
}

// HTTP serves the Prometheus and EKG routes for the server's nodes.
type HTTP struct {
	srv  *Server
	log  *slog.Logger
	cfg  atomic.Pointer[PrometheusConfig]
	bufs sync.Pool // *[]byte: exposition buffers, reused across scrapes
}

// NewHTTP returns the HTTP surfaces of s.
func (s *Server) NewHTTP(cfg PrometheusConfig) *HTTP {
	h := &HTTP{srv: s, log: s.log.With("component", "http")}
	h.cfg.Store(&cfg)
	h.bufs.New = func() any { return new([]byte) }
	return h
}

// Gatherer returns the registry of Muninn's own metrics in use.
func (h *HTTP) Gatherer() prometheus.Gatherer { return h.cfg.Load().Gatherer }

// SetConfig replaces the Prometheus settings (for a reload).
func (h *HTTP) SetConfig(cfg PrometheusConfig) { h.cfg.Store(&cfg) }

// route is one named node as the HTTP surfaces list it.
type route struct {
	node *Node
	id   Identity
}

// routes returns the named nodes, ordered by NodeId. A node appears as soon
// as it is named (cardano-tracer waits for its first trace batch and caches
// the table for 5 s).
func (h *HTTP) routes() []route {
	var out []route
	for _, n := range h.srv.reg.Nodes() {
		if id, ok := n.Identity(); ok {
			out = append(out, route{n, id})
		}
	}
	return out
}

// wantsJSON is cardano-tracer's rule: JSON when Accept mentions it or is
// absent. Accept is tested as a raw substring; quality values are ignored.
func wantsJSON(r *http.Request) bool {
	a, ok := r.Header["Accept"]
	return !ok || strings.Contains(strings.Join(a, ","), "application/json")
}

func write(w http.ResponseWriter, status int, ctype string, body []byte) {
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client went away; nothing to do
}

// writeList serves "/": the named nodes as JSON (name → "/slug") or as an
// HTML list of links with the given title.
func (h *HTTP) writeList(w http.ResponseWriter, r *http.Request, title string) {
	rs := h.routes()
	if wantsJSON(r) {
		m := make(map[string]string, len(rs))
		for _, rt := range rs {
			m[rt.id.Name] = "/" + rt.id.Slug
		}
		writeJSON(w, m)
		return
	}
	if len(rs) == 0 {
		write(w, http.StatusOK, ctHTML, []byte("There are no connected nodes yet."))
		return
	}
	var b strings.Builder
	b.WriteString("<html><head><title>" + title + "</title></head><body><ul>")
	for _, rt := range rs {
		b.WriteString(`<li><a href="/` + html.EscapeString(rt.id.Slug) + `">` + html.EscapeString(rt.id.Name) + "</a></li>")
	}
	b.WriteString("</ul></body></html>")
	write(w, http.StatusOK, ctHTML, []byte(b.String()))
}

// firstSegment splits "/a/b/c" into "a" and "b/c".
func firstSegment(path string) (string, string) {
	path = strings.TrimPrefix(path, "/")
	seg, rest, _ := strings.Cut(path, "/")
	return seg, rest
}

// PrometheusHandler serves cardano-tracer's Prometheus routes — "/", the
// "/targets" service discovery and "/<slug>" per node — and Muninn's
// "/metrics" with every node's series labelled node_name plus Muninn's own
// metrics. Any method is accepted, as in cardano-tracer.
func (h *HTTP) PrometheusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seg, _ := firstSegment(r.URL.Path)
		switch seg {
		case "":
			h.writeList(w, r, "Prometheus metrics")
		case "targets":
			h.targets(w, r)
		case "metrics":
			h.all(w, r)
		default:
			n := h.srv.reg.bySlug(seg)
			if n == nil {
				write(w, http.StatusNotFound, ctText, []byte("Not found: "+seg))
				return
			}
			h.exposition(w, r, n)
		}
	})
}

// render fills a pooled buffer with fill and writes it out.
func (h *HTTP) render(w http.ResponseWriter, ctype string, fill func([]byte) []byte) {
	buf := h.bufs.Get().(*[]byte)
	*buf = fill((*buf)[:0])
	write(w, http.StatusOK, ctype, *buf)
	if cap(*buf) <= 64<<20 { // /metrics for a 1000-node fleet is about 20 MB
		h.bufs.Put(buf)
	}
}

// exposition serves one node: OpenMetrics when asked for or when Accept is
// absent, otherwise text 0.0.4.
func (h *HTTP) exposition(w http.ResponseWriter, r *http.Request, n *Node) {
	f, ct := ekg.OpenMetrics, ctOpenMetrics
	if a, ok := r.Header["Accept"]; ok && !strings.Contains(strings.Join(a, ","), "application/openmetrics-text") {
		f, ct = ekg.Text004, ctText004
	}
	cfg := h.cfg.Load()
	e := ekg.Exposition{NoSuffix: cfg.NoSuffix, Help: cfg.Help}
	snap := n.store.Snapshot()
	h.render(w, ct, func(b []byte) []byte { return e.Append(b, snap, f, time.Now()) })
}

// targets serves the Prometheus HTTP service-discovery document.
func (h *HTTP) targets(w http.ResponseWriter, r *http.Request) {
	if !wantsJSON(r) {
		write(w, http.StatusUnsupportedMediaType, ctText, []byte("Unsupported Media Type"))
		return
	}
	host := r.Header.Get("X-Forwarded-Host")
	if host == "" {
		host = r.Host
	}
	type target struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	out := []target{}
	if host != "" {
		cfg := h.cfg.Load()
		for _, rt := range h.routes() {
			labels := make(map[string]string, len(cfg.Labels)+2)
			for k, v := range cfg.Labels {
				labels[k] = v
			}
			labels["__metrics_path__"] = "/" + rt.id.Slug
			labels["node_name"] = rt.id.Name
			out = append(out, target{Targets: []string{host}, Labels: labels})
		}
	}
	writeJSON(w, out)
}

// writeJSON writes v as cardano-tracer (aeson) would: compact, map keys
// sorted, and without escaping <, > and &.
func writeJSON(w http.ResponseWriter, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		write(w, http.StatusInternalServerError, ctText, []byte(err.Error()))
		return
	}
	write(w, http.StatusOK, ctJSON, bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// all serves /metrics: every node's series with a node_name label, then
// Muninn's own metrics, in the text format 0.0.4.
func (h *HTTP) all(w http.ResponseWriter, _ *http.Request) {
	cfg := h.cfg.Load()
	e := ekg.Exposition{NoSuffix: cfg.NoSuffix, Help: cfg.Help}
	rs := h.routes()
	nodes := make([]ekg.NodeSnapshot, 0, len(rs))
	for _, rt := range rs {
		nodes = append(nodes, ekg.NodeSnapshot{Name: rt.id.Name, Snap: rt.node.store.Snapshot()})
	}
	h.render(w, ctText004, func(b []byte) []byte {
		out := bytes.NewBuffer(e.AppendAll(b, nodes, ekg.Text004, time.Now(), false))
		if cfg.Gatherer == nil {
			return out.Bytes()
		}
		mfs, err := cfg.Gatherer.Gather()
		if err != nil {
			h.log.Warn("gather own metrics", "err", err) // a failing part is a log line, not a failed scrape
		}
		enc := expfmt.NewEncoder(out, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				h.log.Warn("encode own metrics", "err", err)
				break
			}
		}
		return out.Bytes()
	})
}

// EKGHandler serves cardano-tracer's EKG routes: "/" lists the nodes;
// "/<slug>" with Accept: application/json is the node's metrics as one
// nested JSON object, "/<slug>/a/b/c" the metric a.b.c; a browser gets a
// small page that renders that JSON.
func (h *HTTP) EKGHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seg, rest := firstSegment(r.URL.Path)
		if seg == "" {
			h.writeList(w, r, "EKG metrics")
			return
		}
		n := h.srv.reg.bySlug(seg)
		if n == nil {
			write(w, http.StatusNotFound, ctText, []byte(`Not found: "`+seg+`"`))
			return
		}
		if !strings.Contains(r.Header.Get("Accept"), "application/json") {
			write(w, http.StatusOK, ctHTML, ekgPage)
			return
		}
		snap := n.store.Snapshot()
		if rest == "" {
			write(w, http.StatusOK, ctJSON, ekg.AppendJSON(nil, snap, time.Now()))
			return
		}
		b, ok := ekg.AppendJSONMetric(nil, snap, strings.ReplaceAll(strings.Trim(rest, "/"), "/", "."))
		if !ok {
			write(w, http.StatusNotFound, ctText, []byte(`Not found: "`+rest+`"`))
			return
		}
		write(w, http.StatusOK, ctJSON, b)
	})
}

// ekgPage is Muninn's own small viewer: it polls the same URL for JSON and
// shows the metrics as a table.
var ekgPage = []byte(`<!doctype html>
<html><head><meta charset="utf-8"><title>EKG metrics</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.2em .8em;text-align:left}td.v{font-family:monospace}</style>
</head><body><h1 id="h">EKG metrics</h1><p><a href="/">all nodes</a></p>
<table><thead><tr><th>metric</th><th>type</th><th>value</th></tr></thead><tbody id="t"></tbody></table>
<script>
const kinds={c:"counter",g:"gauge",l:"label",d:"distribution"};
function rows(prefix,o,out){for(const k of Object.keys(o).sort()){const v=o[k];const name=prefix?prefix+"."+k:k;
 if(v&&typeof v==="object"&&"type"in v&&"val"in v)out.push([name,kinds[v.type]||v.type,v.val]);else if(v&&typeof v==="object")rows(name,v,out);}return out;}
async function tick(){try{const r=await fetch(location.pathname,{headers:{Accept:"application/json"}});
 const t=document.getElementById("t");t.textContent="";
 for(const [n,k,v] of rows("",await r.json(),[])){const tr=t.insertRow();tr.insertCell().textContent=n;tr.insertCell().textContent=k;const c=tr.insertCell();c.className="v";c.textContent=String(v);}
}catch(e){}setTimeout(tick,1000);}
document.getElementById("h").textContent="EKG metrics: "+decodeURIComponent(location.pathname.split("/")[1]);
tick();
</script></body></html>
`)
