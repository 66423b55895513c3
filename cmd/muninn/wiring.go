package main

import (
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"muninn/datapoint"
	"muninn/ekg"
	"muninn/muxproto"

	"muninn/config"
	"muninn/logging"
	"muninn/server"
)

// logConfig maps the file's logging entries and rotation onto the writer.
func logConfig(cfg *config.Config, log *slog.Logger) logging.Config {
	lc := logging.Config{Log: log.With("component", "logging")}
	for _, e := range cfg.Logging {
		entry := logging.Entry{Root: e.Root, Mode: logging.FileMode, Format: logging.ForMachine}
		if e.Mode == config.JournalMode {
			entry.Mode = logging.JournalMode
		}
		if e.Format == config.ForHuman {
			entry.Format = logging.ForHuman
		}
		lc.Entries = append(lc.Entries, entry)
	}
	if r := cfg.Rotation; r != nil {
		lc.Rotation = &logging.Rotation{Frequency: r.Frequency, LimitBytes: r.LogLimit, KeepFiles: r.KeepFiles, MaxAge: r.MaxAge}
	}
	return lc
}

// serverOptions maps the file's network settings onto the server.
func serverOptions(cfg *config.Config, logs *logging.Writer, m *server.Metrics, log *slog.Logger) server.Options {
	o := server.Options{
		NetworkMagic:      cfg.NetworkMagic,
		RequestNum:        cfg.LoRequestNum,
		EKGPeriod:         cfg.EKGRequestFreq,
		EKGFull:           cfg.EKGRequestFull,
		Logs:              logs,
		Log:               log,
		Metrics:           m,
		MaxConnections:    cfg.Limits.MaxConnections,
		MaxMetricsPerNode: cfg.Limits.MaxMetricsPerNode,
		Mux:               muxproto.Config{IngressLimit: cfg.Limits.IngressLimit, MaxMessageSize: cfg.Limits.MaxMessageSize},
	}
	for _, a := range cfg.Network.Addresses {
		ep := server.Endpoint{Net: a.Net, Addr: a.Addr, Raw: a.Raw}
		if cfg.Network.Mode == config.AcceptAt {
			o.AcceptAt = append(o.AcceptAt, ep)
		} else {
			o.ConnectTo = append(o.ConnectTo, ep)
		}
	}
	return o
}

// notYetServed lists configured features this version does not provide,
// so that start-up says so instead of silently ignoring them.
func notYetServed(cfg *config.Config) []string {
	var out []string
	if cfg.HasTimeseries != nil {
		out = append(out, "hasTimeseries")
	}
	return out
}

// reforwardOptions maps hasForwarding onto the re-forwarder: where to
// listen or dial, the namespace filter, the queue per downstream, and what
// downstream acceptors are told about this Muninn.
func reforwardOptions(cfg *config.Config, self prometheus.Gatherer, m *server.Metrics, log *slog.Logger) server.ReforwardOptions {
	f := cfg.HasForwarding
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	host, _, _ = strings.Cut(host, ".")
	o := server.ReforwardOptions{
		NetworkMagic:      cfg.NetworkMagic,
		Namespaces:        f.Namespaces,
		QueueSize:         f.QueueSize,
		MaxReconnectDelay: f.MaxReconnectDelay,
		Self:              server.GathererSource{G: self},
		NodeInfo: datapoint.NodeInfo{Name: "muninn-" + host, Protocol: "Muninn", Version: version,
			StartTime: time.Now().UTC(), SystemStartTime: time.Now().UTC()},
		OnDrop: func(_ string, n int) { m.ReforwardDropped(n) },
		Log:    log.With("component", "reforward"),
	}
	for _, a := range f.Network.Addresses {
		ep := server.Endpoint{Net: a.Net, Addr: a.Addr, Raw: a.Raw}
		if f.Network.Mode == config.AcceptAt {
			o.AcceptAt = append(o.AcceptAt, ep)
		} else {
			o.ConnectTo = append(o.ConnectTo, ep)
		}
	}
	return o
}

// loadHelp reads metricsHelp. A file that cannot be read is a warning and
// no help text (cardano-tracer ignores it silently).
func loadHelp(cfg *config.Config, log *slog.Logger) *ekg.Help {
	mh := cfg.MetricsHelp
	switch {
	case mh == nil:
		return nil
	case mh.File != "":
		h, err := ekg.LoadHelp(mh.File)
		if err != nil {
			log.Warn("metricsHelp cannot be used; serving metrics without help text", "key", "metricsHelp", "err", err)
			return nil
		}
		return h
	}
	return ekg.NewHelp(mh.Map)
}

// httpEndpoints maps hasPrometheus and hasEKG onto HTTP servers.
func httpEndpoints(cfg *config.Config, h *server.HTTP, log *slog.Logger) []server.HTTPEndpoint {
	var out []server.HTTPEndpoint
	add := func(name string, ep *config.Endpoint, handler http.Handler) {
		if ep == nil {
			return
		}
		e := server.HTTPEndpoint{Name: name, Host: ep.Host, Port: ep.Port, Handler: handler, Limits: server.HTTPLimits{
			MaxConcurrent:     cfg.Limits.HTTPMaxConcurrent,
			ReadHeaderTimeout: cfg.Limits.HTTPReadHeaderTimeout,
			IdleTimeout:       cfg.Limits.HTTPIdleTimeout,
			MaxHeaderBytes:    cfg.Limits.HTTPMaxHeaderBytes,
		}}
		if ep.ForceSSL {
			if t := cfg.TLSCertificate; t != nil {
				e.TLS = &server.TLSFiles{Cert: t.CertFile, Key: t.KeyFile, Chain: t.Chain}
			} else {
				log.Warn("epForceSSL is set but there is no tlsCertificate; serving plain HTTP", "key", name)
			}
		}
		out = append(out, e)
	}
	add("hasPrometheus", cfg.HasPrometheus, h.PrometheusHandler())
	add("hasEKG", cfg.HasEKG, h.EKGHandler())
	return out
}
