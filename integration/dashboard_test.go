package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dashboardPath is the dashboard shipped in dashboards/.
var dashboardPath = filepath.Join("..", "dashboards", "muninn-cardano.json")

// dashQuery is one PromQL expression of a panel.
type dashQuery struct {
	Panel string // panel title
	RefID string
	Expr  string
}

func (q dashQuery) String() string { return fmt.Sprintf("panel %q target %s", q.Panel, q.RefID) }

// dashVar is one template variable.
type dashVar struct {
	Name, Type, Query, AllValue string
	Multi, IncludeAll           bool
}

type dashboard struct {
	raw     map[string]any
	queries []dashQuery
	vars    []dashVar
}

func loadDashboard(t *testing.T) *dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	d := &dashboard{}
	if err := json.Unmarshal(b, &d.raw); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	walkTargets(d.raw, "", &d.queries)
	tmpl, _ := d.raw["templating"].(map[string]any)
	list, _ := tmpl["list"].([]any)
	for _, v := range list {
		m, _ := v.(map[string]any)
		dv := dashVar{}
		dv.Name, _ = m["name"].(string)
		dv.Type, _ = m["type"].(string)
		dv.AllValue, _ = m["allValue"].(string)
		dv.Multi, _ = m["multi"].(bool)
		dv.IncludeAll, _ = m["includeAll"].(bool)
		switch q := m["query"].(type) {
		case string: // older Grafana, and datasource variables
			dv.Query = q
		case map[string]any: // the Prometheus variable query editor
			dv.Query, _ = q["query"].(string)
		}
		d.vars = append(d.vars, dv)
	}
	return d
}

// walkTargets collects every targets[].expr below v, whatever the
// nesting (rows, collapsed rows holding panels, library panels inlined).
func walkTargets(v any, panel string, out *[]dashQuery) {
	switch x := v.(type) {
	case map[string]any:
		if title, ok := x["title"].(string); ok {
			panel = title
		}
		if ts, ok := x["targets"].([]any); ok {
			for _, tv := range ts {
				tm, _ := tv.(map[string]any)
				if expr, ok := tm["expr"].(string); ok {
					ref, _ := tm["refId"].(string)
					*out = append(*out, dashQuery{Panel: panel, RefID: ref, Expr: expr})
				}
			}
		}
		for k, c := range x {
			if k != "targets" {
				walkTargets(c, panel, out)
			}
		}
	case []any:
		for _, c := range x {
			walkTargets(c, panel, out)
		}
	}
}

// Grafana's built-in variables, with the values a 1 s scrape interval
// and a short time range give them.
var builtinVars = map[string]string{
	"__rate_interval":    "1m",
	"__interval":         "1m",
	"__interval_ms":      "60000",
	"__range":            "5m",
	"__range_s":          "300",
	"__range_ms":         "300000",
	"__rate_interval_ms": "60000",
}

// varRef matches $name, ${name}, ${name:format} and [[name]].
var varRef = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

// expand substitutes template variables as Grafana does before sending
// the query; a reference to an unknown variable is an error.
func expand(expr string, vals map[string]string) (string, error) {
	var unknown []string
	out := varRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		name := m[1] + m[2] + m[3]
		if v, ok := vals[name]; ok {
			return v
		}
		if v, ok := builtinVars[name]; ok {
			return v
		}
		unknown = append(unknown, ref)
		return ref
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unknown template variables %v in %q", unknown, expr)
	}
	return out, nil
}

