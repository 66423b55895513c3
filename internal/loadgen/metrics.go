package loadgen

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"muninn/ekg"
)

// metricKind is how a metric travels: cardano-node's suffixes _int (a
// gauge), _counter (a counter) and _real (a label holding a number).
type metricKind uint8

const (
	gauge metricKind = iota
	counter
	number
)

// baseMetrics are names a cardano-node with the standard prefix sends.
var baseMetrics = []string{
	"cardano.node.metrics.slotNum_int",
	"cardano.node.metrics.blockNum_int",
	"cardano.node.metrics.epoch_int",
	"cardano.node.metrics.slotInEpoch_int",
	"cardano.node.metrics.density_real",
	"cardano.node.metrics.forks_counter",
	"cardano.node.metrics.txsInMempool_int",
	"cardano.node.metrics.txsProcessedNum_counter",
	"cardano.node.metrics.mempoolBytes_int",
	"cardano.node.metrics.Mem.resident_int",
	"cardano.node.metrics.RTS.gcLiveBytes_int",
	"cardano.node.metrics.RTS.gcMajorNum_counter",
	"cardano.node.metrics.RTS.gcMinorNum_counter",
	"cardano.node.metrics.Stat.cputicks_counter",
	"cardano.node.metrics.peerSelection.Hot_int",
	"cardano.node.metrics.peerSelection.Warm_int",
	"cardano.node.metrics.peerSelection.Cold_int",
	"cardano.node.metrics.connectionManager.inboundConns_int",
	"cardano.node.metrics.connectionManager.outboundConns_int",
	"cardano.node.metrics.connectionManager.duplexConns_int",
	"cardano.node.metrics.connectionManager.unidirectionalConns_int",
	"cardano.node.metrics.blockfetchclient.blockdelay_real",
	"cardano.node.metrics.blockfetchclient.blocksize_int",
	"cardano.node.metrics.blockfetchclient.blockdelay.cdfOne_real",
	"cardano.node.metrics.blockfetchclient.blockdelay.cdfThree_real",
	"cardano.node.metrics.blockfetchclient.blockdelay.cdfFive_real",
	"cardano.node.metrics.served.block_counter",
	"cardano.node.metrics.served.header_counter",
	"cardano.node.metrics.submissions.accepted_counter",
	"cardano.node.metrics.submissions.rejected_counter",
	"cardano.node.metrics.currentKESPeriod_int",
	"cardano.node.metrics.remainingKESPeriods_int",
	"cardano.node.metrics.nodeIsLeader_int",
	"cardano.node.metrics.Forge.about-to-lead_counter",
	"cardano.node.metrics.Forge.forged_counter",
	"cardano.node.metrics.Forge.node-not-leader_counter",
}

// perPeerMetrics are per-peer families that make up the rest when more
// metrics are asked for than baseMetrics holds.
var perPeerMetrics = []string{
	"cardano.node.metrics.blockfetchclient.peer%03d.blockdelay_real",
	"cardano.node.metrics.blockfetchclient.peer%03d.blocksize_int",
	"cardano.node.metrics.chainsync.peer%03d.headersReceived_counter",
	"cardano.node.metrics.txsubmission.peer%03d.txsReceived_counter",
	"cardano.node.metrics.connectionManager.peer%03d.rtt_real",
}

// metricSet is every node's metric values, updated once a second by one
// goroutine. All nodes have the same names.
type metricSet struct {
	names  []string
	kinds  []metricKind
	change int       // metrics changed per node per second
	values [][]int64 // per node, per metric; owned by init, then run
	next   []int     // per node, the first metric to change next
}

func newMetricSet(count int, share float64) *metricSet {
	s := &metricSet{change: int(math.Round(share * float64(count)))}
	for i := range count {
		name := ""
		if i < len(baseMetrics) {
			name = baseMetrics[i]
		} else {
			j := i - len(baseMetrics)
			name = fmt.Sprintf(perPeerMetrics[j%len(perPeerMetrics)], j/len(perPeerMetrics))
		}
		k := gauge
		switch {
		case strings.HasSuffix(name, "_counter"):
			k = counter
		case strings.HasSuffix(name, "_real"):
			k = number
		}
		s.names = append(s.names, name)
		s.kinds = append(s.kinds, k)
	}
	return s
}

// init sets node i's metrics to their first values. Call it for nodes 0,
// 1, 2 … in order, before run.
func (s *metricSet) init(i int, src *ekg.MapSource) {
	vals := make([]int64, len(s.names))
	for j := range vals {
		vals[j] = int64((i*31 + j*17) % 1000)
		src.Set(s.names[j], s.value(j, vals[j]))
	}
	s.values = append(s.values, vals)
	s.next = append(s.next, (i*7)%max(len(vals), 1))
}

func (s *metricSet) value(j int, v int64) ekg.Value {
	switch s.kinds[j] {
	case counter:
		return ekg.Counter(v)
	case number:
		return ekg.Label(strconv.FormatFloat(float64(v)/1000, 'f', -1, 64))
	}
	return ekg.Gauge(v)
}

// run changes s.change metrics of every node once a second until ctx
// ends: counters grow, gauges and reals move up or down. Each second
// moves on to the next metrics, so every metric changes in turn.
func (s *metricSet) run(ctx context.Context, nodes []*node) {
	if s.change == 0 {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for tick := int64(1); ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for i, n := range nodes {
			s.update(i, tick, n.metrics)
		}
	}
}

func (s *metricSet) update(i int, tick int64, src *ekg.MapSource) {
	vals := s.values[i]
	for c := range s.change {
		j := (s.next[i] + c) % len(vals)
		switch s.kinds[j] {
		case counter:
			vals[j] += 1 + (tick+int64(j))%7
		default:
			vals[j] += [...]int64{-2, -1, 1, 2}[(tick+int64(j))%4]
		}
		src.Set(s.names[j], s.value(j, vals[j]))
	}
	s.next[i] = (s.next[i] + s.change) % len(vals)
}
