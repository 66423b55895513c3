// Command muninn-forwarder plays a cardano-node towards Muninn or
// cardano-tracer: it connects (the tracer's AcceptAt) or listens (the
// tracer's ConnectTo), runs the forwarding handshake, and forwards
// realistic trace objects at a chosen rate, EKG metrics and a NodeInfo
// data point, with the node's queue semantics (when the queue is full, its
// whole content is discarded and counted). Each trace object carries a
// per-node sequence number and its enqueue time in its data.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"muninn/datapoint"
	"muninn/internal/fakenode"
	"muninn/tracer"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type options struct {
	connect, listen string
	magic           uint
	name, host      string
	rate            float64
	count           uint64
	queueSize       int
	duration        time.Duration
	maxReconnect    time.Duration
}

// summary is printed as JSON when the forwarder stops.
type summary struct {
	Name        string `json:"name"`
	Produced    uint64 `json:"produced"`
	Discarded   uint64 `json:"discarded"`
	Queued      int    `json:"queued"`
	Connections int    `json:"connections"`
	LastError   string `json:"lastError,omitempty"`
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("muninn-forwarder", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.connect, "connect", "", "connect to this acceptor address (a Unix socket path or host:port): the tracer's AcceptAt")
	fs.StringVar(&o.listen, "listen", "", "listen on this address for the acceptor: the tracer's ConnectTo")
	fs.UintVar(&o.magic, "magic", 764824073, "network magic")
	fs.StringVar(&o.name, "name", "muninn-forwarder", "node name sent as NodeInfo niName")
	fs.StringVar(&o.host, "host", "forwarder", "host name in the trace objects")
	fs.Float64Var(&o.rate, "rate", 10, "trace objects per second")
	fs.Uint64Var(&o.count, "count", 0, "stop producing after this many objects (0: no limit)")
	fs.IntVar(&o.queueSize, "queue-size", tracer.DefaultQueueSize, "forwarding queue capacity, as the node's TraceOptionForwarder queueSize")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long (0: until interrupted, or until --count objects are delivered)")
	fs.DurationVar(&o.maxReconnect, "max-reconnect-delay", 45*time.Second, "longest wait between connection attempts")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (o.connect == "") == (o.listen == "") || o.magic > 1<<32-1 || o.rate < 0 || o.queueSize < 1 {
		fmt.Fprintln(stderr, "muninn-forwarder: give exactly one of --connect and --listen, a 32-bit --magic, a non-negative --rate and a positive --queue-size")
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("component", "forwarder", "name", o.name)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	f := newForwarder(o, log)
	err := f.run(ctx)
	s := f.summary()
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		s.LastError = err.Error()
	}
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(s); err != nil {
		fmt.Fprintln(stderr, "muninn-forwarder: write summary:", err)
		return 1
	}
	if s.LastError != "" {
		return 1
	}
	return 0
}

type forwarder struct {
	o     options
	log   *slog.Logger
	node  *fakenode.Node
	start time.Time
	met   *nodeMetrics

	mu          sync.Mutex
	produced    uint64
	connections int
}

func newForwarder(o options, log *slog.Logger) *forwarder {
	start := time.Now()
	ds := &datapoint.Store{}
	ds.Set(datapoint.NodeInfoName, datapoint.NodeInfo{
		Name: o.name, Protocol: "Cardano", Version: "10.1.4", Commit: "1f4b0d8e2b7c5a6d9e0f1a2b3c4d5e6f7a8b9c0d",
		StartTime: start.UTC(), SystemStartTime: time.Date(2017, 9, 23, 21, 44, 51, 0, time.UTC),
	}.JSON())
	met := newNodeMetrics(start, "10.1.4")
	return &forwarder{
		o: o, log: log, start: start, met: met,
		node: &fakenode.Node{
			Magic:      uint32(o.magic),
			Traces:     tracer.NewQueue(o.queueSize),
			Metrics:    met.src,
			DataPoints: ds,
			Log:        log,
		},
	}
}

