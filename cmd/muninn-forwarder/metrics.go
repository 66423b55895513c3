package main

import (
	"strconv"
	"time"

	"muninn/ekg"
)

// nodeMetrics keeps a realistic set of a node's EKG metrics moving: the
// names and kinds a cardano-node with the standard metrics prefix sends.
type nodeMetrics struct {
	src   *ekg.MapSource
	start time.Time
}

func newNodeMetrics(start time.Time, version string) *nodeMetrics {
	m := &nodeMetrics{src: ekg.NewMapSource(), start: start}
	p := "cardano.node.metrics."
	m.src.Set(p+"node.start.time_int", ekg.Gauge(start.Unix()))
	// A labelled metric travels as a label holding its own label set and
	// value, exactly as the exposition line wants it.
	m.src.Set(p+"cardano_build_info", ekg.Label(`{version="`+version+`",revision="1f4b0d8e",compiler_name="ghc"} 1`))
	m.src.Set(p+"nodeIsLeader_int", ekg.Gauge(0))
	m.src.Set(p+"nodeCannotForge_int", ekg.Gauge(0))
	m.src.Set(p+"peerSelection.Hot_int", ekg.Gauge(20))
	m.src.Set(p+"peerSelection.Warm_int", ekg.Gauge(12))
	m.src.Set(p+"peerSelection.Cold_int", ekg.Gauge(44))
	m.src.Set(p+"currentKESPeriod_int", ekg.Gauge(1010))
	m.src.Set(p+"remainingKESPeriods_int", ekg.Gauge(52))
	m.update(start)
	return m
}

// update advances the chain-shaped metrics to time now.
func (m *nodeMetrics) update(now time.Time) {
	p := "cardano.node.metrics."
	secs := int64(now.Sub(m.start).Seconds())
	slot := 130000000 + secs
	m.src.Set(p+"slotNum_int", ekg.Gauge(slot))
	m.src.Set(p+"blockNum_int", ekg.Gauge(11000000+secs/20))
	m.src.Set(p+"epoch_int", ekg.Gauge(slot/432000))
	m.src.Set(p+"slotInEpoch_int", ekg.Gauge(slot%432000))
	m.src.Set(p+"density_real", ekg.Label(strconv.FormatFloat(0.05+float64(secs%10)/1000, 'f', -1, 64)))
	m.src.Set(p+"forks_counter", ekg.Counter(secs/600))
	m.src.Set(p+"txsInMempool_int", ekg.Gauge(secs%40))
	m.src.Set(p+"txsProcessedNum_counter", ekg.Counter(secs*3))
	m.src.Set(p+"Mem.resident_int", ekg.Gauge(6<<30+secs%1000*4096))
	m.src.Set(p+"RTS.gcLiveBytes_int", ekg.Gauge(3<<30+secs%1000*8192))
	m.src.Set(p+"blocksForged_int", ekg.Gauge(secs/3600))
	m.src.Set(p+"slotsMissed_int", ekg.Gauge(secs/86400))
	m.src.Set(p+"forgedSlotLast_int", ekg.Gauge(slot-secs%3600))
	m.src.Set(p+"Forge.about-to-lead_counter", ekg.Counter(secs))
	m.src.Set(p+"mempoolBytes_int", ekg.Gauge(20000+secs%40*500))
	m.src.Set(p+"connectionManager.inboundConns_int", ekg.Gauge(30+secs%5))
	m.src.Set(p+"connectionManager.outboundConns_int", ekg.Gauge(20))
	m.src.Set(p+"connectionManager.duplexConns_int", ekg.Gauge(12))
	m.src.Set(p+"connectionManager.unidirectionalConns_int", ekg.Gauge(38))
	m.src.Set(p+"blockfetchclient.blockdelay_real", ekg.Label(strconv.FormatFloat(0.2+float64(secs%7)/10, 'f', -1, 64)))
	m.src.Set(p+"blockfetchclient.blockdelay.cdfOne_real", ekg.Label("0.91"))
	m.src.Set("rts.gc.cpu_ms", ekg.Counter(secs*11))
	m.src.Set("rts.gc.mutator_cpu_ms", ekg.Counter(secs*900))
	m.src.Set("rts.gc.current_bytes_used", ekg.Gauge(3<<30+secs%100*4096))
	m.src.Set("rts.gc.num_gcs", ekg.Counter(secs*2))
	m.src.Set("rts.gc.bytes_allocated", ekg.Counter(secs*50<<20))
	m.src.Set("rts.gc.max_bytes_used", ekg.Gauge(3<<30+secs%100*65536))
}
