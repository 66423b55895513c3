// Package tracer implements the TraceObject mini-protocol (number 2) of
// cardano-node's trace forwarding: the TraceObject type and its CBOR codec,
// the acceptor role that requests batches from a node, and the forwarder
// role that answers such requests from a bounded queue, with the node's
// semantics.
//
// Two decoders exist for the one hot message, MsgTraceObjectsReply: the
// reference decoder built on the shared strict fxamacker mode, and a
// hand-written one that DecodeReply uses. Differential fuzzing holds them
// to the same result for every input.
package tracer
