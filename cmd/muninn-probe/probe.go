package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"muninn/datapoint"
	"muninn/ekg"
	"muninn/muxproto"
	"muninn/tracer"
)

// options configure run.
type options struct {
	listen     string // Unix socket path or host:port
	dir        string
	magic      uint32
	requestNum uint16
	lockstep   bool         // request only after the batch is written
	log        *slog.Logger // nil: discarded
}

// writeBuffer is the size of each connection's file buffer.
const writeBuffer = 64 << 10

// protocols are those a node's forwarder runs. EKG and DataPoint are
// never asked for, so nothing arrives on them; they are registered as
// Muninn's session registers them.
var protocols = []muxproto.ProtocolNum{ekg.Protocol, tracer.Protocol, datapoint.Protocol}

// summary is printed when run returns.
type summary struct {
	Connections uint64 `json:"connections"`
	Objects     uint64 `json:"objects"`
	Bytes       uint64 `json:"bytes"`      // written to the files
	ReplyBytes  uint64 `json:"replyBytes"` // of the replies received
	Failed      uint64 `json:"failed"`     // connections ended by an error of their own
}

type probe struct {
	o   options
	log *slog.Logger

	conns, objects, bytes, replyBytes, failed atomic.Uint64
}

// run listens, prints {"listening":…} on stdout, serves every connection
// until ctx ends, then waits for them, prints the summary and returns nil.
// A listener that fails is an error (the summary is printed anyway).
func run(ctx context.Context, o options, stdout io.Writer) error {
	log := o.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &probe{o: o, log: log.With("component", "probe")}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	network, addr := splitAddr(o.listen)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, network, addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(map[string]string{"listening": ln.Addr().String()}); err != nil {
		return errors.Join(fmt.Errorf("write listening line: %w", err), ln.Close())
	}
	p.log.Info("listening", "remote", ln.Addr().String())
	serr := p.serve(ctx, ln)
	s := summary{Connections: p.conns.Load(), Objects: p.objects.Load(), Bytes: p.bytes.Load(),
		ReplyBytes: p.replyBytes.Load(), Failed: p.failed.Load()}
	p.log.Info("stopped", "count", s.Objects, "bytes", s.Bytes)
	if err := enc.Encode(s); err != nil {
		return errors.Join(serr, fmt.Errorf("write summary: %w", err))
	}
	return serr
}

// serve accepts until ctx ends or the listener fails, then stops the
// connections and waits for them.
func (p *probe) serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	closeListener := sync.OnceFunc(func() {
		if err := ln.Close(); err != nil {
			p.log.Debug("close listener", "err", err)
		}
	})
	defer closeListener()
	stop := context.AfterFunc(ctx, closeListener)
	defer stop()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil
		case isTemporary(err):
			// Out of descriptors, say: wait as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			p.log.Warn("accept", "err", err, "duration", backoff.String())
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		default:
			return fmt.Errorf("accept: %w", err)
		}
		backoff = 0
		n := p.conns.Add(1)
		wg.Go(func() { p.connection(ctx, conn, n) })
	}
}

func isTemporary(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.ECONNABORTED)
}

// connection serves one node until ctx ends or the connection fails, and
// logs how it ended, once.
func (p *probe) connection(ctx context.Context, conn net.Conn, n uint64) {
	remote := conn.RemoteAddr().String()
	if remote == "" || remote == "@" {
		remote = conn.LocalAddr().String()
	}
	log := p.log.With("node", "conn-"+strconv.FormatUint(n, 10), "remote", remote)
	objects, err := p.session(ctx, conn, n, log)
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		log.Info("disconnected", "reason", "stopped", "count", objects)
	case errors.Is(err, muxproto.ErrPeerClosed):
		log.Info("disconnected", "reason", "peer closed", "count", objects)
	default:
		p.failed.Add(1)
		log.Warn("disconnected", "reason", "error", "err", err, "count", objects)
	}
}

// session runs the handshake and the request loop on conn, which it
// closes, and returns the number of objects written.
func (p *probe) session(ctx context.Context, conn net.Conn, n uint64, log *slog.Logger) (uint64, error) {
	if _, err := muxproto.ServerHandshake(ctx, conn, muxproto.HandshakeConfig{NetworkMagic: p.o.magic}); err != nil {
		return 0, errors.Join(fmt.Errorf("handshake: %w", err), closeConn(conn))
	}
	mux, err := muxproto.New(conn, muxproto.FromResponder, protocols, muxproto.Config{}, log)
	if err != nil {
		return 0, errors.Join(err, closeConn(conn))
	}
	defer mux.Close()
	name := filepath.Join(p.o.dir, "conn-"+strconv.FormatUint(n, 10)+".json")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, fmt.Errorf("open output: %w", err)
	}
	w := bufio.NewWriterSize(f, writeBuffer)
	ch := mux.Channel(tracer.Protocol)
	ch.PoolMessages() // handle releases each reply once it is written
	objects, err := p.loop(ctx, ch, w)
	if ferr := w.Flush(); ferr != nil {
		err = errors.Join(err, fmt.Errorf("flush output: %w", ferr))
	}
	if cerr := f.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close output: %w", cerr))
	}
	return objects, err
}

