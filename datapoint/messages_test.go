package datapoint_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"muninn/datapoint"
	"muninn/muxproto"
)

// t26JSON is the NodeInfo JSON of PROTOCOL.md §9.4, as carried by T26.
const t26JSON = `{"niCommit":"1f4b0d8e2b7c5a6d9e0f1a2b3c4d5e6f7a8b9c0d","niName":"relay-1","niProtocol":"Cardano","niStartTime":"2024-01-01T00:00:00.123456789Z","niSystemStartTime":"2017-09-23T21:44:51Z","niVersion":"10.1.4"}`

// t26Hex is vector T26: a reply carrying t26JSON under "NodeInfo".
const t26Hex = "82039f82684e6f6465496e666f815f58d07b226e69436f6d6d6974223a2231663462306438653262376335613664396530663161326233633464356536663761386239633064222c226e694e616d65223a2272656c61792d31222c226e6950726f746f636f6c223a2243617264616e6f222c226e69537461727454696d65223a22323032342d30312d30315430303a30303a30302e3132333435363738395a222c226e6953797374656d537461727454696d65223a22323031372d30392d32335432313a34343a35315a222c226e6956657273696f6e223a2231302e312e34227dffff"

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// requestVectors are the messages a node receives (T24, T25, T29).
var requestVectors = []struct {
	name  string
	hex   string
	value datapoint.Message
}{
	{"T24 request with no names", "820180", datapoint.MsgRequest{Names: []string{}}},
	{"T25 request NodeInfo", "82019f684e6f6465496e666fff", datapoint.MsgRequest{Names: []string{"NodeInfo"}}},
	{"T29 MsgDone", "8102", datapoint.MsgDone{}},
	{"two names", "82019f6141624243ff", datapoint.MsgRequest{Names: []string{"A", "BC"}}},
}

// replyVectors are the messages an acceptor receives (T26–T28, X1).
var replyVectors = []struct {
	name  string
	hex   string
	items []datapoint.Item
}{
	{"T26 NodeInfo", t26Hex, []datapoint.Item{{Name: "NodeInfo", Value: []byte(t26JSON), Present: true}}},
	{"T27 unknown name", "82039f8263466f6f80ff", []datapoint.Item{{Name: "Foo"}}},
	{"T28 empty reply", "820380", []datapoint.Item{}},
	{"X1 empty value", "82039f826145815fffff", []datapoint.Item{{Name: "E", Value: []byte{}, Present: true}}},
	{"Nothing and Just", "82039f8261418082614180826142815f427b7dffff", []datapoint.Item{{Name: "A"}, {Name: "A"}, {Name: "B", Value: []byte("{}"), Present: true}}},
}

// acceptedReplies decode but are not what Haskell writes.
var acceptedReplies = []struct {
	name  string
	hex   string
	items []datapoint.Item
	// reencoded is what Muninn writes for the same items.
	reencoded string
}{
	{"X2 two chunks", "82039f826143815f457b2261223a42317dffff",
		[]datapoint.Item{{Name: "C", Value: []byte(`{"a":1}`), Present: true}},
		"82039f826143815f477b2261223a317dffff"},
	{"definite list", "820381826145815fff",
		[]datapoint.Item{{Name: "E", Value: []byte{}, Present: true}},
		"82039f826145815fffff"},
	{"empty indefinite list", "82039fff", []datapoint.Item{}, "820380"},
	{"non-minimal tag and lengths", "82180398018261459801 5f 5802 7b7d ff",
		[]datapoint.Item{{Name: "E", Value: []byte("{}"), Present: true}},
		"82039f826145815f427b7dffff"},
	{"empty chunks", "82039f826145815f40427b7d40ffff",
		[]datapoint.Item{{Name: "E", Value: []byte("{}"), Present: true}},
		"82039f826145815f427b7dffff"},
}

