package muxproto

import (
	"math/bits"
	"sync"
	"unsafe"
)

// Message buffers come from pools by size class (powers of two from 512 B
// to 1 MiB), so that a consumer that is done with a message can hand its
// memory to the next one with ReleaseMessage. Under load the
// demultiplexer copies every byte a node sends into such a buffer; without
// reuse, each of them is garbage within milliseconds, and with a thousand
// connections the collections that follow (every goroutine stack scanned
// each time) took a seventh to a quarter of the acceptor's CPU.
const (
	minPooledShift = 9  // 512 B
	maxPooledShift = 20 // 1 MiB
)

// msgPools[k] holds buffers of 1<<(k+minPooledShift) bytes, each kept as a
// pointer to its first byte so that Put does not allocate.
var msgPools [maxPooledShift - minPooledShift + 1]sync.Pool

// msgClass returns the class of the smallest pooled size that holds n
// bytes, or -1 if n is beyond the largest.
func msgClass(n int) int {
	if n > 1<<maxPooledShift {
		return -1
	}
	if n <= 1<<minPooledShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minPooledShift
}

// newMessage returns an empty buffer with room for at least n bytes.
func newMessage(n int) []byte {
	k := msgClass(n)
	if k < 0 {
		return make([]byte, 0, n)
	}
	if p, ok := msgPools[k].Get().(unsafe.Pointer); ok {
		return unsafe.Slice((*byte)(p), 1<<(k+minPooledShift))[:0]
	}
	return make([]byte, 0, 1<<(k+minPooledShift))
}

// ReleaseMessage gives back the memory of a message that Channel.Recv
// returned, once nothing refers to it any more: not the message, nor any
// string or slice made from it without copying (a decoder that aliases
// it). Its bytes are then overwritten by later messages of any channel.
// Releasing is optional (a message never released is collected as usual);
// releasing one still in use corrupts whatever uses it.
func ReleaseMessage(msg []byte) {
	c := cap(msg)
	if c < 1<<minPooledShift || c > 1<<maxPooledShift || c&(c-1) != 0 {
		return // not a pooled size
	}
	msgPools[msgClass(c)].Put(unsafe.Pointer(unsafe.SliceData(msg)))
}
