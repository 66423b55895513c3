package datapoint

import (
	"errors"
	"fmt"
	"time"

	"muninn/muxproto"
)

// Protocol is the mini-protocol number DataPoint runs on.
const Protocol = muxproto.ProtoDataPoint

// Limits and timeouts.
const (
	// DefaultQueueSize is the capacity of an Acceptor's queue of pending
	// queries when AcceptorConfig.QueueSize is zero.
	DefaultQueueSize = 16
	// AskTimeout is how long cardano-tracer's asking code waits for a
	// reply before it gives up. The protocol itself has no timeout: the
	// request stays outstanding until the reply comes, and the next
	// request waits for it. Callers of Acceptor.Query bound their own
	// wait with their context; this is the customary bound.
	AskTimeout = 10 * time.Second
)

// State is a state of the DataPoint protocol.
type State uint8

// The states of PROTOCOL.md §9.1.
const (
	StateIdle State = iota // the acceptor may ask or finish
	StateBusy              // a request is outstanding; the node must reply
	StateDone              // MsgDone was sent; nothing more may follow
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "Idle"
	case StateBusy:
		return "Busy"
	case StateDone:
		return "Done"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Agency says which side may send in a state.
type Agency uint8

// The possible agencies.
const (
	AgencyNobody   Agency = iota // terminal state
	AgencyAcceptor               // the acceptor (Muninn) sends
	AgencyNode                   // the node (forwarder) sends
)

// Message tags: the first element of every message array.
const (
	tagRequest uint64 = 1
	tagDone    uint64 = 2
	tagReply   uint64 = 3
)

// transition is one allowed message in a state and the state it leads to.
type transition struct {
	tag  uint64
	next State
}

// stateSpec is one row of the state table.
type stateSpec struct {
	agency  Agency
	allowed []transition
}

// Neither state is timed, as in the Haskell implementations: an asker gives
// up with its own context, and the protocol stays Busy until the reply.

// stateTable is the DataPoint state machine (PROTOCOL.md §9.1).
//
//	state | agency   | allowed messages                           | timeout
//	Idle  | acceptor | MsgDataPointsRequest → Busy; MsgDone → Done | none
//	Busy  | node     | MsgDataPointsReply → Idle                  | none
//	Done  | nobody   | —                                          | —
var stateTable = [...]stateSpec{
	StateIdle: {agency: AgencyAcceptor, allowed: []transition{{tagRequest, StateBusy}, {tagDone, StateDone}}},
	StateBusy: {agency: AgencyNode, allowed: []transition{{tagReply, StateIdle}}},
	StateDone: {agency: AgencyNobody},
}

// next returns the state after a message with tag from sender in state s,
// or a decode error when the message is not allowed there.
func next(s State, sender Agency, tag uint64) (State, error) {
	if int(s) >= len(stateTable) {
		return s, fmt.Errorf("%w: unknown state %v", muxproto.ErrDecode, s)
	}
	spec := stateTable[s]
	if spec.agency != sender {
		return s, fmt.Errorf("%w: message with tag %d in state %v without agency", muxproto.ErrDecode, tag, s)
	}
	for _, t := range spec.allowed {
		if t.tag == tag {
			return t.next, nil
		}
	}
	return s, fmt.Errorf("%w: message with tag %d not allowed in state %v", muxproto.ErrDecode, tag, s)
}

// Errors.
var (
	// ErrNotAvailable: the node has no usable value under the asked name:
	// the reply was not exactly one entry with a value, or the value did
	// not decode as the expected type (cardano-tracer's rule, §9.3).
	ErrNotAvailable = errors.New("data point not available")
	// ErrStopped: the Acceptor's Run loop has ended, so no query can be
	// answered. It is joined with the error Run returned.
	ErrStopped = errors.New("data point acceptor stopped")
	// ErrInvalidNodeInfo: JSON that is not a NodeInfo object.
	ErrInvalidNodeInfo = errors.New("invalid NodeInfo")
)
