package ekg

import (
	"bytes"
	"slices"
	"strconv"
	"sync"
	"time"
)

// NodeSnapshot is one node's metrics for the aggregated exposition.
type NodeSnapshot struct {
	Name string    // the node_name label value
	Snap *Snapshot // nil is empty
}

// AppendAll appends every node's series as one exposition in format f
// (Muninn's /metrics): each sample carries node_name="<Name>" as its first
// label (merged into an info-style label set: n{node_name="x",version="…"} 1).
// Series are grouped into families by Prometheus name across nodes, in
// ascending name order; each family gets its TYPE line (none when nodes
// disagree on the type) and HELP line once, then one sample per node in
// the order of nodes. The tracer's ekg_server_timestamp_ms comes last, one
// sample per node, all with now.
//
// The same samples as in Append are left out, and also info-style labels
// that carry their own node_name label (Skipped counts all of them).
// Names of nodes should be unique; AppendAll does not check.
//
// With eof, "# EOF" ends the output; without it the caller can append more
// families (Muninn's own metrics) and then, for OpenMetrics, AppendEOF.
func (e *Exposition) AppendAll(b []byte, nodes []NodeSnapshot, f Format, now time.Time, eof bool) []byte {
	if len(nodes) > 0 {
		sc := aggPool.Get().(*aggScratch)
		b = sc.appendAll(e, b, nodes, f, now)
		sc.reset()
		aggPool.Put(sc)
	}
	if eof {
		b = AppendEOF(b)
	}
	return b
}

var aggPool = sync.Pool{New: func() any {
	return &aggScratch{byName: make(map[string]int32), byFam: make(map[string]int32)}
}}

// aggScratch is the working memory of one AppendAll, pooled.
type aggScratch struct {
	byName   map[string]int32 // internal name → family; keys point into snapshots
	byFam    map[string]int32 // Prometheus name → family
	fams     []aggFamily
	famBuf   []byte   // Prometheus names of the families, concatenated
	labels   []byte   // `node_name="…"` of every node, concatenated
	lblEnd   []int    // end of each node's label in labels
	fids     []int32  // family of each sample of the current names, -1 if left out
	prevFids []int32  // fids of the names before
	ents     []aggEnt // the samples to write, in node order
	order    []int32  // indexes into ents, grouped by family
	sorted   []int32  // family ids, by Prometheus name
}

type aggFamily struct {
	start, end int    // Prometheus name in famBuf
	typed      bool   // typ is set
	typ        string // TYPE; "" when the nodes disagree
	help       string // internal name of the first sample, for the help lookup
	count, pos int32  // samples, and where they start in order
}

type aggEnt struct {
	fam, node, idx int32
}

func (sc *aggScratch) reset() {
	clear(sc.byName) // drop references into the snapshots
	clear(sc.byFam)
	for i := range sc.fams {
		sc.fams[i].help = ""
	}
	sc.fams = sc.fams[:0]
	sc.famBuf = sc.famBuf[:0]
	sc.labels = sc.labels[:0]
	sc.lblEnd = sc.lblEnd[:0]
	sc.fids = sc.fids[:0]
	sc.prevFids = sc.prevFids[:0]
	sc.ents = sc.ents[:0]
	sc.order = sc.order[:0]
	sc.sorted = sc.sorted[:0]
}

func (sc *aggScratch) family(i int) []byte {
	return sc.famBuf[sc.fams[i].start:sc.fams[i].end]
}

func (sc *aggScratch) label(node int) []byte {
	start := 0
	if node > 0 {
		start = sc.lblEnd[node-1]
	}
	return sc.labels[start:sc.lblEnd[node]]
}

