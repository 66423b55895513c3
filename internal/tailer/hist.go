package tailer

import (
	"math/bits"
	"time"
)

// The latency histogram is log-linear, in nanoseconds: values below
// 2^subBits are counted exactly, and every power-of-two range above is cut
// into 2^subBits equal buckets, so a bucket is at most 1/64 of its lower
// bound wide and its midpoint is within 1/128 (0.8 %) of any value in it.
// The top range ends at 2^maxExp ns (137 s); longer values are counted in
// the last bucket. 2048 buckets, 16 KiB, whatever the number of values.
const (
	subBits    = 6
	subCount   = 1 << subBits
	maxExp     = 37
	numBuckets = (maxExp - subBits + 1) * subCount
	maxValue   = 1<<maxExp - 1
)

// numRanges is the number of power-of-two ranges of subCount buckets (the
// first holds the exact values below subCount).
const numRanges = numBuckets / subCount

// histogram counts latencies. Negative values (the enqueue time is in the
// future: the clocks disagree) are counted in the lowest bucket. ranges
// sums counts per range, so that reading a quantile skips whole ranges:
// Report takes the lock for a few hundred steps per node, not thousands.
type histogram struct {
	counts [numBuckets]uint64
	ranges [numRanges]uint64
	count  uint64
	max    int64
}

func bucketOf(v int64) int {
	if v < subCount {
		return int(max(v, 0))
	}
	v = min(v, maxValue)
	e := bits.Len64(uint64(v)) - 1
	return (e-subBits+1)<<subBits | int(v>>(e-subBits))&(subCount-1)
}

// bucketMid returns the midpoint of a bucket's range of values.
func bucketMid(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	shift := i>>subBits - 1
	lower := int64(subCount+i&(subCount-1)) << shift
	return lower + (int64(1)<<shift)/2
}

func (h *histogram) record(v int64) {
	i := bucketOf(v)
	h.counts[i]++
	h.ranges[i>>subBits]++
	h.count++
	h.max = max(h.max, v)
}

func (h *histogram) reset() { *h = histogram{} }

// quantiles are the ranks Percentiles reports, in its field order.
var quantiles = [...]float64{0.50, 0.90, 0.99, 0.999}

// percentiles reads the histogram in one pass. The value of quantile q is
// the midpoint of the bucket holding the value of rank ceil(q·count) (from
// 1), capped at the exact maximum.
func (h *histogram) percentiles() Percentiles {
	p := Percentiles{Count: h.count, Max: time.Duration(h.max)}
	if h.count == 0 {
		return p
	}
	var out [len(quantiles)]time.Duration
	var ranks [len(quantiles)]uint64
	for k, q := range quantiles {
		r := uint64(q * float64(h.count))
		if float64(r) < q*float64(h.count) {
			r++
		}
		ranks[k] = max(r, 1)
	}
	k := 0
	var cum uint64
	for r := 0; r < numRanges && k < len(ranks); r++ {
		if cum+h.ranges[r] < ranks[k] {
			cum += h.ranges[r]
			continue
		}
		for i := r * subCount; i < (r+1)*subCount && k < len(ranks); i++ {
			cum += h.counts[i]
			for k < len(ranks) && cum >= ranks[k] {
				out[k] = time.Duration(min(bucketMid(i), max(h.max, 0)))
				k++
			}
		}
	}
	p.P50, p.P90, p.P99, p.P999 = out[0], out[1], out[2], out[3]
	return p
}
