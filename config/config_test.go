package config

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testWorkDir is the working directory given to every parse: it need not
// exist, and fixes every resolved path.
const testWorkDir = "/srv/muninn"

func testdata(name string) string { return filepath.Join("..", "testdata", "config", name) }

func load(t *testing.T, name string) (*Config, []Warning, error) {
	t.Helper()
	return Load(testdata(name), WithWorkDir(testWorkDir))
}

func mustLoad(t *testing.T, name string) (*Config, []Warning) {
	t.Helper()
	c, ws, err := load(t, name)
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return c, ws
}

func TestMinimalDefaults(t *testing.T) {
	t.Parallel()
	c, ws := mustLoad(t, "valid-minimal.yaml")
	if len(ws) != 0 {
		t.Errorf("warnings: %v", ws)
	}
	want := &Config{
		NetworkMagic: 764824073,
		Network: Network{Mode: AcceptAt, Addresses: []Address{{
			Raw: "/run/cardano-tracer/tracer.socket", Net: "unix", Addr: "/run/cardano-tracer/tracer.socket",
		}}},
		Logging:        []Logging{{Root: "/var/lib/cardano-tracer/logs", Mode: FileMode, Format: ForMachine}},
		LoRequestNum:   100,
		EKGRequestFreq: time.Second,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if c.Rotation != nil {
		t.Errorf("Rotation = %+v, want nil (no rotation)", c.Rotation)
	}
	if c.Verbosity != VerbosityUnset || c.Verbosity.Effective() != ErrorsOnly {
		t.Errorf("Verbosity = %v (effective %v), want unset behaving as ErrorsOnly", c.Verbosity, c.Verbosity.Effective())
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestCompleteExample(t *testing.T) {
	t.Parallel()
	c, ws := mustLoad(t, "valid-complete.yaml")
	if len(ws) != 0 {
		t.Errorf("warnings: %v", ws)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"NetworkMagic", c.NetworkMagic, uint32(764824073)},
		{"Network", c.Network, Network{Mode: AcceptAt, Addresses: []Address{{
			Raw: "0.0.0.0:34567", Net: "tcp", Addr: "0.0.0.0:34567", Host: "0.0.0.0", Port: 34567,
		}}}},
		{"LoRequestNum", c.LoRequestNum, uint16(100)},
		{"EKGRequestFreq", c.EKGRequestFreq, time.Second},
		{"EKGRequestFull", c.EKGRequestFull, false},
		{"HasEKG", c.HasEKG, &Endpoint{Host: "127.0.0.1", Port: 12788}},
		{"HasPrometheus", c.HasPrometheus, &Endpoint{Host: "127.0.0.1", Port: 12808}},
		{"HasTimeseries", c.HasTimeseries, &Endpoint{Host: "127.0.0.1", Port: 3400}},
		{"TLSCertificate", c.TLSCertificate, &TLSCertificate{
			CertFile: "/etc/cardano-tracer/tls/cert.pem",
			KeyFile:  "/etc/cardano-tracer/tls/key.pem",
			Chain:    []string{"/etc/cardano-tracer/tls/intermediate.pem"},
		}},
		{"Logging", c.Logging, []Logging{
			{Root: "/var/lib/cardano-tracer/logs-json", Mode: FileMode, Format: ForMachine},
			{Root: "/var/lib/cardano-tracer/logs-text", Mode: FileMode, Format: ForHuman},
			{Root: "/unused", Mode: JournalMode, Format: ForHuman},
		}},
		{"Rotation", c.Rotation, &Rotation{Frequency: 60 * time.Second, LogLimit: 100 << 20, KeepFiles: 10, MaxAge: 24 * time.Hour}},
		{"Verbosity", c.Verbosity, ErrorsOnly},
		{"MetricsNoSuffix", c.MetricsNoSuffix, false},
		{"MetricsHelp", c.MetricsHelp, &MetricsHelp{File: "/etc/cardano-tracer/metrics_help.json"}},
		{"PrometheusLabels", c.PrometheusLabels, map[string]string{"environment": "mainnet", "role": "relay"}},
		{"ResourceFreq", c.ResourceFreq, time.Minute},
		{"HasForwarding", c.HasForwarding, &Forwarding{
			Network: Network{Mode: AcceptAt, Addresses: []Address{{
				Raw: "/run/cardano-tracer/reforward.socket", Net: "unix", Addr: "/run/cardano-tracer/reforward.socket",
			}}},
			Namespaces:        [][]string{{"ChainDB"}, {"BlockFetch", "Client"}},
			QueueSize:         1000,
			Verbosity:         Minimum,
			MaxReconnectDelay: 45 * time.Second,
		}},
	}
	for _, tc := range checks {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
}

func TestJSONEqualsYAML(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"valid-minimal", "valid-complete"} {
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			y, _ := mustLoad(t, base+".yaml")
			j, _ := mustLoad(t, base+".json")
			if !reflect.DeepEqual(y, j) {
				t.Errorf("YAML and JSON differ:\nyaml %+v\njson %+v", y, j)
			}
		})
	}
}

func TestRelativePathsResolveAgainstWorkDir(t *testing.T) {
	t.Parallel()
	src := `
networkMagic: 1
network: {tag: ConnectTo, contents: [node1.sock, "./node1.sock", sub/../node2.sock, "10.0.0.5:3000"]}
logging:
  - {logRoot: logs, logMode: FileMode, logFormat: ForHuman}
  - {logRoot: ./logs, logMode: FileMode, logFormat: ForHuman}
  - {logRoot: logs, logMode: FileMode, logFormat: ForMachine}
tlsCertificate: {certificateFile: tls/cert.pem, certificateKeyFile: /abs/key.pem}
metricsHelp: help.json
`
	c, ws, err := Parse([]byte(src), "rel.yaml", WithWorkDir(testWorkDir))
	if err != nil {
		t.Fatal(err)
	}
	wantAddrs := []Address{
		{Raw: "node1.sock", Net: "unix", Addr: "/srv/muninn/node1.sock"},
		{Raw: "sub/../node2.sock", Net: "unix", Addr: "/srv/muninn/node2.sock"},
		{Raw: "10.0.0.5:3000", Net: "tcp", Addr: "10.0.0.5:3000", Host: "10.0.0.5", Port: 3000},
	}
	if !reflect.DeepEqual(c.Network.Addresses, wantAddrs) {
		t.Errorf("addresses = %+v, want %+v", c.Network.Addresses, wantAddrs)
	}
	wantLogging := []Logging{
		{Root: "/srv/muninn/logs", Mode: FileMode, Format: ForHuman},
		{Root: "/srv/muninn/logs", Mode: FileMode, Format: ForMachine},
	}
	if !reflect.DeepEqual(c.Logging, wantLogging) {
		t.Errorf("logging = %+v, want %+v", c.Logging, wantLogging)
	}
	if c.TLSCertificate.CertFile != "/srv/muninn/tls/cert.pem" || c.TLSCertificate.KeyFile != "/abs/key.pem" {
		t.Errorf("tls = %+v", c.TLSCertificate)
	}
	if c.MetricsHelp.File != "/srv/muninn/help.json" {
		t.Errorf("metricsHelp = %+v", c.MetricsHelp)
	}
	wantWarn := map[string]bool{"network.contents[1]": true, "logging[1]": true}
	for _, w := range ws {
		if !wantWarn[w.Path] {
			t.Errorf("unexpected warning %v", w)
		}
		delete(wantWarn, w.Path)
	}
	for p := range wantWarn {
		t.Errorf("no duplicate warning for %s", p)
	}
}
