package loadgen

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// count runs a schedule for horizon the way a shard does, from a seeded
// generator, and returns the arrivals and their times.
func count(s schedule, poisson bool, horizon time.Duration, seed uint64) []time.Duration {
	rng := rand.New(rand.NewPCG(seed, 1))
	work := func() float64 {
		if poisson {
			return rng.ExpFloat64()
		}
		return 1
	}
	var out []time.Duration
	for at := s.next(0, work()); at < horizon; at = s.next(at, work()) {
		out = append(out, at)
	}
	return out
}

// TestScheduleMeanRate: over a long simulated time the number of arrivals
// is the integrated rate, within five standard deviations of a Poisson
// count (deterministic, since the generator is seeded).
func TestScheduleMeanRate(t *testing.T) {
	t.Parallel()
	const horizon = 2000 * time.Second
	for _, tt := range []struct {
		name    string
		s       schedule
		poisson bool
		mean    float64 // expected arrivals per second
	}{
		{"poisson", schedule{rate: 50}, true, 50},
		{"poisson slow", schedule{rate: 0.5}, true, 0.5},
		{"poisson burst", schedule{rate: 10, every: 10 * time.Second, length: 2 * time.Second, burstRate: 200}, true, (8*10 + 2*200) / 10.0},
		{"poisson burst from zero", schedule{every: time.Second, length: 100 * time.Millisecond, burstRate: 1000}, true, 100},
		{"uniform", schedule{rate: 50}, false, 50},
		{"uniform burst", schedule{rate: 10, every: 10 * time.Second, length: 2 * time.Second, burstRate: 200}, false, 48},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(3) {
				got := float64(len(count(tt.s, tt.poisson, horizon, seed)))
				want := tt.mean * horizon.Seconds()
				if tol := 5*math.Sqrt(want) + 1; math.Abs(got-want) > tol {
					t.Errorf("seed %d: %v arrivals, want %v ± %.0f", seed, got, want, tol)
				}
			}
		})
	}
}

// TestSchedulePoissonSpread: Poisson gaps are exponential: their
// coefficient of variation is about 1, and about e^-1 of them are longer
// than the mean.
func TestSchedulePoissonSpread(t *testing.T) {
	t.Parallel()
	at := count(schedule{rate: 100}, true, 1000*time.Second, 7)
	var sum, sq float64
	long := 0
	for i := 1; i < len(at); i++ {
		g := (at[i] - at[i-1]).Seconds()
		sum += g
		sq += g * g
		if g > 0.01 {
			long++
		}
	}
	n := float64(len(at) - 1)
	mean := sum / n
	cv := math.Sqrt(sq/n-mean*mean) / mean
	if math.Abs(cv-1) > 0.03 || math.Abs(float64(long)/n-math.Exp(-1)) > 0.01 {
		t.Errorf("gap mean %.5f s, CV %.3f, share longer than the mean %.3f", mean, cv, float64(long)/n)
	}
}

// TestScheduleUniform: evenly spaced arrivals, and bursts at their rate
// only inside the burst window.
func TestScheduleUniform(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		s    schedule
		t    time.Duration
		want time.Duration
	}{
		{"steady", schedule{rate: 4}, time.Second, 1250 * time.Millisecond},
		{"zero rate", schedule{}, 0, never},
		{"zero rates with burst window", schedule{every: time.Second, length: time.Millisecond}, 0, never},
		{"inside a burst", schedule{rate: 1, every: 10 * time.Second, length: time.Second, burstRate: 100}, 0, 10 * time.Millisecond},
		// 0.5 s left of the burst at 1/s gives half an arrival; the other
		// half takes 0.5 s at 1/s after the burst.
		{"across the end of a burst", schedule{rate: 1, every: 10 * time.Second, length: time.Second, burstRate: 1}, 500 * time.Millisecond, 1500 * time.Millisecond},
		// 0.1 s left at 2/s gives 0.2 of an arrival; the rest takes 0.4 s
		// of the next burst.
		{"into the next burst", schedule{rate: 0, every: 10 * time.Second, length: time.Second, burstRate: 2}, 900 * time.Millisecond, 10400 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.s.next(tt.t, 1); got != tt.want {
				t.Errorf("next(%v, 1) = %v, want %v", tt.t, got, tt.want)
			}
		})
	}
}
