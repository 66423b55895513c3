package muxproto_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"muninn/internal/muxtest"
	"muninn/muxproto"
)

// rawPeer writes one handshake SDU with an arbitrary payload and returns
// the payload of the SDU it gets back (nil if the connection ends first).
func rawPeer(conn net.Conn, dir muxproto.Direction, payload []byte) ([]byte, error) {
	var hb [muxproto.HeaderSize]byte
	muxproto.Header{Dir: dir, Proto: muxproto.ProtoHandshake, Length: uint16(len(payload))}.Encode(&hb)
	if _, err := conn.Write(append(hb[:], payload...)); err != nil {
		return nil, err
	}
	if _, err := readFull(conn, hb[:]); err != nil {
		return nil, err
	}
	h, err := muxproto.DecodeHeader(&hb)
	if err != nil {
		return nil, err
	}
	reply := make([]byte, h.Length)
	_, err = readFull(conn, reply)
	return reply, err
}

// serveHandshake runs ServerHandshake on server with magic, closes
// server after it and delivers its error.
func serveHandshake(server net.Conn, magic uint32) <-chan error {
	errc := make(chan error, 1)
	go func() {
		_, err := muxproto.ServerHandshake(context.Background(), server, muxproto.HandshakeConfig{NetworkMagic: magic, Timeout: 5 * time.Second})
		server.Close()
		errc <- err
	}()
	return errc
}

func readFull(c net.Conn, b []byte) (int, error) {
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

// TestServerHandshakeRules drives the listener side with crafted
// proposals and checks both the reply bytes and the returned error.
func TestServerHandshakeRules(t *testing.T) {
	t.Parallel()
	const own = 764824073
	for _, tc := range []struct {
		name     string
		proposal string
		reply    string
		kind     muxproto.RefuseKind
		accepted bool
	}{
		{"accept V1", "8200a1011a2d964a09", "8301011a2d964a09", 0, true},
		{"accept V1 of V1+V2", "8200a2011a2d964a09021a2d964a09", "8301011a2d964a09", 0, true},
		{"only V2", "8200a1021a2d964a09", "820282008101", muxproto.RefuseVersionMismatch, false},
		{"magic out of bound", "8200a1011b0000000100000000", "820283010178256e6574776f726b4d61676963206f7574206f6620626f756e643a2034323934393637323936", muxproto.RefuseDecodeError, false},
		{"magic not an integer", "8200a10163616263", "", muxproto.RefuseDecodeError, false},
		{"magic mismatch", "8200a10101", "82028302017896" + fmt.Sprintf("%x", t09Text), muxproto.RefuseRefused, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client, server := muxtest.Conns(t, "pipe")
			errc := make(chan error, 1)
			go func() {
				_, err := muxproto.ServerHandshake(context.Background(), server, muxproto.HandshakeConfig{NetworkMagic: own})
				errc <- err
			}()
			reply, err := rawPeer(client, muxproto.FromInitiator, unhex(t, tc.proposal))
			if err != nil {
				t.Fatalf("peer: %v", err)
			}
			if tc.reply != "" && fmt.Sprintf("%x", reply) != tc.reply {
				t.Errorf("reply = %x\nwant    %s", reply, tc.reply)
			}
			err = <-errc
			if tc.accepted {
				if err != nil {
					t.Fatalf("handshake: %v", err)
				}
				return
			}
			var re *muxproto.RefusedError
			if !errors.As(err, &re) || !errors.Is(err, muxproto.ErrHandshakeRefused) || re.ByPeer || re.Reason.Kind != tc.kind {
				t.Fatalf("err = %v, want a refusal of kind %v", err, tc.kind)
			}
			msg, derr := muxproto.DecodeHandshake(reply)
			if derr != nil || !reflect.DeepEqual(msg, muxproto.Refuse{Reason: re.Reason}) {
				t.Errorf("sent %#v (%v), returned %#v", msg, derr, re.Reason)
			}
		})
	}
}

