package muxproto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Mux runs the mini-protocols of one connection after the handshake.
//
// Exactly two goroutines touch the connection: the demuxer, the only
// reader, and the egress writer, the only writer. The demuxer never waits
// for a consumer: each mini-protocol's ingress is bounded in bytes and an
// overrun ends the connection. The first error ends the Mux; Wait returns it.
type Mux struct {
	conn  net.Conn
	own   Direction // the direction bit of everything we send
	cfg   Config
	log   *slog.Logger
	start time.Time

	chans map[ProtocolNum]*Channel // fixed at New
	order []*Channel               // egress round-robin order

	mu   sync.Mutex    // guards the egress queues of all channels and rr
	rr   int           // next channel the writer serves first
	wake chan struct{} // cap 1: the writer has work

	done     chan struct{} // closed when the Mux has failed or been closed
	failOnce sync.Once
	err      error // the first error; written before done is closed
	wg       sync.WaitGroup

	sdusIn, sdusOut, bytesIn, bytesOut atomic.Uint64
}

// Stats are cumulative counters of one Mux.
type Stats struct {
	SDUsIn, SDUsOut   uint64
	BytesIn, BytesOut uint64 // payload bytes
}

// New starts a Mux over conn for the given mini-protocols. own is the
// direction bit of this side: FromInitiator for the side that connected.
// Incoming SDUs must carry the other direction. The Mux owns conn from now
// on and closes it when it ends.
func New(conn net.Conn, own Direction, protos []ProtocolNum, cfg Config, log *slog.Logger) (*Mux, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("mux config: %w", err)
	}
	m := &Mux{
		conn:  conn,
		own:   own,
		cfg:   cfg,
		log:   log,
		start: time.Now(),
		chans: make(map[ProtocolNum]*Channel, len(protos)),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	for _, p := range protos {
		if _, dup := m.chans[p]; dup || p > 0x7fff {
			return nil, fmt.Errorf("mux: protocol %d registered twice or out of range", p)
		}
		c := &Channel{
			m:     m,
			proto: p,
			ready: make(chan struct{}, 1),
			space: make(chan struct{}, 1),
			fr:    framer{maxDepth: cfg.MaxNesting},
		}
		m.chans[p] = c
		m.order = append(m.order, c)
	}
	m.wg.Add(2)
	go m.demux()
	go m.egress()
	return m, nil
}

// Channel returns the channel of a registered mini-protocol, or nil.
func (m *Mux) Channel(p ProtocolNum) *Channel { return m.chans[p] }

// Done is closed when the Mux has ended.
func (m *Mux) Done() <-chan struct{} { return m.done }

// Err returns the error that ended the Mux, or nil while it runs.
func (m *Mux) Err() error {
	select {
	case <-m.done:
		return m.err
	default:
		return nil
	}
}

// Wait blocks until both goroutines have exited and returns the first error.
func (m *Mux) Wait() error {
	<-m.done
	m.wg.Wait()
	return m.err
}

// Close ends the Mux (if it is still running) with ErrMuxClosed, closes the
// connection and waits for the goroutines. It is safe to call repeatedly.
func (m *Mux) Close() error {
	m.fail(ErrMuxClosed)
	m.wg.Wait()
	return nil
}

// Stats returns a snapshot of the counters.
func (m *Mux) Stats() Stats {
	return Stats{
		SDUsIn: m.sdusIn.Load(), SDUsOut: m.sdusOut.Load(),
		BytesIn: m.bytesIn.Load(), BytesOut: m.bytesOut.Load(),
	}
}

// fail records the first error, wakes every waiter and closes the conn.
func (m *Mux) fail(err error) {
	m.failOnce.Do(func() {
		m.err = err
		close(m.done)
		if cerr := m.conn.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			m.log.Debug("close connection", "err", cerr)
		}
	})
}

func (m *Mux) timestamp() uint32 {
	return uint32(time.Since(m.start).Microseconds())
}

