package muxproto

import (
	"encoding/binary"
	"fmt"
)

// ProtocolNum is a mini-protocol number (15 bits on the wire).
type ProtocolNum uint16

// The mini-protocols of trace forwarding (PROTOCOL.md §6).
const (
	ProtoHandshake   ProtocolNum = 0
	ProtoEKG         ProtocolNum = 1
	ProtoTraceObject ProtocolNum = 2
	ProtoDataPoint   ProtocolNum = 3
)

func (p ProtocolNum) String() string {
	switch p {
	case ProtoHandshake:
		return "handshake"
	case ProtoEKG:
		return "ekg"
	case ProtoTraceObject:
		return "trace-object"
	case ProtoDataPoint:
		return "data-point"
	}
	return fmt.Sprintf("%d", uint16(p))
}

// HeaderSize is the size of an SDU header in bytes.
const HeaderSize = 8

// MaxSDUPayload is the largest payload an SDU header can describe.
const MaxSDUPayload = 0xffff

// DefaultSDUSize is what the Haskell mux writes per SDU on sockets.
const DefaultSDUSize = 12288

// Header is one SDU header:
//
//	u32 timestamp | u16 (direction bit 15, mini-protocol bits 14..0) | u16 length
//
// all big-endian.
type Header struct {
	Timestamp uint32
	Dir       Direction
	Proto     ProtocolNum
	Length    uint16
}

// Encode writes h into b.
func (h Header) Encode(b *[HeaderSize]byte) {
	binary.BigEndian.PutUint32(b[0:4], h.Timestamp)
	w := uint16(h.Proto) & 0x7fff
	if h.Dir == FromResponder {
		w |= 0x8000
	}
	binary.BigEndian.PutUint16(b[4:6], w)
	binary.BigEndian.PutUint16(b[6:8], h.Length)
}

// DecodeHeader parses an SDU header. It rejects a zero length, which the
// Haskell mux treats as a fatal "short SDU"; every other value is accepted.
func DecodeHeader(b *[HeaderSize]byte) (Header, error) {
	w := binary.BigEndian.Uint16(b[4:6])
	h := Header{
		Timestamp: binary.BigEndian.Uint32(b[0:4]),
		Dir:       Direction(w >> 15),
		Proto:     ProtocolNum(w & 0x7fff),
		Length:    binary.BigEndian.Uint16(b[6:8]),
	}
	if h.Length == 0 {
		return h, &ProtocolError{Proto: h.Proto, Dir: h.Dir, Err: ErrShortSDU}
	}
	return h, nil
}
