package loadgen

import (
	"strconv"

	"muninn/tracer"
)

// sizeClass indexes SizeMix and classBytes.
type sizeClass int

const (
	small sizeClass = iota
	medium
	large
)

// classBytes is the target toMachine size of each class.
var classBytes = [...]int{small: SmallBytes, medium: MediumBytes, large: LargeBytes}

// kind is one kind of trace object a node emits, shaped after what
// cardano-node forwards.
type kind struct {
	ns     string
	sev    tracer.Severity
	class  sizeClass
	weight int                     // within its class
	human  func(seq uint64) string // nil: the node sends no human text
	// data returns the members of "data" between "kind" and "seq", each
	// starting with a comma. It must not contain the keys seq, enqueued or
	// host.
	data func(seq uint64) string
}

// kinds is fixed: objects of one kind differ only in their numbers and
// hashes, as a node's do.
var kinds = []kind{
	{"Mempool.AddedTx", tracer.Info, small, 3,
		func(s uint64) string { return "Added transaction " + hexish(s*7, 64) + " to the mempool" },
		func(uint64) string { return "" }},
	{"Net.PeerSelection.Counters", tracer.Info, small, 2, nil,
		func(s uint64) string { return `,"hot":` + strconv.FormatUint(18+s%3, 10) }},
	{"Forge.Loop.NodeNotLeader", tracer.Info, small, 1, nil,
		func(s uint64) string { return `,"slot":` + strconv.FormatUint(130000000+s, 10) }},
	{"ChainDB.AddBlockEvent.AddedToCurrentChain", tracer.Notice, medium, 2,
		func(s uint64) string {
			return "Chain extended, new tip: " + hexish(s, 64) + " at slot " + strconv.FormatUint(130000000+s, 10)
		},
		func(s uint64) string {
			return `,"newtip":"` + hexish(s, 64) + `@` + strconv.FormatUint(130000000+s, 10) +
				`","headers":[{"blockNo":"` + strconv.FormatUint(11000000+s, 10) + `","kind":"ShelleyBlock","slotNo":"` +
				strconv.FormatUint(130000000+s, 10) + `","hash":"` + hexish(s, 64) + `"}]`
		}},
	{"BlockFetch.Client.CompletedBlockFetch", tracer.Info, medium, 2, nil,
		func(s uint64) string {
			return `,"block":"` + hexish(s*3, 64) + `","delay":0.31,"peer":{"remote":"10.1.2.3:3001","local":"10.0.0.1:3001"},"size":` +
				strconv.FormatUint(20000+s%60000, 10)
		}},
	{"Mempool.RejectedTx", tracer.Warning, medium, 1,
		func(s uint64) string { return "Rejected transaction " + hexish(s*5, 64) },
		func(s uint64) string {
			return `,"err":{"kind":"BadInputsUTxO","badInputs":[["` + hexish(s*5, 64) + `",` + strconv.FormatUint(s%4, 10) +
				`]]},"tx":{"txid":"` + hexish(s*5, 64) + `"}`
		}},
	{"Net.PeerSelection.Initiator.GovernorState", tracer.Debug, large, 1, nil, governorState},
}

// governorState is the start of a peer-selection governor state dump, the
// kind of large object a node emits; padding brings it to LargeBytes.
func governorState(s uint64) string {
	b := make([]byte, 0, 2048)
	b = append(b, `,"targets":{"roots":60,"knownPeers":100,"activePeers":20,"establishedPeers":50},"knownPeers":[`...)
	for i := range uint64(24) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"addr":"10.`...)
		b = strconv.AppendUint(b, (s+i)%250, 10)
		b = append(b, `.`...)
		b = strconv.AppendUint(b, i, 10)
		b = append(b, `.7:3001","failCount":`...)
		b = strconv.AppendUint(b, (s*i)%5, 10)
		b = append(b, `,"advertise":true}`...)
	}
	return string(append(b, ']'))
}

// hexish returns n pseudo-random hex digits derived from x, like a hash.
func hexish(x uint64, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	x = x*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = digits[x&15]
	}
	return string(b)
}

// mix picks kinds with the weights of a SizeMix.
type mix struct {
	cum []float64 // cumulative weight per kind
}

func newMix(s SizeMix) mix {
	var classWeight [3]int
	for _, k := range kinds {
		classWeight[k.class] += k.weight
	}
	sizes := [...]int{small: s.Small, medium: s.Medium, large: s.Large}
	m := mix{cum: make([]float64, len(kinds))}
	total := 0.0
	for i, k := range kinds {
		total += float64(sizes[k.class]) * float64(k.weight) / float64(classWeight[k.class])
		m.cum[i] = total
	}
	return m
}

// pick maps u in [0, 1) to a kind index.
func (m mix) pick(u float64) int {
	x := u * m.cum[len(m.cum)-1]
	for i, c := range m.cum {
		if x < c {
			return i
		}
	}
	for i := len(m.cum) - 1; i > 0; i-- { // rounding at the top end
		if m.cum[i] > m.cum[i-1] {
			return i
		}
	}
	return 0
}
