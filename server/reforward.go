package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"muninn/datapoint"
	"muninn/ekg"
	"muninn/muxproto"
	"muninn/tracer"
)

// Re-forwarding defaults.
const (
	// DefaultReforwardMaxDelay is TraceOptionForwarder's maxReconnectDelay.
	DefaultReforwardMaxDelay = 45 * time.Second
	// DefaultDropReportEvery bounds how often drops are logged per downstream.
	DefaultDropReportEvery = 10 * time.Second
)

// ReforwardOptions configure a Reforwarder (hasForwarding, BEHAVIOUR.md §g).
type ReforwardOptions struct {
	NetworkMagic uint32
	AcceptAt     []Endpoint // listen for downstream acceptors
	ConnectTo    []Endpoint // or dial them (Muninn extension)
	// Namespaces are the prefixes of the filter: nil passes everything, an
	// empty non-nil list passes nothing.
	Namespaces [][]string
	// QueueSize is the capacity, in trace objects, of each downstream's
	// ring. Default tracer.DefaultQueueSize (192).
	QueueSize int
	// MaxReconnectDelay caps the back-off of ConnectTo; default 45 s.
	MaxReconnectDelay time.Duration
	Self              ekg.Source         // Muninn's own metrics, served on EKG; nil: none
	NodeInfo          datapoint.NodeInfo // describes this Muninn, served as "NodeInfo"
	HandshakeTimeout  time.Duration      // default muxproto.DefaultHandshakeTimeout
	// Mux tunes the downstream connections. A downstream only sends
	// requests, which are small, so unless it is set its ingress is held to
	// DownstreamIngress: a downstream cannot make Muninn buffer the
	// megabytes a node may send.
	Mux muxproto.Config
	// DropReportEvery: drops are logged at most this often per downstream;
	// default 10 s.
	DropReportEvery time.Duration
	// OnDrop is told about every drop as it happens (the caller counts them
	// in muninn_reforward_dropped_total). It runs on the goroutine that
	// calls Offer, must be quick and must not call the Reforwarder. May be
	// nil.
	OnDrop func(downstream string, n int)
	Log    *slog.Logger // required
}

