package tracer

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/fxamacker/cbor/v2"

	"muninn/muxproto"
)

// Message is one of Request, Done and Reply.
type Message interface{ tag() uint64 }

// Request is MsgTraceObjectsRequest: [1, blocking, [0, count]].
type Request struct {
	Blocking bool
	Count    uint16
}

// Done is MsgDone: [2].
type Done struct{}

// Reply is MsgTraceObjectsReply: [3, list of TraceObject].
type Reply struct{ Objects []TraceObject }

func (Request) tag() uint64 { return tagRequest }
func (Done) tag() uint64    { return tagDone }
func (Reply) tag() uint64   { return tagReply }

var (
	// ErrEmptyReply: an empty reply to a blocking request, which Haskell's
	// codec rejects.
	ErrEmptyReply = errors.New("empty reply to a blocking request")
	// ErrTooManyObjects: a reply with more objects than requested.
	ErrTooManyObjects = errors.New("more objects than requested")
	// ErrUnexpectedMessage: a message not allowed in the protocol state.
	ErrUnexpectedMessage = errors.New("message not allowed in this state")
)

// step checks a message against the state table and returns the next state.
func step(s State, tag uint64, blocking bool) (State, error) {
	for _, t := range stateTable[s].allowed {
		if t.tag != tag {
			continue
		}
		if tag == tagRequest && (t.next == StBusyBlocking) != blocking {
			continue
		}
		return t.next, nil
	}
	return s, fmt.Errorf("%w: %w: tag %d in state %d", muxproto.ErrDecode, ErrUnexpectedMessage, tag, s)
}

// EncodeRequest encodes a request as Haskell writes it.
func EncodeRequest(r Request) []byte {
	b := muxproto.AppendArray(make([]byte, 0, 8), 3)
	b = muxproto.AppendUint(b, tagRequest)
	b = muxproto.AppendBool(b, r.Blocking)
	b = muxproto.AppendArray(b, 2)
	b = muxproto.AppendUint(b, 0)
	return muxproto.AppendUint(b, uint64(r.Count))
}

// EncodeDone encodes MsgDone.
func EncodeDone() []byte { return []byte{0x81, tagDone} }

// EncodeReply encodes a reply as Haskell writes it.
func EncodeReply(objs []TraceObject) []byte {
	b := appendReplyStart(nil, len(objs))
	for i := range objs {
		b = AppendTraceObject(b, &objs[i])
	}
	return muxproto.AppendListEnd(b, len(objs))
}

func appendReplyStart(b []byte, n int) []byte {
	b = muxproto.AppendArray(b, 2)
	b = muxproto.AppendUint(b, tagReply)
	return muxproto.AppendListStart(b, n)
}

// AppendTraceObject appends one encoded TraceObject.
func AppendTraceObject(b []byte, o *TraceObject) []byte {
	b = muxproto.AppendArray(b, 9)
	b = muxproto.AppendUint(b, 0)
	if o.HasHuman {
		b = muxproto.AppendText(muxproto.AppendArray(b, 1), o.Human)
	} else {
		b = muxproto.AppendArray(b, 0)
	}
	b = muxproto.AppendText(b, o.Machine)
	b = muxproto.AppendTextList(b, o.Namespace)
	b = muxproto.AppendUint(muxproto.AppendArray(b, 1), uint64(o.Severity))
	b = muxproto.AppendUint(muxproto.AppendArray(b, 1), uint64(o.Detail))
	b = AppendUTCTime(b, o.Timestamp)
	b = muxproto.AppendText(b, o.Hostname)
	return muxproto.AppendText(b, o.ThreadID)
}

// AppendUTCTime appends 1000({1: sec, -12: pico}).
func AppendUTCTime(b []byte, t UTCTime) []byte {
	b = muxproto.AppendHead(b, 6, 1000)
	b = muxproto.AppendHead(b, 5, 2)
	b = muxproto.AppendUint(b, 1)
	b = muxproto.AppendInt(b, t.Sec)
	b = muxproto.AppendInt(b, -12)
	return muxproto.AppendUint(b, t.Pico)
}

// DecodeRequest decodes what the forwarder receives: a Request or Done.
// The encodings an acceptor writes are read directly, byte by byte; any
// other input goes to DecodeRequestRef, which also produces every error.
// A forwarder decodes one request per reply; with a hundred nodes sending
// small replies the reference way (an allocation per element, the generic
// integer decoder) took about 6 % of the load generator's time.
func DecodeRequest(data []byte) (Message, error) {
	if m, ok := decodeRequestFast(data); ok {
		return m, nil
	}
	return DecodeRequestRef(data)
}

