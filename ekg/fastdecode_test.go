package ekg_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"muninn/ekg"
	"muninn/muxproto"
)

// decodeResponseAll decodes b with the reference decoder, DecodeResponse,
// the acceptor's decoder on a copy handed over, and the fast path alone
// (copying and aliasing), and fails unless all accept with equal metrics
// or all reject, every error wrapping muxproto.ErrDecode. It returns the
// reference's result.
func decodeResponseAll(t testing.TB, b []byte) ([]ekg.Metric, error) {
	t.Helper()
	ref, rerr := ekg.DecodeResponseRef(b)
	if rerr != nil && !errors.Is(rerr, muxproto.ErrDecode) {
		t.Fatalf("DecodeResponseRef(%x): error %v does not wrap ErrDecode", b, rerr)
	}
	check := func(name string, ms []ekg.Metric, ok bool) {
		t.Helper()
		if ok != (rerr == nil) {
			t.Fatalf("%s(%x): accepts %v, reference accepts %v (%v)", name, b, ok, rerr == nil, rerr)
		}
		if !reflect.DeepEqual(ms, ref) {
			t.Fatalf("%s(%x):\n got %#v\nwant %#v", name, b, ms, ref)
		}
	}
	for _, owned := range []bool{false, true} {
		ms, ok := ekg.DecodeResponseFast(b, owned)
		check("fast path", ms, ok)
	}
	for name, dec := range map[string]func([]byte) ([]ekg.Metric, error){
		"DecodeResponse":      ekg.DecodeResponse,
		"DecodeResponseOwned": ekg.DecodeResponseOwned,
	} {
		ms, err := dec(bytes.Clone(b))
		if err != nil && !errors.Is(err, muxproto.ErrDecode) {
			t.Fatalf("%s(%x): error %v does not wrap ErrDecode", name, b, err)
		}
		check(name, ms, err == nil)
	}
	return ref, rerr
}

// respPre opens a response and its indefinite list: [1, [0, [_.
const respPre = "820182009f"

// responseEdges are responses where a hand decoder is easy to get wrong:
// widths, limits, UTF-8 and the ends of lists, with whether Haskell (and
// the reference decoder) accepts them.
var responseEdges = []struct {
	name, hex string
	ok        bool
}{
	{"surrogate in a name", respPre + "8263eda080820124ff", false},
	{"overlong slash in a name", respPre + "8262c0af820124ff", false},
	{"four-byte rune in a label", respPre + "826167820264f09f9880ff", true},
	{"rune cut by the end of a name", respPre + "8262f09f820124ff", false},
	{"name length in two bytes", respPre + "82780167820124ff", true},
	{"name length in eight bytes", respPre + "827b000000000000000167820124ff", true},
	{"name longer than the message", respPre + "827b7fffffffffffffff67820124ff", false},
	{"label length reserved ai", respPre + "8261678202 7c ff", false},
	{"gauge ai 31", respPre + "82616782011fff", false},
	{"gauge -2^63", respPre + "82616782013b7fffffffffffffffff", true},
	{"counter 2^63-1 in eight bytes", respPre + "82616782001b7fffffffffffffffff", true},
	{"value tag 2 in eight bytes", respPre + "826167821b00000000000000026161ff", true},
	{"value tag 65538", respPre + "826167821a000100026161ff", false},
	{"value tag 258", respPre + "826167821901026161ff", false},
	{"envelope tag 257", "8219010182009f826167820124ff", false},
	{"record length in four bytes", "82019a00000002009f826167820124ff", true},
	{"no break", respPre + "826167820124", false},
	{"byte after the break", respPre + "826167820124ff00", false},
	{"byte after a definite list", "8201820081826167820124ff", false},
	{"break in a definite list", "8201820082826167820124ff", false},
	{"definite list too short", "8201820082826167820124", false},
	{"list head cut", "82018200 99 01", false},
	{"list head reserved ai", "82018200 9c", false},
	{"envelope of three", "830182009f826167820124ff00", false},
	{"tagged name", respPre + "82d8206167820124ff", false},
	{"tagged list", "82018200d8209f826167820124ff", false},
	{"empty name and label", respPre + "8260820260ff", true},
	{"pair heads in two bytes", respPre + "9802616798020124ff", true},
	{"pair heads in eight bytes", respPre + "9b00000000000000026167820124ff", true},
	{"label as bytes", respPre + "8261678202416aff", false},
	{"gauge as simple value", respPre + "8261678201f6ff", false},
	{"break for a value", respPre + "82616782ffff", false},
	{"many empty labels", respPre + strings.Repeat("8260820260", 40) + "ff", true},
}

