package ekg

import (
	"errors"
	"fmt"
	"time"

	"muninn/muxproto"
)

// Protocol is the mini-protocol number EKG runs on (PROTOCOL.md §6).
const Protocol = muxproto.ProtoEKG

// Limits and timeouts (PROTOCOL.md §3.6, §3.7, §10). Haskell puts no time or
// size limit on this protocol; the Mux's per-message and ingress limits
// (muxproto.Config) are the only byte bounds.
const (
	// IdleTimeout bounds how long the forwarder waits for the next request:
	// zero, no limit. The acceptor decides the pace, and idle is normal.
	IdleTimeout time.Duration = 0
	// BusyTimeout bounds how long the acceptor waits for a response: zero,
	// no limit, as in Haskell. A node samples and answers at once.
	BusyTimeout time.Duration = 0
	// DefaultPollPeriod is cardano-tracer's default ekgRequestFreq: the
	// pause between a response and the next request.
	DefaultPollPeriod = time.Second
)

// Errors of the protocol roles. Decode errors wrap muxproto.ErrDecode instead.
var (
	// ErrProtocolDone: the acceptor already sent MsgDone.
	ErrProtocolDone = errors.New("ekg mini-protocol finished")
	// ErrInvalidRequest: a request Haskell cannot represent, such as
	// GetMetrics with no names.
	ErrInvalidRequest = errors.New("invalid ekg request")
)

// State is a state of the protocol (PROTOCOL.md §8.1).
type State uint8

// The protocol states.
const (
	StateIdle State = iota // the acceptor may send MsgReq or MsgDone
	StateBusy              // the forwarder owes a MsgResp
	StateDone              // finished; nobody may send
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

// Agency says which role may send in a state.
type Agency uint8

// The agencies.
const (
	AgencyNobody    Agency = iota
	AgencyAcceptor         // the side that asks (cardano-tracer, Muninn)
	AgencyForwarder        // the side that answers (the node)
)

func (a Agency) String() string {
	switch a {
	case AgencyAcceptor:
		return "acceptor"
	case AgencyForwarder:
		return "forwarder"
	case AgencyNobody:
		return "nobody"
	}
	return fmt.Sprintf("Agency(%d)", uint8(a))
}

// msgType identifies a message independently of its contents.
type msgType uint8

const (
	msgReq msgType = iota
	msgResp
	msgDone
)

func (t msgType) String() string {
	switch t {
	case msgReq:
		return "MsgReq"
	case msgResp:
		return "MsgResp"
	case msgDone:
		return "MsgDone"
	}
	return fmt.Sprintf("msgType(%d)", uint8(t))
}

type transition struct {
	msg  msgType
	next State
}

type stateSpec struct {
	agency  Agency
	allowed []transition
	timeout time.Duration // for the peer that has agency; 0 = none
}

// states is the state table of PROTOCOL.md §8.1:
//
//	state | agency    | allowed messages
//	Idle  | acceptor  | MsgReq → Busy, MsgDone → Done
//	Busy  | forwarder | MsgResp → Idle
//	Done  | nobody    | —
var states = [...]stateSpec{
	StateIdle: {agency: AgencyAcceptor, timeout: IdleTimeout, allowed: []transition{
		{msgReq, StateBusy},
		{msgDone, StateDone},
	}},
	StateBusy: {agency: AgencyForwarder, timeout: BusyTimeout, allowed: []transition{
		{msgResp, StateIdle},
	}},
	StateDone: {agency: AgencyNobody},
}

// Agency returns who may send in state s.
func (s State) Agency() Agency {
	if int(s) >= len(states) {
		return AgencyNobody
	}
	return states[s].agency
}

// next returns the state after message t in state s, or false when t is
// not allowed in s.
func (s State) next(t msgType) (State, bool) {
	if int(s) >= len(states) {
		return s, false
	}
	for _, tr := range states[s].allowed {
		if tr.msg == t {
			return tr.next, true
		}
	}
	return s, false
}

// Timeout returns the time limit on the peer that has agency in state s;
// zero means none.
func (s State) Timeout() time.Duration {
	if int(s) >= len(states) {
		return 0
	}
	return states[s].timeout
}
