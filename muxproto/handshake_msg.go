package muxproto

import (
	"fmt"
	"math"
)

// Forwarding handshake versions (PROTOCOL.md §4.4).
const (
	ForwardingV1 uint64 = 1
	ForwardingV2 uint64 = 2 // decoded, never offered or accepted
)

// MaxHandshakeSize is the largest handshake message Haskell accepts.
const MaxHandshakeSize = 5760

// HandshakeMsg is one of ProposeVersions, AcceptVersion, Refuse, QueryReply.
type HandshakeMsg interface{ handshakeTag() uint64 }

// VersionParam is one entry of a version table: a version number and its
// version data (for forwarding: the network magic, a bare unsigned integer).
type VersionParam struct {
	Version uint64
	Data    Raw
}

// ProposeVersions is [0, {version => data}]. Decoded, it holds only the
// versions this codec recognises (1 and 2), in ascending order.
type ProposeVersions struct{ Versions []VersionParam }

// AcceptVersion is [1, version, data].
type AcceptVersion struct {
	Version uint64
	Data    Raw
}

// Refuse is [2, reason].
type Refuse struct{ Reason RefuseReason }

// QueryReply is [3, {version => data}]; never used by forwarding.
type QueryReply struct{ Versions []VersionParam }

func (ProposeVersions) handshakeTag() uint64 { return 0 }
func (AcceptVersion) handshakeTag() uint64   { return 1 }
func (Refuse) handshakeTag() uint64          { return 2 }
func (QueryReply) handshakeTag() uint64      { return 3 }

// RefuseKind says why a handshake was refused.
type RefuseKind uint8

// Refuse reasons, with their CBOR constructor indices.
const (
	RefuseVersionMismatch RefuseKind = 0 // [0, [versions]]: the server's own versions
	RefuseDecodeError     RefuseKind = 1 // [1, version, text]
	RefuseRefused         RefuseKind = 2 // [2, version, text]
)

func (k RefuseKind) String() string {
	switch k {
	case RefuseVersionMismatch:
		return "version mismatch"
	case RefuseDecodeError:
		return "version data not decodable"
	case RefuseRefused:
		return "refused"
	}
	return fmt.Sprintf("refuse reason %d", uint8(k))
}

// RefuseReason is the body of Refuse. Versions is set for a version
// mismatch; Version and Message for the other two kinds.
type RefuseReason struct {
	Kind     RefuseKind
	Versions []uint64
	Version  uint64
	Message  string
}

func (r RefuseReason) String() string {
	if r.Kind == RefuseVersionMismatch {
		return fmt.Sprintf("%s (peer knows versions %v)", r.Kind, r.Versions)
	}
	return fmt.Sprintf("%s for version %d: %s", r.Kind, r.Version, r.Message)
}

// MagicData encodes a network magic as forwarding version data.
func MagicData(magic uint32) Raw { return AppendUint(nil, uint64(magic)) }

// EncodeHandshake encodes a handshake message as Haskell writes it.
func EncodeHandshake(msg HandshakeMsg) []byte {
	b := AppendArray(nil, 2)
	switch m := msg.(type) {
	case ProposeVersions:
		b = appendVersionTable(AppendUint(b, 0), m.Versions)
	case QueryReply:
		b = appendVersionTable(AppendUint(b, 3), m.Versions)
	case AcceptVersion:
		b = AppendArray(nil, 3)
		b = AppendUint(b, 1)
		b = AppendUint(b, m.Version)
		b = append(b, m.Data...)
	case Refuse:
		b = AppendUint(b, 2)
		r := m.Reason
		if r.Kind == RefuseVersionMismatch {
			b = AppendArray(b, 2)
			b = AppendUint(b, 0)
			b = AppendArray(b, len(r.Versions))
			for _, v := range r.Versions {
				b = AppendUint(b, v)
			}
		} else {
			b = AppendArray(b, 3)
			b = AppendUint(b, uint64(r.Kind))
			b = AppendUint(b, r.Version)
			b = AppendText(b, r.Message)
		}
	}
	return b
}

func appendVersionTable(b []byte, vs []VersionParam) []byte {
	b = AppendHead(b, 5, uint64(len(vs)))
	for _, v := range vs {
		b = AppendUint(b, v.Version)
		b = append(b, v.Data...)
	}
	return b
}

