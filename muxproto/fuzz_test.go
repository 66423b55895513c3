package muxproto_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"

	"muninn/internal/muxtest"
	"muninn/muxproto"
)

// FuzzSDUHeader: an accepted header re-encodes to the same 8 bytes; a
// zero length is always rejected.
func FuzzSDUHeader(f *testing.F) {
	f.Add(unhex(f, "1234567880020007"))
	f.Add(unhex(f, "0a0b0c0d00000009"))
	f.Add(unhex(f, "0000000000020000"))
	f.Add(unhex(f, "ffffffffffffffff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < muxproto.HeaderSize {
			return
		}
		hb := (*[muxproto.HeaderSize]byte)(b[:muxproto.HeaderSize])
		h, err := muxproto.DecodeHeader(hb)
		if hb[6] == 0 && hb[7] == 0 {
			if !errors.Is(err, muxproto.ErrShortSDU) {
				t.Fatalf("zero length accepted: %+v %v", h, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid header rejected: %v", err)
		}
		var again [muxproto.HeaderSize]byte
		h.Encode(&again)
		if again != *hb {
			t.Fatalf("round trip %x -> %+v -> %x", hb[:], h, again)
		}
	})
}

// reassemblyMessages are real messages of all three protocols.
func reassemblyMessages(t testing.TB) [][]byte {
	return [][]byte{
		unhex(t, "820180"),
		unhex(t, "82039f890081781f436861696e20657874656e6465642c206e6577207469703a2030613162326378ac7b226174223a22323032342d30312d30315430303a30303a30302e3132333435363738395a222c226e73223a22436861696e44422e416464426c6f636b4576656e742e4164646564546f43757272656e74436861696e222c2264617461223a7b226b696e64223a224164646564546f43757272656e74436861696e227d2c22736576223a224e6f74696365222c22746872656164223a223432222c22686f7374223a2272656c61792d31227d9f7829436861696e44422e416464426c6f636b4576656e742e4164646564546f43757272656e74436861696eff81028101d903e8a2011a659200802b1b0000001cbe991a086772656c61792d31623432ff"),
		unhex(t, "820182009f826e7274732e67632e6e756d5f6763738200182a826c4d656d2e7265736964656e7482011a075bcd15826c6e6f64652e76657273696f6e82026631302e312e34ff"),
		unhex(t, "82039f826143815f457b2261223a42317dffff"),
		muxproto.AppendText(nil, string(bytes.Repeat([]byte("x"), 30000))),
		unhex(t, "8102"),
	}
}

// FuzzChannelReassembly: however a stream of valid messages is cut into
// SDUs, and whatever other protocol's SDUs are interleaved, the same
// messages come out of the Mux in the same order.
func FuzzChannelReassembly(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint8(0))
	f.Add([]byte{255, 0, 7, 100}, uint8(3))
	f.Add([]byte{}, uint8(1))
	f.Fuzz(func(t *testing.T, cuts []byte, interleave uint8) {
		checkReassembly(t, "pipe", cuts, interleave)
	})
}

// TestChannelReassemblySockets runs FuzzChannelReassembly's property over
// unix sockets and TCP, where the demultiplexer reads through the
// descriptor, with random SDU sizes.
func TestChannelReassemblySockets(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 20 {
		cuts := make([]byte, rng.IntN(40))
		for j := range cuts {
			cuts[j] = byte(rng.Uint32())
		}
		for _, tr := range []string{"unix", "tcp"} {
			checkReassembly(t, tr, cuts, uint8(i%4))
		}
	}
}