func (o *ReforwardOptions) setDefaults() error {
	if o.QueueSize == 0 {
		o.QueueSize = tracer.DefaultQueueSize
	}
	if o.MaxReconnectDelay == 0 {
		o.MaxReconnectDelay = DefaultReforwardMaxDelay
	}
	if o.DropReportEvery == 0 {
		o.DropReportEvery = DefaultDropReportEvery
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = muxproto.DefaultHandshakeTimeout
	}
	if o.Mux.IngressLimit == 0 && o.Mux.MaxMessageSize == 0 {
		o.Mux.IngressLimit, o.Mux.MaxMessageSize = DownstreamIngress, DownstreamIngress
	}
	var errs []error
	if len(o.AcceptAt) == 0 && len(o.ConnectTo) == 0 {
		errs = append(errs, errors.New("no AcceptAt or ConnectTo endpoint"))
	}
	if o.QueueSize < 0 {
		errs = append(errs, fmt.Errorf("QueueSize %d: must be positive", o.QueueSize))
	}
	if o.MaxReconnectDelay < 0 {
		errs = append(errs, fmt.Errorf("MaxReconnectDelay %v: must be positive", o.MaxReconnectDelay))
	}
	if o.DropReportEvery < 0 {
		errs = append(errs, fmt.Errorf("DropReportEvery %v: must be positive", o.DropReportEvery))
	}
	if o.HandshakeTimeout < 0 {
		errs = append(errs, fmt.Errorf("HandshakeTimeout %v: must be positive", o.HandshakeTimeout))
	}
	if o.Log == nil {
		errs = append(errs, errors.New("no diagnostic logger"))
	}
	if err := o.Mux.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// DownstreamIngress bounds, by default, what a downstream acceptor may have
// buffered per mini-protocol, and so its largest message: a request for
// objects, metrics or data points is a few bytes to a few kilobytes.
const DownstreamIngress = 1 << 20

// ErrReforwarderClosed is returned by Listen after Shutdown or Close.
var ErrReforwarderClosed = errors.New("re-forwarder closed")

var reforwardProtocols = []muxproto.ProtocolNum{ekg.Protocol, tracer.Protocol, datapoint.Protocol}

// Reforwarder makes Muninn a forwarder towards downstream acceptors
// (cardano-tracer or another Muninn), as cardano-tracer's hasForwarding
// does, with two differences: every downstream receives every object that
// passes the filter (fan-out, not competing consumers), and it can dial
// downstreams (ConnectTo) as well as listen for them.
//
// Each connected downstream has its own ring of QueueSize objects, created
// when the downstream has completed the handshake and dropped when it
// disconnects. Objects offered while a downstream is not connected are not
// kept for it: cardano-tracer's single queue would hold up to queueSize of
// them for whoever connects next, but with fan-out such a backlog has no
// owner (which downstream would it be for, and for how long?), and a
// downstream that reconnects has missed the objects of the gap anyway. A
// downstream that cannot keep up loses its oldest objects: each drop is
// counted (OnDrop) and logged at most once per DropReportEvery, and it
// never slows Offer, the other downstreams or the node sessions.
//
// Goroutines: one accept loop per AcceptAt endpoint and one dial loop per
// ConnectTo endpoint, owned by the Reforwarder; per downstream connection
// one goroutine running it, which owns the three role goroutines and the
// Mux's two. Shutdown and Close end them all and wait.
type Reforwarder struct {
	o     ReforwardOptions
	log   *slog.Logger
	store *datapoint.Store // holds NodeInfo; shared by every connection

	filter atomic.Pointer[nsFilter]
	// downs is the connected downstreams, read by Offer without a lock and
	// replaced as a whole (copy on write) under mu.
	downs atomic.Pointer[[]*downstream]

	ctx  context.Context // ends at Shutdown or Close
	stop context.CancelCauseFunc

	mu        sync.Mutex
	bound     []reforwardListener // from Listen, for Serve
	listeners []net.Listener      // every open listener, closed by Shutdown
	closed    bool
	served    bool
	wg        sync.WaitGroup // accept loops, dial loops, connections
}

type reforwardListener struct {
	ep Endpoint
	ln net.Listener
}

// NewReforwarder checks the options and returns a Reforwarder that has not
// started.
func NewReforwarder(o ReforwardOptions) (*Reforwarder, error) {
	if err := o.setDefaults(); err != nil {
		return nil, fmt.Errorf("re-forwarding options: %w", err)
	}
	r := &Reforwarder{o: o, log: o.Log.With("component", "reforward"), store: &datapoint.Store{}}
	r.store.Set(datapoint.NodeInfoName, o.NodeInfo.JSON())
	r.filter.Store(newNSFilter(o.Namespaces))
	r.downs.Store(&[]*downstream{})
	r.ctx, r.stop = context.WithCancelCause(context.Background())
	return r, nil
}

// Listen binds every AcceptAt endpoint (a stale Unix socket is removed
// first). A failure is returned at once, so that start-up fails clearly;
// later listener failures are retried with back-off.
func (r *Reforwarder) Listen() error {
	for _, ep := range r.o.AcceptAt {
		ln, err := listen(ep)
		if err != nil {
			return fmt.Errorf("re-forwarding: %w", err)
		}
		if !r.track(ln) {
			return ErrReforwarderClosed
		}
		r.mu.Lock()
		r.bound = append(r.bound, reforwardListener{ep, ln})
		r.mu.Unlock()
		r.log.Info("listening for downstream acceptors", "remote", ep.String())
	}
	return nil
}

// Addrs returns the addresses being listened on.
func (r *Reforwarder) Addrs() []net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]net.Addr, len(r.listeners))
	for i, ln := range r.listeners {
		out[i] = ln.Addr()
	}
	return out
}

// Serve starts the accept loops of the listeners bound by Listen (call it
// first) and the dial loops of ConnectTo, in the background, and returns.
// Calls after the first, or after Shutdown, do nothing.
func (r *Reforwarder) Serve() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.served || r.closed {
		return
	}
	r.served = true
	for _, b := range r.bound {
		r.wg.Go(func() { r.acceptLoop(b.ep, b.ln) })
	}
	for _, ep := range r.o.ConnectTo {
		r.wg.Go(func() { r.dialLoop(ep) })
	}
	r.log.Info("re-forwarder started", "count", len(r.bound)+len(r.o.ConnectTo))
}

// Downstreams returns the names of the connected downstreams, sorted.
func (r *Reforwarder) Downstreams() []string {
	downs := *r.downs.Load()
	out := make([]string, len(downs))
	for i, d := range downs {
		out[i] = d.name
	}
	slices.Sort(out)
	return out
}

// SetNamespaces replaces the filter (configuration reload); objects offered
// afterwards are filtered by the new prefixes.
func (r *Reforwarder) SetNamespaces(ns [][]string) {
	f := newNSFilter(ns)
	r.filter.Store(f)
	if f.all {
		r.log.Info("re-forwarding filter removed: everything passes")
		return
	}
	r.log.Info("re-forwarding filter set", "count", len(f.prefixes))
}

