package datapoint

import (
	"encoding/binary"
	"fmt"
	"math"

	"muninn/muxproto"
)

// Item is one entry of a reply: a name and, when Present, the JSON value
// the node holds under it. Present distinguishes Nothing (80) from a value
// that is present but empty (81 5f ff); a decoded empty value is a
// non-nil empty slice. Value is ignored when Present is false.
type Item struct {
	Name    string
	Value   []byte
	Present bool
}

// Message is a DataPoint message: MsgRequest, MsgDone or MsgReply.
type Message interface {
	// Append appends the message's encoding, byte for byte as Haskell
	// writes it, to b.
	Append(b []byte) []byte
	tag() uint64
}

// MsgRequest asks for the values of Names, in order. The list may be
// empty: cardano-tracer opens the protocol with an empty request.
type MsgRequest struct {
	Names []string
}

// MsgDone ends the protocol, and with it (on the Haskell side) the whole
// connection.
type MsgDone struct{}

// MsgReply answers a MsgRequest with one item per requested name.
type MsgReply struct {
	Items []Item
}

func (MsgRequest) tag() uint64 { return tagRequest }
func (MsgDone) tag() uint64    { return tagDone }
func (MsgReply) tag() uint64   { return tagReply }

// Append encodes [1, names] with the list as Haskell writes it.
func (m MsgRequest) Append(b []byte) []byte {
	b = muxproto.AppendArray(b, 2)
	b = muxproto.AppendUint(b, tagRequest)
	return muxproto.AppendTextList(b, m.Names)
}

// Append encodes [2].
func (MsgDone) Append(b []byte) []byte {
	b = muxproto.AppendArray(b, 1)
	return muxproto.AppendUint(b, tagDone)
}

// Append encodes [3, [* [name, value]]]. A present value is written as
// one indefinite byte string with a single chunk (5f ff when empty).
func (m MsgReply) Append(b []byte) []byte {
	b = muxproto.AppendArray(b, 2)
	b = muxproto.AppendUint(b, tagReply)
	b = muxproto.AppendListStart(b, len(m.Items))
	for _, it := range m.Items {
		b = muxproto.AppendArray(b, 2)
		b = muxproto.AppendText(b, it.Name)
		b = appendValue(b, it)
	}
	return muxproto.AppendListEnd(b, len(m.Items))
}

// appendValue appends Maybe (lazy ByteString): 80, or 81 5f chunk ff.
func appendValue(b []byte, it Item) []byte {
	if !it.Present {
		return muxproto.AppendArray(b, 0)
	}
	b = muxproto.AppendArray(b, 1)
	b = append(b, 0x5f)
	if len(it.Value) > 0 {
		b = muxproto.AppendHead(b, 2, uint64(len(it.Value)))
		b = append(b, it.Value...)
	}
	return append(b, 0xff)
}

// Encode returns the encoding of m.
func Encode(m Message) []byte { return m.Append(nil) }

// envelope splits a message into its elements and returns its tag. The
// envelope must be a definite array.
func envelope(b []byte) (uint64, []muxproto.Raw, error) {
	items, err := muxproto.Array(b, -1, true)
	if err != nil {
		return 0, nil, err
	}
	tag, err := muxproto.Tag(items)
	if err != nil {
		return 0, nil, err
	}
	return tag, items, nil
}

func wantLen(items []muxproto.Raw, n int, what string) error {
	if len(items) != n {
		return fmt.Errorf("%w: %s with %d elements, want %d", muxproto.ErrDecode, what, len(items), n)
	}
	return nil
}

// DecodeRequest decodes a message the node receives: a MsgRequest or a
// MsgDone. Errors wrap muxproto.ErrDecode.
func DecodeRequest(b []byte) (Message, error) {
	tag, items, err := envelope(b)
	if err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	switch tag {
	case tagRequest:
		if err := wantLen(items, 2, "MsgDataPointsRequest"); err != nil {
			return nil, fmt.Errorf("decode request: %w", err)
		}
		names, err := muxproto.TextList(items[1])
		if err != nil {
			return nil, fmt.Errorf("decode request names: %w", err)
		}
		return MsgRequest{Names: names}, nil
	case tagDone:
		if err := wantLen(items, 1, "MsgDone"); err != nil {
			return nil, fmt.Errorf("decode request: %w", err)
		}
		return MsgDone{}, nil
	}
	return nil, fmt.Errorf("%w: decode request: unexpected tag %d", muxproto.ErrDecode, tag)
}