func (sc *aggScratch) appendAll(e *Exposition, b []byte, nodes []NodeSnapshot, f Format, now time.Time) []byte {
	var (
		skipped uint64
		prev    *Snapshot // the snapshot sc.fids belongs to
	)
	for ni, n := range nodes {
		sc.labels = append(sc.labels, `node_name="`...)
		sc.labels = appendLabelValue(sc.labels, n.Name)
		sc.labels = append(sc.labels, '"')
		sc.lblEnd = append(sc.lblEnd, len(sc.labels))
		snap := n.Snap
		if snap == nil {
			continue
		}
		// Nodes of one release share their names: map the names to
		// families once for a run of such nodes.
		if !sameNames(prev, snap) {
			sc.mapFamilies(snap, prev, e.NoSuffix)
			prev = snap
		}
		for i, fid := range sc.fids {
			if fid < 0 {
				skipped++
				continue
			}
			cls := snap.samples[i].cls
			typ := typeName(cls, f)
			if typ == "" || cls == clsInfoNode {
				skipped++
				continue
			}
			fam := &sc.fams[fid]
			switch {
			case !fam.typed:
				fam.typ, fam.typed = typ, true
			case fam.typ != typ:
				fam.typ = "" // the nodes disagree: no TYPE line
			}
			fam.count++
			sc.ents = append(sc.ents, aggEnt{fam: fid, node: int32(ni), idx: int32(i)})
		}
	}
	e.skipped(skipped)

	// Group the samples by family, keeping node order within each.
	pos := int32(0)
	for i := range sc.fams {
		sc.fams[i].pos = pos
		pos += sc.fams[i].count
		sc.fams[i].count = 0
		sc.sorted = append(sc.sorted, int32(i))
	}
	sc.order = slices.Grow(sc.order[:0], len(sc.ents))[:len(sc.ents)]
	for i, en := range sc.ents {
		fam := &sc.fams[en.fam]
		sc.order[fam.pos+fam.count] = int32(i)
		fam.count++
	}
	slices.SortFunc(sc.sorted, func(x, y int32) int {
		return bytes.Compare(sc.family(int(x)), sc.family(int(y)))
	})

	for _, fid := range sc.sorted {
		fam := &sc.fams[fid]
		if fam.count == 0 {
			continue // only left-out samples
		}
		fname := sc.family(int(fid))
		if fam.typ != "" {
			b = append(b, "# TYPE "...)
			b = append(b, fname...)
			b = append(b, ' ')
			b = append(b, fam.typ...)
			b = append(b, '\n')
		}
		if txt, ok := e.Help.escaped(fam.help, f); ok {
			b = append(b, "# HELP "...)
			b = append(b, fname...)
			b = append(b, ' ')
			b = append(b, txt...)
			b = append(b, '\n')
		}
		for _, ei := range sc.order[fam.pos : fam.pos+fam.count] {
			en := sc.ents[ei]
			snap := nodes[en.node].Snap
			sm := snap.samples[en.idx]
			b = append(b, fname...)
			b = append(b, '{')
			b = append(b, sc.label(int(en.node))...)
			switch sm.cls {
			case clsCounter, clsGauge:
				b = append(b, "} "...)
				b = strconv.AppendInt(b, sm.val, 10)
			case clsNumber:
				b = append(b, "} "...)
				b = append(b, snap.texts[sm.val]...)
			default: // info: merge the node's label set after node_name
				txt := snap.texts[sm.val]
				if txt[1] != '}' {
					b = append(b, ',')
				}
				b = append(b, txt[1:]...)
			}
			b = append(b, '\n')
		}
	}

	b = append(b, "# TYPE "+timestampFamily+" counter\n"...)
	if txt, ok := e.Help.escaped(TimestampName, f); ok {
		b = append(b, "# HELP "+timestampFamily+" "...)
		b = append(b, txt...)
		b = append(b, '\n')
	}
	ms := now.UnixMilli()
	for ni := range nodes {
		b = append(b, timestampFamily+"{"...)
		b = append(b, sc.label(ni)...)
		b = append(b, "} "...)
		b = strconv.AppendInt(b, ms, 10)
		b = append(b, '\n')
	}
	return b
}

// mapFamilies sets sc.fids to the family of each sample of snap, -1 for
// the samples its layout leaves out, creating families for new names. It
// walks snap's names alongside those of prev, the previous node's
// (both are sorted), and takes the family of a name prev also has from
// sc.prevFids; only other names are looked up.
func (sc *aggScratch) mapFamilies(snap, prev *Snapshot, noSuffix bool) {
	sc.fids, sc.prevFids = sc.prevFids[:0], sc.fids
	skip := snap.skips(noSuffix)
	j := 0
	for i := range snap.samples {
		if len(skip) > 0 && skip[0] == uint32(i) {
			skip = skip[1:]
			sc.fids = append(sc.fids, -1)
			continue
		}
		name := snap.name(i)
		if prev != nil && j < len(prev.samples) {
			pn := prev.name(j)
			for pn != name && compareNames(pn, name) < 0 && j+1 < len(prev.samples) {
				j++
				pn = prev.name(j)
			}
			if pn == name && sc.prevFids[j] >= 0 {
				sc.fids = append(sc.fids, sc.prevFids[j])
				j++
				continue
			}
		}
		fid, ok := sc.byName[name]
		if !ok {
			fid = sc.addFamily(name, noSuffix)
			sc.byName[name] = fid
		}
		sc.fids = append(sc.fids, fid)
	}
}

// sameNames reports whether b holds exactly a's names, in which case the
// families and skip lists of a apply to b.
func sameNames(a, b *Snapshot) bool {
	switch {
	case a == nil || b == nil:
		return false
	case a.lay == b.lay:
		return true // snapshots of one store with the same names
	case len(a.samples) != len(b.samples) || a.names != b.names:
		return false
	}
	for i := range a.samples {
		if a.samples[i].end != b.samples[i].end {
			return false
		}
	}
	return true
}

// addFamily returns the family of the internal name, creating it when its
// Prometheus name is new.
func (sc *aggScratch) addFamily(name string, noSuffix bool) int32 {
	start := len(sc.famBuf)
	sc.famBuf = appendFamily(sc.famBuf, name, noSuffix)
	if fid, ok := sc.byFam[string(sc.famBuf[start:])]; ok {
		sc.famBuf = sc.famBuf[:start]
		return fid
	}
	fid := int32(len(sc.fams))
	sc.byFam[string(sc.famBuf[start:])] = fid
	sc.fams = append(sc.fams, aggFamily{start: start, end: len(sc.famBuf), help: name})
	return fid
}