// DecodeHandshake decodes one handshake message, accepting what Haskell's
// handshake codec accepts.
func DecodeHandshake(data []byte) (HandshakeMsg, error) {
	items, err := Array(data, -1, true)
	if err != nil {
		return nil, err
	}
	tag, err := Tag(items)
	if err != nil {
		return nil, err
	}
	switch {
	case tag == 0 && len(items) == 2:
		vs, err := decodeVersionTable(items[1])
		return ProposeVersions{Versions: vs}, err
	case tag == 1 && len(items) == 3:
		v, err := Uint(items[1], math.MaxUint64)
		return AcceptVersion{Version: v, Data: items[2]}, err
	case tag == 2 && len(items) == 2:
		r, err := decodeRefuseReason(items[1])
		return Refuse{Reason: r}, err
	case tag == 3 && len(items) == 2:
		vs, err := decodeVersionTable(items[1])
		return QueryReply{Versions: vs}, err
	}
	return nil, decodeErr("handshake message tag %d with %d elements", tag, len(items))
}

// decodeVersionTable reads a definite map; keys that are not recognised
// versions are skipped, recognised ones must be strictly ascending.
func decodeVersionTable(raw []byte) ([]VersionParam, error) {
	entries, err := MapEntries(raw)
	if err != nil {
		return nil, err
	}
	var out []VersionParam
	for _, e := range entries {
		ver, err := Uint(e[0], math.MaxUint64)
		if err != nil || (ver != ForwardingV1 && ver != ForwardingV2) {
			continue // Haskell skips keys its version codec does not know
		}
		if len(out) > 0 && ver <= out[len(out)-1].Version {
			return nil, decodeErr("version table keys not in ascending order")
		}
		out = append(out, VersionParam{Version: ver, Data: e[1]})
	}
	return out, nil
}

func decodeRefuseReason(raw []byte) (RefuseReason, error) {
	items, err := Array(raw, -1, true)
	if err != nil {
		return RefuseReason{}, err
	}
	kind, err := Tag(items)
	if err != nil {
		return RefuseReason{}, err
	}
	switch {
	case kind == 0 && len(items) == 2:
		vs, err := Array(items[1], -1, false)
		if err != nil {
			return RefuseReason{}, err
		}
		r := RefuseReason{Kind: RefuseVersionMismatch, Versions: []uint64{}}
		for _, v := range vs {
			n, err := Uint(v, math.MaxUint64)
			if err != nil {
				// Haskell keeps unknown version numbers out of the list.
				continue
			}
			r.Versions = append(r.Versions, n)
		}
		return r, nil
	case (kind == 1 || kind == 2) && len(items) == 3:
		v, err := Uint(items[1], math.MaxUint64)
		if err != nil {
			return RefuseReason{}, err
		}
		msg, err := Text(items[2])
		if err != nil {
			return RefuseReason{}, err
		}
		return RefuseReason{Kind: RefuseKind(kind), Version: v, Message: msg}, nil
	}
	return RefuseReason{}, decodeErr("refuse reason %d with %d elements", kind, len(items))
}

// head reads the argument of a definite item head: the count of an array
// or map, the length of a string, the value of an integer.
func head(b []byte) (arg uint64, n int, err error) {
	if len(b) == 0 {
		return 0, 0, decodeErr("truncated item")
	}
	ai := b[0] & 0x1f
	switch {
	case ai < 24:
		return uint64(ai), 1, nil
	case ai > 27:
		return 0, 0, decodeErr("not a definite-length head")
	}
	n = 1 << (ai - 24)
	if len(b) < 1+n {
		return 0, 0, decodeErr("truncated item")
	}
	for _, c := range b[1 : 1+n] {
		arg = arg<<8 | uint64(c)
	}
	return arg, 1 + n, nil
}

// splitItem returns the first well-formed data item of b and its length.
func splitItem(b []byte) (Raw, int, error) { return newSplitter().split(b) }

// splitter cuts well-formed data items off the front of buffers. One
// serves every element of an array or map: its framer's stack is on the
// heap (the framer appends to it), and one per element made a list of
// small items cost a hundred times its size.
type splitter struct {
	f     framer
	stack [8]frame
}

func newSplitter() *splitter {
	s := new(splitter)
	s.f = framer{maxDepth: 32, stack: s.stack[:0]}
	return s
}

// split returns the first well-formed data item of b and its length.
func (s *splitter) split(b []byte) (Raw, int, error) {
	s.f.reset()
	n, err := s.f.scan(b)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	if n == 0 {
		return nil, 0, decodeErr("truncated item")
	}
	return Raw(b[:n]), n, nil
}
