package loadgen

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"muninn/tracer"
)

// line is what the tailer reads from a toMachine line.
type line struct {
	Data struct {
		Kind     string `json:"kind"`
		Seq      uint64 `json:"seq"`
		Enqueued int64  `json:"enqueued"`
	} `json:"data"`
	NS   string `json:"ns"`
	Host string `json:"host"`
}

func parseLine(m string) (line, error) {
	var l line
	err := json.Unmarshal([]byte(m), &l)
	return l, err
}

// decodeObject decodes one encoded TraceObject, wrapped in a reply.
func decodeObject(t *testing.T, enc []byte) tracer.TraceObject {
	t.Helper()
	reply := append(append([]byte{0x82, 0x03, 0x9f}, enc...), 0xff) // [3, [_ obj]]
	objs, err := tracer.DecodeReply(reply)
	if err != nil || len(objs) != 1 {
		t.Fatalf("decode object: %v (%d objects)", err, len(objs))
	}
	return objs[0]
}

// checkLine asserts what the tailer relies on: one valid JSON object on
// one line, with seq, enqueued and host each once, the host and a known
// namespace, and, for a host name of the default length, the size of its
// class within 15 %. It returns the line and the index of its kind.
func checkLine(t *testing.T, m string, host string) (line, int) {
	t.Helper()
	if !json.Valid([]byte(m)) || strings.ContainsAny(m, "\n\r") {
		t.Fatalf("not one valid JSON line: %q", m)
	}
	for _, key := range []string{`"seq":`, `"enqueued":`, `"host":"`} {
		if c := strings.Count(m, key); c != 1 {
			t.Fatalf("%s occurs %d times in %s", key, c, m)
		}
	}
	l, err := parseLine(m)
	if err != nil {
		t.Fatal(err)
	}
	k := slices.IndexFunc(kinds, func(kd kind) bool { return kd.ns == l.NS })
	if l.Host != host || k < 0 || l.Data.Kind != kinds[k].ns[lastDot(kinds[k].ns)+1:] {
		t.Fatalf("line %s: host %q, want %q; unknown namespace or kind", m, l.Host, host)
	}
	if target := classBytes[kinds[k].class]; len(host) == len("load-0000") && math.Abs(float64(len(m)-target)) > 0.15*float64(target) {
		t.Fatalf("%s: toMachine is %d bytes, want %d ± 15 %%", kinds[k].ns, len(m), target)
	}
	return l, k
}

// TestObjects: every kind, encoded afresh or patched from a template,
// decodes to the same object content, with what the tailer relies on.
func TestObjects(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 7, 23, 8, 56, 7, 123456789, time.UTC)
	seqs := []uint64{0, 9, 10, 123456, 1 << 40, math.MaxUint64}
	for _, host := range []string{"load-0000", `odd "name" \ é`} {
		plain, pre := newBuilder(host, false), newBuilder(host, true)
		for k, kd := range kinds {
			t.Run(host+"/"+kd.ns, func(t *testing.T) {
				for _, seq := range seqs {
					for i, b := range []*builder{plain, pre} {
						at := now.Add(time.Duration(i*1000+int(seq%1000)) * time.Microsecond)
						o := decodeObject(t, b.appendObject(nil, k, seq, at))
						l, lk := checkLine(t, o.Machine, host)
						if lk != k || l.Data.Seq != seq || l.Data.Enqueued != at.UnixNano() {
							t.Errorf("line %s: kind %d, want %d; want seq %d, enqueued %d", o.Machine, lk, k, seq, at.UnixNano())
						}
						if want := `{"at":"` + at.Format(atLayout) + `"`; !strings.HasPrefix(o.Machine, want) {
							t.Errorf("machine %s, want it to start with %s", o.Machine, want)
						}
						if !o.Timestamp.Time().Equal(at) || o.Hostname != host || o.NamespaceString() != kd.ns ||
							o.Severity != kd.sev || o.Detail != tracer.DNormal || o.HasHuman != (kd.human != nil) || o.ThreadID == "" {
							t.Errorf("object %+v", o)
						}
					}
				}
			})
		}
	}
}

// A template is copied, never written: objects patched from it stay as
// they were made.
func TestTemplateCopies(t *testing.T) {
	t.Parallel()
	b := newBuilder("load-0001", true)
	now := time.Now()
	first := b.appendObject(nil, 0, 1, now)
	keep := string(first)
	b.appendObject(nil, 0, 2, now.Add(time.Second))
	if string(first) != keep {
		t.Fatal("a later object changed an earlier one")
	}
	if got := decodeObject(t, first); !strings.Contains(got.Machine, `"seq":                   1,`) {
		t.Fatalf("seq not padded to 20 characters with spaces: %s", got.Machine)
	}
}

func TestPutPadded(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v     uint64
		width int
		want  string
	}{
		{0, 3, "  0"},
		{42, 5, "   42"},
		{999, 3, "999"},
		{math.MaxUint64, seqWidth, "18446744073709551615"},
	} {
		if got := string(appendPadded(nil, tt.v, tt.width)); got != tt.want {
			t.Errorf("appendPadded(%d, %d) = %q, want %q", tt.v, tt.width, got, tt.want)
		}
	}
}

// TestMix: weights pick kinds in proportion, a zero weight never.
func TestMix(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		sizes SizeMix
	}{
		{"default", SizeMix{60, 35, 5}},
		{"small only", SizeMix{Small: 1}},
		{"no medium", SizeMix{Small: 1, Large: 3}},
		{"large only", SizeMix{Large: 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newMix(tt.sizes)
			const steps = 100000
			var perClass [3]int
			for i := range steps {
				perClass[kinds[m.pick(float64(i)/steps)].class]++
			}
			perClass[kinds[m.pick(math.Nextafter(1, 0))].class]++ // the top end
			want := [3]int{tt.sizes.Small, tt.sizes.Medium, tt.sizes.Large}
			total := want[0] + want[1] + want[2]
			for c := range perClass {
				share := float64(perClass[c]) / (steps + 1)
				if math.Abs(share-float64(want[c])/float64(total)) > 0.001 || (want[c] == 0) != (perClass[c] == 0) {
					t.Errorf("class %d: share %.4f, want %d/%d", c, share, want[c], total)
				}
			}
		})
	}
}
