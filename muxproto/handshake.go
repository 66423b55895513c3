package muxproto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// DefaultHandshakeTimeout is the time a peer has for its handshake message,
// on every transport (cardano-tracer has none on Unix sockets).
const DefaultHandshakeTimeout = 10 * time.Second

var (
	// ErrHandshakeRefused: one side refused the handshake; see *RefusedError.
	ErrHandshakeRefused = errors.New("handshake refused")
	// ErrHandshakeTimeout: the peer did not complete the handshake in time.
	ErrHandshakeTimeout = errors.New("handshake timeout")
	// ErrInvalidSelection: the server accepted with a version we did not
	// propose or version data that differs from ours.
	ErrInvalidSelection = errors.New("invalid version selected by server")
)

// RefusedError describes a refused handshake. ByPeer tells whether the
// peer refused us (true) or we refused the peer (false).
type RefusedError struct {
	Reason    RefuseReason
	ByPeer    bool
	OwnMagic  uint32
	PeerMagic uint32 // set when the peer's magic could be read
}

func (e *RefusedError) Error() string {
	who := "we refused the peer"
	if e.ByPeer {
		who = "the peer refused us"
	}
	if e.Reason.Kind == RefuseRefused && !e.ByPeer {
		return fmt.Sprintf("handshake refused (%s): network magic mismatch: ours %d, peer's %d", who, e.OwnMagic, e.PeerMagic)
	}
	return fmt.Sprintf("handshake refused (%s): %s", who, e.Reason)
}

func (e *RefusedError) Unwrap() error { return ErrHandshakeRefused }

// HandshakeConfig is what both roles need.
type HandshakeConfig struct {
	NetworkMagic uint32
	// Timeout bounds the whole exchange. Zero means DefaultHandshakeTimeout.
	Timeout time.Duration
}

// ClientHandshake runs the handshake as the side that connected (mux
// initiator): it proposes ForwardingV1 with its magic and returns the
// version the server accepted.
func ClientHandshake(ctx context.Context, conn net.Conn, cfg HandshakeConfig) (version uint64, err error) {
	disarm, err := armHandshake(ctx, conn, cfg)
	if err != nil {
		return 0, err
	}
	defer func() {
		if derr := disarm(); derr != nil && err == nil {
			version, err = 0, derr
		}
	}()
	propose := ProposeVersions{Versions: []VersionParam{{Version: ForwardingV1, Data: MagicData(cfg.NetworkMagic)}}}
	if err := writeHandshake(conn, FromInitiator, propose); err != nil {
		return 0, handshakeIOErr(ctx, err)
	}
	msg, err := readHandshake(conn, FromResponder)
	if err != nil {
		return 0, handshakeIOErr(ctx, err)
	}
	switch m := msg.(type) {
	case AcceptVersion:
		if m.Version != ForwardingV1 {
			return 0, fmt.Errorf("%w: version %d", ErrInvalidSelection, m.Version)
		}
		magic, err := Uint(m.Data, math.MaxUint32)
		if err != nil {
			return 0, fmt.Errorf("%w: version data: %w", ErrInvalidSelection, err)
		}
		if uint32(magic) != cfg.NetworkMagic {
			return 0, fmt.Errorf("%w: network magic %d, ours %d", ErrInvalidSelection, magic, cfg.NetworkMagic)
		}
		return m.Version, nil
	case Refuse:
		return 0, &RefusedError{Reason: m.Reason, ByPeer: true, OwnMagic: cfg.NetworkMagic}
	}
	return 0, &ProtocolError{Proto: ProtoHandshake, Dir: FromResponder,
		Err: decodeErr("unexpected handshake message %T", msg)}
}

// ServerHandshake runs the handshake as the side that accepted (mux
// responder), with the rules of the Haskell listener: only ForwardingV1,
// and only the same network magic. A refusal is sent to the peer and also
// returned as a *RefusedError.
func ServerHandshake(ctx context.Context, conn net.Conn, cfg HandshakeConfig) (version uint64, err error) {
	disarm, err := armHandshake(ctx, conn, cfg)
	if err != nil {
		return 0, err
	}
	defer func() {
		if derr := disarm(); derr != nil && err == nil {
			version, err = 0, derr
		}
	}()
	msg, err := readHandshake(conn, FromInitiator)
	if err != nil {
		return 0, handshakeIOErr(ctx, err)
	}
	p, ok := msg.(ProposeVersions)
	if !ok {
		return 0, &ProtocolError{Proto: ProtoHandshake, Dir: FromInitiator,
			Err: decodeErr("expected a version proposal, got %T", msg)}
	}
	reply, verdict := selectVersion(p, cfg.NetworkMagic)
	if err := writeHandshake(conn, FromResponder, reply); err != nil {
		return 0, handshakeIOErr(ctx, err)
	}
	if verdict != nil {
		return 0, verdict
	}
	return ForwardingV1, nil
}

