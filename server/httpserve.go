package server

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// HTTPEndpoint is one HTTP server: hasPrometheus or hasEKG.
type HTTPEndpoint struct {
	Name    string // the configuration key, for messages
	Host    string // a warp host preference: an address, "*", "*4", "!4", "*6" or "!6"
	Port    int
	TLS     *TLSFiles // nil: plain HTTP
	Handler http.Handler
	Limits  HTTPLimits
}

// HTTPLimits protect an HTTP port from slow or numerous clients (the same
// concern as cardano-tracer's DDoS-protection middleware). Zero fields take
// the defaults shown.
type HTTPLimits struct {
	MaxConcurrent     int           // requests served at once; more get 503 (64)
	ReadHeaderTimeout time.Duration // 10 s
	IdleTimeout       time.Duration // 2 min
	MaxHeaderBytes    int           // 64 KiB
}

func (l HTTPLimits) withDefaults() HTTPLimits {
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = 64
	}
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = 10 * time.Second
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 2 * time.Minute
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 64 << 10
	}
	return l
}

// limitConcurrency answers 503 at once when max requests are in progress,
// so a flood of scrapes cannot queue up behind each other.
func limitConcurrency(max int, h http.Handler) http.Handler {
	sem := make(chan struct{}, max) // one token per request in progress
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
			h.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Too many concurrent requests", http.StatusServiceUnavailable)
		}
	})
}

// TLSFiles are the certificate files of tlsCertificate.
type TLSFiles struct {
	Cert, Key string
	Chain     []string
}

// listenAddr maps a warp host preference onto a Go network and address.
func listenAddr(host string, port int) (network, addr string) {
	p := strconv.Itoa(port)
	switch host {
	case "*":
		return "tcp", ":" + p
	case "*4", "!4":
		return "tcp4", "0.0.0.0:" + p
	case "*6", "!6":
		return "tcp6", "[::]:" + p
	}
	return "tcp", net.JoinHostPort(host, p)
}

// loadTLS reads the certificate, its key and any chain certificates.
func loadTLS(f *TLSFiles) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("load certificate: %w", err)
	}
	for _, path := range f.Chain {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read certificate chain: %w", err)
		}
		found := false
		for {
			var block *pem.Block
			block, data = pem.Decode(data)
			if block == nil {
				break
			}
			if block.Type == "CERTIFICATE" {
				cert.Certificate = append(cert.Certificate, block.Bytes)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("certificate chain %s: no PEM certificate in it", path)
		}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// HTTPServers are the bound HTTP endpoints.
type HTTPServers struct {
	log     *slog.Logger
	servers []*http.Server
	lns     []net.Listener
	wg      sync.WaitGroup
}

// ListenHTTP binds every endpoint, so that a port in use stops start-up
// with a clear error (cardano-tracer's warp brings the process down later).
func ListenHTTP(eps []HTTPEndpoint, log *slog.Logger) (*HTTPServers, error) {
	h := &HTTPServers{log: log.With("component", "http")}
	for _, ep := range eps {
		network, addr := listenAddr(ep.Host, ep.Port)
		lim := ep.Limits.withDefaults()
		srv := &http.Server{
			Handler:           limitConcurrency(lim.MaxConcurrent, ep.Handler),
			ReadHeaderTimeout: lim.ReadHeaderTimeout,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       lim.IdleTimeout,
			MaxHeaderBytes:    lim.MaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
		}
		if ep.TLS != nil {
			cfg, err := loadTLS(ep.TLS)
			if err != nil {
				h.closeListeners()
				return nil, fmt.Errorf("%s: %w", ep.Name, err)
			}
			srv.TLSConfig = cfg
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			h.closeListeners()
			return nil, fmt.Errorf("%s: listen on %s: %w", ep.Name, addr, err)
		}
		if srv.TLSConfig != nil {
			ln = tls.NewListener(ln, srv.TLSConfig)
		}
		scheme := "http"
		if srv.TLSConfig != nil {
			scheme = "https"
		}
		h.log.Info("serving "+ep.Name, "remote", scheme+"://"+ln.Addr().String())
		h.servers = append(h.servers, srv)
		h.lns = append(h.lns, ln)
	}
	return h, nil
}

func (h *HTTPServers) closeListeners() {
	for _, ln := range h.lns {
		if err := ln.Close(); err != nil {
			h.log.Debug("close listener", "err", err)
		}
	}
}

// Addrs returns the bound addresses, in the order of the endpoints.
func (h *HTTPServers) Addrs() []net.Addr {
	out := make([]net.Addr, len(h.lns))
	for i, ln := range h.lns {
		out[i] = ln.Addr()
	}
	return out
}

// Serve starts serving every endpoint in the background.
func (h *HTTPServers) Serve() {
	for i, srv := range h.servers {
		ln := h.lns[i]
		h.wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				h.log.Error("HTTP server stopped", "err", err)
			}
		})
	}
}

// Shutdown stops every endpoint, letting requests in progress finish.
func (h *HTTPServers) Shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range h.servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	h.wg.Wait()
	return errors.Join(errs...)
}
