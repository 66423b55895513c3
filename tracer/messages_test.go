package tracer

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"go.uber.org/goleak"

	"muninn/muxproto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

const (
	t13Machine = `{"at":"2024-01-01T00:00:00.123456789Z","ns":"ChainDB.AddBlockEvent.AddedToCurrentChain","data":{"kind":"AddedToCurrentChain"},"sev":"Notice","thread":"42","host":"relay-1"}`
	t14Machine = `{"at":"2024-01-01T00:00:01Z","ns":"Node.Demo","data":{"kind":"Demo"},"sev":"Info","thread":"7","host":"relay-1"}`
	t13Hex     = "82039f890081781f436861696e20657874656e6465642c206e6577207469703a2030613162326378ac7b226174223a22323032342d30312d30315430303a30303a30302e3132333435363738395a222c226e73223a22436861696e44422e416464426c6f636b4576656e742e4164646564546f43757272656e74436861696e222c2264617461223a7b226b696e64223a224164646564546f43757272656e74436861696e227d2c22736576223a224e6f74696365222c22746872656164223a223432222c22686f7374223a2272656c61792d31227d9f7829436861696e44422e416464426c6f636b4576656e742e4164646564546f43757272656e74436861696eff81028101d903e8a2011a659200802b1b0000001cbe991a086772656c61792d31623432ff"
	t14Hex     = "82039f89008078707b226174223a22323032342d30312d30315430303a30303a30315a222c226e73223a224e6f64652e44656d6f222c2264617461223a7b226b696e64223a2244656d6f227d2c22736576223a22496e666f222c22746872656164223a2237222c22686f7374223a2272656c61792d31227d9f694e6f64652e44656d6fff81018100d903e8a2011a659200812b006772656c61792d316137ff"
)

func t13Object() TraceObject {
	return TraceObject{
		Human: "Chain extended, new tip: 0a1b2c", HasHuman: true,
		Machine:   t13Machine,
		Namespace: []string{"ChainDB.AddBlockEvent.AddedToCurrentChain"},
		Severity:  Notice, Detail: DNormal,
		Timestamp: UTCTime{Sec: 1704067200, Pico: 123456789000},
		Hostname:  "relay-1", ThreadID: "42",
	}
}

func t14Object() TraceObject {
	return TraceObject{
		Machine:   t14Machine,
		Namespace: []string{"Node.Demo"},
		Severity:  Info, Detail: DMinimal,
		Timestamp: UTCTime{Sec: 1704067201},
		Hostname:  "relay-1", ThreadID: "7",
	}
}

func TestRequestVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		hex  string
		msg  Message
	}{
		{"T11 blocking 100", "8301f582001864", Request{Blocking: true, Count: 100}},
		{"T12 non-blocking 100", "8301f482001864", Request{Blocking: false, Count: 100}},
		{"T16 done", "8102", Done{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := unhex(t, tc.hex)
			var enc []byte
			switch m := tc.msg.(type) {
			case Request:
				enc = EncodeRequest(m)
			case Done:
				enc = EncodeDone()
			}
			if !bytes.Equal(enc, want) {
				t.Errorf("encode = %x, want %x", enc, want)
			}
			got, err := DecodeRequest(want)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got != tc.msg {
				t.Errorf("decode = %#v, want %#v", got, tc.msg)
			}
			if ref, err := DecodeRequestRef(want); err != nil || ref != tc.msg {
				t.Errorf("reference decode = %#v, %v", ref, err)
			}
		})
	}
}

// TestDecodeRequestFast: what acceptors send takes the direct way, in
// every width of the count; everything else is left to the reference.
func TestDecodeRequestFast(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		hex string
		msg Message // nil: left to the reference decoder
	}{
		{"8301f582001864", Request{Blocking: true, Count: 100}},
		{"8301f482001864", Request{Count: 100}},
		{"8301f5820017", Request{Blocking: true, Count: 23}},
		{"8301f58200190100", Request{Blocking: true, Count: 256}},
		{"8301f582001a0000ffff", Request{Blocking: true, Count: 65535}},
		{"8301f582001b0000000000000064", Request{Blocking: true, Count: 100}},
		{"8301f5820000", Request{Blocking: true}},
		{"8102", Done{}},
		{"8301f582001a00010000", nil}, // count above 65 535
		{"8301f58200186400", nil},     // a byte after the message
		{"8301f5820018", nil},         // the count cut short
		{"8301f582011864", nil},       // wrapper tag 1
		{"83010182001864", nil},       // blocking as an integer
		{"9f01f582001864ff", nil},     // indefinite
		{"980301f582001864", nil},     // non-minimal array head
		{"8301f59f001864ff", nil},     // indefinite wrapper
		{"810200", nil},               // Done with a trailing byte
		{"8103", nil},                 // a reply's tag
		{"8301f5820038", nil},         // a negative count
		{"8301f582001c", nil},         // reserved additional information
		{"", nil},
	} {
		data := unhex(t, tc.hex)
		m, ok := decodeRequestFast(data)
		if ok != (tc.msg != nil) || m != tc.msg {
			t.Errorf("%s: fast = %#v, %v; want %#v", tc.hex, m, ok, tc.msg)
		}
		got, err := DecodeRequest(data)
		ref, rerr := DecodeRequestRef(data)
		if got != ref || (err == nil) != (rerr == nil) {
			t.Errorf("%s: DecodeRequest %#v, %v; reference %#v, %v", tc.hex, got, err, ref, rerr)
		}
	}
}

