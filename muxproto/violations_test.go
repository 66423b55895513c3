package muxproto_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"muninn/internal/muxtest"
	"muninn/muxproto"
)

var protos = []muxproto.ProtocolNum{muxproto.ProtoEKG, muxproto.ProtoTraceObject, muxproto.ProtoDataPoint}

// responderMux starts a Mux as the accepting side on conn.
func responderMux(t testing.TB, conn net.Conn, cfg muxproto.Config) *muxproto.Mux {
	t.Helper()
	m, err := muxproto.New(conn, muxproto.FromResponder, protos, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func sdu(dir muxproto.Direction, p muxproto.ProtocolNum, payload []byte) []byte {
	var hb [muxproto.HeaderSize]byte
	muxproto.Header{Dir: dir, Proto: p, Length: uint16(len(payload))}.Encode(&hb)
	return append(hb[:], payload...)
}

// TestMuxViolations: each violation ends the Mux with a typed error that
// names the protocol, whatever the transport.
func TestMuxViolations(t *testing.T) {
	t.Parallel()
	big := muxproto.AppendText(nil, string(make([]byte, 3000)))
	for _, tc := range []struct {
		name  string
		cfg   muxproto.Config
		bytes [][]byte
		want  error
		proto muxproto.ProtocolNum
	}{
		{"zero-length SDU", muxproto.Config{}, [][]byte{make([]byte, 8)}, muxproto.ErrShortSDU, 0},
		{"unknown protocol", muxproto.Config{}, [][]byte{sdu(muxproto.FromInitiator, 9, []byte{0})}, muxproto.ErrUnknownProtocol, 9},
		{"handshake after handshake", muxproto.Config{}, [][]byte{sdu(muxproto.FromInitiator, 0, []byte{0})}, muxproto.ErrUnknownProtocol, 0},
		{"wrong direction", muxproto.Config{}, [][]byte{sdu(muxproto.FromResponder, 2, []byte{0})}, muxproto.ErrWrongDirection, 2},
		{"malformed CBOR", muxproto.Config{}, [][]byte{sdu(muxproto.FromInitiator, 1, []byte{0x1c})}, muxproto.ErrMalformedCBOR, 1},
		{"stray break", muxproto.Config{}, [][]byte{sdu(muxproto.FromInitiator, 3, []byte{0xff})}, muxproto.ErrMalformedCBOR, 3},
		{"too deep", muxproto.Config{MaxNesting: 3}, [][]byte{sdu(muxproto.FromInitiator, 2, []byte{0x81, 0x81, 0x81, 0x81, 0})}, muxproto.ErrMalformedCBOR, 2},
		{"message too large", muxproto.Config{MaxMessageSize: 2000, IngressLimit: 10000}, [][]byte{sdu(muxproto.FromInitiator, 2, big[:2500])}, muxproto.ErrMessageTooLarge, 2},
		{"ingress overrun", muxproto.Config{MaxMessageSize: 4000, IngressLimit: 8000},
			[][]byte{sdu(muxproto.FromInitiator, 2, big), sdu(muxproto.FromInitiator, 2, big), sdu(muxproto.FromInitiator, 2, big)}, muxproto.ErrIngressOverrun, 2},
	} {
		for _, tr := range muxtest.Transports {
			t.Run(tc.name+"/"+tr, func(t *testing.T) {
				t.Parallel()
				peer, conn := muxtest.Conns(t, tr)
				m := responderMux(t, conn, tc.cfg)
				go func() {
					for _, b := range tc.bytes {
						if _, err := peer.Write(b); err != nil {
							return
						}
					}
				}()
				err := m.Wait()
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				var pe *muxproto.ProtocolError
				if !errors.As(err, &pe) || pe.Proto != tc.proto {
					t.Fatalf("err = %v, want a ProtocolError for protocol %d", err, tc.proto)
				}
			})
		}
	}
}

// TestMuxPeerClosed: the peer closing between or inside SDUs.
func TestMuxPeerClosed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"between SDUs", sdu(muxproto.FromInitiator, 2, []byte{0})},
		{"inside a header", []byte{0, 0, 0}},
		{"inside a payload", sdu(muxproto.FromInitiator, 2, []byte{0x82, 0x01, 0x02})[:10]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			peer, conn := muxtest.Conns(t, "unix")
			m := responderMux(t, conn, muxproto.Config{})
			if _, err := peer.Write(tc.data); err != nil {
				t.Fatal(err)
			}
			peer.Close()
			if err := m.Wait(); !errors.Is(err, muxproto.ErrPeerClosed) {
				t.Fatalf("err = %v, want ErrPeerClosed", err)
			}
		})
	}
}

// TestMuxDeliversBeforeError: complete messages received before the
// connection failed are still handed out, then the error.
func TestMuxDeliversBeforeError(t *testing.T) {
	t.Parallel()
	peer, conn := muxtest.Conns(t, "pipe")
	m := responderMux(t, conn, muxproto.Config{})
	go func() {
		peer.Write(sdu(muxproto.FromInitiator, 2, []byte{0x01, 0x02})) // two messages in one SDU
		peer.Write(sdu(muxproto.FromInitiator, 2, []byte{0x82, 0x03})) // a partial third
		peer.Close()
	}()
	<-m.Done()
	ch := m.Channel(muxproto.ProtoTraceObject)
	for _, want := range []byte{0x01, 0x02} {
		got, err := ch.Recv(context.Background())
		if err != nil || len(got) != 1 || got[0] != want {
			t.Fatalf("Recv = %x, %v; want %x", got, err, want)
		}
	}
	if _, err := ch.Recv(context.Background()); !errors.Is(err, muxproto.ErrPeerClosed) {
		t.Fatalf("Recv after the messages = %v, want ErrPeerClosed", err)
	}
}

