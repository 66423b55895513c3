package ekg

import (
	"math"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// DecodeResponse decodes a message the acceptor receives in Busy: MsgResp,
// whose metrics it returns (never nil). Any other input is an error
// wrapping muxproto.ErrDecode.
//
// It copies the names into one string and the label texts into another,
// so a response costs at most three allocations however many metrics it
// holds, and nothing it returns refers to b. Input the fast path does not accept
// goes to DecodeResponseRef, which produces every error.
func DecodeResponse(b []byte) ([]Metric, error) {
	if ms, ok := decodeResponseFast(unsafe.String(unsafe.SliceData(b), len(b)), false); ok {
		return ms, nil
	}
	return DecodeResponseRef(b)
}

// decodeResponseOwned is DecodeResponse for a buffer that the caller hands
// over for good: nothing may write to b afterwards. The names then alias b
// instead of a copy of it. The label texts are still copied, into one
// string of their own, because a Store keeps label texts (and only them):
// a kept label pins that string, not the whole message. The acceptor uses
// it for the messages a Channel hands it, which the Mux never touches
// again.
func decodeResponseOwned(b []byte) ([]Metric, error) {
	if ms, ok := decodeResponseFast(unsafe.String(unsafe.SliceData(b), len(b)), true); ok {
		return ms, nil
	}
	return DecodeResponseRef(b)
}

// maxList mirrors the shared decode mode's MaxArrayElements, which
// muxproto.Array enforces on every list, definite or not.
const maxList = 1 << 17

// tagResp is the envelope tag of MsgResp, which MsgDone shares (as a
// one-element array).
const tagResp = 1

// decodeResponseFast accepts exactly the input DecodeResponseRef accepts
// and returns the same metrics; on anything else it reports false and the
// caller asks the reference decoder for the error. The first pass checks
// the whole message and counts; the second fills a slice of exactly that
// size. With owned set the names are substrings of s, which must then
// never change; otherwise they are copied.
func decodeResponseFast(s string, owned bool) ([]Metric, bool) {
	r := respReader{s: s}
	count, ok := r.start()
	if !ok {
		return nil, false
	}
	items := r.off
	sz, ok := r.check(count)
	if !ok {
		return nil, false
	}
	ms := make([]Metric, sz.metrics)
	var names, labels strings.Builder // their String does not copy
	labels.Grow(sz.labelBytes)
	if !owned {
		names.Grow(sz.nameBytes)
	}
	r.off = items
	for i := range ms {
		m, _ := r.metric() // checked by the first pass
		if !owned && m.Name != "" {
			names.WriteString(m.Name)
			all := names.String()
			m.Name = all[len(all)-len(m.Name):]
		}
		if m.Value.Kind == KindLabel && m.Value.Text != "" {
			labels.WriteString(m.Value.Text)
			all := labels.String()
			m.Value.Text = all[len(all)-len(m.Value.Text):]
		}
		ms[i] = m
	}
	return ms, true
}

// respReader reads the items of one message; every method reports false
// on input the reference decoder would reject.
type respReader struct {
	s   string
	off int
}

// definite reads a definite head of the given major type, in any width:
// an unsigned integer's value, an array's count, a string's length.
func (r *respReader) definite(major byte) (uint64, bool) {
	if r.off >= len(r.s) {
		return 0, false
	}
	ib := r.s[r.off]
	switch ai := ib & 0x1f; {
	case ib>>5 != major:
		return 0, false
	case ai < 24:
		r.off++
		return uint64(ai), true
	case ai > 27:
		return 0, false // reserved, or indefinite
	}
	w := 1 << (ib&0x1f - 24)
	if w >= len(r.s)-r.off {
		return 0, false
	}
	var n uint64
	for _, c := range []byte(r.s[r.off+1 : r.off+1+w]) {
		n = n<<8 | uint64(c)
	}
	r.off += 1 + w
	return n, true
}

// pair reads the head of a definite array of two items: a record with one
// field, a metric, a metric value.
func (r *respReader) pair() bool {
	n, ok := r.definite(4)
	return ok && n == 2
}

// text reads a definite text string without checking its UTF-8, which is
// the first pass's job. An empty text is "", so that it refers to nothing.
func (r *respReader) text() (string, bool) {
	n, ok := r.definite(3)
	if !ok || n > uint64(len(r.s)-r.off) {
		return "", false
	}
	if n == 0 {
		return "", true
	}
	s := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return s, true
}

// start reads the envelope [1, [0, list]] up to the list's head and
// returns its count, or -1 for an indefinite list.
func (r *respReader) start() (int, bool) {
	if !r.pair() {
		return 0, false
	}
	if tag, ok := r.definite(0); !ok || tag != tagResp {
		return 0, false
	}
	if !r.pair() {
		return 0, false
	}
	if tag, ok := r.definite(0); !ok || tag != 0 {
		return 0, false
	}
	if r.off < len(r.s) && r.s[r.off] == 0x9f {
		r.off++
		return -1, true
	}
	n, ok := r.definite(4)
	if !ok || n > maxList {
		return 0, false
	}
	return int(n), true
}

// metric reads the pair [name, value]; the value is [0, int], [1, int] or
// [2, text], the int signed 64-bit.
func (r *respReader) metric() (Metric, bool) {
	if !r.pair() {
		return Metric{}, false
	}
	name, ok := r.text()
	if !ok || !r.pair() {
		return Metric{}, false
	}
	k, ok := r.definite(0)
	if !ok {
		return Metric{}, false
	}
	switch k {
	case uint64(KindCounter), uint64(KindGauge):
		if r.off >= len(r.s) || r.s[r.off]>>5 > 1 {
			return Metric{}, false
		}
		major := r.s[r.off] >> 5 // 1: the value is -1 - n
		n, ok := r.definite(major)
		if !ok || n > math.MaxInt64 {
			return Metric{}, false
		}
		v := int64(n)
		if major == 1 {
			v = -1 - v
		}
		return Metric{Name: name, Value: Value{Kind: Kind(k), Int: v}}, true
	case uint64(KindLabel):
		t, ok := r.text()
		return Metric{Name: name, Value: Label(t)}, ok
	}
	return Metric{}, false
}

// sizes is what the first pass learns about a valid response.
type sizes struct {
	metrics    int
	nameBytes  int
	labelBytes int
}

// check reads the count items of the list (-1: up to the break), checking
// their UTF-8, and then the end of the message.
func (r *respReader) check(count int) (sizes, bool) {
	var sz sizes
	for {
		if count >= 0 {
			if count == 0 {
				break
			}
			count--
		} else if r.off < len(r.s) && r.s[r.off] == 0xff {
			r.off++
			break
		}
		if sz.metrics == maxList {
			return sizes{}, false
		}
		m, ok := r.metric()
		if !ok || !utf8.ValidString(m.Name) || !utf8.ValidString(m.Value.Text) {
			return sizes{}, false
		}
		sz.metrics++
		sz.nameBytes += len(m.Name)
		sz.labelBytes += len(m.Value.Text)
	}
	return sz, r.off == len(r.s)
}
