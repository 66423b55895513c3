package tracer

import (
	"bytes"
	"reflect"
	"testing"
)

// TestBatchPoolReuse: a batch given back with ReleaseBatch is what
// DecodeReplyPooled decodes the next reply into, and the result is the
// reply's objects alone; a batch larger than maxPooledBatch is not kept.
func TestBatchPoolReuse(t *testing.T) {
	t.Parallel()
	two := unhex(t, "82039f"+t13Hex[6:len(t13Hex)-2]+t14Hex[6:len(t14Hex)-2]+"ff")
	one := unhex(t, t14Hex)
	want, err := DecodeReplyInPlace(bytes.Clone(one))
	if err != nil {
		t.Fatal(err)
	}
	// The pool is shared with parallel tests, and a collection (or the
	// race detector, which drops some puts on purpose) may empty it: try
	// until the memory comes back.
	reused := false
	for range 200 {
		first, err := DecodeReplyPooled(bytes.Clone(two))
		if err != nil || len(first) != 2 {
			t.Fatalf("two-object reply: %d objects, %v", len(first), err)
		}
		mem := &first[:1][0]
		ReleaseBatch(first)
		next, err := DecodeReplyPooled(bytes.Clone(one))
		if err != nil || !reflect.DeepEqual(next, want) {
			t.Fatalf("after a release: %#v, %v; want %#v", next, err, want)
		}
		if &next[0] == mem {
			reused = true
			break
		}
	}
	if !reused {
		t.Fatal("a released batch was never decoded into again")
	}

	big := make([]TraceObject, 0, maxPooledBatch+1)
	for range 50 {
		ReleaseBatch(big)
		got, err := DecodeReplyPooled(bytes.Clone(one))
		if err != nil {
			t.Fatal(err)
		}
		if cap(got) == cap(big) && &got[:1][0] == &big[:1][0] {
			t.Fatalf("a batch of capacity %d was kept", cap(big))
		}
	}
}
