package loadgen

import (
	"context"
	"math/rand/v2"
	"time"
)

// wakeSlack is how early a shard may produce an arrival to serve it in
// the same wakeup as an earlier one: it bounds a shard to about 2000
// wakeups a second however high the rates.
const wakeSlack = 500 * time.Microsecond

// LateWakeup is the most a producer's wakeup may be late before it counts
// as a stall of the generator itself (Stats.LateWakeups), whatever the
// rate: a node producing 10 000 objects a second fills a 192-slot queue in
// about 19 ms. At higher rates the bound is lower; see lateBatch.
const LateWakeup = 5 * time.Millisecond

// lateShare is the share of a node's queue whose arrivals, due during a
// stall, make the stall the generator's: see lateBatch.
const lateShare = 4 // a quarter

// lateBatch reports whether a node's batch, whose first arrival was due at
// due and which was produced at now (both since the start of production),
// comes from a late wakeup: a stall of the generator rather than a slow
// acceptor. It is late when clamped (clampBatch skipped arrivals of it), or
// when the wakeup came LateWakeup or more after due, or when, at the rates
// s gives between due and now (bursts included), a quarter of the node's
// queue of queueSize fell due meanwhile; at a steady rate r that is a
// lateness of min(LateWakeup, queueSize/(4r)).
//
// Why a quarter: a stall adds no arrivals but bunches them: what fell due
// during it enters the queue at once, and the acceptor's requests had no
// chance to take any of it as it arrived. Once that is a quarter of the
// queue, the generator's timing alone decides a good part of the queue's
// fill, so a discard in that batch cannot fairly be put down to the
// acceptor; at half a queue the clamp cuts the batch, and such a batch is
// always late. Below a quarter the acceptor still had at least three
// quarters of the queue's time to take what was queued, so a discard is
// its own.
// At 58 000 objects a second a 192-slot queue lasts 3.3 ms and the bound
// is 0.83 ms; at 10 000 it is 4.8 ms; below 9 600 it is LateWakeup.
func lateBatch(s schedule, queueSize int, due, now time.Duration, skipped uint64) bool {
	late := now - due
	switch {
	case skipped > 0 || late >= LateWakeup:
		return true
	case late <= 0:
		return false
	}
	return now >= s.next(due, float64(queueSize)/lateShare)
}

// noteWakeup records a late wakeup (see lateBatch) and how late it was.
func (g *Generator) noteWakeup(late time.Duration) {
	g.lateWakeups.Add(1)
	for {
		cur := g.maxLate.Load()
		if int64(late) <= cur || g.maxLate.CompareAndSwap(cur, int64(late)) {
			return
		}
	}
}

// maxScratch bounds the batch buffers a node keeps between batches.
const maxScratch = 4096

// produce puts k new objects, enqueued now, into the node's queue under
// one lock, and returns how many objects the queue discarded to make room.
// Only the node's producer calls it.
func (n *node) produce(k int, now time.Time, m mix) int {
	picks := n.picks[:0]
	size := 0
	for range k {
		kd := m.pick(n.rng.Float64())
		picks = append(picks, kd)
		size += n.build.sizeHint(kd)
	}
	// One allocation for the batch: each object is a capped slice of it,
	// and the batch is freed once the queue has let go of every object.
	slab := make([]byte, 0, size)
	objs := n.scratch[:0]
	for _, kd := range picks {
		start := len(slab)
		slab = n.build.appendObject(slab, kd, n.seq, now)
		objs = append(objs, slab[start:len(slab):len(slab)])
		n.seq++
	}
	n.produced.Add(uint64(k))
	dropped := n.queue.PutEncodedAll(objs)
	clear(objs)
	if cap(objs) > maxScratch { // a rare catch-up batch: do not keep it
		picks, objs = nil, nil
	}
	n.picks, n.scratch = picks[:0], objs[:0]
	return dropped
}

// refill keeps the node's queue full (Saturate): at first, and each time
// a request has taken objects, it adds capacity-Len objects. It is the
// only producer for its node, and takes only shrink the queue, so the
// queue never overflows.
func (g *Generator) refill(ctx context.Context, n *node) {
	fill := func() {
		if k := g.cfg.QueueSize - n.queue.Len(); k > 0 {
			n.produce(k, time.Now(), g.mix)
		}
	}
	fill()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.stop:
			return
		case <-n.queue.Taken():
			fill()
		}
	}
}

// shard produces open-loop for its nodes from one goroutine: a min-heap
// holds each node's next arrival, and one wakeup serves every arrival due
// by then, a node's objects with one PutEncodedAll.
type shard struct {
	g       *Generator
	nodes   []*node
	sched   schedule
	poisson bool
	rng     *rand.Rand
	heap    arrivals
	// maxBatch is the most objects one wakeup produces for a node: half
	// its queue. A batch cut to it is always a late one (lateBatch).
	maxBatch int
}

// work is the expected number of arrivals to the next one: Exp(1) for a
// Poisson process, 1 for evenly spaced arrivals.
func (s *shard) work() float64 {
	if s.poisson {
		return s.rng.ExpFloat64()
	}
	return 1
}

func (s *shard) run(ctx context.Context, start time.Time) {
	for _, n := range s.nodes {
		first := s.rng.Float64() // Uniform: each node at its own phase
		if s.poisson {
			first = s.rng.ExpFloat64()
		}
		s.heap = append(s.heap, arrival{at: s.sched.next(0, first), n: n})
	}
	s.heap.init()
	s.maxBatch = max(1, s.g.cfg.QueueSize/2)
	timer := time.NewTimer(never)
	defer timer.Stop()
	overflowed := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.g.stop:
			return
		default:
		}
		if wait := s.heap[0].at - time.Since(start); wait > wakeSlack {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-s.g.stop:
				return
			case <-timer.C:
			}
		}
		elapsed := time.Since(start)
		horizon := elapsed + wakeSlack
		now := time.Now()
		late, lateBy := false, time.Duration(0)
		for s.heap[0].at <= horizon {
			a := &s.heap[0]
			due := a.at
			k := 0
			for a.at <= horizon {
				k++
				a.at = s.sched.next(a.at, s.work())
			}
			n := a.n
			s.heap.down(0)
			k, skip := clampBatch(k, s.maxBatch)
			s.g.skipped.Add(skip)
			dropped := n.produce(k, now, s.g.mix)
			if lateBatch(s.sched, s.g.cfg.QueueSize, due, elapsed, skip) {
				late, lateBy = true, max(lateBy, elapsed-due)
				s.g.lateDiscards.Add(uint64(dropped))
			}
			if dropped > 0 && !overflowed {
				overflowed = true
				s.g.log.Warn("a forwarding queue overflowed and discarded its content; Stats counts every discard",
					"node", n.name, "count", dropped)
			}
		}
		if late {
			s.g.noteWakeup(lateBy)
		}
	}
}

// arrival is a node's next arrival time since the start of production.
type arrival struct {
	at time.Duration
	n  *node
}

// arrivals is a min-heap on at.
type arrivals []arrival

func (h arrivals) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h arrivals) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].at < h[l].at {
			m = r
		}
		if h[i].at <= h[m].at {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// clampBatch limits the objects one wakeup produces for a node to max and
// returns how many arrivals are skipped. A generator that fell behind (it
// woke late) and served every missed arrival at once would overflow the
// queue by itself and, building objects only to discard them, fall
// further behind. The excess is skipped: never produced, no sequence
// number, counted in Stats.Skipped.
func clampBatch(k, max int) (int, uint64) {
	if k <= max {
		return k, 0
	}
	return max, uint64(k - max)
}
