package loadgen

import (
	"context"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Redial back-off: the first wait after a failed or ended connection, and
// the longest.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// dialLoop keeps node n connected until ctx ends: it dials, serves the
// connection as a node that connected (the tracer's AcceptAt), and after
// the connection fails or ends waits a back-off (with jitter, so that
// many nodes do not redial in step) and dials again. A connection that
// got through the handshake resets the back-off.
func (g *Generator) dialLoop(ctx context.Context, n *node) {
	network, addr := splitAddr(g.cfg.Address)
	log := g.log.With("node", n.name, "remote", g.cfg.Address)
	var d net.Dialer
	wait := minBackoff
	failing := false // attempts have failed since the last connection
	timer := time.NewTimer(never)
	defer timer.Stop()
	for {
		up := false
		conn, err := d.DialContext(ctx, network, addr)
		if err == nil {
			w := &watchedConn{Conn: conn, ready: func() {
				n.connections.Add(1)
				g.connected.Add(1)
				log.Debug("connected")
			}}
			err = n.fake.Serve(ctx, w, true)
			if up = w.isReady(); up {
				g.connected.Add(-1)
				wait = minBackoff
			}
		}
		if ctx.Err() != nil {
			return
		}
		switch {
		case up:
			log.Warn("connection ended; redialling", "err", err)
			failing = false
		case !failing:
			log.Warn("cannot connect; retrying with back-off, further failures at debug level", "err", err)
			failing = true
		default:
			log.Debug("cannot connect", "err", err, "duration", wait)
		}
		timer.Reset(jitter(wait))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		wait = min(2*wait, maxBackoff)
	}
}

// jitter returns d scaled by a factor in [0.75, 1.25).
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
}

// splitAddr tells a host:port (TCP) from a Unix socket path.
func splitAddr(a string) (network, addr string) {
	if i := strings.LastIndexByte(a, ':'); i > 0 && !strings.Contains(a, "/") {
		if p, err := strconv.Atoi(a[i+1:]); err == nil && p >= 0 && p <= 65535 {
			return "tcp", a
		}
	}
	return "unix", a
}

// watchedConn tells when the forwarding handshake on a connection is
// done, which fakenode.Serve does not report: the handshake bounds itself
// with SetDeadline and clears it with a zero time when it ends, and only
// after a successful handshake does anything read again (the Mux's
// reader, which uses SetReadDeadline). So the first Read after the
// deadline was cleared means the handshake succeeded; ready is then
// called once. After a failed handshake Serve closes the connection
// without reading.
type watchedConn struct {
	net.Conn
	ready   func()
	cleared atomic.Bool // the handshake has cleared its deadline
	done    atomic.Bool // ready was called
}

func (c *watchedConn) SetDeadline(t time.Time) error {
	if t.IsZero() {
		c.cleared.Store(true)
	}
	return c.Conn.SetDeadline(t)
}

func (c *watchedConn) Read(p []byte) (int, error) {
	if c.cleared.Load() && !c.done.Load() && c.done.CompareAndSwap(false, true) {
		c.ready()
	}
	return c.Conn.Read(p)
}

func (c *watchedConn) isReady() bool { return c.done.Load() }
