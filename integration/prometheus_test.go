// Package integration runs Muninn against real third-party software.
// The Prometheus test scrapes a running muninn, fed by muninn-forwarder
// playing three cardano-nodes, with a real Prometheus (Debian's package;
// .ci/run installs it), through the /targets service discovery and the
// /metrics route, exactly as dashboards/README.md tells operators to; then
// it runs every query of dashboards/muninn-cardano.json against that
// Prometheus.
package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// raceEnabled is set by race_test.go under -race.
var raceEnabled bool

// nodes are the simulated cardano-nodes, by the name each sends in its
// NodeInfo; Muninn's NodeName for them is the same text.
var nodes = []string{"relay-1", "relay-2", "bp-1"}

// findPrometheus returns the prometheus binary, or skips the test.
func findPrometheus(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	const debian = "/usr/bin/prometheus"
	if st, err := os.Stat(debian); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
		return debian
	}
	t.Skip("prometheus not found in PATH nor at /usr/bin/prometheus: install Debian's prometheus package " +
		"(apt-get install prometheus; .ci/run does this) to run the real-Prometheus integration test")
	return ""
}

// buildBinaries builds muninn and muninn-forwarder into dir, with -race
// when this test runs under -race.
func buildBinaries(t *testing.T, dir string) (muninn, forwarder string) {
	t.Helper()
	statSources(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		if root := os.Getenv("GOROOT"); root != "" {
			goTool = filepath.Join(root, "bin", "go")
		} else {
			t.Fatalf("no go command to build the binaries: %v", err)
		}
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "muninn/cmd/muninn", "muninn/cmd/muninn-forwarder")
	cmd := exec.Command(goTool, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return filepath.Join(dir, "muninn"), filepath.Join(dir, "muninn-forwarder")
}

// statSources looks at every Go source file of the module. The binaries
// under test are built by a child go command, which go test's result
// cache does not see; the files this test process opens or stats are
// part of the cache key, so a change anywhere in the module re-runs the
// test instead of replaying a cached pass.
func statSources(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != ".." && (strings.HasPrefix(n, ".") || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if n := d.Name(); strings.HasSuffix(n, ".go") || n == "go.mod" || n == "go.sum" {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatalf("look at the module's sources: %v", err)
	}
}

func muninnConfig(sock, logRoot string, port int) string {
	return fmt.Sprintf(`# written by integration/prometheus_test.go
networkMagic: 764824073
network:
  tag: AcceptAt
  contents: %s
logging:
  - logRoot: %s
    logMode: FileMode
    logFormat: ForMachine
ekgRequestFreq: 0.5
hasPrometheus:
  epHost: 127.0.0.1
  epPort: %d
prometheusLabels:
  environment: test
`, strconv.Quote(sock), strconv.Quote(logRoot), port)
}

// prometheusConfig is the scrape configuration of dashboards/README.md
// with a 1 s interval: node series through /targets service discovery,
// node_name copied into instance; Muninn's own series from /metrics.
func prometheusConfig(muninnAddr string) string {
	return fmt.Sprintf(`# written by integration/prometheus_test.go
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: cardano
    http_sd_configs:
      - url: %s
        refresh_interval: 1s
    relabel_configs:
      - source_labels: [node_name]
        target_label: instance
  - job_name: muninn
    static_configs:
      - targets: [%s]
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: "muninn_.*|go_.*|process_.*|promhttp_.*"
        action: keep
`, strconv.Quote("http://"+muninnAddr+"/targets"), strconv.Quote(muninnAddr))
}

// sdEntry is one element of Muninn's /targets reply.
type sdEntry struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

func TestPrometheusScrapesMuninn(t *testing.T) {
	promBin := findPrometheus(t)
	if out, err := exec.Command(promBin, "--version").CombinedOutput(); err != nil {
		t.Fatalf("%s --version: %v\n%s", promBin, err, out)
	} else {
		t.Logf("using %s: %s", promBin, bytes.SplitN(out, []byte("\n"), 2)[0])
	}
	dir := t.TempDir()
	logs := watchLogs(t)
	muninnBin, fwdBin := buildBinaries(t, filepath.Join(dir, "bin"))

	// Muninn, with its Prometheus endpoint on a free loopback port.
	port := freePort(t)
	muninnAddr := fmt.Sprintf("127.0.0.1:%d", port)
	muninnURL := "http://" + muninnAddr
	sock := socketPath(t, dir)
	cfg := filepath.Join(dir, "muninn.yaml")
	if err := os.WriteFile(cfg, []byte(muninnConfig(sock, filepath.Join(dir, "logs"), port)), 0o644); err != nil {
		t.Fatal(err)
	}
	mun := logs.start(t, "muninn", filepath.Join(dir, "muninn.log"), dir, muninnBin, "--config", cfg)
	eventually(t, "muninn serving "+muninnURL+"/", phaseTimeout, []*proc{mun}, func() error {
		if b, err := os.ReadFile(mun.log); err == nil {
			for _, line := range bytes.Split(b, []byte("\n")) {
				if bytes.Contains(line, []byte("not supported")) && bytes.Contains(line, []byte("hasPrometheus")) {
					return errPermanent{fmt.Errorf("this muninn does not serve hasPrometheus yet: %s", line)}
				}
			}
		}
		code, _, _, err := httpGet(muninnURL+"/", "application/json")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("GET / answered HTTP %d", code)
		}
		return err
	})

	// Three simulated nodes.
	watch := []*proc{mun}
	for _, n := range nodes {
		f := logs.start(t, "muninn-forwarder "+n, filepath.Join(dir, "forwarder-"+n+".log"), dir, fwdBin,
			"--connect", sock, "--name", n, "--host", n, "--rate", "20")
		f.tail = 1500 // three of them; Muninn's and Prometheus's logs matter more
		watch = append(watch, f)
	}

	// Muninn lists them for service discovery before Prometheus starts,
	// so that a failure here is told apart from one in Prometheus.
	eventually(t, "muninn's /targets listing every node", phaseTimeout, watch, func() error {
		code, hdr, body, err := httpGet(muninnURL+"/targets", "application/json")
		if err != nil {
			return err
		}
		if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			return fmt.Errorf("GET /targets: HTTP %d, Content-Type %q, body %.300q", code, hdr.Get("Content-Type"), body)
		}
		var sd []sdEntry
		if err := json.Unmarshal(body, &sd); err != nil {
			return errPermanent{fmt.Errorf("GET /targets: not a service-discovery list: %v: %.300q", err, body)}
		}
		have := map[string]bool{}
		for _, e := range sd {
			if !slices.Equal(e.Targets, []string{muninnAddr}) || !strings.HasPrefix(e.Labels["__metrics_path__"], "/") ||
				e.Labels["environment"] != "test" {
				return errPermanent{fmt.Errorf("GET /targets: entry %+v, want targets [%s] (the Host header), a __metrics_path__ "+
					"and the prometheusLabels environment=test", e, muninnAddr)}
			}
			have[e.Labels["node_name"]] = true
		}
		if m := missing(nodes, have); len(m) > 0 {
			return fmt.Errorf("GET /targets lacks %v: %s", m, body)
		}
		return nil
	})

	// Prometheus, with nothing but loopback to talk to.
	promAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	promCfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(promCfg, []byte(prometheusConfig(muninnAddr)), 0o644); err != nil {
		t.Fatal(err)
	}
	prom := logs.start(t, "prometheus", filepath.Join(dir, "prometheus.log"), dir, promBin,
		"--config.file="+promCfg,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr,
		"--log.level=info")
	watch = append(watch, prom)
	api := promAPI{base: "http://" + promAddr}
	eventually(t, "prometheus ready", phaseTimeout, watch, func() error {
		code, _, body, err := httpGet(api.base+"/-/ready", "")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("/-/ready: HTTP %d %s", code, bytes.TrimSpace(body))
		}
		return err
	})

	// Prometheus accepts /metrics as Muninn writes it.
	muninnUp := t.Run("muninn job up", func(t *testing.T) {
		eventually(t, `up{job="muninn"} == 1`, phaseTimeout, watch, func() error {
			ts, err := api.targets("muninn")
			if err != nil {
				return err
			}
			if len(ts) != 1 || ts[0].Health != "up" || ts[0].LastError != "" {
				return fmt.Errorf("target: %s", describeTargets(ts))
			}
			up, err := api.query(`up{job="muninn"}`)
			if err != nil {
				return err
			}
			if len(up) != 1 || up[0].value() != "1" {
				return fmt.Errorf(`up{job="muninn"} = %v; target: %s`, up, describeTargets(ts))
			}
			return nil
		})
		eventually(t, "muninn_trace_objects_written_total for every node", phaseTimeout, watch, func() error {
			ss, err := api.query(`muninn_trace_objects_written_total{job="muninn"} > 0`)
			if err != nil {
				return err
			}
			if m := missing(nodes, nodeNamesOf(ss)); len(m) > 0 {
				return fmt.Errorf("no objects written yet for %v (have %v)", m, ss)
			}
			return nil
		})
	})

	// Prometheus accepts every node's exposition as Muninn writes it:
	// one failed line fails the whole scrape and shows as lastError.
	cardanoUp := t.Run("cardano targets up", func(t *testing.T) {
		eventually(t, "every cardano target up", phaseTimeout, watch, func() error {
			ts, err := api.targets("cardano")
			if err != nil {
				return err
			}
			have := map[string]bool{}
			for _, tg := range ts {
				have[tg.Labels["node_name"]] = true
				if tg.Health != "up" || tg.LastError != "" {
					return fmt.Errorf("not every target is up: %s", describeTargets(ts))
				}
				if tg.Labels["instance"] != tg.Labels["node_name"] || tg.Labels["environment"] != "test" {
					return errPermanent{fmt.Errorf("target labels %v: want instance = node_name (relabelled) and environment=test", tg.Labels)}
				}
			}
			if m := missing(nodes, have); len(m) > 0 {
				return fmt.Errorf("no target for %v: %s", m, describeTargets(ts))
			}
			return nil
		})
	})
	if !muninnUp || !cardanoUp {
		return // the queries below would only wait for data that cannot come
	}

	t.Run("node series", func(t *testing.T) {
		eventually(t, "cardano_node_metrics_slotNum_int for every node", phaseTimeout, watch, func() error {
			ss, err := api.query(`cardano_node_metrics_slotNum_int{job="cardano"}`)
			if err != nil {
				return err
			}
			if m := missing(nodes, nodeNamesOf(ss)); len(m) > 0 {
				return fmt.Errorf("no sample for %v (have %v)", m, ss)
			}
			for _, s := range ss {
				if v, err := strconv.ParseFloat(s.value(), 64); err != nil || v <= 0 {
					return errPermanent{fmt.Errorf("slotNum %v: want a positive slot", s)}
				}
				if s.Metric["instance"] != s.Metric["node_name"] || s.Metric["environment"] != "test" {
					return errPermanent{fmt.Errorf("slotNum labels %v: want instance = node_name and environment=test", s.Metric)}
				}
			}
			return nil
		})
		// The info-style build label keeps its labels (Grafana's version table).
		eventually(t, "cardano_node_metrics_cardano_build_info for every node", phaseTimeout, watch, func() error {
			ss, err := api.query(`cardano_node_metrics_cardano_build_info{job="cardano",version!=""} == 1`)
			if err != nil {
				return err
			}
			if m := missing(nodes, nodeNamesOf(ss)); len(m) > 0 {
				return fmt.Errorf("no build info with a version label for %v (have %v)", m, ss)
			}
			return nil
		})
	})

	// /metrics also carries every node's series, labelled node_name (the
	// single-scrape layout of dashboards/README.md). Prometheus drops them
	// in this setup (metric_relabel_configs), so they are read directly.
	t.Run("metrics route carries node series", func(t *testing.T) {
		eventually(t, "node series in /metrics", phaseTimeout, watch, func() error {
			code, _, body, err := httpGet(muninnURL+"/metrics", "")
			if err != nil {
				return err
			}
			if code != http.StatusOK {
				return fmt.Errorf("GET /metrics: HTTP %d", code)
			}
			have := map[string]bool{}
			for _, line := range strings.Split(string(body), "\n") {
				if !strings.HasPrefix(line, "cardano_node_metrics_slotNum_int{") {
					continue
				}
				for _, n := range nodes {
					if strings.Contains(line, `node_name="`+n+`"`) {
						have[n] = true
					}
				}
			}
			if m := missing(nodes, have); len(m) > 0 {
				return fmt.Errorf("GET /metrics has no cardano_node_metrics_slotNum_int{node_name=...} for %v", m)
			}
			return nil
		})
	})

	t.Run("dashboard expressions", func(t *testing.T) {
		checkDashboard(t, api, watch)
	})
}

