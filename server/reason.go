package server

import (
	"context"
	"errors"

	"muninn/muxproto"
	"muninn/tracer"
)

// CloseReason classifies why a node connection ended. It is a log
// attribute and, later, a metric label, so the set is small and fixed.
type CloseReason string

// Close reasons.
const (
	ReasonShutdown          CloseReason = "shutdown"
	ReasonPeerClosed        CloseReason = "peer_closed"
	ReasonHandshakeRefused  CloseReason = "handshake_refused"
	ReasonHandshakeTimeout  CloseReason = "handshake_timeout"
	ReasonHandshakeFailed   CloseReason = "handshake_failed"
	ReasonProtocolViolation CloseReason = "protocol_violation"
	ReasonIngressOverrun    CloseReason = "ingress_overrun"
	ReasonTimeout           CloseReason = "sdu_timeout"
	ReasonProtocolDone      CloseReason = "protocol_done"
	ReasonError             CloseReason = "error"
)

// classify maps the error that ended a session to its reason.
func classify(err error) CloseReason {
	switch {
	case err == nil:
		return ReasonProtocolDone
	case errors.Is(err, errShutdown), errors.Is(err, context.Canceled), errors.Is(err, muxproto.ErrMuxClosed):
		return ReasonShutdown
	case errors.Is(err, muxproto.ErrHandshakeRefused):
		return ReasonHandshakeRefused
	case errors.Is(err, muxproto.ErrHandshakeTimeout):
		return ReasonHandshakeTimeout
	case errors.Is(err, muxproto.ErrInvalidSelection):
		return ReasonHandshakeFailed
	case errors.Is(err, muxproto.ErrPeerClosed):
		return ReasonPeerClosed
	case errors.Is(err, muxproto.ErrIngressOverrun), errors.Is(err, muxproto.ErrMessageTooLarge):
		return ReasonIngressOverrun
	case errors.Is(err, muxproto.ErrSDUTimeout):
		return ReasonTimeout
	case errors.Is(err, muxproto.ErrShortSDU), errors.Is(err, muxproto.ErrUnknownProtocol),
		errors.Is(err, muxproto.ErrWrongDirection), errors.Is(err, muxproto.ErrMalformedCBOR),
		errors.Is(err, muxproto.ErrDecode), errors.Is(err, tracer.ErrEmptyReply), errors.Is(err, tracer.ErrTooManyObjects):
		return ReasonProtocolViolation
	}
	return ReasonError
}

// errShutdown is the cause given to sessions ended by Shutdown or Close.
var errShutdown = errors.New("server shutting down")
