package loadgen

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"muninn/tracer"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	ok := Config{Nodes: 1, Address: "/tmp/x.sock", Rate: 1}
	tests := []struct {
		name   string
		mod    func(*Config)
		fields []string // named in the error; none: valid
	}{
		{"valid", func(*Config) {}, nil},
		{"no nodes", func(c *Config) { c.Nodes = 0 }, []string{"Nodes"}},
		{"no address", func(c *Config) { c.Address = "" }, []string{"Address"}},
		{"negative rate", func(c *Config) { c.Rate = -1 }, []string{"Rate"}},
		{"NaN rate", func(c *Config) { c.Rate = math.NaN() }, []string{"Rate"}},
		{"infinite rate", func(c *Config) { c.Rate = math.Inf(1) }, []string{"Rate"}},
		{"zero rate", func(c *Config) { c.Rate = 0 }, nil},
		{"unknown arrival", func(c *Config) { c.Arrival = 7 }, []string{"Arrival"}},
		{"burst without period", func(c *Config) { c.Burst = Burst{Length: time.Second, Rate: 5} }, []string{"Burst.Every"}},
		{"burst longer than period", func(c *Config) { c.Burst = Burst{Every: time.Second, Length: 2 * time.Second} }, []string{"Burst.Length"}},
		{"burst without length", func(c *Config) { c.Burst = Burst{Every: time.Second, Rate: 5} }, []string{"Burst.Length"}},
		{"negative burst rate", func(c *Config) { c.Burst = Burst{Every: time.Second, Length: time.Second, Rate: -1} }, []string{"Burst.Rate"}},
		{"burst", func(c *Config) { c.Burst = Burst{Every: time.Second, Length: time.Second, Rate: 5} }, nil},
		{"negative size weight", func(c *Config) { c.Sizes = SizeMix{Small: -1, Medium: 2} }, []string{"Sizes"}},
		{"negative queue", func(c *Config) { c.QueueSize = -1 }, []string{"QueueSize"}},
		{"negative metrics", func(c *Config) { c.Metrics = -1 }, []string{"Metrics"}},
		{"change above 1", func(c *Config) { c.MetricsChange = 1.5 }, []string{"MetricsChange"}},
		{"several", func(c *Config) { c.Nodes, c.Address, c.QueueSize = -2, "", -3 }, []string{"Nodes", "Address", "QueueSize"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tt.mod(&cfg)
			g, err := New(cfg)
			if len(tt.fields) == 0 {
				if err != nil || g == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New: %v, want ErrInvalidConfig", err)
			}
			for _, f := range tt.fields {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	g, err := New(Config{Nodes: 2, Address: "x.sock"})
	if err != nil {
		t.Fatal(err)
	}
	c := g.cfg
	if c.Magic != DefaultMagic || c.NamePrefix != "load" || c.QueueSize != tracer.DefaultQueueSize ||
		c.Sizes != (SizeMix{60, 35, 5}) || c.Log == nil {
		t.Errorf("defaults %+v", c)
	}
	if s := g.Stats(); len(s.Nodes) != 2 || s.Nodes[1].Name != "load-0001" {
		t.Errorf("stats %+v", s)
	}
}

func TestParseArrival(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want Arrival
		ok   bool
	}{{"poisson", Poisson, true}, {"uniform", Uniform, true}, {"Poisson", 0, false}, {"", 0, false}} {
		got, err := ParseArrival(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseArrival(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestSplitAddr(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, network string }{
		{"127.0.0.1:3000", "tcp"},
		{"localhost:0", "tcp"},
		{"[::1]:3000", "tcp"},
		{"/run/muninn.sock", "unix"},
		{"/tmp/a:3000", "unix"},
		{"muninn.sock", "unix"},
		{"host:99999", "unix"},
	} {
		if n, a := splitAddr(tt.in); n != tt.network || a != tt.in {
			t.Errorf("splitAddr(%q) = %s %s, want %s", tt.in, n, a, tt.network)
		}
	}
}