// acceptedRequests decode but are not what Haskell writes.
var acceptedRequests = []struct {
	name      string
	hex       string
	value     datapoint.Message
	reencoded string
}{
	{"definite name list", "820181684e6f6465496e666f", datapoint.MsgRequest{Names: []string{"NodeInfo"}}, "82019f684e6f6465496e666fff"},
	{"empty indefinite list", "82019fff", datapoint.MsgRequest{Names: []string{}}, "820180"},
	{"non-minimal tag", "811802", datapoint.MsgDone{}, "8102"},
}

func TestRequestVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range requestVectors {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := unhex(t, tc.hex)
			if got := datapoint.Encode(tc.value); !bytes.Equal(got, want) {
				t.Errorf("encode: got %x, want %x", got, want)
			}
			got, err := datapoint.DecodeRequest(want)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !equalMessages(got, tc.value) {
				t.Errorf("decode: got %#v, want %#v", got, tc.value)
			}
		})
	}
	for _, tc := range acceptedRequests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := datapoint.DecodeRequest(unhex(t, tc.hex))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !equalMessages(got, tc.value) {
				t.Errorf("decode: got %#v, want %#v", got, tc.value)
			}
			if enc, want := datapoint.Encode(got), unhex(t, tc.reencoded); !bytes.Equal(enc, want) {
				t.Errorf("re-encode: got %x, want %x", enc, want)
			}
		})
	}
}

func TestReplyVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range replyVectors {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := unhex(t, tc.hex)
			if got := datapoint.Encode(datapoint.MsgReply{Items: tc.items}); !bytes.Equal(got, want) {
				t.Errorf("encode: got %x, want %x", got, want)
			}
			got, err := datapoint.DecodeReply(want)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !equalItems(got, tc.items) {
				t.Errorf("decode: got %+v, want %+v", got, tc.items)
			}
			checkValuesNonNil(t, got)
		})
	}
	for _, tc := range acceptedReplies {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := datapoint.DecodeReply(unhex(t, tc.hex))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !equalItems(got, tc.items) {
				t.Errorf("decode: got %+v, want %+v", got, tc.items)
			}
			checkValuesNonNil(t, got)
			if enc, want := datapoint.Encode(datapoint.MsgReply{Items: got}), unhex(t, tc.reencoded); !bytes.Equal(enc, want) {
				t.Errorf("re-encode: got %x, want %x", enc, want)
			}
		})
	}
}

// TestT26Length pins the sizes PROTOCOL.md gives for T26.
func TestT26Length(t *testing.T) {
	t.Parallel()
	if n := len(t26JSON); n != 208 {
		t.Errorf("T26 JSON is %d bytes, want 208", n)
	}
	if n := len(unhex(t, t26Hex)); n != 227 {
		t.Errorf("T26 is %d bytes, want 227", n)
	}
}

// TestEncodeIgnoresValueOfNothing: Present decides, not Value.
func TestEncodeIgnoresValueOfNothing(t *testing.T) {
	t.Parallel()
	got := datapoint.Encode(datapoint.MsgReply{Items: []datapoint.Item{{Name: "Foo", Value: []byte("x")}}})
	if want := unhex(t, "82039f8263466f6f80ff"); !bytes.Equal(got, want) {
		t.Errorf("got %x, want %x (T27)", got, want)
	}
}

