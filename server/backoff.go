package server

import (
	"context"
	"time"
)

// backoff is a doubling wait between attempts, from Min to Max. It falls
// back to Min once an attempt has stayed up for at least Max, as both
// cardano-tracer and the node do.
type backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// next returns the wait before the next attempt, given how long the last
// attempt stayed up.
func (b *backoff) next(up time.Duration) time.Duration {
	switch {
	case up >= b.Max || b.cur == 0:
		b.cur = b.Min
	default:
		b.cur = min(2*b.cur, b.Max)
	}
	return b.cur
}

// sleep waits d or until ctx ends; it reports whether the full wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
