package server

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// flakyListener fails its first fails calls of Accept with err, then
// accepts on the real listener; it records whether it was closed.
type flakyListener struct {
	net.Listener
	mu     sync.Mutex
	fails  int
	err    error
	closed bool
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.fails > 0 {
		l.fails--
		l.mu.Unlock()
		return nil, l.err
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

func (l *flakyListener) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return l.Listener.Close()
}

func (l *flakyListener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// TestAcceptResourceShortage: an Accept that fails for want of file
// descriptors is retried on the same listener (the socket file and the
// backlog stay); one that fails otherwise closes the listener and binds
// a new one.
func TestAcceptResourceShortage(t *testing.T) {
	t.Parallel()
	acceptErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "accept", Net: "unix", Err: os.NewSyscallError("accept4", errno)}
	}
	for _, tc := range []struct {
		name     string
		err      error
		relisten bool
	}{
		{"out of descriptors", acceptErr(syscall.EMFILE), false},
		{"system out of descriptors", acceptErr(syscall.ENFILE), false},
		{"listener broken", acceptErr(syscall.EINVAL), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ep := Endpoint{Net: "unix", Addr: filepath.Join(t.TempDir(), "s.sock")}
			real, err := listen(ep)
			if err != nil {
				t.Fatal(err)
			}
			ln := &flakyListener{Listener: real, fails: 5, err: tc.err}
			ctx, cancel := context.WithCancel(context.Background())
			handled := make(chan net.Listener, 1)
			tracked := make(chan net.Listener, 1)
			var wg sync.WaitGroup
			wg.Go(func() {
				serveListener(ctx, ep, ln, slog.New(slog.DiscardHandler),
					func(l net.Listener) bool { tracked <- l; return true },
					func(l net.Listener, conn net.Conn, _ uint64) { conn.Close(); handled <- l })
			})
			var bound net.Listener // the new listener, if one was bound
			defer func() {
				cancel()
				ln.Close()
				if bound == nil {
					select {
					case bound = <-tracked:
					default:
					}
				}
				if bound != nil {
					bound.Close()
				}
				wg.Wait()
			}()
			if tc.relisten {
				// The failing listener's backlog is gone with it: connect
				// to the new one.
				select {
				case bound = <-tracked:
				case <-time.After(10 * time.Second):
					t.Fatal("no new listener was bound")
				}
			}
			conn, err := net.Dial("unix", ep.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var by net.Listener
			select {
			case by = <-handled:
			case <-time.After(10 * time.Second):
				t.Fatal("the connection was never handled")
			}
			if tc.relisten {
				if by != bound || !ln.isClosed() {
					t.Errorf("handled by the failing listener (closed %v), want a new one", ln.isClosed())
				}
				return
			}
			if by != net.Listener(ln) || ln.isClosed() {
				t.Errorf("handled by %v, closed %v: want the same listener, open", by, ln.isClosed())
			}
			select {
			case <-tracked:
				t.Error("a new listener was bound for a resource shortage")
			default:
			}
		})
	}
}
