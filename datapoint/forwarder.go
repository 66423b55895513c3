package datapoint

import (
	"context"
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

// lookup answers a request: one item per name, in order.
func (s *Store) lookup(names []string) []Item {
	items := make([]Item, len(names))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, n := range names {
		v, ok := s.m[n]
		items[i] = Item{Name: n, Value: v, Present: ok}
	}
	return items
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
// cancelled, and otherwise the first channel error or invalid message
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
		reply := MsgReply{Items: f.store.lookup(req.Names)}
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
