package config

import (
	"errors"
	"sort"
	"strings"
	"testing"
)

// want is one problem a bad file must produce: its key path, its sentinel
// and, when not 0, its line.
type want struct {
	path string
	err  error
	line int
}

func TestInvalidFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []want
	}{
		{"invalid-missing-magic.yaml", []want{{"networkMagic", ErrMissing, 0}}},
		{"invalid-magic-too-large.yaml", []want{{"networkMagic", ErrRange, 1}}},
		{"invalid-network-tag.yaml", []want{{"network.tag", ErrUnknownValue, 3}}},
		{"invalid-connectto-empty.yaml", []want{{"network.contents", ErrEmpty, 4}}},
		{"invalid-logging-empty.yaml", []want{{"logging", ErrEmpty, 5}}},
		{"invalid-logmode.yaml", []want{{"logging[0].logMode", ErrUnknownValue, 7}}},
		{"invalid-logformat.yaml", []want{{"logging[0].logFormat", ErrUnknownValue, 8}}},
		{"invalid-rotation-limit-string.yaml", []want{{"rotation.rpLogLimitBytes", ErrType, 10}}},
		{"invalid-duplicate-ports.yaml", []want{{"hasPrometheus.epPort", ErrDuplicatePort, 14}}},
		{"invalid-empty-ephost.yaml", []want{
			{"hasEKG.epHost", ErrEmpty, 10},
			{"hasPrometheus.epHost", ErrEmpty, 13},
		}},
		{"invalid-empty-logroot.yaml", []want{{"logging[1].logRoot", ErrEmpty, 9}}},
		{"invalid-lorequestnum-zero.yaml", []want{{"loRequestNum", ErrRange, 9}}},
		{"invalid-lorequestnum-large.yaml", []want{{"loRequestNum", ErrRange, 9}}},
		{"invalid-ekgrequestfreq-zero.yaml", []want{{"ekgRequestFreq", ErrRange, 9}}},
		{"invalid-ekgrequestfreq-negative.yaml", []want{{"ekgRequestFreq", ErrRange, 9}}},
		{"invalid-address-empty.yaml", []want{{"network.contents[1]", ErrAddress, 6}}},
		{"invalid-port-range.yaml", []want{{"hasPrometheus.epPort", ErrRange, 11}}},
		{"invalid-syntax.yaml", []want{{"", ErrSyntax, 4}}},
		{"invalid-not-mapping.yaml", []want{{"", ErrType, 1}}},
		{"invalid-two-documents.yaml", []want{{"", ErrInvalid, 9}}},
		{"invalid-forwarding-shape.yaml", []want{{"hasForwarding", ErrInvalid, 9}}},
		{"invalid-forwarding-options.yaml", []want{
			{"hasForwarding[2].verbosity", ErrUnknownValue, 13},
			{"hasForwarding[2].queueSize", ErrRange, 14},
			{"hasForwarding[2].maxReconnectDelay", ErrRange, 15},
		}},
		{"invalid-quoted-bool.yaml", []want{
			{"ekgRequestFull", ErrType, 9},
			{"metricsNoSuffix", ErrType, 10},
		}},
		{"invalid-resourcefreq.yaml", []want{{"resourceFreq", ErrRange, 9}}},
		{"invalid-several.yaml", []want{
			{"networkMagic", ErrRange, 2},
			{"network.contents", ErrType, 5},
			{"logging[0].logFormat", ErrUnknownValue, 9},
			{"logging[1].logRoot", ErrMissing, 10},
			{"loRequestNum", ErrRange, 12},
			{"ekgRequestFreq", ErrType, 13},
			{"hasPrometheus.epHost", ErrEmpty, 18},
			{"hasPrometheus.epPort", ErrDuplicatePort, 19},
			{"rotation.rpLogLimitBytes", ErrRange, 21},
			{"rotation.rpKeepFilesNum", ErrMissing, 20},
			{"verbosity", ErrUnknownValue, 22},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			c, _, err := load(t, tc.file)
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			if c != nil {
				t.Errorf("config %+v returned with an error", c)
			}
			checkProblems(t, err, testdata(tc.file), tc.want)
		})
	}
}

