package tailer

import (
	"fmt"
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		line string
		want parsed
		ok   bool
	}{
		{"load generator", line("load-0007", 42, 1735689600123456789)[:len(line("load-0007", 42, 1735689600123456789))-1],
			parsed{42, 1735689600123456789, []byte("load-0007")}, true},
		{"padded", `{"data":{"seq":        42,"enqueued":   17},"host":"h"}`, parsed{42, 17, []byte("h")}, true},
		{"tab padded", "{\"seq\":\t3,\"enqueued\":\t-4,\"host\":\"h\"}", parsed{3, -4, []byte("h")}, true},
		{"negative enqueue", `{"seq":0,"enqueued":-5,"host":"h"}`, parsed{0, -5, []byte("h")}, true},
		{"keys in any order", `{"host":"n1","enqueued":9,"seq":1}`, parsed{1, 9, []byte("n1")}, true},
		{"seq zero", `{"seq":0,"enqueued":0,"host":"x"}`, parsed{0, 0, []byte("x")}, true},
		{"no seq", `{"enqueued":0,"host":"x"}`, parsed{}, false},
		{"seq text", `{"seq":"0","enqueued":0,"host":"x"}`, parsed{}, false},
		{"seq missing number", `{"seq":,"enqueued":0,"host":"x"}`, parsed{}, false},
		{"minus then space", `{"seq":1,"enqueued":- 5,"host":"x"}`, parsed{}, false},
		{"enqueued overflow", `{"seq":1,"enqueued":9223372036854775808,"host":"x"}`, parsed{}, false},
		{"most negative", `{"seq":1,"enqueued":-9223372036854775808,"host":"x"}`, parsed{1, -9223372036854775808, []byte("x")}, true},
		{"host unterminated", `{"seq":1,"enqueued":2,"host":"x`, parsed{}, false},
		{"host empty", `{"seq":1,"enqueued":2,"host":""}`, parsed{}, false},
		{"truncated", `{"seq":`, parsed{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseLine([]byte(tt.line))
			if ok != tt.ok || ok && (got.seq != tt.want.seq || got.enqueued != tt.want.enqueued || string(got.host) != string(tt.want.host)) {
				t.Errorf("got %v %+v (host %q), want %v %+v", ok, got, got.host, tt.ok, tt.want)
			}
		})
	}
}

// realistic is a line the size of the load generator's commonest kind.
func realistic() []byte {
	return []byte(fmt.Sprintf(`{"at":"2025-01-01T00:00:00.000000000Z","ns":"Mempool.AddedTx","data":{"kind":"AddedTx","mempoolSize":{"bytes":21234,"numTxs":17},"tx":{"txid":"%064x"},"seq":%12d,"enqueued":%d},"sev":"Info","thread":"43","host":"load-0007"}`,
		12345, 123456789, time.Now().UnixNano()))
}

func BenchmarkParseLine(b *testing.B) {
	l := realistic()
	b.SetBytes(int64(len(l) + 1))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := parseLine(l); !ok {
			b.Fatal("not parsed")
		}
	}
}

// BenchmarkConsume is the whole per-line cost: splitting a read into
// lines, parsing, the seen-set, and two histogram updates.
func BenchmarkConsume(b *testing.B) {
	const perChunk = 256
	var chunk []byte
	base := realistic()
	for range perChunk {
		chunk = append(append(chunk, base...), '\n')
	}
	tl := &Tailer{st: stats{hosts: make(map[string]*hostStats)}}
	f := &file{}
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		tl.consume(f, chunk)
	}
	b.ReportMetric(float64(b.N*perChunk)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkReport1000Nodes is the time Report holds the lock for with
// 1000 nodes whose latencies spread over milliseconds.
func BenchmarkReport1000Nodes(b *testing.B) {
	tl := &Tailer{st: stats{hosts: make(map[string]*hostStats)}}
	now := time.Now().UnixNano()
	for n := range 1000 {
		h := tl.st.host([]byte(fmt.Sprintf("load-%04d", n)))
		for s := range uint64(100) {
			tl.st.record(h, parsed{seq: s, enqueued: now - int64(s)*50_000}, now)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := tl.Report(); len(r.Nodes) != 1000 {
			b.Fatal(len(r.Nodes))
		}
	}
}
