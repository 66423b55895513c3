package ekg_test

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"muninn/ekg"
)

func snapMap(sn *ekg.Snapshot) map[string]ekg.Value {
	m := make(map[string]ekg.Value)
	for mt := range sn.All() {
		m[mt.Name] = mt.Value
	}
	return m
}

func TestStoreSemantics(t *testing.T) {
	t.Parallel()
	type step struct {
		apply []ekg.Metric
		want  ekg.Value // value of "m" afterwards
	}
	c, g, l := ekg.Counter, ekg.Gauge, ekg.Label
	m := func(v ekg.Value) []ekg.Metric { return []ekg.Metric{{Name: "m", Value: v}} }
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"counter first report sets", []step{{m(c(100)), c(100)}}},
		{"counter negative first report", []step{{m(c(-5)), c(-5)}, {m(c(-7)), c(-5)}, {m(c(2)), c(2)}}},
		{"counter increases", []step{{m(c(100)), c(100)}, {m(c(130)), c(130)}, {m(c(131)), c(131)}}},
		{"counter decrease ignored, against the store's own counter", []step{
			{m(c(100)), c(100)}, {m(c(50)), c(100)}, {m(c(60)), c(100)}, {m(c(101)), c(101)},
		}},
		{"counter repeated in one response", []step{{[]ekg.Metric{{"m", c(10)}, {"m", c(5)}, {"m", c(12)}}, c(12)}}},
		{"new counter repeated in one response", []step{{m(c(1)), c(1)}, {[]ekg.Metric{{"n", c(9)}, {"m", c(4)}, {"n", c(3)}}, c(4)}}},
		{"gauge overwrites", []step{{m(g(10)), g(10)}, {m(g(-3)), g(-3)}, {m(g(7)), g(7)}}},
		{"label overwrites", []step{{m(l("a")), l("a")}, {m(l("0.5")), l("0.5")}, {m(l("{a=\"b\"} 1")), l("{a=\"b\"} 1")}}},
		{"kind change: counter to gauge", []step{{m(c(100)), c(100)}, {m(g(5)), g(5)}}},
		{"kind change: gauge to counter is a first report", []step{{m(g(100)), g(100)}, {m(c(5)), c(5)}, {m(c(4)), c(5)}}},
		{"kind change: label to counter and back", []step{{m(l("x")), l("x")}, {m(c(5)), c(5)}, {m(l("y")), l("y")}}},
		{"kind change within one response", []step{{[]ekg.Metric{{"m", g(1)}, {"m", l("z")}, {"m", c(3)}}, c(3)}}},
		{"empty response", []step{{m(g(1)), g(1)}, {nil, g(1)}, {[]ekg.Metric{}, g(1)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := ekg.NewStore()
			for i, st := range tc.steps {
				s.Apply(st.apply)
				got, ok := s.Snapshot().Lookup("m")
				if !ok || got != st.want {
					t.Fatalf("step %d: m = %v (%v), %v; want %v (%v)", i, got, got.Kind, ok, st.want, st.want.Kind)
				}
			}
		})
	}
}

func TestStoreKeepsAndSorts(t *testing.T) {
	t.Parallel()
	s := ekg.NewStore()
	s.Apply([]ekg.Metric{{"b", ekg.Gauge(1)}, {"a.b.c", ekg.Gauge(2)}, {"a-c", ekg.Gauge(3)}})
	first := s.Snapshot()
	s.Apply([]ekg.Metric{{"a.b", ekg.Gauge(4)}, {"a", ekg.Label("x")}})
	s.Apply([]ekg.Metric{{"b", ekg.Gauge(5)}}) // a partial response: nothing is removed
	var names []string
	for mt := range s.Snapshot().All() {
		names = append(names, mt.Name)
	}
	if want := []string{"a", "a.b", "a.b.c", "a-c", "b"}; !slices.Equal(names, want) {
		t.Errorf("names %q, want %q (segment order)", names, want)
	}
	if got := snapMap(first); !maps.Equal(got, map[string]ekg.Value{"b": ekg.Gauge(1), "a.b.c": ekg.Gauge(2), "a-c": ekg.Gauge(3)}) {
		t.Errorf("an old snapshot changed: %v", got)
	}
	if v, _ := s.Snapshot().Lookup("b"); v != ekg.Gauge(5) {
		t.Errorf("b = %v", v)
	}
	if _, ok := s.Snapshot().Lookup("c"); ok {
		t.Error("Lookup finds a missing name")
	}
	before := s.Snapshot()
	s.Apply([]ekg.Metric{{"b", ekg.Gauge(5)}, {"a", ekg.Label("x")}})
	if s.Snapshot() != before {
		t.Error("a response without changes published a new snapshot")
	}
}

