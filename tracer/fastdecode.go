package tracer

import (
	"math"
	"unicode/utf8"
	"unsafe"
)

// DecodeReply decodes a MsgTraceObjectsReply. It copies the message into
// one string and slices every text field out of it, so a reply costs a few
// allocations however many objects it holds. Input outside the common
// shape (a tag-0 or tag-1 time, say) goes to DecodeReplyRef, which also
// produces every error.
func DecodeReply(data []byte) ([]TraceObject, error) {
	if objs, ok := decodeReplyFast(string(data), len(data), nil); ok {
		return objs, nil
	}
	return DecodeReplyRef(data)
}

// DecodeReplyInPlace is DecodeReply without the copy: the text fields of
// the objects it returns (Human, Machine, Namespace, Hostname, ThreadID)
// alias data itself, which saves copying every reply.
//
// The ownership rule: data must stay untouched, neither written to nor
// given back with muxproto.ReleaseMessage, until none of the returned
// objects (nor any string taken from them) is used any more; after that the
// caller may reuse it. Writing to data earlier silently changes strings
// that Go treats as immutable. The acceptor uses it for the messages a Mux
// hands it, and releases each only once its batch has been written.
func DecodeReplyInPlace(data []byte) ([]TraceObject, error) {
	return decodeReplyInto(data, nil)
}

// decodeReplyInto is DecodeReplyInPlace putting the objects in dst's
// memory when it has room for them (dst's contents are overwritten).
func decodeReplyInto(data []byte, dst []TraceObject) ([]TraceObject, error) {
	if objs, ok := decodeReplyFast(unsafe.String(unsafe.SliceData(data), len(data)), len(data), dst); ok {
		return objs, nil
	}
	return DecodeReplyRef(data)
}

// maxArray mirrors the shared decode mode's MaxArrayElements.
const maxArray = 1 << 17

type fastReader struct {
	s   string
	off int
}

// head reads an item head. indef reports ai 31; arg is then 0.
func (r *fastReader) head() (major byte, arg uint64, indef, ok bool) {
	if r.off >= len(r.s) {
		return 0, 0, false, false
	}
	ib := r.s[r.off]
	major, ai := ib>>5, ib&0x1f
	switch {
	case ai < 24:
		r.off++
		return major, uint64(ai), false, true
	case ai <= 27:
		n := 1 << (ai - 24)
		if r.off+1+n > len(r.s) {
			return 0, 0, false, false
		}
		for i := r.off + 1; i <= r.off+n; i++ {
			arg = arg<<8 | uint64(r.s[i])
		}
		r.off += 1 + n
		return major, arg, false, true
	case ai == 31:
		r.off++
		return major, 0, true, true
	}
	return 0, 0, false, false
}

func (r *fastReader) definite(major byte) (uint64, bool) {
	m, arg, indef, ok := r.head()
	return arg, ok && m == major && !indef
}

func (r *fastReader) uint(max uint64) (uint64, bool) {
	v, ok := r.definite(0)
	return v, ok && v <= max
}

func (r *fastReader) int64() (int64, bool) {
	m, arg, indef, ok := r.head()
	if !ok || indef || m > 1 || arg > math.MaxInt64 {
		return 0, false
	}
	if m == 1 {
		return -1 - int64(arg), true
	}
	return int64(arg), true
}

func (r *fastReader) text() (string, bool) {
	n, ok := r.definite(3)
	if !ok || n > uint64(len(r.s)-r.off) {
		return "", false
	}
	s := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return s, utf8.ValidString(s)
}

// list reads the head of a Haskell list: definite (count known) or
// indefinite (count -1).
func (r *fastReader) list() (int, bool) {
	m, arg, indef, ok := r.head()
	switch {
	case !ok || m != 4:
		return 0, false
	case indef:
		return -1, true
	case arg > maxArray:
		return 0, false
	}
	return int(arg), true
}

