// Command muninn-probe is the cheapest honest trace acceptor: the yardstick
// a performance run measures Muninn against ("Muninn achieves X % of the
// probe" on the same machine, in the same run).
//
// It accepts node connections (the tracer's AcceptAt), runs the forwarding
// handshake and, per connection, asks lock-step for blocking batches of
// --request-num trace objects, appending each object's toMachine text and
// a newline to <dir>/conn-<n>.json (n counts connections from 1; the file
// must not exist) through a 64 KiB buffer flushed after every reply. There
// is no rotation, no fsync, no metrics, no EKG or DataPoint polling.
//
// Once listening it prints {"listening":"<address>"} on stdout. On SIGINT
// or SIGTERM it closes the listener and the connections, flushes and
// closes the files, prints a summary ({"connections":…,"objects":…,
// "bytes":…,…}) on stdout and exits 0. Diagnostics go to stderr as JSON.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(command(os.Args[1:], os.Stdout, os.Stderr)) }

func command(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("muninn-probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o          options
		magic      uint64
		requestNum uint64
	)
	fs.StringVar(&o.listen, "listen", "", "address to accept nodes on: a Unix socket path or host:port (required)")
	fs.StringVar(&o.dir, "dir", "", "directory of the conn-<n>.json files, created if missing (required)")
	fs.Uint64Var(&magic, "magic", 764824073, "network magic")
	fs.Uint64Var(&requestNum, "request-num", 100, "trace objects asked for per request")
	fs.BoolVar(&o.lockstep, "lockstep", false, "ask for the next batch only after writing the last (cardano-tracer's way); by default the next request leaves as soon as a reply arrives")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.listen == "" || o.dir == "" || fs.NArg() > 0 || magic > math.MaxUint32 || requestNum < 1 || requestNum > math.MaxUint16 {
		fmt.Fprintln(stderr, "muninn-probe: give --listen and --dir, no arguments, a 32-bit --magic and a --request-num of 1 to 65535")
		return 2
	}
	o.magic, o.requestNum = uint32(magic), uint16(requestNum)
	o.log = slog.New(slog.NewJSONHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, stdout); err != nil {
		o.log.Error("muninn-probe", "err", err)
		return 1
	}
	return 0
}
