package tracer

import (
	"reflect"
	"testing"
)

func addReplySeeds(f *testing.F) {
	for _, h := range []string{t13Hex, t14Hex, "820380"} {
		f.Add(unhex(f, h))
	}
	for _, field := range []struct {
		i   int
		enc string
	}{
		{6, "c11a65920081"}, {6, "c0781e323032342d30312d30315430303a30303a30312e3132333435363738395a"},
		{3, "81694e6f64652e44656d6f"}, {4, "811802"}, {1, "9fff"},
	} {
		f.Add(replyWith(f, field.i, field.enc))
	}
}

// FuzzTraceObjectDecode: the fast decoder and the reference decoder give
// the same value or both reject; an accepted reply re-encodes to bytes that
// decode to the same value.
func FuzzTraceObjectDecode(f *testing.F) {
	addReplySeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := decodeBoth(t, data)
		if err != nil {
			return
		}
		again, err := decodeBoth(t, EncodeReply(objs))
		if err != nil {
			t.Fatalf("re-encoded reply rejected: %v", err)
		}
		if !reflect.DeepEqual(objs, again) {
			t.Fatalf("round trip changed the value:\n%#v\n%#v", objs, again)
		}
	})
}

// FuzzTraceRequestDecode: DecodeRequest and the reference decoder give
// the same message or both reject; an accepted request or MsgDone
// re-encodes to bytes that decode to the same message.
func FuzzTraceRequestDecode(f *testing.F) {
	for _, h := range []string{"8301f582001864", "8301f482001864", "8102", "8301f582001a00000064",
		"8301f5820017", "8301f58200190100", "8301f582001bffffffffffffffff", "8301f58200186400"} {
		f.Add(unhex(f, h))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := DecodeRequest(data)
		ref, rerr := DecodeRequestRef(data)
		if (err == nil) != (rerr == nil) || msg != ref {
			t.Fatalf("%x: DecodeRequest %#v, %v; reference %#v, %v", data, msg, err, ref, rerr)
		}
		if err != nil {
			return
		}
		var enc []byte
		switch m := msg.(type) {
		case Request:
			enc = EncodeRequest(m)
		case Done:
			enc = EncodeDone()
		}
		again, err := DecodeRequest(enc)
		if err != nil || again != msg {
			t.Fatalf("round trip: %#v -> %x -> %#v, %v", msg, enc, again, err)
		}
	})
}
