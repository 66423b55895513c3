package config

import (
	"math"
	"time"
)

// Limits is Muninn's extension key muninnLimits, for fleet operation. A
// zero field means "use Muninn's default". cardano-tracer ignores unknown
// keys, so a configuration that sets it stays portable.
//
//	muninnLimits:
//	  maxConnections: 500            # node connections at once; more are refused (0: no limit)
//	  ingressLimitBytes: 67108864    # bytes buffered per mini-protocol per connection
//	  maxMessageBytes: 33554432      # largest single message from a node (at most ingressLimitBytes)
//	  maxMetricsPerNode: 20000       # EKG metric names kept per node; further new names are left out
//	  httpMaxConcurrentRequests: 64  # HTTP requests served at once per port; more get 503
//	  httpReadHeaderTimeoutSecs: 10
//	  httpIdleTimeoutSecs: 120
//	  httpMaxHeaderBytes: 65536
type Limits struct {
	MaxConnections        int
	IngressLimit          int
	MaxMessageSize        int
	MaxMetricsPerNode     int
	HTTPMaxConcurrent     int
	HTTPReadHeaderTimeout time.Duration
	HTTPIdleTimeout       time.Duration
	HTTPMaxHeaderBytes    int
}

// DefaultIngressLimitBytes is muninnLimits.ingressLimitBytes when it is not
// set: the multiplexer's default (muxproto.DefaultConfig), which
// maxMessageBytes must not exceed.
const DefaultIngressLimitBytes = 64 << 20

// check reports a maxMessageBytes larger than the ingress limit: such a
// message could never be buffered.
func (l Limits) check(add func(path string, err error)) {
	ingress := l.IngressLimit
	if ingress == 0 {
		ingress = DefaultIngressLimitBytes
	}
	if l.MaxMessageSize > ingress {
		add("muninnLimits.maxMessageBytes", problemf(ErrRange, "%d: more than ingressLimitBytes (%d)", l.MaxMessageSize, ingress))
	}
}

func (d *decoder) limits(v value) Limits {
	var l Limits
	if v.n == nil {
		return l
	}
	o := d.object(v)
	if o == nil {
		return l
	}
	ints := []struct {
		key string
		max uint64
		dst *int
	}{
		{"maxConnections", math.MaxInt32, &l.MaxConnections},
		{"ingressLimitBytes", math.MaxInt32, &l.IngressLimit},
		{"maxMessageBytes", math.MaxInt32, &l.MaxMessageSize},
		{"maxMetricsPerNode", math.MaxInt32, &l.MaxMetricsPerNode},
		{"httpMaxConcurrentRequests", math.MaxInt32, &l.HTTPMaxConcurrent},
		{"httpMaxHeaderBytes", 1 << 30, &l.HTTPMaxHeaderBytes},
	}
	for _, f := range ints {
		d.use(o.get(f.key), func(v value) error {
			n, err := asUint(v, f.max)
			*f.dst = int(n)
			return err
		})
	}
	durations := []struct {
		key string
		dst *time.Duration
	}{
		{"httpReadHeaderTimeoutSecs", &l.HTTPReadHeaderTimeout},
		{"httpIdleTimeoutSecs", &l.HTTPIdleTimeout},
	}
	for _, f := range durations {
		d.use(o.get(f.key), func(v value) error {
			t, err := asDuration(v, 9, true)
			*f.dst = t
			return err
		})
	}
	o.finish(nil)
	return l
}