// demux is the only reader of the connection.
func (m *Mux) demux() {
	defer m.wg.Done()
	rd := newSDUReader(m.conn, m.cfg.SDUTimeout)
	defer rd.release()
	for {
		if err := m.nextSDU(rd); err != nil {
			m.fail(err)
			return
		}
	}
}

// nextSDU waits without a deadline for the first byte of the next SDU,
// gives the rest of it SDUTimeout to arrive and hands its payload to its
// channel.
func (m *Mux) nextSDU(rd *sduReader) error {
	if err := rd.waitNext(); err != nil {
		return m.readErr(err, false)
	}
	for rd.buffered() < HeaderSize {
		if err := rd.more(); err != nil {
			return m.readErr(err, true)
		}
	}
	h, err := DecodeHeader((*[HeaderSize]byte)(rd.bytes()[:HeaderSize]))
	if err != nil {
		return err
	}
	rd.consume(HeaderSize)
	c, err := m.route(h)
	if err != nil {
		return err
	}
	if err := c.receive(m, rd, int(h.Length)); err != nil {
		return err
	}
	m.sdusIn.Add(1)
	m.bytesIn.Add(uint64(h.Length))
	return nil
}

func (m *Mux) readErr(err error, midSDU bool) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ErrSDUTimeout
	case peerGone(err):
		if midSDU {
			return fmt.Errorf("%w in the middle of an SDU", ErrPeerClosed)
		}
		return ErrPeerClosed
	}
	return fmt.Errorf("read: %w", err)
}

func (m *Mux) route(h Header) (*Channel, error) {
	c := m.chans[h.Proto]
	if c == nil {
		return nil, &ProtocolError{Proto: h.Proto, Dir: h.Dir, Err: ErrUnknownProtocol}
	}
	if h.Dir == m.own {
		return nil, &ProtocolError{Proto: h.Proto, Dir: h.Dir, Err: ErrWrongDirection}
	}
	return c, nil
}

// egress is the only writer of the connection. It serves the channels
// round robin, one SDU each per turn, so a long message on one protocol
// cannot hold back the others, and writes up to egressBatch bytes of SDUs
// per system call.
func (m *Mux) egress() {
	defer m.wg.Done()
	const egressBatch = 64 << 10
	// The buffer grows with what is sent: an acceptor, which sends only
	// small requests, keeps a small one per connection; a forwarder's
	// grows to about egressBatch plus one SDU.
	buf := make([]byte, 0, 512)
	for {
		select {
		case <-m.wake:
		case <-m.done:
			return
		}
		for {
			buf = m.fillSDUs(buf[:0], egressBatch)
			if len(buf) == 0 {
				break
			}
			if _, err := m.conn.Write(buf); err != nil {
				m.fail(m.writeErr(err))
				return
			}
		}
	}
}

// peerGone reports whether err means the peer closed or reset the
// connection (as opposed to a local failure).
func peerGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (m *Mux) writeErr(err error) error {
	if errors.Is(err, net.ErrClosed) || peerGone(err) {
		return fmt.Errorf("%w (write)", ErrPeerClosed)
	}
	return fmt.Errorf("write: %w", err)
}

// fillSDUs appends SDUs to buf until no channel has anything queued or buf
// holds at least limit bytes.
func (m *Mux) fillSDUs(buf []byte, limit int) []byte {
	ts := m.timestamp()
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(buf) < limit {
		served := false
		for i := range m.order {
			c := m.order[(m.rr+i)%len(m.order)]
			if c.outBytes == 0 {
				continue
			}
			buf = c.takeSDU(buf, m.own, ts, m.cfg.SDUSize)
			m.sdusOut.Add(1)
			served = true
			if len(buf) >= limit {
				m.rr = (m.rr + i + 1) % len(m.order)
				return buf
			}
		}
		if !served {
			break
		}
	}
	return buf
}