// TestStoreMatchesModel applies pseudo-random responses and compares with
// a plain map that implements the semantics directly: with the default
// limit; with one the responses run into by names; and with long label
// texts that run into the bytes. Each report is taken or left out in the
// response's order, against what the reports before it left. Now and then
// a name is too long to keep.
func TestStoreMatchesModel(t *testing.T) {
	t.Parallel()
	long := "n." + strings.Repeat("x", ekg.MaxNameLen-2)
	for _, tc := range []struct {
		limit   int
		maxText uint64 // label texts are up to this long
	}{{0, 3}, {25, 3}, {25, 4000}} {
		t.Run(fmt.Sprintf("limit %d texts %d", tc.limit, tc.maxText), func(t *testing.T) {
			t.Parallel()
			limit := tc.limit
			s := ekg.NewStoreLimit(limit)
			if limit == 0 {
				limit = ekg.DefaultMaxMetrics
			}
			budget := limit * ekg.BytesPerMetric
			model := map[string]ekg.Value{}
			size := 0 // of the model's names and texts
			textLen := func(v ekg.Value) int { return len(v.Text) }
			x := uint64(1)
			rnd := func(n uint64) uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x % n }
			budgetHit := false
			for round := range 300 {
				ms := make([]ekg.Metric, rnd(20))
				for i := range ms {
					k := rnd(40)
					name := fmt.Sprintf("n.%d", k)
					switch rnd(50) {
					case 0:
						name = long // just short enough
					case 1:
						name = long + "y"
					}
					// Mostly each name keeps its kind, so that whole
					// responses take Apply's quick path; now and then one
					// changes it.
					if rnd(20) == 0 {
						k = rnd(6)
					}
					var v ekg.Value
					switch k % 6 {
					case 0:
						v = ekg.Gauge(int64(rnd(10)) - 5)
					case 1, 2:
						v = ekg.Label(strings.Repeat(fmt.Sprint(rnd(3)), 1+int(rnd(tc.maxText))))
					default:
						v = ekg.Counter(int64(rnd(1000)))
					}
					ms[i] = ekg.Metric{Name: name, Value: v}
				}
				wantDropped := 0
				for _, m := range ms {
					if len(m.Name) > ekg.MaxNameLen {
						wantDropped++
						continue
					}
					old, ok := model[m.Name]
					v := m.Value
					grows := len(m.Name) + textLen(v)
					if ok {
						if old.Kind == ekg.KindCounter && v.Kind == ekg.KindCounter {
							v.Int = max(v.Int, old.Int)
						}
						grows = textLen(v) - textLen(old)
					} else if len(model) >= limit {
						wantDropped++
						continue
					}
					if grows > 0 && size+grows > budget {
						wantDropped++
						budgetHit = true
						continue
					}
					size += grows
					model[m.Name] = v
				}
				if dropped := s.Apply(ms); dropped != wantDropped {
					t.Fatalf("round %d: Apply left out %d reports, want %d", round, dropped, wantDropped)
				}
				sn := s.Snapshot()
				if got := snapMap(sn); !maps.Equal(got, model) {
					t.Fatalf("round %d: store %v, model %v", round, got, model)
				}
				if sn.Len() != len(model) || sn.Size() != size {
					t.Fatalf("round %d: Len %d, Size %d; want %d, %d", round, sn.Len(), sn.Size(), len(model), size)
				}
			}
			if limit < 40 && len(model) != limit && tc.maxText < 100 {
				t.Fatalf("the store holds %d names; the responses had more than its limit %d", len(model), limit)
			}
			if tc.maxText > 100 && !budgetHit {
				t.Fatal("the responses never ran into the bytes")
			}
		})
	}
}

