// Package fakenode plays a cardano-node's side of trace forwarding on one
// connection: the handshake and the three forwarder roles (TraceObject,
// EKG, DataPoint), fed from a queue, a metric source and a DataPoint store
// that the caller fills. Tests, the simulated node and the load generator
// use it as a real peer.
package fakenode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"muninn/datapoint"
	"muninn/ekg"
	"muninn/muxproto"
	"muninn/tracer"
)

// Node holds what a node forwards. Traces, Metrics and DataPoints may be
// shared by several connections (each object is then taken by one of them,
// as on a node with one queue).
type Node struct {
	Magic      uint32
	Traces     *tracer.Queue
	Metrics    ekg.Source
	DataPoints *datapoint.Store
	Mux        muxproto.Config
	Handshake  muxproto.HandshakeConfig // NetworkMagic is taken from Magic
	Log        *slog.Logger
}

// Serve runs the handshake on conn, as the client when dialled is set (the
// node opened the connection: cardano-tracer's AcceptAt) and as the server
// otherwise, then answers all three mini-protocols until the connection
// ends or ctx is cancelled. Like a Haskell node, it ends the whole
// connection when any one mini-protocol finishes. It closes conn. It
// returns nil after an acceptor's MsgDone, ctx.Err() after cancellation,
// and otherwise the error that ended the connection.
func (n *Node) Serve(ctx context.Context, conn net.Conn, dialled bool) error {
	log := n.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hs := n.Handshake
	hs.NetworkMagic = n.Magic
	own, handshake := muxproto.FromResponder, muxproto.ServerHandshake
	if dialled {
		own, handshake = muxproto.FromInitiator, muxproto.ClientHandshake
	}
	if _, err := handshake(ctx, conn, hs); err != nil {
		return errors.Join(fmt.Errorf("handshake: %w", err), conn.Close())
	}
	protos := []muxproto.ProtocolNum{ekg.Protocol, tracer.Protocol, datapoint.Protocol}
	mux, err := muxproto.New(conn, own, protos, n.Mux, log)
	if err != nil {
		return errors.Join(err, conn.Close())
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	roles := []func(context.Context) error{
		tracer.NewForwarder(mux.Channel(tracer.Protocol), n.Traces).Run,
		ekg.NewForwarder(mux.Channel(ekg.Protocol), n.Metrics).Run,
		datapoint.NewForwarder(mux.Channel(datapoint.Protocol), n.DataPoints).Run,
	}
	errc := make(chan error, len(roles)) // one result per role
	for _, run := range roles {
		go func() { errc <- run(rctx) }()
	}
	first := <-errc // the first role to end ends the connection
	cancel()
	mux.Close()
	for range len(roles) - 1 {
		<-errc
	}
	switch merr := mux.Err(); {
	case first == nil:
		return nil // MsgDone
	case ctx.Err() != nil:
		return ctx.Err()
	case !errors.Is(merr, muxproto.ErrMuxClosed):
		return merr // the connection failed: report the cause, not its echo
	}
	return first
}
