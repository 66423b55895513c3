package ekg

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"muninn/muxproto"
)

// Acceptor asks a node for its metrics on one connection: the client side
// of the protocol, which cardano-tracer and Muninn play whichever side
// connected. Its methods may be called from several goroutines; they take
// turns, since only one request may be outstanding.
type Acceptor struct {
	ch *muxproto.Channel

	turn chan struct{} // cap 1: holding a token owns the fields below
	st   State
	err  error // sticky: the peer broke the protocol
}

// NewAcceptor returns an acceptor that asks on ch, the channel of Protocol.
func NewAcceptor(ch *muxproto.Channel) *Acceptor {
	return &Acceptor{ch: ch, turn: make(chan struct{}, 1), st: StateIdle}
}

// PollConfig sets how Poll asks.
type PollConfig struct {
	// Period is the pause between a response and the next request
	// (cardano-tracer's ekgRequestFreq). Zero means DefaultPollPeriod.
	Period time.Duration
	// Full asks for GetAllMetrics every time (ekgRequestFull) instead of
	// GetUpdatedMetrics.
	Full bool
	// Spread makes the first pause a random fraction of Period, so that
	// nodes that connected together (all of them, after a restart) are
	// polled at different moments of each period instead of in one burst.
	Spread bool
}

func (a *Acceptor) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err // do not start anything on a finished context
	}
	select {
	case a.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *Acceptor) release() { <-a.turn }

// Request sends one request and returns the response, in the forwarder's
// order. An invalid request fails with ErrInvalidRequest before anything
// is sent; a response that does not decode fails with an error wrapping
// muxproto.ErrDecode, and every later call fails the same way, since the
// connection can no longer be trusted.
//
// If ctx ends while the response is outstanding, the next call first
// receives and discards that response.
func (a *Acceptor) Request(ctx context.Context, req Request) ([]Metric, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if err := a.acquire(ctx); err != nil {
		return nil, err
	}
	defer a.release()
	if err := a.settle(ctx); err != nil {
		return nil, err
	}
	if err := a.ch.Send(ctx, Encode(MsgReq{Request: req})); err != nil {
		return nil, fmt.Errorf("send request: %w", err)
	}
	a.st = StateBusy
	return a.receive(ctx)
}

// Done sends MsgDone, which ends the protocol and, on a Haskell peer, the
// whole connection (PROTOCOL.md §10). To merely disconnect, close the Mux
// instead. Later calls to Request and Done fail with ErrProtocolDone.
func (a *Acceptor) Done(ctx context.Context) error {
	if err := a.acquire(ctx); err != nil {
		return err
	}
	defer a.release()
	if err := a.settle(ctx); err != nil {
		return err
	}
	if err := a.ch.Send(ctx, Encode(MsgDone{})); err != nil {
		return fmt.Errorf("send done: %w", err)
	}
	a.st = StateDone
	return nil
}

// Poll asks at once, then, after each response, calls fn with it, waits
// cfg.Period and asks again (PROTOCOL.md §8.5). With GetUpdatedMetrics each
// response after the first holds only what changed: fn must merge. fn runs
// on Poll's goroutine and owns the slice. Poll returns ctx.Err() when ctx
// ends, otherwise the first error. It never sends MsgDone.
func (a *Acceptor) Poll(ctx context.Context, cfg PollConfig, fn func([]Metric)) error {
	return a.PollWith(ctx, func() PollConfig { return cfg }, fn)
}

// PollWith is Poll with settings read again before every request, so that
// a configuration reload changes the period and the request kind of a
// running poll.
func (a *Acceptor) PollWith(ctx context.Context, settings func() PollConfig, fn func([]Metric)) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		cfg := settings()
		period := cfg.Period
		switch {
		case period < 0:
			return fmt.Errorf("poll period %v: must not be negative", period)
		case period == 0:
			period = DefaultPollPeriod
		}
		req := Request{Kind: GetUpdatedMetrics}
		if cfg.Full {
			req.Kind = GetAllMetrics
		}
		ms, err := a.Request(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		fn(ms)
		if timer == nil {
			first := period
			if cfg.Spread {
				first = rand.N(period)
			}
			timer = time.NewTimer(first)
		} else {
			timer.Reset(period)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// settle brings the protocol back to Idle: it fails when the protocol is
// over or broken, and drains a response left outstanding by a cancelled
// call. The caller holds the turn.
func (a *Acceptor) settle(ctx context.Context) error {
	switch {
	case a.err != nil:
		return a.err
	case a.st == StateDone:
		return ErrProtocolDone
	case a.st == StateBusy:
		if _, err := a.receive(ctx); err != nil {
			return err
		}
	}
	return nil
}

// receive waits for the response in Busy. The caller holds the turn.
func (a *Acceptor) receive(ctx context.Context) ([]Metric, error) {
	b, err := a.ch.Recv(ctx)
	if err != nil {
		return nil, fmt.Errorf("receive response: %w", err)
	}
	ms, err := decodeResponseOwned(b) // Recv hands b over for good
	if err != nil {
		a.err = fmt.Errorf("decode response: %w", err)
		return nil, a.err
	}
	a.st = StateIdle
	return ms, nil
}
