package loadgen

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"muninn/tracer"
)

// Arrival is how a node's objects are spread in time.
type Arrival int

const (
	// Poisson: exponential inter-arrival times, independently per node.
	Poisson Arrival = iota
	// Uniform: evenly spaced, each node at its own phase.
	Uniform
)

func (a Arrival) String() string {
	switch a {
	case Poisson:
		return "poisson"
	case Uniform:
		return "uniform"
	}
	return fmt.Sprintf("Arrival(%d)", int(a))
}

// ParseArrival parses "poisson" or "uniform".
func ParseArrival(s string) (Arrival, error) {
	for _, a := range []Arrival{Poisson, Uniform} {
		if a.String() == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("%w: arrival %q: want poisson or uniform", ErrInvalidConfig, s)
}

// Burst raises the rate periodically: during the first Length of every
// Every (counted from the start of Run), each node produces at Rate
// objects per second instead of Config.Rate. The zero value means no
// bursts.
type Burst struct {
	Every, Length time.Duration
	Rate          float64
}

// SizeMix gives the relative weights of small, medium and large objects,
// whose toMachine text is about SmallBytes, MediumBytes and LargeBytes.
// The zero value means 60/35/5.
type SizeMix struct {
	Small, Medium, Large int
}

// The target toMachine sizes of the three classes. A small object is as
// small as an object with a realistic namespace and the seq, enqueued and
// host members can be (with seq padded to 20 characters in pre-encoded
// mode), which is about 200 bytes rather than the 150 of a bare node
// message.
const (
	SmallBytes  = 200
	MediumBytes = 500
	LargeBytes  = 4096
)

// DefaultMagic is mainnet's network magic.
const DefaultMagic = 764824073

// ErrInvalidConfig is wrapped by every error New returns for a bad Config.
var ErrInvalidConfig = errors.New("invalid load generator config")

// Config describes the simulated nodes and how they produce.
//
// Node i is named fmt.Sprintf("%s-%04d", NamePrefix, i): that is its
// NodeInfo niName and the "host" of its objects (JSON-escaped there, so a
// prefix of printable characters other than '"' and '\' keeps "host"
// byte-equal to the name).
type Config struct {
	Nodes         int          // simulated nodes, each on its own connection
	Address       string       // acceptor to dial: a Unix socket path, or host:port for TCP
	Magic         uint32       // network magic; 0 means DefaultMagic
	NamePrefix    string       // names the nodes (see above); default "load"
	Rate          float64      // mean objects per second per node (open loop)
	Arrival       Arrival      // Poisson (default) or Uniform
	Burst         Burst        // zero: no bursts
	Saturate      bool         // closed loop: keep every queue full, ignore Rate and Burst
	Sizes         SizeMix      // zero: 60/35/5
	QueueSize     int          // each node's forwarding queue; 0 means tracer.DefaultQueueSize
	Metrics       int          // EKG metrics per node; 0: none
	MetricsChange float64      // share of the metrics whose value changes each second, 0..1
	PreEncoded    bool         // encode each kind once per node and patch seq and times into copies
	Log           *slog.Logger // diagnostics; nil discards them
}

// withDefaults fills the zero fields that have a default.
func (c Config) withDefaults() Config {
	if c.Magic == 0 {
		c.Magic = DefaultMagic
	}
	if c.NamePrefix == "" {
		c.NamePrefix = "load"
	}
	if c.Sizes == (SizeMix{}) {
		c.Sizes = SizeMix{Small: 60, Medium: 35, Large: 5}
	}
	if c.QueueSize == 0 {
		c.QueueSize = tracer.DefaultQueueSize
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// validate reports every problem of a Config with defaults applied, each
// naming its field.
func (c Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.Nodes < 1 {
		bad("Nodes %d: must be at least 1", c.Nodes)
	}
	if c.Address == "" {
		bad("Address: must be set")
	}
	if !(c.Rate >= 0) || math.IsInf(c.Rate, 0) {
		bad("Rate %v: must be a finite number >= 0", c.Rate)
	}
	if c.Arrival != Poisson && c.Arrival != Uniform {
		bad("Arrival %d: must be Poisson or Uniform", int(c.Arrival))
	}
	b := c.Burst
	switch {
	case b == (Burst{}):
	case b.Every <= 0:
		bad("Burst.Every %v: must be positive when a burst is set", b.Every)
	case b.Length <= 0 || b.Length > b.Every:
		bad("Burst.Length %v: must be in (0, Burst.Every]", b.Length)
	}
	if !(b.Rate >= 0) || math.IsInf(b.Rate, 0) {
		bad("Burst.Rate %v: must be a finite number >= 0", b.Rate)
	}
	if s := c.Sizes; s.Small < 0 || s.Medium < 0 || s.Large < 0 {
		bad("Sizes %d,%d,%d: weights must be >= 0", s.Small, s.Medium, s.Large)
	}
	if c.QueueSize < 1 {
		bad("QueueSize %d: must be at least 1", c.QueueSize)
	}
	if c.Metrics < 0 {
		bad("Metrics %d: must be >= 0", c.Metrics)
	}
	if !(c.MetricsChange >= 0 && c.MetricsChange <= 1) {
		bad("MetricsChange %v: must be in [0, 1]", c.MetricsChange)
	}
	return errors.Join(errs...)
}
