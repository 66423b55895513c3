package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"syscall"
	"time"

	"muninn/naming"
)

// Endpoint is one forwarding address: a Unix socket path or TCP host:port.
type Endpoint struct {
	Net  string // "unix" or "tcp"
	Addr string // what to listen on or dial
	// Raw is the address as the configuration wrote it, which cardano-tracer
	// uses in NodeIds (a relative socket path stays relative); Addr when empty.
	Raw string
}

func (e Endpoint) raw() string {
	if e.Raw != "" {
		return e.Raw
	}
	return e.Addr
}

func (e Endpoint) String() string { return e.Net + ":" + e.Addr }

// ErrSocketInUse: a Unix socket path to listen on already has a listener.
var ErrSocketInUse = errors.New("another process is listening on the socket")

// Back-off bounds, as cardano-tracer's retry loops have them.
var (
	relistenBackoff = backoff{Min: time.Second, Max: 10 * time.Second}
	redialBackoff   = backoff{Min: time.Second, Max: 30 * time.Second}
)

// listen binds an AcceptAt endpoint. For a Unix socket, a file left by a
// crashed process is removed first, but only when it is a socket and
// nothing answers on it; a live socket or any other kind of file is an
// error that says so.
func listen(ep Endpoint) (net.Listener, error) {
	if ep.Net == "unix" {
		if err := removeStaleSocket(ep.Addr); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen(ep.Net, ep.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", ep, err)
	}
	return ln, nil
}

func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("check socket path: %w", err)
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("socket path %s exists and is not a socket (%v); not removing it", path, fi.Mode().Type())
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		if cerr := c.Close(); cerr != nil {
			return fmt.Errorf("%w: %s (close probe: %w)", ErrSocketInUse, path, cerr)
		}
		return fmt.Errorf("%w: %s", ErrSocketInUse, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("probe socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

// acceptLoop accepts connections on ln until ctx ends. If the listener
// fails, it is bound again with back-off. The Unix-socket NodeId counter
// starts at 0 for every listener, as in cardano-tracer.
func (s *Server) acceptLoop(ctx context.Context, ep Endpoint, ln net.Listener) {
	serveListener(ctx, ep, ln, s.log, s.track, func(ln net.Listener, conn net.Conn, counter uint64) {
		s.startSession(ctx, conn, acceptedID(ep, ln.Addr(), conn.RemoteAddr(), counter), false)
	})
}

// serveListener accepts on ln until ctx ends and hands each connection to
// handle with the listener that accepted it and its Unix-socket counter
// (0, 1, … per listener; always 0 on TCP). When Accept fails for want of
// a resource (file descriptors, memory), it waits and accepts again on
// the same listener, so that the nodes queued in its backlog, and the
// socket file, are kept. When it fails otherwise, the listener is closed
// and bound again with back-off, and track records the new one (false:
// shutting down, stop).
func serveListener(ctx context.Context, ep Endpoint, ln net.Listener, log *slog.Logger,
	track func(net.Listener) bool, handle func(ln net.Listener, conn net.Conn, counter uint64)) {
	b := relistenBackoff
	for {
		up := time.Now()
		var counter uint64
		var short time.Duration // current wait while resources are short; 0: none
		shortCount := 0
		for {
			conn, err := ln.Accept()
			if err != nil && ctx.Err() == nil && resourceShortage(err) {
				shortCount++
				if short == 0 {
					short = acceptRetryMin
					log.Error("accept failed for want of a resource; accepting again on the same listener", "remote", ep.String(), "err", err)
				} else {
					short = min(2*short, acceptRetryMax)
				}
				if sleep(ctx, short) {
					continue
				}
			}
			if err != nil {
				if ctx.Err() == nil {
					log.Error("accept failed; listening again", "remote", ep.String(), "err", err)
				}
				break
			}
			if short != 0 {
				log.Info("accepting again", "remote", ep.String(), "failed", shortCount)
				short, shortCount = 0, 0
			}
			handle(ln, conn, counter)
			if ep.Net == "unix" {
				counter++
			}
		}
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			log.Warn("close listener", "remote", ep.String(), "err", err)
		}
		for {
			if !sleep(ctx, b.next(time.Since(up))) {
				return
			}
			var err error
			if ln, err = listen(ep); err == nil {
				log.Info("listening again", "remote", ep.String())
				if !track(ln) {
					return
				}
				break
			}
			log.Error("listen failed", "remote", ep.String(), "err", err)
			up = time.Now()
		}
	}
}

// The wait between accepts while a resource is short doubles from
// acceptRetryMin up to acceptRetryMax.
const (
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = time.Second
)

// resourceShortage reports whether an Accept error means the process or
// the system is short of something that comes back (descriptors, memory):
// the listener itself is sound.
func resourceShortage(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// acceptedID derives cardano-tracer's NodeId for an accepted connection:
// the synthetic <path>@<counter> address on a Unix socket, the peer's
// address on TCP (printed as an IPv6 listener prints it, when it is one).
func acceptedID(ep Endpoint, local, remote net.Addr, counter uint64) string {
	if ep.Net == "unix" {
		return naming.NodeID(naming.AcceptUnixPeer(ep.raw(), counter))
	}
	if a, ok := local.(*net.TCPAddr); ok && a.IP.To4() == nil {
		return naming.NodeID(naming.TCPPeerOnIPv6Listener(remote))
	}
	return naming.NodeID(naming.TCPPeer(remote))
}

// dialledID derives the NodeId of a ConnectTo connection: the socket path,
// or the resolved peer address (not the configured host name).
func dialledID(ep Endpoint, remote net.Addr) string {
	if ep.Net == "unix" {
		return naming.NodeID(naming.Dialled(ep.raw()))
	}
	return naming.NodeID(naming.TCPPeer(remote))
}

// dialLoop keeps one connection to a ConnectTo address, reconnecting with
// back-off (1 s doubling to 30 s, back to 1 s after 30 s connected).
func (s *Server) dialLoop(ctx context.Context, ep Endpoint) {
	b := redialBackoff
	var d net.Dialer
	for {
		up := time.Now()
		s.log.Info("connecting", "remote", ep.String())
		conn, err := d.DialContext(ctx, ep.Net, ep.Addr)
		if err == nil {
			s.runSession(ctx, conn, dialledID(ep, conn.RemoteAddr()), true)
		} else if ctx.Err() == nil {
			s.log.Warn("connect failed", "remote", ep.String(), "err", err)
		}
		wait := b.next(time.Since(up))
		if ctx.Err() == nil {
			s.log.Info("reconnecting later", "remote", ep.String(), "duration", wait)
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}
