package server

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"muninn/ekg"
	"muninn/logging"
	"muninn/muxproto"
)

// Metrics are Muninn's own metrics, all prefixed muninn_. They are
// registered on the registry cmd creates (no global registry) and every
// counter is pre-set so that its series exist from the start.
type Metrics struct {
	connections       *prometheus.GaugeVec
	disconnects       *prometheus.CounterVec
	objectsReceived   *prometheus.CounterVec
	bytesReceived     *prometheus.CounterVec
	objectsWritten    *prometheus.CounterVec
	bytesWritten      *prometheus.CounterVec
	writeErrors       prometheus.Counter
	rotations         prometheus.Counter
	ekgPolls          prometheus.Counter
	ekgPollFailures   prometheus.Counter
	ekgDropped        prometheus.Counter
	ingressOverruns   prometheus.Counter
	handshakeRefusals prometheus.Counter
	refused           prometheus.Counter
	reforwardDropped  prometheus.Counter
	reloadSuccessful  prometheus.Gauge
	reloads           *prometheus.CounterVec
}

// Connection states of muninn_connections.
const (
	stateHandshaking = "handshaking"
	stateConnected   = "connected"
)

var allReasons = []CloseReason{ReasonShutdown, ReasonPeerClosed, ReasonHandshakeRefused, ReasonHandshakeTimeout,
	ReasonHandshakeFailed, ReasonProtocolViolation, ReasonIngressOverrun, ReasonTimeout, ReasonProtocolDone, ReasonError}

// NewMetrics creates Muninn's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "muninn_connections",
			Help: "Node connections, by state."}, []string{"state"}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "muninn_disconnects_total",
			Help: "Node connections that ended, by reason."}, []string{"reason"}),
		objectsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "muninn_trace_objects_received_total",
			Help: "Trace objects received, by node."}, []string{"node_name"}),
		bytesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "muninn_trace_bytes_received_total",
			Help: "Encoded trace-object replies received, in bytes, by node."}, []string{"node_name"}),
		objectsWritten: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "muninn_trace_objects_written_total",
			Help: "Trace objects written to every log entry, by node."}, []string{"node_name"}),
		bytesWritten: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "muninn_trace_bytes_written_total",
			Help: "Bytes written to trace log files, by node."}, []string{"node_name"}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "muninn_log_write_errors_total",
			Help: "Failed attempts to write trace logs (each is retried)."}),
		rotations: prometheus.NewCounter(prometheus.CounterOpts{Name: "muninn_log_rotations_total",
			Help: "Log files replaced because they reached the size limit."}),
		ekgPolls: prometheus.NewCounter(prometheus.CounterOpts{Name: "muninn_ekg_polls_total",
			Help: "EKG metric responses received from nodes."}),
		ekgPollFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "muninn_ekg_poll_failures_total",
			Help: "EKG polls that ended with an error other than a disconnect or shutdown."}),
		ekgDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "muninn_ekg_metrics_dropped_total",
			Help: fmt.Sprintf("EKG metric reports left out: new names beyond muninnLimits.maxMetricsPerNode, names longer than %d bytes, "+
				"and reports that would take a node's names and label texts over %d bytes per name allowed.", ekg.MaxNameLen, ekg.BytesPerMetric)}),
		ingressOverruns: prometheus.NewCounter(prometheus.CounterOpts{Name: "muninn_ingress_overruns_total",
			Help: "Connections closed because a node sent more than the ingress limit."}),
		handshakeRefusals: prometheus.NewCounter(prometheus.CounterOpts{Name: "muninn_handshake_refusals_total",
			Help: "Handshakes refused (by Muninn or by the node), e.g. for a network magic mismatch."}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "muninn_connections_refused_total",
			Help: "Node connections refused because maxConnections were already open."}),
		reforwardDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "muninn_reforward_dropped_total",
			Help: "Trace objects dropped from re-forwarding queues."}),
		reloadSuccessful: prometheus.NewGauge(prometheus.GaugeOpts{Name: "muninn_config_last_reload_successful",
			Help: "Whether the last configuration load succeeded (1) or not (0)."}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "muninn_config_reloads_total",
			Help: "Configuration reloads, by result."}, []string{"result"}),
	}
	cs := []prometheus.Collector{m.connections, m.disconnects, m.objectsReceived, m.bytesReceived, m.objectsWritten, m.bytesWritten,
		m.writeErrors, m.rotations, m.ekgPolls, m.ekgPollFailures, m.ekgDropped, m.ingressOverruns, m.handshakeRefusals,
		m.refused, m.reforwardDropped, m.reloadSuccessful, m.reloads}
	var errs []error
	for _, c := range cs {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.connections.WithLabelValues(stateHandshaking)
	m.connections.WithLabelValues(stateConnected)
	for _, r := range allReasons {
		m.disconnects.WithLabelValues(string(r))
	}
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	m.reloadSuccessful.Set(1) // the configuration Muninn started with was valid
	return m, nil
}

