package muxproto_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"muninn/muxproto"
)

// replayConn is a net.Conn whose reads replay a byte stream over and over
// and whose writes are discarded: the SDU layer with no kernel in the way.
type replayConn struct {
	r      *bytes.Reader
	stream []byte
	closed chan struct{}
}

func (c *replayConn) Read(b []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, io.EOF
	default:
	}
	if c.r.Len() == 0 {
		c.r.Reset(c.stream)
	}
	return c.r.Read(b)
}
func (c *replayConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *replayConn) Close() error                     { close(c.closed); return nil }
func (c *replayConn) LocalAddr() net.Addr              { return &net.UnixAddr{Name: "replay", Net: "unix"} }
func (c *replayConn) RemoteAddr() net.Addr             { return &net.UnixAddr{Name: "replay", Net: "unix"} }
func (c *replayConn) SetDeadline(time.Time) error      { return nil }
func (c *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkDeframe measures the demux path for trace replies of about 50 KB
// cut into 12 288-byte SDUs: header checks, reading into the message
// buffer, incremental framing and the hand-off to Recv.
func BenchmarkDeframe(b *testing.B) { benchDeframe(b, false) }

// BenchmarkDeframePooled is the same with PoolMessages, each message
// released once received, as the server's trace channel does.
func BenchmarkDeframePooled(b *testing.B) { benchDeframe(b, true) }

func benchDeframe(b *testing.B, pooled bool) {
	reply := reassemblyMessages(b)[1]
	var msg []byte
	for len(msg) < 50000 { // a reply-sized message: 170 copies of T13 in a list
		msg = append(msg, reply[3:len(reply)-1]...)
	}
	msg = append(append([]byte{0x82, 0x03, 0x9f}, msg...), 0xff)
	var stream []byte
	for rest := msg; len(rest) > 0; {
		n := min(len(rest), muxproto.DefaultSDUSize)
		stream = append(stream, sdu(muxproto.FromInitiator, muxproto.ProtoTraceObject, rest[:n])...)
		rest = rest[n:]
	}
	conn := &replayConn{r: bytes.NewReader(stream), stream: stream, closed: make(chan struct{})}
	m, err := muxproto.New(conn, muxproto.FromResponder, protos, muxproto.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ch := m.Channel(muxproto.ProtoTraceObject)
	if pooled {
		ch.PoolMessages()
	}
	ctx := context.Background()
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		got, err := ch.Recv(ctx)
		if err != nil || len(got) != len(msg) {
			b.Fatalf("Recv: %d bytes, %v", len(got), err)
		}
		if pooled {
			muxproto.ReleaseMessage(got)
		}
	}
}
