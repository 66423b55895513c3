package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"muninn/ekg"
	"muninn/logging"
	"muninn/muxproto"
	"muninn/tracer"
)

// Options configure a Server. cmd maps the configuration file onto them.
type Options struct {
	NetworkMagic uint32
	// Exactly one of AcceptAt and ConnectTo is used: listen for nodes, or
	// dial each listed node.
	AcceptAt  []Endpoint
	ConnectTo []Endpoint

	RequestNum       uint16        // loRequestNum; default 100
	EKGPeriod        time.Duration // ekgRequestFreq; default 1 s
	EKGFull          bool          // ekgRequestFull
	HandshakeTimeout time.Duration // default 10 s, on every transport
	NameTimeout      time.Duration // how long to wait for NodeInfo; default 10 s
	StopGrace        time.Duration // on shutdown, wait for a requested reply to start; default 100 ms
	MaxConnections   int           // AcceptAt connections at once; more are refused (0: no limit)
	// MaxMetricsPerNode bounds the metric names kept per node; a node's
	// further new names are left out (0: ekg.DefaultMaxMetrics).
	MaxMetricsPerNode int
	// Reforward, when set, is offered every batch after it has been
	// written to the local logs (hasForwarding).
	Reforward interface{ Offer([]tracer.TraceObject) }
	Mux       muxproto.Config

	Logs    *logging.Writer // where trace objects go; required
	Log     *slog.Logger    // diagnostics; required
	Metrics *Metrics        // Muninn's own metrics; nil: kept on a private registry
	Now     func() time.Time
}

func (o *Options) setDefaults() error {
	if o.RequestNum == 0 {
		o.RequestNum = tracer.DefaultRequestNum
	}
	if o.EKGPeriod <= 0 {
		o.EKGPeriod = time.Second
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = muxproto.DefaultHandshakeTimeout
	}
	if o.NameTimeout <= 0 {
		o.NameTimeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		m, err := NewMetrics(prometheus.NewRegistry())
		if err != nil {
			return err
		}
		o.Metrics = m
	}
	var errs []error
	if (len(o.AcceptAt) == 0) == (len(o.ConnectTo) == 0) {
		errs = append(errs, errors.New("exactly one of AcceptAt and ConnectTo must be given"))
	}
	if o.Logs == nil {
		errs = append(errs, errors.New("no log writer"))
	}
	if o.Log == nil {
		errs = append(errs, errors.New("no diagnostic logger"))
	}
	if err := o.Mux.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Server accepts or dials node connections and runs their sessions.
type Server struct {
	opts Options
	log  *slog.Logger
	reg  *Registry

	soft       context.Context // ends when shutting down: stop asking nodes
	stopSoft   context.CancelCauseFunc
	hard       context.Context // ends at Close: stop writing
	stopHard   context.CancelCauseFunc
	mu         sync.Mutex
	bound      []boundListener // from Listen, for Serve
	listeners  []net.Listener  // every open listener, for Shutdown
	closed     bool
	wg         sync.WaitGroup // accept loops, dial loops and sessions
	serveStart sync.Once

	ekg         atomic.Pointer[ekg.PollConfig] // read by every session before each poll
	live        atomic.Int64                   // sessions running
	refusedLast atomic.Int64                   // unix nanoseconds of the last refusal log line
}

type boundListener struct {
	ep Endpoint
	ln net.Listener
}

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("server closed")

// New checks the options and returns a Server that has not started.
func New(opts Options) (*Server, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("server options: %w", err)
	}
	s := &Server{opts: opts, log: opts.Log.With("component", "server"), reg: NewRegistry()}
	s.reg.maxMetrics = opts.MaxMetricsPerNode
	s.ekg.Store(&ekg.PollConfig{Period: opts.EKGPeriod, Full: opts.EKGFull, Spread: true})
	s.soft, s.stopSoft = context.WithCancelCause(context.Background())
	s.hard, s.stopHard = context.WithCancelCause(context.Background())
	return s, nil
}

// SetEKG changes ekgRequestFreq and ekgRequestFull for every session,
// running or new, from its next poll on (configuration reload).
func (s *Server) SetEKG(period time.Duration, full bool) {
	if period <= 0 {
		period = time.Second
	}
	s.ekg.Store(&ekg.PollConfig{Period: period, Full: full, Spread: true})
}

