package tracer

import "sync"

// Decoded batches are the largest thing an acceptor allocates: 120 bytes
// of TraceObject per object, and the room a list of unstated length is
// given, while the reply's text, which the objects alias, comes from the
// message pools. At a thousand connections, where every collection scans
// thousands of goroutine stacks, allocating them anew made a collection
// every half second. DecodeReplyPooled and ReleaseBatch let that memory
// serve the next batch instead. Like the message pools, the pool empties
// itself when the collector runs, so an idle acceptor keeps nothing.
var (
	batches sync.Pool // *[]TraceObject: length 0, every object zeroed
	holders sync.Pool // *[]TraceObject holding nothing, for ReleaseBatch
)

// maxPooledBatch is the largest capacity, in objects, ReleaseBatch
// keeps: more than any loRequestNum in use asks for, and an unusually
// large batch is not worth holding on to.
const maxPooledBatch = 1024

// DecodeReplyPooled is DecodeReplyInPlace, with the same ownership rule
// for data, putting the objects in the memory of a batch given back with
// ReleaseBatch when one is at hand.
func DecodeReplyPooled(data []byte) ([]TraceObject, error) {
	var dst []TraceObject
	if h, _ := batches.Get().(*[]TraceObject); h != nil {
		dst, *h = *h, nil
		holders.Put(h)
	}
	return decodeReplyInto(data, dst)
}

// ReleaseBatch gives a batch's memory back for DecodeReplyPooled to
// reuse. Call it once per batch, with the batch as it was decoded, and
// only when nothing reads its objects any more: the next reply decoded
// overwrites them. Any batch will do (a batch from DecodeReply, say);
// after the call it belongs to the pool.
func ReleaseBatch(batch []TraceObject) {
	if cap(batch) == 0 || cap(batch) > maxPooledBatch {
		return
	}
	// Drop the strings into the reply they were decoded from, which goes
	// back to its own pool, so that a pooled batch holds no message.
	clear(batch)
	h, _ := holders.Get().(*[]TraceObject)
	if h == nil {
		h = new([]TraceObject)
	}
	*h = batch[:0]
	batches.Put(h)
}