// decodeRequestFast accepts MsgDone ([2]) and MsgTraceObjectsRequest
// ([1, blocking, [0, count]]) with definite arrays in one-byte heads, the
// count in any width; it reports false for everything else.
func decodeRequestFast(b []byte) (Message, bool) {
	if len(b) == 2 && b[0] == 0x81 && b[1] == tagDone {
		return Done{}, true
	}
	if len(b) < 6 || b[0] != 0x83 || b[1] != tagRequest || b[2]&^1 != 0xf4 || b[3] != 0x82 || b[4] != 0x00 {
		return nil, false
	}
	r := fastReader{s: unsafe.String(unsafe.SliceData(b[5:]), len(b)-5)} // not kept
	n, ok := r.uint(math.MaxUint16)
	if !ok || r.off != len(r.s) {
		return nil, false
	}
	return Request{Blocking: b[2] == 0xf5, Count: uint16(n)}, true
}

// DecodeRequestRef is the reference decoder of what the forwarder
// receives, built on muxproto's strict decoders. DecodeRequest gives the
// same result faster.
func DecodeRequestRef(data []byte) (Message, error) {
	items, err := muxproto.Array(data, -1, true)
	if err != nil {
		return nil, err
	}
	tag, err := muxproto.Tag(items)
	if err != nil {
		return nil, err
	}
	switch {
	case tag == tagDone && len(items) == 1:
		return Done{}, nil
	case tag == tagRequest && len(items) == 3:
		blocking, err := muxproto.Bool(items[1])
		if err != nil {
			return nil, err
		}
		wrap, err := muxproto.Array(items[2], 2, true)
		if err != nil {
			return nil, err
		}
		if _, err := muxproto.Uint(wrap[0], 0); err != nil {
			return nil, err
		}
		n, err := muxproto.Uint(wrap[1], math.MaxUint16)
		if err != nil {
			return nil, err
		}
		return Request{Blocking: blocking, Count: uint16(n)}, nil
	}
	return nil, fmt.Errorf("%w: %w: tag %d with %d elements", muxproto.ErrDecode, ErrUnexpectedMessage, tag, len(items))
}

// DecodeReplyRef is the reference decoder of a reply, built on the shared
// strict fxamacker decode mode. DecodeReply gives the same result faster.
func DecodeReplyRef(data []byte) ([]TraceObject, error) {
	items, err := muxproto.Array(data, -1, true)
	if err != nil {
		return nil, err
	}
	tag, err := muxproto.Tag(items)
	if err != nil {
		return nil, err
	}
	if tag != tagReply || len(items) != 2 {
		return nil, fmt.Errorf("%w: %w: tag %d with %d elements", muxproto.ErrDecode, ErrUnexpectedMessage, tag, len(items))
	}
	list, err := muxproto.Array(items[1], -1, false)
	if err != nil {
		return nil, err
	}
	// Grown as objects decode, not sized from the list: a list of a
	// hundred thousand one-byte items that are not objects would
	// otherwise cost a hundred thousand objects' room before the first
	// fails.
	objs := make([]TraceObject, 0, min(len(list), 128))
	for i, raw := range list {
		var o TraceObject
		if err := decodeTraceObjectRef(raw, &o); err != nil {
			return nil, fmt.Errorf("trace object %d: %w", i, err)
		}
		objs = append(objs, o)
	}
	return objs, nil
}

func decodeTraceObjectRef(raw []byte, o *TraceObject) error {
	f, err := muxproto.Array(raw, 9, true)
	if err != nil {
		return err
	}
	if _, err := muxproto.Uint(f[0], 0); err != nil {
		return err
	}
	human, err := muxproto.Array(f[1], -1, true)
	if err != nil {
		return err
	}
	switch len(human) {
	case 0:
	case 1:
		if o.Human, err = muxproto.Text(human[0]); err != nil {
			return err
		}
		o.HasHuman = true
	default:
		return fmt.Errorf("%w: Maybe with %d elements", muxproto.ErrDecode, len(human))
	}
	if o.Machine, err = muxproto.Text(f[2]); err != nil {
		return err
	}
	if o.Namespace, err = muxproto.TextList(f[3]); err != nil {
		return err
	}
	sev, err := enumRef(f[4], uint64(Emergency))
	if err != nil {
		return err
	}
	o.Severity = Severity(sev)
	det, err := enumRef(f[5], uint64(DMaximum))
	if err != nil {
		return err
	}
	o.Detail = DetailLevel(det)
	if o.Timestamp, err = decodeUTCTimeRef(f[6]); err != nil {
		return err
	}
	if o.Hostname, err = muxproto.Text(f[7]); err != nil {
		return err
	}
	o.ThreadID, err = muxproto.Text(f[8])
	return err
}

