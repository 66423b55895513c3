package muxproto

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// readBufSize is the size of the demuxer's read buffers: an SDU payload
// is at most 65 535 bytes, and a node's full reply arrives in a few reads.
const readBufSize = 64 << 10

// readBufs holds the read buffers of all connections. A connection holds
// one only while it has bytes buffered, so a thousand idle nodes hold none
// and a busy one reads a whole reply, headers and payloads of several
// SDUs, in one system call.
var readBufs = sync.Pool{New: func() any {
	b := make([]byte, readBufSize)
	return &b
}}

// sduReader is the demuxer's buffered view of the connection.
//
// On a connection that offers its file descriptor (unix sockets, TCP) it
// takes a buffer from readBufs only once the descriptor is readable, so a
// connection waiting for its next SDU holds no buffer at all. Other
// connections (in-memory pipes in tests) keep a buffer while they wait.
type sduReader struct {
	conn    net.Conn
	raw     syscall.RawConn // nil: read through conn
	buf     *[]byte         // from readBufs; nil while nothing is buffered
	r, w    int             // the unread bytes are (*buf)[r:w]
	timeout time.Duration
	armed   bool // a read deadline is set for the SDU in progress
}

func newSDUReader(conn net.Conn, timeout time.Duration) *sduReader {
	s := &sduReader{conn: conn, timeout: timeout}
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			s.raw = raw
		}
	}
	return s
}

func (s *sduReader) buffered() int { return s.w - s.r }

// bytes returns the unread bytes, which stay valid until the next fill.
func (s *sduReader) bytes() []byte { return (*s.buf)[s.r:s.w] }

func (s *sduReader) consume(n int) { s.r += n }

// idle gives the buffer back when everything in it has been consumed.
func (s *sduReader) idle() {
	if s.r == s.w {
		s.release()
	}
}

// waitNext reads until the first byte of the next SDU is buffered, with
// no deadline: a node may be silent for as long as it likes between SDUs.
func (s *sduReader) waitNext() error {
	if s.buffered() > 0 {
		return nil
	}
	return s.fill()
}

// more reads at least one more byte of the SDU in progress, within
// SDUTimeout of the moment the SDU's first byte was seen to need more.
func (s *sduReader) more() error {
	if !s.armed {
		if err := s.conn.SetReadDeadline(time.Now().Add(s.timeout)); err != nil {
			return err
		}
		s.armed = true
	}
	return s.fill()
}

// sduDone clears the deadline armed by more, if any.
func (s *sduReader) sduDone() error {
	if !s.armed {
		return nil
	}
	s.armed = false
	return s.conn.SetReadDeadline(time.Time{})
}

// fill appends at least one byte read from the connection to the
// buffered bytes, or returns why it could not.
func (s *sduReader) fill() error {
	if s.buf != nil {
		if s.r == s.w {
			// Nothing unread: wait without a buffer, even in the middle
			// of an SDU (its payload so far is in the channel's message).
			s.release()
		} else if s.w == len(*s.buf) {
			s.w = copy(*s.buf, (*s.buf)[s.r:s.w])
			s.r = 0
		}
	}
	if s.raw == nil {
		if s.buf == nil {
			s.buf = readBufs.Get().(*[]byte)
		}
		for {
			n, err := s.conn.Read((*s.buf)[s.w:])
			s.w += n
			if n > 0 {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	var (
		n    int
		rerr error
	)
	err := s.raw.Read(func(fd uintptr) bool {
		b := s.buf
		if b == nil {
			b = readBufs.Get().(*[]byte)
		}
		for {
			n, rerr = syscall.Read(int(fd), (*b)[s.w:])
			if rerr != syscall.EINTR {
				break
			}
		}
		switch {
		case n > 0:
			s.buf = b
		case s.buf == nil:
			readBufs.Put(b) // nothing read: hold no buffer while waiting
		}
		return rerr != syscall.EAGAIN // EAGAIN: wait until readable
	})
	switch {
	case err != nil:
		return err
	case rerr != nil:
		return os.NewSyscallError("read", rerr)
	case n <= 0:
		return io.EOF
	}
	s.w += n
	return nil
}

// release gives the buffer back whatever it holds; the demuxer calls it
// when it stops.
func (s *sduReader) release() {
	if s.buf != nil {
		readBufs.Put(s.buf)
		s.buf, s.r, s.w = nil, 0, 0
	}
}
