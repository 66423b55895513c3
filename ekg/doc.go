// Package ekg implements the EKG metrics mini-protocol (number 1) of
// cardano-node's trace forwarding: the message codec, the acceptor role that
// polls a node for its metrics (Muninn's side), and the forwarder role that
// answers such polls from a Source (the node's side, used by tests, the load
// generator and re-forwarding).
//
// The acceptor always asks and the forwarder always answers, whichever side
// opened the connection. Messages are encoded exactly as Haskell's serialise
// writes them (PROTOCOL.md §5 and §8): non-empty lists as indefinite arrays,
// empty lists as 80, everything else definite, shortest-form integers.
// Decoders accept what Haskell accepts (definite or indefinite lists,
// non-minimal integers and lengths) and reject what it rejects; every decode
// error wraps muxproto.ErrDecode.
//
// A response to GetUpdatedMetrics carries only what changed since the
// previous response on the same connection, so an acceptor must merge it
// into what it already holds; removed metrics are never announced.
//
// A Store keeps one connection's metrics with cardano-tracer's acceptor
// semantics and publishes immutable Snapshots. From a snapshot,
// Exposition.Append writes cardano-tracer's Prometheus exposition of one
// node, Exposition.AppendAll the exposition of every node with a node_name
// label (Muninn's /metrics), and AppendJSON and AppendJSONMetric ekg-wai's
// JSON tree. Help is metricsHelp. The writers allocate nothing when the
// buffer has room (AppendAll uses pooled scratch space).
package ekg
