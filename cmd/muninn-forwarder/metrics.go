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
	m.src.Set(p+"cardano_build_info", ekg.Label(`{"version":"`+version+`","revision":"1f4b0d8e"}`))
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
	m.src.Set("rts.gc.num_gcs", ekg.Counter(secs*2))
	m.src.Set("rts.gc.bytes_allocated", ekg.Counter(secs*50<<20))
	m.src.Set("rts.gc.max_bytes_used", ekg.Gauge(3<<30+secs%100*65536))
}
