// Package muxtest connects pairs of Muxes over real transports for tests:
// net.Pipe, a Unix socket in a temporary directory, and TCP on loopback,
// with either side opening the connection.
package muxtest

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"testing"

	"muninn/muxproto"
)

// Transports lists every transport Conns knows.
var Transports = []string{"pipe", "unix", "tcp"}

// Shape says who opens the connection, in cardano-tracer's terms.
type Shape string

const (
	// AcceptAt: the acceptor listens and the forwarder (node) connects.
	AcceptAt Shape = "AcceptAt"
	// ConnectTo: the forwarder listens and the acceptor connects.
	ConnectTo Shape = "ConnectTo"
)

// Shapes lists both shapes.
var Shapes = []Shape{AcceptAt, ConnectTo}

// Conns returns a connected pair: the side that dialled and the side that
// accepted. Both are closed when the test ends.
func Conns(t testing.TB, transport string) (dialer, accepted net.Conn) {
	t.Helper()
	if transport == "pipe" {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b
	}
	network, addr := "tcp", "127.0.0.1:0"
	if transport == "unix" {
		network, addr = "unix", filepath.Join(t.TempDir(), "s.sock")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("listen %s: %v", transport, err)
	}
	defer ln.Close()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		ch <- result{c, err}
	}()
	d, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatalf("dial %s: %v", transport, err)
	}
	r := <-ch
	if r.err != nil {
		d.Close()
		t.Fatalf("accept %s: %v", transport, r.err)
	}
	t.Cleanup(func() { d.Close(); r.c.Close() })
	return d, r.c
}

// Magic is the network magic Pair uses on both sides.
const Magic = 764824073

// Pair connects an acceptor Mux (Muninn's role) and a forwarder Mux (the
// node's role) over transport in the given shape, after a real handshake,
// with mini-protocols 1, 2 and 3 registered. Both are closed when the test
// ends.
func Pair(t testing.TB, transport string, shape Shape, cfg muxproto.Config) (acceptor, forwarder *muxproto.Mux) {
	t.Helper()
	dialer, accepted := Conns(t, transport)
	accConn, fwdConn := accepted, dialer
	accDir, fwdDir := muxproto.FromResponder, muxproto.FromInitiator
	if shape == ConnectTo {
		accConn, fwdConn = dialer, accepted
		accDir, fwdDir = muxproto.FromInitiator, muxproto.FromResponder
	}
	hs := muxproto.HandshakeConfig{NetworkMagic: Magic}
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		var err error
		if shape == AcceptAt {
			_, err = muxproto.ClientHandshake(ctx, fwdConn, hs)
		} else {
			_, err = muxproto.ServerHandshake(ctx, fwdConn, hs)
		}
		errc <- err
	}()
	var err error
	if shape == AcceptAt {
		_, err = muxproto.ServerHandshake(ctx, accConn, hs)
	} else {
		_, err = muxproto.ClientHandshake(ctx, accConn, hs)
	}
	if err2 := <-errc; err == nil {
		err = err2
	}
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	protos := []muxproto.ProtocolNum{muxproto.ProtoEKG, muxproto.ProtoTraceObject, muxproto.ProtoDataPoint}
	log := slog.New(slog.DiscardHandler)
	acceptor, err = muxproto.New(accConn, accDir, protos, cfg, log)
	if err != nil {
		t.Fatalf("acceptor mux: %v", err)
	}
	forwarder, err = muxproto.New(fwdConn, fwdDir, protos, cfg, log)
	if err != nil {
		acceptor.Close()
		t.Fatalf("forwarder mux: %v", err)
	}
	t.Cleanup(func() { acceptor.Close(); forwarder.Close() })
	return acceptor, forwarder
}
