package datapoint

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"muninn/muxproto"
)

// Store holds the latest JSON value of each DataPoint name on the node
// side. The zero value is an empty store ready to use; it is safe for
// concurrent use.
type Store struct {
	mu sync.Mutex
	m  map[string][]byte // values are never modified after Set
}

// Set stores a copy of value under name, replacing any previous value. A
// nil value is stored as an empty one, which is sent as 81 5f ff.
func (s *Store) Set(name string, value []byte) {
	v := slices.Clone(value)
	if v == nil {
		v = []byte{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string][]byte)
	}
	s.m[name] = v
}

// Delete removes name.
func (s *Store) Delete(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, name)
}

// Get returns the value stored under name. The caller must not modify it.
func (s *Store) Get(name string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[name]
	return v, ok
}

// MaxReplyBytes bounds a reply a Forwarder builds. A request may name a
// value many times over, and each time the value is sent again: without a
// bound a small request could make a reply of gigabytes.
const MaxReplyBytes = 8 << 20

// ErrReplyTooLarge: a request whose reply would exceed MaxReplyBytes.
var ErrReplyTooLarge = errors.New("data point reply too large")

// itemOverhead is more than the CBOR an item adds to its name and value.
const itemOverhead = 24

// lookup answers a request: one item per name, in order. It fails, before
// building anything, when the reply would exceed MaxReplyBytes.
func (s *Store) lookup(names []string) ([]Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	size := 0
	for _, n := range names {
		if size += len(n) + len(s.m[n]) + itemOverhead; size > MaxReplyBytes {
			return nil, fmt.Errorf("%w: a request for %d names would take more than %d bytes", ErrReplyTooLarge, len(names), MaxReplyBytes)
		}
	}
	items := make([]Item, len(names))
	for i, n := range names {
		v, ok := s.m[n]
		items[i] = Item{Name: n, Value: v, Present: ok}
	}
	return items, nil
}

// Forwarder answers DataPoint requests from a Store: the node's side.
type Forwarder struct {
	ch    *muxproto.Channel
	store *Store
}

// NewForwarder returns a Forwarder that answers on ch from store (an empty
// store when nil).
func NewForwarder(ch *muxproto.Channel, store *Store) *Forwarder {
	if store == nil {
		store = &Store{}
	}
	return &Forwarder{ch: ch, store: store}
}

// Run answers each request with one item per requested name, in order (a
// name asked twice is answered twice), Nothing for names not in the store.
// It returns nil when the acceptor sends MsgDone, ctx.Err() when
// cancelled, ErrReplyTooLarge for a request whose reply would exceed
// MaxReplyBytes, and otherwise the first channel error or invalid message
// (wrapping muxproto.ErrDecode).
func (f *Forwarder) Run(ctx context.Context) error {
	st := StateIdle
	for {
		msg, err := f.ch.Recv(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("receive data point request: %w", err)
		}
		m, err := DecodeRequest(msg)
		if err != nil {
			return err
		}
		if st, err = next(st, AgencyAcceptor, m.tag()); err != nil {
			return err
		}
		req, ok := m.(MsgRequest)
		if !ok { // MsgDone
			return nil
		}
		items, err := f.store.lookup(req.Names)
		if err != nil {
			return err
		}
		reply := MsgReply{Items: items}
		if st, err = next(st, AgencyNode, reply.tag()); err != nil {
			return err
		}
		if err := f.ch.Send(ctx, Encode(reply)); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("send data point reply: %w", err)
		}
	}
}
