package ekg

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"muninn/muxproto"
)

// Kind is the type of a metric value, numbered as the CBOR constructor
// index of ekg-forward's MetricValue.
type Kind uint8

// The metric kinds. EKG distributions are never forwarded.
const (
	KindCounter Kind = 0 // signed 64-bit, [0, int]
	KindGauge   Kind = 1 // signed 64-bit, may be negative, [1, int]
	KindLabel   Kind = 2 // text, [2, text]
)

func (k Kind) String() string {
	switch k {
	case KindCounter:
		return "counter"
	case KindGauge:
		return "gauge"
	case KindLabel:
		return "label"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Value is one metric value: Int for counters and gauges, Text for labels.
// The field the Kind does not use is zero in decoded values and ignored
// when encoding, so decoded values compare with ==.
type Value struct {
	Kind Kind
	Int  int64
	Text string
}

// Counter returns a counter value.
func Counter(n int64) Value { return Value{Kind: KindCounter, Int: n} }

// Gauge returns a gauge value.
func Gauge(n int64) Value { return Value{Kind: KindGauge, Int: n} }

// Label returns a label value.
func Label(s string) Value { return Value{Kind: KindLabel, Text: s} }

func (v Value) String() string {
	if v.Kind == KindLabel {
		return strconv.Quote(v.Text)
	}
	return strconv.FormatInt(v.Int, 10)
}

// Metric is one named value, as a pair (name, value) on the wire.
type Metric struct {
	Name  string
	Value Value
}

// RequestKind selects what a request asks for, numbered as the CBOR
// constructor index of ekg-forward's Request.
type RequestKind uint8

// The request kinds (PROTOCOL.md §8.2).
const (
	GetAllMetrics     RequestKind = 0 // [0]: everything
	GetMetrics        RequestKind = 1 // [1, names]: only the named metrics
	GetUpdatedMetrics RequestKind = 2 // [2]: what changed since the last response
)

func (k RequestKind) String() string {
	switch k {
	case GetAllMetrics:
		return "GetAllMetrics"
	case GetMetrics:
		return "GetMetrics"
	case GetUpdatedMetrics:
		return "GetUpdatedMetrics"
	}
	return fmt.Sprintf("RequestKind(%d)", uint8(k))
}

// Request is what the acceptor asks for. Names is used by GetMetrics only,
// where it must not be empty (a NonEmpty list in Haskell).
type Request struct {
	Kind  RequestKind
	Names []string
}

// Validate reports whether Haskell can represent r: a known kind, names
// for GetMetrics and only for it. The error wraps ErrInvalidRequest.
func (r Request) Validate() error {
	switch r.Kind {
	case GetMetrics:
		if len(r.Names) == 0 {
			return fmt.Errorf("%w: GetMetrics without names", ErrInvalidRequest)
		}
	case GetAllMetrics, GetUpdatedMetrics:
		if len(r.Names) != 0 {
			return fmt.Errorf("%w: names given to %v", ErrInvalidRequest, r.Kind)
		}
	default:
		return fmt.Errorf("%w: unknown kind %d", ErrInvalidRequest, uint8(r.Kind))
	}
	return nil
}

// Message is one EKG message: MsgReq, MsgResp or MsgDone.
type Message interface {
	// AppendCBOR appends the message as Haskell writes it.
	AppendCBOR(b []byte) []byte
	msgType() msgType
}

// MsgReq is [0, request], sent by the acceptor in Idle.
type MsgReq struct{ Request Request }

// MsgResp is [1, [0, list of [name, value]]], sent by the forwarder in Busy.
type MsgResp struct{ Metrics []Metric }

// MsgDone is [1], sent by the acceptor in Idle; it ends the protocol and,
// in Haskell, the whole connection.
type MsgDone struct{}

func (MsgReq) msgType() msgType  { return msgReq }
func (MsgResp) msgType() msgType { return msgResp }
func (MsgDone) msgType() msgType { return msgDone }

// Encode returns the encoding of msg.
func Encode(msg Message) []byte { return msg.AppendCBOR(nil) }

// AppendCBOR appends [0, request]. It writes the request as given; see
// Request.Validate for what Haskell can decode.
func (m MsgReq) AppendCBOR(b []byte) []byte {
	b = muxproto.AppendArray(b, 2)
	b = muxproto.AppendUint(b, 0)
	r := m.Request
	if r.Kind == GetMetrics {
		b = muxproto.AppendArray(b, 2)
		b = muxproto.AppendUint(b, uint64(r.Kind))
		return muxproto.AppendTextList(b, r.Names)
	}
	b = muxproto.AppendArray(b, 1)
	return muxproto.AppendUint(b, uint64(r.Kind))
}

// AppendCBOR appends [1, [0, list]], the list holding one [name, value]
// pair per metric in order.
func (m MsgResp) AppendCBOR(b []byte) []byte {
	size := 6
	for _, mt := range m.Metrics {
		size += len(mt.Name) + len(mt.Value.Text) + 2*9 + 3
	}
	b = slices.Grow(b, size)
	b = muxproto.AppendArray(b, 2)
	b = muxproto.AppendUint(b, 1)
	b = muxproto.AppendArray(b, 2)
	b = muxproto.AppendUint(b, 0)
	b = muxproto.AppendListStart(b, len(m.Metrics))
	for _, mt := range m.Metrics {
		b = muxproto.AppendArray(b, 2)
		b = muxproto.AppendText(b, mt.Name)
		b = appendValue(b, mt.Value)
	}
	return muxproto.AppendListEnd(b, len(m.Metrics))
}

// AppendCBOR appends [1].
func (MsgDone) AppendCBOR(b []byte) []byte {
	b = muxproto.AppendArray(b, 1)
	return muxproto.AppendUint(b, 1)
}

func appendValue(b []byte, v Value) []byte {
	b = muxproto.AppendArray(b, 2)
	b = muxproto.AppendUint(b, uint64(v.Kind))
	if v.Kind == KindLabel {
		return muxproto.AppendText(b, v.Text)
	}
	return muxproto.AppendInt(b, v.Int)
}

// DecodeRequest decodes a message the forwarder receives in Idle: MsgReq
// or MsgDone. Any other input is an error wrapping muxproto.ErrDecode.
func DecodeRequest(b []byte) (Message, error) {
	return decode(b, StateIdle)
}

// DecodeResponseRef is the reference decoder of a message the acceptor
// receives in Busy, built on the shared strict fxamacker decode mode.
// DecodeResponse gives the same result faster.
func DecodeResponseRef(b []byte) ([]Metric, error) {
	msg, err := decode(b, StateBusy)
	if err != nil {
		return nil, err
	}
	return msg.(MsgResp).Metrics, nil
}

func decodeErr(format string, args ...any) error {
	return fmt.Errorf("%w: ekg: %s", muxproto.ErrDecode, fmt.Sprintf(format, args...))
}

// decode decodes the envelope, checks that the message is allowed in state
// st, then decodes its body. Like Haskell's codec it tells MsgResp and
// MsgDone (both tag 1) apart by length and state.
func decode(b []byte, st State) (Message, error) {
	items, err := muxproto.Array(b, -1, true)
	if err != nil {
		return nil, err
	}
	tag, err := muxproto.Tag(items)
	if err != nil {
		return nil, err
	}
	var t msgType
	switch {
	case tag == 0 && len(items) == 2:
		t = msgReq
	case tag == 1 && len(items) == 2:
		t = msgResp
	case tag == 1 && len(items) == 1:
		t = msgDone
	default:
		return nil, decodeErr("unknown message: tag %d with %d elements", tag, len(items))
	}
	if _, ok := st.next(t); !ok {
		return nil, decodeErr("%v not allowed in state %v", t, st)
	}
	switch t {
	case msgReq:
		req, err := decodeRequestBody(items[1])
		if err != nil {
			return nil, err
		}
		return MsgReq{Request: req}, nil
	case msgResp:
		ms, err := decodeResponseBody(items[1])
		if err != nil {
			return nil, err
		}
		return MsgResp{Metrics: ms}, nil
	case msgDone:
	}
	return MsgDone{}, nil
}

// decodeRequestBody decodes a generic sum: [0], [1, names], [2].
func decodeRequestBody(raw []byte) (Request, error) {
	items, err := muxproto.Array(raw, -1, true)
	if err != nil {
		return Request{}, err
	}
	tag, err := muxproto.Tag(items)
	if err != nil {
		return Request{}, err
	}
	switch k := RequestKind(min(tag, math.MaxUint8)); k {
	case GetAllMetrics, GetUpdatedMetrics:
		if len(items) != 1 {
			return Request{}, decodeErr("%v with %d elements", k, len(items))
		}
		return Request{Kind: k}, nil
	case GetMetrics:
		if len(items) != 2 {
			return Request{}, decodeErr("GetMetrics with %d elements", len(items))
		}
		names, err := muxproto.TextList(items[1])
		if err != nil {
			return Request{}, err
		}
		if len(names) == 0 {
			return Request{}, decodeErr("GetMetrics with an empty name list")
		}
		return Request{Kind: GetMetrics, Names: names}, nil
	}
	return Request{}, decodeErr("unknown request %d", tag)
}

// decodeResponseBody decodes the one-field record [0, list of pairs].
func decodeResponseBody(raw []byte) ([]Metric, error) {
	items, err := muxproto.Array(raw, 2, true)
	if err != nil {
		return nil, err
	}
	tag, err := muxproto.Tag(items)
	if err != nil {
		return nil, err
	}
	if tag != 0 {
		return nil, decodeErr("response constructor %d", tag)
	}
	list, err := muxproto.Array(items[1], -1, false)
	if err != nil {
		return nil, err
	}
	ms := make([]Metric, len(list))
	for i, it := range list {
		if ms[i], err = decodeMetric(it); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// decodeMetric decodes the pair [name, value].
func decodeMetric(raw []byte) (Metric, error) {
	pair, err := muxproto.Array(raw, 2, true)
	if err != nil {
		return Metric{}, err
	}
	name, err := muxproto.Text(pair[0])
	if err != nil {
		return Metric{}, err
	}
	v, err := decodeValue(pair[1])
	if err != nil {
		return Metric{}, fmt.Errorf("metric %q: %w", name, err)
	}
	return Metric{Name: name, Value: v}, nil
}

// decodeValue decodes a MetricValue: [0, int], [1, int] or [2, text].
func decodeValue(raw []byte) (Value, error) {
	items, err := muxproto.Array(raw, 2, true)
	if err != nil {
		return Value{}, err
	}
	tag, err := muxproto.Tag(items)
	if err != nil {
		return Value{}, err
	}
	switch k := Kind(min(tag, math.MaxUint8)); k {
	case KindCounter, KindGauge:
		n, err := muxproto.Int64(items[1])
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: k, Int: n}, nil
	case KindLabel:
		s, err := muxproto.Text(items[1])
		if err != nil {
			return Value{}, err
		}
		return Label(s), nil
	}
	return Value{}, decodeErr("unknown metric value constructor %d", tag)
}