// TestStoreFullPublishesNothingNew: once a store holds its limit, a
// response that only brings more new names is left out whole, without
// building a snapshot, while the names it holds are still updated.
func TestStoreFullPublishesNothingNew(t *testing.T) {
	t.Parallel()
	s := ekg.NewStoreLimit(2)
	if d := s.Apply([]ekg.Metric{{"a", ekg.Counter(1)}, {"b", ekg.Gauge(1)}}); d != 0 {
		t.Fatalf("left out %d of two reports into an empty store", d)
	}
	full := s.Snapshot()
	if d := s.Apply([]ekg.Metric{{"c", ekg.Counter(1)}, {"d", ekg.Label("x")}, {"c", ekg.Counter(2)}}); d != 3 || s.Snapshot() != full {
		t.Fatalf("left out %d, published a new snapshot: %v; want 3 and none", d, s.Snapshot() != full)
	}
	if d := s.Apply([]ekg.Metric{{"e", ekg.Counter(1)}, {"a", ekg.Counter(5)}}); d != 1 {
		t.Fatalf("left out %d, want 1", d)
	}
	if got := snapMap(s.Snapshot()); !maps.Equal(got, map[string]ekg.Value{"a": ekg.Counter(5), "b": ekg.Gauge(1)}) {
		t.Fatalf("store %v", got)
	}
}

// TestStoreBytesBudget: names and label texts together stay within
// BytesPerMetric bytes per name of the store's limit. A report that would
// take them over is left out, a label then keeping its text, whether it
// brings a new name, a longer text or a new kind; shorter texts are
// always taken.
func TestStoreBytesBudget(t *testing.T) {
	t.Parallel()
	s := ekg.NewStoreLimit(4) // 2048 bytes
	if budget := 4 * ekg.BytesPerMetric; budget != 2048 {
		t.Fatalf("the steps below assume a budget of 2048 bytes, not %d", budget)
	}
	text := func(n int) ekg.Value { return ekg.Label(strings.Repeat("x", n)) }
	for i, st := range []struct {
		apply   []ekg.Metric
		dropped int
		size    int
		want    map[string]ekg.Value
	}{
		{[]ekg.Metric{{"a", text(1000)}}, 0, 1001, map[string]ekg.Value{"a": text(1000)}},
		{[]ekg.Metric{{"b", text(1000)}}, 0, 2002, map[string]ekg.Value{"a": text(1000), "b": text(1000)}},
		{[]ekg.Metric{{"c", text(100)}}, 1, 2002, nil}, // a new name too big
		{[]ekg.Metric{{"d", ekg.Counter(5)}}, 0, 2003, map[string]ekg.Value{"d": ekg.Counter(5)}},
		{[]ekg.Metric{{"a", text(1040)}}, 0, 2043, map[string]ekg.Value{"a": text(1040)}}, // just fits
		{[]ekg.Metric{{"a", text(2000)}}, 1, 2043, map[string]ekg.Value{"a": text(1040)}}, // a longer text too big
		{[]ekg.Metric{{"a", text(10)}}, 0, 1013, map[string]ekg.Value{"a": text(10)}},     // shorter is taken
		// e fits only in the room b's text, earlier in the response, leaves.
		{[]ekg.Metric{{"b", ekg.Counter(3)}, {"e", text(1500)}}, 0, 1514, map[string]ekg.Value{"b": ekg.Counter(3), "e": text(1500)}},
		{[]ekg.Metric{{"d", text(600)}}, 1, 1514, map[string]ekg.Value{"d": ekg.Counter(5)}}, // a new kind too big
		{[]ekg.Metric{{"f", ekg.Counter(1)}, {"f", ekg.Counter(2)}}, 2, 1514, nil},           // four names held
		{[]ekg.Metric{{"a", text(544)}}, 0, 2048, map[string]ekg.Value{"a": text(544)}},      // exactly the budget
		{[]ekg.Metric{{"a", text(545)}}, 1, 2048, map[string]ekg.Value{"a": text(544)}},      // one byte over
	} {
		if d := s.Apply(st.apply); d != st.dropped {
			t.Fatalf("step %d: left out %d reports, want %d", i, d, st.dropped)
		}
		sn := s.Snapshot()
		size := 0
		for m := range sn.All() {
			size += len(m.Name) + len(m.Value.Text)
		}
		if sn.Size() != st.size || size != st.size {
			t.Fatalf("step %d: Size %d, names and texts %d bytes; want %d", i, sn.Size(), size, st.size)
		}
		for name, want := range st.want {
			if got, ok := sn.Lookup(name); !ok || got != want {
				t.Fatalf("step %d: %s = %v (%d bytes), %v; want %v (%d bytes)", i, name, got.Kind, len(got.Text), ok, want.Kind, len(want.Text))
			}
		}
	}
}

