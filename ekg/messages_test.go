package ekg_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"muninn/ekg"
	"muninn/muxproto"
)

// vector is one message as Haskell writes it (PROTOCOL.md §11.5).
type vector struct {
	name string
	hex  string
	msg  ekg.Message
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

var vectors = []vector{
	{"T17 GetAllMetrics", "82008100", ekg.MsgReq{Request: ekg.Request{Kind: ekg.GetAllMetrics}}},
	{"T18 GetUpdatedMetrics", "82008102", ekg.MsgReq{Request: ekg.Request{Kind: ekg.GetUpdatedMetrics}}},
	{
		"T19 GetMetrics",
		"820082019f6c4d656d2e7265736964656e746e7274732e67632e6e756d5f676373ff",
		ekg.MsgReq{Request: ekg.Request{Kind: ekg.GetMetrics, Names: []string{"Mem.resident", "rts.gc.num_gcs"}}},
	},
	{
		"T20 counter gauge label",
		"820182009f826e7274732e67632e6e756d5f6763738200182a826c4d656d2e7265736964656e7482011a075bcd15826c6e6f64652e76657273696f6e82026631302e312e34ff",
		ekg.MsgResp{Metrics: []ekg.Metric{
			{Name: "rts.gc.num_gcs", Value: ekg.Counter(42)},
			{Name: "Mem.resident", Value: ekg.Gauge(123456789)},
			{Name: "node.version", Value: ekg.Label("10.1.4")},
		}},
	},
	{"T21 empty response", "8201820080", ekg.MsgResp{Metrics: []ekg.Metric{}}},
	{"T22 negative gauge", "820182009f826167820124ff", ekg.MsgResp{Metrics: []ekg.Metric{{Name: "g", Value: ekg.Gauge(-5)}}}},
	{"T23 MsgDone", "8101", ekg.MsgDone{}},
}

// decodeAs decodes b with the decoder for the direction msg travels in;
// responses go through every response decoder, which must agree.
func decodeAs(t testing.TB, msg ekg.Message, b []byte) (ekg.Message, error) {
	t.Helper()
	if _, ok := msg.(ekg.MsgResp); ok {
		ms, err := decodeResponseAll(t, b)
		if err != nil {
			return nil, err
		}
		return ekg.MsgResp{Metrics: ms}, nil
	}
	return ekg.DecodeRequest(b)
}

func TestVectors(t *testing.T) {
	t.Parallel()
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			want := unhex(t, v.hex)
			if got := ekg.Encode(v.msg); !bytes.Equal(got, want) {
				t.Errorf("encode:\n got %x\nwant %x", got, want)
			}
			got, err := decodeAs(t, v.msg, want)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, v.msg) {
				t.Errorf("decode:\n got %#v\nwant %#v", got, v.msg)
			}
		})
	}
}

// TestEncodeEdges checks encodings not covered by the vectors: integer
// widths at the extremes and an empty label.
func TestEncodeEdges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hex  string
		msg  ekg.Message
	}{
		{"max counter", "820182009f8261638200 1b7fffffffffffffff ff",
			ekg.MsgResp{Metrics: []ekg.Metric{{Name: "c", Value: ekg.Counter(math.MaxInt64)}}}},
		{"min gauge", "820182009f8261678201 3b7fffffffffffffff ff",
			ekg.MsgResp{Metrics: []ekg.Metric{{Name: "g", Value: ekg.Gauge(math.MinInt64)}}}},
		{"gauge -24 and -25", "820182009f826161820137 826162820138 18 ff",
			ekg.MsgResp{Metrics: []ekg.Metric{{Name: "a", Value: ekg.Gauge(-24)}, {Name: "b", Value: ekg.Gauge(-25)}}}},
		{"empty label and name", "820182009f8260820260ff",
			ekg.MsgResp{Metrics: []ekg.Metric{{Name: "", Value: ekg.Label("")}}}},
		{"one name", "820082019f6161ff",
			ekg.MsgReq{Request: ekg.Request{Kind: ekg.GetMetrics, Names: []string{"a"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := unhex(t, tt.hex)
			if got := ekg.Encode(tt.msg); !bytes.Equal(got, want) {
				t.Errorf("encode:\n got %x\nwant %x", got, want)
			}
			got, err := decodeAs(t, tt.msg, want)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.msg) {
				t.Errorf("decode:\n got %#v\nwant %#v", got, tt.msg)
			}
		})
	}
}

