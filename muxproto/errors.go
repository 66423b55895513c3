package muxproto

import (
	"errors"
	"fmt"
)

// Sentinel errors. A connection-ending error from a Mux wraps one of these
// (usually inside a *ProtocolError), so callers classify it with errors.Is.
var (
	// ErrShortSDU: an SDU header announced a zero-length payload.
	ErrShortSDU = errors.New("zero-length SDU")
	// ErrUnknownProtocol: an SDU for a mini-protocol number that is not registered.
	ErrUnknownProtocol = errors.New("unknown mini-protocol")
	// ErrWrongDirection: an SDU whose direction bit is the receiver's own mux role.
	ErrWrongDirection = errors.New("wrong direction bit")
	// ErrIngressOverrun: more bytes buffered for one mini-protocol than its limit.
	ErrIngressOverrun = errors.New("ingress queue overrun")
	// ErrMessageTooLarge: one message grew past the per-message limit.
	ErrMessageTooLarge = errors.New("message too large")
	// ErrMalformedCBOR: bytes in a mini-protocol stream that are not well-formed CBOR.
	ErrMalformedCBOR = errors.New("malformed CBOR")
	// ErrSDUTimeout: an SDU was started but not completed in time.
	ErrSDUTimeout = errors.New("SDU read timeout")
	// ErrPeerClosed: the peer closed the connection.
	ErrPeerClosed = errors.New("peer closed the connection")
	// ErrMuxClosed: the Mux was closed locally.
	ErrMuxClosed = errors.New("mux closed")
	// ErrDecode: a message is well-formed CBOR but not a valid message of
	// its mini-protocol in the current state. Mini-protocol packages wrap it.
	ErrDecode = errors.New("invalid message")
)

// Direction says which side of a connection sent an SDU, by the sender's mux
// role: the side that opened the connection is the initiator.
type Direction uint8

const (
	// FromInitiator: direction bit 0, sent by the side that connected.
	FromInitiator Direction = 0
	// FromResponder: direction bit 1, sent by the side that accepted.
	FromResponder Direction = 1
)

func (d Direction) String() string {
	if d == FromResponder {
		return "responder"
	}
	return "initiator"
}

// ProtocolError is a connection-ending violation on one mini-protocol
// stream. Err is one of the package's sentinels (or a decode error).
type ProtocolError struct {
	Proto ProtocolNum
	Dir   Direction
	Err   error
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("mini-protocol %s (from %s): %v", e.Proto, e.Dir, e.Err)
}

func (e *ProtocolError) Unwrap() error { return e.Err }
