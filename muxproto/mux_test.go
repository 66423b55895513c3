package muxproto_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"muninn/internal/muxtest"
	"muninn/muxproto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bigMessage returns a valid CBOR text string of about n bytes.
func bigMessage(n int, fill byte) []byte {
	return muxproto.AppendText(nil, string(bytes.Repeat([]byte{fill}, n)))
}

// TestMuxRoundTrip sends messages both ways on all three protocols at once,
// over every transport and both shapes, including messages that span many
// SDUs, and checks each arrives whole and in order.
func TestMuxRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tr := range muxtest.Transports {
		for _, shape := range muxtest.Shapes {
			t.Run(fmt.Sprintf("%s/%s", tr, shape), func(t *testing.T) {
				t.Parallel()
				acc, fwd := muxtest.Pair(t, tr, shape, muxproto.Config{})
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				sizes := []int{1, 100, 12288, 12289, 30000, 200000}
				protos := []muxproto.ProtocolNum{muxproto.ProtoEKG, muxproto.ProtoTraceObject, muxproto.ProtoDataPoint}
				errc := make(chan error, 2*len(protos))
				for _, p := range protos {
					for _, pair := range [][2]*muxproto.Mux{{acc, fwd}, {fwd, acc}} {
						go func() {
							from, to := pair[0].Channel(p), pair[1].Channel(p)
							for i, n := range sizes {
								want := bigMessage(n, byte('a'+i))
								if err := from.Send(ctx, want); err != nil {
									errc <- err
									return
								}
								got, err := to.Recv(ctx)
								if err != nil {
									errc <- err
									return
								}
								if !bytes.Equal(got, want) {
									errc <- fmt.Errorf("proto %v message %d: got %d bytes, want %d", p, i, len(got), len(want))
									return
								}
							}
							errc <- nil
						}()
					}
				}
				for range 2 * len(protos) {
					if err := <-errc; err != nil {
						t.Fatal(err)
					}
				}
				if s := acc.Stats(); s.SDUsIn == 0 || s.SDUsOut == 0 {
					t.Fatalf("stats not counted: %+v", s)
				}
				acc.Close()
				if err := fwd.Wait(); !errors.Is(err, muxproto.ErrPeerClosed) {
					t.Fatalf("forwarder ended with %v, want ErrPeerClosed", err)
				}
				if err := acc.Wait(); !errors.Is(err, muxproto.ErrMuxClosed) {
					t.Fatalf("acceptor ended with %v, want ErrMuxClosed", err)
				}
			})
		}
	}
}
