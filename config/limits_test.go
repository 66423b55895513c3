package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLimits(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../testdata/config/valid-limits.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, warns, err := Parse(data, "valid-limits.yaml", WithWorkDir("/"))
	if err != nil || len(warns) != 0 {
		t.Fatalf("parse: %v, warnings %v", err, warns)
	}
	want := Limits{MaxConnections: 500, IngressLimit: 16 << 20, MaxMessageSize: 8 << 20, MaxMetricsPerNode: 5000, HTTPMaxConcurrent: 32,
		HTTPReadHeaderTimeout: 5 * time.Second, HTTPIdleTimeout: 60500 * time.Millisecond, HTTPMaxHeaderBytes: 32768}
	if c.Limits != want {
		t.Fatalf("limits %+v, want %+v", c.Limits, want)
	}

	data, err = os.ReadFile("../testdata/config/invalid-limits.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, warns, err = Parse(data, "invalid-limits.yaml", WithWorkDir("/"))
	var paths []string
	for _, p := range Problems(err) {
		paths = append(paths, p.Path)
	}
	for _, key := range []string{"muninnLimits.maxConnections", "muninnLimits.ingressLimitBytes", "muninnLimits.httpIdleTimeoutSecs"} {
		if !slices.Contains(paths, key) {
			t.Errorf("no problem named %s in %v", key, paths)
		}
	}
	if !errors.Is(err, ErrType) && !errors.Is(err, ErrRange) {
		t.Errorf("err = %v", err)
	}
	if len(warns) != 1 || warns[0].Path != "muninnLimits.maxConection" {
		t.Errorf("warnings %v, want one for the typo", warns)
	}
}

// TestLimitsMessageAboveIngress: a maxMessageBytes that the ingress limit
// (set, or its default) could never buffer is an error naming the file,
// the line and the key.
func TestLimitsMessageAboveIngress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		limits string // the lines under muninnLimits
		line   int    // of the problem, 0 for none
	}{
		{"  ingressLimitBytes: 1048576\n  maxMessageBytes: 2097152", 6},
		{"  maxMessageBytes: 104857600", 5}, // above the default 64 MiB
		{"  maxMessageBytes: 67108864", 0},
		{"  ingressLimitBytes: 1048576\n  maxMessageBytes: 1048576", 0},
		{"  ingressLimitBytes: 1048576", 0}, // the default message size follows the limit down
	} {
		data := "networkMagic: 764824073\nnetwork: {tag: AcceptAt, contents: /run/m.sock}\n" +
			"logging: [{logRoot: /l, logMode: FileMode, logFormat: ForMachine}]\nmuninnLimits:\n" + tc.limits + "\n"
		_, _, err := Parse([]byte(data), "limits.yaml", WithWorkDir("/"))
		if tc.line == 0 {
			if err != nil {
				t.Errorf("%q: %v", tc.limits, err)
			}
			continue
		}
		ps := Problems(err)
		if len(ps) != 1 || ps[0].Path != "muninnLimits.maxMessageBytes" || !errors.Is(err, ErrRange) {
			t.Errorf("%q: %v, want one range problem at muninnLimits.maxMessageBytes", tc.limits, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("limits.yaml:%d", tc.line)) || !strings.Contains(msg, "ingressLimitBytes") {
			t.Errorf("%q: %q names neither the file and the key's line %d nor the other key", tc.limits, msg, tc.line)
		}
	}
}