// TestStoreFullByBytesPublishesNothing: a store whose bytes are used up
// publishes nothing for the reports it leaves out, whether they bring a
// new name or a new kind.
func TestStoreFullByBytesPublishesNothing(t *testing.T) {
	t.Parallel()
	s := ekg.NewStoreLimit(4) // 2048 bytes
	s.Apply([]ekg.Metric{{"a", ekg.Label(strings.Repeat("x", 2046))}, {"d", ekg.Counter(1)}})
	full := s.Snapshot()
	if full.Size() != 2048 {
		t.Fatalf("Size %d, want 2048", full.Size())
	}
	for _, tc := range []struct {
		ms      []ekg.Metric
		dropped int
	}{
		{[]ekg.Metric{{"b", ekg.Gauge(1)}}, 1},    // a new name
		{[]ekg.Metric{{"d", ekg.Label("zz")}}, 1}, // a new kind, longer
		{[]ekg.Metric{{"d", ekg.Label("zz")}, {"b", ekg.Gauge(1)}, {"d", ekg.Counter(0)}}, 2},
	} {
		if d := s.Apply(tc.ms); d != tc.dropped || s.Snapshot() != full {
			t.Fatalf("%v: left out %d, published %v; want %d and nothing", tc.ms, d, s.Snapshot() != full, tc.dropped)
		}
	}
}

// TestStoreKeepsNoResponseText: the decoder puts a response's label texts
// in one string; a kept label must not pin it, or a short text kept from
// each poll would hold every poll's texts, left-out ones included. Each
// poll here changes one label the store has (Apply's quick path) or adds
// one (its rebuild), next to a 1 MiB label under a name too long to keep.
func TestStoreKeepsNoResponseText(t *testing.T) {
	const polls = 40
	big := ekg.Label(strings.Repeat("x", 1<<20))
	tooLong := strings.Repeat("n", ekg.MaxNameLen+1)
	s := ekg.NewStore()
	first := make([]ekg.Metric, polls)
	for i := range first {
		first[i] = ekg.Metric{Name: fmt.Sprintf("has.%02d", i), Value: ekg.Label("-")}
	}
	s.Apply(first)
	for _, path := range []string{"has", "new"} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range polls {
			msg := ekg.Encode(ekg.MsgResp{Metrics: []ekg.Metric{
				{Name: fmt.Sprintf("%s.%02d", path, i), Value: ekg.Label(fmt.Sprint(i))},
				{Name: tooLong, Value: big},
			}})
			ms, err := ekg.DecodeResponse(msg)
			if err != nil {
				t.Fatal(err)
			}
			if d := s.Apply(ms); d != 1 {
				t.Fatalf("%s, poll %d: left out %d reports, want the one under a name too long", path, i, d)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		t.Logf("%s: the store holds %d metrics in %d bytes; the heap grew by %d bytes", path, s.Snapshot().Len(), s.Snapshot().Size(), grown)
		if grown > 8<<20 {
			t.Fatalf("%s: after %d polls the heap grew by %.1f MiB: kept labels pin their responses' texts", path, polls, float64(grown)/(1<<20))
		}
	}
	runtime.KeepAlive(s)
}

// TestStoreConcurrent runs Apply against readers that render what they
// see; under -race it shows the snapshots are never written after being
// published. Readers check that counters never go down and that a label
// moving between exposition classes (a number, an info label set) is
// always rendered with the TYPE and the text of one of them.
func TestStoreConcurrent(t *testing.T) {
	t.Parallel()
	kForm := regexp.MustCompile(`(?m)^(# TYPE k_real info\nk_real\{le="1"\} 2|# TYPE k_real gauge\nk_real [0-9]+)$`)
	s := ekg.NewStore()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var e ekg.Exposition
			var b []byte
			last := int64(-1)
			for {
				select {
				case <-stop:
					return
				default:
				}
				sn := s.Snapshot()
				b = e.Append(b[:0], sn, ekg.OpenMetrics, clock)
				if bytes.Contains(b, []byte("k_real")) && !kForm.Match(b) {
					t.Errorf("label k_real rendered with another class's TYPE or text:\n%s", b)
					return
				}
				b = ekg.AppendJSON(b[:0], sn, clock)
				if v, ok := sn.Lookup("c"); ok {
					if v.Int < last {
						t.Errorf("counter went down: %d after %d", v.Int, last)
						return
					}
					last = v.Int
				}
			}
		}()
	}
	for i := range 2000 {
		k := fmt.Sprint(i) // a number, and every third time an info label set
		if i%3 == 0 {
			k = `{le="1"} 2`
		}
		s.Apply([]ekg.Metric{
			{Name: "c", Value: ekg.Counter(int64(i))},
			{Name: fmt.Sprintf("g.%d", i%50), Value: ekg.Gauge(int64(i))},
			{Name: "l", Value: ekg.Label(fmt.Sprint(i))},
			{Name: "k_real", Value: ekg.Label(k)},
		})
	}
	close(stop)
	wg.Wait()
	if v, _ := s.Snapshot().Lookup("c"); v != ekg.Counter(1999) {
		t.Errorf("c = %v", v)
	}
}

