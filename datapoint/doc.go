// Package datapoint implements the DataPoint mini-protocol (number 3) of
// cardano-node's trace forwarding, and the typed NodeInfo data point that
// gives a node its name.
//
// The acceptor (Muninn, like cardano-tracer) asks for named values; the
// node answers each name with the latest JSON stored under it, or Nothing.
// Only one request may be outstanding, so an Acceptor serialises the
// questions of any number of callers through one goroutine, its Run loop.
// A Forwarder plays the node's side over a Store; tests and simulated
// nodes use it.
//
// Wire format (PROTOCOL.md §9):
//
//	MsgDataPointsRequest  [1, [* name]]                acceptor → node
//	MsgDone               [2]                          acceptor → node
//	MsgDataPointsReply    [3, [* [name, Maybe bytes]]] node → acceptor
//
// A value is Nothing (80) or Just an indefinite-length byte string
// (81 5f chunks ff) holding the value's JSON; lists are written 80 when
// empty and 9f … ff otherwise, exactly as Haskell writes them.
package datapoint
