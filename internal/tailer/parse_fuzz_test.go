package tailer

import (
	"bytes"
	"strconv"
	"testing"
)

// refParseLine is parseLine written plainly, as the reference of
// FuzzParseLine: the first "seq": and the first "enqueued": each followed,
// after spaces or tabs, by a decimal number (the enqueue time possibly
// negative, its minus sign right before the digits), and the value of the
// last "host":" up to the next quote, not empty.
func refParseLine(line []byte) (parsed, bool) {
	var p parsed
	number := func(key []byte, signed bool) (string, bool) {
		i := bytes.Index(line, key)
		if i < 0 {
			return "", false
		}
		b := bytes.TrimLeft(line[i+len(key):], " \t")
		n := 0
		if signed && n < len(b) && b[n] == '-' {
			n++
		}
		start := n
		for n < len(b) && b[n] >= '0' && b[n] <= '9' {
			n++
		}
		return string(b[:n]), n > start
	}
	s, ok := number(keySeq, false)
	if !ok {
		return p, false
	}
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return p, false
	}
	e, ok := number(keyEnqueued, true)
	if !ok {
		return p, false
	}
	enq, err := strconv.ParseInt(e, 10, 64)
	if err != nil {
		return p, false
	}
	i := bytes.LastIndex(line, keyHost)
	if i < 0 {
		return p, false
	}
	host := line[i+len(keyHost):]
	j := bytes.IndexByte(host, '"')
	if j <= 0 {
		return p, false
	}
	return parsed{seq: seq, enqueued: enq, host: host[:j]}, true
}

// FuzzParseLine holds the tailer's line parser to refParseLine: the same
// verdict and, when a line parses, the same sequence number, enqueue time
// and host, which aliases the line.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"seq":0,"enqueued":0,"host":"x"}`))
	f.Add([]byte(`{"host":"n1","enqueued":9,"seq":1}`))
	f.Add([]byte("{\"seq\":\t3,\"enqueued\":\t-4,\"host\":\"h\"}"))
	f.Add([]byte(`{"seq":1,"enqueued":- 5,"host":"x"}`))
	f.Add([]byte(`{"seq":1,"enqueued":-9223372036854775808,"host":"x"}`))
	f.Add([]byte(`{"seq":18446744073709551616,"enqueued":2,"host":"x"}`))
	f.Add([]byte(`{"sseq":"q","seq":7,"enqueued":8,"host":"a","host":"b"}`))
	f.Add(realistic())
	f.Fuzz(func(t *testing.T, line []byte) {
		got, ok := parseLine(line)
		want, wantOK := refParseLine(line)
		if ok != wantOK {
			t.Fatalf("parseLine(%q) ok = %v, reference %v", line, ok, wantOK)
		}
		if !ok {
			return
		}
		if got.seq != want.seq || got.enqueued != want.enqueued || !bytes.Equal(got.host, want.host) {
			t.Fatalf("parseLine(%q) = %d %d %q, reference %d %d %q",
				line, got.seq, got.enqueued, got.host, want.seq, want.enqueued, want.host)
		}
	})
}
