package tracer

import (
	"time"

	"muninn/muxproto"
)

// Protocol is the mini-protocol number of TraceObject forwarding.
const Protocol = muxproto.ProtoTraceObject

// State is a state of the TraceObject mini-protocol (PROTOCOL.md §7.1).
type State uint8

// States. Busy is split by the kind of the outstanding request, because
// only a non-blocking request may be answered with an empty list.
const (
	StIdle State = iota
	StBusyBlocking
	StBusyNonBlocking
	StDone
)

// Agency says which side may send in a state.
type Agency uint8

// Agencies.
const (
	AgencyAcceptor Agency = iota // the side that asks (Muninn)
	AgencyNode                   // the side that answers (the forwarder)
	AgencyNobody
)

// Message tags (the first element of each message array).
const (
	tagRequest = 1
	tagDone    = 2
	tagReply   = 3
)

// transition is one allowed message in a state.
type transition struct {
	tag  uint64
	next State
}

// stateTable is the protocol as a table: who may send in each state, and
// which message leads where. Blocking-ness of a request picks the Busy
// state; the table lists the non-blocking variant separately.
var stateTable = map[State]struct {
	agency  Agency
	allowed []transition
}{
	StIdle:            {AgencyAcceptor, []transition{{tagRequest, StBusyBlocking}, {tagRequest, StBusyNonBlocking}, {tagDone, StDone}}},
	StBusyBlocking:    {AgencyNode, []transition{{tagReply, StIdle}}},
	StBusyNonBlocking: {AgencyNode, []transition{{tagReply, StIdle}}},
	StDone:            {AgencyNobody, nil},
}

// Defaults of the acceptor role.
const (
	// DefaultRequestNum is cardano-tracer's loRequestNum.
	DefaultRequestNum = 100
	// DefaultStopGrace is how long a stopping acceptor waits for the reply
	// to its outstanding request to start arriving.
	DefaultStopGrace = 100 * time.Millisecond
	// DefaultDrainTimeout bounds the wait for a reply that has started
	// arriving when the acceptor is asked to stop.
	DefaultDrainTimeout = 5 * time.Second
	// DefaultQueueSize is the node's forwarding queue capacity.
	DefaultQueueSize = 192
)