// Registry returns the registry of connected nodes.
func (s *Server) Registry() *Registry { return s.reg }

// Listen binds every AcceptAt endpoint. A failure is returned at once, so
// that a port or socket that cannot be bound stops start-up with a clear
// error; later listener failures are retried with back-off.
func (s *Server) Listen() error {
	for _, ep := range s.opts.AcceptAt {
		ln, err := listen(ep)
		if err != nil {
			return err
		}
		if !s.track(ln) {
			return ErrServerClosed
		}
		s.mu.Lock()
		s.bound = append(s.bound, boundListener{ep, ln})
		s.mu.Unlock()
		s.log.Info("listening for nodes", "remote", ep.String())
	}
	return nil
}

// Addrs returns the addresses being listened on.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]net.Addr, len(s.listeners))
	for i, ln := range s.listeners {
		out[i] = ln.Addr()
	}
	return out
}

// track records a listener so that Shutdown closes it; it refuses (and
// closes the listener) once the server is closed.
func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		if err := ln.Close(); err != nil {
			s.log.Debug("close listener", "err", err)
		}
		return false
	}
	s.listeners = append(s.listeners, ln)
	return true
}

// Serve runs the accept loops of the bound listeners (call Listen first)
// or the dial loops, and blocks until Shutdown or Close; it then returns
// ErrServerClosed.
func (s *Server) Serve() error {
	started := false
	s.serveStart.Do(func() { started = true })
	if !started {
		return errors.New("server: Serve called twice")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	for _, b := range s.bound {
		s.wg.Go(func() { s.acceptLoop(s.soft, b.ep, b.ln) })
	}
	for _, ep := range s.opts.ConnectTo {
		s.wg.Go(func() { s.dialLoop(s.soft, ep) })
	}
	s.mu.Unlock()
	<-s.soft.Done()
	return ErrServerClosed
}

// startSession runs a session in its own goroutine, tracked for shutdown,
// or refuses the connection when MaxConnections are already running.
func (s *Server) startSession(ctx context.Context, conn net.Conn, id string, dialled bool) {
	// Take the slot first and give it back when over the limit, so that
	// accept loops of several endpoints cannot pass the check together.
	if n := s.live.Add(1); s.opts.MaxConnections > 0 && n > int64(s.opts.MaxConnections) {
		s.live.Add(-1)
		s.refuse(conn, id)
		return
	}
	s.wg.Go(func() {
		defer s.live.Add(-1)
		s.runSession(ctx, conn, id, dialled)
	})
}

// refuse closes a connection over the limit at once. The node retries with
// its back-off. Refusals are counted; a log line is written at most every
// 10 s, so that a flood cannot flood the log.
func (s *Server) refuse(conn net.Conn, id string) {
	s.opts.Metrics.refused.Inc()
	if err := conn.Close(); err != nil {
		s.log.Debug("close refused connection", "node", id, "err", err)
	}
	now := s.opts.Now().UnixNano()
	last := s.refusedLast.Load()
	if now-last >= int64(10*time.Second) && s.refusedLast.CompareAndSwap(last, now) {
		s.log.Warn("connection refused: the connection limit is reached", "node", id, "count", s.opts.MaxConnections)
	}
}

// Shutdown stops accepting and dialling, lets every session stop asking,
// receive a reply already on its way and write everything received, then
// disconnect without MsgDone. If ctx ends first, it falls back to Close.
func (s *Server) Shutdown(ctx context.Context) error {
	s.beginClose()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.stopHard(errShutdown)
		return nil
	case <-ctx.Done():
		s.stopHard(errShutdown)
		<-done
		return fmt.Errorf("shutdown: %w", ctx.Err())
	}
}

// Close stops everything at once: sessions stop writing, even a batch on
// its way to disk. It waits for every goroutine to return.
func (s *Server) Close() error {
	s.beginClose()
	s.stopHard(errShutdown)
	s.wg.Wait()
	return nil
}

func (s *Server) beginClose() {
	s.mu.Lock()
	s.closed = true
	lns := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	s.stopSoft(errShutdown)
	for _, ln := range lns {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Warn("close listener", "err", err)
		}
	}
}