// DecodeReply decodes a MsgDataPointsReply, the only message the acceptor
// receives, and returns its items. Lists may be definite or indefinite; a
// value must be an indefinite byte string of any number of definite
// chunks, which are concatenated. Errors wrap muxproto.ErrDecode.
func DecodeReply(b []byte) ([]Item, error) {
	tag, items, err := envelope(b)
	if err != nil {
		return nil, fmt.Errorf("decode reply: %w", err)
	}
	if tag != tagReply {
		return nil, fmt.Errorf("%w: decode reply: unexpected tag %d", muxproto.ErrDecode, tag)
	}
	if err := wantLen(items, 2, "MsgDataPointsReply"); err != nil {
		return nil, fmt.Errorf("decode reply: %w", err)
	}
	list, err := muxproto.Array(items[1], -1, false)
	if err != nil {
		return nil, fmt.Errorf("decode reply list: %w", err)
	}
	out := make([]Item, len(list))
	for i, raw := range list {
		if out[i], err = decodeItem(raw); err != nil {
			return nil, fmt.Errorf("decode reply item %d: %w", i, err)
		}
	}
	return out, nil
}

// decodeItem decodes one [name, Maybe bytes] pair.
func decodeItem(raw []byte) (Item, error) {
	pair, err := muxproto.Array(raw, 2, true)
	if err != nil {
		return Item{}, err
	}
	name, err := muxproto.Text(pair[0])
	if err != nil {
		return Item{}, fmt.Errorf("name: %w", err)
	}
	maybe, err := muxproto.Array(pair[1], -1, true)
	if err != nil {
		return Item{}, fmt.Errorf("value: %w", err)
	}
	switch len(maybe) {
	case 0:
		return Item{Name: name}, nil
	case 1:
		v, err := indefiniteBytes(maybe[0])
		if err != nil {
			return Item{}, fmt.Errorf("value of %q: %w", name, err)
		}
		return Item{Name: name, Value: v, Present: true}, nil
	}
	return Item{}, fmt.Errorf("%w: value of %q: Maybe with %d elements", muxproto.ErrDecode, name, len(maybe))
}

// indefiniteBytes decodes a lazy ByteString: an indefinite-length byte
// string (5f) whose chunks are definite byte strings, ended by ff. A
// definite byte string is rejected, as Haskell does. The result is never
// nil.
func indefiniteBytes(raw []byte) ([]byte, error) {
	if len(raw) == 0 || raw[0] != 0x5f {
		return nil, fmt.Errorf("%w: expected an indefinite-length byte string", muxproto.ErrDecode)
	}
	out := []byte{}
	i := 1
	for {
		if i >= len(raw) {
			return nil, fmt.Errorf("%w: unterminated byte string", muxproto.ErrDecode)
		}
		if raw[i] == 0xff {
			i++
			break
		}
		if raw[i]>>5 != 2 || raw[i]&0x1f == 31 {
			return nil, fmt.Errorf("%w: byte string chunk is not a definite byte string", muxproto.ErrDecode)
		}
		n, hl, err := head(raw[i:])
		if err != nil {
			return nil, err
		}
		i += hl
		if n > uint64(len(raw)-i) {
			return nil, fmt.Errorf("%w: truncated byte string chunk", muxproto.ErrDecode)
		}
		out = append(out, raw[i:i+int(n)]...)
		i += int(n)
	}
	if i != len(raw) {
		return nil, fmt.Errorf("%w: bytes after the byte string", muxproto.ErrDecode)
	}
	return out, nil
}

// head reads the argument of a definite item head at the start of b, in
// any width, and returns it with the head's length.
func head(b []byte) (uint64, int, error) {
	ai := b[0] & 0x1f
	switch {
	case ai < 24:
		return uint64(ai), 1, nil
	case ai > 27:
		return 0, 0, fmt.Errorf("%w: reserved item head 0x%02x", muxproto.ErrDecode, b[0])
	}
	size := 1 << (ai - 24) // 1, 2, 4 or 8 bytes
	if len(b) < 1+size {
		return 0, 0, fmt.Errorf("%w: truncated item head", muxproto.ErrDecode)
	}
	var n uint64
	switch size {
	case 1:
		n = uint64(b[1])
	case 2:
		n = uint64(binary.BigEndian.Uint16(b[1:]))
	case 4:
		n = uint64(binary.BigEndian.Uint32(b[1:]))
	default:
		n = binary.BigEndian.Uint64(b[1:])
	}
	if n > math.MaxInt {
		return 0, 0, fmt.Errorf("%w: length %d out of range", muxproto.ErrDecode, n)
	}
	return n, 1 + size, nil
}
