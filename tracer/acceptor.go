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
	// StopGrace is how long, after ctx is cancelled, the acceptor waits for
	// the reply to its outstanding request to start arriving. An idle node
	// holds a blocking request indefinitely, so this keeps shutdown quick.
	// Default 100 ms.
	StopGrace time.Duration
	// DrainTimeout bounds, after ctx is cancelled, the wait for a reply
	// whose first bytes have arrived. Default 5 s.
	DrainTimeout time.Duration
	// PoolBatches decodes each reply with DecodeReplyPooled: the handler
	// (or whoever it hands a batch to) gives each batch back with
	// ReleaseBatch once nothing reads its objects any more. Without it
	// every batch is a new allocation and nothing needs to be given back.
	PoolBatches bool
}

func (c AcceptorConfig) withDefaults() AcceptorConfig {
	if c.RequestNum == 0 {
		c.RequestNum = DefaultRequestNum
	}
	if c.StopGrace <= 0 {
		c.StopGrace = DefaultStopGrace
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
	last    []byte // the reply being handled; Run's goroutine only
}

// LastReply is the message the handler's batch was decoded from; the
// batch's text fields may alias it. Call it from the handler only. The
// Acceptor does not touch it again, so a handler may pass it to
// muxproto.ReleaseMessage once nothing will read the batch's objects any
// more (with the channel's PoolMessages, that lets the next reply reuse
// its memory).
func (a *Acceptor) LastReply() []byte { return a.last }

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
// Cancelling ctx means "stop asking": Run sends no further request. It
// waits StopGrace for the reply already requested to start arriving, and
// up to DrainTimeout for one that has, hands every batch it received to the
// handler and returns ctx's error. The handler's context is never
// cancelled by that stop, so no received batch is dropped; a handler that
// must give up at some point (a hard stop, a failed writer) bounds itself.
// Run never sends MsgDone: a connecting node that receives one stops
// forwarding until it is restarted.
func (a *Acceptor) Run(ctx context.Context) error {
	hctx := context.WithoutCancel(ctx)
	req := EncodeRequest(Request{Blocking: true, Count: a.cfg.RequestNum})
	if err := a.ch.Send(ctx, req); err != nil {
		return fmt.Errorf("send trace request: %w", err)
	}
	for {
		msg, err := a.receive(ctx)
		if err != nil {
			return err
		}
		// The next request leaves before this reply is even decoded, so
		// the node's queue keeps draining while the batch is handled.
		stopping := ctx.Err() != nil
		if !stopping {
			if err := a.ch.Send(ctx, req); err != nil {
				if ctx.Err() == nil {
					return fmt.Errorf("send trace request: %w", err)
				}
				stopping = true // nothing outstanding: this batch is the last
			}
		}
		batch, err := a.decode(msg)
		if err != nil {
			return err
		}
		if err := a.handler(hctx, batch); err != nil {
			return fmt.Errorf("trace handler: %w", err)
		}
		if stopping {
			return ctx.Err()
		}
	}
}

// receive waits for the reply to the outstanding request. If ctx ends
// meanwhile, it waits StopGrace for the reply to start arriving and, once
// it has, up to DrainTimeout for the rest.
func (a *Acceptor) receive(ctx context.Context) ([]byte, error) {
	msg, err := a.ch.Recv(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		msg, err = a.drainRecv(ctx)
	}
	return msg, err
}

// decode checks a reply against the request it answers.
func (a *Acceptor) decode(msg []byte) ([]TraceObject, error) {
	a.last = msg
	decode := DecodeReplyInPlace // Recv hands msg over; see LastReply
	if a.cfg.PoolBatches {
		decode = DecodeReplyPooled
	}
	batch, err := decode(msg)
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

func (a *Acceptor) drainRecv(ctx context.Context) ([]byte, error) {
	bg := context.WithoutCancel(ctx)
	grace, cancel := context.WithTimeout(bg, a.cfg.StopGrace)
	defer cancel()
	msg, err := a.ch.Recv(grace)
	if err == nil || grace.Err() == nil {
		return msg, err
	}
	if !a.ch.Receiving() {
		return nil, ctx.Err()
	}
	drain, cancel := context.WithTimeout(bg, a.cfg.DrainTimeout)
	defer cancel()
	if msg, err = a.ch.Recv(drain); err != nil && drain.Err() != nil {
		return nil, fmt.Errorf("%w (reply incomplete after %v)", ctx.Err(), a.cfg.DrainTimeout)
	}
	return msg, err
}
