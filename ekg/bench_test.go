package ekg_test

import (
	"fmt"
	"testing"

	"muninn/ekg"
)

// loop runs body b.N times and also reports the process CPU time per
// operation ("cpu-ns/op").
func loop(b *testing.B, body func()) {
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		body()
	}
	if used := cpuTime() - start; start > 0 && b.N > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func store300(tb testing.TB) *ekg.Store {
	tb.Helper()
	s := ekg.NewStore()
	s.Apply(realistic300())
	if n := s.Snapshot().Len(); n != 300 {
		tb.Fatalf("store holds %d metrics", n)
	}
	return s
}

// BenchmarkExposition300: one node of 300 metrics, OpenMetrics, with help
// texts, buffer reused. Target: ≤ 50 µs and no allocation.
func BenchmarkExposition300(b *testing.B) {
	snap := store300(b).Snapshot()
	e := ekg.Exposition{Help: ekg.NewHelp(helpTexts())}
	buf := e.Append(nil, snap, ekg.OpenMetrics, clock)
	b.SetBytes(int64(len(buf)))
	loop(b, func() { buf = e.Append(buf[:0], snap, ekg.OpenMetrics, clock) })
}

// BenchmarkAppendAll1000x300: /metrics over 1000 nodes of 300 metrics,
// text 0.0.4, buffer reused. Target: ≤ 50 ms.
func BenchmarkAppendAll1000x300(b *testing.B) {
	nodes := make([]ekg.NodeSnapshot, 1000)
	for i := range nodes {
		nodes[i] = ekg.NodeSnapshot{Name: fmt.Sprintf("relay%d_3001", i), Snap: store300(b).Snapshot()}
	}
	e := ekg.Exposition{Help: ekg.NewHelp(helpTexts())}
	buf := e.AppendAll(nil, nodes, ekg.Text004, clock, false)
	b.SetBytes(int64(len(buf)))
	loop(b, func() { buf = e.AppendAll(buf[:0], nodes, ekg.Text004, clock, false) })
}

// BenchmarkAppendAll1000x300Distinct: as above, but no two nodes have the
// same set of names (each has one metric of its own), so AppendAll maps
// every node's names to families instead of reusing the previous node's.
func BenchmarkAppendAll1000x300Distinct(b *testing.B) {
	nodes := make([]ekg.NodeSnapshot, 1000)
	for i := range nodes {
		s := store300(b)
		s.Apply([]ekg.Metric{{Name: fmt.Sprintf("cardano.node.metrics.own%04d_int", i), Value: ekg.Gauge(int64(i))}})
		nodes[i] = ekg.NodeSnapshot{Name: fmt.Sprintf("relay%d_3001", i), Snap: s.Snapshot()}
	}
	e := ekg.Exposition{Help: ekg.NewHelp(helpTexts())}
	buf := e.AppendAll(nil, nodes, ekg.Text004, clock, false)
	b.SetBytes(int64(len(buf)))
	loop(b, func() { buf = e.AppendAll(buf[:0], nodes, ekg.Text004, clock, false) })
}

// BenchmarkStoreApply: a poll response of 50 changed metrics (counters,
// gauges and _real labels) into a store of 300.
func BenchmarkStoreApply(b *testing.B) {
	s := store300(b)
	all := realistic300()
	resp := make([]ekg.Metric, 0, 50)
	for i := 0; len(resp) < 50; i += 6 {
		resp = append(resp, all[i])
	}
	labels := make([]string, 64)
	for i := range labels {
		labels[i] = fmt.Sprintf("%d.%03de-2", i%10, i)
	}
	round := int64(0)
	loop(b, func() {
		round++
		for i := range resp {
			switch resp[i].Value.Kind {
			case ekg.KindLabel:
				resp[i].Value.Text = labels[(int(round)+i)%len(labels)]
			default:
				resp[i].Value.Int += round
			}
		}
		s.Apply(resp)
	})
}

// BenchmarkJSONTree300: the EKG JSON tree of 300 metrics, buffer reused.
func BenchmarkJSONTree300(b *testing.B) {
	snap := store300(b).Snapshot()
	buf := ekg.AppendJSON(nil, snap, clock)
	b.SetBytes(int64(len(buf)))
	loop(b, func() { buf = ekg.AppendJSON(buf[:0], snap, clock) })
}