func (f *forwarder) summary() summary {
	f.mu.Lock()
	defer f.mu.Unlock()
	return summary{Name: f.o.name, Produced: f.produced, Discarded: f.node.Traces.Discarded(),
		Queued: f.node.Traces.Len(), Connections: f.connections}
}

// run produces objects and keeps the connection up until ctx ends, or,
// with --count, until every object has been taken by an acceptor.
func (f *forwarder) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		f.produce(ctx)
		if f.o.count > 0 {
			f.waitDrained(ctx)
			cancel()
		}
	})
	var err error
	if f.o.connect != "" {
		err = f.dialLoop(ctx)
	} else {
		err = f.listenLoop(ctx)
	}
	cancel()
	wg.Wait()
	return err
}

// produce puts objects into the queue at the configured rate, in ticks of
// 10 ms, and updates the metrics once a second.
func (f *forwarder) produce(ctx context.Context) {
	const tick = 10 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	lastMetrics := time.Now()
	var due float64
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if now.Sub(lastMetrics) >= time.Second {
				f.met.update(now)
				lastMetrics = now
			}
			due += f.o.rate * tick.Seconds()
			for ; due >= 1; due-- {
				f.mu.Lock()
				if f.o.count > 0 && f.produced >= f.o.count {
					f.mu.Unlock()
					return
				}
				seq := f.produced
				f.produced++
				f.mu.Unlock()
				o := makeObject(seq, f.o.host, now)
				if n := f.node.Traces.Put(&o); n > 0 {
					f.log.Warn("forwarding queue overflowed; discarded its content", "count", n)
				}
			}
		}
	}
}

// waitDrained returns once every object has reached an acceptor: the
// queue is empty and a blocking request waits on it, so the acceptor has
// received the last reply and asked again.
func (f *forwarder) waitDrained(ctx context.Context) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for f.node.Traces.Len() > 0 || f.node.Traces.Waiters() == 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func splitAddr(a string) (network, addr string) {
	if i := strings.LastIndexByte(a, ':'); i > 0 {
		if p, err := strconv.Atoi(a[i+1:]); err == nil && p >= 0 && p <= 65535 {
			return "tcp", a
		}
	}
	return "unix", a
}

// dialLoop connects as a node does: waits 1, 2, 4 … s between attempts up
// to --max-reconnect-delay, back to 1 s after a connection that stayed up
// that long. A clean end of the connection (the acceptor's MsgDone) stops
// forwarding, as on a node.
func (f *forwarder) dialLoop(ctx context.Context) error {
	network, addr := splitAddr(f.o.connect)
	wait := time.Second
	var d net.Dialer
	for {
		up := time.Now()
		conn, err := d.DialContext(ctx, network, addr)
		if err == nil {
			f.countConnection()
			f.log.Info("connected", "remote", f.o.connect)
			err = f.node.Serve(ctx, conn, true)
			if err == nil {
				f.log.Info("acceptor ended the connection cleanly; forwarding stops")
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f.log.Warn("connection ended", "remote", f.o.connect, "err", err)
		if time.Since(up) >= f.o.maxReconnect {
			wait = time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, f.o.maxReconnect)
	}
}

// listenLoop accepts acceptors (the tracer's ConnectTo) and serves each.
func (f *forwarder) listenLoop(ctx context.Context) error {
	network, addr := splitAddr(f.o.listen)
	ln, err := net.Listen(network, addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	stop := context.AfterFunc(ctx, func() {
		if err := ln.Close(); err != nil {
			f.log.Debug("close listener", "err", err)
		}
	})
	defer stop()
	f.log.Info("listening", "remote", ln.Addr().String())
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("accept: %w", err)
		}
		f.countConnection()
		wg.Go(func() {
			if err := f.node.Serve(ctx, conn, false); err != nil && ctx.Err() == nil {
				f.log.Warn("connection ended", "err", err)
			}
		})
	}
}

func (f *forwarder) countConnection() {
	f.mu.Lock()
	f.connections++
	f.mu.Unlock()
}