func TestRejects(t *testing.T) {
	t.Parallel()
	const (
		request = 1 << iota
		reply
		both = request | reply
	)
	tests := []struct {
		name    string
		hex     string
		decoder int
	}{
		{"definite byte string value", "82039f826145 81427b7d ff", reply},
		{"definite byte string value, definite list", "820381826145 81427b7d", reply},
		{"Maybe written indefinite", "82039f826145 9f5fffff ff", reply},
		{"Maybe with two elements", "82039f826145 825fff5fff ff", reply},
		{"Maybe as null", "82039f826145 f6 ff", reply},
		{"value as bare byte string", "82039f826145 5fff ff", reply},
		{"value as text", "82039f826145 81627b7d ff", reply},
		{"value as indefinite text", "82039f826145 817f627b7dff ff", reply},
		{"value chunk is text", "82039f826145 815f627b7dff ff", reply},
		{"value chunk is indefinite", "82039f826145 815f5f427b7dffff ff", reply},
		{"value tagged", "82039f826145 81d8185fff ff", reply},
		{"name as indefinite text", "82039f82 7f6145ff 80 ff", reply},
		{"name as bytes", "82039f82 4145 80 ff", reply},
		{"name as integer", "82039f82 01 80 ff", reply},
		{"pair written indefinite", "82039f 9f614580ff ff", reply},
		{"pair of three", "82039f 83614580 80 ff", reply},
		{"pair of one", "82039f 816145 ff", reply},
		{"item not an array", "82039f 6145 ff", reply},
		{"reply list not an array", "8203 6145", reply},
		{"reply without list", "8103", reply},
		{"reply with extra element", "8303 80 80", reply},
		{"request name as indefinite text", "82019f 7f684e6f6465496e666fff ff", request},
		{"request name as bytes", "82019f 484e6f6465496e666f ff", request},
		{"request name as integer", "82019f 01 ff", request},
		{"request names not a list", "8201 684e6f6465496e666f", request},
		{"request without names", "8101", request},
		{"request with extra element", "83018080", request},
		{"MsgDone with extra element", "820280", request},
		{"request envelope indefinite", "9f0180ff", request},
		{"MsgDone envelope indefinite", "9f02ff", request},
		{"reply envelope indefinite", "9f0380ff", reply},
		{"reply to the node", "820380", request},
		{"request to the acceptor", "820180", reply},
		{"MsgDone to the acceptor", "8102", reply},
		{"unknown tag 0", "820080", both},
		{"unknown tag 4", "820480", both},
		{"negative tag", "822080", both},
		{"tag as text", "82613380", both},
		{"empty array", "80", both},
		{"not an array", "03", both},
		{"empty input", "", both},
		{"truncated", "82039f82", both},
		{"trailing bytes", "82038000", both},
		{"two messages", "82038082 0380", both},
		{"map envelope", "a10380", both},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := unhex(t, tc.hex)
			if tc.decoder&request != 0 {
				if m, err := datapoint.DecodeRequest(b); !errors.Is(err, muxproto.ErrDecode) {
					t.Errorf("DecodeRequest = %#v, %v; want an error wrapping ErrDecode", m, err)
				}
			}
			if tc.decoder&reply != 0 {
				if items, err := datapoint.DecodeReply(b); !errors.Is(err, muxproto.ErrDecode) {
					t.Errorf("DecodeReply = %+v, %v; want an error wrapping ErrDecode", items, err)
				}
			}
		})
	}
}

func equalMessages(a, b datapoint.Message) bool {
	switch a := a.(type) {
	case datapoint.MsgRequest:
		b, ok := b.(datapoint.MsgRequest)
		return ok && slices.Equal(a.Names, b.Names)
	case datapoint.MsgDone:
		_, ok := b.(datapoint.MsgDone)
		return ok
	case datapoint.MsgReply:
		b, ok := b.(datapoint.MsgReply)
		return ok && equalItems(a.Items, b.Items)
	}
	return false
}

// equalItems compares items by meaning: a Nothing's Value does not count.
func equalItems(a, b []datapoint.Item) bool {
	return slices.EqualFunc(a, b, func(x, y datapoint.Item) bool {
		return x.Name == y.Name && x.Present == y.Present && (!x.Present || bytes.Equal(x.Value, y.Value))
	})
}

// checkValuesNonNil: a decoded Just has a non-nil value, Nothing a nil one.
func checkValuesNonNil(t *testing.T, items []datapoint.Item) {
	t.Helper()
	for i, it := range items {
		if it.Present != (it.Value != nil) {
			t.Errorf("item %d: Present %v but Value nil is %v", i, it.Present, it.Value == nil)
		}
	}
}
