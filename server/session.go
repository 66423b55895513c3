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

	"muninn/datapoint"
	"muninn/ekg"
	"muninn/logging"
	"muninn/muxproto"
	"muninn/tracer"
)

// sinkDepth is the number of batches a session buffers between the trace
// loop and the writer: with one batch being written, one buffered and one
// requested, the node's next batch is always on its way.
const sinkDepth = 2

// batch is one reply's objects on their way to the writer.
type batch struct {
	objects []tracer.TraceObject
	reply   []byte // the message the objects were decoded from; they alias it
}

// errWriterStopped ends a session whose log writer has failed.
var errWriterStopped = errors.New("log writer stopped")

var protocols = []muxproto.ProtocolNum{ekg.Protocol, tracer.Protocol, datapoint.Protocol}

// runSession handshakes on conn and, when that succeeds, serves the node
// until the connection ends or the server stops. ctx is the server's soft
// context: when it ends, the session stops asking, writes what it has and
// disconnects without MsgDone.
func (s *Server) runSession(ctx context.Context, conn net.Conn, id string, dialled bool) {
	remote := conn.RemoteAddr().String()
	if remote == "" || remote == "@" {
		remote = conn.LocalAddr().String()
	}
	log := s.log.With("node", id, "remote", remote)
	own, handshake := muxproto.FromResponder, muxproto.ServerHandshake
	if dialled {
		own, handshake = muxproto.FromInitiator, muxproto.ClientHandshake
	}
	log.Info("connection opened")
	m := s.opts.Metrics
	hs := muxproto.HandshakeConfig{NetworkMagic: s.opts.NetworkMagic, Timeout: s.opts.HandshakeTimeout}
	m.connections.WithLabelValues(stateHandshaking).Inc()
	_, err := handshake(ctx, conn, hs)
	m.connections.WithLabelValues(stateHandshaking).Dec()
	if err != nil {
		log.Warn("handshake failed", "reason", classify(err), "err", err)
		if errors.Is(err, muxproto.ErrHandshakeRefused) {
			m.handshakeRefusals.Inc()
		}
		m.closed(err)
		if cerr := conn.Close(); cerr != nil {
			log.Debug("close connection", "err", cerr)
		}
		return
	}
	log.Info("handshake accepted")
	m.connections.WithLabelValues(stateConnected).Inc()
	defer m.connections.WithLabelValues(stateConnected).Dec()
	mux, err := muxproto.New(conn, own, protocols, s.opts.Mux, log)
	if err != nil { // the options were validated in New
		log.Error("start multiplexer", "err", err)
		return
	}
	start := s.opts.Now()
	node := s.reg.add(id, remote, start)
	ss := &session{srv: s, mux: mux, node: node, log: log}
	err = ss.run(ctx)
	s.reg.remove(node)
	m.closed(err)
	log.Info("disconnected", "reason", classify(err), "err", err,
		"received", ss.received.Load(), "count", ss.written.Load(),
		"duration", s.opts.Now().Sub(start).Round(time.Millisecond).String())
}

// session is one node connection after the handshake.
type session struct {
	srv  *Server
	mux  *muxproto.Mux
	node *Node
	log  *slog.Logger

	received, written atomic.Uint64 // trace objects
}

