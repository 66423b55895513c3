package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"muninn/ekg"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

func TestHTTPSWithChain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, cert := selfSigned(t, dir, "server")
	chainFile, _, _ := selfSigned(t, dir, "intermediate")
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	hs, err := ListenHTTP([]HTTPEndpoint{{Name: "hasPrometheus", Host: "127.0.0.1", Port: 0, Handler: ok,
		TLS: &TLSFiles{Cert: certFile, Key: keyFile, Chain: []string{chainFile}}}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hs.Serve()
	defer hs.Shutdown(context.Background())
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	addr := hs.Addrs()[0].String()
	res, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || len(res.TLS.PeerCertificates) != 2 {
		t.Fatalf("status %d, %d certificates presented; want 200 and the chain", res.StatusCode, len(res.TLS.PeerCertificates))
	}
	plain := &http.Client{Transport: &http.Transport{}}
	defer plain.CloseIdleConnections()
	if res, err := plain.Get("http://" + addr + "/"); err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Fatal("plain HTTP served on an HTTPS port")
		}
	}
}

func TestHTTPStartupErrors(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	_, err = ListenHTTP([]HTTPEndpoint{{Name: "hasEKG", Host: "127.0.0.1", Port: port, Handler: http.NotFoundHandler()}}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "hasEKG") {
		t.Fatalf("port in use: %v", err)
	}
	_, err = ListenHTTP([]HTTPEndpoint{{Name: "hasPrometheus", Host: "127.0.0.1", Port: 0, Handler: http.NotFoundHandler(),
		TLS: &TLSFiles{Cert: "/nonexistent.pem", Key: "/nonexistent-key.pem"}}}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "hasPrometheus") {
		t.Fatalf("missing certificate: %v", err)
	}
}

func TestListenAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ host, net, addr string }{
		{"127.0.0.1", "tcp", "127.0.0.1:12808"}, {"0.0.0.0", "tcp", "0.0.0.0:12808"}, {"*", "tcp", ":12808"},
		{"*4", "tcp4", "0.0.0.0:12808"}, {"!4", "tcp4", "0.0.0.0:12808"}, {"*6", "tcp6", "[::]:12808"},
		{"::1", "tcp", "[::1]:12808"}, {"localhost", "tcp", "localhost:12808"},
	} {
		if n, a := listenAddr(tc.host, 12808); n != tc.net || a != tc.addr {
			t.Errorf("%q: %s %s, want %s %s", tc.host, n, a, tc.net, tc.addr)
		}
	}
}

// realistic300 is a node's metric set of 300 names and kinds.
func realistic300() []ekg.Metric {
	ms := make([]ekg.Metric, 0, 300)
	for i := range 300 {
		name := "cardano.node.metrics.metric" + strconv.Itoa(i)
		switch i % 4 {
		case 0:
			ms = append(ms, ekg.Metric{Name: name + "_int", Value: ekg.Gauge(int64(i) * 1000003)})
		case 1:
			ms = append(ms, ekg.Metric{Name: name + "_counter", Value: ekg.Counter(int64(i) * 17)})
		case 2:
			ms = append(ms, ekg.Metric{Name: name + "_real", Value: ekg.Label("4.9871e-2")})
		default:
			ms = append(ms, ekg.Metric{Name: "rts.gc.stat" + strconv.Itoa(i), Value: ekg.Counter(int64(i))})
		}
	}
	return ms
}

func fleet(b *testing.B, n int) (*HTTP, []string) {
	s := &Server{log: slog.New(slog.DiscardHandler), reg: NewRegistry()}
	ms := realistic300()
	slugs := make([]string, 0, n)
	for i := range n {
		node := s.reg.add("10.0.0."+strconv.Itoa(i)+":3001", "peer", time.Unix(0, 0))
		id := s.reg.name(node, "relay-"+strconv.Itoa(i), nil)
		node.store.Apply(ms)
		slugs = append(slugs, id.Slug)
	}
	return s.NewHTTP(PrometheusConfig{}), slugs
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkNodeRoute1000 serves one node's exposition with 1000 nodes
// connected and reports the 99th percentile of the request latency.
func BenchmarkNodeRoute1000(b *testing.B) {
	web, slugs := fleet(b, 1000)
	h := web.PrometheusHandler()
	reqs := make([]*http.Request, len(slugs))
	for i, s := range slugs {
		reqs[i], _ = http.NewRequest(http.MethodGet, "/"+s, nil)
		reqs[i].Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	}
	w := &discard{h: http.Header{}}
	var lat []time.Duration
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		start := time.Now()
		h.ServeHTTP(w, reqs[i%len(reqs)])
		lat = append(lat, time.Since(start))
		i++
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkAllMetrics1000 serves /metrics with 1000 nodes of 300 metrics.
func BenchmarkAllMetrics1000(b *testing.B) {
	web, _ := fleet(b, 1000)
	h := web.PrometheusHandler()
	req, _ := http.NewRequest(http.MethodGet, "/metrics", nil)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
