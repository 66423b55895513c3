package loadgen

import (
	"context"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"
)

// TestLateBatch: a batch is late from min(LateWakeup, a quarter of the
// queue's time at the rate in force) after its first arrival was due, and
// whenever it was clamped.
func TestLateBatch(t *testing.T) {
	t.Parallel()
	const q = 192
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	steady := func(r float64) schedule { return schedule{rate: r} }
	// 1000/s, and 58 000/s during the first 10 ms of every second.
	burst := schedule{rate: 1000, every: time.Second, length: 10 * time.Millisecond, burstRate: 58000}
	for _, tt := range []struct {
		name     string
		s        schedule
		due, now time.Duration
		skipped  uint64
		want     bool
	}{
		// 192/(4·58 000) s = 0.83 ms: a queue lasts 3.3 ms.
		{"T4 load, 0.8 ms", steady(58000), ms(10), ms(10.8), 0, false},
		{"T4 load, 0.9 ms", steady(58000), ms(10), ms(10.9), 0, true},
		{"T4 load, 3 ms", steady(58000), ms(10), ms(13), 0, true},
		// 192/(4·10 000) s = 4.8 ms.
		{"10 000/s, 4.75 ms", steady(10000), 0, ms(4.75), 0, false},
		{"10 000/s, 4.85 ms", steady(10000), 0, ms(4.85), 0, true},
		// A quarter of the queue would take 48 ms: LateWakeup bounds it.
		{"1000/s, 4.9 ms", steady(1000), 0, ms(4.9), 0, false},
		{"1000/s, 5 ms", steady(1000), 0, LateWakeup, 0, true},
		{"rate 0, 4 ms", steady(0), 0, ms(4), 0, false},
		{"rate 0, 5 ms", steady(0), 0, LateWakeup, 0, true},
		{"on time", steady(58000), ms(10), ms(10), 0, false},
		{"early", steady(58000), ms(10.3), ms(10), 0, false},
		{"clamped on time", steady(200000), ms(10), ms(10), 1, true},
		{"clamped early", steady(200000), ms(10.3), ms(10), 5, true},
		// The rate in force decides: 0.9 ms is late inside a burst, not
		// after it, and a stall that runs into a burst is late once a
		// quarter of the queue has fallen due (0.5 + 52.2 arrivals).
		{"in a burst, 0.9 ms", burst, ms(0.5), ms(1.4), 0, true},
		{"after a burst, 0.9 ms", burst, ms(10.5), ms(11.4), 0, false},
		{"into a burst, 1.4 ms", burst, ms(999.5), ms(1000.9), 0, true},
		{"into a burst, 0.8 ms", burst, ms(999.5), ms(1000.3), 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := lateBatch(tt.s, q, tt.due, tt.now, tt.skipped); got != tt.want {
				t.Errorf("lateBatch(%v, %v, skipped %d) = %v, want %v", tt.due, tt.now, tt.skipped, got, tt.want)
			}
		})
	}
}

// TestShardLateness runs one node's shard on a fake clock with nothing
// taking from its queue, so that it overflows, and checks which wakeups
// and discards count as the generator's.
func TestShardLateness(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		rate      float64
		queue     int
		stall     time.Duration // how late production starts
		clamped   bool          // every batch is cut to half the queue, so every wakeup is late
		late      uint64        // late wakeups, unless clamped
		wantStall bool          // MaxLate is the stall, less at most one gap
	}{
		// 10 000/s serves 5 or 6 arrivals per wakeup (wakeSlack is
		// 0.5 ms): each batch is cut to 4, on time, and is late, and
		// so are the discards in it, which are all of them.
		{name: "clamped", rate: 10000, queue: 8, clamped: true},
		// One arrival per wakeup, on time: the discards are the
		// acceptor's.
		{name: "on time", rate: 1000, queue: 8},
		// The first wakeup is 1 ms late at 58 000/s: 87 arrivals, a
		// quarter of the queue and more but not half of it. Nothing is
		// discarded before the queue fills, 3 ms later, on time.
		{name: "stalled", rate: 58000, queue: 192, stall: time.Millisecond, late: 1, wantStall: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				g, err := New(Config{Nodes: 1, Address: "unused.sock", Rate: tt.rate, Arrival: Uniform, QueueSize: tt.queue})
				if err != nil {
					t.Fatal(err)
				}
				s := &shard{g: g, nodes: g.nodes, sched: newSchedule(g.cfg), rng: rand.New(rand.NewPCG(1, 2))}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				defer cancel()
				s.run(ctx, time.Now().Add(-tt.stall))
				st := g.Stats()
				if st.Discarded == 0 {
					t.Fatalf("nothing discarded: %+v", st)
				}
				if (st.Skipped > 0) != tt.clamped {
					t.Errorf("Skipped %d, want clamped %v", st.Skipped, tt.clamped)
				}
				if tt.clamped {
					if st.LateWakeups == 0 || st.LateDiscards != st.Discarded {
						t.Errorf("LateWakeups %d, LateDiscards %d of %d discarded; want every wakeup and discard late",
							st.LateWakeups, st.LateDiscards, st.Discarded)
					}
				} else if st.LateWakeups != tt.late || st.LateDiscards != 0 {
					t.Errorf("LateWakeups %d, LateDiscards %d; want %d and 0", st.LateWakeups, st.LateDiscards, tt.late)
				}
				gap := time.Duration(float64(time.Second) / tt.rate)
				if tt.wantStall && (st.MaxLate > tt.stall || st.MaxLate < tt.stall-gap) {
					t.Errorf("MaxLate %v, want %v less at most %v", st.MaxLate, tt.stall, gap)
				}
			})
		})
	}
}