// checkProblems asserts that err holds exactly the wanted problems (by
// path), each wrapping its sentinel, at its line, naming source.
func checkProblems(t *testing.T, err error, source string, wants []want) {
	t.Helper()
	var first *Problem
	if !errors.As(err, &first) {
		t.Fatalf("error %v holds no *Problem", err)
	}
	problems := Problems(err)
	byPath := map[string]*Problem{}
	for _, p := range problems {
		if p.Source != source {
			t.Errorf("problem %v: source %q, want %q", p, p.Source, source)
		}
		if _, dup := byPath[p.Path]; dup {
			t.Errorf("two problems for %q: %v", p.Path, err)
		}
		byPath[p.Path] = p
	}
	var got, exp []string
	for p := range byPath {
		got = append(got, p)
	}
	for _, w := range wants {
		exp = append(exp, w.path)
		p, ok := byPath[w.path]
		if !ok {
			continue
		}
		if !errors.Is(p, w.err) {
			t.Errorf("%q: %v does not wrap %v", w.path, p, w.err)
		}
		if w.line != 0 && p.Line != w.line {
			t.Errorf("%q: line %d, want %d", w.path, p.Line, w.line)
		}
	}
	sort.Strings(got)
	sort.Strings(exp)
	if strings.Join(got, ",") != strings.Join(exp, ",") {
		t.Errorf("problem paths %q, want %q\nerror:\n%v", got, exp, err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, _, err := Load(testdata("does-not-exist.yaml"))
	if err == nil || Problems(err) != nil {
		t.Fatalf("err = %v, want a plain read error", err)
	}
}

func TestValidateProgrammatic(t *testing.T) {
	t.Parallel()
	good := func() *Config { return Default("/srv/muninn") }
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []want
	}{
		{"default is valid", func(*Config) {}, nil},
		{"zero network", func(c *Config) { c.Network = Network{} }, []want{{"network.tag", ErrUnknownValue, 0}}},
		{"AcceptAt with two addresses", func(c *Config) {
			c.Network.Addresses = append(c.Network.Addresses, c.Network.Addresses[0])
		}, []want{{"network.contents", ErrInvalid, 0}}},
		{"zero address", func(c *Config) { c.Network.Addresses[0] = Address{} }, []want{{"network.contents", ErrAddress, 0}}},
		{"no logging", func(c *Config) { c.Logging = nil }, []want{{"logging", ErrEmpty, 0}}},
		{"zero logging entry", func(c *Config) { c.Logging[0] = Logging{} }, []want{
			{"logging[0].logMode", ErrUnknownValue, 0}, {"logging[0].logFormat", ErrUnknownValue, 0},
		}},
		{"port range", func(c *Config) { c.HasPrometheus.Port = -1 }, []want{{"hasPrometheus.epPort", ErrRange, 0}}},
		{"rotation", func(c *Config) { c.Rotation = &Rotation{} }, []want{
			{"rotation.rpFrequencySecs", ErrRange, 0}, {"rotation.rpLogLimitBytes", ErrRange, 0},
		}},
		{"forwarding", func(c *Config) { c.HasForwarding = &Forwarding{Verbosity: ErrorsOnly, MaxReconnectDelay: -1} }, []want{
			{"hasForwarding[0].tag", ErrUnknownValue, 0},
			{"hasForwarding[2].queueSize", ErrRange, 0},
			{"hasForwarding[2].verbosity", ErrUnknownValue, 0},
			{"hasForwarding[2].maxReconnectDelay", ErrRange, 0},
		}},
		{"metricsHelp empty", func(c *Config) { c.MetricsHelp = &MetricsHelp{} }, []want{{"metricsHelp", ErrEmpty, 0}}},
		{"metricsHelp both", func(c *Config) { c.MetricsHelp = &MetricsHelp{File: "/f", Map: map[string]string{}} }, []want{{"metricsHelp", ErrInvalid, 0}}},
		{"verbosity", func(c *Config) { c.Verbosity = 9 }, []want{{"verbosity", ErrUnknownValue, 0}}},
		{"tls", func(c *Config) { c.TLSCertificate = &TLSCertificate{Chain: []string{""}} }, []want{
			{"tlsCertificate.certificateFile", ErrEmpty, 0},
			{"tlsCertificate.certificateKeyFile", ErrEmpty, 0},
			{"tlsCertificate.certificateChain[0]", ErrEmpty, 0},
		}},
		{"NUL in a path", func(c *Config) { c.Logging[0].Root = "/a\x00b" }, []want{{"logging[0].logRoot", ErrInvalid, 0}}},
		{"negative resourceFreq", func(c *Config) { c.ResourceFreq = -1 }, []want{{"resourceFreq", ErrRange, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := good()
			tc.mutate(c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate: no error")
			}
			checkProblems(t, err, "", tc.want)
		})
	}
	var nilConfig *Config
	if err := nilConfig.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil Validate: %v", err)
	}
}
