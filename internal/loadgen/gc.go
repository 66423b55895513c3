package loadgen

import (
	"os"
	"runtime/debug"
)

// RigGCPercent is the garbage collector's percentage that RigGC sets.
//
// A generator allocates for every batch it produces and every reply it
// sends, and keeps little alive, so with Go's default of 100 it collects
// about a hundred times a second. On the one core a rig gets, each
// collection's mark phase (1–4 ms of wall time) slows every simulated
// node: their answers to blocking requests wait behind mark assists and
// the mark worker, and a node whose queue lasts 6–8 ms at the rate it
// produces discards it. Those discards are the rig's, not the acceptor's.
// At 800 the heap may grow eight times its live size between collections
// instead of once, so the rig collects about an eighth as often; its heap
// is larger, and that is not what is measured.
const RigGCPercent = 800

// RigGC sets the garbage collector's percentage to RigGCPercent for a
// process that runs a Generator to measure an acceptor, unless GOGC is set
// in the environment, which is then left as the operator chose.
// muninn-perf does not pass GOGC or GOMEMLIMIT on to the acceptors it
// starts: they tune the rig only.
func RigGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(RigGCPercent)
	}
}
