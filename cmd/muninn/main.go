// Command muninn accepts traces, metrics and data points forwarded by
// cardano-nodes, as a drop-in replacement for cardano-tracer: it reads
// cardano-tracer's configuration file and flags, and writes its log
// layout. Without --config it runs on a built-in configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"muninn/config"
	"muninn/logging"
	"muninn/server"
)

// version is the release; set with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// shutdownGrace bounds a graceful stop; past it, writes still pending are
// abandoned.
const shutdownGrace = 30 * time.Second

func main() {
	// A broken standard output (a log shipper's pipe that died, `| head`)
	// must not kill Muninn in the middle of writing traces: without this,
	// Go's runtime exits on the next log line with SIGPIPE. Writes to the
	// pipe then fail with EPIPE, and the log line is lost, not the traces.
	signal.Ignore(syscall.SIGPIPE)
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, sig))
}

type flags struct {
	config, stateDir, minSeverity string
	version, help                 bool
}

func parseFlags(args []string, stderr io.Writer) (flags, *flag.FlagSet, error) {
	var f flags
	fs := flag.NewFlagSet("muninn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, n := range []string{"config", "c"} {
		fs.StringVar(&f.config, n, "", "cardano-tracer configuration file (YAML or JSON); without it, the built-in configuration")
	}
	fs.StringVar(&f.stateDir, "state-dir", "", "accepted for compatibility with cardano-tracer, which no longer uses it")
	fs.StringVar(&f.minSeverity, "min-log-severity", "Info", "lowest severity of Muninn's own messages: Debug, Info, Notice, Warning, Error, Critical, Alert or Emergency")
	for _, n := range []string{"version", "v"} {
		fs.BoolVar(&f.version, n, false, "print the version and exit")
	}
	for _, n := range []string{"help", "h"} {
		fs.BoolVar(&f.help, n, false, "print this help and exit")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: muninn [--config FILE] [--state-dir DIR] [--min-log-severity SEVERITY] [--version] [--help]\n\n")
		fmt.Fprintf(stderr, "Accepts traces, metrics and data points forwarded by cardano-nodes (a drop-in for cardano-tracer).\n\n")
		fs.PrintDefaults()
	}
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintln(stderr, err)
		fs.Usage()
	}
	return f, fs, err
}

func run(args []string, stdout, stderr io.Writer, sig <-chan os.Signal) int {
	f, fs, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return 1
	case f.help:
		fs.SetOutput(stdout)
		fs.Usage()
		return 0
	case f.version:
		fmt.Fprintf(stdout, "muninn %s (cardano-tracer 0.5.0 compatible)\n", version)
		return 0
	}
	level := new(slog.LevelVar)
	lv, err := parseSeverity(f.minSeverity)
	if err != nil {
		fmt.Fprintln(stderr, "muninn: --min-log-severity:", err)
		return 1
	}
	level.Set(lv)

	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "muninn: working directory:", err)
		return 1
	}
	cfg, warnings, err := loadConfig(f.config, wd)
	if err != nil {
		fmt.Fprintf(stderr, "muninn: %v\n", err)
		return 1
	}
	r := &running{path: f.config, wd: wd, cfg: cfg, severity: lv, level: level, hide: new(atomic.Bool)}
	r.applyVerbosity(cfg.Verbosity)
	r.log = newLogger(stdout, level, r.hide)
	for _, w := range warnings {
		r.log.Warn("configuration: "+w.Message, "key", w.Path, "line", w.Line)
	}
	for _, k := range notYetServed(cfg) {
		r.log.Warn("configuration key not supported by this version; ignored", "key", k)
	}
	return serve(r, stderr, sig)
}

func loadConfig(path, wd string) (*config.Config, []config.Warning, error) {
	if path == "" {
		return config.Default(wd), nil, nil
	}
	return config.Load(path, config.WithWorkDir(wd))
}