// checkReassembly cuts a stream of valid messages into SDUs of the sizes
// cuts gives, interleaves other protocols' SDUs, and checks that the same
// messages come out of the Mux in the same order. With an odd interleave
// the channel pools its messages and each is released once checked, so
// later messages are read into the memory of earlier ones.
func checkReassembly(t *testing.T, transport string, cuts []byte, interleave uint8) {
	msgs := reassemblyMessages(t)
	stream := bytes.Join(msgs, nil)
	peer, conn := muxtest.Conns(t, transport)
	m, err := muxproto.New(conn, muxproto.FromResponder, protos, muxproto.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer peer.Close()
	go func() {
		rest := stream
		for i := 0; len(rest) > 0; i++ {
			n := muxproto.DefaultSDUSize
			if i < len(cuts) {
				n = 1 + int(cuts[i])*37
			}
			n = min(n, len(rest))
			if _, err := peer.Write(sdu(muxproto.FromInitiator, muxproto.ProtoTraceObject, rest[:n])); err != nil {
				return
			}
			rest = rest[n:]
			if interleave > 0 && i%int(interleave) == 0 {
				if _, err := peer.Write(sdu(muxproto.FromInitiator, muxproto.ProtoEKG, []byte{0x80})); err != nil {
					return
				}
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch := m.Channel(muxproto.ProtoTraceObject)
	pooled := interleave%2 == 1
	if pooled {
		ch.PoolMessages()
	}
	for i, want := range msgs {
		got, err := ch.Recv(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d: got %d bytes, want %d", i, len(got), len(want))
		}
		if pooled {
			muxproto.ReleaseMessage(got)
		}
	}
}

// FuzzMux: arbitrary bytes from a peer end the Mux with one of the typed
// errors, never a panic, and leave no goroutine behind.
func FuzzMux(f *testing.F) {
	f.Add(sdu(muxproto.FromInitiator, 2, []byte{0x01, 0x02}))
	f.Add(append(sdu(muxproto.FromInitiator, 1, []byte{0x9f}), sdu(muxproto.FromInitiator, 1, []byte{0xff})...))
	f.Add(make([]byte, 8))
	f.Add(sdu(muxproto.FromResponder, 3, []byte{0}))
	f.Add(sdu(muxproto.FromInitiator, 7, []byte{0}))
	f.Add(sdu(muxproto.FromInitiator, 2, []byte{0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}))
	typed := []error{muxproto.ErrShortSDU, muxproto.ErrUnknownProtocol, muxproto.ErrWrongDirection,
		muxproto.ErrIngressOverrun, muxproto.ErrMessageTooLarge, muxproto.ErrMalformedCBOR, muxproto.ErrPeerClosed}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		peer, conn := net.Pipe()
		cfg := muxproto.Config{IngressLimit: 1 << 16, MaxMessageSize: 1 << 15}
		m, err := muxproto.New(conn, muxproto.FromResponder, protos, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			peer.Write(data)
			peer.Close()
		}()
		err = m.Wait()
		m.Close()
		for _, want := range typed {
			if errors.Is(err, want) {
				return
			}
		}
		t.Fatalf("untyped error %v", err)
	})
}

// FuzzHandshake: an accepted handshake message re-encodes to bytes that
// decode to the same message; a server given any proposal either accepts
// or answers with a refusal that decodes, and returns a typed error.
func FuzzHandshake(f *testing.F) {
	for _, h := range []string{"8200a2011a2d964a09021a2d964a09", "8200a1011a2d964a09", "8301011a2d964a09", "820282008101",
		"820283010178256e6574776f726b4d61676963206f7574206f6620626f756e643a2034323934393637323936", "8203a1011a2d964a09",
		"8200a10163616263", "8200a1021a2d964a09", "8200a3011a2d964a090a00636b6579f6"} {
		f.Add(unhex(f, h))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if msg, err := muxproto.DecodeHandshake(payload); err == nil {
			again, err := muxproto.DecodeHandshake(muxproto.EncodeHandshake(msg))
			if err != nil || !reflect.DeepEqual(normalise(again), normalise(msg)) {
				t.Fatalf("round trip %#v -> %#v, %v", msg, again, err)
			}
		}
		if len(payload) == 0 || len(payload) > muxproto.MaxHandshakeSize {
			return
		}
		client, server := net.Pipe()
		defer client.Close()
		defer server.Close()
		errc := serveHandshake(server, 764824073)
		reply, rerr := rawPeer(client, muxproto.FromInitiator, payload)
		err := <-errc
		switch {
		case err == nil:
			if msg, derr := muxproto.DecodeHandshake(reply); derr != nil || reflect.TypeOf(msg) != reflect.TypeOf(muxproto.AcceptVersion{}) {
				t.Fatalf("accepted but replied %x (%v)", reply, derr)
			}
		case errors.Is(err, muxproto.ErrHandshakeRefused):
			if msg, derr := muxproto.DecodeHandshake(reply); rerr != nil || derr != nil || reflect.TypeOf(msg) != reflect.TypeOf(muxproto.Refuse{}) {
				t.Fatalf("refused but replied %x (%v, %v)", reply, rerr, derr)
			}
		case errors.Is(err, muxproto.ErrDecode):
		default:
			t.Fatalf("untyped error %v", err)
		}
	})
}

// normalise makes version lists comparable whether nil or empty.
func normalise(m muxproto.HandshakeMsg) muxproto.HandshakeMsg {
	if r, ok := m.(muxproto.Refuse); ok && len(r.Reason.Versions) == 0 {
		r.Reason.Versions = nil
		return r
	}
	return m
}