// Offer hands a batch to every connected downstream: the objects that pass
// the filter are encoded once and the same bytes go into each downstream's
// ring, in order. It never blocks: a full ring drops its oldest objects.
// It may be called from several goroutines; the objects of one call stay
// in order, so calling it from one goroutine per node keeps each node's
// order. It does not keep objs.
func (r *Reforwarder) Offer(objs []tracer.TraceObject) {
	downs := *r.downs.Load()
	if len(downs) == 0 || len(objs) == 0 {
		return
	}
	f := r.filter.Load()
	if f.none() {
		return
	}
	var buf []byte
	ends := make([]int, 0, len(objs))
	for i := range objs {
		if f.pass(&objs[i]) {
			buf = tracer.AppendTraceObject(buf, &objs[i])
			ends = append(ends, len(buf))
		}
	}
	if len(ends) == 0 {
		return
	}
	enc := make([][]byte, len(ends))
	start := 0
	for i, end := range ends {
		enc[i] = buf[start:end:end]
		start = end
	}
	for _, d := range downs {
		if n := d.ring.PutEncodedAll(enc); n > 0 {
			r.dropped(d, n)
		}
	}
}

// Shutdown closes the listeners, ends every downstream connection (without
// MsgDone, which a forwarder never sends) and waits for every goroutine.
// Objects still in the rings are not delivered. If ctx ends first, it still
// waits (everything has been told to stop and ends promptly) and then
// reports ctx's error.
func (r *Reforwarder) Shutdown(ctx context.Context) error {
	r.beginClose()
	done := make(chan struct{})
	go func() { // ends when wg does; Shutdown waits for it below
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		<-done
		return fmt.Errorf("re-forwarder shutdown: %w", ctx.Err())
	}
}

// Close is Shutdown without a deadline. It is safe to call repeatedly.
func (r *Reforwarder) Close() error {
	r.beginClose()
	r.wg.Wait()
	return nil
}

func (r *Reforwarder) beginClose() {
	r.mu.Lock()
	r.closed = true
	lns := r.listeners
	r.listeners = nil
	r.mu.Unlock()
	r.stop(errShutdown)
	for _, ln := range lns {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			r.log.Warn("close listener", "err", err)
		}
	}
}

// track records a listener so that Shutdown closes it; once closed, it
// closes the listener instead and reports false.
func (r *Reforwarder) track(ln net.Listener) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		if err := ln.Close(); err != nil {
			r.log.Debug("close listener", "err", err)
		}
		return false
	}
	r.listeners = append(r.listeners, ln)
	return true
}

// acceptLoop accepts downstream acceptors on ln until Shutdown; a failed
// listener is bound again with back-off.
func (r *Reforwarder) acceptLoop(ep Endpoint, ln net.Listener) {
	serveListener(r.ctx, ep, ln, r.log, r.track, func(_ net.Listener, conn net.Conn, counter uint64) {
		name := "tcp:" + conn.RemoteAddr().String()
		if ep.Net == "unix" {
			name = "unix:" + ep.Addr + "@" + strconv.FormatUint(counter, 10)
		}
		r.wg.Go(func() { r.serveConn(conn, name, false) })
	})
}

// dialLoop keeps one connection to a ConnectTo downstream: back-off from
// 1 s (or MaxReconnectDelay, when smaller) doubling to MaxReconnectDelay,
// back to the start after a connection stayed up that long.
func (r *Reforwarder) dialLoop(ep Endpoint) {
	b := backoff{Min: min(time.Second, r.o.MaxReconnectDelay), Max: r.o.MaxReconnectDelay}
	var d net.Dialer
	for {
		up := time.Now()
		r.log.Info("connecting to downstream", "remote", ep.String())
		conn, err := d.DialContext(r.ctx, ep.Net, ep.Addr)
		if err == nil {
			r.serveConn(conn, ep.String(), true)
		} else if r.ctx.Err() == nil {
			r.log.Warn("connect to downstream failed", "remote", ep.String(), "err", err)
		}
		wait := b.next(time.Since(up))
		if r.ctx.Err() == nil {
			r.log.Info("reconnecting to downstream later", "remote", ep.String(), "duration", wait)
		}
		if !sleep(r.ctx, wait) {
			return
		}
	}
}

// serveConn runs one downstream connection: the handshake (as the server
// when accepted, as the client when dialled), then the three forwarder
// roles until one of them ends. It closes conn.
func (r *Reforwarder) serveConn(conn net.Conn, name string, dialled bool) {
	log := r.log.With("remote", name)
	own, handshake := muxproto.FromResponder, muxproto.ServerHandshake
	if dialled {
		own, handshake = muxproto.FromInitiator, muxproto.ClientHandshake
	}
	hs := muxproto.HandshakeConfig{NetworkMagic: r.o.NetworkMagic, Timeout: r.o.HandshakeTimeout}
	if _, err := handshake(r.ctx, conn, hs); err != nil {
		if r.ctx.Err() == nil {
			log.Warn("downstream handshake failed", "reason", classify(err), "err", err)
		}
		if cerr := conn.Close(); cerr != nil {
			log.Debug("close connection", "err", cerr)
		}
		return
	}
	mux, err := muxproto.New(conn, own, reforwardProtocols, r.o.Mux, log)
	if err != nil { // the options were validated in NewReforwarder
		log.Error("start multiplexer", "err", err)
		if cerr := conn.Close(); cerr != nil {
			log.Debug("close connection", "err", cerr)
		}
		return
	}
	start := time.Now()
	d := &downstream{name: name, ring: tracer.NewRing(r.o.QueueSize), log: log}
	r.attach(d)
	log.Info("downstream connected")
	err = r.runRoles(mux, d.ring)
	r.detach(d)
	if n := d.flushDrops(); n > 0 {
		log.Warn("dropped trace objects for a slow downstream", "count", n)
	}
	log.Info("downstream disconnected", "reason", classify(err), "err", err,
		"count", d.ring.Discarded(), "duration", time.Since(start).Round(time.Millisecond).String())
}

