package muxproto

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/fxamacker/cbor/v2"
)

// decMode is the one strict decode mode for everything a peer sends:
// bounded nesting, array and map sizes, no duplicate map keys, valid UTF-8.
var decMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  32,
		MaxArrayElements: 1 << 17,
		MaxMapPairs:      1 << 12,
		IndefLength:      cbor.IndefLengthAllowed,
		TagsMd:           cbor.TagsAllowed,
		IntDec:           cbor.IntDecConvertNone,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("muxproto: invalid CBOR decode options: %v", err)) // constant input
	}
	return dm
}()

// DecMode returns the shared strict decode mode.
func DecMode() cbor.DecMode { return decMode }

// Raw is one encoded CBOR data item.
type Raw = cbor.RawMessage

func decodeErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrDecode, fmt.Sprintf(format, args...))
}

// Unmarshal decodes one complete item with the strict mode; trailing bytes
// are an error.
func Unmarshal(data []byte, v any) error {
	if err := decMode.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return nil
}

// maxArrayElements bounds the element count of any array a peer sends,
// as the shared decode mode does.
const maxArrayElements = 1 << 17

// Array splits an encoded array into its elements, which are sub-slices of
// raw. raw must be exactly one well-formed item. When definite is set an
// indefinite-length array is rejected, as Haskell's decoders do for
// records, sums, pairs and Maybe. want < 0 accepts any length.
func Array(raw []byte, want int, definite bool) ([]Raw, error) {
	if len(raw) == 0 || raw[0]>>5 != 4 {
		return nil, decodeErr("expected an array")
	}
	indef := raw[0] == 0x9f
	if definite && indef {
		return nil, decodeErr("expected a definite-length array")
	}
	n, rest := uint64(0), raw[1:]
	if !indef {
		var hl int
		var err error
		if n, hl, err = head(raw); err != nil {
			return nil, err
		}
		if n > maxArrayElements || n > uint64(len(raw)) {
			return nil, decodeErr("array of %d elements in %d bytes", n, len(raw))
		}
		rest = raw[hl:]
	}
	if want >= 0 && !indef && n != uint64(want) {
		return nil, decodeErr("expected %d elements, got %d", want, n)
	}
	items := make([]Raw, 0, n)
	sp := newSplitter()
	for i := 0; indef || uint64(i) < n; i++ {
		if indef && len(rest) > 0 && rest[0] == 0xff {
			rest = rest[1:]
			break
		}
		if len(items) == maxArrayElements {
			return nil, decodeErr("array of more than %d elements", maxArrayElements)
		}
		item, k, err := sp.split(rest)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		rest = rest[k:]
	}
	if len(rest) != 0 {
		return nil, decodeErr("%d bytes after the array", len(rest))
	}
	if want >= 0 && len(items) != want {
		return nil, decodeErr("expected %d elements, got %d", want, len(items))
	}
	return items, nil
}

// Uint decodes an unsigned integer of any width up to max.
func Uint(raw []byte, max uint64) (uint64, error) {
	if len(raw) == 0 || raw[0]>>5 != 0 {
		return 0, decodeErr("expected an unsigned integer")
	}
	var v uint64
	if err := Unmarshal(raw, &v); err != nil {
		return 0, err
	}
	if v > max {
		return 0, decodeErr("integer %d out of range", v)
	}
	return v, nil
}

// Int64 decodes a signed 64-bit integer (major type 0 or 1).
func Int64(raw []byte) (int64, error) {
	if len(raw) == 0 || raw[0]>>5 > 1 {
		return 0, decodeErr("expected an integer")
	}
	var v int64
	if err := Unmarshal(raw, &v); err != nil {
		return 0, err
	}
	return v, nil
}

// Text decodes a definite-length, valid UTF-8 text string.
func Text(raw []byte) (string, error) {
	if len(raw) == 0 || raw[0]>>5 != 3 || raw[0] == 0x7f {
		return "", decodeErr("expected a definite-length text string")
	}
	var s string
	if err := Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// Bool decodes true or false.
func Bool(raw []byte) (bool, error) {
	if len(raw) != 1 || (raw[0] != 0xf4 && raw[0] != 0xf5) {
		return false, decodeErr("expected a boolean")
	}
	return raw[0] == 0xf5, nil
}

// Tag decodes the envelope tag of a message: the first element of a
// definite array, a small unsigned integer.
func Tag(items []Raw) (uint64, error) {
	if len(items) == 0 {
		return 0, decodeErr("empty message array")
	}
	return Uint(items[0], math.MaxUint16)
}

// Encoding. Haskell's serialise writes shortest-form integers, definite
// lengths for records and sums, and indefinite lists when non-empty; these
// helpers append exactly that.

// AppendHead appends an item head of the given major type and argument in
// its shortest form.
func AppendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

// AppendUint appends an unsigned integer.
func AppendUint(b []byte, n uint64) []byte { return AppendHead(b, 0, n) }

// AppendInt appends a signed integer (major type 1 when negative).
func AppendInt(b []byte, n int64) []byte {
	if n < 0 {
		return AppendHead(b, 1, uint64(-(n + 1)))
	}
	return AppendHead(b, 0, uint64(n))
}

// AppendText appends a definite-length text string.
func AppendText(b []byte, s string) []byte {
	return append(AppendHead(b, 3, uint64(len(s))), s...)
}

// AppendArray appends a definite-length array head.
func AppendArray(b []byte, n int) []byte { return AppendHead(b, 4, uint64(n)) }

// AppendBool appends true or false.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xf5)
	}
	return append(b, 0xf4)
}

// AppendListStart appends the head of a Haskell list of n elements: 80 when
// empty, otherwise an indefinite array head 9f that AppendListEnd closes.
func AppendListStart(b []byte, n int) []byte {
	if n == 0 {
		return append(b, 0x80)
	}
	return append(b, 0x9f)
}

// AppendListEnd closes a list opened by AppendListStart for n elements.
func AppendListEnd(b []byte, n int) []byte {
	if n == 0 {
		return b
	}
	return append(b, 0xff)
}

// AppendTextList appends a Haskell list of texts.
func AppendTextList(b []byte, ss []string) []byte {
	b = AppendListStart(b, len(ss))
	for _, s := range ss {
		b = AppendText(b, s)
	}
	return AppendListEnd(b, len(ss))
}

// TextList decodes a Haskell list of texts (definite or indefinite).
func TextList(raw []byte) ([]string, error) {
	items, err := Array(raw, -1, false)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(items))
	for i, it := range items {
		if out[i], err = Text(it); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// MapEntries splits a definite-length map into its key/value pairs in wire
// order. Haskell decodes maps with decodeMapLen, which rejects indefinite
// maps.
func MapEntries(raw []byte) ([][2]Raw, error) {
	if len(raw) == 0 || raw[0]>>5 != 5 || raw[0] == 0xbf {
		return nil, decodeErr("expected a definite-length map")
	}
	n, hl, err := head(raw)
	if err != nil {
		return nil, err
	}
	if n > uint64(len(raw)/2) { // a key and a value take two bytes at least
		return nil, decodeErr("map of %d entries in %d bytes", n, len(raw))
	}
	rest := raw[hl:]
	out := make([][2]Raw, 0, n)
	sp := newSplitter()
	for range n {
		key, k, err := sp.split(rest)
		if err != nil {
			return nil, err
		}
		val, v, err := sp.split(rest[k:])
		if err != nil {
			return nil, err
		}
		rest = rest[k+v:]
		out = append(out, [2]Raw{key, val})
	}
	if len(rest) != 0 {
		return nil, decodeErr("%d bytes after the map", len(rest))
	}
	return out, nil
}
