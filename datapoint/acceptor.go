package datapoint

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"muninn/muxproto"
)

// AcceptorConfig tunes an Acceptor. The zero value is cardano-tracer's
// behaviour.
type AcceptorConfig struct {
	// QueueSize is the capacity of the queue of queries waiting for Run.
	// Default DefaultQueueSize (16). Query blocks while it is full.
	QueueSize int
	// SkipInitialRequest stops Run from opening the protocol with an
	// empty request ([1, []]), which cardano-tracer sends right after the
	// handshake and which a node answers with [3, []].
	SkipInitialRequest bool
}

// Acceptor asks a node for DataPoints: the protocol's client side, which
// Muninn plays. Run is the one goroutine that uses the channel; Query,
// Value and NodeInfo may be called from any number of goroutines and are
// answered one request at a time, in arrival order.
type Acceptor struct {
	ch      *muxproto.Channel
	cfg     AcceptorConfig
	queries chan query // capacity cfg.QueueSize; read only by Run

	started atomic.Bool
	done    chan struct{} // closed when Run has returned
	err     error         // what Run returned; written before done is closed
}

// query is one question for Run. reply has capacity 1 so that Run never
// waits for an asker that has given up.
type query struct {
	names []string
	reply chan result
}

type result struct {
	items []Item
	err   error
}

// NewAcceptor returns an Acceptor that will use ch, the DataPoint channel
// of a Mux, once Run is called.
func NewAcceptor(ch *muxproto.Channel, cfg AcceptorConfig) *Acceptor {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	return &Acceptor{
		ch:      ch,
		cfg:     cfg,
		queries: make(chan query, cfg.QueueSize),
		done:    make(chan struct{}),
	}
}

// Run serves queries until ctx is cancelled or the channel fails. It sends
// one request at a time and always reads its reply before the next, also
// when the asker has stopped waiting. It returns ctx.Err() when cancelled,
// otherwise the first channel error or invalid reply (wrapping
// muxproto.ErrDecode). Either way a request may still be outstanding, so
// the caller should then end the connection. Run may be called only once.
func (a *Acceptor) Run(ctx context.Context) error {
	if a.started.Swap(true) {
		return errors.New("datapoint: Acceptor.Run called twice")
	}
	err := a.run(ctx)
	if ctx.Err() != nil {
		err = ctx.Err() // also when cancelled in the middle of a round trip
	}
	a.err = err
	close(a.done)
	return err
}

func (a *Acceptor) run(ctx context.Context) error {
	if !a.cfg.SkipInitialRequest {
		if _, err := a.roundTrip(ctx, nil); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case q := <-a.queries:
			items, err := a.roundTrip(ctx, q.names)
			q.reply <- result{items: items, err: err} // never blocks: capacity 1, one send
			if err != nil {
				return err
			}
		}
	}
}

// roundTrip sends one request and waits for its reply: Idle → Busy → Idle.
func (a *Acceptor) roundTrip(ctx context.Context, names []string) ([]Item, error) {
	st, err := next(StateIdle, AgencyAcceptor, tagRequest)
	if err != nil {
		return nil, err
	}
	if err := a.ch.Send(ctx, Encode(MsgRequest{Names: names})); err != nil {
		return nil, fmt.Errorf("send data point request: %w", err)
	}
	msg, err := a.ch.Recv(ctx)
	if err != nil {
		return nil, fmt.Errorf("receive data point reply: %w", err)
	}
	items, err := DecodeReply(msg)
	if err != nil {
		return nil, err
	}
	if _, err := next(st, AgencyNode, tagReply); err != nil {
		return nil, err
	}
	if len(items) != len(names) {
		return nil, fmt.Errorf("%w: data point reply has %d items for %d names", muxproto.ErrDecode, len(items), len(names))
	}
	return items, nil
}

// stopped returns the error for a query that Run can no longer answer.
func (a *Acceptor) stopped() error {
	return fmt.Errorf("%w: %w", ErrStopped, a.err)
}

// Query asks the node for names and returns one item per name, in order.
// It waits for its turn and for the reply until ctx ends, and returns an
// error wrapping ErrStopped once Run has ended. A query abandoned through
// ctx does not disturb later ones.
func (a *Acceptor) Query(ctx context.Context, names []string) ([]Item, error) {
	select {
	case <-a.done:
		return nil, a.stopped()
	default:
	}
	q := query{names: slices.Clone(names), reply: make(chan result, 1)}
	select {
	case a.queries <- q:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-a.done:
		return nil, a.stopped()
	}
	select {
	case r := <-q.reply:
		return r.items, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-a.done:
		select {
		case r := <-q.reply: // answered just before Run ended
			return r.items, r.err
		default:
			return nil, a.stopped()
		}
	}
}

// Value asks for one name and returns its JSON. As in cardano-tracer, the
// reply counts only when it has exactly one item and that item has a value;
// otherwise the error wraps ErrNotAvailable.
func (a *Acceptor) Value(ctx context.Context, name string) ([]byte, error) {
	items, err := a.Query(ctx, []string{name})
	if err != nil {
		return nil, err
	}
	if len(items) != 1 || !items[0].Present {
		return nil, fmt.Errorf("%w: %q", ErrNotAvailable, name)
	}
	return items[0].Value, nil
}

// NodeInfo asks for the node's NodeInfo. A missing value, or one that is
// not a valid NodeInfo, gives an error wrapping ErrNotAvailable (and, for
// an invalid one, ErrInvalidNodeInfo).
func (a *Acceptor) NodeInfo(ctx context.Context) (NodeInfo, error) {
	v, err := a.Value(ctx, NodeInfoName)
	if err != nil {
		return NodeInfo{}, err
	}
	ni, err := ParseNodeInfo(v)
	if err != nil {
		return NodeInfo{}, fmt.Errorf("%w: %w", ErrNotAvailable, err)
	}
	return ni, nil
}
