package tracer_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"muninn/muxproto"
	"muninn/tracer"
)

// TestAcceptorStop: once ctx is cancelled, the acceptor waits StopGrace
// for the reply to its outstanding request to start, and DrainTimeout for
// a reply that has started; a reply it receives reaches the handler.
func TestAcceptorStop(t *testing.T) {
	t.Parallel()
	reply := tracer.EncodeReply([]tracer.TraceObject{object(5)})
	half := len(reply) / 2
	type part struct {
		after time.Duration
		bytes []byte
		raw   bool // written as it is, not as one SDU
	}
	// One SDU carrying the whole reply, to be written in two pieces.
	var hb [muxproto.HeaderSize]byte
	muxproto.Header{Dir: muxproto.FromInitiator, Proto: tracer.Protocol, Length: uint16(len(reply))}.Encode(&hb)
	sdu := append(hb[:], reply...)
	for _, tc := range []struct {
		name      string
		parts     []part
		delivered bool
		elapsed   time.Duration
	}{
		{"idle node", nil, false, 100 * time.Millisecond},
		{"reply within grace", []part{{50 * time.Millisecond, reply, false}}, true, 50 * time.Millisecond},
		{"reply spanning grace", []part{{50 * time.Millisecond, reply[:half], false}, {2 * time.Second, reply[half:], false}}, true, 2050 * time.Millisecond},
		{"reply stalls", []part{{50 * time.Millisecond, reply[:half], false}}, false, 5100 * time.Millisecond},
		// The reply's only SDU has begun to arrive within the grace.
		{"SDU spanning grace", []part{{50 * time.Millisecond, sdu[:muxproto.HeaderSize+half], true},
			{100 * time.Millisecond, sdu[muxproto.HeaderSize+half:], true}}, true, 150 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				node, conn := net.Pipe()
				defer node.Close()
				m, err := muxproto.New(conn, muxproto.FromResponder,
					[]muxproto.ProtocolNum{tracer.Protocol}, muxproto.Config{}, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				got := make(chan []tracer.TraceObject, 1)
				h := func(_ context.Context, b []tracer.TraceObject) error { got <- b; return nil }
				ctx, cancel := context.WithCancel(context.Background())
				errc := make(chan error, 1)
				acc := tracer.NewAcceptor(m.Channel(tracer.Protocol),
					tracer.AcceptorConfig{StopGrace: 100 * time.Millisecond, DrainTimeout: 5 * time.Second}, h)
				go func() { errc <- acc.Run(ctx) }()
				req := make([]byte, muxproto.HeaderSize+7)
				if _, err := readAll(node, req); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				cancel()
				go func() {
					for _, p := range tc.parts {
						time.Sleep(p.after)
						b := p.bytes
						if !p.raw {
							var hb [muxproto.HeaderSize]byte
							muxproto.Header{Dir: muxproto.FromInitiator, Proto: tracer.Protocol, Length: uint16(len(p.bytes))}.Encode(&hb)
							b = append(hb[:], p.bytes...)
						}
						if _, err := node.Write(b); err != nil {
							return
						}
					}
				}()
				err = <-errc
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Run = %v, want context.Canceled", err)
				}
				if d := time.Since(start); d != tc.elapsed {
					t.Errorf("stopped after %v, want %v", d, tc.elapsed)
				}
				select {
				case b := <-got:
					if !tc.delivered || len(b) != 1 || b[0].Machine != object(5).Machine {
						t.Fatalf("handler got %v, delivered=%v", b, tc.delivered)
					}
				default:
					if tc.delivered {
						t.Fatal("reply not handed to the handler")
					}
				}
				m.Close()
			})
		})
	}
}

func readAll(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := c.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
