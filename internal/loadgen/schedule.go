package loadgen

import (
	"math"
	"time"
)

// never is the arrival time of a node that produces nothing more.
const never = time.Duration(math.MaxInt64)

// schedule is one node's production rate over time: Rate, except during
// the first Length of every Every, when it is BurstRate. Times are
// durations since the start of production.
type schedule struct {
	rate      float64
	every     time.Duration // 0: no bursts
	length    time.Duration
	burstRate float64
}

func newSchedule(c Config) schedule {
	return schedule{rate: c.Rate, every: c.Burst.Every, length: c.Burst.Length, burstRate: c.Burst.Rate}
}

// next returns the time after t at which the expected number of arrivals
// since t reaches work: for a Poisson process pass an Exp(1) draw (the
// time-change of a non-homogeneous Poisson process), for evenly spaced
// arrivals pass 1. It returns never when the rate stays 0.
func (s schedule) next(t time.Duration, work float64) time.Duration {
	if s.every <= 0 {
		return advance(t, work, s.rate)
	}
	if s.rate <= 0 && s.burstRate <= 0 {
		return never
	}
	for {
		phase := t % s.every
		segEnd, r := t-phase+s.every, s.rate
		if phase < s.length {
			segEnd, r = t-phase+s.length, s.burstRate
		}
		span := (segEnd - t).Seconds()
		if r > 0 && work <= r*span {
			return min(advance(t, work, r), segEnd)
		}
		work -= r * span
		t = segEnd
	}
}

// advance returns t + work/rate, or never.
func advance(t time.Duration, work, rate float64) time.Duration {
	if rate <= 0 {
		return never
	}
	d := work / rate * float64(time.Second)
	if d >= float64(never-t) {
		return never
	}
	return t + time.Duration(d)
}
