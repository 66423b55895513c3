package config

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		paths []string // the key path of every warning, in any order
		check func(t *testing.T, c *Config)
	}{
		{"warn-removed-keys.yaml", []string{"hasRTView", "metricsComp"}, nil},
		{"warn-typo.yaml", []string{"rotation.rpKeepFilesNumber", "rotation.rpMaxAgeMinute", "loRequestNumber"}, func(t *testing.T, c *Config) {
			if c.Rotation.KeepFiles != 10 || c.Rotation.MaxAge != 24*time.Hour || c.LoRequestNum != 100 {
				t.Errorf("rotation %+v, loRequestNum %d", c.Rotation, c.LoRequestNum)
			}
		}},
		{"warn-hasekg-list.yaml", []string{"hasEKG"}, func(t *testing.T, c *Config) {
			if want := (&Endpoint{Host: "127.0.0.1", Port: 12788}); !reflect.DeepEqual(c.HasEKG, want) {
				t.Errorf("HasEKG = %+v, want %+v", c.HasEKG, want)
			}
		}},
		{"warn-rotation-fallback.yaml", []string{"rotation.rpFrequencySecs", "rotation.rpMaxAgeMinutes"}, func(t *testing.T, c *Config) {
			want := &Rotation{Frequency: 60 * time.Second, LogLimit: 10 << 20, KeepFiles: 10, MaxAge: 12 * time.Hour}
			if !reflect.DeepEqual(c.Rotation, want) {
				t.Errorf("Rotation = %+v, want %+v", c.Rotation, want)
			}
		}},
		{"warn-rotation-age-default.yaml", []string{"rotation.rpFrequencySecs", "rotation.rpMaxAgeMinutes"}, func(t *testing.T, c *Config) {
			if c.Rotation.Frequency != time.Minute || c.Rotation.MaxAge != 24*time.Hour {
				t.Errorf("Rotation = %+v", c.Rotation)
			}
		}},
		{"warn-misc.yaml", []string{
			"loRequestNum", "hasPrometheus.epForceSSL", "metricsHelp", "rotation.rpMaxAgeHours",
			"hasForwarding[0].tag", "hasForwarding[0].contents[1]", "hasForwarding[2].connQueueSize",
		}, func(t *testing.T, c *Config) {
			if c.LoRequestNum != 60 || !c.HasPrometheus.ForceSSL || c.MetricsHelp != nil || c.Rotation.MaxAge != 90*time.Minute {
				t.Errorf("config %+v", c)
			}
			f := c.HasForwarding
			if f.Network.Mode != ConnectTo || len(f.Network.Addresses) != 1 || f.Namespaces != nil || f.QueueSize != 500 {
				t.Errorf("forwarding %+v", f)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			c, ws := mustLoad(t, tc.file)
			var got []string
			for _, w := range ws {
				got = append(got, w.Path)
				if w.Source != testdata(tc.file) || w.Line == 0 || w.Message == "" {
					t.Errorf("warning %+v: want source, line and message", w)
				}
			}
			want := append([]string(nil), tc.paths...)
			sort.Strings(got)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("warning paths %q, want %q\n%v", got, want, ws)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestTypoSuggestion(t *testing.T) {
	t.Parallel()
	_, ws := mustLoad(t, "warn-typo.yaml")
	for _, w := range ws {
		if w.Path == "rotation.rpKeepFilesNumber" && !strings.Contains(w.Message, `"rpKeepFilesNum"`) {
			t.Errorf("no suggestion in %v", w)
		}
	}
}

// A misspelt required key gives both the error and the warning that
// explains it.
func TestWarningsComeWithErrors(t *testing.T) {
	t.Parallel()
	src := `
networkMagic: 1
network: {tag: AcceptAt, contents: /tmp/s.sock}
loging:
  - {logRoot: /tmp/logs, logMode: FileMode, logFormat: ForHuman}
`
	c, ws, err := Parse([]byte(src), "typo.yaml", WithWorkDir(testWorkDir))
	if c != nil || !errors.Is(err, ErrMissing) {
		t.Fatalf("config %v, err %v", c, err)
	}
	if len(ws) != 1 || ws[0].Path != "loging" || !strings.Contains(ws[0].Message, `"logging"`) {
		t.Errorf("warnings %v", ws)
	}
}