// TestHandshakeMagicMismatch runs both real roles with different magics:
// the server refuses, the client sees the refusal, and both errors carry
// what an operator needs to read in a log line.
func TestHandshakeMagicMismatch(t *testing.T) {
	t.Parallel()
	for _, tr := range muxtest.Transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			client, server := muxtest.Conns(t, tr)
			errc := make(chan error, 1)
			go func() {
				_, err := muxproto.ServerHandshake(context.Background(), server, muxproto.HandshakeConfig{NetworkMagic: 764824073})
				errc <- err
			}()
			_, cerr := muxproto.ClientHandshake(context.Background(), client, muxproto.HandshakeConfig{NetworkMagic: 1})
			serr := <-errc
			var cre, sre *muxproto.RefusedError
			if !errors.As(cerr, &cre) || !cre.ByPeer || cre.Reason.Kind != muxproto.RefuseRefused {
				t.Fatalf("client err = %v", cerr)
			}
			if !errors.As(serr, &sre) || sre.ByPeer || sre.PeerMagic != 1 || sre.OwnMagic != 764824073 {
				t.Fatalf("server err = %v", serr)
			}
		})
	}
}

// TestClientRejectsBadAccept: the connecting side refuses an accept with a
// version it did not propose or a different magic.
func TestClientRejectsBadAccept(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, accept string }{
		{"other magic", "83010101"},
		{"unproposed version", "8301021a2d964a09"},
		{"query reply", "8203a1011a2d964a09"},
		{"garbage", "ff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client, server := muxtest.Conns(t, "pipe")
			go func() {
				var hb [muxproto.HeaderSize]byte
				if _, err := readFull(server, hb[:]); err != nil {
					return
				}
				h, _ := muxproto.DecodeHeader(&hb)
				if _, err := readFull(server, make([]byte, h.Length)); err != nil {
					return
				}
				p := unhex(t, tc.accept)
				muxproto.Header{Dir: muxproto.FromResponder, Length: uint16(len(p))}.Encode(&hb)
				server.Write(append(hb[:], p...))
			}()
			_, err := muxproto.ClientHandshake(context.Background(), client, muxproto.HandshakeConfig{NetworkMagic: 764824073})
			if err == nil {
				t.Fatal("bad accept taken")
			}
			if !errors.Is(err, muxproto.ErrInvalidSelection) && !errors.Is(err, muxproto.ErrDecode) {
				t.Fatalf("err = %v, want ErrInvalidSelection or ErrDecode", err)
			}
		})
	}
}

// TestHandshakeTimeout: a peer that connects and never speaks is cut off
// after the handshake timeout, on the server and on the client side.
func TestHandshakeTimeout(t *testing.T) {
	t.Parallel()
	for _, role := range []string{"server", "client"} {
		t.Run(role, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := net.Pipe()
				defer a.Close()
				defer b.Close()
				go func() { // the silent peer reads what it is sent and never answers
					buf := make([]byte, 64)
					for {
						if _, err := b.Read(buf); err != nil {
							return
						}
					}
				}()
				start := time.Now()
				cfg := muxproto.HandshakeConfig{NetworkMagic: 1, Timeout: 10 * time.Second}
				var err error
				if role == "server" {
					_, err = muxproto.ServerHandshake(context.Background(), a, cfg)
				} else {
					_, err = muxproto.ClientHandshake(context.Background(), a, cfg)
				}
				if !errors.Is(err, muxproto.ErrHandshakeTimeout) {
					t.Fatalf("err = %v, want ErrHandshakeTimeout", err)
				}
				if d := time.Since(start); d != 10*time.Second {
					t.Fatalf("gave up after %v, want 10s", d)
				}
				a.Close()
			})
		})
	}
}

