package ekg

import (
	"cmp"
	"slices"
	"strings"
)

// deriveLayout computes what the writers need to know about sn's names:
// for each setting of metricsNoSuffix, which samples to leave out. It runs
// when the set of names changes, not on every poll.
//
// Left out are samples whose Prometheus name is empty or starts with a
// digit (Prometheus would reject the whole scrape), whose Prometheus name
// is the tracer's own ekg_server_timestamp_ms, and all but the first (in
// snapshot order) of samples whose names give the same Prometheus name
// (a.b and a_b; with metricsNoSuffix x_int and x_real), since a family
// must appear once. cardano-tracer writes all of these, making the scrape
// fail or hold duplicate series.
func deriveLayout(sn *Snapshot) *layout {
	type fam struct {
		name string
		i    uint32
	}
	if len(sn.samples) == 0 {
		return nil
	}
	var (
		lay  = new(layout)
		fams = make([]fam, 0, len(sn.samples))
		buf  []byte
	)
	for mode := range 2 {
		fams = fams[:0]
		var skip []uint32
		for i := range sn.samples {
			buf = appendFamily(buf[:0], sn.name(i), mode == 1)
			if !ValidFamily(buf) || string(buf) == timestampFamily {
				skip = append(skip, uint32(i))
				continue
			}
			fams = append(fams, fam{string(buf), uint32(i)})
		}
		slices.SortFunc(fams, func(a, b fam) int {
			return cmp.Or(strings.Compare(a.name, b.name), cmp.Compare(a.i, b.i))
		})
		for j := 1; j < len(fams); j++ {
			if fams[j].name == fams[j-1].name {
				skip = append(skip, fams[j].i)
			}
		}
		if len(skip) > 0 {
			slices.Sort(skip)
			lay.skip[mode] = slices.Clip(skip)
		}
	}
	return lay
}

// helpIndex is, for one Help, the index of each sample's help text.
type helpIndex struct {
	h   *Help
	idx []int32 // per sample: index of the text in h, or -1
}

// helpIndex returns the index of each sample's help text in h, computed
// on the first scrape with h and kept with the layout, so that later
// scrapes look nothing up. It returns nil when h has no entries.
func (sn *Snapshot) helpIndex(h *Help) []int32 {
	if h.Len() == 0 || sn == nil || sn.lay == nil {
		return nil
	}
	if hi := sn.lay.help.Load(); hi != nil && hi.h == h {
		return hi.idx
	}
	idx := make([]int32, len(sn.samples))
	for i := range idx {
		idx[i] = int32(h.index(sn.name(i)))
	}
	sn.lay.help.Store(&helpIndex{h: h, idx: idx})
	return idx
}