// TestMuxSDUTimeout: an SDU that starts and does not finish is cut off
// after SDUTimeout; an idle connection is never timed out.
func TestMuxSDUTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		peer, conn := net.Pipe()
		defer peer.Close()
		m, err := muxproto.New(conn, muxproto.FromResponder, protos, muxproto.Config{SDUTimeout: 30 * time.Second}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		time.Sleep(time.Hour) // idle for an hour of bubble time: still up
		synctest.Wait()
		if err := m.Err(); err != nil {
			t.Fatalf("idle connection ended: %v", err)
		}
		start := time.Now()
		if _, err := peer.Write([]byte{0, 0, 0, 0, 0, 2}); err != nil { // 6 of 8 header bytes
			t.Fatal(err)
		}
		if err := m.Wait(); !errors.Is(err, muxproto.ErrSDUTimeout) {
			t.Fatalf("err = %v, want ErrSDUTimeout", err)
		}
		if d := time.Since(start); d != 30*time.Second {
			t.Fatalf("timed out after %v, want 30s", d)
		}
	})
}

// TestMuxSDUTimeoutSockets: on real sockets too, an SDU cut inside its
// header or its payload ends the Mux with ErrSDUTimeout, and a complete
// SDU before it is still delivered.
func TestMuxSDUTimeoutSockets(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	whole := sdu(muxproto.FromInitiator, 2, []byte{0x01})
	for _, cut := range []struct {
		name string
		data []byte
	}{
		{"header", append(whole, 0, 0, 0, 0, 0, 2)},
		{"payload", append(whole, sdu(muxproto.FromInitiator, 2, []byte{0x82, 0x01, 0x02})[:10]...)},
	} {
		for _, tr := range []string{"unix", "tcp"} {
			t.Run(cut.name+"/"+tr, func(t *testing.T) {
				t.Parallel()
				peer, conn := muxtest.Conns(t, tr)
				m := responderMux(t, conn, muxproto.Config{SDUTimeout: timeout})
				start := time.Now()
				if _, err := peer.Write(cut.data); err != nil {
					t.Fatal(err)
				}
				got, err := m.Channel(muxproto.ProtoTraceObject).Recv(context.Background())
				if err != nil || len(got) != 1 || got[0] != 0x01 {
					t.Fatalf("Recv = %x, %v; want the complete SDU's message", got, err)
				}
				if err := m.Wait(); !errors.Is(err, muxproto.ErrSDUTimeout) {
					t.Fatalf("err = %v, want ErrSDUTimeout", err)
				}
				if d := time.Since(start); d < timeout {
					t.Fatalf("timed out after %v, before SDUTimeout", d)
				}
			})
		}
	}
}

// TestMuxCloseIdempotent: Close twice, Send and Recv after Close.
func TestMuxCloseIdempotent(t *testing.T) {
	t.Parallel()
	acc, _ := muxtest.Pair(t, "pipe", muxtest.AcceptAt, muxproto.Config{})
	acc.Close()
	acc.Close()
	ch := acc.Channel(muxproto.ProtoEKG)
	if err := ch.Send(context.Background(), []byte{0}); !errors.Is(err, muxproto.ErrMuxClosed) {
		t.Errorf("Send after Close = %v", err)
	}
	if _, err := ch.Recv(context.Background()); !errors.Is(err, muxproto.ErrMuxClosed) {
		t.Errorf("Recv after Close = %v", err)
	}
}

// TestMuxFairEgress: while a large message drains on one protocol, a
// small message queued later on another is not held until it is done.
func TestMuxFairEgress(t *testing.T) {
	t.Parallel()
	peer, conn := muxtest.Conns(t, "pipe")
	m, err := muxproto.New(conn, muxproto.FromInitiator, protos, muxproto.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	huge := muxproto.AppendText(nil, string(make([]byte, 20*muxproto.DefaultSDUSize)))
	if err := m.Channel(muxproto.ProtoTraceObject).Send(ctx, huge); err != nil {
		t.Fatal(err)
	}
	// The pipe is unbuffered, so the writer is stuck on the first SDU
	// until we read; queue the small message meanwhile.
	if err := m.Channel(muxproto.ProtoEKG).Send(ctx, []byte{0x80}); err != nil {
		t.Fatal(err)
	}
	var hb [muxproto.HeaderSize]byte
	for i := 0; ; i++ {
		if _, err := readFull(peer, hb[:]); err != nil {
			t.Fatal(err)
		}
		h, err := muxproto.DecodeHeader(&hb)
		if err != nil {
			t.Fatal(err)
		}
		if h.Dir != muxproto.FromInitiator || int(h.Length) > muxproto.DefaultSDUSize {
			t.Fatalf("bad SDU header %+v", h)
		}
		if _, err := readFull(peer, make([]byte, h.Length)); err != nil {
			t.Fatal(err)
		}
		if h.Proto == muxproto.ProtoEKG {
			if i > 2 {
				t.Fatalf("EKG SDU came after %d trace SDUs", i)
			}
			return
		}
	}
}