// Channel is one mini-protocol's pair of byte streams on a Mux: messages we
// send, and messages the peer sends us, framed as whole CBOR items.
type Channel struct {
	m     *Mux
	proto ProtocolNum

	// Ingress. partial and fr belong to the demux goroutine alone.
	partial  []byte
	fr       framer
	sizeHint int          // length of the last message that spanned reads: room for the next such one
	bound    int          // for the message in partial: the bound partialCap found in the SDUs read with its start, or -1
	unbound  bool         // the last message given such a bound outgrew it: use sizeHint (see partialCap)
	partLen  atomic.Int64 // len(partial), published for Receiving
	sduOpen  atomic.Bool  // an SDU of this channel has begun and its rest is awaited, for Receiving
	pooled   atomic.Bool  // messages come from the message pools (PoolMessages)
	testHook func([]byte) // tests: called with each message as it is delivered
	inMu     sync.Mutex   // guards msgs, queued
	msgs     [][]byte
	queued   int           // bytes in msgs
	ready    chan struct{} // cap 1: msgs became non-empty

	// Egress, guarded by m.mu.
	out      [][]byte
	outOff   int // bytes of out[0] already sent
	outBytes int
	space    chan struct{} // cap 1: the writer drained some of out
}

// Done is closed when the channel's Mux has ended; Err then says why.
func (c *Channel) Done() <-chan struct{} { return c.m.done }

// Err returns the error that ended the channel's Mux, or nil while it runs.
func (c *Channel) Err() error { return c.m.Err() }

// Proto returns the channel's mini-protocol number.
func (c *Channel) Proto() ProtocolNum { return c.proto }

// PoolMessages makes the messages delivered from now on come from the
// message pools, for a consumer that gives each back with ReleaseMessage
// once it is done with it. A consumer that does not release them is
// better off without: a buffer from the pools is rounded up to a power
// of two, and zeroed when the pool is empty.
func (c *Channel) PoolMessages() { c.pooled.Store(true) }

// receive takes one SDU payload of n bytes from rd and cuts off every
// message it completes.
func (c *Channel) receive(m *Mux, rd *sduReader, n int) error {
	if c.queuedBytes()+len(c.partial)+n > m.cfg.IngressLimit {
		return c.protoErr(fmt.Errorf("%w: more than %d bytes buffered", ErrIngressOverrun, m.cfg.IngressLimit))
	}
	open := rd.buffered() < n // the rest of the payload is to be read
	if open {
		c.sduOpen.Store(true)
	}
	for n > 0 {
		if rd.buffered() == 0 {
			if err := rd.more(); err != nil {
				return m.readErr(err, true)
			}
		}
		k := min(n, rd.buffered())
		if err := c.take(m, rd.bytes(), k, n-k); err != nil {
			return err
		}
		rd.consume(k)
		n -= k
	}
	c.partLen.Store(int64(len(c.partial)))
	if open {
		c.sduOpen.Store(false)
	}
	if err := rd.sduDone(); err != nil {
		return m.readErr(err, false)
	}
	return nil
}