// runRoles answers the downstream's three mini-protocols until one of them
// ends, as a node does, then closes the Mux. It returns nil after a
// downstream's MsgDone, errShutdown after Shutdown, and otherwise the
// error that ended the connection.
func (r *Reforwarder) runRoles(mux *muxproto.Mux, ring *tracer.Queue) error {
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	roles := []func(context.Context) error{
		tracer.NewForwarder(mux.Channel(tracer.Protocol), ring).Run,
		ekg.NewForwarder(mux.Channel(ekg.Protocol), r.o.Self).Run,
		datapoint.NewForwarder(mux.Channel(datapoint.Protocol), r.store).Run,
	}
	errc := make(chan error, len(roles)) // one result per role
	for _, run := range roles {
		go func() { errc <- run(ctx) }() // joined below
	}
	first := <-errc // the first role to end ends the connection
	cancel()
	if err := mux.Close(); err != nil {
		r.log.Debug("close multiplexer", "err", err)
	}
	for range len(roles) - 1 {
		<-errc
	}
	switch merr := mux.Err(); {
	case r.ctx.Err() != nil:
		return context.Cause(r.ctx)
	case first == nil:
		return nil // MsgDone
	case !errors.Is(merr, muxproto.ErrMuxClosed):
		return merr // the connection failed: report the cause, not its echo
	}
	return first
}

func (r *Reforwarder) attach(d *downstream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := append(slices.Clone(*r.downs.Load()), d)
	r.downs.Store(&next)
}

func (r *Reforwarder) detach(d *downstream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := slices.DeleteFunc(slices.Clone(*r.downs.Load()), func(x *downstream) bool { return x == d })
	r.downs.Store(&next)
}

// dropped accounts for n objects a full ring of d has just dropped.
func (r *Reforwarder) dropped(d *downstream, n int) {
	if r.o.OnDrop != nil {
		r.o.OnDrop(d.name, n)
	}
	if count := d.noteDrops(n, time.Now(), r.o.DropReportEvery); count > 0 {
		d.log.Warn("dropped trace objects for a slow downstream", "count", count)
	}
}

// downstream is one connected downstream acceptor.
type downstream struct {
	name string
	ring *tracer.Queue // drop-oldest, QueueSize objects
	log  *slog.Logger

	mu         sync.Mutex // guards the drop report below
	unreported int        // drops not yet logged
	lastReport time.Time  // zero: never logged
}

// noteDrops adds n drops and, when the last report is at least every ago,
// returns the drops to log now (and resets them); otherwise 0.
func (d *downstream) noteDrops(n int, now time.Time, every time.Duration) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unreported += n
	if !d.lastReport.IsZero() && now.Sub(d.lastReport) < every {
		return 0
	}
	count := d.unreported
	d.unreported, d.lastReport = 0, now
	return count
}

// flushDrops returns and resets the drops not yet logged.
func (d *downstream) flushDrops() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.unreported
	d.unreported = 0
	return n
}

// nsFilter is cardano-tracer's re-forwarding filter (BEHAVIOUR.md §g): an
// object passes when its namespace, joined with ".", starts with one of
// the prefixes, each joined with ".", as plain text. So "Chain" passes
// "ChainDB…" and "ChainSync…".
type nsFilter struct {
	all      bool     // no filter (null): everything passes
	prefixes []string // joined; none: nothing passes
}

func newNSFilter(ns [][]string) *nsFilter {
	if ns == nil {
		return &nsFilter{all: true}
	}
	f := &nsFilter{prefixes: make([]string, len(ns))}
	for i, p := range ns {
		f.prefixes[i] = strings.Join(p, ".")
	}
	return f
}

func (f *nsFilter) none() bool { return !f.all && len(f.prefixes) == 0 }

func (f *nsFilter) pass(o *tracer.TraceObject) bool {
	if f.all {
		return true
	}
	ns := o.NamespaceString()
	for _, p := range f.prefixes {
		if strings.HasPrefix(ns, p) {
			return true
		}
	}
	return false
}