// realistic300 returns a node's poll response of 300 metrics: names and
// values shaped like cardano-node's (prefix, suffixes, rts.gc.*, _real
// labels, one build-info label).
func realistic300() []ekg.Metric {
	ms := nodeMetrics()[:29] // the fixture without its odd names
	areas := []string{"ChainDB", "peerSelection", "connectionManager", "inboundGovernor", "blockfetchclient",
		"Forge", "Mempool", "txSubmission", "LedgerDB", "RTS"}
	for i := 0; len(ms) < 300; i++ {
		name := fmt.Sprintf("cardano.node.metrics.%s.metric%03d", areas[i%len(areas)], i)
		switch i % 5 {
		case 0, 1:
			ms = append(ms, ekg.Metric{Name: name + "_int", Value: ekg.Gauge(int64(i) * 7919)})
		case 2:
			ms = append(ms, ekg.Metric{Name: name + "_counter", Value: ekg.Counter(int64(i) * 1000003)})
		case 3:
			ms = append(ms, ekg.Metric{Name: name + "_real", Value: ekg.Label(fmt.Sprintf("%d.%04de-2", i%10, i))})
		default:
			ms = append(ms, ekg.Metric{Name: fmt.Sprintf("rts.gc.stat%03d", i), Value: ekg.Counter(int64(i) << 20)})
		}
	}
	return ms
}

// TestStoreSize measures the heap a store of 300 realistic metrics keeps:
// the budget is 32 KiB. The strings are fresh per store, as the decoder
// makes them.
func TestStoreSize(t *testing.T) {
	const stores = 200
	base := realistic300()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	inputs := make([][]ekg.Metric, stores)
	for i := range inputs {
		in := make([]ekg.Metric, len(base))
		for j, m := range base {
			in[j] = ekg.Metric{Name: string([]byte(m.Name)), Value: m.Value}
			in[j].Value.Text = string([]byte(m.Value.Text))
		}
		inputs[i] = in
	}
	kept := make([]*ekg.Store, stores)
	for i := range kept {
		kept[i] = ekg.NewStore()
		kept[i].Apply(inputs[i])
		inputs[i] = nil // the store keeps only what it needs
	}
	inputs = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / stores
	t.Logf("a store of %d metrics keeps %d bytes (%.1f KiB)", kept[0].Snapshot().Len(), per, float64(per)/1024)
	if per > 32<<10 {
		t.Errorf("a store of 300 metrics keeps %d bytes, budget 32 KiB", per)
	}
	// A scrape with help texts adds the per-layout help index.
	e := ekg.Exposition{Help: ekg.NewHelp(helpTexts())}
	var buf []byte
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, s := range kept {
		buf = e.Append(buf[:0], s.Snapshot(), ekg.OpenMetrics, clock)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	withHelp := per + (int64(after.HeapAlloc)-int64(before.HeapAlloc))/stores
	t.Logf("after a scrape with help texts: %d bytes (%.1f KiB)", withHelp, float64(withHelp)/1024)
	if withHelp > 32<<10 {
		t.Errorf("a store of 300 metrics keeps %d bytes after a scrape with help, budget 32 KiB", withHelp)
	}
	runtime.KeepAlive(kept)
}