// decodeBoth runs both reply decoders and fails if they disagree.
func decodeBoth(t testing.TB, data []byte) ([]TraceObject, error) {
	t.Helper()
	fast, ferr := DecodeReply(data)
	ref, rerr := DecodeReplyRef(data)
	if (ferr == nil) != (rerr == nil) {
		t.Fatalf("decoders disagree on %x: fast err %v, reference err %v", data, ferr, rerr)
	}
	if !reflect.DeepEqual(fast, ref) {
		t.Fatalf("decoders disagree on %x:\nfast %#v\nref  %#v", data, fast, ref)
	}
	owned, oerr := DecodeReplyInPlace(bytes.Clone(data))
	if (oerr == nil) != (rerr == nil) || !reflect.DeepEqual(owned, ref) {
		t.Fatalf("owned decoder disagrees on %x: %v / %v", data, oerr, rerr)
	}
	// Decoding into a batch that held other objects, as a pooled batch
	// does, leaves nothing of them behind.
	for _, room := range []int{1, 64} {
		reused, uerr := decodeReplyInto(bytes.Clone(data), dirtyBatch(room))
		if (uerr == nil) != (rerr == nil) || len(reused) != len(ref) || len(ref) > 0 && !reflect.DeepEqual(reused, ref) {
			t.Fatalf("decoding %x into a used batch of %d: %#v, %v; want %#v, %v", data, room, reused, uerr, ref, rerr)
		}
	}
	return ref, rerr
}

// dirtyBatch is a batch of n objects with every field set, emptied the
// way DecodeReplyPooled empties a pooled one: its memory still holds them.
func dirtyBatch(n int) []TraceObject {
	b := make([]TraceObject, n)
	for i := range b {
		b[i] = TraceObject{Human: "stale human", HasHuman: true, Machine: `{"stale":1}`,
			Namespace: []string{"Stale", "Name"}, Severity: Error, Detail: DMaximum,
			Timestamp: UTCTime{Sec: 1 << 40, Pico: 7}, Hostname: "stale-host", ThreadID: "99"}
	}
	return b[:0]
}

func TestReplyVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		hex  string
		objs []TraceObject
	}{
		{"T13 every field", t13Hex, []TraceObject{t13Object()}},
		{"T14 no human", t14Hex, []TraceObject{t14Object()}},
		{"T15 empty", "820380", []TraceObject{}},
		{"two objects", "82039f" + t13Hex[6:len(t13Hex)-2] + t14Hex[6:len(t14Hex)-2] + "ff", []TraceObject{t13Object(), t14Object()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := unhex(t, tc.hex)
			if enc := EncodeReply(tc.objs); !bytes.Equal(enc, want) {
				t.Errorf("encode = %x\nwant     %x", enc, want)
			}
			got, err := decodeBoth(t, want)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.objs) {
				t.Errorf("decode = %#v\nwant %#v", got, tc.objs)
			}
		})
	}
}

func TestUTCTimeVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		hex  string
		u    UTCTime
		t    time.Time
	}{
		{"with fraction", "d903e8a2011a659200802b1b0000001cbe991a08", UTCTime{1704067200, 123456789000}, time.Date(2024, 1, 1, 0, 0, 0, 123456789, time.UTC)},
		{"whole second", "d903e8a2011a659200812b00", UTCTime{1704067201, 0}, time.Date(2024, 1, 1, 0, 0, 1, 0, time.UTC)},
		{"X3 epoch", "d903e8a201002b00", UTCTime{0, 0}, time.Unix(0, 0).UTC()},
		{"X4 before epoch", "d903e8a201202b1b000000746a528800", UTCTime{-1, 500000000000}, time.Date(1969, 12, 31, 23, 59, 59, 500000000, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := unhex(t, tc.hex)
			if enc := AppendUTCTime(nil, tc.u); !bytes.Equal(enc, want) {
				t.Errorf("encode = %x, want %x", enc, want)
			}
			if TimeOf(tc.t) != tc.u {
				t.Errorf("TimeOf(%v) = %+v, want %+v", tc.t, TimeOf(tc.t), tc.u)
			}
			got, err := decodeUTCTimeRef(want)
			if err != nil || got != tc.u {
				t.Fatalf("decode = %+v, %v; want %+v", got, err, tc.u)
			}
			if !got.Time().Equal(tc.t) {
				t.Errorf("Time() = %v, want %v", got.Time(), tc.t)
			}
		})
	}
}

// objectHex returns a reply holding one object built from the T14 fields,
// with one field's encoding replaced.
func replyWith(t testing.TB, field int, enc string) []byte {
	t.Helper()
	fields := []string{
		"00", "80",
		"7870" + hex.EncodeToString([]byte(t14Machine)),
		"9f694e6f64652e44656d6fff", "8101", "8100",
		"d903e8a2011a659200812b00", "6772656c61792d31", "6137",
	}
	fields[field] = enc
	return unhex(t, "82039f89"+strings.Join(fields, "")+"ff")
}

// TestHaskellAcceptance checks the decoder against what the Haskell
// decoders were observed to accept and reject (PROTOCOL.md §11.7).
func TestHaskellAcceptance(t *testing.T) {
	t.Parallel()
	x5, err := muxproto.TextList(unhex(t, "80"))
	if err != nil || len(x5) != 0 {
		t.Fatalf("X5 empty namespace: %v %v", x5, err)
	}
	accept := []struct {
		name  string
		data  []byte
		check func(TraceObject) bool
	}{
		{"definite outer list", unhex(t, "820381"+hex.EncodeToString(replyWith(t, 0, "00")[3:len(replyWith(t, 0, "00"))-1])), nil},
		{"definite namespace", replyWith(t, 3, "81694e6f64652e44656d6f"), nil},
		{"X5 empty namespace", replyWith(t, 3, "80"), func(o TraceObject) bool { return len(o.Namespace) == 0 }},
		{"segmented namespace", replyWith(t, 3, "9f644e6f64656444656d6fff"), func(o TraceObject) bool { return o.NamespaceString() == "Node.Demo" }},
		{"non-minimal severity", replyWith(t, 4, "811802"), func(o TraceObject) bool { return o.Severity == Notice }},
		{"non-minimal array length", replyWith(t, 4, "98010"+"2"), func(o TraceObject) bool { return o.Severity == Notice }},
		{"tag 1 integer time", replyWith(t, 6, "c11a65920081"), func(o TraceObject) bool { return o.Timestamp == UTCTime{Sec: 1704067201} }},
		{"tag 1 float time", replyWith(t, 6, "c1fb41d9648020400000"), func(o TraceObject) bool { return o.Timestamp.Sec == 1704067201 }},
		{"tag 0 text time", replyWith(t, 6, "c0781e323032342d30312d30315430303a30303a30312e3132333435363738395a"), func(o TraceObject) bool {
			return o.Timestamp == UTCTime{Sec: 1704067201, Pico: 123456789000}
		}},
		{"picoseconds above a second", replyWith(t, 6, "d903e8a2011a659200812b1b000000e8d4a51000"), func(o TraceObject) bool {
			return o.Timestamp.Time().Equal(time.Date(2024, 1, 1, 0, 0, 2, 0, time.UTC))
		}},
		{"12-digit picoseconds kept", replyWith(t, 6, "d903e8a2011a659200812b1b000000e8d4a50fff"), func(o TraceObject) bool {
			return o.Timestamp.Pico == 999999999999 && bytes.Contains(EncodeReply([]TraceObject{o}), unhex(t, "1b000000e8d4a50fff"))
		}},
	}
	for _, tc := range accept {
		t.Run("accept/"+tc.name, func(t *testing.T) {
			t.Parallel()
			objs, err := decodeBoth(t, tc.data)
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if len(objs) != 1 || (tc.check != nil && !tc.check(objs[0])) {
				t.Fatalf("decoded to %#v", objs)
			}
		})
	}
	reject := []struct {
		name string
		data []byte
	}{
		{"indefinite Maybe", replyWith(t, 1, "9fff")},
		{"indefinite severity", replyWith(t, 4, "9f02ff")},
		{"bare severity", replyWith(t, 4, "02")},
		{"severity 8", replyWith(t, 4, "8108")},
		{"detail 4", replyWith(t, 5, "8104")},
		{"constructor 1", replyWith(t, 0, "01")},
		{"indefinite text", replyWith(t, 7, "7f6772656c61792d31ff")},
		{"time keys swapped", replyWith(t, 6, "d903e8a22b00011a65920081")},
		{"indefinite time map", replyWith(t, 6, "d903e8bf011a659200812b00ff")},
		{"time tag 40", replyWith(t, 6, "d8281a65920081")},
		{"negative picoseconds", replyWith(t, 6, "d903e8a2011a659200812b20")},
		{"invalid UTF-8 host", replyWith(t, 7, "62c328")},
		{"Maybe of two", replyWith(t, 1, "82616161")},
		{"indefinite object", unhex(t, "82039f9f"+hex.EncodeToString(replyWith(t, 0, "00")[4:len(replyWith(t, 0, "00"))-1])+"ffff")},
		{"indefinite envelope", unhex(t, "9f0380ff")},
		{"wrong tag", unhex(t, "820180")},
		{"trailing bytes", append(unhex(t, "820380"), 0)},
		{"truncated", unhex(t, t13Hex)[:100]},
		{"empty", nil},
	}
	for _, tc := range reject {
		t.Run("reject/"+tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeBoth(t, tc.data)
			if !errors.Is(err, muxproto.ErrDecode) {
				t.Fatalf("err = %v, want ErrDecode", err)
			}
		})
	}
	for _, tc := range []struct {
		name string
		hex  string
	}{
		{"count above u16", "8301f5820019ffff00"},
		{"count not wrapped", "8301f51864"},
		{"blocking as int", "830101820018 64"},
		{"indefinite request", "9f01f582001864ff"},
		{"request too long", "8401f58200186400"},
	} {
		t.Run("reject request/"+tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := DecodeRequest(unhex(t, tc.hex)); !errors.Is(err, muxproto.ErrDecode) {
				t.Fatalf("err = %v, want ErrDecode", err)
			}
		})
	}
	if m, err := DecodeRequest(unhex(t, "8301f582001a00000064")); err != nil || m != (Request{Blocking: true, Count: 100}) {
		t.Errorf("non-minimal count: %v %v", m, err)
	}
}

