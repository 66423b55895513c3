package config

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

const baseYAML = `networkMagic: 764824073
network: {tag: AcceptAt, contents: /tmp/tracer.sock}
logging: [{logRoot: /tmp/logs, logMode: FileMode, logFormat: ForMachine}]
`

func parseExtra(t *testing.T, extra string) (*Config, []Warning, error) {
	t.Helper()
	return Parse([]byte(baseYAML+extra), "extra.yaml", WithWorkDir(testWorkDir))
}

func TestScalars(t *testing.T) {
	t.Parallel()
	tests := []struct {
		extra string
		check func(c *Config) bool
	}{
		// Durations: seconds with fractions, milliseconds.
		{"ekgRequestFreq: 0.5", func(c *Config) bool { return c.EKGRequestFreq == 500*time.Millisecond }},
		{"ekgRequestFreq: 2", func(c *Config) bool { return c.EKGRequestFreq == 2*time.Second }},
		{"ekgRequestFreq: 1.5e-3", func(c *Config) bool { return c.EKGRequestFreq == 1500*time.Microsecond }},
		{"ekgRequestFreq: 0.0000000015", func(c *Config) bool { return c.EKGRequestFreq == time.Nanosecond }},
		{"resourceFreq: 1500", func(c *Config) bool { return c.ResourceFreq == 1500*time.Millisecond }},
		// Data.Yaml's booleans, in three cases each; null is absent.
		{"ekgRequestFull: true", func(c *Config) bool { return c.EKGRequestFull }},
		{"ekgRequestFull: yes", func(c *Config) bool { return c.EKGRequestFull }},
		{"ekgRequestFull: On", func(c *Config) bool { return c.EKGRequestFull }},
		{"ekgRequestFull: Y", func(c *Config) bool { return c.EKGRequestFull }},
		{"ekgRequestFull: TRUE", func(c *Config) bool { return c.EKGRequestFull }},
		{"metricsNoSuffix: true\nmetricsNoSuffix: off", func(c *Config) bool { return !c.MetricsNoSuffix }},
		{"ekgRequestFull: ~", func(c *Config) bool { return !c.EKGRequestFull }},
		{"loRequestNum: null", func(c *Config) bool { return c.LoRequestNum == 100 }},
		{"loRequestNum:", func(c *Config) bool { return c.LoRequestNum == 100 }},
		{"hasEKG: null\nrotation: ~\nhasForwarding: NULL", func(c *Config) bool {
			return c.HasEKG == nil && c.Rotation == nil && c.HasForwarding == nil
		}},
		// Numbers as Data.Yaml reads them.
		{"loRequestNum: 0777", func(c *Config) bool { return c.LoRequestNum == 777 }},
		{"loRequestNum: 0x1F", func(c *Config) bool { return c.LoRequestNum == 31 }},
		{"loRequestNum: 0o17", func(c *Config) bool { return c.LoRequestNum == 15 }},
		{"loRequestNum: 1e3", func(c *Config) bool { return c.LoRequestNum == 1000 }},
		{"loRequestNum: 250.0", func(c *Config) bool { return c.LoRequestNum == 250 }},
		{"loRequestNum: +7", func(c *Config) bool { return c.LoRequestNum == 7 }},
		{"rotation: {rpLogLimitBytes: 18446744073709551615, rpKeepFilesNum: 4294967295, rpMaxAgeHours: 18446744073709551615}",
			func(c *Config) bool {
				return c.Rotation.LogLimit == 1<<64-1 && c.Rotation.KeepFiles == 1<<32-1 && c.Rotation.MaxAge == time.Duration(1<<63-1)
			}},
		{"rotation: {rpLogLimitBytes: 1, rpKeepFilesNum: 0, rpMaxAgeMinutes: 0}", func(c *Config) bool {
			return c.Rotation.KeepFiles == 0 && c.Rotation.MaxAge == 0
		}},
		// Strings: any scalar's text.
		{"hasPrometheus: {epHost: '*', epPort: 9100}\nmetricsHelp: 2024", func(c *Config) bool {
			return c.HasPrometheus.Host == "*" && c.MetricsHelp.File == "/srv/muninn/2024"
		}},
		{"prometheusLabels: {a: 1, b: yes, c: x}", func(c *Config) bool {
			return reflect.DeepEqual(c.PrometheusLabels, map[string]string{"a": "1", "b": "yes", "c": "x"})
		}},
		{"prometheusLabels: {}", func(c *Config) bool { return c.PrometheusLabels == nil }},
		{"metricsHelp: {Mem.resident: RSS, empty: ''}", func(c *Config) bool {
			return reflect.DeepEqual(c.MetricsHelp, &MetricsHelp{Map: map[string]string{"Mem.resident": "RSS", "empty": ""}})
		}},
		{"metricsHelp: {}", func(c *Config) bool { return c.MetricsHelp.Map != nil && len(c.MetricsHelp.Map) == 0 }},
		{"verbosity: Maximum", func(c *Config) bool { return c.Verbosity == Maximum && c.Verbosity.Effective() == Maximum }},
		{"verbosity: Minimum", func(c *Config) bool { return c.Verbosity == Minimum }},
		// Forwarding defaults and the older queue size fields.
		{"hasForwarding: [{tag: AcceptAt, contents: /tmp/f.sock}, null, {}]", func(c *Config) bool {
			f := c.HasForwarding
			return f.Namespaces == nil && f.QueueSize == 192 && f.Verbosity == Minimum && f.MaxReconnectDelay == 45*time.Second
		}},
		{"hasForwarding: [{tag: AcceptAt, contents: /tmp/f.sock}, [], {connQueueSize: 1000, verbosity: Maximum, maxReconnectDelay: 5}]", func(c *Config) bool {
			f := c.HasForwarding
			return f.Namespaces != nil && len(f.Namespaces) == 0 && f.QueueSize == 1000 && f.Verbosity == Maximum && f.MaxReconnectDelay == 5*time.Second
		}},
		{"hasForwarding: [{tag: AcceptAt, contents: /tmp/f.sock}, null, {connQueueSize: 10, disconnQueueSize: 20}]", func(c *Config) bool {
			return c.HasForwarding.QueueSize == 20
		}},
		{"hasForwarding: [{tag: AcceptAt, contents: /tmp/f.sock}, null, null]", func(c *Config) bool {
			return c.HasForwarding.QueueSize == 192
		}},
		{"tlsCertificate: {certificateFile: c.pem, certificateKeyFile: k.pem, certificateChain: null}", func(c *Config) bool {
			return reflect.DeepEqual(c.TLSCertificate, &TLSCertificate{CertFile: "/srv/muninn/c.pem", KeyFile: "/srv/muninn/k.pem"})
		}},
		// Ports: any Int; hasTimeseries may share hasEKG's port.
		{"hasEKG: {epHost: h, epPort: 0}\nhasTimeseries: {epHost: h, epPort: 0}", func(c *Config) bool {
			return c.HasEKG.Port == 0 && c.HasTimeseries.Port == 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.extra, func(t *testing.T) {
			t.Parallel()
			c, ws, err := parseExtra(t, tc.extra)
			if err != nil {
				t.Fatalf("%v (warnings %v)", err, ws)
			}
			if !tc.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestScalarErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		extra string
		path  string
		err   error
	}{
		{"ekgRequestFull: 'yes'", "ekgRequestFull", ErrType},
		{"ekgRequestFull: yEs", "ekgRequestFull", ErrType},
		{"ekgRequestFull: 1", "ekgRequestFull", ErrType},
		{"loRequestNum: '100'", "loRequestNum", ErrType},
		{"loRequestNum: 1_000", "loRequestNum", ErrType},
		{"loRequestNum: 1.5", "loRequestNum", ErrType},
		{"loRequestNum: -1", "loRequestNum", ErrRange},
		{"loRequestNum: .inf", "loRequestNum", ErrType},
		{"loRequestNum: 1e99999999", "loRequestNum", ErrRange},
		{"loRequestNum: " + strings.Repeat("9", 500), "loRequestNum", ErrRange},
		{"ekgRequestFreq: 1e-10", "ekgRequestFreq", ErrRange},
		{"ekgRequestFreq: 1e10", "ekgRequestFreq", ErrRange},
		{"ekgRequestFreq: [1]", "ekgRequestFreq", ErrType},
		{"resourceFreq: 1.5", "resourceFreq", ErrType},
		{"resourceFreq: -100", "resourceFreq", ErrRange},
		{"hasEKG: []", "hasEKG", ErrEmpty},
		{"hasEKG: [null]", "hasEKG", ErrType},
		{"hasEKG: 12788", "hasEKG", ErrType},
		{"hasEKG: {epPort: 1}", "hasEKG.epHost", ErrMissing},
		{"hasEKG: {epHost: h, epPort: 1.5}", "hasEKG.epPort", ErrType},
		{"hasEKG: {epHost: h, epPort: 1, epForceSSL: 'no'}", "hasEKG.epForceSSL", ErrType},
		{"hasTimeseries: {epHost: h, epPort: -1}", "hasTimeseries.epPort", ErrRange},
		{"tlsCertificate: {certificateFile: c.pem}", "tlsCertificate.certificateKeyFile", ErrMissing},
		{"tlsCertificate: {certificateFile: c, certificateKeyFile: k, certificateChain: [[x]]}", "tlsCertificate.certificateChain[0]", ErrType},
		{"rotation: {rpKeepFilesNum: 1}", "rotation.rpLogLimitBytes", ErrMissing},
		{"rotation: {rpLogLimitBytes: 1, rpKeepFilesNum: -1}", "rotation.rpKeepFilesNum", ErrRange},
		{"rotation: [1]", "rotation", ErrType},
		{"hasForwarding: {tag: AcceptAt}", "hasForwarding", ErrType},
		{"hasForwarding: [null, null, {}]", "hasForwarding[0]", ErrMissing},
		{"hasForwarding: [{tag: AcceptAt, contents: /f}, [ChainDB], {}]", "hasForwarding[1][0]", ErrType},
		{"hasForwarding: [{tag: AcceptAt, contents: /f}, [[[x]]], {}]", "hasForwarding[1][0][0]", ErrType},
		{"hasForwarding: [{tag: AcceptAt, contents: /f}, null, {queueSize: '5'}]", "hasForwarding[2].queueSize", ErrType},
		{"hasForwarding: [{tag: AcceptAt, contents: /f}, null, {disconnQueueSize: -5}]", "hasForwarding[2].disconnQueueSize", ErrRange},
		{"hasForwarding: [{tag: AcceptAt, contents: /f}, null, []]", "hasForwarding[2]", ErrType},
		{"metricsHelp: [a]", "metricsHelp", ErrType},
		{"metricsHelp: {a: [b]}", "metricsHelp.a", ErrType},
		{"prometheusLabels: {a: null}", "prometheusLabels.a", ErrType},
		{"prometheusLabels: [a]", "prometheusLabels", ErrType},
		{"verbosity: errorsonly", "verbosity", ErrUnknownValue},
		{"? [a]\n: b", "", ErrType},
	}
	for _, tc := range tests {
		t.Run(tc.extra, func(t *testing.T) {
			t.Parallel()
			c, _, err := parseExtra(t, tc.extra)
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			ps := Problems(err)
			if len(ps) != 1 || ps[0].Path != tc.path || !errors.Is(ps[0], tc.err) {
				t.Errorf("problems %v, want one at %q wrapping %v", err, tc.path, tc.err)
			}
		})
	}
}

func TestNetworkShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		network string
		want    Network
		path    string // problem path, when an error is expected
		err     error
	}{
		{network: "{tag: ConnectTo, contents: [/a.sock, '1.2.3.4:5', /a.sock]}", want: Network{Mode: ConnectTo, Addresses: []Address{
			{Raw: "/a.sock", Net: "unix", Addr: "/a.sock"},
			{Raw: "1.2.3.4:5", Net: "tcp", Addr: "1.2.3.4:5", Host: "1.2.3.4", Port: 5},
		}}},
		{network: "{tag: AcceptAt, contents: [/a.sock]}", path: "network.contents", err: ErrType},
		{network: "{tag: ConnectTo, contents: /a.sock}", path: "network.contents", err: ErrType},
		{network: "{tag: AcceptAt}", path: "network.contents", err: ErrMissing},
		{network: "{contents: /a.sock}", path: "network.tag", err: ErrMissing},
		{network: "{tag: acceptat, contents: /a.sock}", path: "network.tag", err: ErrUnknownValue},
		{network: "{tag: AcceptAt, contents: ''}", path: "network.contents", err: ErrAddress},
		{network: "{tag: AcceptAt, contents: \"/a\\0b\"}", path: "network.contents", err: ErrAddress},
		{network: "{tag: ConnectTo, contents: [{a: b}]}", path: "network.contents[0]", err: ErrType},
		{network: "/a.sock", path: "network", err: ErrType},
	}
	for _, tc := range tests {
		t.Run(tc.network, func(t *testing.T) {
			t.Parallel()
			src := "networkMagic: 1\nnetwork: " + tc.network + "\nlogging: [{logRoot: /l, logMode: FileMode, logFormat: ForHuman}]\n"
			c, _, err := Parse([]byte(src), "net.yaml", WithWorkDir(testWorkDir))
			if tc.err != nil {
				ps := Problems(err)
				if len(ps) != 1 || ps[0].Path != tc.path || !errors.Is(ps[0], tc.err) {
					t.Errorf("problems %v, want one at %q wrapping %v", err, tc.path, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Network, tc.want) {
				t.Errorf("network %+v, want %+v", c.Network, tc.want)
			}
		})
	}
}

// Anchors, aliases and "<<" merge keys work as in Data.Yaml.
func TestAliasesAndMerges(t *testing.T) {
	t.Parallel()
	src := `
networkMagic: &magic 764824073
network: {tag: AcceptAt, contents: /tmp/t.sock}
defaults: &log {logMode: FileMode, logFormat: ForMachine}
logging:
  - <<: *log
    logRoot: /tmp/a
  - {logRoot: /tmp/b, <<: *log, logFormat: ForHuman}
  - <<: [{logRoot: /tmp/c, logMode: JournalMode}, *log]
hasEKG: &ep {epHost: 127.0.0.1, epPort: 12788}
hasTimeseries: *ep
prometheusLabels: {magic: *magic}
`
	c, ws, err := Parse([]byte(src), "merge.yaml", WithWorkDir(testWorkDir))
	if err != nil {
		t.Fatal(err)
	}
	wantLogging := []Logging{
		{Root: "/tmp/a", Mode: FileMode, Format: ForMachine},
		{Root: "/tmp/b", Mode: FileMode, Format: ForHuman},
		{Root: "/tmp/c", Mode: JournalMode, Format: ForMachine},
	}
	if !reflect.DeepEqual(c.Logging, wantLogging) {
		t.Errorf("logging %+v, want %+v", c.Logging, wantLogging)
	}
	if !reflect.DeepEqual(c.HasEKG, c.HasTimeseries) || c.PrometheusLabels["magic"] != "764824073" {
		t.Errorf("config %+v", c)
	}
	if len(ws) != 1 || ws[0].Path != "defaults" {
		t.Errorf("warnings %v, want one for the unknown key defaults", ws)
	}
}

// Self-referencing anchors and alias bombs end in an error, not a hang.
func TestHostileDocuments(t *testing.T) {
	t.Parallel()
	bomb := "a0: &a0 {k: v}\n"
	for i := 1; i < 30; i++ {
		bomb += "a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " {<<: [*a" + strconv.Itoa(i-1) + ", *a" + strconv.Itoa(i-1) + "], x" + strconv.Itoa(i) + ": [*a" + strconv.Itoa(i-1) + ", *a" + strconv.Itoa(i-1) + "]}\n"
	}
	tests := map[string]string{
		"merge cycle":    "networkMagic: 1\nnetwork: &n {<<: *n}\n",
		"sequence cycle": "networkMagic: 1\nhasForwarding: &f [*f, *f, *f]\n",
		"merge bomb":     bomb + "network:\n  <<: *a29\n",
		"label bomb":     bomb + "prometheusLabels:\n  <<: *a29\n",
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, _, err := Parse([]byte(src), name, WithWorkDir(testWorkDir))
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
		})
	}
}
