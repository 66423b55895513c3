package tracer

import (
	"slices"
	"strconv"
	"testing"
)

// item stands for one encoded object; the queue never looks inside.
func item(i int) []byte { return []byte("obj" + strconv.Itoa(i)) }

func items(from, to int) [][]byte {
	var out [][]byte
	for i := from; i <= to; i++ {
		out = append(out, item(i))
	}
	return out
}

func TestQueuePolicies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		newQueue  func(int) *Queue
		capacity  int
		put       int   // objects 1..put, one PutEncoded each
		dropped   []int // what each PutEncoded returned
		left      [][]byte
		discarded uint64
	}{
		{"discard-all/under capacity", NewQueue, 3, 2, []int{0, 0}, items(1, 2), 0},
		{"discard-all/full", NewQueue, 3, 3, []int{0, 0, 0}, items(1, 3), 0},
		{"discard-all/overflow", NewQueue, 3, 4, []int{0, 0, 0, 3}, items(4, 4), 3},
		{"discard-all/twice", NewQueue, 3, 8, []int{0, 0, 0, 3, 0, 0, 3, 0}, items(7, 8), 6},
		{"discard-all/capacity 0 is 1", NewQueue, 0, 2, []int{0, 1}, items(2, 2), 1},
		{"drop-oldest/under capacity", NewRing, 3, 2, []int{0, 0}, items(1, 2), 0},
		{"drop-oldest/full", NewRing, 3, 3, []int{0, 0, 0}, items(1, 3), 0},
		{"drop-oldest/overflow", NewRing, 3, 4, []int{0, 0, 0, 1}, items(2, 4), 1},
		{"drop-oldest/wraps", NewRing, 3, 8, []int{0, 0, 0, 1, 1, 1, 1, 1}, items(6, 8), 5},
		{"drop-oldest/capacity 0 is 1", NewRing, 0, 3, []int{0, 1, 1}, items(3, 3), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := tt.newQueue(tt.capacity)
			var dropped []int
			for i := 1; i <= tt.put; i++ {
				dropped = append(dropped, q.PutEncoded(item(i)))
			}
			if !slices.Equal(dropped, tt.dropped) {
				t.Errorf("PutEncoded returned %v, want %v", dropped, tt.dropped)
			}
			if q.Discarded() != tt.discarded {
				t.Errorf("Discarded = %d, want %d", q.Discarded(), tt.discarded)
			}
			if q.Len() != len(tt.left) {
				t.Errorf("Len = %d, want %d", q.Len(), len(tt.left))
			}
			if got := q.take(100); !slices.EqualFunc(got, tt.left, slices.Equal) {
				t.Errorf("queue holds %q, want %q", got, tt.left)
			}

			// PutEncodedAll is PutEncoded for each object, under one lock.
			all := tt.newQueue(tt.capacity)
			if n := all.PutEncodedAll(items(1, tt.put)); n != int(tt.discarded) {
				t.Errorf("PutEncodedAll returned %d, want %d", n, tt.discarded)
			}
			if all.Discarded() != tt.discarded {
				t.Errorf("PutEncodedAll: Discarded = %d, want %d", all.Discarded(), tt.discarded)
			}
			if got := all.take(100); !slices.EqualFunc(got, tt.left, slices.Equal) {
				t.Errorf("PutEncodedAll: queue holds %q, want %q", got, tt.left)
			}
		})
	}
}

// A ring keeps order across partial takes and refills, and counts every
// drop over its lifetime.
func TestRingInterleaved(t *testing.T) {
	t.Parallel()
	q := NewRing(4)
	q.PutEncodedAll(items(1, 3))
	if got := q.take(2); !slices.EqualFunc(got, items(1, 2), slices.Equal) {
		t.Fatalf("took %q", got)
	}
	if n := q.PutEncodedAll(items(4, 9)); n != 3 { // 3..9 is 7 objects for 4 slots
		t.Fatalf("PutEncodedAll dropped %d, want 3", n)
	}
	if got := q.take(100); !slices.EqualFunc(got, items(6, 9), slices.Equal) {
		t.Fatalf("took %q, want objects 6..9", got)
	}
	if q.Discarded() != 3 || q.Len() != 0 {
		t.Fatalf("Discarded %d, Len %d; want 3, 0", q.Discarded(), q.Len())
	}
	if n := q.PutEncodedAll(nil); n != 0 || q.Len() != 0 {
		t.Fatalf("PutEncodedAll(nil) = %d, Len %d", n, q.Len())
	}
}

// Every put signals a waiting request.
func TestPutSignals(t *testing.T) {
	t.Parallel()
	for _, put := range []func(*Queue){
		func(q *Queue) { q.PutEncoded(item(1)) },
		func(q *Queue) { q.PutEncodedAll(items(1, 2)) },
	} {
		for _, q := range []*Queue{NewQueue(2), NewRing(2)} {
			put(q)
			select {
			case <-q.avail:
			default:
				t.Fatal("no signal after a put")
			}
		}
	}
}

// Taken signals after a take that removed objects, never after an empty
// take or a put, and coalesces: one pending value stands for many takes.
func TestTakenSignals(t *testing.T) {
	t.Parallel()
	pending := func(q *Queue) bool {
		select {
		case <-q.Taken():
			return true
		default:
			return false
		}
	}
	tests := []struct {
		name  string
		put   int // objects put first
		takes []int
		want  bool // a value is pending afterwards
	}{
		{"no take", 3, nil, false},
		{"empty take", 0, []int{5}, false},
		{"take of zero", 3, []int{0}, false},
		{"one take", 3, []int{2}, true},
		{"takes coalesce", 5, []int{1, 1, 1}, true},
		{"take then empty take", 1, []int{1, 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, q := range []*Queue{NewQueue(8), NewRing(8)} {
				q.PutEncodedAll(items(1, tt.put))
				if pending(q) {
					t.Fatal("a put signalled Taken")
				}
				for _, n := range tt.takes {
					q.take(n)
				}
				if got := pending(q); got != tt.want {
					t.Fatalf("Taken pending = %v, want %v", got, tt.want)
				}
				if pending(q) {
					t.Fatal("more than one value pending")
				}
			}
		})
	}
}

// BenchmarkQueuePutTake is one reply's worth of queue traffic: 100 puts
// and the take that empties the queue (with its Taken signal).
func BenchmarkQueuePutTake(b *testing.B) {
	q := NewQueue(DefaultQueueSize)
	objs := items(1, 100)
	b.ReportAllocs()
	for b.Loop() {
		q.PutEncodedAll(objs)
		q.take(100)
	}
}
