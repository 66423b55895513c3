// Package loadgen simulates many cardano-nodes in one process for
// performance tests of a trace acceptor. Each simulated node has its own
// connection (dialled, with back-off), its own forwarding queue with the
// node's overflow semantics, a NodeInfo data point and EKG metrics, and
// produces trace objects shaped like cardano-node's.
//
// Every object's toMachine line carries the node's name as "host", a
// per-node sequence number "seq" starting at 0 and its enqueue time
// "enqueued" in Unix nanoseconds, so that whatever reads the acceptor's
// output can measure loss, duplication and latency.
//
// Production is open loop (objects arrive at a rate, Poisson or evenly
// spaced, with optional bursts, and a queue that overflows discards its
// whole content as a node does) or closed loop (Saturate: queues are kept
// full whenever the acceptor takes objects, so nothing is discarded and
// the acceptor's maximum throughput is measured).
//
// Cost scales with objects produced, not with nodes: a few producer
// goroutines each own a shard of nodes and sleep until the next arrival
// in their shard.
package loadgen