// take adds the next k bytes of the peer's stream on this channel, the
// start of buf, and delivers the messages they complete; buf stays valid
// only during the call, and rest more bytes of the current SDU's payload
// are yet to be read. A message that begins and ends in those k bytes is
// copied out once: at its size, without first zeroing a buffer for it, or
// into a buffer from the message pools (PoolMessages). One that goes on
// gets a buffer sized from what is already known of its length (see
// partialCap), so that a reply spread over several SDUs is not copied
// again as it grows.
func (c *Channel) take(m *Mux, buf []byte, k, rest int) error {
	b := buf[:k]
	pooled := c.pooled.Load()
	if len(c.partial) > 0 {
		if need := len(c.partial) + k; need > cap(c.partial) && pooled {
			// Grow into the next pooled size, so that the message can
			// still be given back; beyond the pooled sizes, by doubling,
			// so that a long message in small SDUs is not copied again
			// with every one of them.
			room := max(need, min(2*cap(c.partial), m.cfg.MaxMessageSize))
			grown := append(newMessage(room), c.partial...)
			ReleaseMessage(c.partial)
			c.partial = grown
		}
		c.partial = append(c.partial, b...)
		n, err := c.fr.scan(c.partial)
		if err != nil {
			return c.protoErr(err)
		}
		if n == 0 {
			return c.checkSize(m)
		}
		if err := c.checkLen(m, n); err != nil {
			return err
		}
		// msg keeps the buffer's capacity, so that ReleaseMessage knows
		// its size class.
		msg := c.partial[:n]
		c.sizeHint = min(n, m.cfg.MaxMessageSize)
		if c.bound >= 0 {
			c.unbound = n > c.bound
		}
		b = c.partial[n:] // the next message's first bytes, if any
		if len(b) > 0 {
			// They lie within msg's capacity, and once delivered msg
			// belongs to its consumer (which may release it to be
			// reused by another connection at once): keep them apart.
			// (A reply's last SDU rarely holds more.)
			b = bytes.Clone(b)
		}
		c.partial = nil
		c.deliver(msg)
	}
	for len(b) > 0 {
		n, err := c.fr.scan(b)
		if err != nil {
			return c.protoErr(err)
		}
		if n == 0 {
			room := c.partialCap(m, len(b), buf[k:], rest)
			if pooled {
				c.partial = append(newMessage(room), b...)
			} else {
				c.partial = append(make([]byte, 0, room), b...)
			}
			return c.checkSize(m)
		}
		if err := c.checkLen(m, n); err != nil {
			return err
		}
		if pooled {
			c.deliver(append(newMessage(n), b[:n]...))
		} else {
			c.deliver(bytes.Clone(b[:n]))
		}
		b = b[n:]
	}
	return nil
}

// partialCap returns the capacity for a message that begins with have
// bytes and goes on beyond them, and notes in c.bound what bounds it.
// ahead is what has been read after those bytes: the rest of the current
// SDU's payload, of which rest bytes are still to read, then further
// SDUs. A reply usually arrives whole in one read, and then this
// channel's payloads in ahead hold the rest of it (and perhaps more):
// their length bounds the message, and the buffer need be no longer.
// That is known only once the message ends, so it is trusted while it
// held for the last message it was tried on. When ahead ends inside an
// SDU, holds nothing of this channel, or the bound failed last time (a
// peer whose replies come over several writes, read as they arrive),
// more may come of unknown length, and the capacity is at least the
// length of the last message that spanned reads.
func (c *Channel) partialCap(m *Mux, have int, ahead []byte, rest int) int {
	n := have + rest
	complete := rest == 0 // ahead ends at an SDU boundary
	for rest == 0 && len(ahead) > 0 {
		if len(ahead) < HeaderSize {
			complete = false
			break
		}
		// A header that does not decode fails when the demultiplexer
		// reaches it; here it only adds its length, if it is this
		// channel's.
		h, _ := DecodeHeader((*[HeaderSize]byte)(ahead))
		l := int(h.Length)
		if h.Proto == c.proto && h.Dir != m.own {
			n += l
		}
		if len(ahead) < HeaderSize+l {
			complete = false
			break
		}
		ahead = ahead[HeaderSize+l:]
	}
	c.bound = -1
	if complete && n > have {
		c.bound = n
	}
	if c.bound < 0 || c.unbound {
		n = max(n, c.sizeHint)
	}
	return min(n, m.cfg.MaxMessageSize)
}

// checkSize fails the channel when the message in progress is already
// longer than MaxMessageSize.
func (c *Channel) checkSize(m *Mux) error { return c.checkLen(m, len(c.partial)) }

// checkLen fails the channel for a message of n bytes, complete or not,
// over MaxMessageSize.
func (c *Channel) checkLen(m *Mux, n int) error {
	if n > m.cfg.MaxMessageSize {
		return c.protoErr(fmt.Errorf("%w: %d bytes, over %d", ErrMessageTooLarge, n, m.cfg.MaxMessageSize))
	}
	return nil
}