// checkDashboard resolves the dashboard's template variables as Grafana
// would against api, then runs every panel query and wants each to
// return data; a query whose series carry node_name must return every
// node.
func checkDashboard(t *testing.T, api promAPI, watch []*proc) {
	d := loadDashboard(t)
	vals := map[string]string{}
	for _, v := range d.vars {
		switch v.Type {
		case "datasource":
			continue // panels name it in their datasource, not in expressions
		case "query":
		default:
			t.Fatalf("variable %s: type %q is not handled by this test", v.Name, v.Type)
		}
		m := labelValuesQuery.FindStringSubmatch(v.Query)
		if m == nil {
			t.Fatalf("variable %s: query %q is not label_values(metric, label)", v.Name, v.Query)
		}
		var got []string
		eventually(t, "values of variable "+v.Name, phaseTimeout, watch, func() error {
			var err error
			got, err = api.labelValues(m[2], m[1])
			if err != nil {
				return err
			}
			if len(got) == 0 {
				return fmt.Errorf("label_values(%s, %s) is empty", m[1], m[2])
			}
			if v.Name == "node_name" {
				have := map[string]bool{}
				for _, g := range got {
					have[g] = true
				}
				if miss := missing(nodes, have); len(miss) > 0 {
					return fmt.Errorf("label_values(%s, %s) = %v lacks %v", m[1], m[2], got, miss)
				}
			}
			return nil
		})
		if v.IncludeAll && v.AllValue != "" {
			vals[v.Name] = v.AllValue
		} else {
			vals[v.Name] = grafanaRegex(got) // "All", or every value selected
		}
		t.Logf("$%s = %s", v.Name, vals[v.Name])
	}

	type pending struct {
		q    dashQuery
		expr string
		last string
	}
	var todo []*pending
	for _, q := range d.queries {
		e, err := expand(q.Expr, vals)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		todo = append(todo, &pending{q: q, expr: e})
	}
	if len(todo) == 0 {
		t.Fatal("the dashboard has no queries")
	}
	t.Logf("running %d dashboard queries", len(todo))
	deadline := time.Now().Add(phaseTimeout)
	for len(todo) > 0 {
		var left []*pending
		for _, p := range todo {
			ss, err := api.query(p.expr)
			switch {
			case err != nil:
				if errors.As(err, new(errPermanent)) {
					t.Errorf("%s: %q: %v", p.q, p.expr, err)
					continue
				}
				p.last = err.Error()
			case len(ss) == 0:
				p.last = "empty result"
			default:
				names := nodeNamesOf(ss)
				if m := missing(nodes, names); len(names) > 0 && len(m) > 0 {
					p.last = fmt.Sprintf("no series for %v in %v", m, ss)
				} else {
					continue // done
				}
			}
			left = append(left, p)
		}
		todo = left
		if len(todo) == 0 {
			break
		}
		for _, p := range watch {
			if ok, err := p.exited(); ok {
				t.Fatalf("%s exited (%v) while running the dashboard queries", p.name, err)
			}
		}
		if time.Now().After(deadline) {
			for _, p := range todo {
				t.Errorf("%s: %q returned no data within %v: %s", p.q, p.expr, phaseTimeout, p.last)
			}
			return
		}
		time.Sleep(pollEvery) // polling Prometheus, bounded by the deadline
	}
}