// enumRef decodes a constructor without fields: a one-element array.
func enumRef(raw []byte, maxIndex uint64) (uint64, error) {
	items, err := muxproto.Array(raw, 1, true)
	if err != nil {
		return 0, err
	}
	return muxproto.Uint(items[0], maxIndex)
}

// decodeUTCTimeRef accepts what serialise's UTCTime decoder accepts: tag
// 1000 with a definite map {1: Int64, -12: Word64} in that order, tag 1
// with an integer or floating-point number of seconds, and tag 0 with
// RFC 3339 text.
func decodeUTCTimeRef(raw []byte) (UTCTime, error) {
	if len(raw) == 0 || raw[0]>>5 != 6 {
		return UTCTime{}, fmt.Errorf("%w: expected a tagged time", muxproto.ErrDecode)
	}
	var rt cbor.RawTag
	if err := muxproto.Unmarshal(raw, &rt); err != nil {
		return UTCTime{}, err
	}
	switch rt.Number {
	case 1000:
		entries, err := muxproto.MapEntries(rt.Content)
		if err != nil {
			return UTCTime{}, err
		}
		if len(entries) != 2 {
			return UTCTime{}, fmt.Errorf("%w: time map with %d entries", muxproto.ErrDecode, len(entries))
		}
		if k, err := muxproto.Int64(entries[0][0]); err != nil || k != 1 {
			return UTCTime{}, fmt.Errorf("%w: time map: first key must be 1", muxproto.ErrDecode)
		}
		sec, err := muxproto.Int64(entries[0][1])
		if err != nil {
			return UTCTime{}, err
		}
		if k, err := muxproto.Int64(entries[1][0]); err != nil || k != -12 {
			return UTCTime{}, fmt.Errorf("%w: time map: second key must be -12", muxproto.ErrDecode)
		}
		pico, err := muxproto.Uint(entries[1][1], math.MaxUint64)
		if err != nil {
			return UTCTime{}, err
		}
		return UTCTime{Sec: sec, Pico: pico}, nil
	case 1:
		return epochTime(rt.Content)
	case 0:
		s, err := muxproto.Text(rt.Content)
		if err != nil {
			return UTCTime{}, err
		}
		return parseRFC3339(s)
	}
	return UTCTime{}, fmt.Errorf("%w: time with tag %d", muxproto.ErrDecode, rt.Number)
}

// epochTime decodes the content of tag 1: an integer or a float.
func epochTime(raw []byte) (UTCTime, error) {
	if len(raw) > 0 && raw[0]>>5 <= 1 {
		sec, err := muxproto.Int64(raw)
		return UTCTime{Sec: sec}, err
	}
	if len(raw) == 0 || raw[0] < 0xf9 || raw[0] > 0xfb {
		return UTCTime{}, fmt.Errorf("%w: epoch time is not a number", muxproto.ErrDecode)
	}
	var f float64
	if err := muxproto.Unmarshal(raw, &f); err != nil {
		return UTCTime{}, err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f >= math.MaxInt64 || f < math.MinInt64 {
		return UTCTime{}, fmt.Errorf("%w: epoch time %v out of range", muxproto.ErrDecode, f)
	}
	sec := math.Floor(f)
	pico := math.Round((f - sec) * picosPerSecond)
	if pico >= picosPerSecond {
		pico = picosPerSecond - 1
	}
	return UTCTime{Sec: int64(sec), Pico: uint64(pico)}, nil
}

// parseRFC3339 parses the text form serialise accepts:
// YYYY-MM-DDTHH:MM:SS, an optional fraction of up to 12 digits, a zone.
func parseRFC3339(s string) (UTCTime, error) {
	bad := func() (UTCTime, error) {
		return UTCTime{}, fmt.Errorf("%w: could not parse RFC 3339 time %q", muxproto.ErrDecode, s)
	}
	const base = "2006-01-02T15:04:05"
	if len(s) < len(base) {
		return bad()
	}
	rest := s[len(base):]
	var pico uint64
	if strings.HasPrefix(rest, ".") {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		digits := rest[1:i]
		if len(digits) == 0 || len(digits) > 12 {
			return bad()
		}
		p, err := strconv.ParseUint(digits+strings.Repeat("0", 12-len(digits)), 10, 64)
		if err != nil {
			return bad()
		}
		pico, rest = p, rest[i:]
	}
	var loc *time.Location
	switch rest {
	case "Z", "UTC":
		loc = time.UTC
	default:
		z, err := time.Parse("-07:00", rest)
		if err != nil {
			if z, err = time.Parse("-0700", rest); err != nil {
				return bad()
			}
		}
		loc = z.Location()
	}
	t, err := time.ParseInLocation(base, s[:len(base)], loc)
	if err != nil {
		return bad()
	}
	return UTCTime{Sec: t.Unix(), Pico: pico}, nil
}