func closeConn(conn net.Conn) error {
	if err := conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close connection: %w", err)
	}
	return nil
}

// loop asks for a blocking batch, waits for the reply, writes it and
// flushes, until ctx ends or the connection fails. Unless lockstep, the
// next request leaves as soon as a reply has arrived, before the batch is
// written, so the node's queue drains while the probe writes: the same
// pipelining as Muninn's acceptor, with nothing else around it.
func (p *probe) loop(ctx context.Context, ch *muxproto.Channel, w *bufio.Writer) (uint64, error) {
	// Sent again and again: the Mux only reads it.
	req := tracer.EncodeRequest(tracer.Request{Blocking: true, Count: p.o.requestNum})
	var objects uint64
	if !p.o.lockstep {
		if err := ch.Send(ctx, req); err != nil {
			return objects, fmt.Errorf("send request: %w", err)
		}
	}
	for {
		if p.o.lockstep {
			if err := ch.Send(ctx, req); err != nil {
				return objects, fmt.Errorf("send request: %w", err)
			}
		}
		msg, err := ch.Recv(ctx)
		if err != nil {
			return objects, fmt.Errorf("receive reply: %w", err)
		}
		if !p.o.lockstep {
			if err := ch.Send(ctx, req); err != nil {
				return objects, fmt.Errorf("send request: %w", err)
			}
		}
		replyBytes := len(msg) // handle releases msg
		n, written, err := p.handle(msg, w)
		if err != nil {
			return objects, err
		}
		objects += uint64(n)
		p.objects.Add(uint64(n))
		p.bytes.Add(uint64(written))
		p.replyBytes.Add(uint64(replyBytes))
	}
}

// handle deals with one reply as Muninn does: it decodes msg in place
// into a pooled batch, checks the batch against the request, writes one
// line per object, flushes, and only then gives msg and the batch back
// (ReleaseMessage, ReleaseBatch), since the batch's strings alias msg. It
// returns the number of objects and of bytes written.
func (p *probe) handle(msg []byte, w *bufio.Writer) (objects, written int, err error) {
	defer muxproto.ReleaseMessage(msg) // nothing reads the batch after handle
	batch, err := decodeBatch(msg, p.o.requestNum)
	if err != nil {
		return 0, 0, err
	}
	defer tracer.ReleaseBatch(batch)
	written, err = writeBatch(w, batch)
	if err != nil {
		return 0, written, err
	}
	return len(batch), written, nil
}

// decodeBatch decodes a reply without copying it (the objects alias msg),
// in a pooled batch, and checks that it holds 1 to requestNum objects.
func decodeBatch(msg []byte, requestNum uint16) ([]tracer.TraceObject, error) {
	batch, err := tracer.DecodeReplyPooled(msg)
	if err != nil {
		return nil, fmt.Errorf("decode reply: %w", err)
	}
	if len(batch) == 0 || len(batch) > int(requestNum) {
		return nil, fmt.Errorf("%w: reply of %d objects to a request of %d", muxproto.ErrDecode, len(batch), requestNum)
	}
	return batch, nil
}

// writeBatch writes each object's toMachine text and a newline, then
// flushes, and returns the number of bytes written.
func writeBatch(w *bufio.Writer, batch []tracer.TraceObject) (int, error) {
	var n int
	for i := range batch {
		k, err := w.WriteString(batch[i].Machine)
		n += k
		if err == nil {
			err = w.WriteByte('\n')
			n++
		}
		if err != nil {
			return n, fmt.Errorf("write output: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return n, fmt.Errorf("write output: %w", err)
	}
	return n, nil
}

// splitAddr tells host:port from a Unix socket path: an address with a
// slash, or without a numeric port, is a path.
func splitAddr(a string) (network, addr string) {
	if strings.ContainsRune(a, '/') {
		return "unix", a
	}
	if _, port, err := net.SplitHostPort(a); err == nil {
		if _, err := strconv.ParseUint(port, 10, 16); err == nil {
			return "tcp", a
		}
	}
	return "unix", a
}
