package muxproto

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// socketPair returns both ends of a connected unix or TCP socket.
func socketPair(t *testing.T, network string) (net.Conn, net.Conn) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s.sock")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			c = nil
		}
		accepted <- c
	}()
	d, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-accepted
	if a == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { d.Close(); a.Close() })
	return d, a
}

// TestSDUReaderHoldsNoBufferWhileWaiting: on a socket, a reader waiting
// for bytes holds no read buffer, and gives the buffer back once
// everything in it has been consumed.
func TestSDUReaderHoldsNoBufferWhileWaiting(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			peer, conn := socketPair(t, network)
			rd := newSDUReader(conn, time.Second)
			if rd.raw == nil {
				t.Fatal("a socket should be read through its descriptor")
			}
			// Nothing to read: the wait ends at the deadline, bufferless.
			waitsBufferless(t, conn, rd, rd.waitNext, "waiting for an SDU")
			if _, err := peer.Write([]byte("abc")); err != nil {
				t.Fatal(err)
			}
			if err := rd.waitNext(); err != nil {
				t.Fatal(err)
			}
			if got := string(rd.bytes()); got != "abc" || rd.buf == nil {
				t.Fatalf("buffered %q (buffer %v), want abc", got, rd.buf != nil)
			}
			rd.consume(2)
			rd.idle()
			if rd.buf == nil {
				t.Fatal("the buffer went back with a byte still unread")
			}
			rd.consume(1)
			rd.idle()
			if rd.buf != nil {
				t.Fatal("the buffer was kept with nothing in it")
			}
			// In the middle of an SDU, with everything so far consumed,
			// the reader waits for the rest without a buffer too.
			if _, err := peer.Write([]byte("de")); err != nil {
				t.Fatal(err)
			}
			if err := rd.waitNext(); err != nil {
				t.Fatal(err)
			}
			rd.consume(rd.buffered())
			waitsBufferless(t, conn, rd, rd.fill, "waiting for the rest of an SDU")
			peer.Close()
			if err := rd.waitNext(); !errors.Is(err, io.EOF) {
				t.Fatalf("waitNext after the peer closed = %v, want EOF", err)
			}
			if rd.buf != nil {
				t.Fatal("the reader kept a buffer at EOF")
			}
		})
	}
}

// waitsBufferless calls read on a silent socket with a short deadline and
// checks that it ends at the deadline with no buffer held.
func waitsBufferless(t *testing.T, conn net.Conn, rd *sduReader, read func() error, what string) {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := read(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s on a silent socket: %v, want a deadline error", what, err)
	}
	if rd.buf != nil {
		t.Fatalf("the reader kept a buffer while %s", what)
	}
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
}

// TestSDUReaderStream: whatever pieces the peer writes, the reader returns
// the stream unchanged, including across a full buffer.
func TestSDUReaderStream(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			peer, conn := socketPair(t, network)
			rng := rand.New(rand.NewPCG(1, 2))
			stream := make([]byte, 3*readBufSize+777)
			for i := range stream {
				stream[i] = byte(rng.Uint32())
			}
			go func() {
				wrng := rand.New(rand.NewPCG(3, 4))
				for rest := stream; len(rest) > 0; {
					n := min(len(rest), 1+wrng.IntN(20000))
					if _, err := peer.Write(rest[:n]); err != nil {
						return
					}
					rest = rest[n:]
				}
			}()
			rd := newSDUReader(conn, time.Second)
			var got []byte
			for len(got) < len(stream) {
				if err := rd.waitNext(); err != nil {
					t.Fatal(err)
				}
				// Take a few bytes less than there are, now and then, so
				// that a partial read stays at the end of the buffer.
				k := rd.buffered()
				if k > 9 && rng.IntN(2) == 0 {
					k -= rng.IntN(9)
				}
				got = append(got, rd.bytes()[:k]...)
				rd.consume(k)
				if rd.buffered() > 0 && len(got)+rd.buffered() < len(stream) {
					if err := rd.more(); err != nil {
						t.Fatal(err)
					}
					if err := rd.sduDone(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if !bytes.Equal(got, stream) {
				t.Fatal("the stream came out changed")
			}
		})
	}
}