// grafanaRegex is how Grafana writes a multi-value or "All" selection of
// a Prometheus variable: the values regex-escaped, joined with |, in a
// group; the escaping backslashes doubled for a PromQL string literal.
func grafanaRegex(values []string) string {
	esc := make([]string, len(values))
	for i, v := range values {
		esc[i] = strings.ReplaceAll(regexp.QuoteMeta(v), `\`, `\\`)
	}
	if len(esc) == 1 {
		return esc[0]
	}
	return "(" + strings.Join(esc, "|") + ")"
}

var labelValuesQuery = regexp.MustCompile(`^\s*label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)\s*$`)

// Selectors of per-node series: the node's own metrics (as served by
// /<slug> and by /metrics) and Muninn's per-node counters.
var nodeSelector = regexp.MustCompile(`\b((?:cardano_node_metrics|rts_gc|ekg_server)_\w+|muninn_trace_(?:objects_(?:written|received)|bytes_written)_total)\b(\{[^}]*\})?`)

// Selectors of process-wide series that any Go program exports.
var processSelector = regexp.MustCompile(`\b((?:go|process)_\w+|muninn_\w+)\b(\{[^}]*\})?`)

// TestDashboardStatic checks the dashboard's structure without a
// Prometheus: it parses, has the variables the panels use, every node
// metric is filtered by the node_name variable, Muninn's process metrics
// by the muninn_job variable, and the panels do not overlap.
func TestDashboardStatic(t *testing.T) {
	d := loadDashboard(t)
	if v, _ := d.raw["schemaVersion"].(float64); v < 36 {
		t.Errorf("schemaVersion %v, want a current one (>= 36)", d.raw["schemaVersion"])
	}
	for _, k := range []string{"title", "uid"} {
		if s, _ := d.raw[k].(string); s == "" {
			t.Errorf("dashboard has no %s", k)
		}
	}

	vars := map[string]dashVar{}
	for _, v := range d.vars {
		vars[v.Name] = v
	}
	if v := vars["datasource"]; v.Type != "datasource" || v.Query != "prometheus" {
		t.Errorf("want a datasource variable named datasource for Prometheus, have %+v", v)
	}
	nv := vars["node_name"]
	if nv.Type != "query" || !nv.Multi || !nv.IncludeAll {
		t.Errorf("want node_name as a multi-value query variable with All, have %+v", nv)
	}
	if m := labelValuesQuery.FindStringSubmatch(nv.Query); m == nil || m[1] != "cardano_node_metrics_slotNum_int" || m[2] != "node_name" {
		t.Errorf("node_name variable query %q, want label_values(cardano_node_metrics_slotNum_int, node_name)", nv.Query)
	}
	values := map[string]string{}
	for _, v := range d.vars {
		values[v.Name] = ".*"
	}

	if len(d.queries) < 20 {
		t.Errorf("only %d expressions found; the walk over panels is broken or panels are missing", len(d.queries))
	}
	for _, q := range d.queries {
		if _, err := expand(q.Expr, values); err != nil {
			t.Errorf("%s: %v", q, err)
		}
		if strings.Count(q.Expr, "(") != strings.Count(q.Expr, ")") || strings.Count(q.Expr, "{") != strings.Count(q.Expr, "}") {
			t.Errorf("%s: unbalanced brackets in %q", q, q.Expr)
		}
		// "$" becomes a word character, so that the variable names in
		// $muninn_job and $node_name are not taken for metric names.
		masked := strings.ReplaceAll(q.Expr, "$", "_V_")
		for _, m := range nodeSelector.FindAllStringSubmatch(masked, -1) {
			if !strings.Contains(m[2], `node_name=~"_V_node_name"`) {
				t.Errorf("%s: node metric %s is not filtered by node_name=~\"$node_name\": %q", q, m[1], q.Expr)
			}
		}
		for _, m := range processSelector.FindAllStringSubmatch(masked, -1) {
			if !strings.Contains(m[2], `job=~"_V_muninn_job"`) {
				t.Errorf("%s: Muninn metric %s is not filtered by job=~\"$muninn_job\": %q", q, m[1], q.Expr)
			}
		}
	}

	// Panels: unique ids, a Prometheus datasource from the variable, and
	// a layout on Grafana's 24-column grid without overlaps.
	type rect struct {
		title      string
		x, y, w, h int
	}
	var rects []rect
	ids := map[float64]string{}
	var panels func([]any)
	panels = func(ps []any) {
		for _, pv := range ps {
			p, _ := pv.(map[string]any)
			title, _ := p["title"].(string)
			id, _ := p["id"].(float64)
			if prev, dup := ids[id]; dup {
				t.Errorf("panels %q and %q share id %v", prev, title, id)
			}
			ids[id] = title
			g, _ := p["gridPos"].(map[string]any)
			num := func(k string) int { f, _ := g[k].(float64); return int(f) }
			r := rect{title, num("x"), num("y"), num("w"), num("h")}
			if r.w <= 0 || r.h <= 0 || r.x < 0 || r.x+r.w > 24 {
				t.Errorf("panel %q: gridPos %+v is off the 24-column grid", title, g)
			}
			rects = append(rects, r)
			if typ, _ := p["type"].(string); typ != "row" {
				ds, _ := p["datasource"].(map[string]any)
				if uid, _ := ds["uid"].(string); uid != "${datasource}" {
					t.Errorf("panel %q: datasource %v, want uid ${datasource}", title, p["datasource"])
				}
				if ts, _ := p["targets"].([]any); len(ts) == 0 {
					t.Errorf("panel %q has no queries", title)
				}
			}
			if sub, ok := p["panels"].([]any); ok {
				panels(sub)
			}
		}
	}
	ps, _ := d.raw["panels"].([]any)
	panels(ps)
	for i, a := range rects {
		for _, b := range rects[i+1:] {
			if a.x < b.x+b.w && b.x < a.x+a.w && a.y < b.y+b.h && b.y < a.y+a.h {
				t.Errorf("panels %q %+v and %q %+v overlap", a.title, a, b.title, b)
			}
		}
	}
}

func TestExpand(t *testing.T) {
	vals := map[string]string{"node_name": grafanaRegex([]string{"relay-1", "bp.1"}), "job": "muninn"}
	got, err := expand(`rate(x{node_name=~"$node_name",job=~"${job}"}[$__rate_interval]) + y{j="[[job]]"}`, vals)
	want := `rate(x{node_name=~"(relay-1|bp\\.1)",job=~"muninn"}[1m]) + y{j="muninn"}`
	if err != nil || got != want {
		t.Errorf("expand = %q, %v; want %q", got, err, want)
	}
	if _, err := expand(`x{a="$nope"}`, vals); err == nil {
		t.Error("expand accepted an unknown variable")
	}
}
