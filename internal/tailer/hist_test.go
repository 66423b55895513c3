package tailer

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The histogram's percentiles are within 1 % of the exact ones.
func TestHistogramPercentiles(t *testing.T) {
	t.Parallel()
	logUniform := func(r *rand.Rand) int64 { // 1 µs … 100 s
		return int64(math.Exp(math.Log(1e3) + r.Float64()*(math.Log(1e11)-math.Log(1e3))))
	}
	tests := []struct {
		name string
		n    int
		gen  func(r *rand.Rand) int64
	}{
		{"log-uniform", 100_000, logUniform},
		{"few values", 7, logUniform},
		{"narrow", 50_000, func(r *rand.Rand) int64 { return 2_000_000 + r.Int64N(200_000) }},
		{"exact small", 1000, func(r *rand.Rand) int64 { return r.Int64N(64) }},
		{"exponential", 100_000, func(r *rand.Rand) int64 { return int64(r.ExpFloat64() * 5e6) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, uint64(tt.n)))
			h := &histogram{}
			vals := make([]int64, tt.n)
			for i := range vals {
				vals[i] = tt.gen(r)
				h.record(vals[i])
			}
			slices.Sort(vals)
			p := h.percentiles()
			if p.Count != uint64(tt.n) || p.Max != time.Duration(vals[len(vals)-1]) {
				t.Fatalf("count %d max %v", p.Count, p.Max)
			}
			got := []time.Duration{p.P50, p.P90, p.P99, p.P999}
			for k, q := range quantiles {
				rank := int(math.Ceil(q * float64(tt.n)))
				want := vals[max(rank, 1)-1]
				if diff := math.Abs(float64(got[k]) - float64(want)); diff > 0.01*float64(want) {
					t.Errorf("q%v: %v, exact %v", q, got[k], time.Duration(want))
				}
			}
		})
	}
}

func TestHistogramEdges(t *testing.T) {
	t.Parallel()
	h := &histogram{}
	if p := h.percentiles(); p != (Percentiles{}) {
		t.Errorf("empty: %+v", p)
	}
	h.record(-5)
	h.record(-1)
	if p := h.percentiles(); p.Count != 2 || p.P50 != 0 || p.Max != 0 {
		t.Errorf("negative: %+v", p)
	}
	h.record(int64(time.Hour)) // beyond the range: the last bucket, exact max
	if p := h.percentiles(); p.Max != time.Hour || p.P999 > time.Hour || p.P999 < 100*time.Second {
		t.Errorf("beyond the range: %+v", p)
	}
	for v := range int64(1 << 20) { // every bucket boundary below 1 ms
		i := bucketOf(v)
		mid := bucketMid(i)
		if i < 0 || i >= numBuckets || math.Abs(float64(mid-v)) > float64(v)/128+0.5 {
			t.Fatalf("value %d: bucket %d, midpoint %d", v, i, mid)
		}
	}
	if bucketOf(math.MaxInt64) != numBuckets-1 {
		t.Error("the largest value is not in the last bucket")
	}
}
