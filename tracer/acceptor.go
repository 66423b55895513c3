package tracer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"muninn/muxproto"
)

// Handler receives each batch of trace objects, in the order the node
// sent them. It may block (that is the backpressure: while it blocks, at
// most one more reply is requested); an error ends the acceptor.
type Handler func(ctx context.Context, batch []TraceObject) error

// AcceptorConfig tunes the acceptor role.
type AcceptorConfig struct {
	// RequestNum is the number of objects asked for per blocking request
	// (cardano-tracer's loRequestNum). Default 100; never 0, which would
	// make a node spin without replying (PROTOCOL.md §12.15).
	RequestNum uint16
	// DrainTimeout bounds, after ctx is cancelled, the wait for the reply
	// to a request already sent. Default 5 s.
	DrainTimeout time.Duration
}

func (c AcceptorConfig) withDefaults() AcceptorConfig {
	if c.RequestNum == 0 {
		c.RequestNum = DefaultRequestNum
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	return c
}

// Acceptor requests trace objects from a node and hands them to a Handler.
type Acceptor struct {
	ch      *muxproto.Channel
	cfg     AcceptorConfig
	handler Handler
}

// NewAcceptor returns an acceptor for the TraceObject channel of a Mux.
func NewAcceptor(ch *muxproto.Channel, cfg AcceptorConfig, h Handler) *Acceptor {
	return &Acceptor{ch: ch, cfg: cfg.withDefaults(), handler: h}
}

// Run asks for batches with blocking requests until ctx is cancelled or an
// error occurs. The next request goes out as soon as a reply has arrived,
// before the handler has finished with it, so the node's next batch
// travels while this one is written; batches still reach the handler one
// at a time and in order.
//
// When ctx is cancelled Run sends no further request, waits up to
// DrainTimeout for the reply already requested, hands it to the handler
// and returns ctx's error. It never sends MsgDone: a connecting node that
// receives one stops forwarding until it is restarted.
func (a *Acceptor) Run(ctx context.Context) error {
	req := EncodeRequest(Request{Blocking: true, Count: a.cfg.RequestNum})
	if err := a.ch.Send(ctx, req); err != nil {
		return fmt.Errorf("send trace request: %w", err)
	}
	for {
		batch, err := a.receive(ctx)
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return a.drained(ctx, batch)
		}
		if err := a.ch.Send(ctx, req); err != nil {
			if ctx.Err() != nil {
				return a.drained(ctx, batch)
			}
			return fmt.Errorf("send trace request: %w", err)
		}
		if err := a.handler(ctx, batch); err != nil {
			return fmt.Errorf("trace handler: %w", err)
		}
	}
}

// receive waits for the reply to the outstanding request. If ctx ends
// meanwhile, the wait goes on for up to DrainTimeout.
func (a *Acceptor) receive(ctx context.Context) ([]TraceObject, error) {
	msg, err := a.ch.Recv(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.DrainTimeout)
		defer cancel()
		if msg, err = a.ch.Recv(dctx); err != nil {
			if dctx.Err() != nil {
				return nil, fmt.Errorf("%w (no reply within %v)", ctx.Err(), a.cfg.DrainTimeout)
			}
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	batch, err := DecodeReply(msg)
	if err != nil {
		return nil, fmt.Errorf("decode trace reply: %w", err)
	}
	switch {
	case len(batch) == 0:
		return nil, fmt.Errorf("%w: %w", muxproto.ErrDecode, ErrEmptyReply)
	case len(batch) > int(a.cfg.RequestNum):
		return nil, fmt.Errorf("%w: %w: %d objects for a request of %d", muxproto.ErrDecode, ErrTooManyObjects, len(batch), a.cfg.RequestNum)
	}
	return batch, nil
}

// drained hands the last batch to the handler with a bounded context and
// reports the cancellation.
func (a *Acceptor) drained(ctx context.Context, batch []TraceObject) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.DrainTimeout)
	defer cancel()
	if err := a.handler(dctx, batch); err != nil {
		return fmt.Errorf("trace handler while stopping: %w", err)
	}
	return ctx.Err()
}
