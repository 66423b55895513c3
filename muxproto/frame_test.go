package muxproto

import (
	"encoding/hex"
	"errors"
	"testing"
)

// TestFramerSplits feeds each stream one byte more at a time and checks
// that the message boundaries come out where they should.
func TestFramerSplits(t *testing.T) {
	t.Parallel()
	items := []string{
		"00", "1bffffffffffffffff", "3bffffffffffffffff", "f5", "f97e00", "fb3ff0000000000000",
		"6161", "7818" + hex.EncodeToString(make([]byte, 24)),
		"5f4161ff", "7f616161626163ff", "5fff",
		"80", "83010203", "9fff", "9f01029f03ffff", "a0", "a201020304", "bf0102ff",
		"c11a65920081", "d903e8a2011a659200802b1b0000001cbe991a08", "c0c0c001",
		"f820",
	}
	var stream []byte
	var ends []int
	for _, h := range items {
		b, _ := hex.DecodeString(h)
		stream = append(stream, b...)
		ends = append(ends, len(stream))
	}
	f := framer{maxDepth: 16}
	var got []int
	base, buf := 0, []byte{}
	for i := range stream {
		buf = append(buf, stream[i])
		for len(buf) > 0 {
			n, err := f.scan(buf)
			if err != nil {
				t.Fatalf("at byte %d: %v", i, err)
			}
			if n == 0 {
				break
			}
			got = append(got, base+n)
			base += n
			buf = buf[n:]
		}
	}
	if len(got) != len(ends) {
		t.Fatalf("got boundaries %v, want %v", got, ends)
	}
	for i := range ends {
		if got[i] != ends[i] {
			t.Fatalf("boundary %d at %d, want %d", i, got[i], ends[i])
		}
	}
}

func TestFramerMalformed(t *testing.T) {
	t.Parallel()
	for _, h := range []string{
		"1c", "3d", "5e", "ff", "9f01ff02ff" + "ff", "bf01ff", "5f01ff", "5f61ff", "7f4161ff", "5f5fffff",
		"df", "c1ff", "f818", "fc", "1f", "3f", "9f1fff", "c13f",
	} {
		b, _ := hex.DecodeString(h)
		f := framer{maxDepth: 16}
		var err error
		for len(b) > 0 && err == nil {
			var n int
			n, err = f.scan(b)
			if n == 0 {
				break
			}
			b = b[n:]
		}
		if !errors.Is(err, ErrMalformedCBOR) {
			t.Errorf("%s: err = %v, want ErrMalformedCBOR", h, err)
		}
	}
}
