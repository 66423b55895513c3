package ekg

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"muninn/muxproto"
)

// Source gives the forwarder the metrics to answer with. Sample is called
// once per request and must return a slice the caller may keep.
type Source interface {
	Sample() []Metric
}

// MapSource is a Source over a map from name to value, safe for concurrent
// use. Its zero value is empty and ready to use.
type MapSource struct {
	mu sync.Mutex
	m  map[string]Value
}

// NewMapSource returns a MapSource holding ms.
func NewMapSource(ms ...Metric) *MapSource {
	s := &MapSource{m: make(map[string]Value, len(ms))}
	for _, mt := range ms {
		s.m[mt.Name] = mt.Value
	}
	return s
}

// Set stores v under name, replacing any earlier value.
func (s *MapSource) Set(name string, v Value) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]Value)
	}
	s.m[name] = v
}

// Delete removes name.
func (s *MapSource) Delete(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, name)
}

// Sample returns every metric, sorted by name.
func (s *MapSource) Sample() []Metric {
	s.mu.Lock()
	ms := make([]Metric, 0, len(s.m))
	for name, v := range s.m {
		ms = append(ms, Metric{Name: name, Value: v})
	}
	s.mu.Unlock()
	slices.SortFunc(ms, func(a, b Metric) int { return strings.Compare(a.Name, b.Name) })
	return ms
}

// Forwarder answers an acceptor's requests on one connection, with the
// node's semantics (PROTOCOL.md §8.4).
type Forwarder struct {
	ch  *muxproto.Channel
	src Source
	// last is what the acceptor was last told, per name; it starts empty
	// for every connection. Owned by Run.
	last map[string]Value
}

// NewForwarder returns a forwarder answering on ch (the channel of
// Protocol) from src. A nil src answers every request with an empty list,
// as cardano-tracer's own re-forwarder does.
func NewForwarder(ch *muxproto.Channel, src Source) *Forwarder {
	return &Forwarder{ch: ch, src: src, last: make(map[string]Value)}
}

// Run answers requests until the acceptor sends MsgDone, when it returns
// nil, or until an error: the context's, the Mux's, or a decode error
// (wrapping muxproto.ErrDecode) after which the connection should be
// closed. Run must not be called twice at the same time.
func (f *Forwarder) Run(ctx context.Context) error {
	for {
		b, err := f.ch.Recv(ctx)
		if err != nil {
			return fmt.Errorf("receive request: %w", err)
		}
		msg, err := DecodeRequest(b)
		if err != nil {
			return fmt.Errorf("decode request: %w", err)
		}
		req, ok := msg.(MsgReq)
		if !ok { // MsgDone
			return nil
		}
		resp := MsgResp{Metrics: f.answer(req.Request)}
		if err := f.ch.Send(ctx, Encode(resp)); err != nil {
			return fmt.Errorf("send response: %w", err)
		}
	}
}

// answer computes the response to req and updates last.
func (f *Forwarder) answer(req Request) []Metric {
	if f.src == nil {
		return nil
	}
	sample := f.src.Sample()
	switch req.Kind {
	case GetAllMetrics:
		f.remember(sample)
		return sample
	case GetUpdatedMetrics:
		var out []Metric
		for _, m := range sample {
			if v, ok := f.last[m.Name]; !ok || v != m.Value {
				out = append(out, m)
			}
		}
		f.remember(sample)
		return out
	case GetMetrics:
		want := make(map[string]struct{}, len(req.Names))
		for _, n := range req.Names {
			want[n] = struct{}{}
		}
		var out []Metric
		for _, m := range sample {
			if _, ok := want[m.Name]; ok {
				out = append(out, m)
				f.last[m.Name] = m.Value
			}
		}
		return out
	}
	return nil // unreachable: DecodeRequest knows only the three kinds
}

// remember replaces last with sample.
func (f *Forwarder) remember(sample []Metric) {
	clear(f.last)
	for _, m := range sample {
		f.last[m.Name] = m.Value
	}
}