// ReforwardDropped counts objects dropped from a downstream's queue.
func (m *Metrics) ReforwardDropped(n int) { m.reforwardDropped.Add(float64(n)) }

// ConfigReloaded records the outcome of a configuration reload.
func (m *Metrics) ConfigReloaded(ok bool) {
	if ok {
		m.reloadSuccessful.Set(1)
		m.reloads.WithLabelValues("success").Inc()
		return
	}
	m.reloadSuccessful.Set(0)
	m.reloads.WithLabelValues("failure").Inc()
}

// GathererSource serves Prometheus metrics (Muninn's own) as EKG metrics,
// for the re-forwarder's downstream acceptors: counters as counters,
// gauges and untyped values as gauges (whole numbers), each label pair
// appended to the name as ".label.value". Histograms and summaries are
// left out.
type GathererSource struct{ G prometheus.Gatherer }

// Sample implements ekg.Source.
func (s GathererSource) Sample() []ekg.Metric {
	mfs, err := s.G.Gather()
	if err != nil && len(mfs) == 0 {
		return nil
	}
	var out []ekg.Metric
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "." + l.GetName() + "." + l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				out = append(out, ekg.Metric{Name: name, Value: ekg.Counter(int64(m.GetCounter().GetValue()))})
			case m.GetGauge() != nil:
				out = append(out, ekg.Metric{Name: name, Value: ekg.Gauge(int64(m.GetGauge().GetValue()))})
			case m.GetUntyped() != nil:
				out = append(out, ekg.Metric{Name: name, Value: ekg.Gauge(int64(m.GetUntyped().GetValue()))})
			}
		}
	}
	return out
}

// closed records the end of a session.
func (m *Metrics) closed(err error) {
	r := classify(err)
	m.disconnects.WithLabelValues(string(r)).Inc()
	if errors.Is(err, muxproto.ErrIngressOverrun) || errors.Is(err, muxproto.ErrMessageTooLarge) {
		m.ingressOverruns.Inc()
	}
}

// nodeCounters are one node's trace counters, looked up once when its
// log files are opened rather than by label on every batch.
type nodeCounters struct {
	objectsReceived, bytesReceived prometheus.Counter
	objectsWritten, bytesWritten   prometheus.Counter
	m                              *Metrics
	node                           string
	prev                           logging.Stats
}

func (m *Metrics) forNode(node string) *nodeCounters {
	return &nodeCounters{
		objectsReceived: m.objectsReceived.WithLabelValues(node),
		bytesReceived:   m.bytesReceived.WithLabelValues(node),
		objectsWritten:  m.objectsWritten.WithLabelValues(node),
		bytesWritten:    m.bytesWritten.WithLabelValues(node),
		m:               m,
		node:            node,
	}
}

// forget removes the node's series when its session has ended. A node
// without a name of its own is named by its connection (a Unix socket's
// counter, a TCP peer's port), so each of its connections makes a new
// name; kept, their series would grow without bound, on /metrics and
// in what the re-forwarder sends. A node that comes back under the same
// name starts its counters again from zero, which Prometheus reads as a
// counter reset.
func (c *nodeCounters) forget() {
	for _, v := range []*prometheus.CounterVec{c.m.objectsReceived, c.m.bytesReceived, c.m.objectsWritten, c.m.bytesWritten} {
		v.DeleteLabelValues(c.node)
	}
}

// received counts a batch taken from the node.
func (c *nodeCounters) received(objects, bytes int) {
	c.objectsReceived.Add(float64(objects))
	c.bytesReceived.Add(float64(bytes))
}

// logDelta adds what the node's log files did since the last call.
func (c *nodeCounters) logDelta(now logging.Stats) {
	c.objectsWritten.Add(float64(now.Objects - c.prev.Objects))
	c.bytesWritten.Add(float64(now.Bytes - c.prev.Bytes))
	// Errors and rotations are rare; the counters are shared by every
	// node, so skip the atomic add of a zero.
	if d := now.WriteErrors - c.prev.WriteErrors; d != 0 {
		c.m.writeErrors.Add(float64(d))
	}
	if d := now.Rotations - c.prev.Rotations; d != 0 {
		c.m.rotations.Add(float64(d))
	}
	c.prev = now
}