// TestDecodeReplyNoAmplification: a reply listing a hundred thousand
// one-byte items that are not trace objects fails without first making
// room for a hundred thousand objects (35 MB from a 131 KB message), or
// a framer for each item (16 MB).
func TestDecodeReplyNoAmplification(t *testing.T) {
	const items = 1 << 17
	msg := muxproto.AppendArray(nil, 2)
	msg = muxproto.AppendUint(msg, tagReply)
	msg = muxproto.AppendArray(msg, items)
	msg = append(msg, bytes.Repeat([]byte{0x00}, items)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := DecodeReply(msg); err == nil {
		t.Fatal("a list of integers decoded as trace objects")
	}
	runtime.ReadMemStats(&after)
	// The generic array split keeps a 24-byte slice per element; an object
	// is about 270 bytes.
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 32*uint64(len(msg)) {
		t.Fatalf("a %d-byte reply allocated %d bytes before failing", len(msg), allocated)
	}
}

// TestDecodeReplyInPlaceAliases: the text fields DecodeReplyInPlace
// returns point into the message, not into a copy of it, while
// DecodeReply's do not.
func TestDecodeReplyInPlaceAliases(t *testing.T) {
	t.Parallel()
	msg := benchReply(3)
	within := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		base := uintptr(unsafe.Pointer(unsafe.SliceData(msg)))
		return p >= base && p+uintptr(len(s)) <= base+uintptr(len(msg))
	}
	objs, err := DecodeReplyInPlace(msg)
	if err != nil || len(objs) != 3 {
		t.Fatalf("DecodeReplyInPlace: %d objects, %v", len(objs), err)
	}
	for i, o := range objs {
		for _, s := range []string{o.Machine, o.Hostname, o.ThreadID, o.Namespace[0]} {
			if !within(s) {
				t.Errorf("object %d: %.20q does not alias the message", i, s)
			}
		}
	}
	copied, err := DecodeReply(msg)
	if err != nil || len(copied) != 3 {
		t.Fatalf("DecodeReply: %d objects, %v", len(copied), err)
	}
	if within(copied[0].Machine) {
		t.Error("DecodeReply aliases the message it was given")
	}
}