func serve(r *running, banner io.Writer, sig <-chan os.Signal) int {
	cfg, path, log := r.cfg, r.path, r.log
	logs, err := logging.New(logConfig(cfg, log))
	if err != nil {
		log.Error("start log writer", "err", err)
		return 1
	}
	defer func() {
		if err := logs.Close(); err != nil {
			log.Error("close log writer", "err", err)
		}
	}()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := server.NewMetrics(reg)
	if err != nil {
		log.Error("register metrics", "err", err)
		return 1
	}
	opts := serverOptions(cfg, logs, metrics, log)
	var rf *server.Reforwarder
	if cfg.HasForwarding != nil {
		if rf, err = server.NewReforwarder(reforwardOptions(cfg, reg, metrics, log)); err != nil {
			log.Error("start re-forwarding", "err", err)
			return 1
		}
		if err := rf.Listen(); err != nil {
			log.Error("cannot listen for downstream acceptors", "err", err)
			return 1
		}
		defer rf.Close()
		opts.Reforward = rf
	}
	srv, err := server.New(opts)
	if err != nil {
		log.Error("start server", "err", err)
		return 1
	}
	if err := srv.Listen(); err != nil {
		log.Error("cannot listen for nodes", "err", err)
		return 1
	}
	web := srv.NewHTTP(server.PrometheusConfig{
		NoSuffix: cfg.MetricsNoSuffix, Help: loadHelp(cfg, log), Labels: cfg.PrometheusLabels, Gatherer: reg,
	})
	https, err := server.ListenHTTP(httpEndpoints(cfg, web, log), log)
	if err != nil {
		log.Error("cannot serve HTTP", "err", err)
		srv.Close()
		return 1
	}
	r.logs, r.srv, r.web, r.metrics, r.reforward = logs, srv, web, metrics, rf
	printBanner(banner, cfg, path)
	log.Info("started", "version", version, "config", configName(path))
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	https.Serve()
	if rf != nil {
		rf.Serve()
	}
	// Background loops end with serve: cancelled, then waited for.
	bg, stopBg := context.WithCancel(context.Background())
	var bgLoops sync.WaitGroup
	defer bgLoops.Wait()
	defer stopBg()
	if cfg.ResourceFreq > 0 {
		bgLoops.Go(func() { reportResources(bg, cfg.ResourceFreq, log) })
	}
	if os.Getenv("GOGC") == "" {
		bgLoops.Go(func() { tuneGC(bg) })
	}
	for {
		select {
		case err := <-served:
			log.Error("server stopped", "err", err)
			return 1
		case s := <-sig:
			if s == syscall.SIGHUP {
				r.reload()
				continue
			}
			log.Info("stopping", "state", s.String())
			ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
			err := srv.Shutdown(ctx)
			<-served
			if rf != nil {
				if rerr := rf.Shutdown(ctx); rerr != nil {
					log.Warn("re-forwarder shutdown", "err", rerr)
				}
			}
			if herr := https.Shutdown(ctx); herr != nil {
				log.Warn("HTTP shutdown", "err", herr)
			}
			cancel()
			if err != nil {
				log.Error("shutdown incomplete", "err", err)
				return 1
			}
			log.Info("stopped")
			return 0
		}
	}
}

func configName(path string) string {
	if path == "" {
		return "built-in"
	}
	return path
}

// printBanner says where Muninn listens and writes, for a person starting it.
func printBanner(w io.Writer, cfg *config.Config, path string) {
	var b strings.Builder
	fmt.Fprintf(&b, "muninn %s: configuration %s, network magic %d\n", version, configName(path), cfg.NetworkMagic)
	for _, a := range cfg.Network.Addresses {
		if cfg.Network.Mode == config.AcceptAt {
			fmt.Fprintf(&b, "  listening for nodes on %s %s", a.Net, a.Addr)
			if a.Net == "unix" {
				fmt.Fprintf(&b, "  (node: --tracer-socket-path-connect %s)", a.Addr)
			} else {
				fmt.Fprintf(&b, "  (node: --tracer-socket-network-connect %s)", a.Addr)
			}
			b.WriteByte('\n')
		} else {
			fmt.Fprintf(&b, "  connecting to node at %s %s\n", a.Net, a.Addr)
		}
	}
	for _, l := range cfg.Logging {
		if l.Mode == config.JournalMode {
			fmt.Fprintf(&b, "  writing %s traces to the systemd journal\n", l.Format)
			continue
		}
		fmt.Fprintf(&b, "  writing %s traces under %s\n", l.Format, l.Root)
	}
	if r := cfg.Rotation; r != nil {
		fmt.Fprintf(&b, "  rotating at %d bytes, keeping %d older files, deleting after %v\n", r.LogLimit, r.KeepFiles, r.MaxAge)
	}
	for _, e := range []struct {
		name string
		ep   *config.Endpoint
	}{{"Prometheus metrics", cfg.HasPrometheus}, {"EKG metrics", cfg.HasEKG}} {
		if e.ep != nil {
			scheme := "http"
			if e.ep.ForceSSL && cfg.TLSCertificate != nil {
				scheme = "https"
			}
			fmt.Fprintf(&b, "  serving %s at %s://%s/\n", e.name, scheme, net.JoinHostPort(e.ep.Host, strconv.Itoa(e.ep.Port)))
		}
	}
	fmt.Fprint(w, b.String())
}
