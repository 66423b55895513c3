package main

import (
	"strconv"
	"time"

	"muninn/tracer"
)

// template is one kind of trace a node emits, with how often it occurs.
type template struct {
	ns     string
	sev    tracer.Severity
	weight int
	human  func(seq uint64) string // nil: the node sends no human text
	data   func(seq uint64) string // JSON object members besides "kind" and "seq"
}

var templates = []template{
	{"ChainDB.AddBlockEvent.AddedToCurrentChain", tracer.Notice, 2,
		func(s uint64) string {
			return "Chain extended, new tip: " + hexish(s) + " at slot " + strconv.FormatUint(130000000+s, 10)
		},
		func(s uint64) string {
			return `"newtip":"` + hexish(s) + `@` + strconv.FormatUint(130000000+s, 10) + `","headers":[{"blockNo":"` + strconv.FormatUint(11000000+s, 10) + `","kind":"ShelleyBlock"}]`
		}},
	{"Net.PeerSelection.Counters", tracer.Info, 3, nil,
		func(s uint64) string {
			return `"cold":` + strconv.FormatUint(40+s%7, 10) + `,"hot":20,"warm":` + strconv.FormatUint(10+s%3, 10)
		}},
	{"Mempool.AddedTx", tracer.Info, 4,
		func(s uint64) string { return "Added transaction " + hexish(s*7) + " to the mempool" },
		func(s uint64) string {
			return `"mempoolSize":{"bytes":` + strconv.FormatUint(20000+s%5000, 10) + `,"numTxs":` + strconv.FormatUint(s%40, 10) + `},"tx":{"txid":"` + hexish(s*7) + `"}`
		}},
	{"BlockFetch.Client.CompletedBlockFetch", tracer.Info, 1, nil,
		func(s uint64) string {
			return `"block":"` + hexish(s*3) + `","delay":0.31,"peer":{"remote":"10.1.2.3:3001"},"size":` + strconv.FormatUint(20000+s%60000, 10)
		}},
	{"Forge.Loop.StartLeadershipCheck", tracer.Debug, 1, nil,
		func(s uint64) string { return `"slot":` + strconv.FormatUint(130000000+s, 10) }},
}

func hexish(n uint64) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 64)
	x := n*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = digits[x&15]
	}
	return string(b)
}

// makeObject builds the seq-th trace object, shaped like what
// trace-dispatcher forwards: toMachine is the JSON line cardano-tracer
// writes verbatim; its data carries seq and the enqueue time.
func makeObject(seq uint64, host string, now time.Time) tracer.TraceObject {
	total := 0
	for _, t := range templates {
		total += t.weight
	}
	pick := int(seq % uint64(total))
	var t template
	for _, t = range templates {
		if pick < t.weight {
			break
		}
		pick -= t.weight
	}
	at := now.UTC().Format("2006-01-02T15:04:05.000000000Z")
	data := `{"kind":"` + t.ns[lastDot(t.ns)+1:] + `",` + t.data(seq) + `,"seq":` + strconv.FormatUint(seq, 10) +
		`,"enqueued":` + strconv.FormatInt(now.UnixNano(), 10) + `}`
	o := tracer.TraceObject{
		Machine: `{"at":"` + at + `","ns":"` + t.ns + `","data":` + data + `,"sev":"` + t.sev.String() +
			`","thread":"` + strconv.FormatUint(40+seq%8, 10) + `","host":"` + host + `"}`,
		Namespace: []string{t.ns},
		Severity:  t.sev,
		Detail:    tracer.DNormal,
		Timestamp: tracer.TimeOf(now),
		Hostname:  host,
		ThreadID:  strconv.FormatUint(40+seq%8, 10),
	}
	if t.human != nil {
		o.Human, o.HasHuman = t.human(seq), true
	}
	return o
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}
