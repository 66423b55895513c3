package tracer

import (
	"context"
	"fmt"
	"sync"

	"muninn/muxproto"
)

// Queue is a bounded forwarding queue of ENCODED objects, so that a reply
// is a concatenation and an object offered to several forwarders is
// encoded once. Its overflow policy is set when it is made:
//
//   - NewQueue: the node's semantics. When an object arrives while the
//     queue is full, everything queued is discarded and counted, then the
//     new object is queued.
//   - NewRing: drop-oldest. When an object arrives while the queue is
//     full, only the oldest object is discarded and counted. Muninn's
//     re-forwarder gives each downstream one.
type Queue struct {
	mu         sync.Mutex
	ring       [][]byte // capacity slots
	start, n   int
	discarded  uint64
	dropOldest bool          // the overflow policy; fixed at creation
	waiters    int           // blocking requests waiting for an object
	avail      chan struct{} // cap 1: the queue became non-empty
	taken      chan struct{} // cap 1: a request took objects; see Taken
}

// NewQueue returns a queue of the given capacity (at least 1) that
// discards its whole content on overflow, as a node does.
func NewQueue(capacity int) *Queue {
	return &Queue{ring: make([][]byte, max(capacity, 1)), avail: make(chan struct{}, 1), taken: make(chan struct{}, 1)}
}

// NewRing returns a queue of the given capacity (at least 1) that drops
// only the oldest object on overflow.
func NewRing(capacity int) *Queue {
	q := NewQueue(capacity)
	q.dropOldest = true
	return q
}

// Put encodes o and queues it. It returns how many objects were discarded
// to make room: 0, or the whole previous content (NewQueue), or 1 (NewRing).
func (q *Queue) Put(o *TraceObject) int { return q.PutEncoded(AppendTraceObject(nil, o)) }

// PutEncoded queues an already encoded object (one CBOR TraceObject). The
// queue keeps obj, which must not be modified afterwards. It returns how
// many objects were discarded to make room, as Put does.
func (q *Queue) PutEncoded(obj []byte) int {
	q.mu.Lock()
	dropped := q.push(obj)
	q.mu.Unlock()
	q.signal()
	return dropped
}

// PutEncodedAll queues several encoded objects in order, under one lock:
// the same as calling PutEncoded for each. It returns the total number of
// objects discarded to make room.
func (q *Queue) PutEncodedAll(objs [][]byte) int {
	if len(objs) == 0 {
		return 0
	}
	q.mu.Lock()
	dropped := 0
	for _, obj := range objs {
		dropped += q.push(obj)
	}
	q.mu.Unlock()
	q.signal()
	return dropped
}

// push queues obj under q.mu, applying the overflow policy.
func (q *Queue) push(obj []byte) int {
	dropped := 0
	switch {
	case q.n < len(q.ring):
	case q.dropOldest:
		dropped = 1
		q.ring[q.start] = nil
		q.start = (q.start + 1) % len(q.ring)
		q.n--
	default:
		dropped = q.n
		clear(q.ring)
		q.start, q.n = 0, 0
	}
	q.discarded += uint64(dropped)
	q.ring[(q.start+q.n)%len(q.ring)] = obj
	q.n++
	return dropped
}

// signal wakes a waiting request.
func (q *Queue) signal() {
	select {
	case q.avail <- struct{}{}:
	default:
	}
}

// Len returns the number of queued objects.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// Discarded returns how many objects overflow has thrown away so far.
func (q *Queue) Discarded() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.discarded
}

// Waiters returns how many blocking requests are waiting for an object.
// An empty queue with a waiter means every object taken so far has reached
// an acceptor: it has asked again.
func (q *Queue) Waiters() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiters
}

// Taken returns a channel of capacity 1 that receives a value after a
// request has taken one or more objects from the queue. Values coalesce:
// one value stands for every take since the channel was last received
// from, so a single goroutine should receive from it and then look at Len.
// A producer that wants to keep the queue full without ever overflowing
// it (a load generator measuring an acceptor's throughput) refills it by
// capacity-Len after each value. Nobody needs to receive: the signal is a
// non-blocking send that is dropped while a value is pending.
func (q *Queue) Taken() <-chan struct{} { return q.taken }

func (q *Queue) wait(delta int) {
	q.mu.Lock()
	q.waiters += delta
	q.mu.Unlock()
}

// take removes up to max objects from the front, oldest first, and then
// signals Taken if it removed any.
func (q *Queue) take(max int) [][]byte {
	q.mu.Lock()
	k := min(max, q.n)
	out := make([][]byte, k)
	for i := range k {
		j := (q.start + i) % len(q.ring)
		out[i], q.ring[j] = q.ring[j], nil
	}
	q.start = (q.start + k) % len(q.ring)
	q.n -= k
	q.mu.Unlock()
	if k > 0 {
		select { // never blocks: a pending value already says "taken"
		case q.taken <- struct{}{}:
		default:
		}
	}
	return out
}

// Forwarder answers an acceptor's requests from a Queue: the node's side
// of the protocol.
type Forwarder struct {
	ch *muxproto.Channel
	q  *Queue
}

// NewForwarder returns a forwarder for the TraceObject channel of a Mux.
func NewForwarder(ch *muxproto.Channel, q *Queue) *Forwarder {
	return &Forwarder{ch: ch, q: q}
}

// Run answers requests until the acceptor sends MsgDone (nil), ctx ends,
// or the channel fails. A blocking request waits, without a timeout, for
// at least one object; a non-blocking one is answered at once, possibly
// with an empty list. A blocking request for 0 objects is never answered,
// as with a node.
func (f *Forwarder) Run(ctx context.Context) error {
	state := StIdle
	for {
		raw, err := f.ch.Recv(ctx)
		if err != nil {
			return err
		}
		msg, err := DecodeRequest(raw)
		if err != nil {
			return fmt.Errorf("decode trace request: %w", err)
		}
		req, isReq := msg.(Request)
		if state, err = step(state, msg.tag(), isReq && req.Blocking); err != nil {
			return err
		}
		if state == StDone {
			return nil
		}
		objs, err := f.collect(ctx, req)
		if err != nil {
			return err
		}
		if err := f.ch.Send(ctx, encodeReplyOf(objs)); err != nil {
			return fmt.Errorf("send trace reply: %w", err)
		}
		state = StIdle
	}
}

func (f *Forwarder) collect(ctx context.Context, req Request) ([][]byte, error) {
	for {
		objs := f.q.take(int(req.Count))
		if len(objs) > 0 || !req.Blocking {
			return objs, nil
		}
		avail := f.q.avail
		if req.Count == 0 {
			avail = nil // nothing can ever be taken: wait for the end
		}
		f.q.wait(1)
		select {
		case <-avail:
			f.q.wait(-1)
		case <-ctx.Done():
			f.q.wait(-1)
			return nil, ctx.Err()
		case <-f.ch.Done():
			f.q.wait(-1)
			return nil, f.ch.Err()
		}
	}
}

func encodeReplyOf(objs [][]byte) []byte {
	n := 4
	for _, o := range objs {
		n += len(o)
	}
	b := appendReplyStart(make([]byte, 0, n), len(objs))
	for _, o := range objs {
		b = append(b, o...)
	}
	return muxproto.AppendListEnd(b, len(objs))
}