// Receiving reports whether part of a message from the peer has arrived
// and the rest is still awaited: a message spanning SDUs, or an SDU of
// this channel whose payload has begun to arrive.
func (c *Channel) Receiving() bool { return c.partLen.Load() > 0 || c.sduOpen.Load() }

func (c *Channel) protoErr(err error) error {
	return &ProtocolError{Proto: c.proto, Dir: 1 - c.m.own, Err: err}
}

func (c *Channel) queuedBytes() int {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	return c.queued
}

func (c *Channel) deliver(msg []byte) {
	c.inMu.Lock()
	c.msgs = append(c.msgs, msg)
	c.queued += len(msg)
	c.inMu.Unlock()
	select {
	case c.ready <- struct{}{}:
	default:
	}
	if c.testHook != nil {
		c.testHook(msg)
	}
}

func (c *Channel) pop() ([]byte, bool) {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	if len(c.msgs) == 0 {
		return nil, false
	}
	msg := c.msgs[0]
	c.msgs[0] = nil
	c.msgs = c.msgs[1:]
	if len(c.msgs) == 0 {
		c.msgs = nil
	}
	c.queued -= len(msg)
	return msg, true
}

// Recv returns the next complete message the peer sent on this channel.
// The caller owns the returned bytes (and may give them back with
// ReleaseMessage when done). Messages that arrived before the Mux ended
// are still returned; after them Recv returns the Mux's error.
func (c *Channel) Recv(ctx context.Context) ([]byte, error) {
	for {
		if msg, ok := c.pop(); ok {
			return msg, nil
		}
		select {
		case <-c.ready:
		case <-ctx.Done():
			// A message that arrived as ctx ended is not dropped for
			// losing the race.
			if msg, ok := c.pop(); ok {
				return msg, nil
			}
			return nil, ctx.Err()
		case <-c.m.done:
			if msg, ok := c.pop(); ok {
				return msg, nil
			}
			return nil, c.m.err
		}
	}
}

// Send queues one encoded message for the peer. It waits only while more
// than EgressLimit bytes are queued on this channel. The Mux keeps msg until
// it is written: the caller must not change it afterwards.
func (c *Channel) Send(ctx context.Context, msg []byte) error {
	if len(msg) == 0 {
		return errors.New("send: empty message")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m := c.m
	for {
		m.mu.Lock()
		if err := m.Err(); err != nil {
			m.mu.Unlock()
			return err
		}
		if c.outBytes == 0 || c.outBytes+len(msg) <= m.cfg.EgressLimit {
			c.out = append(c.out, msg)
			c.outBytes += len(msg)
			m.mu.Unlock()
			select {
			case m.wake <- struct{}{}:
			default:
			}
			return nil
		}
		m.mu.Unlock()
		select {
		case <-c.space:
		case <-ctx.Done():
			return ctx.Err()
		case <-m.done:
			return m.err
		}
	}
}

// takeSDU appends one SDU of at most size payload bytes from the front of
// the egress queue to buf. The caller holds m.mu and has checked outBytes.
func (c *Channel) takeSDU(buf []byte, own Direction, ts uint32, size int) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, HeaderSize)...)
	for len(buf)-start-HeaderSize < size && len(c.out) > 0 {
		room := size - (len(buf) - start - HeaderSize)
		chunk := c.out[0][c.outOff:]
		if len(chunk) > room {
			chunk = chunk[:room]
		}
		buf = append(buf, chunk...)
		c.outOff += len(chunk)
		c.outBytes -= len(chunk)
		if c.outOff == len(c.out[0]) {
			c.out[0] = nil
			c.out = c.out[1:]
			c.outOff = 0
		}
	}
	n := len(buf) - start - HeaderSize
	Header{Timestamp: ts, Dir: own, Proto: c.proto, Length: uint16(n)}.Encode((*[HeaderSize]byte)(buf[start:]))
	c.m.bytesOut.Add(uint64(n))
	if c.outBytes < c.m.cfg.EgressLimit {
		select {
		case c.space <- struct{}{}:
		default:
		}
	}
	return buf
}
