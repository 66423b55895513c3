package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Muninn's live heap is small (the batches in flight, the metric
// snapshots), while it allocates every received byte once. At GOGC=100
// a heap of a few MB is collected many times a second under load; the
// performance suite (docs/PERFORMANCE.md) measured about a third less CPU
// per trace object at GOGC=400. A large fleet's heap (1000 nodes × 300
// metrics is about 40 MB) needs no such headroom, and memory matters
// there: its garbage is mostly metric polls, a few tens of MB a second,
// so 32 MB of headroom still means about one collection a second. So,
// unless the environment sets GOGC, the GC percent follows the live heap:
// enough to give gcHeadroom bytes of growth between collections, between
// gcPercentMin and gcPercentMax.
const (
	gcHeadroom   = 32 << 20
	gcPercentMin = 50
	gcPercentMax = 400
	gcTunePeriod = time.Second
)

// gcPercentFor returns the GC percent for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return gcPercentMax
	}
	p := gcHeadroom * 100 / live
	return int(min(max(p, gcPercentMin), gcPercentMax))
}

// tuneGC sets the GC percent from the live heap now and every
// gcTunePeriod until ctx ends.
func tuneGC(ctx context.Context) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	current := -1
	apply := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if p := gcPercentFor(sample[0].Value.Uint64()); p != current {
			debug.SetGCPercent(p)
			current = p
		}
	}
	apply()
	t := time.NewTicker(gcTunePeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			apply()
		}
	}
}