// selectVersion applies PROTOCOL.md §4.5 to a proposal.
func selectVersion(p ProposeVersions, own uint32) (HandshakeMsg, error) {
	var data Raw
	for _, v := range p.Versions {
		if v.Version == ForwardingV1 {
			data = v.Data
		}
	}
	refuse := func(r RefuseReason, peer uint32) (HandshakeMsg, error) {
		return Refuse{Reason: r}, &RefusedError{Reason: r, OwnMagic: own, PeerMagic: peer}
	}
	if data == nil {
		return refuse(RefuseReason{Kind: RefuseVersionMismatch, Versions: []uint64{ForwardingV1}}, 0)
	}
	magic, reason := decodeMagic(data)
	if reason != "" {
		return refuse(RefuseReason{Kind: RefuseDecodeError, Version: ForwardingV1, Message: reason}, 0)
	}
	if magic != own {
		return refuse(RefuseReason{Kind: RefuseRefused, Version: ForwardingV1, Message: fmt.Sprintf(
			"ForwardingVersionData mismatch: ForwardingVersionData {networkMagic = NetworkMagic %d} /= ForwardingVersionData {networkMagic = NetworkMagic %d}",
			own, magic)}, magic)
	}
	return AcceptVersion{Version: ForwardingV1, Data: MagicData(own)}, nil
}

// decodeMagic reads forwarding version data; a non-empty second result is
// the refusal text Haskell would send.
func decodeMagic(data Raw) (uint32, string) {
	if len(data) > 0 && data[0]>>5 <= 1 {
		if v, err := Int64(data); err == nil {
			if v < 0 || v > math.MaxUint32 {
				return 0, fmt.Sprintf("networkMagic out of bound: %d", v)
			}
			return uint32(v), ""
		}
	}
	diag, err := cbor.Diagnose(data)
	if err != nil {
		diag = fmt.Sprintf("%x", []byte(data))
	}
	return 0, "unknown encoding: " + truncateText(diag, maxRefusalDiag)
}

// maxRefusalDiag bounds the peer's data quoted in a refusal, so that the
// refusal stays a small handshake message (and a short log line) whatever
// the peer proposed: its diagnostic notation can be ten times the size of
// the data.
const maxRefusalDiag = 256

// truncateText cuts s to at most n bytes at a character boundary, marking
// the cut with "...".
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// armHandshake bounds the exchange by the timeout and by ctx. The returned
// function ends that: it clears the deadline again, or, if ctx has ended
// meanwhile, waits until the wake-up below has landed and returns ctx's
// error, so that no deadline set for the handshake reaches the connection
// after it.
func armHandshake(ctx context.Context, conn net.Conn, cfg HandshakeConfig) (func() error, error) {
	t := cfg.Timeout
	if t <= 0 {
		t = DefaultHandshakeTimeout
	}
	if err := conn.SetDeadline(time.Now().Add(t)); err != nil {
		return nil, fmt.Errorf("set handshake deadline: %w", err)
	}
	woken := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(woken)
		// Wake the pending read or write; if this fails the connection is
		// already closed and the pending call fails by itself.
		if err := conn.SetDeadline(time.Unix(1, 0)); err != nil {
			return
		}
	})
	return func() error {
		if !stop() {
			<-woken
			return ctx.Err()
		}
		if err := conn.SetDeadline(time.Time{}); err != nil {
			return nil // closed: the Mux's first read reports it
		}
		return nil
	}, nil
}

func handshakeIOErr(ctx context.Context, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return ErrHandshakeTimeout
	}
	return err
}

func writeHandshake(conn net.Conn, dir Direction, msg HandshakeMsg) error {
	payload := EncodeHandshake(msg)
	if len(payload) > MaxHandshakeSize {
		return fmt.Errorf("%w: our own handshake message of %d bytes, over %d", ErrMessageTooLarge, len(payload), MaxHandshakeSize)
	}
	var hb [HeaderSize]byte
	Header{Dir: dir, Proto: ProtoHandshake, Length: uint16(len(payload))}.Encode(&hb)
	if _, err := conn.Write(append(hb[:], payload...)); err != nil {
		if peerGone(err) {
			return fmt.Errorf("%w during the handshake (write: %w)", ErrPeerClosed, err)
		}
		return fmt.Errorf("write handshake: %w", err)
	}
	return nil
}

// readHandshake reads one SDU and decodes its payload as exactly one
// handshake message.
func readHandshake(conn net.Conn, from Direction) (HandshakeMsg, error) {
	var hb [HeaderSize]byte
	if _, err := io.ReadFull(conn, hb[:]); err != nil {
		return nil, handshakeReadErr(err)
	}
	h, err := DecodeHeader(&hb)
	if err != nil {
		return nil, err
	}
	switch {
	case h.Proto != ProtoHandshake:
		return nil, &ProtocolError{Proto: h.Proto, Dir: h.Dir, Err: fmt.Errorf("%w: SDU before the handshake completed", ErrUnknownProtocol)}
	case h.Dir != from:
		return nil, &ProtocolError{Proto: h.Proto, Dir: h.Dir, Err: ErrWrongDirection}
	case int(h.Length) > MaxHandshakeSize:
		return nil, &ProtocolError{Proto: h.Proto, Dir: h.Dir, Err: fmt.Errorf("%w: handshake SDU of %d bytes", ErrMessageTooLarge, h.Length)}
	}
	payload := make([]byte, h.Length)
	if _, err := io.ReadFull(conn, payload); err != nil {
		return nil, handshakeReadErr(err)
	}
	_, n, err := splitItem(payload)
	if err == nil && n != len(payload) {
		err = decodeErr("%d bytes after the handshake message", len(payload)-n)
	}
	var msg HandshakeMsg
	if err == nil {
		msg, err = DecodeHandshake(payload)
	}
	if err != nil {
		return nil, &ProtocolError{Proto: ProtoHandshake, Dir: from, Err: err}
	}
	return msg, nil
}

func handshakeReadErr(err error) error {
	if peerGone(err) {
		return fmt.Errorf("%w during the handshake", ErrPeerClosed)
	}
	return fmt.Errorf("read handshake: %w", err)
}
