package muxproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
	"unsafe"
)

func TestMsgClass(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{0, 0}, {1, 0}, {512, 0}, {513, 1}, {1024, 1}, {1025, 2},
		{12288, 5}, {16384, 5}, {16385, 6}, {1 << 20, 11}, {1<<20 + 1, -1},
	} {
		if got := msgClass(tc.n); got != tc.want {
			t.Errorf("msgClass(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestNewMessage(t *testing.T) {
	for _, n := range []int{0, 1, 511, 512, 513, 3000, 12288, 65535, 1 << 20} {
		b := newMessage(n)
		want := 1 << (msgClass(n) + minPooledShift)
		if len(b) != 0 || cap(b) != want {
			t.Errorf("newMessage(%d): len %d cap %d, want 0 and %d", n, len(b), cap(b), want)
		}
	}
	if b := newMessage(1<<20 + 1); cap(b) != 1<<20+1 {
		t.Errorf("beyond the largest class: cap %d", cap(b))
	}
}

// TestReleaseMessageReuses: a released buffer serves a later message of
// its class. (Under the race detector sync.Pool drops some of what it is
// given, so it is tried a few times.)
func TestReleaseMessageReuses(t *testing.T) {
	reused := false
	for range 50 {
		b := append(newMessage(3000), "released"...)
		ReleaseMessage(b)
		if c := newMessage(2500); unsafe.SliceData(c) == unsafe.SliceData(b) {
			if cap(c) != 4096 || len(c) != 0 {
				t.Fatalf("reused buffer: len %d cap %d", len(c), cap(c))
			}
			reused = true
			break
		}
	}
	if !reused {
		t.Fatal("a released buffer never came back")
	}
}

// TestReleaseMessageIgnoresOtherSizes: buffers that are not of a pooled
// size are left to the collector, not pooled under a wrong class.
func TestReleaseMessageIgnoresOtherSizes(t *testing.T) {
	for _, c := range []int{0, 256, 3000, 4095, 2 << 20} {
		b := make([]byte, 0, c)
		ReleaseMessage(b)
		for k := range msgPools {
			for range 4 {
				p, ok := msgPools[k].Get().(unsafe.Pointer)
				if ok && p == unsafe.Pointer(unsafe.SliceData(b)) {
					t.Fatalf("a buffer of capacity %d was pooled in class %d", c, k)
				}
			}
		}
	}
}

// item is a CBOR byte string of n bytes in all, filled with fill.
func item(n int, fill byte) []byte {
	b := append([]byte{0x5a, 0, 0, 0, 0}, bytes.Repeat([]byte{fill}, n-5)...)
	b[1], b[2], b[3], b[4] = byte((n-5)>>24), byte((n-5)>>16), byte((n-5)>>8), byte(n-5)
	return b
}

// TestPooledChannel: with PoolMessages, messages read whole and messages
// spread over SDUs arrive intact in buffers of a pooled size, and a
// released one is written over only by later messages.
func TestPooledChannel(t *testing.T) {
	m := &Mux{own: FromResponder, cfg: Config{MaxMessageSize: 1 << 20}}
	c := &Channel{m: m, proto: ProtoTraceObject, fr: framer{maxDepth: 8}}
	c.PoolMessages()
	feed := func(stream []byte, sdu int) {
		for len(stream) > 0 {
			k := min(len(stream), sdu)
			if err := c.take(m, stream[:k], k, 0); err != nil {
				t.Fatal(err)
			}
			stream = stream[k:]
		}
	}
	a, b := item(700, 'a'), item(30000, 'b')
	// a whole, then b over three SDUs, each read alone (so the room for b
	// is not known and its buffer has to grow)
	feed(append(append([]byte{}, a...), b...), 12288)
	var got [][]byte
	for {
		msg, ok := c.pop()
		if !ok {
			break
		}
		got = append(got, msg)
	}
	if len(got) != 2 || !bytes.Equal(got[0], a) || !bytes.Equal(got[1], b) {
		t.Fatalf("delivered %d messages, not a and b intact", len(got))
	}
	for i, msg := range got {
		if cp := cap(msg); cp&(cp-1) != 0 {
			t.Errorf("message %d: capacity %d is not a pooled size", i, cp)
		}
	}
	keep := bytes.Clone(got[1])
	ReleaseMessage(got[0])
	feed(item(600, 'c'), 12288)
	if !bytes.Equal(got[1], keep) {
		t.Fatal("an unreleased message was written over")
	}
}

// TestPooledMessageReleasedAtOnce: a consumer may release a message the
// moment it has it, and another connection may write over the buffer
// then; the bytes that followed it in its last SDU (the next message's
// first) must not be read from that buffer any more. Here every message
// is written over the moment it is delivered.
func TestPooledMessageReleasedAtOnce(t *testing.T) {
	m := &Mux{own: FromResponder, cfg: Config{MaxMessageSize: 1 << 20}}
	c := &Channel{m: m, proto: ProtoTraceObject, fr: framer{maxDepth: 8}, ready: make(chan struct{}, 1)}
	c.PoolMessages()
	var got [][]byte
	c.testHook = func(msg []byte) {
		got = append(got, bytes.Clone(msg))
		full := msg[:cap(msg)]
		for i := range full {
			full[i] = 0xee
		}
	}
	a, b2, d := item(20000, 'a'), item(3000, 'b'), item(5000, 'd')
	// a spans two SDUs; the second also holds all of b2 and the start of d.
	stream := append(append(append([]byte{}, a...), b2...), d...)
	for _, cut := range [][2]int{{0, 12288}, {12288, 24576}, {24576, len(stream)}} {
		p := bytes.Clone(stream[cut[0]:cut[1]])
		if err := c.take(m, p, len(p), 0); err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range [][]byte{a, b2, d} {
		if i >= len(got) || !bytes.Equal(got[i], w) {
			t.Fatalf("message %d not delivered as sent (%d delivered)", i, len(got))
		}
	}
}

// TestPooledLongMessageGrowsByDoubling: a message beyond the largest
// pooled size that arrives in small SDUs, each read on its own, is not
// copied again with every SDU. Copying it whole per SDU, 2 MiB in 4 KiB
// SDUs allocated about 400 MiB.
func TestPooledLongMessageGrowsByDoubling(t *testing.T) {
	const size, sdu = 2 << 20, 4 << 10
	m := &Mux{own: FromResponder, cfg: Config{MaxMessageSize: 32 << 20, IngressLimit: 64 << 20}}
	for _, pooled := range []bool{false, true} {
		c := &Channel{m: m, proto: 2, fr: framer{maxDepth: 8}}
		c.pooled.Store(pooled)
		// One definite byte string: header 5a and a 4-byte length.
		whole := binary.BigEndian.AppendUint32([]byte{0x5a}, size-5)
		whole = append(whole, bytes.Repeat([]byte{'x'}, size-5)...)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for rest := whole; len(rest) > 0; {
			k := min(len(rest), sdu)
			if err := c.take(m, rest[:k], k, 0); err != nil {
				t.Fatal(err)
			}
			rest = rest[k:]
		}
		runtime.ReadMemStats(&after)
		msg, ok := c.pop()
		if !ok || !bytes.Equal(msg, whole) {
			t.Fatalf("pooled %v: the message was not delivered whole", pooled)
		}
		if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 8*size {
			t.Fatalf("pooled %v: a %d-byte message in %d-byte SDUs allocated %d MiB", pooled, size, sdu, allocated>>20)
		}
	}
}

// TestMaxMessageSizeOnCompleteMessages: a message over MaxMessageSize is
// refused whether it arrives whole within one SDU or completes one that
// began within the limit, not only while it is still incomplete.
func TestMaxMessageSizeOnCompleteMessages(t *testing.T) {
	m := &Mux{own: FromResponder, cfg: Config{MaxMessageSize: 1000, IngressLimit: 1 << 20}}
	whole := AppendText(nil, string(make([]byte, 5000)))
	c := &Channel{m: m, proto: 2, fr: framer{maxDepth: 8}}
	if err := c.take(m, whole, len(whole), 0); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("a %d-byte message in one piece: %v, want ErrMessageTooLarge", len(whole), err)
	}
	c = &Channel{m: m, proto: 2, fr: framer{maxDepth: 8}}
	if err := c.take(m, whole[:999], 999, 0); err != nil {
		t.Fatalf("the first 999 bytes: %v", err)
	}
	if err := c.take(m, whole[999:], len(whole)-999, 0); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("the rest of a %d-byte message: %v, want ErrMessageTooLarge", len(whole), err)
	}
	ok := AppendText(nil, string(make([]byte, 900)))
	c = &Channel{m: m, proto: 2, fr: framer{maxDepth: 8}}
	if err := c.take(m, ok, len(ok), 0); err != nil {
		t.Fatalf("a %d-byte message: %v", len(ok), err)
	}
	if msg, delivered := c.pop(); !delivered || len(msg) != len(ok) {
		t.Fatal("a message within the limit was not delivered")
	}
}
