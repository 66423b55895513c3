// Package muxproto implements the connection layer that cardano-node's
// trace forwarding runs on: the Ouroboros SDU header, a multiplexer with
// one reader and one writer goroutine per connection, incremental CBOR
// message framing per (mini-protocol, direction) stream, the forwarding
// handshake (mini-protocol 0), and the strict CBOR decoding shared by the
// mini-protocol packages.
//
// The byte-level contract is the project's PROTOCOL.md. The package imports
// no other project package.
package muxproto