// run starts the fixed set of goroutines of one connection and returns
// the first error that ended it (nil after a clean end of a protocol).
//
//	traces  — tracer.Acceptor: pipelined blocking requests → sink channel
//	sink    — writes each batch to the node's log files (waits for the name)
//	ekg     — polls metrics every EKGPeriod
//	dp      — datapoint.Acceptor: answers DataPoint questions
//
// plus the Mux's reader and writer, while the calling goroutine asks
// NodeInfo once, names the node and then watches the connection.
func (ss *session) run(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	var (
		once  sync.Once
		first error
	)
	fail := func(err error) {
		once.Do(func() { first = err })
		cancel(err)
	}
	dp := datapoint.NewAcceptor(ss.mux.Channel(datapoint.Protocol), datapoint.AcceptorConfig{})
	sink := make(chan batch, sinkDepth)
	writerDone := make(chan struct{}) // closed when the sink goroutine returns
	var loops, writer sync.WaitGroup
	loops.Add(3)
	writer.Add(1)
	go func() { // traces
		defer loops.Done()
		defer close(sink)
		// The handler is not stopped by ctx (the acceptor hands over every
		// batch it received); it gives up only on the hard stop or when the
		// writer has failed.
		var acc *tracer.Acceptor
		handler := func(_ context.Context, objs []tracer.TraceObject) error {
			ss.received.Add(uint64(len(objs)))
			// Asked of the server's logger, shared by every session and so
			// in cache, rather than of this session's: this runs per batch,
			// and at sub-saturation loads a batch is an object or two.
			if ss.srv.log.Enabled(context.Background(), slog.LevelDebug) {
				ss.log.Debug("trace batch", "count", len(objs), "bytes", len(acc.LastReply()))
			}
			b := batch{objs, acc.LastReply()}
			select { // the common case, without the three-channel select
			case sink <- b:
				return nil
			default:
			}
			select {
			case sink <- b:
				return nil
			case <-ss.srv.hard.Done():
				return context.Cause(ss.srv.hard)
			case <-writerDone:
				return errWriterStopped
			}
		}
		// The sink gives back each reply and its batch once written.
		cfg := tracer.AcceptorConfig{RequestNum: ss.srv.opts.RequestNum, StopGrace: ss.srv.opts.StopGrace, PoolBatches: true}
		ch := ss.mux.Channel(tracer.Protocol)
		ch.PoolMessages() // the sink releases each reply once it is written
		acc = tracer.NewAcceptor(ch, cfg, handler)
		fail(acc.Run(ctx))
	}()
	go func() { // sink
		defer writer.Done()
		defer close(writerDone)
		if err := ss.write(sink); err != nil {
			fail(err)
		}
	}()
	go func() { // ekg
		defer loops.Done()
		settings := func() ekg.PollConfig { return *ss.srv.ekg.Load() }
		warned := false
		err := ekg.NewAcceptor(ss.mux.Channel(ekg.Protocol)).PollWith(ctx, settings, func(ms []ekg.Metric) {
			dropped := ss.node.store.Apply(ms)
			ss.srv.opts.Metrics.ekgPolls.Inc()
			ss.log.Debug("metrics polled", "count", len(ms))
			if dropped > 0 {
				ss.srv.opts.Metrics.ekgDropped.Add(float64(dropped))
				if !warned {
					warned = true
					maxNames, maxBytes := ss.node.store.Limits()
					ss.log.Warn(fmt.Sprintf("metrics left out: the node reports more names than muninnLimits.maxMetricsPerNode (%d) allows, names over %d bytes, "+
						"or more than %d bytes of names and label texts in all; logged once per connection, counted in muninn_ekg_metrics_dropped_total",
						maxNames, ekg.MaxNameLen, maxBytes),
						"count", dropped, "kept", ss.node.store.Snapshot().Len())
				}
			}
		})
		if r := classify(err); r != ReasonShutdown && r != ReasonPeerClosed {
			ss.srv.opts.Metrics.ekgPollFailures.Inc()
		}
		fail(err)
	}()
	go func() { // dp
		defer loops.Done()
		fail(dp.Run(ctx))
	}()
	// This goroutine names the node, then watches the connection: idle
	// loops (DataPoint waiting for a question, EKG between polls) would
	// notice a dead connection late; end them all at once.
	ss.resolveName(ctx, dp)
	select {
	case <-ss.mux.Done():
		fail(ss.mux.Err())
	case <-ctx.Done():
	}
	loops.Wait()
	ss.mux.Close()
	writer.Wait()
	if cause := context.Cause(parent); cause != nil {
		return cause
	}
	return first
}

// resolveName asks the node for NodeInfo, with a timeout, and names it.
// A node that gives no name (or none in time) is named by its NodeId.
func (ss *session) resolveName(ctx context.Context, dp *datapoint.Acceptor) {
	qctx, cancel := context.WithTimeout(ctx, ss.srv.opts.NameTimeout)
	defer cancel()
	info, err := dp.NodeInfo(qctx)
	var given string
	var ip *datapoint.NodeInfo
	if err == nil {
		given, ip = info.Name, &info
	} else if ctx.Err() == nil {
		ss.log.Info("node gave no NodeInfo; naming it by its NodeId", "err", err)
	}
	id := ss.srv.reg.name(ss.node, given, ip)
	ss.log.Info("node named", "name", id.Name, "dir", id.Dir, "slug", id.Slug)
}

// write hands every batch from sink to the node's log files. It waits for
// the node's name before the first batch, so that every batch lands under
// the final name. It drains sink after the trace loop has closed it and
// stops early only on the server's hard stop.
func (ss *session) write(sink <-chan batch) error {
	hard := ss.srv.hard
	var (
		nl  *logging.NodeLog
		cnt *nodeCounters
	)
	defer func() {
		if nl != nil {
			if err := nl.Close(); err != nil {
				ss.log.Error("close log files", "err", err)
			}
		}
		if cnt != nil {
			cnt.forget()
		}
	}()
	for b := range sink {
		if nl == nil {
			select {
			case <-ss.node.named:
			case <-hard.Done():
				return fmt.Errorf("write traces: %w", context.Cause(hard))
			}
			id, _ := ss.node.Identity()
			cnt = ss.srv.opts.Metrics.forNode(id.Name)
			var err error
			if nl, err = ss.srv.opts.Logs.Open(logging.Node{Name: id.Name, Dir: id.Dir}); err != nil {
				return fmt.Errorf("open log files: %w", err)
			}
		}
		cnt.received(len(b.objects), len(b.reply))
		err := nl.Write(hard, b.objects)
		cnt.logDelta(nl.Stats())
		if err != nil {
			return fmt.Errorf("write traces: %w", err)
		}
		ss.written.Add(uint64(len(b.objects)))
		if rf := ss.srv.opts.Reforward; rf != nil {
			rf.Offer(b.objects) // after the local write; never blocks; copies
		}
		// Write and Offer keep nothing of the objects (the lines are
		// rendered into the log's own buffer, the journal's fields are
		// cleared, the re-forwarder encodes its own copy), so the reply's
		// memory and the batch's can serve the next ones.
		muxproto.ReleaseMessage(b.reply)
		tracer.ReleaseBatch(b.objects)
	}
	return nil
}
