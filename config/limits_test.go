package config

import (
	"errors"
	"os"
	"slices"
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
