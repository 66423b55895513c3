package tracer

import (
	"strings"
	"testing"
	"time"
)

// benchReply encodes a reply of n objects of about 500 bytes each, shaped
// like a node's ChainDB traces.
func benchReply(n int) []byte {
	objs := make([]TraceObject, n)
	for i := range objs {
		at := time.Date(2024, 1, 1, 0, 0, 0, i*1000, time.UTC)
		objs[i] = TraceObject{
			Human: "Chain extended, new tip: " + strings.Repeat("0a1b2c", 8), HasHuman: i%2 == 0,
			Machine: `{"at":"` + at.Format(time.RFC3339Nano) + `","ns":"ChainDB.AddBlockEvent.AddedToCurrentChain","data":{"kind":"AddedToCurrentChain","newtip":"` +
				strings.Repeat("9f3a", 32) + `@123456789","headers":[{"blockNo":"10123456","slotNo":"123456789"}]},"sev":"Notice","thread":"42","host":"relay-1"}`,
			Namespace: []string{"ChainDB.AddBlockEvent.AddedToCurrentChain"},
			Severity:  Notice, Detail: DNormal,
			Timestamp: TimeOf(at), Hostname: "relay-1", ThreadID: "42",
		}
	}
	return EncodeReply(objs)
}

func benchDecode(b *testing.B, decode func([]byte) ([]TraceObject, error)) {
	data := benchReply(100)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		objs, err := decode(data)
		if err != nil || len(objs) != 100 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkDecodeReply100 decodes one reply of 100 objects of ~500 bytes.
func BenchmarkDecodeReply100(b *testing.B) { benchDecode(b, DecodeReply) }

// BenchmarkDecodeReplyOwned100 is the same with DecodeReplyInPlace, as
// the acceptor decodes each message from the Mux.
func BenchmarkDecodeReplyOwned100(b *testing.B) {
	data := benchReply(100)
	copies := make([][]byte, 64) // fresh buffers, as each Recv gives
	for i := range copies {
		copies[i] = append([]byte(nil), data...)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		objs, err := DecodeReplyInPlace(copies[i%len(copies)])
		if err != nil || len(objs) != 100 {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkDecodeReplyRef100 is the same with the reference decoder.
func BenchmarkDecodeReplyRef100(b *testing.B) { benchDecode(b, DecodeReplyRef) }

// BenchmarkEncodeReply100 encodes a reply of 100 objects.
func BenchmarkEncodeReply100(b *testing.B) {
	objs, err := DecodeReply(benchReply(100))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		EncodeReply(objs)
	}
}

// BenchmarkDecodeRequest decodes the request an acceptor sends per reply;
// BenchmarkDecodeRequestRef is the same with the reference decoder.
func BenchmarkDecodeRequest(b *testing.B)    { benchRequest(b, DecodeRequest) }
func BenchmarkDecodeRequestRef(b *testing.B) { benchRequest(b, DecodeRequestRef) }

func benchRequest(b *testing.B, decode func([]byte) (Message, error)) {
	req := EncodeRequest(Request{Blocking: true, Count: DefaultRequestNum})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(req); err != nil {
			b.Fatal(err)
		}
	}
}