// TestDecodeAccepts covers inputs Haskell writes differently but accepts:
// definite lists, non-minimal integers and lengths.
func TestDecodeAccepts(t *testing.T) {
	t.Parallel()
	g5 := ekg.MsgResp{Metrics: []ekg.Metric{{Name: "g", Value: ekg.Gauge(-5)}}}
	tests := []struct {
		name string
		hex  string
		msg  ekg.Message
	}{
		{"definite metric list", "8201820081826167820124", g5},
		{"empty indefinite metric list", "820182009fff", ekg.MsgResp{Metrics: []ekg.Metric{}}},
		{"non-minimal gauge", "820182009f826167820138 04ff", g5},
		{"gauge as 64-bit", "820182009f82616782013b0000000000000004ff", g5},
		{"non-minimal value tag", "820182009f8261678218 01 24ff", g5},
		{"non-minimal envelope tag", "82 1801 8200 9f826167820124ff", g5},
		{"non-minimal envelope length", "98 02 01 8200 9f826167820124ff", g5},
		{"definite name list", "8200820182616161 62",
			ekg.MsgReq{Request: ekg.Request{Kind: ekg.GetMetrics, Names: []string{"a", "b"}}}},
		{"non-minimal request tag", "82 00 81 1802", ekg.MsgReq{Request: ekg.Request{Kind: ekg.GetUpdatedMetrics}}},
		{"non-minimal MsgDone tag", "81 190001", ekg.MsgDone{}},
		{"duplicate names", "820082019f61616161ff",
			ekg.MsgReq{Request: ekg.Request{Kind: ekg.GetMetrics, Names: []string{"a", "a"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeAs(t, tt.msg, unhex(t, tt.hex))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.msg) {
				t.Errorf("decode:\n got %#v\nwant %#v", got, tt.msg)
			}
		})
	}
}

// TestDecodeRejects covers inputs Haskell rejects, and messages in the
// wrong state. Every error must wrap muxproto.ErrDecode.
func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	const req, resp = "request", "response"
	tests := []struct {
		name, dec, hex string
	}{
		{"empty input", req, ""},
		{"empty input", resp, ""},
		{"not an array", req, "01"},
		{"empty envelope", req, "80"},
		{"indefinite envelope", req, "9f008100ff"},
		{"indefinite envelope", resp, "9f01820080ff"},
		{"indefinite MsgDone", req, "9f01ff"},
		{"envelope too long", req, "8300810000"},
		{"unknown message tag", req, "82058100"},
		{"envelope tag is text", req, "82616181 00"},
		{"trailing bytes", req, "810100"},
		{"truncated", resp, "820182009f826167"},
		{"MsgResp to the forwarder", req, "8201820080"},
		{"MsgReq to the acceptor", resp, "82008100"},
		{"MsgDone to the acceptor", resp, "8101"},
		{"indefinite request", req, "82009f00ff"},
		{"request bare integer", req, "820000"},
		{"unknown request 3", req, "82008103"},
		{"GetAllMetrics with a field", req, "8200820080"},
		{"GetMetrics without names field", req, "82008101"},
		{"GetMetrics empty names", req, "8200820180"},
		{"GetMetrics empty indefinite names", req, "820082019fff"},
		{"GetMetrics name as bytes", req, "820082019f4161ff"},
		{"GetMetrics name indefinite text", req, "820082019f7f6161ff ff"},
		{"GetMetrics names not a list", req, "820082016161"},
		{"indefinite response record", resp, "82019f0080ff"},
		{"response record tag 1", resp, "8201820180"},
		{"response record too short", resp, "82018100"},
		{"response list is a map", resp, "82018200a0"},
		{"indefinite pair", resp, "820182009f9f616782012 4ffff"},
		{"pair too long", resp, "820182009f83616782012400ff"},
		{"name as bytes", resp, "820182009f824167820124ff"},
		{"name indefinite text", resp, "820182009f827f6167ff820124ff"},
		{"name invalid UTF-8", resp, "820182009f8261ff820124ff"},
		{"metric value tag 3", resp, "820182009f8261678203 00ff"},
		{"indefinite metric value", resp, "820182009f8261679f0124ffff"},
		{"metric value too long", resp, "820182009f826167830124 00ff"},
		{"metric value bare int", resp, "820182009f82616724ff"},
		{"counter as text", resp, "820182009f82616782006161ff"},
		{"label as int", resp, "820182009f826167820205ff"},
		{"label indefinite text", resp, "820182009f8261678202 7f6161ff ff"},
		{"counter above int64", resp, "820182009f82616782001b8000000000000000ff"},
		{"gauge below int64", resp, "820182009f82616782013b8000000000000000ff"},
		{"counter as bignum", resp, "820182009f8261678200c24105ff"},
		{"counter as float", resp, "820182009f8261678200f93c00ff"},
	}
	for _, tt := range tests {
		t.Run(tt.dec+"/"+tt.name, func(t *testing.T) {
			t.Parallel()
			b := unhex(t, tt.hex)
			var err error
			if tt.dec == req {
				var msg ekg.Message
				msg, err = ekg.DecodeRequest(b)
				if err == nil {
					t.Fatalf("DecodeRequest(%x) = %#v, want an error", b, msg)
				}
			} else {
				var ms []ekg.Metric
				ms, err = decodeResponseAll(t, b)
				if err == nil {
					t.Fatalf("DecodeResponse(%x) = %#v, want an error", b, ms)
				}
			}
			if !errors.Is(err, muxproto.ErrDecode) {
				t.Fatalf("error %v does not wrap muxproto.ErrDecode", err)
			}
		})
	}
}

func TestRequestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  ekg.Request
		ok   bool
	}{
		{"all", ekg.Request{Kind: ekg.GetAllMetrics}, true},
		{"updated", ekg.Request{Kind: ekg.GetUpdatedMetrics}, true},
		{"named", ekg.Request{Kind: ekg.GetMetrics, Names: []string{"a"}}, true},
		{"named without names", ekg.Request{Kind: ekg.GetMetrics}, false},
		{"all with names", ekg.Request{Kind: ekg.GetAllMetrics, Names: []string{"a"}}, false},
		{"unknown kind", ekg.Request{Kind: 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.req.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !tt.ok && !errors.Is(err, ekg.ErrInvalidRequest) {
				t.Fatalf("Validate = %v, want ErrInvalidRequest", err)
			}
		})
	}
}

func TestStateTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		st     ekg.State
		agency ekg.Agency
	}{
		{ekg.StateIdle, ekg.AgencyAcceptor},
		{ekg.StateBusy, ekg.AgencyForwarder},
		{ekg.StateDone, ekg.AgencyNobody},
		{ekg.State(9), ekg.AgencyNobody},
	}
	for _, tt := range tests {
		t.Run(tt.st.String(), func(t *testing.T) {
			t.Parallel()
			if got := tt.st.Agency(); got != tt.agency {
				t.Errorf("Agency = %v, want %v", got, tt.agency)
			}
			if got := tt.st.Timeout(); got != 0 {
				t.Errorf("Timeout = %v, want none", got)
			}
		})
	}
}

// response300 returns the encoding of a response of 300 metrics of every
// kind, shaped like a node's.
func response300() ([]ekg.Metric, []byte) {
	ms := make([]ekg.Metric, 300)
	for i := range ms {
		name := fmt.Sprintf("cardano.node.metrics.example.metric_%03d", i)
		switch i % 3 {
		case 0:
			ms[i] = ekg.Metric{Name: name, Value: ekg.Counter(int64(i) * 1_000_003)}
		case 1:
			ms[i] = ekg.Metric{Name: name, Value: ekg.Gauge(-int64(i) * 7_919)}
		default:
			ms[i] = ekg.Metric{Name: name, Value: ekg.Label(fmt.Sprintf("value-%d", i))}
		}
	}
	return ms, ekg.Encode(ekg.MsgResp{Metrics: ms})
}

func benchDecodeResponse(b *testing.B, decode func([]byte) ([]ekg.Metric, error)) {
	want, enc := response300()
	copies := make([][]byte, 64) // fresh buffers, as each Recv gives
	for i := range copies {
		copies[i] = bytes.Clone(enc)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ms, err := decode(copies[i%len(copies)])
		if err != nil {
			b.Fatal(err)
		}
		if len(ms) != len(want) {
			b.Fatalf("decoded %d metrics, want %d", len(ms), len(want))
		}
		i++
	}
}

// BenchmarkDecodeResponse300 decodes a response of 300 metrics as the
// acceptor does, each message handed over by the Mux for good.
func BenchmarkDecodeResponse300(b *testing.B) { benchDecodeResponse(b, ekg.DecodeResponseOwned) }

// BenchmarkDecodeResponse300Copy is the same through DecodeResponse, which
// copies what it keeps.
func BenchmarkDecodeResponse300Copy(b *testing.B) { benchDecodeResponse(b, ekg.DecodeResponse) }

// BenchmarkDecodeResponse300Ref is the same with the reference decoder.
func BenchmarkDecodeResponse300Ref(b *testing.B) { benchDecodeResponse(b, ekg.DecodeResponseRef) }

func BenchmarkEncodeResponse300(b *testing.B) {
	ms, enc := response300()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if got := ekg.Encode(ekg.MsgResp{Metrics: ms}); len(got) != len(enc) {
			b.Fatalf("encoded %d bytes, want %d", len(got), len(enc))
		}
	}
}