// TestDecodeResponseEdges holds the decoders to each other on
// responseEdges. The vectors and the accept and reject tables run through
// decodeResponseAll too.
func TestDecodeResponseEdges(t *testing.T) {
	t.Parallel()
	for _, tt := range responseEdges {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeResponseAll(t, unhex(t, tt.hex))
			if (err == nil) != tt.ok {
				t.Fatalf("accepted %v, want %v: %v", err == nil, tt.ok, err)
			}
		})
	}
}

// TestDecodeResponseListLimit: the shared decode mode's cap of 1<<17
// elements holds for the metric list, definite or not.
func TestDecodeResponseListLimit(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("decodes four lists of 2^17 metrics")
	}
	const metric = "\x82\x60\x82\x01\x00" // ["", [1, 0]]
	for _, n := range []int{1 << 17, 1<<17 + 1} {
		indef := "\x82\x01\x82\x00\x9f" + strings.Repeat(metric, n) + "\xff"
		def := string(muxproto.AppendArray([]byte("\x82\x01\x82\x00"), n)) + strings.Repeat(metric, n)
		for _, msg := range []string{indef, def} {
			ms, err := decodeResponseAll(t, []byte(msg))
			if (err == nil) != (n == 1<<17) || (err == nil && len(ms) != n) {
				t.Fatalf("%d metrics, first byte of list %x: got %d, %v", n, msg[4], len(ms), err)
			}
		}
	}
}

// within reports whether s lies in b's memory.
func within(s string, b []byte) bool {
	if len(s) == 0 || len(b) == 0 {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= lo && p < lo+uintptr(len(b))
}

// TestDecodeResponseOwnership: DecodeResponse keeps nothing of its input;
// the acceptor's decoder aliases the names but never the label texts,
// which a Store keeps.
func TestDecodeResponseOwnership(t *testing.T) {
	t.Parallel()
	_, enc := response300()
	b := bytes.Clone(enc)
	ms, err := ekg.DecodeResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if within(m.Name, b) || within(m.Value.Text, b) {
			t.Fatalf("DecodeResponse: metric %q refers to its input", m.Name)
		}
	}
	ms, err = ekg.DecodeResponseOwned(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if !within(m.Name, b) {
			t.Fatalf("owned: name %q copied", m.Name)
		}
		if within(m.Value.Text, b) {
			t.Fatalf("owned: label of %q refers to the message", m.Name)
		}
	}
}

// TestDecodeResponseAllocs: a response costs the slice and, when it holds
// labels, one string of label texts; DecodeResponse adds one of names.
// Not parallel: AllocsPerRun counts every allocation in the process.
func TestDecodeResponseAllocs(t *testing.T) { //nolint:paralleltest // see above
	_, enc := response300()
	for _, tt := range []struct {
		name string
		dec  func([]byte) ([]ekg.Metric, error)
		max  float64
	}{
		{"DecodeResponse", ekg.DecodeResponse, 3},
		{"DecodeResponseOwned", ekg.DecodeResponseOwned, 2},
	} {
		got := testing.AllocsPerRun(50, func() {
			if _, err := tt.dec(enc); err != nil {
				t.Fatal(err)
			}
		})
		if got > tt.max {
			t.Errorf("%s: %v allocations per response, want ≤ %v", tt.name, got, tt.max)
		}
	}
}
