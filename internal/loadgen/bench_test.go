package loadgen

import (
	"math/rand/v2"
	"testing"
	"time"

	"muninn/tracer"
)

// BenchmarkProduce is the producer's cost per batch of 100 objects of the
// default size mix put into a node's queue: each object encoded afresh, or
// patched from its kind's template.
func BenchmarkProduce(b *testing.B) {
	for _, tt := range []struct {
		name string
		pre  bool
	}{{"encoded", false}, {"pre-encoded", true}} {
		b.Run(tt.name, func(b *testing.B) {
			const batch = 100
			n := &node{
				name:  "load-0000",
				queue: tracer.NewQueue(tracer.DefaultQueueSize),
				build: newBuilder("load-0000", tt.pre),
				rng:   rand.New(rand.NewPCG(1, 2)),
			}
			m := newMix(SizeMix{60, 35, 5})
			b.ReportAllocs()
			for b.Loop() {
				n.produce(batch, time.Now(), m)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/object")
		})
	}
}