// more reports whether another list element follows, consuming the break
// of an indefinite list.
func (r *fastReader) more(count *int) bool {
	if *count >= 0 {
		if *count == 0 {
			return false
		}
		*count--
		return true
	}
	if r.off < len(r.s) && r.s[r.off] == 0xff {
		r.off++
		return false
	}
	return true
}

func (r *fastReader) enum(max uint64) (uint64, bool) {
	if n, ok := r.definite(4); !ok || n != 1 {
		return 0, false
	}
	return r.uint(max)
}

// decodeReplyFast decodes the common shape of a reply, into dst's memory
// when it has room for the objects the reply announces (or, for a list
// of unstated length, for the objects its size suggests).
func decodeReplyFast(s string, size int, dst []TraceObject) ([]TraceObject, bool) {
	r := fastReader{s: s}
	if n, ok := r.definite(4); !ok || n != 2 {
		return nil, false
	}
	if tag, ok := r.uint(math.MaxUint16); !ok || tag != tagReply {
		return nil, false
	}
	count, ok := r.list()
	if !ok {
		return nil, false
	}
	hint := count
	if hint < 0 || hint > size/32 {
		hint = size / 400
	}
	objs := dst[:0]
	// Not nil even with no room wanted: an empty reply decodes to an
	// empty list, as with the reference decoder.
	if objs == nil || cap(objs) < hint {
		objs = make([]TraceObject, 0, hint)
	}
	names := make([]string, 0, hint)
	for seen := 0; r.more(&count); seen++ {
		if seen == maxArray || r.off >= len(r.s) {
			return nil, false
		}
		objs = append(objs, TraceObject{})
		if names, ok = r.object(&objs[len(objs)-1], names); !ok {
			return nil, false
		}
	}
	return objs, r.off == len(r.s)
}

// object reads one TraceObject; namespace segments are appended to names
// and the object's Namespace is a capped sub-slice of it.
func (r *fastReader) object(o *TraceObject, names []string) ([]string, bool) {
	var ok bool
	if n, ok := r.definite(4); !ok || n != 9 {
		return names, false
	}
	if c, ok := r.uint(0); !ok || c != 0 {
		return names, false
	}
	switch n, ok := r.definite(4); {
	case !ok || n > 1:
		return names, false
	case n == 1:
		if o.Human, ok = r.text(); !ok {
			return names, false
		}
		o.HasHuman = true
	}
	if o.Machine, ok = r.text(); !ok {
		return names, false
	}
	count, ok := r.list()
	if !ok {
		return names, false
	}
	start := len(names)
	for seen := 0; r.more(&count); seen++ {
		if seen == maxArray {
			return names, false
		}
		s, ok := r.text()
		if !ok {
			return names, false
		}
		names = append(names, s)
	}
	o.Namespace = names[start:len(names):len(names)]
	sev, ok := r.enum(uint64(Emergency))
	if !ok {
		return names, false
	}
	o.Severity = Severity(sev)
	det, ok := r.enum(uint64(DMaximum))
	if !ok {
		return names, false
	}
	o.Detail = DetailLevel(det)
	if o.Timestamp, ok = r.time(); !ok {
		return names, false
	}
	if o.Hostname, ok = r.text(); !ok {
		return names, false
	}
	o.ThreadID, ok = r.text()
	return names, ok
}

// time reads the tag-1000 form only; the others go the reference way.
func (r *fastReader) time() (UTCTime, bool) {
	if tag, ok := r.definite(6); !ok || tag != 1000 {
		return UTCTime{}, false
	}
	if n, ok := r.definite(5); !ok || n != 2 {
		return UTCTime{}, false
	}
	if k, ok := r.int64(); !ok || k != 1 {
		return UTCTime{}, false
	}
	sec, ok := r.int64()
	if !ok {
		return UTCTime{}, false
	}
	if k, ok := r.int64(); !ok || k != -12 {
		return UTCTime{}, false
	}
	pico, ok := r.uint(math.MaxUint64)
	return UTCTime{Sec: sec, Pico: pico}, ok
}