// TestHandshakeCancel: cancelling the context ends a waiting handshake
// with the context's error.
func TestHandshakeCancel(t *testing.T) {
	t.Parallel()
	_, server := muxtest.Conns(t, "unix")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := muxproto.ServerHandshake(ctx, server, muxproto.HandshakeConfig{NetworkMagic: 1})
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestHandshakeRejectsWrongSDU: data on another protocol, a wrong
// direction bit or an oversized message during the handshake.
func TestHandshakeRejectsWrongSDU(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		header muxproto.Header
		want   error
	}{
		{"trace data first", muxproto.Header{Dir: muxproto.FromInitiator, Proto: muxproto.ProtoTraceObject, Length: 9}, muxproto.ErrUnknownProtocol},
		{"responder bit", muxproto.Header{Dir: muxproto.FromResponder, Proto: muxproto.ProtoHandshake, Length: 9}, muxproto.ErrWrongDirection},
		{"oversized", muxproto.Header{Dir: muxproto.FromInitiator, Proto: muxproto.ProtoHandshake, Length: 6000}, muxproto.ErrMessageTooLarge},
		{"zero length", muxproto.Header{Dir: muxproto.FromInitiator, Proto: muxproto.ProtoHandshake}, muxproto.ErrShortSDU},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client, server := muxtest.Conns(t, "tcp")
			var hb [muxproto.HeaderSize]byte
			tc.header.Encode(&hb)
			if _, err := client.Write(append(hb[:], unhex(t, "8200a1011a2d964a09")...)); err != nil {
				t.Fatal(err)
			}
			_, err := muxproto.ServerHandshake(context.Background(), server, muxproto.HandshakeConfig{NetworkMagic: 764824073})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestRefusalStaysSmall: the refusal of version data Muninn cannot read
// quotes it in a bounded text, so that the reply stays one well-formed
// handshake message however large the data's diagnostic notation is (5 740
// simple values are 5 747 bytes of data and some 69 000 of notation,
// more than the header's length field holds).
func TestRefusalStaysSmall(t *testing.T) {
	const n = 5740
	data := []byte{0x82, 0x00, 0xa1, 0x01, 0x99, byte(n >> 8), byte(n & 0xff)} // [0, {1: [simple(16) × n]}]
	data = append(data, bytes.Repeat([]byte{0xf0}, n)...)
	client, server := net.Pipe()
	defer client.Close()
	errc := serveHandshake(server, 42)
	reply, err := rawPeer(client, muxproto.FromInitiator, data)
	if err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(client) // what follows the announced length
	if err != nil {
		t.Fatal(err)
	}
	if serr := <-errc; serr == nil || len(serr.Error()) > 1024 {
		t.Fatalf("the server's error is %d bytes: %.200v", len(fmt.Sprint(serr)), serr)
	}
	if len(rest) > 0 || len(reply) > muxproto.MaxHandshakeSize {
		t.Fatalf("the header announces %d bytes; %d more follow (at most %d allowed in all)", len(reply), len(rest), muxproto.MaxHandshakeSize)
	}
	if _, err := muxproto.DecodeHandshake(reply); err != nil {
		t.Fatalf("the refusal does not decode: %v", err)
	}
}

// slowWake is a connection whose wake-up (a deadline in the past) takes a
// while to land and which cancels the handshake's context right after the
// handshake's last write, so that the context ends while the handshake is
// finishing. It records a wake-up that lands after the handshake returned.
type slowWake struct {
	net.Conn
	cancel   context.CancelFunc
	returned atomic.Bool
	late     atomic.Bool
	woke     chan struct{} // closed once the wake-up has landed
	wakeOnce sync.Once
	writes   int
}

func (c *slowWake) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if c.writes++; c.writes == 1 {
		c.cancel()
	}
	return n, err
}

func (c *slowWake) SetDeadline(t time.Time) error {
	if !t.IsZero() && t.Before(time.Now()) {
		time.Sleep(20 * time.Millisecond)
		defer c.wakeOnce.Do(func() {
			if c.returned.Load() {
				c.late.Store(true)
			}
			close(c.woke)
		})
	}
	return c.Conn.SetDeadline(t)
}

// TestHandshakeCancelWhileFinishing: a context that ends as the handshake
// completes ends it with the context's error, and the handshake's wake-up
// never reaches the connection after it returned (where it would fail the
// Mux's first read with a deadline that is not its own).
func TestHandshakeCancelWhileFinishing(t *testing.T) {
	t.Parallel()
	client, server := muxtest.Conns(t, "unix")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn := &slowWake{Conn: server, cancel: cancel, woke: make(chan struct{})}
	propose := unhex(t, "8200a1011a2d964a09") // ForwardingV1 with the same magic
	peer := make(chan error, 1)
	go func() {
		_, err := rawPeer(client, muxproto.FromInitiator, propose)
		peer <- err
	}()
	_, err := muxproto.ServerHandshake(ctx, conn, muxproto.HandshakeConfig{NetworkMagic: 764824073})
	conn.returned.Store(true)
	if perr := <-peer; perr != nil {
		t.Fatalf("peer: %v", perr)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	<-conn.woke // the context ended, so the wake-up comes, before the return or after it
	if conn.late.Load() {
		t.Fatal("the handshake's wake-up reached the connection after the handshake returned")
	}
}
